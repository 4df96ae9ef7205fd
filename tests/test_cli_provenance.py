"""Runs and exports say what they were made from: resolved fit settings, package versions,
the data file with its sha256 and counts, the command line; `embedzoo info` prints it all."""

import hashlib
import json

import pytest
import tensorflow as tf

from embedzoo import cli
from tests.helpers import make_ratings


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("made")
    csv = d / "r.csv"
    make_ratings().frame.to_csv(csv, index=False)
    train = ["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(d / "run"),
             "--epochs", "2", "--set", "n_factors=4", "--verbose", "0"]  # fmt: skip
    assert cli.main(train) == 0
    more = d / "more.csv"
    make_ratings(n_users=70, n_rows=700, seed=2).frame.to_csv(more, index=False)
    assert cli.main(["fine-tune", "--run", str(d / "run"), "--data", str(more), "--epochs", "1",
                     "--run-dir", str(d / "tuned"), "--verbose", "0"]) == 0  # fmt: skip
    assert cli.main(["export", "--run", str(d / "run"), "--to", str(d / "exports"),
                     "--name", "mf"]) == 0  # fmt: skip
    return d, train


def test_a_run_records_its_settings_data_versions_and_command(made):
    d, train = made
    config = json.loads((d / "run" / "config.json").read_text())
    assert config["fit"]["epochs"] == 2 and config["fit_given"] == {"epochs": 2}
    for key in ("batch_size", "learning_rate", "optimizer", "schedule"):
        assert config["fit"][key] is not None, key  # the defaults fit used, filled in
    source = config["data_source"]
    csv = d / "r.csv"
    assert source["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert source["rows"] == 900 and source["file"] == str(csv)
    assert {"python", "embedzoo", "tensorflow", "keras", "numpy", "pandas"} <= set(
        config["versions"]
    )
    assert config["versions"]["tensorflow"] == tf.__version__
    assert config["command"] == ["embedzoo", *train]
    tuned = json.loads((d / "tuned" / "config.json").read_text())
    assert tuned["fine_tuned_from"] == str(d / "run") and tuned["data_source"]["rows"] == 700
    assert tuned["command"][:2] == ["embedzoo", "fine-tune"]


def test_an_export_carries_its_origin_and_still_serves(made):
    d, _ = made
    version = d / "exports" / "mf" / "1"
    record = json.loads((version / "assets.extra" / "embedzoo.json").read_text())
    metrics = json.loads((d / "run" / "metrics.json").read_text())
    assert record["model"] == "dot_bias_mf" and record["config"]["n_factors"] == 4
    run_config = json.loads((d / "run" / "config.json").read_text())
    assert record["metrics"] == metrics and record["run_config"] == run_config
    assert record["data_source"]["sha256"] == run_config["data_source"]["sha256"]
    assert record["run"] == str(d / "run") and record["versions"]["embedzoo"]
    assert record["command"][:2] == ["embedzoo", "export"]
    served = tf.saved_model.load(str(version)).signatures["recommend"]
    assert served(user_id=tf.constant([1], tf.int64), k=tf.constant(3))["item_ids"].shape == (1, 3)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("run", lambda o: o["config"]["model"] == "dot_bias_mf" and "rmse" in o["metrics"]),
        ("exports/mf/1", lambda o: o["model"] == "dot_bias_mf" and "exported_at" in o),
        ("exports/mf", lambda o: list(o["versions"]) == ["1"]),
        ("run/model.keras", lambda o: o["model"] == "dot_bias_mf" and o["users"] == 60),
        ("dot_bias_mf_movielens_100k", lambda o: o["name"] == "dot_bias_mf_movielens_100k"),
    ],
)
def test_info_prints_what_a_thing_is(made, capsys, target, expected):
    d, _ = made
    path = target if target.startswith("dot_bias") else str(d / target)
    capsys.readouterr()
    assert cli.main(["info", path]) == 0
    assert expected(json.loads(capsys.readouterr().out))


def test_info_of_nothing_is_a_clear_error(made, capsys):
    d, _ = made
    assert cli.main(["info", str(d / "nothing")]) == 2
    assert "unknown preset" in capsys.readouterr().err
