"""``fit``: train any zoo model on Interactions with fast, seeded defaults.

Keras ``Model.fit`` does the work (progress bar, callbacks, ``tf.distribute``); this function
reads the model's ``TrainingSpec`` (pipeline, loss, metrics, callbacks, defaults, engine) and
adds the row-wise optimizer, ``steps_per_execution`` and the callbacks (TensorBoard,
checkpoints with exact resume, early stopping, NaN guard). Under a multi-worker strategy, which
Keras 3 ``fit`` cannot run, :mod:`embedzoo.training.loop` trains with the same pieces.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.training import loop, optimizers, parameter_server, pipelines
from embedzoo.training.callbacks import DivergenceGuard, EpochTimer
from embedzoo.training.checkpoints import Checkpoints, SaveEachEpoch

#: Several steps per graph call amortise the Python overhead of small steps. XLA stays off by
#: default (``TrainingSpec`` defaults): ``tf.unique`` and sparse scatters in the row-wise update
#: are slower under XLA on CPU; a model may ask for ``"jit_compile": "auto"``.
STEPS_PER_EXECUTION = 16


def resolve_jit_compile(model: keras.Model, optimizer, jit_compile) -> bool:
    """``jit_compile`` as a bool; ``"auto"`` is True when every trainable table is small (and
    none is split over shards).

    Small: at most ``optimizers.DENSE_MAX_ELEMENTS`` elements, so the row-wise optimizer
    updates it with its dense masked path, which XLA fuses (no ``tf.unique``). A model with any
    big table keeps the O(batch) sparse path and no XLA (``docs/benchmarks.md`` has the
    measurements).

    Example:
        >>> from embedzoo import zoo
        >>> from embedzoo.training import optimizers
        >>> model = zoo.build("dot_bias_mf", user_vocabulary=[1, 2], item_vocabulary=[5])
        >>> resolve_jit_compile(model, optimizers.RowwiseAdam(), "auto")
        True
        >>> resolve_jit_compile(model, keras.optimizers.Adam(), "auto")
        False
    """
    if jit_compile != "auto":
        return bool(jit_compile)
    if not isinstance(optimizer, (optimizers.RowwiseAdam, optimizers.RowwiseAdagrad)):
        return False
    if getattr(model, "table_shards", 1) > 1:
        # a lookup over shards partitions and stitches the ids: a long XLA compile (40 s for a
        # tiny table here) for tables that are split because they are big
        return False
    sizes = [optimizers.table_size(v) for v in model.trainable_variables if len(v.shape) == 2]
    return bool(sizes) and max(sizes) <= optimizers.DENSE_MAX_ELEMENTS


SCHEDULES = ("constant", "warmup_cosine")


def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int):
    """``constant`` or ``warmup_cosine``: linear warm-up from lr/25 over the first 10% of the
    steps, then cosine decay to 0 (a one-cycle-like policy)."""
    if schedule == "constant" or total_steps < 10:
        return learning_rate
    if schedule != "warmup_cosine":
        raise ConfigError(f"unknown schedule {schedule!r}; choose from {SCHEDULES}")
    warmup = max(1, total_steps // 10)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 25,
        decay_steps=total_steps - warmup,
        alpha=0.0,
        warmup_target=learning_rate,
        warmup_steps=warmup,
    )


def compile_model(
    model: keras.Model,
    optimizer=None,
    learning_rate: float | None = None,
    steps_per_execution: int | None = None,
    jit_compile: bool | str | None = None,
    schedule: str = "constant",
    total_steps: int = 0,
    steps_per_epoch: int | None = None,
) -> keras.Model:
    """Compiles ``model`` with its spec's loss and metrics and a row-wise optimizer.

    ``jit_compile=None`` takes the spec's default; ``"auto"`` is resolved by
    ``resolve_jit_compile``. Under XLA the row-wise optimizers update small tables with their
    dense masked path. Zoo models hold no Keras lookup layer (their id lookups live outside the
    layer tree), so Keras accepts ``jit_compile=True`` through ``compile``.
    """
    spec = model.training_spec()
    settings = spec.fit_settings()
    lr = learning_rate if learning_rate is not None else settings["learning_rate"]
    if lr is not None and not isinstance(optimizer, keras.optimizers.Optimizer):
        lr = learning_rate_schedule(lr, schedule, total_steps)
    opt = optimizers.get(optimizer or settings["optimizer"], lr)
    jit = resolve_jit_compile(
        model, opt, settings["jit_compile"] if jit_compile is None else jit_compile
    )
    steps = steps_per_execution or STEPS_PER_EXECUTION
    if steps_per_epoch:
        # never more steps per call than an epoch has: Keras would run the next epoch's
        # batches inside this one
        steps = max(1, min(steps, int(steps_per_epoch)))
    if model.distribute_strategy.num_replicas_in_sync > 1:
        # Keras's multi-step loop (steps_per_execution > 1) fails under MirroredStrategy with
        # more than one replica ("You must feed a value for placeholder tensor ..."; a plain
        # Dense model fails the same way), and one XLA cluster cannot reach the variables of
        # the other replicas: one step per call, no XLA.
        if steps_per_execution not in (None, 1):
            raise ConfigError(
                f"steps_per_execution={steps_per_execution} does not work with "
                f"{model.distribute_strategy.num_replicas_in_sync} replicas (a Keras limitation); use 1"
            )
        steps, jit = 1, False
    if jit and isinstance(opt, (optimizers.RowwiseAdam, optimizers.RowwiseAdagrad)):
        # tf.unique is slow under XLA on CPU; the dense masked update is the same math.
        opt.dense_max_elements = optimizers.DENSE_MAX_ELEMENTS
    model.compile(
        optimizer=opt,
        loss=spec.loss,
        metrics=list(spec.metrics),
        steps_per_execution=steps,
        jit_compile=jit,
    )
    return model


#: Training rows whose predictions the divergence guard checks at each epoch end.
GUARD_SAMPLE_ROWS = 2048


def divergence_guard(model, train: Interactions) -> DivergenceGuard:
    """The guard for ``model``: loss growth always; the output range too for rating models
    (checked on the first ``GUARD_SAMPLE_ROWS`` known training rows)."""
    if model.training_spec().task != "rating" or "rating" not in train.frame.columns:
        return DivergenceGuard()
    users, items = pipelines.encode(model, train)
    known = np.flatnonzero((users > 0) & (items > 0))[:GUARD_SAMPLE_ROWS]
    ratings = train.frame["rating"].to_numpy()
    if not len(known) or not np.isfinite(ratings).all():
        return DivergenceGuard()
    sample = {"user": tf.constant(users[known]), "item": tf.constant(items[known])}
    return DivergenceGuard(sample=sample, low=float(ratings.min()), high=float(ratings.max()))


def fit(
    model: keras.Model,
    train: Interactions,
    validation: Interactions | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    optimizer=None,
    learning_rate: float | None = None,
    schedule: str | None = None,
    seed: int = 0,
    verbose="auto",
    log_dir=None,
    checkpoint_dir=None,
    early_stopping: int | None = None,
    steps_per_execution: int | None = None,
    jit_compile: bool | str | None = None,
    callbacks=(),
    strategy=None,
) -> keras.callbacks.History:
    """Trains ``model`` on ``train``; returns the Keras ``History``.

    Args:
        model: a zoo model (built with ``zoo.build``).
        train: training interactions.
        validation: optional held-out interactions (validation loss/metrics every epoch).
        epochs, batch_size, optimizer, learning_rate: default to the model's
            ``training_spec().defaults``.
        schedule: learning-rate schedule, ``constant`` or ``warmup_cosine`` (default: the
            model's; schedules span this call's epochs).
        seed: seeds the per-epoch shuffles and negative samples (the pipelines' own stateless
            streams; the caller's global random state is left alone). With
            ``zoo.build(..., seed=s)`` the same seed on CPU gives the same weights.
        verbose: Keras progress bar setting ("auto", 0, 1, 2).
        log_dir: write TensorBoard logs there.
        checkpoint_dir: save the training state (weights, optimizer moments, finished epochs)
            there at each epoch end; a later call with the same directory resumes after the last
            finished epoch on the same shuffle and sampling stream, so it ends with the weights
            of an uninterrupted run (:mod:`embedzoo.training.checkpoints`). A finished run
            trains nothing more and returns an empty History.
        early_stopping: patience in epochs on ``val_loss`` (needs ``validation``); the best
            weights are restored.
        steps_per_execution, jit_compile: execution settings (see module constants);
            ``jit_compile="auto"`` is decided by ``resolve_jit_compile``.
        callbacks: more Keras callbacks.
        strategy: the ``tf.distribute.Strategy`` (or its name for ``strategies.get``) to train
            under. The model's variables must have been created under it
            (``zoo.build(..., strategy=...)``); ``None`` trains in the model's own strategy.

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> data = datasets.load_ml100k()                             # doctest: +SKIP
        >>> train, test = datasets.random_split(data, 0.2, seed=42)
        >>> model = zoo.build("dot_bias_mf", train)
        >>> training.fit(model, train, validation=test)               # doctest: +SKIP
        <keras.src.callbacks.history.History object at ...>
    """
    spec = model.training_spec()
    if strategy is not None:
        from embedzoo.training import strategies

        wanted = strategies.get(strategy) if isinstance(strategy, str) else strategy
        if model.distribute_strategy is not wanted:
            raise ConfigError(
                f"{model.name} was built under {type(model.distribute_strategy).__name__}, not the"
                f" {type(wanted).__name__} given to fit: build it with zoo.build(..., strategy=...)"
            )
    if len(train) == 0 and spec.trained_by_keras:
        raise DataError("cannot fit on empty training data")
    settings = spec.fit_settings()
    epochs = int(epochs if epochs is not None else settings["epochs"])
    batch_size = int(batch_size if batch_size is not None else settings["batch_size"])
    if epochs < 1 or batch_size < 1:
        raise ConfigError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    if early_stopping and validation is None:
        raise ConfigError("early_stopping needs validation data")
    replicas = model.distribute_strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ConfigError(
            f"batch_size {batch_size} is the global batch: it must divide by the {replicas} replicas"
            f" of {type(model.distribute_strategy).__name__} (e.g. {batch_size - batch_size % replicas})"
        )
    model.remember(train)
    if not spec.trained_by_keras:
        # Models trained by an external engine (gensim) fill their own weights; they report
        # per-epoch losses through the same Keras callbacks and return a History.
        extra = (
            [keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir))] if log_dir is not None else []
        )
        if not model.compiled:
            model.optimizer = None  # never compiled; Keras callbacks (TensorBoard) read it
        return spec.engine(
            train,
            validation=validation,
            epochs=epochs,
            seed=seed,
            verbose=verbose,
            callbacks=[EpochTimer(), *extra, *callbacks],
        )
    schedule = schedule or settings["schedule"]
    needs_compile = optimizer is not None or learning_rate is not None or not model.compiled
    guard = divergence_guard(model, train)
    if loop.needs_own_loop(model.distribute_strategy):
        # Keras 3 fit cannot train under these strategies; embedzoo's loop reuses the same
        # pipeline, loss, optimizer and callbacks (embedzoo.training.loop).
        run = (
            parameter_server.parameter_server_fit
            if parameter_server.is_parameter_server(model.distribute_strategy)
            else loop.distributed_fit
        )
        history = run(
            model,
            train,
            validation,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            verbose=verbose,
            checkpoint_dir=checkpoint_dir,
            early_stopping=early_stopping,
            callbacks=[guard, *callbacks],
            log_dir=log_dir,
            compile_fn=lambda steps: (
                needs_compile
                and compile_model(
                    model,
                    optimizer,
                    learning_rate,
                    steps_per_execution,
                    jit_compile,
                    schedule=schedule,
                    total_steps=steps * epochs,
                    steps_per_epoch=steps,
                )
            ),
        )
        finish(model, spec, train)
        return history
    checkpoints, first_epoch = None, 0
    with model.distribute_strategy.scope():
        train_ds, steps = pipelines.training_dataset(
            model, train, batch_size, seed=seed, epochs=epochs
        )
        if needs_compile:
            compile_model(
                model,
                optimizer,
                learning_rate,
                steps_per_execution,
                jit_compile,
                schedule=schedule,
                total_steps=steps * epochs,
                steps_per_epoch=steps,
            )
        if checkpoint_dir is not None:
            checkpoints = Checkpoints(model, checkpoint_dir)
            first_epoch = checkpoints.restore()
            if first_epoch >= epochs:  # finished already: nothing left to train
                history = keras.callbacks.History()
                history.set_model(model)
                history.on_train_begin()
                finish(model, spec, train)
                return history
            if first_epoch:  # the remaining epochs, on the stream they would have had
                train_ds, _ = pipelines.training_dataset(
                    model, train, batch_size, seed=seed, epochs=epochs, first_epoch=first_epoch
                )
        val_ds = None
        if validation is not None:
            val_ds = spec.validation_dataset(model, validation, batch_size=max(batch_size, 65536))
    cbs = [keras.callbacks.TerminateOnNaN(), guard, EpochTimer(), *spec.callbacks, *callbacks]
    if log_dir is not None:
        cbs.append(keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)))
    if checkpoints is not None:
        cbs.append(SaveEachEpoch(checkpoints))
    if early_stopping:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=int(early_stopping), restore_best_weights=True
            )
        )
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=steps,
        callbacks=cbs,
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles by index every epoch
    )
    if model.stop_training and any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in cbs):
        losses = history.history.get("loss", [])
        if losses and not all(tf.math.is_finite(loss) for loss in losses):
            raise FloatingPointError(
                f"training of {model.name} stopped: the loss became NaN/inf at epoch {len(losses)};"
                " lower the learning rate or raise the regularisation"
            )
    finish(model, spec, train)
    return history


def finish(model, spec, train: Interactions) -> None:
    """What the model asks for once training ends (``TrainingSpec.after_fit``)."""
    if spec.after_fit is not None:
        with model.distribute_strategy.scope():
            spec.after_fit(train)
