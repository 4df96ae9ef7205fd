import numpy as np
import pandas as pd
import pytest

from embedzoo import datasets
from embedzoo.core.features import FeatureEncoder
from embedzoo.datasets.features import infer_feature_specs, read_feature_table, spec_inputs
from embedzoo.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def ml100k():
    return datasets.load_ml100k()


def test_movielens_feature_tables_get_the_kinds_a_user_expects(ml100k):
    users = {s["name"]: s for s in infer_feature_specs(ml100k.user_metadata)}
    items = {s["name"]: s for s in infer_feature_specs(ml100k.item_metadata)}
    assert {k: s["kind"] for k, s in users.items()} == {
        "age": "bucketized", "gender": "categorical", "occupation": "categorical",
        "zip_code": "categorical",
    }  # fmt: skip
    assert {k: s["kind"] for k, s in items.items()} == {
        "title": "text",
        "genres": "tokens",
        "year": "bucketized",
    }
    assert users["gender"]["vocabulary"] == ["M", "F"]  # most frequent first
    assert len(users["occupation"]["vocabulary"]) == 21
    assert "Drama" in items["genres"]["vocabulary"] and items["genres"]["length"] == 6
    assert "star" in items["title"]["vocabulary"]  # Star Wars, Star Trek ...
    # zip codes seen once share the out-of-vocabulary code (min_count=2)
    assert 50 < len(users["zip_code"]["vocabulary"]) < 200


def test_encoder_codes_every_kind_and_zero_means_missing(ml100k):
    table = ml100k.item_metadata.iloc[:50].copy()
    table["score"] = np.linspace(0, 1, 50)
    specs = infer_feature_specs(table, {"score": "numeric"}, min_count=1)
    encoder = FeatureEncoder(specs, dim=3)
    raw = {s["name"]: spec_inputs(s, table[s["name"]]) for s in specs}
    codes = {k: np.asarray(v) for k, v in encoder.codes(raw).items()}
    assert codes["genres"].shape == (50, specs[1]["length"]) and codes["genres"][0, 0] >= 2
    assert codes["year"].min() >= 1 and codes["title"][0, 0] >= 2
    np.testing.assert_allclose(codes["score"].mean(), 0.0, atol=1e-5)  # standardised
    missing = {s["name"]: spec_inputs(s, pd.Series([None], dtype=object)) for s in specs}
    none = encoder.codes(missing)
    assert all(not np.any(np.asarray(v)) for v in none.values())
    assert tuple(encoder(encoder.codes(raw)).shape) == (50, 3 * 3 + 1)


def test_side_files_are_read_and_checked(tmp_path):
    good = tmp_path / "items.csv"
    pd.DataFrame({"movie": [1, 2], "genres": ["A|B", "B"]}).to_csv(good, index=False)
    table = read_feature_table(good, "movie", "item")
    assert table.index.tolist() == [1, 2] and table.index.name == "item"
    with pytest.raises(DataError, match="no item id column 'item_id'"):
        read_feature_table(good, "item_id", "item")
    dup = tmp_path / "dup.csv"
    pd.DataFrame({"movie": [1, 1], "genres": ["A", "B"]}).to_csv(dup, index=False)
    with pytest.raises(DataError, match=r"dup.csv: duplicate item id 1 \(rows 0 and 1\)"):
        read_feature_table(dup, "movie", "item")
    parquet = tmp_path / "users.parquet"
    pd.DataFrame({"u": ["a", "b"], "age": [3, 4]}).to_parquet(parquet)
    assert read_feature_table(parquet, "u", "user").index.tolist() == ["a", "b"]


def test_bad_kinds_and_numbers_name_the_column_and_id():
    table = pd.DataFrame({"age": ["12", "x"]}, index=pd.Index([7, 8], name="user"))
    with pytest.raises(DataError, match="column 'age', id 8: 'x' is not a number"):
        infer_feature_specs(table, {"age": "numeric"})
    with pytest.raises(ConfigError, match="unknown feature kind 'vector'"):
        infer_feature_specs(table, {"age": "vector"})
    with pytest.raises(ConfigError, match=r"unknown column\(s\) \['height'\]"):
        infer_feature_specs(table, {"height": "numeric"})


def test_recbole_token_seq_lists_are_tokens(tmp_path):
    """A RecBole ``token_seq`` column arrives as lists: it is a ``tokens`` feature."""
    path = tmp_path / "shop.item"
    path.write_text(
        "item_id:token\ttags:token_seq\tprice:float\n"
        "a\tred big\t3.5\nb\tred\t\nc\tbig small\t7.0\nd\tsmall\t1.0\n"
    )
    table = datasets.read_atomic_file(path).set_index("item_id")
    specs = {s["name"]: s for s in infer_feature_specs(table, min_count=1)}
    assert specs["tags"]["kind"] == "tokens" and specs["tags"]["length"] == 2
    assert specs["price"]["kind"] == "bucketized"
    encoder = FeatureEncoder(list(specs.values()), dim=2)
    raw = {name: spec_inputs(s, table[name]) for name, s in specs.items()}
    codes = {k: np.asarray(v) for k, v in encoder.codes(raw).items()}
    assert codes["tags"][1].tolist()[1] == 0 and codes["tags"][0].min() >= 2
    assert codes["price"][1] == 0  # the empty float field: missing
