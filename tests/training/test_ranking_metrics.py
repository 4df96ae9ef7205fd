import json
import math

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from embedzoo import training, zoo
from embedzoo.datasets import Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.training import evaluation
from embedzoo.zoo.base import ZooModel
from tests.helpers import make_implicit

ITEMS = [11, 12, 13, 14, 15, 16]
# Fixed scores per user (raw id → scores of ITEMS).
SCORES = {1: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 2: [0.1, 0.9, 0.95, 0.3, 0.2, 0.8]}


class FixedScores(ZooModel):
    """A model whose scores are a fixed matrix (row 0 / column 0: unknown)."""

    task = "ranking"

    def __init__(self, user_vocabulary, item_vocabulary, **kwargs):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        table = np.zeros((self.users.size, self.items.size), np.float32)
        for u, row in SCORES.items():
            table[self.users.lookup([u])[0], 1:] = row
        self.table = tf.constant(table)

    def call(self, inputs, training=False):
        return tf.gather_nd(self.table, tf.stack([inputs["user"], inputs["item"]], axis=1))

    def all_item_scores(self, user_index):
        return tf.gather(self.table, user_index)


def frame(pairs):
    return Interactions.from_frame(pd.DataFrame(pairs, columns=["user", "item"]))


@pytest.fixture()
def case():
    train = frame([(1, 11), (1, 12), (2, 13), (3, 14), (3, 16)])
    test = frame([(1, 13), (1, 15), (2, 11)])
    model = FixedScores(train.users.to_list(), ITEMS)
    return model, train, test


def test_full_ranking_by_hand_with_training_items_masked(case):
    model, train, test = case
    m = evaluation.ranking_metrics(model, train, test, k=2, samplings=())
    # user 1: 11, 12 masked → ranking 13, 14, 15, 16: hits@2 {13} of {13, 15}
    # user 2: 13 masked → ranking 12, 16, 14, 15, 11: the held-out 11 is fifth
    ndcg1 = 1.0 / (1.0 + 1.0 / math.log2(3))
    assert m["recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["precision@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["ndcg@2"] == pytest.approx((ndcg1 + 0.0) / 2, rel=1e-6)
    assert m["mrr"] == pytest.approx((1.0 + 1 / 5) / 2)
    assert m["n_users"] == 2 and m["n_test_rows"] == 3
    m1 = evaluation.ranking_metrics(model, train, test, k=1, samplings=())
    assert m1["recall@1"] == pytest.approx(0.25) and m1["precision@1"] == pytest.approx(0.5)
    assert m1["ndcg@1"] == pytest.approx(0.5)
    # without the mask user 1's own training items would fill the top 2: masking matters
    unmasked = evaluation.ranking_metrics(
        model, frame([(1, 16), (2, 16), (3, 16)]), test, k=2, samplings=()
    )
    assert unmasked["recall@2"] == pytest.approx(0.0)


def test_sampled_by_hand_when_the_pool_is_exactly_n(case):
    model, train, test = case
    # user 1 never interacted with 14 and 16 only: with N=2 both are the negatives, any seed.
    # user 2's held-out 11 scores below everything else: last whatever is drawn.
    for seed in (0, 1):
        m = evaluation.ranking_metrics(
            model, train, test, k=2, num_negatives=2, samplings=("uniform",), full=False, seed=seed
        )
        # rows: (1,13) rank 1, (1,15) rank 2 (0.5 vs 0.6, 0.4), (2,11) rank 3
        assert m["sampled_uniform_hr@2"] == pytest.approx(2 / 3)
        assert m["sampled_uniform_ndcg@2"] == pytest.approx(
            (1.0 + 1.0 / math.log2(3)) / 3, rel=1e-6
        )
    m1 = evaluation.ranking_metrics(
        model, train, test, k=1, num_negatives=2, samplings=("uniform",), full=False
    )
    assert m1["sampled_uniform_hr@1"] == pytest.approx(1 / 3)


def test_n_larger_than_the_unseen_pool_is_a_clear_error(case):
    model, train, test = case
    with pytest.raises(DataError, match=r"user 1 has only 2 items .* num_negatives=3"):
        evaluation.ranking_metrics(
            model, train, test, num_negatives=3, k=1, samplings=("uniform",), full=False
        )
    # popularity sampling draws only items seen in training (14 and 16 here; 15 never is)
    with pytest.raises(DataError, match="user 1 has only 2 items"):
        evaluation.ranking_metrics(
            model, train, test, num_negatives=3, k=1, samplings=("popularity",), full=False
        )


def test_k_larger_than_the_catalogue_is_refused(case):
    model, train, test = case
    with pytest.raises(ConfigError, match="k=7 is larger than the 6 candidates"):
        evaluation.ranking_metrics(model, train, test, k=7, samplings=())
    with pytest.raises(ConfigError, match="k=4 is larger than the 3 candidates"):
        evaluation.ranking_metrics(
            model, train, test, k=4, num_negatives=2, samplings=("uniform",), full=False
        )
    with pytest.raises(ConfigError, match="num_negatives=6 needs more than the 6 items"):
        evaluation.ranking_metrics(
            model, train, test, k=1, num_negatives=6, samplings=("uniform",), full=False
        )


def test_users_without_training_items_error_or_are_skipped(case):
    model, train, test = case
    cold = frame([(1, 13), (9, 11), (2, 11)])
    with pytest.raises(DataError, match="user 9 has no training interactions"):
        evaluation.ranking_metrics(model, train, cold, k=2, samplings=())
    m = evaluation.ranking_metrics(model, train, cold, k=2, samplings=(), cold_users="skip")
    assert m["n_skipped_cold_user"] == 1 and m["n_users"] == 2 and m["n_test_rows"] == 2
    # unknown items and repeats of training pairs cannot be ranked: skipped and counted
    odd = frame([(1, 13), (1, 99), (1, 11)])
    m = evaluation.ranking_metrics(model, train, odd, k=2, samplings=())
    assert (m["n_skipped_unknown_item"], m["n_skipped_repeat"], m["n_test_rows"]) == (1, 1, 1)


def trained(data, seed=0):
    model = zoo.build("bpr", data, n_factors=8, seed=seed)
    training.fit(model, data, epochs=3, batch_size=64, learning_rate=0.05, verbose=0)
    return model


def test_same_seed_same_sampled_metrics():
    train, test = evaluation.ranking_protocol(
        make_implicit(n_users=80, n_items=120, per_user=(10, 30)), 5, 0.2
    )
    model = trained(train)
    a = evaluation.ranking_metrics(model, train, test, num_negatives=50, seed=7)
    b = evaluation.ranking_metrics(model, train, test, num_negatives=50, seed=7)
    assert a == b
    c = evaluation.ranking_metrics(model, train, test, num_negatives=50, seed=8)
    assert (
        c["sampled_popularity_hr@10"] != a["sampled_popularity_hr@10"]
        or c["sampled_uniform_hr@10"] != a["sampled_uniform_hr@10"]
    )
    assert c["ndcg@10"] == pytest.approx(a["ndcg@10"], abs=0.02)  # only tie-breaking differs


def test_report_side_by_side_and_json():
    train, test = evaluation.ranking_protocol(
        make_implicit(n_users=80, n_items=120, per_user=(10, 30)), 5, 0.2
    )
    pop = zoo.build("popularity", train)
    training.fit(pop, train, verbose=0)
    rating = zoo.build("dot_bias_mf", train, n_factors=4, y_range=None, seed=0)
    report = evaluation.ranking_report(
        {"bpr": trained(train), "popularity": pop, "dot_bias_mf": rating},
        train,
        test,
        num_negatives=50,
    )
    assert list(report.frame.index) == ["bpr", "popularity", "dot_bias_mf"]
    for col in (
        "sampled_popularity_hr@10",
        "sampled_uniform_ndcg@10",
        "recall@10",
        "ndcg@10",
        "mrr",
        "precision@10",
    ):
        assert col in report.frame.columns and report.frame[col].between(0, 1).all()
    assert all(c.startswith("sampled_") for c in report.frame.columns if "hr@" in c)
    out = json.loads(report.to_json())
    assert out["protocol"]["num_negatives"] == 50 and "sampled" in out["protocol"]
    assert out["models"]["bpr"]["ndcg@10"] == pytest.approx(report.frame.loc["bpr", "ndcg@10"])
    assert "| bpr |" in report.to_markdown()


def test_protocol_k_core_strictly_more_than_k_and_temporal_tail():
    data = make_implicit(n_users=40, n_items=30, per_user=(5, 12))
    train, test = evaluation.ranking_protocol(data, min_interactions=5, test_fraction=0.1)
    full = pd.concat([train.frame, test.frame])
    assert full.groupby("user").size().min() > 5 and full.groupby("item").size().min() > 5
    per_user = full.groupby("user").size()
    held = test.frame.groupby("user").size()
    np.testing.assert_array_equal(
        held.to_numpy(), np.ceil(0.1 * per_user.loc[held.index]).astype(int)
    )
    last_train = train.frame.groupby("user").timestamp.max()
    assert (test.frame.timestamp.to_numpy() >= last_train.loc[test.frame.user].to_numpy()).all()
    with pytest.raises(DataError, match="k-core with k=50"):
        evaluation.ranking_protocol(data, min_interactions=50)


def test_cli_trains_and_evaluates_a_ranking_model(tmp_path, capsys):
    from embedzoo import cli

    csv = tmp_path / "clicks.csv"
    make_implicit(n_users=50, n_items=60, per_user=(10, 25)).frame.to_csv(csv, index=False)
    run = tmp_path / "run"
    common = ["--data", str(csv), "--split", "temporal", "--test-fraction", "0.2", "--seed", "1"]
    assert (
        cli.main(
            ["train", "bpr", *common, "--epochs", "2", "--verbose", "0", "--run-dir", str(run)]
        )
        == 0
    )
    trained = json.loads((run / "metrics.json").read_text())
    assert "num_negatives=100 needs more than the" in trained["sampled_metrics_skipped"]
    capsys.readouterr()
    assert (
        cli.main(
            [
                "evaluate",
                "--ranking",
                "--run",
                str(run),
                *common,
                "-k",
                "5",
                "--num-negatives",
                "20",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {
        "sampled_popularity_hr@5",
        "sampled_uniform_ndcg@5",
        "recall@5",
        "ndcg@5",
        "mrr",
        "precision@5",
    }
    assert 0 <= trained["ndcg@10"] <= 1 and out["n_test_rows"] == trained["n_test_rows"] > 0
