"""``tf.distribute`` strategies by name; models are built and trained inside their scope.

``zoo.build(..., strategy="mirrored")`` creates the model's variables under that strategy and
``training.fit`` then runs in the model's own strategy: Keras ``fit`` for one machine (it
distributes the datasets, which carry the global batch size), embedzoo's own loops for
``multi_worker`` (``training.loop``) and ``parameter_server`` (``training.parameter_server``).
A parameter-server cluster's ``worker`` and ``ps`` tasks run :func:`serve_task`.
"""

from __future__ import annotations

import json
import os
import socket
import time

import tensorflow as tf

from embedzoo.errors import ConfigError

_CREATED: dict = {}


def get(name: str = "default") -> tf.distribute.Strategy:
    """``default`` (the current strategy), ``mirrored`` (all local GPUs, else every logical CPU),
    ``one_device`` (``/gpu:0`` when present, else ``/cpu:0``), ``multi_worker`` (from
    ``TF_CONFIG``) or ``parameter_server`` (from ``TF_CONFIG``; this process is its ``chief``,
    the other tasks run :func:`serve_task`).

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
        if "multi_worker" not in _CREATED:
            check_tf_config()
            try:
                _CREATED["multi_worker"] = tf.distribute.MultiWorkerMirroredStrategy()
            except (RuntimeError, ValueError) as e:
                raise ConfigError(
                    "the multi_worker strategy must be created before TensorFlow runs anything"
                    f" in this process (create it first, e.g. strategies.get('multi_worker')): {e}"
                ) from e
        return _CREATED["multi_worker"]
    if name == "parameter_server":
        if "parameter_server" not in _CREATED:
            config = check_tf_config()
            for job, what in (
                ("chief", "the coordinator, the process that runs embedzoo's fit"),
                ("worker", "the tasks that run the training steps"),
                ("ps", "the parameter servers that hold the variables"),
            ):
                if job not in config["cluster"]:
                    raise ConfigError(
                        f"TF_CONFIG cluster.{job}: parameter_server training needs {job!r}"
                        f" task(s), {what}"
                    )
            task_type = config["task"]["type"]
            if task_type != "chief":
                raise ConfigError(
                    f"TF_CONFIG task.type: this process is a {task_type!r} task, which serves the"
                    " cluster (strategies.serve_task; `embedzoo train` does it for you); only"
                    " the 'chief' creates the parameter_server strategy"
                )
            resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
            _CREATED["parameter_server"] = tf.distribute.ParameterServerStrategy(resolver)
        return _CREATED["parameter_server"]
    raise ConfigError(
        f"unknown strategy {name!r}; choose default, mirrored, one_device, multi_worker,"
        " parameter_server"
    )


#: Seconds a worker or ps task keeps serving once the chief it had seen is gone.
CHIEF_GRACE_SECONDS = 15.0


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def serve_task(grace_seconds: float = CHIEF_GRACE_SECONDS, poll_seconds: float = 1.0) -> dict:
    """Runs this process's ``worker`` or ``ps`` task of a parameter-server cluster (TF_CONFIG).

    The task is a ``tf.distribute.Server``: the chief places variables on the ps tasks and
    schedules steps on the workers. TensorFlow's servers never stop by themselves; this one
    returns once the chief, after it was seen, has been unreachable for ``grace_seconds`` (the
    job is over, or the chief died: restart every task to resume). Returns the task.
    """
    config = check_tf_config()
    task = config["task"]
    if task["type"] not in ("worker", "ps"):
        raise ConfigError(
            f"TF_CONFIG task.type: {task['type']!r} does not serve; only 'worker' and 'ps' tasks do"
        )
    if "chief" not in config["cluster"]:
        raise ConfigError("TF_CONFIG cluster.chief: a parameter-server cluster needs a chief")
    server = tf.distribute.Server(
        tf.train.ClusterSpec(config["cluster"]),
        job_name=task["type"],
        task_index=task["index"],
        protocol="grpc",
        start=True,
    )
    chief = config["cluster"]["chief"][0]
    seen, gone_since = False, None
    while True:
        time.sleep(poll_seconds)
        if _reachable(chief):
            seen, gone_since = True, None
        elif seen:
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > grace_seconds:
                break
    del server
    return task


def check_tf_config(value: str | None = None) -> dict:
    """Parses and checks ``TF_CONFIG`` (TensorFlow's cluster description); returns it.

    It must be a JSON object ``{"cluster": {"worker": ["host:port", ...], ...}, "task":
    {"type": "worker", "index": i}}`` as TensorFlow documents it. Every problem is a
    ``ConfigError`` naming the field.

    Example:
        >>> check_tf_config('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}')
        Traceback (most recent call last):
        ...
        embedzoo.errors.ConfigError: TF_CONFIG task.index: 1 is not below the 1 'worker' task(s) of cluster.worker
    """
    raw = os.environ.get("TF_CONFIG") if value is None else value
    if not raw:
        raise ConfigError(
            "multi_worker training needs TF_CONFIG: set it to the cluster and this process's"
            ' task, e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]},'
            ' "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos})") from e
    if not isinstance(config, dict):
        raise ConfigError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError("TF_CONFIG cluster: missing or not an object of task lists")
    for task_type, addresses in cluster.items():
        if task_type not in ("chief", "worker", "ps", "evaluator"):
            raise ConfigError(
                f"TF_CONFIG cluster.{task_type}: unknown task type (chief, worker, ps, evaluator)"
            )
        if not isinstance(addresses, list) or not addresses:
            raise ConfigError(
                f"TF_CONFIG cluster.{task_type}: must be a non-empty list of host:port"
            )
        for i, address in enumerate(addresses):
            host, _, port = str(address).rpartition(":")
            if not isinstance(address, str) or not host or not port.isdigit():
                raise ConfigError(
                    f"TF_CONFIG cluster.{task_type}[{i}]: {address!r} is not host:port"
                )
            if not 0 < int(port) < 65536:
                raise ConfigError(f"TF_CONFIG cluster.{task_type}[{i}]: port {port} out of range")
    task = config.get("task")
    if not isinstance(task, dict):
        raise ConfigError("TF_CONFIG task: missing or not an object with 'type' and 'index'")
    task_type, index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise ConfigError(
            f"TF_CONFIG task.type: {task_type!r} is not a task type of the cluster"
            f" ({', '.join(cluster)})"
        )
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ConfigError(f"TF_CONFIG task.index: {index!r} is not a non-negative integer")
    if index >= len(cluster[task_type]):
        raise ConfigError(
            f"TF_CONFIG task.index: {index} is not below the {len(cluster[task_type])}"
            f" {task_type!r} task(s) of cluster.{task_type}"
        )
    return config
