import numpy as np
import pytest
import tensorflow as tf

from embedzoo import zoo
from embedzoo.errors import DataError
from embedzoo.training import pipelines


def epoch(ds):
    return np.concatenate([b.numpy() for b in ds])


def test_every_row_once_per_epoch_and_a_new_order_each_epoch():
    ds = pipelines.index_batches(1000, 64, shuffle=True, seed=7)
    assert ds.cardinality().numpy() == 16  # 15 full batches + 1 remainder
    first, second = epoch(ds), epoch(ds)
    assert sorted(first.tolist()) == list(range(1000)) == sorted(second.tolist())
    assert not np.array_equal(first, second)


def test_same_seed_same_sequence_of_epochs():
    a = pipelines.index_batches(300, 32, seed=5)
    b = pipelines.index_batches(300, 32, seed=5)
    assert np.array_equal(epoch(a), epoch(b)) and np.array_equal(epoch(a), epoch(b))
    assert not np.array_equal(epoch(pipelines.index_batches(300, 32, seed=6)), epoch(a))


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
