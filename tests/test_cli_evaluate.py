"""`embedzoo evaluate --run R` scores the held-out part `train` scored: data, columns, split
and seeds come from the run, and the figures are the ones in its metrics.json."""

import json

import pytest

from embedzoo import cli
from tests.helpers import make_implicit, make_ratings


def _out(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


@pytest.mark.parametrize(
    ("model", "frame", "split"),
    [("dot_bias_mf", make_ratings, "random"), ("bpr", make_implicit, "temporal")],
)
def test_evaluate_a_run_repeats_its_figures(tmp_path, capsys, model, frame, split):
    csv = tmp_path / "own.csv"
    frame().frame.rename(columns={"user": "customer", "item": "product"}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert cli.main(["train", model, "--data", str(csv), "--run-dir", str(run), "--split", split,
                     "--test-fraction", "0.25", "--seed", "7", "--epochs", "2", "--verbose", "0",
                     "--user-col", "customer", "--item-col", "product"]) == 0  # fmt: skip
    capsys.readouterr()
    recorded = json.loads((run / "metrics.json").read_text())
    assert cli.main(["evaluate", "--run", str(run)]) == 0
    again = _out(capsys)
    assert again["evaluated_on"] == {"data": str(csv), "user_col": "customer",
                                     "item_col": "product", "split": split,
                                     "test_fraction": 0.25, "seed": 7}  # fmt: skip
    keys = ["rmse", "mae"] if model == "dot_bias_mf" else ["ndcg@10", "recall@10", "mrr"]
    for key in keys:
        assert again[key] == pytest.approx(recorded[key], abs=1e-6), key
    if model == "bpr":
        assert "rmse" not in again  # a ranking model gets ranking metrics, never an RMSE
        assert cli.main(["evaluate", "--run", str(run), "--split", "random"]) == 0
        assert _out(capsys)["ndcg@10"] != recorded["ndcg@10"]  # the command line wins


def test_evaluate_a_model_file_needs_data(tmp_path, capsys):
    csv = tmp_path / "r.csv"
    make_ratings().frame.to_csv(csv, index=False)
    run = tmp_path / "run"
    assert cli.main(["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(run),
                     "--epochs", "1", "--verbose", "0"]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli.main(["evaluate", "--model", str(run / "model.keras")]) == 2
    assert "name the data with --data" in capsys.readouterr().err


def test_rmse_of_a_ranking_model_is_refused():
    from embedzoo import training, zoo
    from embedzoo.errors import ConfigError

    data = make_ratings()
    model = zoo.build("bpr", data, n_factors=4, seed=0)
    with pytest.raises(ConfigError, match="bpr is a ranking model: its scores are not ratings"):
        training.rating_metrics(model, data)
