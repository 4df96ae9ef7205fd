"""``tf.data`` pipelines built from index arrays.

Every epoch draws a fresh permutation of row positions in one op, cuts it into batches and
gathers the columns for each batch: rows are shuffled by index, never by re-shuffling a
dataset of dicts, and no Python runs per batch. Columns live in eager tensors captured by the
pipeline (not graph constants), so tens of millions of rows cost one copy of the columns.
Datasets carry the global batch size; under a ``tf.distribute`` strategy Keras splits them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import DataError

AUTOTUNE = tf.data.AUTOTUNE


def encode(model, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise user and item indices in ``model``'s vocabularies (0 for unknown ids).

    When the model was built from these interactions' vocabularies, their cached indices are
    reused instead of hashing every row again (seconds at 25M rows).
    """
    if model.users is interactions.users or model.users == interactions.users:
        users = interactions.user_index
    else:
        users = model.users.lookup(interactions.frame["user"].to_numpy())
    if model.items is interactions.items or model.items == interactions.items:
        items = interactions.item_index
    else:
        items = model.items.lookup(interactions.frame["item"].to_numpy())
    return users, items


def index_batches(
    num_rows: int, batch_size: int, shuffle: bool = True, seed: int = 0
) -> tf.data.Dataset:
    """Batches of row positions (int32 vectors); a new permutation on every iteration.

    Example:
        >>> from embedzoo.training.pipelines import index_batches
        >>> [b.numpy().tolist() for b in index_batches(5, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
    """
    if num_rows <= 0:
        raise DataError("cannot build a pipeline over zero rows")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    full, rest = divmod(num_rows, batch_size)

    def split(positions):
        parts = []
        if full:
            head = tf.reshape(positions[: full * batch_size], [full, batch_size])
            parts.append(tf.data.Dataset.from_tensor_slices(head))
        if rest:
            parts.append(tf.data.Dataset.from_tensors(positions[full * batch_size :]))
        out = parts[0]
        for part in parts[1:]:
            out = out.concatenate(part)
        return out

    batches = full + (1 if rest else 0)
    if not shuffle:
        return split(tf.range(num_rows, dtype=tf.int32))
    # One random seed per iteration (epoch), reproducible from `seed`.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    ds = seeds.flat_map(
        lambda s: split(
            tf.random.experimental.stateless_shuffle(
                tf.range(num_rows, dtype=tf.int32), seed=tf.stack([s, tf.constant(seed, tf.int64)])
            )
        )
    )
    # A known length lets Keras size the progress bar and steps_per_execution exactly.
    return ds.apply(tf.data.experimental.assert_cardinality(batches))


def pointwise(
    model,
    interactions: Interactions,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
    target: str = "rating",
    known_only: bool = False,
) -> tf.data.Dataset:
    """``({"user": u, "item": i}, y)`` batches for rating (or any per-row target) models.

    Args:
        model: a zoo model (its vocabularies encode the raw ids).
        interactions: rows to serve; needs the ``target`` column.
        batch_size: global batch size.
        shuffle: new permutation every epoch.
        seed: seed of the permutation sequence.
        target: frame column used as the label.
        known_only: leave out rows whose user or item the model does not know (training: the
            unknown row 0 is never trained).
    """
    where = interactions.source or "interactions"
    if target not in interactions.frame.columns:
        raise DataError(f"{where}: no {target!r} column to train on")
    users, items = encode(model, interactions)
    y = interactions.frame[target].to_numpy(np.float32)
    if known_only:
        known = (users > 0) & (items > 0)
        if not known.any():
            raise DataError(
                f"{where}: no row has a user and an item that {model.name} knows; nothing to train on"
            )
        if not known.all():  # no copies of 25M-row columns when every row is known
            users, items, y = users[known], items[known], y[known]
    columns = {"user": tf.constant(users), "item": tf.constant(items), "y": tf.constant(y)}

    def gather(positions):
        return (
            {
                "user": tf.gather(columns["user"], positions),
                "item": tf.gather(columns["item"], positions),
            },
            tf.gather(columns["y"], positions),
        )

    ds = index_batches(len(users), batch_size, shuffle, seed)
    return ds.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def known_pointwise(model, interactions: Interactions, **kwargs) -> tf.data.Dataset:
    """``pointwise`` over the rows whose ids the model knows (rating models' training pipeline)."""
    return pointwise(model, interactions, known_only=True, **kwargs)


def training_dataset(model, interactions: Interactions, batch_size: int, seed: int = 0):
    """The training pipeline of the model's spec, repeated, and its steps per epoch.

    The dataset repeats forever (each pass is a fresh permutation), so Keras keeps one
    iterator for the whole ``fit`` instead of rebuilding it every epoch.

    Returns:
        ``(dataset, steps_per_epoch)``.
    """
    ds = model.training_spec().pipeline(
        model, interactions, batch_size=batch_size, shuffle=True, seed=seed
    )
    return ds.repeat(), int(ds.cardinality())
