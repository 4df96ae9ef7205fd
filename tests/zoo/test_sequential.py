"""The sequence models, sasrec and gru4rec: the contract, order, padding, serving histories."""

import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from embedzoo import datasets, training, zoo
from embedzoo.errors import ConfigError, UnknownIdWarning
from embedzoo.training.losses import NextItemLoss
from embedzoo.training.sequence_pipelines import next_item, sequence_windows
from embedzoo.zoo.sequential import right_aligned
from tests.helpers import T0
from tests.zoo import implicit
from tests.zoo.contract import ContractSuite

tiny, tiny_str = implicit.tiny, implicit.tiny_str

SMALL = {"embedding_dim": 16, "max_length": 10}
MODELS = ("sasrec", "gru4rec")


class TestSASRecContract(ContractSuite):
    model_name = "sasrec"
    config = SMALL
    fit_kwargs = {"epochs": 3, "batch_size": 32, "learning_rate": 0.01}


class TestGRU4RecContract(ContractSuite):
    model_name = "gru4rec"
    config = SMALL
    fit_kwargs = {"epochs": 3, "batch_size": 32, "learning_rate": 0.01}


def cycle_world(n_users=80, n_items=20, length=(8, 13), seed=0):
    """Every user walks the cycle of items 1..n in order from a random start: after ``a, a+1,
    a+2`` comes ``a+3``. A bag of items cannot tell ``a+3`` from ``a-1``; the order can."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start, n = rng.integers(n_items), rng.integers(*length)
        rows += [(u + 1, (start + t) % n_items + 1, T0 + 10 * t) for t in range(n)]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return datasets.Interactions.from_frame(frame, source="cycle")


@pytest.fixture(scope="module")
def cycle():
    return cycle_world()


@pytest.fixture(scope="module", params=MODELS)
def walker(request, cycle):
    model = zoo.build(request.param, cycle, seed=0, **SMALL)
    training.fit(model, cycle, epochs=40, batch_size=32, learning_rate=0.01, verbose=0)
    return model


def test_the_next_item_follows_the_order_of_the_history(walker):
    histories = [[(a + t) % 20 + 1 for t in range(3)] for a in range(20)]
    ids, _ = walker.recommend_for_history(histories, k=1)
    wanted = [(a + 3) % 20 + 1 for a in range(20)]
    hits = np.mean(ids[:, 0] == np.array(wanted))
    assert hits >= 0.9, f"{walker.zoo_name}: next item right for {hits:.2f} of the histories"
    # the reversed walk is another history: the answer changes with the order
    reversed_ids, _ = walker.recommend_for_history([h[::-1] for h in histories], k=1)
    assert np.mean(reversed_ids[:, 0] == ids[:, 0]) < 0.5


def test_a_known_user_is_read_from_their_remembered_history(walker, cycle):
    user = cycle.users.ids[0]
    history = walker.history_of(user)
    frame = cycle.frame[cycle.frame.user == user].sort_values("timestamp")
    assert history.tolist() == frame.item.tolist()[-walker.max_length :]
    a, sa = walker.recommend([user], k=3)
    b, sb = walker.recommend_for_history([history.tolist()], k=3)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-6)


def test_history_requests_skip_unknown_ids_and_exclude_the_history(walker):
    with pytest.warns(UnknownIdWarning, match="999"):
        noisy, s1 = walker.recommend_for_history([[3, 999, 4, 5]], k=5)
    clean, s2 = walker.recommend_for_history([[3, 4, 5]], k=5)
    assert noisy.tolist() == clean.tolist() and not {3, 4, 5} & set(clean[0].tolist())
    np.testing.assert_allclose(s1, s2, rtol=1e-6)
    # an empty history, or one of unknown ids only: the popularity fallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)
        empty, scores = walker.recommend_for_history([[], [999]], k=3)
    ids, popularity = walker.recommend([10**9], k=3)
    assert empty.tolist() == [ids[0].tolist()] * 2
    np.testing.assert_allclose(scores[0], popularity[0])
    # only the latest max_length known items count
    long = walker.items.lookup([(t % 20) + 1 for t in range(35)])
    a, _ = walker.history_queries(tf.constant([long]))
    b, _ = walker.history_queries(tf.constant([long[-walker.max_length :]]))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_padding_is_never_read(walker):
    """Garbage in the padding row changes nothing: padding neither attends nor is attended to,
    and the GRU starts its state at the first item."""
    history = tf.constant([[0, 0, 0, 0, 0, 0, 0, 3, 4, 5]], tf.int32)
    before = walker.encode(history).numpy()
    table = walker.item_embedding.table().numpy()
    garbage = table.copy()
    garbage[0] = 7.0
    walker.item_embedding.assign_table(garbage)
    try:
        after = walker.encode(history).numpy()
    finally:
        walker.item_embedding.assign_table(table)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert not np.any(before[0, :7]) and np.all(np.any(before[0, 7:] != 0, axis=-1))


def test_a_position_sees_only_the_items_before_it(walker):
    a = walker.encode(tf.constant([[0, 0, 0, 0, 0, 3, 4, 5, 6, 7]], tf.int32)).numpy()
    b = walker.encode(tf.constant([[0, 0, 0, 0, 0, 3, 4, 5, 19, 2]], tf.int32)).numpy()
    np.testing.assert_allclose(a[0, :8], b[0, :8], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 8:], b[0, 8:])


def test_recommend_for_history_signature_matches_python(walker, tmp_path, saved_model_worker):
    path = zoo.export(walker, tmp_path, walker.zoo_name)
    matrix = [[3, 4, 5, -1], [10, 11, 999, 12], [-1, -1, -1, -1]]
    calls = [
        {
            "signature": "recommend_for_history",
            "inputs": {"item_id_lists": [matrix, "int64"], "k": [4, "int32"]},
        }
    ]
    out = saved_model_worker.call(path, calls)["outputs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)
        ids, scores = walker.recommend_for_history([[3, 4, 5], [10, 11, 999, 12], []], k=4)
    assert out[0]["item_ids"] == ids.tolist()
    np.testing.assert_allclose(out[0]["scores"], scores, rtol=1e-5, atol=1e-6)


def test_fine_tuning_continues_a_known_users_history(walker, cycle):
    user = cycle.users.ids[1]
    old = walker.history_of(user).tolist()
    new = datasets.Interactions.from_frame(
        pd.DataFrame(
            {
                "user": [user, user, 500, 500, 500],
                "item": [1, 2, 1, 2, 21],
                "timestamp": T0 + 10**6 + np.arange(5),
            }  # fmt: skip
        )
    )
    tuned, _ = zoo.fine_tune(walker, new, epochs=1, batch_size=8, verbose=0)
    assert tuned.history_of(user).tolist() == (old + [1, 2])[-walker.max_length :]
    assert tuned.history_of(500).tolist() == [1, 2, 21] and 21 in tuned.items.ids
    other = cycle.users.ids[2]
    assert tuned.history_of(other).tolist() == walker.history_of(other).tolist()


@pytest.mark.parametrize("loss", ["bce", "sampled_softmax", "bpr_max", "softmax"])
def test_every_objective_learns_the_order(loss, cycle):
    config = {**SMALL, "loss": loss, "num_negatives": 1 if loss == "bce" else 8}
    if loss == "bpr_max":  # the default 1.0 learns this world too, in more epochs
        config["bpr_max_l2"] = 0.1
    model = zoo.build("sasrec", cycle, seed=0, **config)
    history = training.fit(model, cycle, epochs=25, batch_size=32, learning_rate=0.01, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    histories = [[(a + t) % 20 + 1 for t in range(3)] for a in range(20)]
    ids, _ = model.recommend_for_history(histories, k=1)
    hits = np.mean(ids[:, 0] == np.array([(a + 3) % 20 + 1 for a in range(20)]))
    assert hits >= 0.7, f"{loss}: {hits:.2f}"


# -- pipeline and loss ---------------------------------------------------------------------


def test_windows_hold_every_transition_once():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(6), [1, 2, 5, 11, 12, 30])
    items = rng.integers(1, 50, len(users)).astype(np.int32)
    windows = sequence_windows(users, items, 5)
    got = sorted(
        (int(a), int(b)) for w in windows for a, b in zip(w[:-1], w[1:], strict=True) if a and b
    )
    wanted = sorted(
        (int(a), int(b))
        for u in range(6)
        for a, b in zip(items[users == u][:-1], items[users == u][1:], strict=True)
    )
    assert got == wanted and windows.shape[1] == 6
    # right-aligned: padding only on the left
    for w in windows:
        nz = np.flatnonzero(w)
        assert nz[-1] == 5 and np.all(np.diff(nz) == 1)


def test_pipeline_batches_are_seeded_and_weights_mark_real_positions(cycle):
    model = zoo.build("sasrec", cycle, seed=0, **SMALL)
    model.remember(cycle)
    make = lambda seed: next_item(model, cycle, 16, seed=seed, max_length=10, num_negatives=2)  # noqa: E731
    (x, _, w), (x2, _, _) = next(iter(make(1))), next(iter(make(1)))
    assert x["negatives"].shape == (16, 10, 2)
    np.testing.assert_array_equal(x["negatives"], x2["negatives"])
    np.testing.assert_array_equal(x["history"], x2["history"])
    h, t = x["history"].numpy(), x["target"].numpy()
    np.testing.assert_array_equal(w.numpy(), ((h > 0) & (t > 0)).astype(np.float32))
    np.testing.assert_array_equal(h[:, 1:][h[:, 1:] > 0], t[:, :-1][h[:, 1:] > 0])
    other = next(iter(make(2)))[0]
    assert not np.array_equal(other["negatives"], x["negatives"])
    shared = next(
        iter(next_item(model, cycle, 16, max_length=10, num_negatives=5, per_position=False))
    )
    assert shared[0]["negatives"].shape == (5,)


def test_next_item_loss_values():
    logits = np.array([[[2.0, 0.5, -1.0]]])
    softplus = lambda v: np.log1p(np.exp(v))  # noqa: E731
    assert float(NextItemLoss("bce")(np.zeros((1, 1)), logits)) == pytest.approx(
        softplus(-2.0) + softplus(0.5) + softplus(-1.0), rel=1e-5
    )
    w = np.exp([0.5, -1.0]) / np.exp([0.5, -1.0]).sum()
    sig = 1 / (1 + np.exp(-(2.0 - np.array([0.5, -1.0]))))
    wanted = -np.log((w * sig).sum()) + 0.5 * (w * np.array([0.25, 1.0])).sum()
    got = float(NextItemLoss("bpr_max", bpr_max_l2=0.5)(np.zeros((1, 1)), logits))
    assert got == pytest.approx(wanted, rel=1e-5)


def test_sampled_softmax_subtracts_log_q_and_masks_hits(cycle):
    model = zoo.build(
        "sasrec", cycle, seed=0, **SMALL, loss="sampled_softmax", negative_sampling="popularity",
        sampling_alpha=1.0, num_negatives=3,
    )  # fmt: skip
    model.remember(cycle)
    history = tf.constant([[0] * 8 + [3, 4]], tf.int32)
    target = tf.constant([[0] * 8 + [4, 5]], tf.int32)
    negatives = tf.constant([5, 7, 9], tf.int32)
    logits = model.training_logits(
        {"history": history, "target": target, "negatives": negatives}, training=False
    ).numpy()[0, -1]
    hidden = model.encode(history).numpy()[0, -1]
    table = model.item_embedding.table().numpy()
    counts = np.asarray(model.item_popularity)
    q = 3 * counts / counts.sum()
    raw = hidden @ table[[5, 5, 7, 9]].T
    np.testing.assert_allclose(logits[0], raw[0] - np.log(q[5]), rtol=1e-4)
    assert logits[1] <= -1e8  # the negative 5 is this position's target: masked
    np.testing.assert_allclose(logits[2:], raw[2:] - np.log(q[[7, 9]]), rtol=1e-4)


def test_right_aligned_keeps_the_latest_items_in_order():
    index = tf.constant([[5, 0, 6, 7, 0, 8]])
    assert right_aligned(index, 3).numpy().tolist() == [[6, 7, 8]]
    assert right_aligned(index, 6).numpy().tolist() == [[0, 0, 5, 6, 7, 8]]


def test_bad_settings_are_config_errors(cycle):
    with pytest.raises(ConfigError, match="loss"):
        zoo.build("sasrec", cycle, loss="hinge")
    with pytest.raises(ConfigError, match="num_heads"):
        zoo.build("sasrec", cycle, embedding_dim=10, num_heads=3)
    with pytest.raises(ConfigError, match="negative_sampling"):
        zoo.build("gru4rec", cycle, negative_sampling="hard")


def test_data_without_transitions_is_a_clear_error():
    frame = pd.DataFrame({"user": [1, 2], "item": [1, 2], "timestamp": [T0, T0]})
    data = datasets.Interactions.from_frame(frame, source="singles.csv")
    model = zoo.build("gru4rec", data, **SMALL)
    with pytest.raises(Exception, match="singles.csv.*two known training items"):
        training.fit(model, data, epochs=1, verbose=0)
