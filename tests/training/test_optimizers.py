import keras
import numpy as np
import pytest
import tensorflow as tf

from embedzoo.core.layers import Embedding
from embedzoo.training.optimizers import RowwiseAdagrad, RowwiseAdam, get


def sparse_step(optimizer, table, ids, upstream):
    """One step on `table` through an embedding lookup; returns the gradient type."""
    layer = Embedding(table.shape[0], table.shape[1], zero_unknown_row=False)
    layer.build()
    layer.embeddings.assign(table)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ids) * upstream)
    (grad,) = tape.gradient(loss, [layer.embeddings])
    optimizer.apply([grad], [layer.embeddings])
    return layer, grad


@pytest.mark.parametrize("cls", [RowwiseAdam, RowwiseAdagrad])
def test_sparse_update_touches_only_batch_rows(cls):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 4)).astype("float32")
    ids = np.array([3, 7, 3, 11], dtype="int32")  # duplicate row 3
    opt = cls(learning_rate=0.1)
    layer, grad = sparse_step(opt, table, ids, rng.normal(size=(4, 4)).astype("float32"))
    assert isinstance(grad, tf.IndexedSlices)  # the gradient never densifies
    after = layer.embeddings.numpy()
    changed = np.flatnonzero(np.any(after != table, axis=1))
    assert changed.tolist() == [3, 7, 11]
    for state in opt.variables[2:]:  # iteration and learning-rate come first
        if tuple(state.shape) == table.shape:
            untouched = np.setdiff1d(np.arange(50), [3, 7, 11])
            ref = 0.1 if cls is RowwiseAdagrad else 0.0
            np.testing.assert_allclose(state.numpy()[untouched], ref)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: RowwiseAdam(0.05), lambda: keras.optimizers.Adam(0.05)),
        (lambda: RowwiseAdagrad(0.05), lambda: keras.optimizers.Adagrad(0.05, epsilon=1e-7)),
    ],
)
def test_equals_keras_optimizer_when_every_row_is_used(ours, theirs):
    """With every row in every batch, lazy updates are the dense algorithm exactly."""
    rng = np.random.default_rng(1)
    table = rng.normal(size=(6, 3)).astype("float32")
    ids = np.arange(6, dtype="int32")
    layer = Embedding(6, 3, zero_unknown_row=False)
    layer.build()
    layer.embeddings.assign(table)
    var = keras.Variable(table)
    a, b = ours(), theirs()
    for _ in range(4):
        up = rng.normal(size=(6, 3)).astype("float32")
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(ids) * up)
        a.apply(tape.gradient(loss, [layer.embeddings]), [layer.embeddings])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.convert_to_tensor(var) * up)
        b.apply(tape.gradient(loss, [var]), [var])
    # Keras's Adagrad adds epsilon inside the root, ours outside: a tiny gap at most.
    np.testing.assert_allclose(layer.embeddings.numpy(), var.numpy(), rtol=2e-4, atol=2e-5)


def test_dense_gradients_use_the_ordinary_update():
    var = keras.Variable(np.ones(3, dtype="float32"))
    opt = RowwiseAdam(0.1)
    opt.apply([tf.constant([1.0, -1.0, 0.0])], [var])
    np.testing.assert_allclose(var.numpy(), [0.9, 1.1, 1.0], atol=1e-5)


def test_get_by_name_and_unknown_name():
    from embedzoo.errors import ConfigError

    assert isinstance(get("adam", 0.01), RowwiseAdam)
    assert float(get("adagrad", 0.2).learning_rate) == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="rmsprop"):
        get("rmsprop")


def test_serialisation_round_trip():
    opt = RowwiseAdam(0.02, beta_2=0.99)
    clone = RowwiseAdam.from_config(opt.get_config())
    assert clone.beta_2 == 0.99 and float(clone.learning_rate) == pytest.approx(0.02)


@pytest.mark.parametrize("cls", [RowwiseAdam, RowwiseAdagrad])
@pytest.mark.parametrize("jit", [False, True])
def test_dense_masked_path_equals_sparse_path(cls, jit):
    """The XLA-friendly dense masked update writes what the sparse lazy update writes."""
    rng = np.random.default_rng(3)
    table = rng.normal(size=(30, 5)).astype("float32")
    sparse_var, dense_var = keras.Variable(table), keras.Variable(table)
    sparse_opt, dense_opt = cls(learning_rate=0.05), cls(learning_rate=0.05)
    dense_opt.dense_max_elements = table.size
    sparse_opt.build([sparse_var])
    dense_opt.build([dense_var])

    def stepper(opt, var):
        @tf.function(jit_compile=jit)
        def step(values, ids):
            opt.apply([tf.IndexedSlices(values, ids, tf.constant(table.shape))], [var])

        return step

    sparse_step, dense_step = stepper(sparse_opt, sparse_var), stepper(dense_opt, dense_var)
    for _ in range(4):
        ids = tf.constant(
            rng.integers(0, 12, size=16).astype("int32")
        )  # duplicates, rows 12+ never
        values = tf.constant(rng.normal(size=(16, 5)).astype("float32"))
        sparse_step(values, ids)
        dense_step(values, ids)
    np.testing.assert_allclose(dense_var.numpy(), sparse_var.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(dense_var.numpy()[12:], table[12:])  # untouched rows exact
    for a, b in zip(dense_opt.variables[2:], sparse_opt.variables[2:], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_auto_jit_uses_xla_and_dense_updates_only_for_small_tables(tiny, monkeypatch):
    from embedzoo import zoo
    from embedzoo.training import optimizers
    from embedzoo.training.fit import compile_model, resolve_jit_compile

    model = zoo.build("dot_bias_mf", tiny, n_factors=8)  # largest table 61 x 8
    assert resolve_jit_compile(model, RowwiseAdam(), "auto")
    assert not resolve_jit_compile(model, keras.optimizers.SGD(), "auto")
    assert not resolve_jit_compile(model, RowwiseAdam(), False)  # explicit settings win
    compile_model(model)  # dot_bias_mf's fit_defaults say "auto"
    assert model.jit_compile is True
    assert model.optimizer.dense_max_elements == optimizers.DENSE_MAX_ELEMENTS
    monkeypatch.setattr(optimizers, "DENSE_MAX_ELEMENTS", 61 * 8 - 1)  # now a "big" table
    big = zoo.build("dot_bias_mf", tiny, n_factors=8)
    compile_model(big)
    assert big.jit_compile is False
    assert big.optimizer.dense_max_elements == 0
