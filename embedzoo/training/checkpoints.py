"""Training checkpoints that resume exactly: model, optimizer state and finished epochs.

``training.fit(..., checkpoint_dir=...)`` saves a ``tf.train.Checkpoint`` at every epoch end
and, when the directory already holds one, restores it and trains the remaining epochs on the
same ``(seed, epoch)`` stream (the pipelines start at ``first_epoch``), so an interrupted run
continues to the weights of an uninterrupted one. Keras's ``BackupAndRestore`` is not used: it
saves the weights without the optimizer's moments and restarts the data stream.

Under a multi-worker strategy every worker keeps its own directory (the chief
``checkpoint_dir``, worker ``i`` ``checkpoint_dir/worker-<i>``) and on resume the workers agree
on the last epoch they all finished.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from embedzoo.errors import ConfigError

#: Checkpoints kept per directory (a process killed mid-save leaves the previous one whole).
CHECKPOINTS_KEPT = 3


def worker_info(strategy: tf.distribute.Strategy) -> tuple[int, int, bool]:
    """``(task index, number of workers, is chief)`` of this process under ``strategy``."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0, 1, True
    if isinstance(strategy, tf.distribute.ParameterServerStrategy):
        # only the coordinator runs embedzoo's code; workers and ps run TensorFlow servers
        return 0, 1, True
    cluster = resolver.cluster_spec().as_dict()
    workers = len(cluster.get("worker", []))
    index = int(resolver.task_id or 0)
    task_type = resolver.task_type
    chief = task_type == "chief" or (
        task_type == "worker" and index == 0 and "chief" not in cluster
    )
    return index, workers, chief


class Checkpoints:
    """A ``tf.train.CheckpointManager`` of a model, its optimizer and its finished epochs.

    The optimizer must exist (the model compiled); its slots are built here so that a restore
    fills them.

    Example:
        >>> from embedzoo.training.checkpoints import Checkpoints
        >>> model.compiled
        True
        >>> ckpt = Checkpoints(model, "ckpt")
        >>> ckpt.restore()          # nothing saved yet: start at epoch 0
        0
        >>> ckpt.save(1); Checkpoints(model, "ckpt").restore()
        1
    """

    def __init__(self, model: keras.Model, directory, strategy=None):
        self.strategy = strategy or model.distribute_strategy
        with self.strategy.scope():
            model.optimizer.build(model.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="finished_epochs")
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, finished_epochs=self.epoch
        )
        index, workers, chief = worker_info(self.strategy)
        directory = Path(directory)
        if not chief:
            directory = directory / f"worker-{index}"
        directory.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.fspath(directory), max_to_keep=CHECKPOINTS_KEPT
        )

    def saved_epochs(self) -> dict[int, str]:
        """``{finished epochs: checkpoint path}`` of the checkpoints kept (``ckpt-<epochs>``)."""
        out = {}
        for path in self.manager.checkpoints:
            tail = path.rsplit("-", 1)[-1]
            if tail.isdigit():
                out[int(tail)] = path
        return out

    def restore(self) -> int:
        """Restores the last epoch this process (every worker) finished; returns it (0: none)."""
        saved = self.saved_epochs()
        local = max(saved) if saved else 0
        agreed = _min_over_workers(self.strategy, local) if self.workers > 1 else local
        if agreed == 0:
            return 0
        if agreed not in saved:
            raise ConfigError(
                f"cannot resume: the workers finished different epochs and this worker keeps no"
                f" checkpoint of epoch {agreed} in {self.manager.directory} (it has"
                f" {sorted(saved)}); remove the checkpoints to start again"
            )
        self.checkpoint.restore(saved[agreed]).assert_existing_objects_matched()
        return agreed

    def save(self, finished_epochs: int) -> None:
        """Saves the state after ``finished_epochs`` epochs."""
        self.epoch.assign(finished_epochs)
        self.manager.save(checkpoint_number=finished_epochs)


class SaveEachEpoch(keras.callbacks.Callback):
    """Keras callback: ``checkpoints.save(epoch + 1)`` at every epoch end."""

    def __init__(self, checkpoints: Checkpoints):
        super().__init__()
        self.checkpoints = checkpoints

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoints.save(epoch + 1)


def _min_over_workers(strategy, value: int) -> int:
    """The minimum of ``value`` over every replica of every worker (a collective: every
    worker must call it)."""

    @tf.function
    def gather():
        def fn():
            ctx = tf.distribute.get_replica_context()
            return ctx.all_gather(tf.constant([value], tf.int64), axis=0)

        return strategy.experimental_local_results(strategy.run(fn))[0]

    return int(np.min(gather().numpy()))
