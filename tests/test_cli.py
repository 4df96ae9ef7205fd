"""The CLI on a small CSV: every subcommand, and its errors."""

import json

import pytest

from embedzoo import cli
from tests.helpers import make_implicit, make_ratings


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    make_ratings(n_rows=1500, n_users=80, n_items=50).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "mf"
    code = cli.main(
        [
            "train",
            "dot_bias_mf",
            "--data",
            str(csv),
            "--run-dir",
            str(run_dir),
            "--epochs",
            "3",
            "--set",
            "n_factors=8",
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    return run_dir


def test_train_writes_a_run_directory(run, capsys):
    for name in ("model.keras", "metrics.json", "config.json", "history.json"):
        assert (run / name).is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["n"] == 300 and 0 < metrics["rmse"] < 2
    assert json.loads((run / "config.json").read_text())["config"]["n_factors"] == 8
    assert any((run / "logs").rglob("events.out.tfevents.*"))


def test_evaluate_recommend_similar_export(run, csv, tmp_path, capsys):
    assert cli.main(["evaluate", "--run", str(run), "--data", str(csv)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["rmse"] == pytest.approx(
        json.loads((run / "metrics.json").read_text())["rmse"], rel=1e-5
    )
    assert cli.main(["recommend", "--run", str(run), "--user", "1", "--user", "2", "-k", "3",
                     "--format", "json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert [len(o["ids"]) for o in out] == [3, 3]
    assert (
        cli.main(
            [
                "similar",
                "--model",
                str(run / "model.keras"),
                "--item",
                "101",
                "-k",
                "2",
                "--format",
                "json",
            ]
        )
        == 0  # fmt: skip
    )
    assert 101 not in json.loads(capsys.readouterr().out)[0]["ids"]
    assert cli.main(["export", "--run", str(run), "--to", str(tmp_path), "--name", "m"]) == 0
    assert cli.main(["export", "--run", str(run), "--to", str(tmp_path), "--name", "m"]) == 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]
    assert (
        cli.main(
            ["export", "--run", str(run), "--to", str(tmp_path), "--name", "m", "--version", "1"]
        )
        == 2
    )
    assert "already exists" in capsys.readouterr().err


def test_list(capsys):
    assert cli.main(["list", "-v"]) == 0
    out = capsys.readouterr().out
    assert "dot_bias_mf" in out and "n_factors" in out
    assert "``" not in out and ":class:" not in out  # plain text, no reST markup
    assert "squashed into y_range" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "no_such_model", "--data", "CSV"], "unknown model 'no_such_model'"),
        (["train", "dot_bias_mf", "--data", "CSV", "--set", "colour=3"], "unknown config key"),
        (["train", "dot_bias_mf", "--data", "missing.csv"], "missing.csv"),
    ],
)
def test_errors_are_clear(argv, message, csv, tmp_path, capsys):
    argv = [str(csv) if a == "CSV" else a for a in argv] + ["--run-dir", str(tmp_path / "r")]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_presets_load_fine_tune_export(tmp_path, capsys):
    assert cli.main(["presets", "list"]) == 0
    assert "dot_bias_mf_movielens_100k" in capsys.readouterr().out
    assert cli.main(["load", "dot_bias_mf_movielens_100k", "--run-dir", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "model.keras").is_file() and (tmp_path / "p" / "preset.json").is_file()
    capsys.readouterr()
    new = make_ratings(n_rows=600, n_users=30, n_items=40).frame
    new["user"] += 100_000  # users the preset never saw; items 101..140 are ML-100k movies
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    assert (
        cli.main(
            [
                "fine-tune",
                "dot_bias_mf_movielens_100k",
                "--data",
                str(path),
                "--freeze-old",
                "--epochs",
                "2",
                "--verbose",
                "0",
                "--run-dir",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert metrics["new_users"] == 30 and metrics["rmse_after"] < metrics["rmse_before"]
    assert (
        cli.main(["export", str(tmp_path / "t"), "--to", str(tmp_path / "ex"), "--name", "tuned"])
        == 0
    )
    assert (tmp_path / "ex" / "tuned" / "1" / "saved_model.pb").is_file()
    assert cli.main(["load", "dot_bias_mf_movielens_10k"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_train_with_the_ranking_protocol_records_it(tmp_path, capsys):
    path = tmp_path / "clicks.csv"
    make_implicit(n_users=60, n_items=40).frame.to_csv(path, index=False)
    run_dir = tmp_path / "pop"
    assert (
        cli.main(
            [
                "train",
                "popularity",
                "--data",
                str(path),
                "--protocol",
                "--run-dir",
                str(run_dir),
                "--verbose",
                "0",
            ]
        )
        == 0
    )
    config = json.loads((run_dir / "config.json").read_text())
    assert config["split"] == "protocol" and "test_fraction" not in config
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert any(key.startswith("full_") or key.startswith("sampled") for key in metrics), metrics


def test_resume_keeps_a_finished_run_and_the_whole_history(csv, tmp_path, capsys):
    run = tmp_path / "r"
    args = ["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(run), "--resume",
            "--set", "n_factors=8", "--verbose", "0"]  # fmt: skip
    assert cli.main([*args, "--epochs", "2"]) == 0
    files = {
        name: (run / name).read_bytes() for name in ("model.keras", "metrics.json", "history.json")
    }
    capsys.readouterr()
    assert cli.main([*args, "--epochs", "2"]) == 0  # the same command again: nothing to do
    assert "already holds every epoch" in capsys.readouterr().out
    assert {name: (run / name).read_bytes() for name in files} == files
    assert cli.main([*args, "--epochs", "4"]) == 0  # two more epochs
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert (
        len(history["loss"]) == 4
        and history["loss"][:2] == json.loads(files["history.json"])["loss"]
    )
    assert metrics["epochs"] == 4 and metrics["resumed_after_epoch"] == 2
