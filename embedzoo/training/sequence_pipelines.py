"""Next-item pipelines for sequence models (SASRec, GRU4Rec): windows of each user's history.

Each user's training rows are put in time order (timestamp, then item id; row order without
timestamps) and cut, once up front, into windows of ``max_length + 1`` item indices,
right-aligned and left-padded with 0: the latest window ends at the user's last item, the one
before it ``max_length`` items earlier, and so on, so every (item, next item) transition of the
history is in exactly one window. A batch gathers windows by shuffled position (the seeded
per-epoch stream of :func:`~embedzoo.training.pipelines.index_batches`); its input is a
window's first ``max_length`` items, its targets the same shifted by one, and a position
counts (weight 1) when both its input and its target are items. Negatives are drawn in the
``tf.data`` graph from the batch's stateless seed, from the items with training rows: one set
per position (``per_position``: the binary cross-entropy of the SASRec paper) or one set shared
by the whole batch (sampled softmax, BPR-max), uniformly or ∝ ``count ** sampling_alpha``.

Example:
    >>> import numpy as np
    >>> sequence_windows(np.array([0, 0, 0, 0, 1, 1]), np.array([1, 2, 3, 4, 5, 6]), 2).tolist()
    [[2, 3, 4], [0, 1, 2], [0, 5, 6]]
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from embedzoo.datasets.arrays import group_time_order
from embedzoo.datasets.interactions import TIMESTAMP, Interactions
from embedzoo.errors import DataError
from embedzoo.training.pipelines import AUTOTUNE, index_batches, traced

SAMPLINGS = ("uniform", "popularity")


def time_ordered(model, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """``(user index, item index)`` of the rows both known to ``model``, sorted by user, then
    time (timestamp, ties by item id; row order without timestamps)."""
    users = model.users.lookup(interactions.frame["user"].to_numpy())
    items = model.items.lookup(interactions.frame["item"].to_numpy())
    times = interactions.frame[TIMESTAMP].to_numpy() if interactions.has_timestamps else None
    order = group_time_order(users, times, items if times is not None else None)
    users, items = users[order], items[order]
    known = (users > 0) & (items > 0)
    return users[known].astype(np.int64), items[known].astype(np.int32)


def sequence_windows(users: np.ndarray, items: np.ndarray, max_length: int) -> np.ndarray:
    """``[windows, max_length + 1]`` int32 windows of each user's items (rows grouped by user
    and in time order), right-aligned, 0 = padding; users with one item have no transition and
    no window. Windows are listed by user, latest first."""
    users, items = np.asarray(users), np.asarray(items, np.int32)
    width = int(max_length) + 1
    if len(users) == 0:
        return np.zeros((0, width), np.int32)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    per_user = np.where(counts >= 2, -(-(counts - 1) // int(max_length)), 0)
    owner = np.repeat(np.arange(len(starts)), per_user)
    # the j-th window of a user (latest first) ends after row count - j·max_length
    j = np.arange(len(owner)) - np.repeat(np.cumsum(per_user) - per_user, per_user)
    end = counts[owner] - j * int(max_length)
    offset = end[:, None] - width + np.arange(width)[None, :]  # position within the user
    valid = offset >= 0
    rows = np.where(valid, starts[owner][:, None] + offset, 0)
    return np.where(valid, items[rows], 0).astype(np.int32)


def next_item(
    model,
    interactions: Interactions,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    *,
    max_length: int = 50,
    num_negatives: int = 1,
    per_position: bool = True,
    negative_sampling: str = "uniform",
    sampling_alpha: float = 1.0,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """``({"history", "target", "negatives"}, zeros [b, L], weight [b, L])`` batches of windows.

    ``history`` and ``target`` are ``[b, L]`` item indices (``L = max_length``; the target is
    the next item of each position), ``weight`` is 1 where a position has an input and a
    target. ``negatives`` holds ``num_negatives`` item indices per position (``[b, L, m]``,
    ``per_position``) or per batch (``[m]``); with ``num_negatives=0`` there are none (the
    full softmax scores every item).

    Args:
        model: a sequence model (its vocabularies encode the ids).
        interactions: training rows (their order in time is read from the timestamps).
        batch_size: windows per batch.
        shuffle, seed, epochs, first_epoch, shard: as in
            :func:`~embedzoo.training.negative_pipelines.triplets`.
        max_length: positions per window.
        num_negatives, per_position: how many negatives, and whether each position has its own.
        negative_sampling, sampling_alpha: ``"uniform"`` over the items with training rows, or
            ``"popularity"``: ∝ ``count ** sampling_alpha``.

    Example:
        >>> from embedzoo import zoo
        >>> sasrec = zoo.build("sasrec", train, max_length=20)
        >>> inputs, _, weight = next(iter(next_item(sasrec, train, 32, max_length=20)))
        >>> inputs["history"].shape, inputs["negatives"].shape
        (TensorShape([32, 20]), TensorShape([32, 20, 1]))
    """
    if negative_sampling not in SAMPLINGS:
        raise ValueError(f"negative_sampling must be one of {SAMPLINGS}, got {negative_sampling!r}")
    users, items = time_ordered(model, interactions)
    windows = sequence_windows(users, items, max_length)
    if len(windows) == 0:
        raise DataError(
            f"{interactions.source or 'interactions'}: no user has two known training items in"
            f" order; a sequence model has no transition to learn from"
        )
    table = tf.constant(windows)
    counts = np.bincount(items, minlength=model.items.size).astype(np.float64)
    pool = np.flatnonzero(counts > 0).astype(np.int32)
    weights = (
        np.ones(len(pool)) if negative_sampling == "uniform" else counts[pool] ** sampling_alpha
    )
    pool_t = tf.constant(pool)
    logits = tf.constant(np.log(weights / weights.sum())[None, :], tf.float32)
    m = int(num_negatives)

    def draw(shape, s):
        if negative_sampling == "uniform":
            pick = tf.random.stateless_uniform(
                shape, seed=s, minval=0, maxval=len(pool), dtype=tf.int32
            )
        else:
            total = tf.reduce_prod(shape)
            pick = tf.reshape(
                tf.random.stateless_categorical(logits, total, seed=s, dtype=tf.int32), shape
            )
        return tf.gather(pool_t, pick)

    def gather(positions, s):
        rows = tf.gather(table, positions)
        history, target = rows[:, :-1], rows[:, 1:]
        x = {"history": history, "target": target}
        if m:
            shape = tf.concat([tf.shape(history), [m]], 0) if per_position else [m]
            x["negatives"] = draw(shape, s)
        weight = tf.cast((history > 0) & (target > 0), tf.float32)
        return x, tf.zeros_like(weight), weight

    ds = index_batches(
        len(windows), batch_size, shuffle, seed, epochs, True, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(gather), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE
    )
