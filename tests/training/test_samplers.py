import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from embedzoo import zoo
from embedzoo.datasets import Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.training import negative_pipelines, pipelines
from embedzoo.training.samplers import NegativeSampler
from tests.helpers import make_implicit


def draws(sampler, users, seed=(0, 1)):
    return sampler.sample(tf.constant(users, tf.int32), tf.constant(seed, tf.int64)).numpy()


def test_no_negative_is_a_positive_even_for_dense_users():
    rng = np.random.default_rng(0)
    n_items = 50
    users, items = [], []
    for u, share in zip(range(1, 6), [0.1, 0.5, 0.9, 0.96, 0.98], strict=True):
        chosen = rng.choice(np.arange(1, n_items), size=int(share * (n_items - 1)), replace=False)
        users += [u] * len(chosen)
        items += chosen.tolist()
    users, items = np.array(users), np.array(items)
    for dist in ("uniform", "popularity"):
        s = NegativeSampler(users, items, num_items=n_items, distribution=dist, max_rounds=3)
        batch = np.repeat(np.arange(1, 6), 2000)
        negs = draws(s, batch)
        positives = set(zip(users.tolist(), items.tolist(), strict=True))
        assert not any(
            (u, i) in positives for u, i in zip(batch.tolist(), negs.tolist(), strict=True)
        )
        assert negs.min() >= 1 and negs.max() < n_items


def test_is_positive_is_exact_behind_the_bloom_filter():
    rng = np.random.default_rng(1)
    users, items = rng.integers(1, 300, 20_000), rng.integers(1, 500, 20_000)
    s = NegativeSampler(users, items, num_items=500)
    positives = set(zip(users.tolist(), items.tolist(), strict=True))
    qu, qi = (
        np.concatenate([users, rng.integers(1, 300, 20_000)]),
        np.concatenate([items, rng.integers(1, 500, 20_000)]),
    )
    got = s.is_positive(tf.constant(qu), tf.constant(qi)).numpy()
    expected = np.array(
        [(u, i) in positives for u, i in zip(qu.tolist(), qi.tolist(), strict=True)]
    )
    np.testing.assert_array_equal(got, expected)
    assert got[:20_000].all() and 0 < got[20_000:].mean() < 0.5


def test_fallback_is_the_lowest_non_positive_item():
    # user 1 has every item but 4: after max_rounds misses it gets 4, deterministically
    items = np.array([1, 2, 3, 5, 6, 7])
    s = NegativeSampler(np.ones(6, int), items, num_items=8, max_rounds=1)
    assert s.fallback[1] == 4
    assert set(draws(s, np.ones(500, int))) == {4}
    with pytest.raises(DataError, match="user index 1 interacted with every one of the 7 items"):
        NegativeSampler(np.ones(7, int), np.arange(1, 8), num_items=8)


def test_uniform_frequencies_are_flat():
    s = NegativeSampler(np.array([1]), np.array([1]), num_items=21, num_users=3)
    negs = draws(s, np.full(200_000, 2))  # user 2 has no positives: pure distribution
    freq = np.bincount(negs, minlength=21)[1:] / len(negs)
    np.testing.assert_allclose(freq, 1 / 20, rtol=0.06)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_popularity_frequencies_follow_count_to_the_alpha(alpha):
    counts = np.array([0, 50, 20, 10, 5, 1, 0, 14])  # item 6 never seen: never drawn
    items = np.repeat(np.arange(8), counts)
    users = np.arange(len(items)) % 7 + 1
    s = NegativeSampler(
        users, items, num_items=8, distribution="popularity", alpha=alpha, num_users=9
    )
    negs = draws(s, np.full(300_000, 8))  # user 8: no positives
    freq = np.bincount(negs, minlength=8) / len(negs)
    expected = counts.astype(float) ** alpha
    expected[0] = 0
    np.testing.assert_allclose(freq, expected / expected.sum(), atol=0.004)
    assert freq[6] == 0 and freq[0] == 0


def test_same_seed_same_draws_and_different_seed_differs():
    s = NegativeSampler(np.array([1, 1]), np.array([1, 2]), num_items=100)
    a, b = draws(s, np.ones(50, int), (3, 4)), draws(s, np.ones(50, int), (3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draws(s, np.ones(50, int), (3, 5)))


def test_bad_sampler_config():
    with pytest.raises(ConfigError):
        NegativeSampler(np.array([1]), np.array([1]), num_items=5, distribution="zipf")
    with pytest.raises(ConfigError):
        NegativeSampler(np.array([1]), np.array([1]), num_items=5, alpha=-1)
    with pytest.raises(DataError, match="no training rows"):
        NegativeSampler(np.array([0]), np.array([1]), num_items=5)


def epoch(ds, steps):
    it = iter(ds)
    return [next(it) for _ in range(steps)]


def test_triplets_redraw_negatives_every_epoch_and_never_hit_positives():
    data = make_implicit()
    model = zoo.build("bpr", data, n_factors=2)
    ds, steps = pipelines.training_dataset(model, data, batch_size=64, seed=3, epochs=2)
    it = iter(ds)
    epochs = [[next(it) for _ in range(steps)] for _ in range(2)]
    positives = set(zip(data.user_index.tolist(), data.item_index.tolist(), strict=True))
    seen_negs = []
    for batches in epochs:
        by_row = {}
        for x, y, _ in batches:
            assert y.numpy().tolist() == [[1.0, 0.0]] * len(y)
            for u, (i, j) in zip(x["user"].numpy(), x["item"].numpy(), strict=True):
                assert (u, i) in positives and (u, j) not in positives
                by_row[(u, i)] = j
        assert len(by_row) == len(data)  # every positive once per epoch
        seen_negs.append(by_row)
    changed = np.mean([seen_negs[0][k] != seen_negs[1][k] for k in seen_negs[0]])
    assert changed > 0.8  # a fresh draw each epoch (some repeat by chance on 40 items)
    # the same seed replays the same epochs
    again, steps = pipelines.training_dataset(model, data, batch_size=64, seed=3)
    first = next(iter(again))
    np.testing.assert_array_equal(first[0]["item"], epochs[0][0][0]["item"])


def test_recency_weights_grow_along_each_users_history():
    frame = pd.DataFrame(
        {"user": [1, 1, 1, 2, 2], "item": [5, 6, 7, 5, 6], "timestamp": [30, 10, 20, 1, 1]}
    )
    data = Interactions.from_frame(frame, timestamp_unit="order")
    w = negative_pipelines.recency_weights(data, strength=2.0, power=1.0)
    raw = np.array([3.0, 1.0, 2.0, 1.0, 3.0])  # user 2: equal times, the larger item id is later
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-6)
    assert negative_pipelines.recency_weights(data, 0.0, 1.0).tolist() == [1.0] * 5
    no_time = Interactions.from_frame(frame.drop(columns="timestamp"))
    assert negative_pipelines.recency_weights(no_time, 2.0, 1.0).tolist() == [1.0] * 5


def test_rows_the_model_does_not_know_are_left_out():
    data = make_implicit()
    model = zoo.build(
        "bpr", data.subset(np.flatnonzero(data.frame.user != data.frame.user.iloc[0])), n_factors=2
    )
    ds = negative_pipelines.triplets(model, data, batch_size=10_000)
    x, _, _ = next(iter(ds))
    assert x["user"].numpy().min() >= 1 and len(x["user"]) == int(
        (data.frame.user != data.frame.user.iloc[0]).sum()
    )


def test_validation_replays_its_negatives_and_needs_no_ratings():
    from embedzoo import training
    from embedzoo.datasets import temporal_holdout

    train, valid = temporal_holdout(make_implicit(), 0.2)
    model = zoo.build("bpr", train, n_factors=4, seed=0)
    ds = negative_pipelines.triplets(model, valid, batch_size=32, shuffle=False)
    a = np.concatenate([x["item"].numpy()[:, 1] for x, _, _ in ds])
    b = np.concatenate([x["item"].numpy()[:, 1] for x, _, _ in ds])
    np.testing.assert_array_equal(a, b)
    history = training.fit(model, train, validation=valid, epochs=2, batch_size=64, verbose=0)
    assert len(history.history["val_loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
