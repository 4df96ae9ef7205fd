"""A user error in any subcommand: exit 2, one `embedzoo: error:` line (argparse's usage
lines for a malformed option) naming the culprit, no traceback, and nothing written, moved or
deleted — the runs the command reads stay byte for byte as they were."""

import contextlib
import io

import pytest

from embedzoo import cli
from tests.helpers import make_implicit, make_ratings


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    d = tmp_path_factory.mktemp("place")
    make_ratings(n_rows=600).frame.to_csv(d / "r.csv", index=False)
    make_implicit().frame.to_csv(d / "c.csv", index=False)
    (d / "badcols.csv").write_text("customer,product,stars\n1,2,3\n")
    (d / "nan.csv").write_text("user,item,rating\n1,2,3\n,4,5\n")
    (d / "badrating.csv").write_text("user,item,rating\n1,2,3\n2,4,abc\n")
    (d / "notes.txt").write_text("hello")
    (d / "emptydir").mkdir()
    (d / "notarun").mkdir()
    (d / "garbage.keras").write_bytes(b"not a zip")
    (d / "afile").write_text("x")
    quiet = ["--epochs", "1", "--set", "n_factors=4", "--verbose", "0"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["train", "dot_bias_mf", "--data", str(d / "r.csv"),
                         "--run-dir", str(d / "run"), *quiet]) == 0  # fmt: skip
        assert cli.main(["train", "bpr", "--data", str(d / "c.csv"),
                         "--run-dir", str(d / "bpr"), *quiet]) == 0  # fmt: skip
        assert cli.main(["train", "gmf", "--data", str(d / "c.csv"),
                         "--run-dir", str(d / "gmf"), *quiet]) == 0  # fmt: skip
    return d


def _snapshot(d):
    return {str(p.relative_to(d)): p.read_bytes() if p.is_file() else None for p in d.rglob("*")}


# (command with {d} for the place, what the error must name)
CASES = {
    "train: unknown model": ("train nope --data {d}/r.csv --run-dir {d}/new", "unknown model 'nope'"),
    "train: no such data": ("train dot_bias_mf --data {d}/missing.csv --run-dir {d}/new", "missing.csv"),
    "train: other columns": ("train dot_bias_mf --data {d}/badcols.csv --run-dir {d}/new",
                             "missing column(s) ['user', 'item']"),
    "train: missing id": ("train dot_bias_mf --data {d}/nan.csv --run-dir {d}/new",
                          "column 'user': missing or non-finite id at row 1"),
    "train: bad rating": ("train dot_bias_mf --data {d}/badrating.csv --run-dir {d}/new",
                          "column 'rating' row 1: value 'abc'"),
    "train: unknown file type": ("train dot_bias_mf --data {d}/notes.txt --run-dir {d}/new",
                                 "unknown file type '.txt'"),
    "train: empty folder": ("train dot_bias_mf --data {d}/emptydir --run-dir {d}/new",
                            "neither *.inter nor GroupLens files"),
    "train: run dir is a file": ("train dot_bias_mf --data {d}/r.csv --run-dir {d}/afile",
                                 "--run-dir {d}/afile exists and is not a folder"),
    "train: rating model, no ratings": ("train dot_bias_mf --data {d}/c.csv --run-dir {d}/new",
                                        "no 'rating' column"),
    "train: unknown optimizer": ("train dot_bias_mf --data {d}/r.csv --run-dir {d}/new"
                                 " --optimizer nope", "--optimizer"),
    "train: unknown strategy": ("train dot_bias_mf --data {d}/r.csv --run-dir {d}/new"
                                " --strategy nope", "--strategy"),
    "train: early stopping, nothing held out": (
        "train dot_bias_mf --data {d}/r.csv --run-dir {d}/new --split none --early-stopping 2",
        "early_stopping needs validation data"),
    "presets: unknown action": ("presets nope", "invalid choice: 'nope'"),
    "load: unknown preset": ("load nope --run-dir {d}/new", "unknown preset 'nope'"),
    "load: near-miss name": ("load dot_bias_mf-ml100k --run-dir {d}/new",
                             "Did you mean 'dot_bias_mf_movielens_100k'?"),
    "load: over a run": ("load dot_bias_mf_movielens_100k --run-dir {d}/run",
                         "{d}/run already holds a run"),
    "load: run dir is a file": ("load dot_bias_mf_movielens_100k --run-dir {d}/afile",
                                "exists and is not a folder"),
    "fine-tune: no such run": ("fine-tune --run {d}/missing --data {d}/r.csv --run-dir {d}/new",
                               "{d}/missing/model.keras: no such model file"),
    "fine-tune: folder without a model": ("fine-tune --run {d}/notarun --data {d}/r.csv"
                                          " --run-dir {d}/new", "notarun/model.keras"),
    "fine-tune: not a .keras file": ("fine-tune --model {d}/garbage.keras --data {d}/r.csv"
                                     " --run-dir {d}/new", "garbage.keras: cannot load as a .keras model: not a zip archive"),
    "fine-tune: other columns": ("fine-tune --run {d}/run --data {d}/badcols.csv"
                                 " --run-dir {d}/new", "missing column(s)"),
    "fine-tune: 0 epochs": ("fine-tune --run {d}/run --data {d}/r.csv --run-dir {d}/new"
                            " --epochs 0", "--epochs"),
    "fine-tune: over its own run": ("fine-tune --run {d}/run --data {d}/r.csv --run-dir {d}/run",
                                    "{d}/run already holds a run"),
    "fine-tune: no model named": ("fine-tune --data {d}/r.csv --run-dir {d}/new", "name a model"),
    "evaluate: no such run": ("evaluate --run {d}/missing --data {d}/r.csv", "no such model file"),
    "evaluate: other columns": ("evaluate --run {d}/run --data {d}/badcols.csv",
                                "missing column(s)"),
    "evaluate: rating model, no ratings": ("evaluate --run {d}/run --data {d}/c.csv",
                                           "no rating column"),
    "evaluate: k 0": ("evaluate --run {d}/run --data {d}/r.csv --ranking -k 0", "-k/--k"),
    "evaluate: negatives -1": ("evaluate --run {d}/run --data {d}/r.csv --ranking"
                               " --num-negatives -1", "--num-negatives"),
    "evaluate: unknown preset": ("evaluate --preset nope --data {d}/r.csv", "unknown preset"),
    "export: name with ..": ("export --run {d}/run --to {d}/exports --name ../up",
                             "invalid export name '../up'"),
    "export: base is a file": ("export --run {d}/run --to {d}/afile --name m",
                               "{d}/afile exists and is not a directory"),
    "export: version 0": ("export --run {d}/run --to {d}/exports --name m --version 0",
                          "version must be a positive integer"),
    "export: no such run": ("export --run {d}/missing --to {d}/exports --name m",
                            "no such model file"),
    "recommend: no such run": ("recommend --run {d}/missing --user 1", "no such model file"),
    "recommend: no user": ("recommend --run {d}/run", "--user"),
    "recommend: string id, integer model": ("recommend --run {d}/run --user nobody",
                                            "id 'nobody' is not an integer"),
    "recommend: k 2**32": ("recommend --run {d}/run --user 1 -k 4294967298", "k must be"),
    "similar: k 0": ("similar --run {d}/run --item 1 -k 0", "k must be >= 1"),
    "plot: unknown kind": ("plot nope --run {d}/run --out {d}/p.png", "invalid choice: 'nope'"),
    "plot: no such history": ("plot history --history {d}/missing.json --out {d}/p.png",
                              "missing.json: cannot read a training history"),
    "plot: not a history": ("plot history --history {d}/notes.txt --out {d}/p.png",
                            "notes.txt: cannot read a training history"),
    "plot: bias of gmf": ("plot bias --run {d}/gmf --out {d}/p.png", "gmf has no item biases"),
    "plot: unknown method": ("plot map --run {d}/run --out {d}/p.png --method nope", "--method"),
    "plot: unknown colour column": ("plot map --run {d}/run --out {d}/p.png --method pca"
                                    " --color-by nope --metadata {d}/r.csv",
                                    "no metadata column 'nope'"),
    "plot: no model": ("plot map --out {d}/p.png", "give --run DIR or --model FILE"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_user_error_is_one_clear_line_and_changes_nothing(place, case, capsys):
    command, named = CASES[case]
    argv = command.format(d=place).split()
    before = _snapshot(place)
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: a malformed option, with the usage lines
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert named.format(d=place) in err and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(("embedzoo: error: ", f"embedzoo {argv[0]}: error: ")), err
    if not err.startswith("usage:"):
        assert len(err.strip().splitlines()) == 1, err
    assert _snapshot(place) == before


def test_fine_tune_overwrite_replaces_its_own_run_once_it_succeeded(place, tmp_path, capsys):
    import json
    import shutil

    run = tmp_path / "run"
    shutil.copytree(place / "run", run)
    more = tmp_path / "more.csv"
    make_ratings(n_users=70, n_rows=700, seed=2).frame.to_csv(more, index=False)
    argv = ["fine-tune", "--run", str(run), "--data", str(more), "--run-dir", str(run),
            "--epochs", "1", "--verbose", "0"]  # fmt: skip
    assert cli.main(argv) == 2  # refused without --overwrite
    assert cli.main([*argv, "--overwrite"]) == 0
    assert json.loads((run / "metrics.json").read_text())["new_users"] == 10
    config = json.loads((run / "config.json").read_text())
    assert config["fine_tuned_from"] == str(run) and "history.json" in {
        p.name for p in run.iterdir()
    }
    assert not (run / "logs").exists()  # the train run was replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["more.csv", "run"]  # no temp folder
    capsys.readouterr()
