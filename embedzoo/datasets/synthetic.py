"""Synthetic interactions at MovieLens-25M scale, for benchmarks and tests.

Users and items are drawn independently from power laws (items Zipf-like, users milder) with
Walker's alias method (one uniform draw and two table look-ups per row, faster than an inverse
CDF's ``searchsorted``; ``docs/benchmarks.md``), in chunks, so 25M rows take a few seconds and
little scratch memory beyond the result. Ratings come from a hidden low-rank model
(global mean + user bias + item bias + a dot product of ``n_factors`` latent factors + Gaussian
noise, rounded to whole stars and clipped to 1..5), so a model has a real signal to learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.arrays import alias_table
from embedzoo.datasets.interactions import ITEM, RATING, TIMESTAMP, USER, Interactions, Vocabulary
from embedzoo.errors import DataError

_CHUNK = 1 << 21
_T0, _T1 = 789_652_009, 1_574_327_703  # the span of MovieLens-25M's timestamps (1995-2019)


def synthetic(
    n_users: int = 162_000,
    n_items: int = 59_000,
    n_interactions: int = 25_000_000,
    zipf_exponent: float = 1.0,
    user_exponent: float = 0.5,
    seed: int = 0,
    with_ratings: bool = True,
    with_timestamps: bool = True,
    n_factors: int = 8,
    noise: float = 0.5,
) -> Interactions:
    """Draws a synthetic interaction set (defaults: the size of MovieLens-25M).

    Item ``i`` of popularity rank ``r`` is drawn with probability ``∝ 1 / r**zipf_exponent``
    (ranks are shuffled over ids, so id 1 is not the most popular), user of rank ``r`` with
    ``∝ 1 / r**user_exponent``. Ids are int64 ``1..n``; the vocabularies hold only ids that
    occur. Pairs are drawn with replacement and not de-duplicated: a (user, item) pair can
    repeat (use :func:`~embedzoo.datasets.dedupe` when that matters). Timestamps are uniform in
    a random active window per user inside 1995-2019. Rows are in draw order.

    Args:
        n_users, n_items: the id ranges.
        n_interactions: rows drawn.
        zipf_exponent: item popularity skew (1.0: the top 1% of items take about 60% of rows
            at the default sizes).
        user_exponent: user activity skew.
        seed: everything is a function of it.
        with_ratings: add a ``rating`` column (float32, whole stars 1..5).
        with_timestamps: add a ``timestamp`` column (int64 Unix seconds).
        n_factors: rank of the hidden rating model.
        noise: standard deviation of its Gaussian noise, in stars.

    Example:
        >>> from embedzoo.datasets import synthetic
        >>> data = synthetic(n_users=100, n_items=50, n_interactions=1_000, seed=1)
        >>> len(data), data.frame["rating"].between(1, 5).all()
        (1000, np.True_)
    """
    if min(n_users, n_items, n_interactions) < 1:
        raise DataError("synthetic: n_users, n_items and n_interactions must be positive")
    rng = np.random.default_rng(seed)
    item_table = alias_table(_power_law(n_items, zipf_exponent))
    user_table = alias_table(_power_law(n_users, user_exponent))
    item_of_rank = rng.permutation(n_items).astype(np.int64) + 1
    user_of_rank = rng.permutation(n_users).astype(np.int64) + 1
    if with_ratings:
        scale = (0.5 / n_factors) ** 0.25  # the dot product's variance is 0.5 (stars²)
        user_f = (rng.standard_normal((n_users + 1, n_factors)) * scale).astype(np.float32)
        item_f = (rng.standard_normal((n_items + 1, n_factors)) * scale).astype(np.float32)
        user_b = (rng.standard_normal(n_users + 1) * 0.3).astype(np.float32)
        item_b = (rng.standard_normal(n_items + 1) * 0.5).astype(np.float32)
    if with_timestamps:
        start = rng.integers(_T0, _T1, n_users + 1)
        span = ((_T1 - start) * rng.random(n_users + 1)).astype(np.int64) + 1

    users = np.empty(n_interactions, dtype=np.int64)
    items = np.empty(n_interactions, dtype=np.int64)
    ratings = np.empty(n_interactions, dtype=np.float32) if with_ratings else None
    stamps = np.empty(n_interactions, dtype=np.int64) if with_timestamps else None
    for lo in range(0, n_interactions, _CHUNK):
        hi = min(lo + _CHUNK, n_interactions)
        # np.take: several times faster than fancy indexing for these gathers
        u = np.take(user_of_rank, _draw(rng, user_table, hi - lo))
        i = np.take(item_of_rank, _draw(rng, item_table, hi - lo))
        users[lo:hi], items[lo:hi] = u, i
        if with_ratings:
            r = np.einsum("ij,ij->i", np.take(user_f, u, axis=0), np.take(item_f, i, axis=0))
            r += 3.5 + np.take(user_b, u) + np.take(item_b, i)
            r += rng.standard_normal(hi - lo, dtype=np.float32) * noise
            ratings[lo:hi] = np.clip(np.rint(r), 1.0, 5.0)
        if with_timestamps:
            offset = (rng.random(hi - lo) * np.take(span, u)).astype(np.int64)
            stamps[lo:hi] = np.take(start, u) + offset

    columns = {USER: users, ITEM: items}
    if with_ratings:
        columns[RATING] = ratings
    if with_timestamps:
        columns[TIMESTAMP] = stamps
    return Interactions(
        pd.DataFrame(columns, copy=False),
        users=Vocabulary(_used(users, n_users)),
        items=Vocabulary(_used(items, n_items)),
        source=f"synthetic(seed={seed})",
    )


def _power_law(n: int, exponent: float) -> np.ndarray:
    """Weights of ranks 0..n-1: ``1 / (rank + 1)**exponent`` (float64)."""
    return np.arange(1, n + 1, dtype=np.float64) ** -exponent


def _draw(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """``size`` ranks from an alias table: the column from the integer part of ``n * u``, the
    keep-or-alias coin from its fractional part (53-bit uniforms leave ample bits for both)."""
    prob, alias = table
    x = rng.random(size) * len(prob)
    col = x.astype(np.int64)
    return np.where(x - col < np.take(prob, col), col, np.take(alias, col))


def _used(ids: np.ndarray, n: int) -> np.ndarray:
    """The distinct ids in ``ids`` (all in 1..n), sorted, in O(len) without a sort."""
    return np.flatnonzero(np.bincount(ids, minlength=n + 1)).astype(np.int64)
