"""``fit``'s own training loop on ``tf.distribute``, for the strategies Keras 3 ``fit`` cannot run.

Keras 3.15's ``Model.fit`` stops before the first step under ``MultiWorkerMirroredStrategy``
(its symbolic build converts the distributed batch to a tensor) and has no parameter-server
path. ``training.fit`` therefore trains those runs here, on the same pieces as the Keras path:
the model's spec pipeline (each worker gathers only its own slice of every global batch,
``pipelines.index_batches(shard=...)``), its per-example loss and ``add_loss`` penalties, the
row-wise optimizer (Keras all-reduces the gradients, ``IndexedSlices`` included), Keras
callbacks (progress bar, History, early stopping, NaN guard) and metrics.

One step is the single-device step on the same global batch: each replica sums its examples'
losses and divides by the global example count (all-reduced, so an uneven last batch is exact),
adds its rows' share of the penalties (batch means over the input rows), and the summed
gradients are those of the global mean loss. Checkpoints are ``training.checkpoints`` (model, optimizer, epoch), one
directory per worker; on resume the workers agree on the last epoch they all finished.
"""

from __future__ import annotations

import hashlib
import os
import re

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import WorkerLostError
from embedzoo.training import pipelines
from embedzoo.training.callbacks import EpochTimer
from embedzoo.training.checkpoints import Checkpoints, worker_info  # noqa: F401 (re-exported)

#: What a lost peer raises in a collective or remote op (its heartbeats stopped, its channel
#: closed, or the op was aborted because of it).
LOST_TASK_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
)


def needs_own_loop(strategy: tf.distribute.Strategy) -> bool:
    """True for strategies Keras 3 ``fit`` cannot train under (multi-worker, parameter servers)."""
    return isinstance(
        strategy,
        (tf.distribute.MultiWorkerMirroredStrategy, tf.distribute.ParameterServerStrategy),
    )


def weights_fingerprint(model) -> str:
    """A short sha256 of every weight's bytes: equal on workers that hold the same model."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()[:16]


def lost_task(error: tf.errors.OpError) -> str:
    r"""Which task an error from a lost peer names, in words.

    Example:
        >>> import tensorflow as tf
        >>> lost_task(tf.errors.UnavailableError(None, None, "Error reported from"
        ...     " /job:worker/replica:0/task:0: The following tasks are unhealthy (stopped sending"
        ...     " heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed."))
        'task /job:worker/replica:0/task:1 stopped (no heartbeats)'
        >>> lost_task(tf.errors.UnavailableError(None, None, "{{function_node __wrapped__"
        ...     "CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:CPU:0}} Collective"
        ...     " ops is aborted by: recvmsg:Connection reset by peer\nAdditional GRPC error"
        ...     " information from remote target /job:worker/replica:0/task:1 while calling"
        ...     " /tensorflow.WorkerService/RecvBuf:"))
        'task /job:worker/replica:0/task:1 stopped'
    """
    message = error.message or ""
    if "unhealthy" in message:  # the tasks listed after it, not the one reporting them
        message = message.split("unhealthy", 1)[1].split("The tasks have crashed", 1)[0]
    elif "remote target" in message:  # a collective's peer that reset the connection
        message = message.split("remote target", 1)[1].split("while calling", 1)[0]
    tasks = sorted(set(re.findall(r"/job:\w+/replica:\d+/task:\d+", message)))
    if tasks:
        how = " (no heartbeats)" if "heartbeat" in message else ""
        return f"task {', '.join(tasks)} stopped{how}"
    return f"a task of the cluster is unreachable ({type(error).__name__})"


def per_example_loss(loss):
    """A function ``(y_true, y_pred) -> [n]`` per-example losses from a Keras loss or name."""
    if isinstance(loss, keras.losses.Loss):
        return loss.call
    fn = keras.losses.get(loss)
    if isinstance(fn, keras.losses.Loss):
        return fn.call
    return fn


def fresh_metrics(metrics) -> list:
    """New metric objects (created under the current strategy's scope) like ``metrics``."""
    out = []
    for metric in metrics:
        if isinstance(metric, str):
            out.append(keras.metrics.get(metric))
        else:
            out.append(metric.__class__.from_config(metric.get_config()))
    return out


def _shard_of(ctx: tf.distribute.InputContext) -> tuple[tuple[int, ...], int]:
    local = ctx.num_replicas_in_sync // ctx.num_input_pipelines
    first = ctx.input_pipeline_id * local
    return tuple(range(first, first + local)), ctx.num_replicas_in_sync


def distributed_fit(
    model,
    train: Interactions,
    validation: Interactions | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    verbose,
    checkpoint_dir,
    early_stopping: int | None,
    callbacks,
    log_dir,
    compile_fn,
) -> keras.callbacks.History:
    """Trains ``model`` under its multi-worker strategy; see the module docstring.

    ``compile_fn(steps_per_epoch)`` compiles the model (optimizer, schedule) in the strategy's
    scope; the other arguments are ``training.fit``'s.
    """
    strategy = model.distribute_strategy
    spec = model.training_spec()
    replicas = strategy.num_replicas_in_sync
    _, _, chief = worker_info(strategy)
    loss_of = per_example_loss(spec.loss)
    steps_box = {}

    with strategy.scope():
        # Layers built on their first call (dense towers) must exist before the replicated
        # step: one eager call on a few training rows builds them.
        sample = spec.pipeline(model, train, batch_size=2, shuffle=False, seed=seed)
        x0, *_ = next(iter(sample.take(1)))
        model(x0, training=False)
        # The steps per epoch come from the same pipeline the workers will read.
        _, steps = pipelines.training_dataset(model, train, batch_size, seed=seed, epochs=1)
        compile_fn(steps)
        model.optimizer.build(model.trainable_variables)
        train_metrics = fresh_metrics(spec.metrics)
        val_metrics = fresh_metrics(spec.metrics)
        checkpoints = (
            Checkpoints(model, checkpoint_dir, strategy) if checkpoint_dir is not None else None
        )
    first_epoch = checkpoints.restore() if checkpoints is not None else 0

    def train_fn(ctx):
        ds, steps_box["train"] = pipelines.training_dataset(
            model,
            train,
            batch_size,
            seed=seed,
            epochs=epochs,
            first_epoch=first_epoch,
            shard=_shard_of(ctx),
        )
        return ds

    def replica_batch(batch, training, metrics):
        x, y, w = keras.utils.unpack_x_y_sample_weight(batch)
        pred = model(x, training=training)
        per = tf.cast(loss_of(y, pred), tf.float32)
        if w is not None:
            per = per * tf.cast(tf.reshape(w, tf.shape(per)), tf.float32)
        count = tf.cast(tf.size(per), tf.float32)
        for metric in metrics:
            metric.update_state(y, pred, sample_weight=w)
        return pred, per, count

    def train_replica(batch):
        ctx = tf.distribute.get_replica_context()
        x = keras.utils.unpack_x_y_sample_weight(batch)[0]
        rows = tf.cast(tf.shape(tf.nest.flatten(x)[0])[0], tf.float32)
        with tf.GradientTape() as tape:
            _, per, count = replica_batch(batch, True, train_metrics)
            total, total_rows = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [count, rows])
            penalty = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
            penalty = tf.cast(penalty, tf.float32)
            # penalties are batch means over the input rows (ZooModel.row_penalty): each
            # replica adds its share of the global batch's rows
            share = rows / tf.maximum(total_rows, 1.0)
            loss = tf.reduce_sum(per) / tf.maximum(total, 1.0) + penalty * share
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)
        return tf.reduce_sum(per), count, penalty

    @tf.function
    def train_step(iterator):
        s, n, p = strategy.run(train_replica, args=(next(iterator),))
        return (
            strategy.reduce("SUM", s, axis=None),
            strategy.reduce("SUM", n, axis=None),
            strategy.reduce("MEAN", p, axis=None),
        )

    def eval_replica(batch):
        _, per, count = replica_batch(batch, False, val_metrics)
        penalty = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
        return tf.reduce_sum(per), count, tf.cast(penalty, tf.float32)

    @tf.function
    def eval_step(iterator):
        s, n, p = strategy.run(eval_replica, args=(next(iterator),))
        return (
            strategy.reduce("SUM", s, axis=None),
            strategy.reduce("SUM", n, axis=None),
            strategy.reduce("MEAN", p, axis=None),
        )

    val_dist, val_steps = None, 0
    if validation is not None:
        build = spec.validation_pipeline or spec.pipeline
        val_batch = max(batch_size, 65536)
        val_batch -= val_batch % replicas

        def val_fn(ctx):
            ds = build(
                model, validation, batch_size=val_batch, shuffle=False, seed=0, shard=_shard_of(ctx)
            )
            steps_box["val"] = int(ds.cardinality()) // len(_shard_of(ctx)[0])
            return ds

        val_dist = strategy.distribute_datasets_from_function(val_fn)
        val_steps = steps_box["val"]

    verbose = 1 if verbose == "auto" else int(verbose)
    history = keras.callbacks.History()
    cbs = [keras.callbacks.TerminateOnNaN(), EpochTimer(), *spec.callbacks, *callbacks]
    if log_dir is not None and chief:
        cbs.append(keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)))
    if early_stopping:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=int(early_stopping), restore_best_weights=True
            )
        )
    callback_list = keras.callbacks.CallbackList(
        [*cbs, history],
        add_progbar=bool(verbose) and chief,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )

    def train_epoch(epoch, iterator) -> bool:
        """One epoch with its callbacks; False when a callback stopped training."""
        for metric in train_metrics:
            metric.reset_state()
        callback_list.on_epoch_begin(epoch)
        loss_sum = examples = penalty = 0.0
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            s, n, p = train_step(iterator)
            loss_sum, examples, penalty = loss_sum + float(s), examples + float(n), float(p)
            callback_list.on_train_batch_end(step, {"loss": loss_sum / max(examples, 1) + penalty})
            if model.stop_training:
                break
        logs = {"loss": loss_sum / max(examples, 1.0) + penalty}
        logs.update({m.name: float(m.result()) for m in train_metrics})
        if val_dist is not None:
            for metric in val_metrics:
                metric.reset_state()
            val_iterator = iter(val_dist)
            v_sum = v_n = v_penalty = 0.0
            for _ in range(val_steps):
                s, n, p = eval_step(val_iterator)
                v_sum, v_n, v_penalty = v_sum + float(s), v_n + float(n), v_penalty + float(p)
            logs["val_loss"] = v_sum / max(v_n, 1.0) + v_penalty / max(val_steps, 1)
            logs.update({f"val_{m.name}": float(m.result()) for m in val_metrics})
        callback_list.on_epoch_end(epoch, logs)
        if checkpoints is not None:
            checkpoints.save(epoch + 1)
        return not model.stop_training

    model.stop_training = False
    callback_list.on_train_begin()
    epoch = first_epoch
    try:
        if first_epoch < epochs:
            iterator = iter(strategy.distribute_datasets_from_function(train_fn))
        for epoch in range(first_epoch, epochs):
            if not train_epoch(epoch, iterator):
                break
    except LOST_TASK_ERRORS as e:
        raise WorkerLostError(
            f"distributed training of {model.name} stopped in epoch {epoch + 1}:"
            f" {lost_task(e)}. Restart every task with the same command; with a checkpoint"
            " directory (--resume) training resumes from the last epoch all workers finished."
        ) from e
    callback_list.on_train_end()
    return history
