"""``tf.distribute`` strategies by name; models are built and trained inside their scope.

``zoo.build(..., )`` under ``with strategies.get("mirrored").scope():`` creates mirrored
variables; ``training.fit`` then runs in the model's own strategy (Keras distributes the
datasets, which carry the global batch size).
"""

from __future__ import annotations

import tensorflow as tf

from embedzoo.errors import ConfigError


def get(name: str = "default") -> tf.distribute.Strategy:
    """``default`` (the current strategy), ``mirrored`` (all local GPUs, or the CPU),
    ``one_device`` (``/gpu:0`` when present, else ``/cpu:0``) or ``multi_worker`` (from
    ``TF_CONFIG``).

    Example:
        >>> from embedzoo.training import strategies
        >>> strategies.get("default").num_replicas_in_sync
        1
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(
        f"unknown strategy {name!r}; choose default, mirrored, one_device, multi_worker"
    )
