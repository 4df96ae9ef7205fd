"""Fine-tuning: continue training a zoo model on new data, growing its vocabularies.

New users and items get fresh rows appended to every table indexed by user or item (their
initialiser's values); every known id keeps its learned row and its index. The grown model is a
new instance of the same class with the same configuration; the model itself says which weights
are indexed by which vocabulary (``Embedding(side=...)`` tables and ``add_row_weight``), so this
needs no per-model code. A model trained by an external engine may name a ``fine_tune``
function in its ``TrainingSpec`` instead.

Optimizer state: fine-tuning compiles a fresh optimizer (``.keras`` files do not carry one), so
Adam's moments start at zero and the model's learning-rate schedule restarts over the
fine-tuning epochs. With the row-wise optimizers only the rows the new data touches move; with
``freeze_old=True`` only the new rows train: the rows of known ids get no gradient and every
other weight (dense layers, global terms) is frozen, so predictions for known (user, item)
pairs do not change at all — new users and items are folded in around the learned model — and
a rating model's unknown-id rows stay as they were; without it they are refitted from the new
data (``ZooModel.fit_unknown_rows``).
"""

from __future__ import annotations

import keras
import numpy as np

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError


def grow(model, interactions: Interactions):
    """A copy of ``model`` whose vocabularies also hold the ids of ``interactions``.

    The model says which weights are indexed by which vocabulary (``model.side_of``): those
    get new rows; every other weight is copied as it is.

    Raises:
        DataError: ids of the wrong type for the model's vocabularies (e.g. strings for int ids).
        ConfigError: a weight changes shape although no vocabulary indexes it.
    """
    users = model.users.extend(interactions.frame["user"].to_numpy())
    items = model.items.extend(interactions.frame["item"].to_numpy())
    return grow_to(model, users, items)


def grow_to(model, users, items):
    """A copy of ``model`` with the vocabularies ``users`` and ``items`` (extensions of its own,
    known ids first), new rows initialised, every other weight copied (see :func:`grow`)."""
    config = dict(
        model.get_config(), user_vocabulary=users.to_list(), item_vocabulary=items.to_list()
    )
    with model.distribute_strategy.scope():
        grown = type(model).from_config(config)
    old_weights, new_weights = model.weights, grown.weights
    if [w.path for w in old_weights] != [w.path for w in new_weights]:
        raise ConfigError(
            f"cannot grow {model.name}: its weights depend on more than its vocabularies"
        )
    # Tables are copied whole: a sharded table's row ranges move when its rows grow.
    copied = set()
    old_tables, new_tables = model.indexed_tables(), grown.indexed_tables()
    for side in old_tables:
        for old, new in zip(old_tables[side], new_tables[side], strict=True):
            rows = keras.ops.convert_to_numpy(new.table())
            rows[: old.input_dim] = keras.ops.convert_to_numpy(old.table())
            new.assign_table(rows)
            copied.update(id(v) for v in new.table_variables())
    for old, new in zip(old_weights, new_weights, strict=True):
        if id(new) in copied:
            continue
        value = keras.ops.convert_to_numpy(old)
        if tuple(old.shape) == tuple(new.shape):
            new.assign(value)
        elif old.shape[1:] == new.shape[1:] and model.side_of(old) is not None:
            rows = keras.ops.convert_to_numpy(new)
            rows[: old.shape[0]] = value
            new.assign(rows)
        else:
            raise ConfigError(f"cannot grow weight {old.path}: {old.shape} → {new.shape}")
    grown.seen_items.load_own_variables(
        {"indptr": model.seen_items.indptr, "indices": model.seen_items.indices}
    )
    grown.seen_items.grown(users.size)
    return grown


def _freeze_old(model, n_users: int, n_items: int) -> tuple[list, list]:
    """Known rows of user/item tables get no gradient; every other trainable weight is frozen."""
    tables = [layer for layers in model.indexed_tables().values() for layer in layers]
    for layer in tables:
        layer.frozen_rows = n_users if layer.side == "user" else n_items
    growing = {id(v) for layer in tables for v in layer.table_variables()}
    variables = []
    for variable in model.trainable_variables:
        if id(variable) not in growing:
            variable.trainable = False
            variables.append(variable)
    return tables, variables


def fine_tune(
    model,
    new_interactions: Interactions,
    *,
    validation: Interactions | None = None,
    freeze_old: bool = False,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    verbose="auto",
):
    """Fine-tunes ``model`` on ``new_interactions``; returns ``(grown_model, history)``.

    Args:
        model: a trained zoo model (e.g. a preset from ``zoo.load``).
        new_interactions: the new data; unseen users and items get new rows.
        validation: optional held-out data for per-epoch validation metrics.
        freeze_old: train only the new rows; known rows and all other weights stay fixed.
        epochs, batch_size, learning_rate: default to the model's ``fit_defaults``.
        seed: seed of the new rows' initialisation and of the shuffles.
        verbose: Keras progress setting.

    Example:
        >>> from embedzoo import zoo
        >>> model = zoo.load("dot_bias_mf_movielens_100k")
        >>> tuned, history = zoo.fine_tune(model, new_ratings)       # doctest: +SKIP
    """
    from embedzoo import training

    spec = model.training_spec()
    if not spec.trained_by_keras:
        if spec.fine_tune is not None:
            return spec.fine_tune(new_interactions, validation=validation, epochs=epochs, seed=seed)
        raise ConfigError(
            f"{model.zoo_name} is trained by an external engine and cannot be fine-tuned; retrain it"
        )
    keras.utils.set_random_seed(seed)
    n_users, n_items = model.users.size, model.items.size
    old_seen = model.seen_items.pairs()
    old_popularity = keras.ops.convert_to_numpy(model.item_popularity)
    grown = grow(model, new_interactions)
    frozen, fixed = _freeze_old(grown, n_users, n_items) if freeze_old else ([], [])
    # row 0 (unknown ids) belongs to the old model: a rating model's fit refits it from the
    # data it just saw, which freeze_old must not let change old answers
    unknown_rows = [(t, t.table()[0].numpy()) for t in frozen]
    try:
        history = training.fit(
            grown,
            new_interactions,
            validation=validation,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            verbose=verbose,
        )
    finally:
        for layer, row in unknown_rows:
            table = layer.table().numpy()
            table[0] = row
            layer.assign_table(table)
        for layer in frozen:
            layer.frozen_rows = 0
        for variable in fixed:
            variable.trainable = True
    _merge_memory(grown, old_seen, old_popularity, n_users, n_items)
    grown.merge_remembered(model, n_users, n_items)
    return grown, history


def _merge_memory(model, old_seen, old_popularity, n_users: int, n_items: int) -> None:
    """Seen items and popularity of the grown model cover the old and the new data."""
    old_users, old_items = old_seen
    new_users, new_items = model.seen_items.pairs()
    model.seen_items.set(
        np.concatenate([old_users, new_users]),
        np.concatenate([old_items, new_items]),
        num_users=model.users.size,
    )
    popularity = keras.ops.convert_to_numpy(model.item_popularity)
    popularity[:n_items] += old_popularity
    model.item_popularity.assign(popularity)
    model.clear_graph_functions()
