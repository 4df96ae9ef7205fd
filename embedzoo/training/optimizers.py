"""Row-wise (lazy) optimizers: an embedding step costs O(batch), not O(table).

Keras's own Adam and Adagrad touch every row of an embedding table on every step (moment
decay, ``sqrt`` of the whole accumulator), so a step on a 1M-row table costs as much as a dense
layer of that size. These optimizers take the ``tf.IndexedSlices`` gradient that
:class:`embedzoo.zoo.layers.Embedding` produces, sum duplicate rows, and read and write only the
rows used in the batch (the "lazy" update of TF-Addons' LazyAdam and of row-wise Adagrad in
large-scale recommenders). Dense gradients (MLP kernels, biases) get the ordinary update, so one
optimizer serves a whole model. They are Keras optimizers: ``compile``, ``fit``, checkpoints and
``.keras`` files work as usual, and they run inside any ``tf.distribute`` strategy scope.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _sum_duplicates(grad: tf.IndexedSlices) -> tuple[tf.Tensor, tf.Tensor]:
    """Unique row ids and the summed gradient rows for each."""
    rows, position = tf.unique(grad.indices)
    values = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(rows)[0])
    return rows, values


def _gather(variable, rows):
    return tf.gather(variable.value if hasattr(variable, "value") else variable, rows)


@keras.saving.register_keras_serializable(package="embedzoo")
class RowwiseAdam(keras.optimizers.Optimizer):
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
        if isinstance(gradient, tf.IndexedSlices):
            rows, g = _sum_duplicates(gradient)
            m_rows = _gather(m, rows) * b1 + (1 - b1) * g
            v_rows = _gather(v, rows) * b2 + (1 - b2) * tf.square(g)
            self.assign(m, tf.IndexedSlices(m_rows, rows))
            self.assign(v, tf.IndexedSlices(v_rows, rows))
            step_rows = alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon)
            self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))
        else:
            self.assign(m, m.value * b1 + (1 - b1) * gradient)
            self.assign(v, v.value * b2 + (1 - b2) * tf.square(gradient))
            self.assign_sub(variable, alpha * m.value / (tf.sqrt(v.value) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="embedzoo")
class RowwiseAdagrad(keras.optimizers.Optimizer):
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
        if isinstance(gradient, tf.IndexedSlices):
            rows, g = _sum_duplicates(gradient)
            acc_rows = _gather(acc, rows) + tf.square(g)
            self.assign(acc, tf.IndexedSlices(acc_rows, rows))
            step_rows = lr * g / (tf.sqrt(acc_rows) + self.epsilon)
            self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))
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

        raise ConfigError(f"unknown optimizer {name_or_optimizer!r}; choose from {sorted(OPTIMIZERS)}")
    cls = OPTIMIZERS[key]
    return cls() if learning_rate is None else cls(learning_rate=learning_rate)
