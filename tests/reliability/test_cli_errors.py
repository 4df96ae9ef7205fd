"""Bad input through the CLI: a one-line error naming the culprit, a non-zero exit, no
traceback, and nothing lost or left behind."""

import json

import pytest

from embedzoo import cli
from tests.helpers import make_ratings


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    make_ratings(n_rows=600).frame.to_csv(path, index=False)
    return path


def train(csv, run, *extra):
    return cli.main(["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(run),
                     "--epochs", "1", "--set", "n_factors=4", "--verbose", "0", *extra])  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("n_factors=abc", "n_factors='abc'"),
        ("n_factors=1.5", "n_factors=1.5"),
        ("n_factors=true", "n_factors=True"),
        ("l2=-5", "l2=-5"),
        ('l2="abc"', "l2='abc'"),
        ('y_range=["a","b"]', "y_range=['a', 'b']"),
        ("y_range=5", "y_range=5"),
        ("y_range=[5,1]", "y_range=[5, 1]"),
        ("nope=1", "nope"),
    ],
)
def test_bad_config_values_are_named_and_nothing_is_created(csv, tmp_path, capsys, setting, named):
    run = tmp_path / "run"
    assert train(csv, run, "--set", setting) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not run.exists()


def test_empty_csv_and_bad_k_are_errors_not_tracebacks(csv, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert train(empty, tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "empty.csv: empty file" in err and "Traceback" not in err
    run = tmp_path / "ok"
    assert train(csv, run) == 0
    capsys.readouterr()
    for k in ("0", "-3", str(2**32 + 2)):
        assert cli.main(["recommend", "--run", str(run), "--user", "1", "-k", k]) == 2
        err = capsys.readouterr().err
        assert err.startswith("embedzoo: error: k must be") and "Traceback" not in err


def test_a_run_is_never_clobbered_by_accident(csv, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(csv, run) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert train(csv, run, "--epochs", "2") == 2  # refused: the first run stays
    assert "already holds a run" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert train(csv, run, "--set", "n_factors=abc", "--overwrite") == 2  # failed: kept
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    assert train(csv, run, "--overwrite", "--epochs", "2") == 0  # replaced once it succeeded
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temp folder left
    assert train(csv, run, "--overwrite", "--resume") == 2


def test_unexpected_errors_say_so_and_debug_shows_the_traceback(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "cmd_list", boom)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "--debug" in err
    with pytest.raises(RuntimeError, match="kaboom"):
        cli.main(["--debug", "list"])


def test_a_diverging_run_stops_with_a_clear_error_and_no_run(csv, tmp_path, capsys):
    """A learning rate of 1e6 keeps the loss finite while predictions leave the 1-5 scale."""
    run = tmp_path / "run"
    assert train(csv, run, "--learning-rate", "1e6", "--set", "y_range=null") == 2
    err = capsys.readouterr().err
    assert "diverged in epoch 1" in err and "lower the learning rate" in err
    assert "Traceback" not in err and not run.exists()  # a failed run leaves nothing


@pytest.mark.parametrize(
    ("option", "value"),
    [("--test-fraction", "1.5"), ("--test-fraction", "x"), ("--top", "0"), ("--epochs", "0"),
     ("--batch-size", str(2**40))],
)  # fmt: skip
def test_integer_and_fraction_options_are_range_checked(csv, tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        train(csv, tmp_path / "r", option, value)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and option in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_set_without_equals_is_a_one_line_error(csv, tmp_path, capsys):
    assert train(csv, tmp_path / "r", "--set", "n_factors") == 2
    assert "--set takes KEY=VALUE" in capsys.readouterr().err
