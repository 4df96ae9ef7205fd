"""The CLI with feature side files (``--user-features`` / ``--item-features``) and two_tower."""

import json

import pandas as pd
import pytest

from embedzoo import cli, zoo
from tests.zoo.test_two_tower import genre_world


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("featured")
    data, _, _ = genre_world()
    data.frame.to_csv(folder / "rows.csv", index=False)
    data.item_metadata.rename_axis("movie").reset_index().to_csv(folder / "items.csv", index=False)
    data.user_metadata.rename_axis("person").reset_index().to_parquet(folder / "users.parquet")
    return folder


def test_train_two_tower_with_feature_files(files, tmp_path, capsys):
    run = tmp_path / "tt"
    argv = ["train", "two_tower", "--data", str(files / "rows.csv"),
            "--item-features", str(files / "items.csv"),
            "--user-features", str(files / "users.parquet"),
            "--set", "embedding_dim=8", "--set", "hidden_units=[16]", "--epochs", "2",
            "--run-dir", str(run), "--verbose", "0"]  # fmt: skip
    assert cli.main(argv) == 0
    model = zoo.load_model(run / "model.keras")
    assert len(model.items) == 60  # the 10 items without interactions too
    assert [s["name"] for s in model.user_features] == ["age"]
    config = json.loads((run / "config.json").read_text())
    assert config["data_options"]["item_features"] == str(files / "items.csv")
    capsys.readouterr()
    assert cli.main(["recommend", "--run", str(run), "--user", "1", "-k", "3",
                     "--format", "json"]) == 0  # fmt: skip
    assert len(json.loads(capsys.readouterr().out)[0]["ids"]) == 3
    # evaluate re-reads the feature files from the run's config
    assert cli.main(["evaluate", "--run", str(run)]) == 0


@pytest.mark.parametrize(
    "table, message",
    [
        (pd.DataFrame({"movie": [1, 1], "genres": ["A", "B"]}), "duplicate item id 1"),
        (pd.DataFrame({"movie": ["x"], "genres": ["A"]}), "item ids: id 'x' is not an integer"),
    ],
)
def test_bad_feature_files_are_one_line_errors(files, tmp_path, capsys, table, message):
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    argv = ["train", "two_tower", "--data", str(files / "rows.csv"), "--item-features", str(path),
            "--run-dir", str(tmp_path / "r")]  # fmt: skip
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_id_models_ignore_feature_files(files, tmp_path):
    run = tmp_path / "bpr"
    argv = ["train", "bpr", "--data", str(files / "rows.csv"), "--item-features",
            str(files / "items.csv"), "--epochs", "1", "--run-dir", str(run), "--verbose", "0"]  # fmt: skip
    assert cli.main(argv) == 0
    assert len(zoo.load_model(run / "model.keras").items) == 50
