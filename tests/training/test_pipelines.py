import numpy as np
import pytest
import tensorflow as tf

from embedzoo import zoo
from embedzoo.errors import DataError
from embedzoo.training import pipelines


def epoch(ds):
    return np.concatenate([b.numpy() for b in ds])


def test_every_row_once_per_epoch_and_a_new_order_each_epoch():
    ds = pipelines.index_batches(1000, 64, shuffle=True, seed=7, epochs=2)
    assert ds.cardinality().numpy() == 32  # 2 x (15 full batches + 1 remainder)
    both = epoch(ds)
    first, second = both[:1000], both[1000:]
    assert sorted(first.tolist()) == list(range(1000)) == sorted(second.tolist())
    assert not np.array_equal(first, second)


def test_the_stream_depends_on_seed_and_epoch_only():
    # Every iterator replays the same epochs (Keras opens more than one under a strategy).
    a = pipelines.index_batches(300, 32, seed=5, epochs=3)
    assert np.array_equal(epoch(a), epoch(a))
    b = pipelines.index_batches(300, 32, seed=5, epochs=1)
    assert np.array_equal(epoch(b), epoch(a)[:300])
    assert not np.array_equal(epoch(pipelines.index_batches(300, 32, seed=6)), epoch(b))


def test_unshuffled_keeps_order():
    assert epoch(pipelines.index_batches(10, 4, shuffle=False)).tolist() == list(range(10))


def test_pointwise_batches_match_the_rows(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=2)
    ds = pipelines.pointwise(model, tiny, batch_size=128, shuffle=True, seed=1)
    (x, y) = next(iter(ds))
    assert x["user"].dtype == tf.int32 and x["item"].dtype == tf.int32 and y.shape == (128,)
    rows = {(u, i): r for u, i, r in zip(*pipelines.encode(model, tiny), tiny.ratings, strict=True)}
    for u, i, r in zip(x["user"].numpy(), x["item"].numpy(), y.numpy(), strict=True):
        assert rows[(u, i)] == r


def test_bad_pipeline_input(tiny):
    with pytest.raises(DataError):
        pipelines.index_batches(0, 4)
    model = zoo.build("dot_bias_mf", tiny, n_factors=2)
    with pytest.raises(DataError, match="no 'label' column"):
        pipelines.pointwise(model, tiny, target="label")


def test_packed_rows_return_every_column_exactly():
    rng = np.random.default_rng(3)
    users = rng.integers(0, 2**31 - 1, 500).astype(np.int32)
    weights = rng.normal(size=500).astype(np.float32) * 1e6  # negative, large, tiny floats
    weights[:3] = [0.0, -0.0, np.float32(1e-38)]
    rows = pipelines.Rows(user=users, w=weights)
    positions = rng.permutation(500)[:200].astype(np.int32)
    got = rows.gather(tf.constant(positions))
    assert got["user"].dtype == tf.int32 and got["w"].dtype == tf.float32
    np.testing.assert_array_equal(got["user"].numpy(), users[positions])
    # bit for bit, signed zero included
    np.testing.assert_array_equal(
        got["w"].numpy().view(np.int32), weights[positions].view(np.int32)
    )
    with pytest.raises(ValueError, match="'user' does not fit in int32"):
        pipelines.Rows(user=np.array([1, 2**31], np.int64))


def test_pipeline_functions_are_traced_without_autograph():
    def fn(x):
        return x * 2

    def branchy(x):
        if x > 1:  # AutoGraph would turn this into tf.cond; traced as written it cannot run
            return x
        return -x

    assert [int(v) for v in tf.data.Dataset.range(3).map(pipelines.traced(fn))] == [0, 2, 4]
    assert [int(v) for v in tf.data.Dataset.range(3).map(branchy)] == [0, -1, 2]
    with pytest.raises(TypeError, match="tf.Tensor"):
        tf.data.Dataset.range(3).map(pipelines.traced(branchy))
