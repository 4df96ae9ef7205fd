"""`embedzoo compare`: several models on one split, one table (ranking metrics for all,
RMSE/MAE for rating models), trained here or loaded from runs."""

import json

from embedzoo import cli
from tests.helpers import make_ratings


def test_compare_trains_loads_and_tabulates(tmp_path, capsys):
    csv = tmp_path / "r.csv"
    make_ratings().frame.to_csv(csv, index=False)
    run = tmp_path / "run"
    assert cli.main(["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(run),
                     "--epochs", "3", "--verbose", "0"]) == 0  # fmt: skip
    capsys.readouterr()
    argv = ["compare", "popularity", "bpr", str(run), "--data", str(csv), "--epochs", "2"]
    assert cli.main([*argv, "--format", "json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert list(report["models"]) == ["popularity", "bpr", str(run)]
    assert "[3/3]" in captured.err and "loaded" in captured.err
    rows = report["models"]
    assert rows[str(run)]["rmse"] > 0 and rows["bpr"]["rmse"] is None  # RMSE: rating models only
    assert all(0 <= rows[m]["ndcg@10"] <= 1 for m in rows)
    assert report["protocol"]["split"] == "random 0.2" and report["protocol"]["seed"] == 42
    assert cli.main([*argv, "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| model | ") and len(lines) == 5
    assert cli.main(["compare", "nope", "--data", str(csv)]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err
