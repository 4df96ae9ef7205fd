"""Batches of positive (entity, link) pairs plus random negatives, built in ``tf.data``.

The original "Wikipedia books" recipe fed Keras a Python generator: ``n_positive`` positive
pairs, then ``negative_ratio × n_positive`` random (book, link) pairs that are not positives
(label 0 for classification, -1 for regression), shuffled. This pipeline does the same with
tensor ops: an epoch is a fresh permutation of the positives cut into groups of
``n_positive`` (so every positive is seen once per epoch and steps per epoch =
⌈positives / n_positive⌉); each batch draws its negatives uniformly and rejects accidental
positives exactly, by a binary search (``tf.searchsorted``) in the sorted int64 keys
``link × n_entities + entity`` of every positive pair.

In pair data links are users and entities are items (see :mod:`embedzoo.datasets.pairs`);
batches are ``({"user": link_index, "item": entity_index}, label)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import tensorflow as tf

from embedzoo.datasets.arrays import sorted_unique
from embedzoo.datasets.interactions import ITEM, RATING, USER, Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.training.pipelines import AUTOTUNE, index_batches, pointwise, traced

NAME = "link_pairs"


def pair_keys(link_index, entity_index, n_entities: int) -> np.ndarray:
    """Sorted distinct int64 keys ``link × n_entities + entity`` of index pairs."""
    keys = np.asarray(link_index, np.int64) * int(n_entities) + np.asarray(entity_index, np.int64)
    return sorted_unique(keys)


def is_known(keys: tf.Tensor, candidates: tf.Tensor) -> tf.Tensor:
    """Whether each candidate key is in ``keys`` (sorted int64): exact, O(log n) per candidate."""
    at = tf.searchsorted(keys, candidates, side="left")
    at = tf.minimum(at, tf.cast(tf.size(keys) - 1, at.dtype))
    return tf.equal(tf.gather(keys, at), candidates)


def check_ratio(negative_ratio) -> float:
    ratio = float(negative_ratio)
    if not ratio > 0 or not math.isfinite(ratio):
        raise ConfigError(f"negative_ratio must be > 0, got {negative_ratio}")
    return ratio


def sample_negatives(
    seed, count: int, n_entities: int, n_links: int, keys: tf.Tensor, draw: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """``count`` uniform (link, entity) index pairs (indices from 1) whose key is not in ``keys``.

    Draws ``draw`` candidates per round (enough for one round almost always) and repeats until
    ``count`` pass, so the batch size never varies. ``seed`` is a stateless seed ``[2]``.
    """

    def round_(i, links, entities):
        s = tf.stack([seed[0], seed[1] + tf.cast(i, seed.dtype) * 1_000_003])
        cand_l = tf.random.stateless_uniform([draw], s, 1, n_links, dtype=tf.int64)
        cand_e = tf.random.stateless_uniform([draw], s + 1, 1, n_entities, dtype=tf.int64)
        fresh = tf.logical_not(is_known(keys, cand_l * n_entities + cand_e))
        links = tf.concat([links, tf.boolean_mask(cand_l, fresh)], 0)
        entities = tf.concat([entities, tf.boolean_mask(cand_e, fresh)], 0)
        return i + 1, links, entities

    empty = tf.zeros([0], tf.int64)
    _, links, entities = tf.while_loop(
        lambda i, links, e: tf.size(links) < count,
        round_,
        (tf.constant(0), empty, empty),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None])),
    )
    return tf.cast(links[:count], tf.int32), tf.cast(entities[:count], tf.int32)


def link_pairs(
    model,
    interactions: Interactions,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    n_positive: int | None = None,
    negative_ratio: float = 2.0,
    classification: bool = True,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """Positive pairs plus ``negative_ratio × n_positive`` sampled negatives per batch.

    Args:
        model: a zoo model; its vocabularies encode the ids (links = users, entities = items).
        interactions: the positive pairs (``user`` = link, ``item`` = entity).
        batch_size: positives per batch (the name ``fit`` uses for ``n_positive``).
        shuffle: a new permutation of the positives every epoch (and new negatives).
        seed: seed of the permutations and of the negatives.
        n_positive: positives per batch; wins over ``batch_size``.
        negative_ratio: negatives per positive (> 0; a fraction rounds to whole pairs).
        classification: negatives labelled 0 (True, for a sigmoid + BCE) or -1 (False, MSE).
        epochs: epochs the dataset holds; negatives are drawn from ``(seed, epoch, batch)``.
        first_epoch, shard: see :func:`~embedzoo.training.pipelines.index_batches`.

    Returns:
        Batches ``({"user": int32 [b], "item": int32 [b]}, float32 label [b])``.

    Raises:
        DataError: no pair both of whose ids the model knows, or fewer non-positive pairs in
            the whole entity × link grid than one batch needs.
        ConfigError: ``negative_ratio <= 0`` or ``n_positive < 1``.

    Example:
        >>> from embedzoo.training.link_pairs import link_pairs
        >>> ds = link_pairs(link_model, pairs, n_positive=32, negative_ratio=2)
        >>> inputs, labels = next(iter(ds))
        >>> inputs["user"].shape, labels.numpy().tolist().count(0.0)
        (TensorShape([96]), 64)
    """
    n_positive = int(n_positive or batch_size or 1024)
    if n_positive < 1:
        raise ConfigError(f"n_positive must be >= 1, got {n_positive}")
    ratio = check_ratio(negative_ratio)
    classification = bool(classification)
    where = interactions.source or "pairs"
    links = model.users.lookup(interactions.frame[USER].to_numpy())
    entities = model.items.lookup(interactions.frame[ITEM].to_numpy())
    known = (links > 0) & (entities > 0)
    if not known.any():
        raise DataError(f"{where}: no (entity, link) pair whose ids the model knows")
    links, entities = links[known], entities[known]
    n_entities, n_links = model.items.size, model.users.size  # index ranges incl. row 0
    keys_np = pair_keys(links, entities, n_entities)
    n_neg = max(1, int(round(ratio * min(n_positive, len(links)))))
    free = (n_entities - 1) * (n_links - 1) - len(keys_np)
    if n_neg > free:
        raise DataError(
            f"{where}: a batch needs {n_neg} negative pairs (negative_ratio={ratio:g} × "
            f"n_positive={min(n_positive, len(links))}) but only {free} of the "
            f"{n_entities - 1} × {n_links - 1} entity-link pairs are not positives; lower "
            "negative_ratio or n_positive"
        )
    density = len(keys_np) / ((n_entities - 1) * (n_links - 1))
    draw = int(math.ceil(n_neg / max(1e-3, 1 - density) * 1.1)) + 16
    columns = (tf.constant(links), tf.constant(entities), tf.constant(keys_np))
    negative = 0.0 if classification else -1.0

    def batch(positions, s):
        pos_l = tf.gather(columns[0], positions)
        pos_e = tf.gather(columns[1], positions)
        count = tf.cast(tf.round(ratio * tf.cast(tf.size(positions), tf.float32)), tf.int32)
        seed_ = s
        neg_l, neg_e = sample_negatives(seed_, count, n_entities, n_links, columns[2], draw)
        user = tf.concat([pos_l, neg_l], 0)
        item = tf.concat([pos_e, neg_e], 0)
        label = tf.concat([tf.ones_like(pos_l, tf.float32), tf.fill([count], negative)], 0)
        order = tf.random.experimental.stateless_shuffle(tf.range(tf.size(user)), seed_ + 7)
        return (
            {"user": tf.gather(user, order), "item": tf.gather(item, order)},
            tf.gather(label, order),
        )

    ds = index_batches(
        len(links), n_positive, shuffle, seed, epochs, True, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(batch), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def random_pairs(
    model, count: int, exclude: Interactions | None = None, seed: int = 0
) -> pd.DataFrame:
    """``count`` distinct random (link, entity) pairs of the model's ids, none in ``exclude``.

    Args:
        model: a zoo model (its vocabularies give the ids).
        count: how many pairs.
        exclude: pairs that must not be drawn (all known positives).
        seed: NumPy seed.

    Returns:
        DataFrame with ``user`` (link) and ``item`` (entity) raw ids.
    """
    n_entities, n_links = model.items.size, model.users.size
    taken = np.zeros(0, np.int64)
    if exclude is not None:
        lk = model.users.lookup(exclude.frame[USER].to_numpy())
        en = model.items.lookup(exclude.frame[ITEM].to_numpy())
        ok = (lk > 0) & (en > 0)
        taken = pair_keys(lk[ok], en[ok], n_entities)
    free = (n_entities - 1) * (n_links - 1) - len(taken)
    if count > free:
        raise DataError(
            f"asked for {count} random pairs but only {free} entity-link pairs are free"
        )
    rng = np.random.default_rng(seed)
    picked = np.zeros(0, np.int64)
    while len(picked) < count:
        draw = rng.integers(1, n_links, 2 * count + 16) * n_entities + rng.integers(
            1, n_entities, 2 * count + 16
        )
        draw = draw[~np.isin(draw, taken)]
        picked = pd.unique(np.concatenate([picked, draw]))
    picked = picked[:count]
    return pd.DataFrame(
        {
            USER: model.users.ids_of(picked // n_entities),
            ITEM: model.items.ids_of(picked % n_entities),
        }
    )


def labelled_pairs(
    model,
    positives: Interactions,
    exclude: Interactions | None = None,
    negative_ratio: float = 1.0,
    classification: bool = True,
    seed: int = 0,
) -> Interactions:
    """Held-out positives plus random non-pairs with labels in ``rating``, e.g. for ``fit``'s
    ``validation=`` or for link-prediction AUC.

    Positives whose entity or link the model does not know are dropped (the model has no vector
    for them). Labels are 1 and 0 (classification) or 1 and -1 (regression).

    Args:
        model: the link model (its vocabularies encode the ids).
        positives: held-out pairs.
        exclude: every known positive (train and held-out), never drawn as a negative; by
            default ``positives`` only.
        negative_ratio: negatives per positive.
        classification: the label of negatives (0 if True, -1 if False).
        seed: NumPy seed of the negatives.

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> train, test = datasets.random_split(pairs, 0.1)
        >>> model = zoo.build("link_embedding", train)
        >>> val = labelled_pairs(model, test, exclude=pairs)
        >>> val.frame["rating"].value_counts().to_dict()
        {1.0: 18, 0.0: 18}
        >>> training.fit(model, train, validation=val)                        # doctest: +SKIP
    """
    ratio = check_ratio(negative_ratio)
    classification = bool(classification)
    frame = positives.frame
    known = (model.users.lookup(frame[USER].to_numpy()) > 0) & (
        model.items.lookup(frame[ITEM].to_numpy()) > 0
    )
    pos = frame.loc[known, [USER, ITEM]].drop_duplicates()
    if len(pos) == 0:
        raise DataError(
            f"{positives.source or 'pairs'}: no held-out pair whose ids the model knows"
        )
    neg = random_pairs(
        model, int(round(ratio * len(pos))), exclude if exclude is not None else positives, seed
    )
    rows = pd.concat(
        [pos.assign(**{RATING: 1.0}), neg.assign(**{RATING: 0.0 if classification else -1.0})],
        ignore_index=True,
    )
    rows[RATING] = rows[RATING].astype(np.float32)
    return Interactions(rows, users=model.users, items=model.items, source=positives.source)


def held_out_pairs(
    model,
    interactions: Interactions,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    negative_ratio: float = 1.0,
    classification: bool = True,
    **pipeline_kwargs,
) -> tf.data.Dataset:
    """The validation pipeline of link models: labelled pairs as they are, or held-out
    positives alone (a split of the pairs, as the CLI makes) completed by
    :func:`labelled_pairs`' negatives, drawn once with ``seed`` and never one of the pairs the
    model was trained on (its seen pairs) or held out.

    Rows are taken as labelled pairs when their ``rating`` column holds both of the model's
    labels and nothing else (1 and 0, or 1 and -1 for regression); any other rows (no
    ``rating``, or star ratings of interactions) are held-out positives.

    Example:
        >>> from embedzoo import datasets, zoo
        >>> train, test = datasets.random_split(pairs, 0.1)
        >>> model = zoo.build("link_embedding", train)
        >>> model.remember(train)
        >>> batch = next(iter(held_out_pairs(model, test, batch_size=1000)))
        >>> sorted(np.unique(batch[1].numpy()).tolist())
        [0.0, 1.0]
    """
    labels = {1.0, 0.0 if classification else -1.0}
    frame = interactions.frame
    if RATING not in frame.columns or set(np.unique(frame[RATING].to_numpy())) != labels:
        seen_links, seen_entities = model.seen_items.pairs()
        known = pd.DataFrame(
            {
                USER: model.users.ids_of(seen_links),
                ITEM: model.items.ids_of(seen_entities),
            }
        )
        exclude = pd.concat([known, frame[[USER, ITEM]]], ignore_index=True)
        interactions = labelled_pairs(
            model,
            interactions,
            exclude=Interactions(exclude, users=model.users, items=model.items),
            negative_ratio=negative_ratio,
            classification=classification,
            seed=seed,
        )
    return pointwise(
        model, interactions, batch_size=batch_size, shuffle=shuffle, seed=seed, **pipeline_kwargs
    )
