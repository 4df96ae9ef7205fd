"""Ranking evaluation: sampled HR/NDCG and full-ranking Recall/NDCG/MRR/Precision.

Both work for any zoo model (ranking or rating: only the order of its scores matters), on a
``train`` / ``test`` pair of Interactions, with the model's vocabularies.

**Full ranking** (the honest default): for each test user, every catalogue item is scored
(``model.all_item_scores``, batched over users), the user's training items are masked out, and
keras-rs's ``RecallAtK``, ``NDCG``, ``MeanReciprocalRank`` and ``PrecisionAtK`` read the
ranking against the user's held-out items (binary relevance). Per user:
``recall@K = hits / |held-out|``, ``ndcg@K = DCG@K / IDCG@K`` with gain 1 and discount
``1 / log2(rank + 1)``, ``mrr = 1 / rank of the first held-out item`` (over the whole list),
``precision@K = hits / K``; each is averaged over users.

**Sampled** (labelled ``sampled`` everywhere): each held-out (user, item) row is ranked
among ``num_negatives`` items the user never interacted with (in train or test), drawn without
replacement (Gumbel top-k) uniformly or in proportion to their training popularity, from a
stateless seed; ``hr@K`` is 1 when the item is in the top K of those ``N + 1``,
``ndcg@K = 1 / log2(rank + 1)`` then (0 otherwise), averaged over rows.

Ties between scores are broken at random with the metric's seed (keras-rs ``shuffle_ties``),
so a constant model scores as chance would, and the same seed gives the same numbers.

Rows that cannot be ranked are left out and counted in the result: test rows whose item the
model does not know (``n_skipped_unknown_item``) and test pairs the user also has in train
(``n_skipped_repeat``, they are masked as seen). A test user without training rows is refused
(``DataError``) unless ``cold_users="skip"`` (then counted in ``n_skipped_cold_user``).
"""

from __future__ import annotations

import keras_rs
import numpy as np
import pandas as pd
import tensorflow as tf

from embedzoo.core.seen import SeenItems
from embedzoo.datasets.arrays import sorted_unique
from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError, DataError

SAMPLINGS = ("popularity", "uniform")


class _Split:
    """``train`` and ``test`` encoded with one model's vocabularies, unrankable rows removed."""

    def __init__(self, model, train: Interactions, test: Interactions, cold_users: str):
        if cold_users not in ("error", "skip"):
            raise ConfigError(f"cold_users must be 'error' or 'skip', got {cold_users!r}")
        if len(test) == 0:
            raise DataError(f"{test.source or 'test'}: no test rows to evaluate")
        self.model = model
        n_items = model.items.size
        tu = model.users.lookup(train.frame["user"].to_numpy()).astype(np.int64)
        ti = model.items.lookup(train.frame["item"].to_numpy()).astype(np.int64)
        known = (tu > 0) & (ti > 0)
        tu, ti = tu[known], ti[known]
        self.train_keys = sorted_unique(tu * n_items + ti)
        self.popularity = np.bincount(ti, minlength=n_items).astype(np.float64)
        has_train = np.zeros(model.users.size, dtype=bool)
        has_train[tu] = True

        raw_users = test.frame["user"].to_numpy()
        u = model.users.lookup(raw_users).astype(np.int64)
        i = model.items.lookup(test.frame["item"].to_numpy()).astype(np.int64)
        cold = ~has_train[u] | (u == 0)
        if cold.any() and cold_users == "error":
            raise DataError(
                f"{test.source or 'test'}: user {_plain(raw_users[np.flatnonzero(cold)[0]])!r} has no training "
                f"interactions ({int(cold.sum())} test rows of {len(pd.unique(raw_users[cold]))} such "
                "users); ranking needs a history to mask. Pass cold_users='skip' to leave them out"
            )
        unknown_item = (i == 0) & ~cold
        keys = u * n_items + i
        at = np.minimum(np.searchsorted(self.train_keys, keys), len(self.train_keys) - 1)
        repeat = (self.train_keys[at] == keys) & ~cold & ~unknown_item
        keep = ~cold & ~unknown_item & ~repeat
        self.counts = {
            "n_test_rows": int(keep.sum()),
            "n_skipped_cold_user": int(cold.sum()),
            "n_skipped_unknown_item": int(unknown_item.sum()),
            "n_skipped_repeat": int(repeat.sum()),
        }
        if not keep.any():
            raise DataError(
                f"{test.source or 'test'}: no test row has a known user with a known new item"
            )
        self.users, self.items = u[keep], i[keep]
        self.raw_users = raw_users[keep]
        self.seen = SeenItems()
        self.seen.set(tu, ti, num_users=model.users.size)
        self.interacted = SeenItems()
        self.interacted.set(
            np.concatenate([tu, self.users]), np.concatenate([ti, self.items]), model.users.size
        )
        self.counts["n_users"] = int(len(sorted_unique(self.users)))


def _plain(raw_id):
    return raw_id.item() if isinstance(raw_id, np.generic) else raw_id


def _check_k(k: int, n_candidates: int, what: str) -> int:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if k > n_candidates:
        raise ConfigError(f"k={k} is larger than the {n_candidates} candidates of {what}")
    return int(k)


def full_ranking(split: _Split, k: int = 10, seed: int = 0, batch_size: int | None = None) -> dict:
    """Recall@K, NDCG@K, MRR, Precision@K over the whole catalogue, training items masked."""
    model = split.model
    n = model.items.size
    k = _check_k(k, n - 1, f"the catalogue ({n - 1} items)")
    metrics = {
        f"recall@{k}": keras_rs.metrics.RecallAtK(k=k, seed=seed),
        f"ndcg@{k}": keras_rs.metrics.NDCG(k=k, seed=seed),
        "mrr": keras_rs.metrics.MeanReciprocalRank(seed=seed),
        f"precision@{k}": keras_rs.metrics.PrecisionAtK(k=k, seed=seed),
    }

    # Eager on purpose: a tf.function per call would retrace for every evaluated model (and
    # TF warns about it); the work per batch is a few large ops either way.
    def update(users, rows, cols):
        where = tf.stack([rows, cols], axis=1)
        labels = tf.scatter_nd(where, tf.ones(tf.shape(rows)), [tf.shape(users)[0], n])
        labels = tf.minimum(labels, 1.0)  # a repeated test row counts once
        scores = tf.cast(model.all_item_scores(users), tf.float32)
        # Seen items and the unknown column 0 are left out of the ranking by keras-rs's mask.
        mask = tf.math.is_finite(split.seen.mask(scores, users)) & (tf.range(n) > 0)[None, :]
        for metric in metrics.values():
            metric.update_state({"labels": labels, "mask": mask}, scores)

    order = np.argsort(split.users, kind="stable")
    users_sorted, items_sorted = split.users[order], split.items[order]
    test_users, starts = np.unique(users_sorted, return_index=True)
    ends = np.append(starts[1:], len(users_sorted))
    # Bounded [batch, items] score blocks: models such as embedding_nn expand them further.
    batch_size = batch_size or max(1, min(256, (1 << 20) // n))
    for lo in range(0, len(test_users), batch_size):
        batch = test_users[lo : lo + batch_size]
        first, last = starts[lo], ends[min(lo + batch_size, len(test_users)) - 1]
        rows = np.searchsorted(batch, users_sorted[first:last])  # test rows → row in the batch
        update(
            tf.constant(batch, tf.int32),
            tf.constant(rows, tf.int32),
            tf.constant(items_sorted[first:last], tf.int32),
        )
    return {name: float(m.result()) for name, m in metrics.items()}


def sampled(
    split: _Split,
    k: int = 10,
    num_negatives: int = 100,
    sampling: str = "popularity",
    seed: int = 0,
    batch_size: int | None = None,
) -> dict:
    """HR@K and NDCG@K of each held-out row among ``num_negatives`` sampled unseen items."""
    if sampling not in SAMPLINGS:
        raise ConfigError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if not isinstance(num_negatives, int | np.integer) or num_negatives < 1:
        raise ConfigError(f"num_negatives must be a positive integer, got {num_negatives!r}")
    model = split.model
    n = model.items.size
    if num_negatives > n - 2:
        raise ConfigError(
            f"num_negatives={num_negatives} needs more than the {n - 1} items of the catalogue "
            "(the held-out item and its negatives are distinct)"
        )
    k = _check_k(k, num_negatives + 1, f"a sampled list ({num_negatives} negatives + 1)")
    weights = np.ones(n) if sampling == "uniform" else split.popularity.copy()
    weights[0] = 0.0
    with np.errstate(divide="ignore"):
        log_w = tf.constant(np.log(weights), tf.float32)  # -inf: never drawn
    hr = keras_rs.metrics.RecallAtK(k=k, seed=seed)
    ndcg = keras_rs.metrics.NDCG(k=k, seed=seed)
    labels_row = tf.one_hot(0, num_negatives + 1)

    def draw(users, batch_seed):
        g = tf.random.stateless_uniform(
            [tf.shape(users)[0], n], seed=batch_seed, minval=1e-12, maxval=1.0
        )
        keys = log_w[None, :] - tf.math.log(
            -tf.math.log(g)
        )  # Gumbel top-k: draws without replacement
        keys = split.interacted.mask(keys, users)
        pool = tf.reduce_sum(tf.cast(tf.math.is_finite(keys), tf.int32), axis=1)
        return tf.math.top_k(keys, k=num_negatives).indices, pool

    def update(users, items, negatives):
        candidates = tf.concat([items[:, None], negatives], axis=1)
        flat_users = tf.repeat(users, num_negatives + 1)
        scores = model({"user": flat_users, "item": tf.reshape(candidates, [-1])}, training=False)
        scores = tf.reshape(tf.cast(scores, tf.float32), [-1, num_negatives + 1])
        labels = tf.broadcast_to(labels_row, tf.shape(scores))
        hr.update_state(labels, scores)
        ndcg.update_state(labels, scores)

    batch_size = batch_size or max(1, min(1024, (1 << 22) // n))
    for b, lo in enumerate(range(0, len(split.users), batch_size)):
        users = tf.constant(split.users[lo : lo + batch_size], tf.int32)
        negatives, pool = draw(users, tf.constant([seed, b], tf.int64))
        short = np.flatnonzero(pool.numpy() < num_negatives)
        if len(short):
            j = int(short[0])
            where = "never interacted with" + (
                " and seen in training" if sampling == "popularity" else ""
            )
            raise DataError(
                f"user {_plain(split.raw_users[lo + j])!r} has only {int(pool[j])} items to sample negatives "
                f"from ({where}) but num_negatives={num_negatives}; lower num_negatives"
            )
        update(users, tf.constant(split.items[lo : lo + batch_size], tf.int32), negatives)
    prefix = f"sampled_{sampling}"
    return {f"{prefix}_hr@{k}": float(hr.result()), f"{prefix}_ndcg@{k}": float(ndcg.result())}


def ranking_metrics(
    model,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    num_negatives: int = 100,
    samplings=SAMPLINGS,
    full: bool = True,
    seed: int = 0,
    cold_users: str = "error",
) -> dict:
    """All ranking metrics of one model, as a flat JSON-able dict.

    Args:
        model: any zoo model (only the order of its scores matters).
        train: the interactions the model was trained on (their items are masked / never
            sampled as negatives).
        test: the held-out interactions.
        k: list length of the @K metrics.
        num_negatives: N of the sampled metrics.
        samplings: which sampled variants to compute (``"popularity"``, ``"uniform"``).
        full: compute the full-ranking metrics.
        seed: seeds the negatives and the tie-breaking.
        cold_users: ``"error"`` or ``"skip"`` for test users without training rows.

    Returns:
        ``{"sampled_popularity_hr@10", ..., "recall@10", "ndcg@10", "mrr", "precision@10",
        "n_users", "n_test_rows", "n_skipped_*"}``.

    Example:
        >>> from embedzoo.training import evaluation
        >>> evaluation.ranking_metrics(model, train, test)  # ML-100k bpr: hr 0.41, ndcg 0.14
        {'sampled_popularity_hr@10': ..., 'ndcg@10': ..., ...}
    """
    split = _Split(model, train, test, cold_users)
    out: dict = {}
    for sampling in samplings:
        out.update(sampled(split, k, num_negatives, sampling, seed))
    if full:
        out.update(full_ranking(split, k, seed))
    out.update(split.counts)
    return out
