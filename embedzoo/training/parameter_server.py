"""``fit`` under ``ParameterServerStrategy``: asynchronous training through a ``ClusterCoordinator``.

Keras 3.15's ``Model.fit`` has no parameter-server path, so ``training.fit`` trains these runs
here, as TensorFlow's parameter-server guide does: this process is the coordinator (the
``chief`` task of ``TF_CONFIG``); the model's variables (and the optimizer's slots, colocated
with them) live on the ``ps`` tasks, round-robin, and a table built with ``shards=k``
(:class:`embedzoo.core.layers.Embedding`) is ``k`` variables spread over them; the ``worker``
tasks run the training steps the coordinator schedules.

What is the same as single-device training: the model's spec pipeline, its per-example loss and
``add_loss`` penalties, the row-wise optimizer (each step a sparse update of the rows it read),
Keras callbacks (progress bar, History, early stopping, NaN guard), checkpoints (written by the
coordinator) and the ``(seed, epoch)`` stream of global batches. What differs, by design of
asynchronous parameter-server training: each step is one whole global batch on one worker
(worker ``w`` of ``n`` reads batches ``w, w + n, …`` of every epoch, gathering only its rows,
``pipelines.WorkerBatches``), and steps of different workers overlap, so a run is not bit-equal
to a single-device one; its quality is (tests/training/test_parameter_server.py).

Faults: a lost worker is tolerated by the coordinator (its steps are re-run on the others); a
lost parameter server stops training with ``WorkerLostError`` naming it, and the job restarts
from the last checkpoint.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import WorkerLostError
from embedzoo.training import pipelines
from embedzoo.training.callbacks import EpochTimer
from embedzoo.training.checkpoints import Checkpoints
from embedzoo.training.loop import LOST_TASK_ERRORS, fresh_metrics, lost_task, per_example_loss

#: Steps between two reads of the epoch's running loss for the progress bar (one RPC each).
LOSS_READ_EVERY = 16


def is_parameter_server(strategy: tf.distribute.Strategy) -> bool:
    """True under ``tf.distribute.ParameterServerStrategy``."""
    return isinstance(strategy, tf.distribute.ParameterServerStrategy)


def cluster_tasks(job: str) -> int:
    """How many ``job`` tasks (``"worker"``, ``"ps"``) the cluster this process is connected to has."""
    prefix = f"/job:{job}/"
    return len(
        {
            d.name.split("/device:")[0]
            for d in tf.config.list_logical_devices()
            if d.name.startswith(prefix)
        }
    )


def coordinator_of(strategy) -> tf.distribute.coordinator.ClusterCoordinator:
    """The strategy's ``ClusterCoordinator`` (TensorFlow keeps one per strategy)."""
    return tf.distribute.coordinator.ClusterCoordinator(strategy)


def parameter_server_fit(
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
    """Trains ``model`` under its parameter-server strategy; see the module docstring."""
    strategy = model.distribute_strategy
    coordinator = coordinator_of(strategy)
    workers = cluster_tasks("worker")
    spec = model.training_spec()
    loss_of = per_example_loss(spec.loss)

    with strategy.scope():
        # Layers built on their first call (dense towers) must exist before the steps run.
        sample = spec.pipeline(model, train, batch_size=2, shuffle=False, seed=seed)
        x0, *_ = next(iter(sample.take(1)))
        model(x0, training=False)
        _, steps = pipelines.training_dataset(model, train, batch_size, seed=seed, epochs=1)
        compile_fn(steps)
        model.optimizer.build(model.trainable_variables)
        checkpoints = (
            Checkpoints(model, checkpoint_dir, strategy) if checkpoint_dir is not None else None
        )
    first_epoch = checkpoints.restore() if checkpoints is not None else 0

    def dataset_fn(ctx):
        # the spec's pipeline as training_dataset calls it (spec read outside: its metrics are
        # variables, which a dataset function may not create)
        extra = {"first_epoch": int(first_epoch)} if first_epoch else {}
        ds = spec.pipeline(
            model,
            train,
            batch_size=batch_size,
            shuffle=True,
            seed=seed,
            epochs=epochs,
            shard=pipelines.WorkerBatches(max(1, workers)),
            **extra,
        )
        return ds.repeat()

    def replica_step(batch):
        x, y, w = keras.utils.unpack_x_y_sample_weight(batch)
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per = tf.cast(loss_of(y, pred), tf.float32)
            if w is not None:
                per = per * tf.cast(tf.reshape(w, tf.shape(per)), tf.float32)
            count = tf.cast(tf.size(per), tf.float32)
            penalty = tf.cast(tf.add_n(model.losses), tf.float32) if model.losses else 0.0
            loss = tf.reduce_sum(per) / tf.maximum(count, 1.0) + penalty
        for metric in train_metrics:
            metric.update_state(y, pred, sample_weight=w)
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)
        return tf.reduce_sum(per), count, tf.convert_to_tensor(penalty, tf.float32)

    with strategy.scope():
        # [loss sum, examples, penalty sum, steps] of the epoch, on a parameter server: steps
        # add to it and return nothing, because a step's return value lives on its worker and
        # is lost with it (a lost worker would stop the run at the fetch)
        totals = tf.Variable(tf.zeros([4], tf.float64), trainable=False, name="epoch_totals")
        train_metrics = fresh_metrics(spec.metrics)  # their variables live on the ps too

    @tf.function
    def train_step(iterator):
        s, n, p = strategy.run(replica_step, args=(next(iterator),))
        s = strategy.reduce("SUM", s, axis=None)
        n = strategy.reduce("SUM", n, axis=None)
        p = strategy.reduce("MEAN", p, axis=None)
        totals.assign_add(tf.cast(tf.stack([s, n, p, 1.0]), tf.float64))

    def epoch_logs() -> dict:
        """``{"loss": …}`` of the epoch's finished steps (``{}`` before the first)."""
        loss_sum, examples, penalty, done = (float(v) for v in totals.numpy())
        if not done:
            return {}
        return {"loss": loss_sum / max(examples, 1.0) + penalty / done}

    # Validation runs on the coordinator, reading the variables from the parameter servers.
    val_ds = None
    val_metrics = fresh_metrics(spec.metrics)
    if validation is not None:
        build = spec.validation_pipeline or spec.pipeline
        val_ds = build(model, validation, batch_size=max(batch_size, 65536), shuffle=False, seed=0)

    @tf.function
    def eval_batch(batch):
        x, y, w = keras.utils.unpack_x_y_sample_weight(batch)
        pred = model(x, training=False)
        per = tf.cast(loss_of(y, pred), tf.float32)
        if w is not None:
            per = per * tf.cast(tf.reshape(w, tf.shape(per)), tf.float32)
        for metric in val_metrics:
            metric.update_state(y, pred, sample_weight=w)
        penalty = tf.cast(tf.add_n(model.losses), tf.float32) if model.losses else 0.0
        return tf.reduce_sum(per), tf.cast(tf.size(per), tf.float32), penalty

    verbose = 1 if verbose == "auto" else int(verbose)
    history = keras.callbacks.History()
    cbs = [keras.callbacks.TerminateOnNaN(), EpochTimer(), *spec.callbacks, *callbacks]
    if log_dir is not None:
        cbs.append(keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)))
    if early_stopping:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=int(early_stopping), restore_best_weights=True
            )
        )
    callback_list = keras.callbacks.CallbackList(
        [*cbs, history],
        add_progbar=bool(verbose),
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )

    def train_epoch(epoch, iterator) -> bool:
        callback_list.on_epoch_begin(epoch)
        totals.assign(tf.zeros([4], tf.float64))
        for metric in train_metrics:
            metric.reset_state()
        logs = {}
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            # queued to whichever worker is free (schedule blocks while the queue is full)
            coordinator.schedule(train_step, args=(iterator,))
            if step % LOSS_READ_EVERY == LOSS_READ_EVERY - 1:
                logs = epoch_logs()  # the steps finished so far
            callback_list.on_train_batch_end(step, logs)
        coordinator.join()
        logs = epoch_logs()
        logs.update({m.name: float(m.result()) for m in train_metrics})
        if val_ds is not None:
            for metric in val_metrics:
                metric.reset_state()
            v_sum = v_n = v_penalty = 0.0
            batches = 0
            for batch in val_ds:
                s, n, p = eval_batch(batch)
                v_sum, v_n, v_penalty = v_sum + float(s), v_n + float(n), v_penalty + float(p)
                batches += 1
            logs["val_loss"] = v_sum / max(v_n, 1.0) + v_penalty / max(batches, 1)
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
            per_worker = coordinator.create_per_worker_dataset(
                lambda: strategy.distribute_datasets_from_function(dataset_fn)
            )
            iterator = iter(per_worker)
        for epoch in range(first_epoch, epochs):
            if not train_epoch(epoch, iterator):
                break
    except LOST_TASK_ERRORS as e:
        raise WorkerLostError(
            f"parameter-server training of {model.name} stopped in epoch {epoch + 1}:"
            f" {lost_task(e)}. Restart every task with the same command; with a checkpoint"
            " directory (--resume) training resumes from the last finished epoch."
        ) from e
    callback_list.on_train_end()
    return history
