"""``tf.distribute`` strategies by name; models are built and trained inside their scope.

``zoo.build(..., )`` under ``with strategies.get("mirrored").scope():`` creates mirrored
variables; ``training.fit`` then runs in the model's own strategy (Keras distributes the
datasets, which carry the global batch size).
"""

from __future__ import annotations

import tensorflow as tf

from embedzoo.errors import ConfigError

_CREATED: dict = {}


def get(name: str = "default") -> tf.distribute.Strategy:
    """``default`` (the current strategy), ``mirrored`` (all local GPUs, else every logical CPU),
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
        # One instance per process: two MirroredStrategy objects over the same devices issue
        # colliding collective ops (a second model's first step fails).
        if "mirrored" not in _CREATED:
            if tf.config.list_logical_devices("GPU"):
                _CREATED["mirrored"] = tf.distribute.MirroredStrategy()
            else:
                # MirroredStrategy() alone takes only CPU:0; logical CPU devices (set up with
                # tf.config.set_logical_device_configuration) are replicas too.
                cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
                _CREATED["mirrored"] = tf.distribute.MirroredStrategy(cpus)
        return _CREATED["mirrored"]
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(
        f"unknown strategy {name!r}; choose default, mirrored, one_device, multi_worker"
    )
