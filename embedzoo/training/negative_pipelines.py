"""Implicit-feedback pipelines: BPR triplets and pointwise rows with sampled negatives.

Both shuffle positive rows by index every epoch (:func:`~embedzoo.training.pipelines.index_batches`)
and draw fresh negatives for every batch inside the ``tf.data`` graph with
:class:`~embedzoo.training.samplers.NegativeSampler`: each batch gets its own stateless seed,
a function of ``(seed, epoch, batch)``, so negatives differ from epoch to epoch and a run is
reproducible from ``seed`` however many iterators are opened. Rows whose user or item the model does
not know (index 0) are left out: the unknown row is never trained.

A model names its pipeline and sampler settings in its ``TrainingSpec`` (e.g.
``functools.partial(triplets, negative_sampling="popularity", sampling_alpha=0.65)``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.datasets.splits import user_time_item_order
from embedzoo.errors import DataError
from embedzoo.training import samplers
from embedzoo.training.pipelines import AUTOTUNE, Rows, encode, index_batches, traced


def recency_weights(interactions: Interactions, strength: float, power: float) -> np.ndarray:
    """Per-row weights ``1 + strength · p ** power``, normalised to mean 1.

    ``p`` is the row's relative position in its user's history, 0 for the oldest and 1 for the
    latest interaction (ordered by timestamp, then item id, as ``temporal_holdout`` orders
    them). Without timestamps, or with ``strength == 0``, every weight is 1.

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets import Interactions
        >>> from embedzoo.training.negative_pipelines import recency_weights
        >>> df = pd.DataFrame({"user": [1, 1, 1], "item": [5, 6, 7], "timestamp": [30, 10, 20]})
        >>> recency_weights(Interactions.from_frame(df, timestamp_unit="order"), 2.0, 1.0).tolist()
        [1.5, 0.5, 1.0]
    """
    n = len(interactions)
    if strength == 0 or not interactions.has_timestamps or n == 0:
        return np.ones(n, np.float32)
    order = user_time_item_order(interactions)
    users = interactions.user_index[order]
    counts = np.bincount(users, minlength=interactions.users.size)
    first = (np.cumsum(counts) - counts).astype(np.int64)
    # float32 temporaries: 25M rows stay a few hundred MB
    position = (np.arange(n, dtype=np.int64) - first[users]).astype(np.float32)
    position /= np.maximum(counts - 1, 1).astype(np.float32)[users]
    del users
    position **= float(power)
    position *= float(strength)
    position += 1.0
    weights = np.empty(n, dtype=np.float32)
    weights[order] = position
    weights /= weights.mean(dtype=np.float64)
    return weights


def _positives(model, interactions: Interactions, recency_weight: float, recency_power: float):
    """Known (user, item) index rows and their training weights (recency, if asked for)."""
    users, items = encode(model, interactions)
    known = (users > 0) & (items > 0)
    if not known.any():
        raise DataError(
            f"{interactions.source or 'interactions'}: no row has a user and an item that "
            f"{model.name} knows; nothing to train on"
        )
    weights = recency_weights(interactions, recency_weight, recency_power)
    if known.all():  # no copies of 25M-row columns when every row is known
        return users, items, weights
    return users[known], items[known], weights[known]


def _time_ordered_items(model, interactions: Interactions):
    """``(items, position, start)`` for the known rows ``_positives`` keeps: ``items`` every
    row's model item index in (user, timestamp, item id) order (all rows, unknown items 0),
    ``position`` each known row's place in that order and ``start`` where its user's block
    begins (rows in data order without timestamps)."""
    users, items = encode(model, interactions)
    if interactions.has_timestamps:
        order = user_time_item_order(interactions)
    else:
        order = np.argsort(interactions.user_index, kind="stable")
    grouped = interactions.user_index[order]
    counts = np.bincount(grouped, minlength=interactions.users.size)
    first = (np.cumsum(counts) - counts).astype(np.int32)
    position = np.empty(len(order), np.int32)
    position[order] = np.arange(len(order), dtype=np.int32)
    start = first[interactions.user_index]
    known = (users > 0) & (items > 0)
    earlier = tf.constant(np.where(users > 0, items, 0)[order].astype(np.int32))
    if known.all():
        return earlier, position, start
    return earlier, position[known], start[known]


def triplets(
    model,
    interactions: Interactions,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
    *,
    negative_sampling: str = "uniform",
    sampling_alpha: float = 1.0,
    recency_weight: float = 0.0,
    recency_power: float = 1.0,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """``({"user": u [b], "item": [pos, neg] [b, 2]}, label [b, 2], weight [b])`` batches for
    pairwise (BPR) training.

    The model scores both items of each row (``call`` on ``[b, 2]`` items gives ``[b, 2]``
    scores) and :class:`~embedzoo.training.losses.PairwiseLogisticLoss` turns them into BPR's
    ``-log σ(s_pos - s_neg)``; ``label`` is ``[1, 0]`` on every row. ``weight`` is the row's
    recency weight (1 unless ``recency_weight`` > 0).

    Args:
        model: a ranking zoo model (its vocabularies encode the ids).
        interactions: the positive (user, item) rows.
        batch_size: triplets per batch.
        shuffle: new row order and new negatives every epoch (training); ``False`` replays
            the same rows and negatives on every pass (validation).
        seed: seeds the order and the negatives.
        negative_sampling, sampling_alpha: the sampler (``"uniform"`` or ``"popularity"``
            with ``count ** sampling_alpha``).
        recency_weight, recency_power: see :func:`recency_weights`.
        epochs: epochs the dataset holds; negatives are drawn from ``(seed, epoch, batch)``.
        first_epoch, shard: see :func:`~embedzoo.training.pipelines.index_batches`.

    Example:
        >>> from embedzoo.training.negative_pipelines import triplets
        >>> ds = triplets(bpr, train, batch_size=256)  # bpr: a BPR model built on train
        >>> inputs, labels, weights = next(iter(ds))
        >>> inputs["item"].shape, labels[0].numpy().tolist()
        (TensorShape([256, 2]), [1.0, 0.0])
    """
    users, items, weights = _positives(model, interactions, recency_weight, recency_power)
    sampler = samplers.for_model(model, users, items, negative_sampling, sampling_alpha)
    cols = Rows(user=users, item=items, w=weights)

    def gather(positions, s):
        got = cols.gather(positions)
        u = got["user"]
        neg = sampler.sample(u, s)
        x = {"user": u, "item": tf.stack([got["item"], neg], axis=1)}
        labels = tf.tile(tf.constant([[1.0, 0.0]]), [tf.shape(positions)[0], 1])
        return x, labels, got["w"]

    ds = index_batches(
        len(users), batch_size, shuffle, seed, epochs, True, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(gather), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE
    )


def pointwise_negatives(
    model,
    interactions: Interactions,
    batch_size: int = 256,
    shuffle: bool = True,
    seed: int = 0,
    *,
    num_negatives: int = 4,
    negative_sampling: str = "uniform",
    sampling_alpha: float = 1.0,
    recency_weight: float = 0.0,
    recency_power: float = 1.0,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """``({"user", "item"}, label)`` batches: each positive row plus ``num_negatives`` negatives.

    A batch holds ``batch_size`` positive rows (label 1) followed by ``num_negatives`` sampled
    items for each of them (label 0), so ``batch_size * (1 + num_negatives)`` examples: NCF's
    pointwise log-loss setup (He et al., 2017).

    Args:
        model: a ranking zoo model (its vocabularies encode the ids).
        interactions: the positive (user, item) rows.
        batch_size: positive rows per batch.
        shuffle: new row order and new negatives every epoch; ``False`` replays both.
        seed: seeds the order and the negatives.
        num_negatives: sampled negatives per positive.
        negative_sampling, sampling_alpha, recency_weight, recency_power, epochs,
            first_epoch, shard: as in :func:`triplets`.
    """
    users, items, weights = _positives(model, interactions, recency_weight, recency_power)
    sampler = samplers.for_model(model, users, items, negative_sampling, sampling_alpha)
    k = int(num_negatives)
    cols = Rows(user=users, item=items, w=weights)

    def gather(positions, s):
        got = cols.gather(positions)
        u = got["user"]
        neg_users = tf.tile(u, [k])
        negs = sampler.sample(neg_users, s)
        n = tf.shape(positions)[0]
        x = {
            "user": tf.concat([u, neg_users], 0),
            "item": tf.concat([got["item"], negs], 0),
        }
        y = tf.concat([tf.ones([n]), tf.zeros([n * k])], axis=0)
        # A positive's negatives carry its weight, so the weighting shifts no class balance.
        return x, y, tf.tile(got["w"], [1 + k])

    ds = index_batches(
        len(users), batch_size, shuffle, seed, epochs, True, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(gather), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE
    )


def in_batch(
    model,
    interactions: Interactions,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
    *,
    uniform_negatives: int = 0,
    recency_weight: float = 0.0,
    recency_power: float = 1.0,
    user_dropout: float = 0.0,
    recent_items: int = 0,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """``({"user": u [b], "item": i [b], "negatives": n [m]}, zeros [b], weight [b])`` batches of known
    positive pairs for an in-batch softmax (the two-tower model): each row's negatives are the
    other rows' items, plus ``m = uniform_negatives`` items drawn uniformly from the items of
    these rows in the graph, from the batch's ``(seed, epoch, batch)`` stream. The label is unused
    (:class:`~embedzoo.training.losses.InBatchSoftmax`: row ``r``'s positive is column ``r``);
    ``weight`` is the row's recency weight (:func:`recency_weights`; 1 unless
    ``recency_weight`` > 0). With ``user_dropout`` > 0 a row's user is dropped with that
    probability (``inputs["user_dropped"]``, 1.0 or 0.0): the model reads it as a user known
    only by features, and its weight is 1, since for such a user every item is what to predict,
    not the latest ones. With ``recent_items`` = n > 0, ``inputs["recent"]`` ``[b, n]`` holds
    each row's user's n items *before* that row in time order (right-aligned, most recent last,
    0 = no item; all 0 for a dropped user): the history the user had when the row happened, never
    the row's own item or a later one.

    Example:
        >>> from embedzoo.training.negative_pipelines import in_batch
        >>> ds = in_batch(two_tower, train, batch_size=256, uniform_negatives=64)  # doctest: +SKIP
        >>> inputs, _ = next(iter(ds))                                          # doctest: +SKIP
        >>> inputs["item"].shape, inputs["negatives"].shape                     # doctest: +SKIP
        (TensorShape([256]), TensorShape([64]))
    """
    users, items, weights = _positives(model, interactions, recency_weight, recency_power)
    n_recent = int(recent_items)
    if n_recent:
        earlier, position, start = _time_ordered_items(model, interactions)
        cols = Rows(user=users, item=items, w=weights, position=position, start=start)
    else:
        cols = Rows(user=users, item=items, w=weights)
    # Uniform over the items these rows reach: an item without training rows (a cold item,
    # served from its features) drawn only ever as a negative would teach the towers that its
    # features are bad.
    pool = tf.constant(np.unique(items).astype(np.int32))
    m = int(uniform_negatives)

    def gather(positions, s):
        pick = tf.random.stateless_uniform(
            [m], seed=s, minval=0, maxval=tf.shape(pool)[0], dtype=tf.int32
        )
        got = cols.gather(positions)
        x = {"user": got["user"], "item": got["item"], "negatives": tf.gather(pool, pick)}
        w = got["w"]
        if n_recent:
            # the row's user's n items before it, right-aligned (most recent last), 0 = none
            back = got["position"][:, None] - tf.range(n_recent, 0, -1)[None, :]
            x["recent"] = tf.where(
                back >= got["start"][:, None], tf.gather(earlier, tf.maximum(back, 0)), 0
            )
        if user_dropout:
            draw = tf.random.stateless_uniform(
                tf.shape(positions), seed=tf.random.experimental.stateless_fold_in(s, 1)
            )
            dropped = tf.cast(draw < user_dropout, tf.float32)
            x["user_dropped"] = dropped
            w = dropped + (1.0 - dropped) * w
            if n_recent:  # a dropped user is known by features alone: no history either
                x["recent"] *= tf.cast(1.0 - dropped, tf.int32)[:, None]
        return x, tf.zeros(tf.shape(positions), tf.float32), w

    ds = index_batches(
        len(users), batch_size, shuffle, seed, epochs, True, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(gather), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE
    )
