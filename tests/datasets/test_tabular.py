import pandas as pd
import pytest

from embedzoo.datasets import from_dataframe, load, read_csv, read_parquet
from embedzoo.errors import DataError

FRAME = pd.DataFrame(
    {
        "userId": [1, 1, 2],
        "movieId": [10, 20, 10],
        "stars": [4.0, 3.0, 5.0],
        "ts": [978300003, 978300002, 978300001],
    }
)
COLS = {"user_col": "userId", "item_col": "movieId", "rating_col": "stars", "timestamp_col": "ts"}


def test_from_dataframe_and_load_dataframe():
    data = from_dataframe(FRAME, **COLS)
    assert data.frame.values.tolist() == [
        [1, 10, 4.0, 978300003],
        [1, 20, 3.0, 978300002],
        [2, 10, 5.0, 978300001],
    ]
    assert load(FRAME, **COLS).frame.equals(data.frame)


def test_csv_tsv_parquet(tmp_path):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    FRAME.to_csv(tmp_path / "r.tsv", index=False, sep="\t")
    FRAME.to_csv(tmp_path / "r.csv.gz", index=False)
    FRAME.to_parquet(tmp_path / "r.parquet")
    expected = from_dataframe(FRAME, **COLS).frame
    for name in ("r.csv", "r.tsv", "r.csv.gz", "r.parquet"):
        assert load(tmp_path / name, **COLS).frame.equals(expected), name
        assert load(str(tmp_path / name), **COLS).source == str(tmp_path / name)
    assert read_csv(tmp_path / "r.tsv", **COLS).frame.equals(expected)
    assert read_parquet(tmp_path / "r.parquet", **COLS).frame.equals(expected)


def test_errors_name_file_and_column(tmp_path):
    FRAME.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataError, match=r"r.csv: missing column\(s\) \['user'"):
        load(tmp_path / "r.csv")
    bad = FRAME.assign(stars=[4.0, float("nan"), 5.0])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"bad.csv: column 'stars' row 1"):
        load(tmp_path / "bad.csv", **COLS)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="junk.parquet: cannot read as Parquet"):
        load(tmp_path / "junk.parquet")
    FRAME.iloc[:0].to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(DataError, match="empty.csv: no rows"):
        load(tmp_path / "empty.csv", **COLS)


def test_movielens_archives_and_folders(fake_movielens):
    folder = fake_movielens("ml-1m")
    assert len(load(folder)) == 3
    assert len(load(folder.parent)) == 3  # the folder an archive was extracted into
    archive = fake_movielens("ml-100k", as_zip=True)
    assert load(archive).item_titles([242]) == ["Kolya (1996)"]


def test_recbole_folder_and_file(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy.inter").write_text("user_id:token\titem_id:token\n1\t2\n3\t4\n")
    assert len(load(folder)) == 2
    assert len(load(folder / "toy.inter")) == 2


def test_unknown_sources_list_what_is_accepted(tmp_path):
    with pytest.raises(DataError, match=r"neither a known data set name.*accepted: 'ml-100k'"):
        load("ml-7k")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match=r"unknown file type '.json'; accepted"):
        load(tmp_path / "x.json")
    with pytest.raises(DataError, match=r"neither \*.inter nor GroupLens"):
        load(tmp_path)
    with pytest.raises(DataError, match="cannot load a list"):
        load([1, 2])
