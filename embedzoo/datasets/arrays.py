"""Vectorised numpy building blocks shared across the package (dedupe, alias tables, orders).

This module sits in the lowest layer (``embedzoo.datasets``) and imports only numpy and
pandas, so ``embedzoo.core``, ``embedzoo.training`` and ``embedzoo.zoo`` may all use it. Each
function is written for 25M-row inputs: sorts and bincounts, no Python loop per row (the alias
table's loop runs once per table entry).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, DTypeLike


def sorted_unique(values: ArrayLike, *, in_place: bool = False) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` without its cost.

    A sort and a neighbour comparison; numpy 2's ``np.unique`` hashes first and then sorts
    anyway, which is much slower on tens of millions of int64 keys (``docs/benchmarks.md``).

    Args:
        values: the values (any sortable array-like).
        in_place: sort ``values`` itself (it must then be a numpy array) instead of a copy,
            which saves one array of the input's size; ``values`` is left sorted.

    Returns:
        A new array of the distinct values in ascending order, of ``values``' dtype.

    Raises:
        TypeError: ``in_place`` with something that is not a numpy array.

    Example:
        >>> import numpy as np
        >>> from embedzoo.datasets.arrays import sorted_unique
        >>> sorted_unique([3, 1, 3, 2, 1]).tolist()
        [1, 2, 3]
        >>> keys = np.array([5, 4, 5])
        >>> sorted_unique(keys, in_place=True).tolist(), keys.tolist()
        ([4, 5], [4, 5, 5])
    """
    if in_place:
        if not isinstance(values, np.ndarray):
            raise TypeError(
                f"sorted_unique(in_place=True) needs a numpy array, got {type(values).__name__}"
            )
        values.sort()
    else:
        values = np.sort(np.asarray(values))
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def alias_table(
    weights: ArrayLike,
    *,
    prob_dtype: DTypeLike = np.float64,
    alias_dtype: DTypeLike = np.int64,
) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of a discrete distribution proportional to ``weights``.

    To draw: pick a column ``j`` uniformly, keep it with probability ``prob[j]``, else take
    ``alias[j]``. The result follows ``weights`` exactly (zero-weight columns are never drawn,
    up to float rounding). Building is O(n) once (a Python loop over the columns); every draw
    is then O(1): one uniform and two table reads.

    Args:
        weights: non-negative weights, at least one positive (they need not sum to 1).
        prob_dtype: dtype of the returned keep probabilities (computed in float64, then cast).
        alias_dtype: integer dtype of the returned aliases.

    Returns:
        ``(prob, alias)``, each of ``len(weights)``: ``prob`` in [0, 1], ``alias`` column indices.

    Example:
        >>> from embedzoo.datasets.arrays import alias_table
        >>> prob, alias = alias_table([1.0, 3.0])
        >>> prob.tolist(), alias.tolist()
        ([0.5, 1.0], [1, 1])
        >>> # column 0 kept half the time: P(0) = 0.5 / 2 = 1/4, P(1) = (1 + 0.5) / 2 = 3/4
    """
    weights = np.asarray(weights)
    n = len(weights)
    scaled = (weights * (n / weights.sum())).tolist()
    alias = np.arange(n, dtype=alias_dtype)
    small = [j for j, w in enumerate(scaled) if w < 1.0]
    large = [j for j, w in enumerate(scaled) if w >= 1.0]
    while small and large:
        lo, hi = small.pop(), large.pop()
        alias[lo] = hi
        scaled[hi] -= 1.0 - scaled[lo]
        (small if scaled[hi] < 1.0 else large).append(hi)
    for j in large + small:  # leftovers are 1 up to rounding
        scaled[j] = 1.0
    prob = np.minimum(np.asarray(scaled, dtype=np.float64), 1.0)
    return prob.astype(prob_dtype, copy=False), alias


def group_time_order(
    groups: ArrayLike,
    timestamps: ArrayLike | None = None,
    item_rank: ArrayLike | None = None,
    *,
    n_groups: int | None = None,
) -> np.ndarray:
    """Row positions sorted by (group, timestamp, item rank), then row order.

    The same order as ``np.lexsort((item_rank, timestamps, groups))``, computed as one stable
    argsort of a packed int64 key when the keys' ranges fit in 63 bits (timestamps are made
    dense first when their range is too wide); ``np.lexsort`` over three keys is much slower
    at 25M rows (``docs/benchmarks.md``) and is only the last resort.

    Args:
        groups: int group of each row (a user index, a session code; negatives allowed).
        timestamps: int (or finite float) time of each row. ``None``: the rows are taken to be in
            time order already and the result is the stable sort by group alone (``item_rank``
            is then not used).
        item_rank: int tie-breaker between equal timestamps in a group (an item index whose
            order is the raw item id order); ``None``: ties keep row order.
        n_groups: ``groups`` lie in ``0..n_groups-1`` (saves a pass over them); default: found
            from their range.

    Returns:
        An int array of the row positions (a permutation of ``0..len(groups)-1``).

    Example:
        >>> from embedzoo.datasets.arrays import group_time_order
        >>> group_time_order([1, 0, 1, 1], [30, 50, 10, 10], [2, 9, 5, 4]).tolist()
        [1, 3, 2, 0]
        >>> group_time_order([1, 0, 1, 0]).tolist()
        [1, 3, 0, 2]
    """
    groups = np.asarray(groups)
    if timestamps is None:
        return np.argsort(groups, kind="stable")
    if len(groups) == 0:
        return np.zeros(0, dtype=np.intp)
    g = groups.astype(np.int64)  # a copy: the packed key is built in it
    if n_groups is None:
        g, n_groups = _from_zero(g)
    n_groups = int(n_groups)
    if item_rank is not None:
        r, n_items = _from_zero(np.asarray(item_rank).astype(np.int64, copy=False))
    else:
        r, n_items = None, 1
    ts = np.asarray(timestamps)
    if not np.issubdtype(ts.dtype, np.integer):  # the exact order of floats: their dense ranks
        ts = pd.factorize(ts, sort=True)[0]
    ts = ts.astype(np.int64, copy=False)
    ts_min = int(ts.min())
    n_ts = int(ts.max()) - ts_min + 1
    if n_groups * n_ts * n_items >= 2**63:
        codes, distinct = pd.factorize(ts, sort=True)
        ts, n_ts = codes.astype(np.int64), len(distinct)
    else:
        ts = ts - ts_min
    if n_groups * n_ts * n_items >= 2**63:
        return np.lexsort((ts, g) if r is None else (r, ts, g))
    g *= n_ts
    g += ts
    if r is not None:
        g *= n_items
        g += r
    return np.argsort(g, kind="stable")


def position_from_end(sorted_groups: ArrayLike, n_groups: int | None = None) -> np.ndarray:
    """Each row's distance from the end of its group: 0 for a group's last row, 1 before it, ...

    With rows in time order within each group, ``position_from_end(g) < n`` marks each group's
    last ``n`` rows.

    Args:
        sorted_groups: non-negative int group of each row, rows of a group contiguous and
            groups in ascending order (e.g. ``groups[order]`` for ``order`` from
            :func:`group_time_order`, or any stable argsort by group).
        n_groups: the number of groups (``max + 1`` by default); only sizes the bincount.

    Returns:
        int64 array of ``len(sorted_groups)``.

    Example:
        >>> from embedzoo.datasets.arrays import position_from_end
        >>> position_from_end([0, 0, 0, 2, 2]).tolist()
        [2, 1, 0, 1, 0]
    """
    sorted_groups = np.asarray(sorted_groups)
    ends = np.cumsum(np.bincount(sorted_groups, minlength=n_groups or 0))  # one past each last
    return ends[sorted_groups] - 1 - np.arange(len(sorted_groups))


def _from_zero(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``x`` (int64) shifted to start at 0 when it has negatives, and its range's size."""
    lo, hi = int(x.min()), int(x.max())
    if lo < 0:
        return x - lo, hi - lo + 1
    return x, hi + 1
