"""End to end on real MovieLens-100k: train → evaluate → export → reload in a fresh process.

The acceptance split: ``numpy.random.default_rng(42).permutation`` of the 100,000 rows, the
first 80,000 train. Models train with their defaults.
"""

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from embedzoo import datasets, training, zoo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def split(ml100k):
    train, test = datasets.random_split(ml100k, test_fraction=0.2, seed=42)
    perm = np.random.default_rng(42).permutation(len(ml100k))
    expected = ml100k.frame.iloc[np.sort(perm[:80000])]
    assert len(train) == 80000 and len(test) == 20000
    assert (
        train.frame[["user", "item", "rating"]].to_numpy().tolist()
        == expected[["user", "item", "rating"]].to_numpy().tolist()
    )
    return train, test


@pytest.fixture(scope="module")
def mf(split):
    train, test = split
    model = zoo.build("dot_bias_mf", train, seed=0)
    start = time.perf_counter()
    training.fit(model, train, verbose=0)
    seconds = time.perf_counter() - start
    return model, training.rating_metrics(model, test), seconds


def test_dot_bias_mf_reaches_its_rmse(mf):
    # Measured 0.8879 / MAE 0.699 in ~3-4 s (seed 1: 0.8877); without the spectral prior
    # (prior=None, l2=0.15) 0.9075. fastai's EmbeddingDotBias reaches 0.912 and Surprise's
    # SVD++ 0.918 on this split.
    model, metrics, seconds = mf
    print(f"dot_bias_mf: {metrics} in {seconds:.1f}s")
    assert metrics["rmse"] <= 0.900
    assert metrics["mae"] <= 0.705


def test_embedding_nn_reaches_its_rmse(split):
    train, test = split
    model = zoo.build("embedding_nn", train, seed=0)
    training.fit(model, train, verbose=0)
    metrics = training.rating_metrics(model, test)
    print(f"embedding_nn: {metrics}")
    assert metrics["rmse"] <= 0.920  # measured 0.915


def test_most_and_least_liked_make_sense(mf, ml100k):
    model, _, _ = mf
    table = model.item_bias_table(10, titles=ml100k.item_metadata["title"])
    mean_rating = ml100k.frame.groupby("item").rating.mean()
    top = mean_rating.loc[table[table.end == "highest"].item.to_list()]
    bottom = mean_rating.loc[table[table.end == "lowest"].item.to_list()]
    print(table.to_string())
    # Measured: the ten highest biases belong to films averaging 4.32 stars (Close Shave,
    # Wrong Trousers, 12 Angry Men, Good Will Hunting, ...), the ten lowest to 1.87 (Children
    # of the Corn: The Gathering, Lawnmower Man 2, Speed 2, ...); all ratings average 3.53.
    assert top.mean() >= 4.1 and top.min() >= 3.8
    assert bottom.mean() <= 2.1 and bottom.max() <= 2.5


def test_export_reload_in_fresh_process_gives_same_predictions(mf, split, tmp_path):
    model, _, _ = mf
    _, test = split
    path = zoo.export(model, tmp_path / "exports", "movielens")
    rows = test.frame.iloc[:256]
    users, items = rows.user.tolist(), rows.item.tolist()
    script = textwrap.dedent(
        f"""
        import json, tensorflow as tf
        m = tf.saved_model.load({str(path)!r})
        u = tf.constant({users}, tf.int64); i = tf.constant({items}, tf.int64)
        s = m.signatures["serving_default"](user_id=u, item_id=i)["score"].numpy().tolist()
        r = m.signatures["recommend"](user_id=u[:8], k=tf.constant(10))
        print(json.dumps({{"score": s, "rec": r["item_ids"].numpy().tolist(),
                          "rec_scores": r["scores"].numpy().tolist()}}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(out["score"], model.score(users, items), rtol=1e-5)
    ids, scores = model.recommend(users[:8], k=10)
    assert out["rec"] == ids.tolist()
    np.testing.assert_allclose(out["rec_scores"], scores, rtol=1e-5)
    # training items never come back
    train, _ = split
    for u, row in zip(users[:8], out["rec"], strict=True):
        assert not set(row) & set(train.frame.item[train.frame.user == u])
