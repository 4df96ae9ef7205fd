"""Row-wise (lazy) optimizers: an embedding step costs O(batch), not O(table).

Keras's own Adam and Adagrad touch every row of an embedding table on every step (moment
decay, ``sqrt`` of the whole accumulator), so a step on a 1M-row table costs as much as a dense
layer of that size. These optimizers take the ``tf.IndexedSlices`` gradient that
:class:`embedzoo.core.layers.Embedding` produces, sum duplicate rows, and read and write only the
rows used in the batch (the "lazy" update of TF-Addons' LazyAdam and of row-wise Adagrad in
large-scale recommenders). Dense gradients (MLP kernels, biases) get the ordinary update, so one
optimizer serves a whole model. They are Keras optimizers: ``compile``, ``fit``, checkpoints and
``.keras`` files work as usual, and they run inside any ``tf.distribute`` strategy scope.

Small tables can take a dense-but-lazy path instead (``dense_max_elements``): the gradient
rows are summed into a dense table-shaped gradient plus a touched-row mask, and
``tf.where(mask, new, old)`` writes the values the sparse update writes (untouched rows keep
their values and moments). It costs O(table), not O(batch), but skips ``tf.unique`` and the
segment sum over unique positions, and it fuses under XLA; with big batches on small tables
it is the faster one. ``training.fit`` chooses it with XLA (``resolve_jit_compile``).

Under a ``ParameterServerStrategy`` workers update the variables concurrently, so the sparse
path adds each step's change to the moments (``scatter_add``) instead of writing the values it
computed from the rows it read: a write would undo a concurrent step's change to the same row
(on ML-100k such lost updates cost bpr up to 0.011 of full NDCG@10 on 2 workers; adding them,
0.003-0.006). Everywhere else the values are written, as before.
"""

from __future__ import annotations

import keras
import tensorflow as tf

#: Largest table (rows x width) the dense masked path may update; bigger tables always stay
#: sparse, O(batch) (tens of millions of elements at 25M-row scale).
DENSE_MAX_ELEMENTS = 4_000_000


def table_size(variable) -> int:
    """Elements of ``variable`` (rows x width)."""
    size = 1
    for dim in variable.shape:
        size *= int(dim)
    return size


class _DensePathMixin:
    """``dense_max_elements``: sparse gradients of tables up to this size take the dense masked
    path (0 = never). An execution setting chosen by ``training.fit``; not saved."""

    dense_max_elements = 0

    def _dense_path(self, gradient, variable) -> bool:
        return (
            isinstance(gradient, tf.IndexedSlices)
            and table_size(variable) <= self.dense_max_elements
            # a whole-table write would undo other workers' concurrent steps (and move the
            # table over the network every step)
            and not _asynchronous()
        )


def _densify(grad: tf.IndexedSlices, num_rows) -> tuple[tf.Tensor, tf.Tensor]:
    """Dense summed gradient ``[num_rows, ...]`` and a ``[num_rows, 1...]`` touched-row mask."""
    dense = tf.math.unsorted_segment_sum(grad.values, grad.indices, num_rows)
    hits = tf.math.unsorted_segment_sum(
        tf.ones_like(grad.indices, dtype=grad.values.dtype), grad.indices, num_rows
    )
    mask = tf.reshape(hits > 0, [-1] + [1] * (grad.values.shape.rank - 1))
    return dense, mask


def _sum_duplicates(grad: tf.IndexedSlices) -> tuple[tf.Tensor, tf.Tensor]:
    """Unique row ids and the summed gradient rows for each."""
    rows, position = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(rows)[0])
    return rows, values


def _asynchronous() -> bool:
    """True under a ``ParameterServerStrategy``, whose workers update variables concurrently."""
    return isinstance(tf.distribute.get_strategy(), tf.distribute.ParameterServerStrategy)


def _gather(variable, rows):
    """The ``rows`` of a Keras or TensorFlow variable, by a resource gather (no full read)."""
    return tf.gather(variable.value if isinstance(variable, keras.Variable) else variable, rows)


def _subtract_rows(optimizer, variable, rows, step_rows) -> None:
    """``variable[rows] -= step_rows`` for unique ``rows``.

    Synchronously it gathers the rows and writes the new values (``scatter_update``): on CPU
    TensorFlow's ``scatter_sub`` kernel costs over ten times a ``scatter_update`` of the same
    rows and three times the gather and the write together (``python
    benchmarks/optimizer_ops.py``: 8,192 rows of 32 floats, ``docs/benchmarks.md``); it was
    the largest single kernel in the profile of a 25M-row epoch's step. Under a
    ``ParameterServerStrategy`` the change is subtracted, so concurrent workers' steps on the
    same rows are kept (see the module docstring)."""
    if _asynchronous():
        optimizer.assign_sub(variable, tf.IndexedSlices(step_rows, rows))
    else:
        optimizer.assign(variable, tf.IndexedSlices(_gather(variable, rows) - step_rows, rows))


@keras.saving.register_keras_serializable(package="embedzoo")
class RowwiseAdam(_DensePathMixin, keras.optimizers.Optimizer):
    """Adam whose sparse updates touch only the rows in the batch (lazy Adam).

    For dense gradients this is exactly Adam. For embedding rows, a row's moments decay only on
    the steps that use it, the behaviour of TF-Addons ``LazyAdam``; the bias correction uses the
    global step.

    Args:
        learning_rate: step size.
        beta_1, beta_2, epsilon: as in ``keras.optimizers.Adam``.
        **kwargs: other ``keras.optimizers.Optimizer`` arguments (``clipnorm``, ...).

    Example:
        >>> from embedzoo.training.optimizers import RowwiseAdam
        >>> opt = RowwiseAdam(learning_rate=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "rowwise_adam",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        b1, b2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
        if self._dense_path(gradient, variable):
            g, mask = _densify(gradient, tf.shape(variable)[0])
            m_old, v_old = m.value, v.value
            m_new = tf.where(mask, m_old * b1 + (1 - b1) * g, m_old)
            v_new = tf.where(mask, v_old * b2 + (1 - b2) * tf.square(g), v_old)
            self.assign(m, m_new)
            self.assign(v, v_new)
            step_dense = alpha * m_new / (tf.sqrt(v_new) + self.epsilon)
            self.assign_sub(variable, tf.where(mask, step_dense, tf.zeros_like(step_dense)))
        elif isinstance(gradient, tf.IndexedSlices):
            rows, g = _sum_duplicates(gradient)
            m_old, v_old = _gather(m, rows), _gather(v, rows)
            m_rows = m_old * b1 + (1 - b1) * g
            v_rows = v_old * b2 + (1 - b2) * tf.square(g)
            if _asynchronous():
                # Steps of other workers update the same rows between this step's read and
                # write: add the change instead of writing the value, so none is lost.
                self.assign_add(m, tf.IndexedSlices(m_rows - m_old, rows))
                self.assign_add(v, tf.IndexedSlices(v_rows - v_old, rows))
            else:
                self.assign(m, tf.IndexedSlices(m_rows, rows))
                self.assign(v, tf.IndexedSlices(v_rows, rows))
            _subtract_rows(self, variable, rows, alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon))
        else:
            self.assign(m, m.value * b1 + (1 - b1) * gradient)
            self.assign(v, v.value * b2 + (1 - b2) * tf.square(gradient))
            self.assign_sub(variable, alpha * m.value / (tf.sqrt(v.value) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="embedzoo")
class RowwiseAdagrad(_DensePathMixin, keras.optimizers.Optimizer):
    """Adagrad with sparse row updates; exact (Adagrad's state only changes where used).

    Args:
        learning_rate: step size.
        initial_accumulator_value: starting value of the squared-gradient accumulator.
        epsilon: added to the root of the accumulator.
        **kwargs: other ``keras.optimizers.Optimizer`` arguments.

    Example:
        >>> from embedzoo.training.optimizers import RowwiseAdagrad
        >>> opt = RowwiseAdagrad(learning_rate=0.05)
    """

    def __init__(
        self,
        learning_rate=0.05,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str = "rowwise_adagrad",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list,
            "accumulator",
            initializer=keras.initializers.Constant(self.initial_accumulator_value),
        )

    def update_step(self, gradient, variable, learning_rate):
        acc = self._accumulators[self._get_variable_index(variable)]
        lr = tf.cast(learning_rate, variable.dtype)
        if self._dense_path(gradient, variable):
            g, mask = _densify(gradient, tf.shape(variable)[0])
            acc_new = tf.where(mask, acc.value + tf.square(g), acc.value)
            self.assign(acc, acc_new)
            step_dense = lr * g / (tf.sqrt(acc_new) + self.epsilon)
            self.assign_sub(variable, tf.where(mask, step_dense, tf.zeros_like(step_dense)))
        elif isinstance(gradient, tf.IndexedSlices):
            rows, g = _sum_duplicates(gradient)
            acc_rows = _gather(acc, rows) + tf.square(g)
            if _asynchronous():  # concurrent workers: add, so no step's change is lost
                self.assign_add(acc, tf.IndexedSlices(tf.square(g), rows))
            else:
                self.assign(acc, tf.IndexedSlices(acc_rows, rows))
            _subtract_rows(self, variable, rows, lr * g / (tf.sqrt(acc_rows) + self.epsilon))
        else:
            self.assign_add(acc, tf.square(gradient))
            self.assign_sub(variable, lr * gradient / (tf.sqrt(acc.value) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(
            initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon
        )
        return config


OPTIMIZERS = {
    "adam": RowwiseAdam,
    "adagrad": RowwiseAdagrad,
    # Keras SGD without momentum already applies IndexedSlices with a sparse scatter.
    "sgd": keras.optimizers.SGD,
}


def get(name_or_optimizer, learning_rate: float | None = None):
    """An optimizer from a name (``adam``, ``adagrad``, ``sgd``) or an instance (returned as is).

    Example:
        >>> from embedzoo.training import optimizers
        >>> optimizers.get("adagrad", 0.1).name
        'rowwise_adagrad'
    """
    if isinstance(name_or_optimizer, keras.optimizers.Optimizer):
        return name_or_optimizer
    key = str(name_or_optimizer).lower()
    if key not in OPTIMIZERS:
        from embedzoo.errors import ConfigError

        raise ConfigError(
            f"unknown optimizer {name_or_optimizer!r}; choose from {sorted(OPTIMIZERS)}"
        )
    cls = OPTIMIZERS[key]
    return cls() if learning_rate is None else cls(learning_rate=learning_rate)
