"""Train/test splits: random, per-user temporal hold-out, leave-one-out and a global time cut.

Each returns ``(train, test)``, two :class:`~embedzoo.datasets.Interactions` made with
``inter.subset(...)``: rows keep their original relative order and each part's vocabularies are
rebuilt from its own rows (so test may hold ids train does not know). Everything is vectorised
(sorts and bincounts), which keeps 25M-row splits to seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.arrays import group_time_order, position_from_end
from embedzoo.datasets.interactions import ITEM, TIMESTAMP, Interactions
from embedzoo.errors import DataError


def random_split(
    inter: Interactions, test_fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """Splits rows uniformly at random.

    Exactly: ``perm = numpy.random.default_rng(seed).permutation(len(inter))``; the rows at
    ``perm[:n - round(test_fraction * n)]`` are train, the rest test (each part then sorted
    back into row order).

    Args:
        inter: the interactions.
        test_fraction: share of rows in test, in (0, 1).
        seed: the permutation's seed.

    Example:
        >>> from embedzoo.datasets import random_split
        >>> train, test = random_split(data, 0.2, seed=42)  # data: 1,000 rows (ML-100k: 80000, 20000)
        >>> len(train), len(test)
        (800, 200)
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"random_split: test_fraction must lie in (0, 1), got {test_fraction}")
    n = len(inter)
    n_train = n - round(test_fraction * n)
    if n_train == 0 or n_train == n:
        raise DataError(
            f"random_split: {n} rows with test_fraction={test_fraction} leave a part empty"
        )
    perm = np.random.default_rng(seed).permutation(n)
    is_train = np.zeros(n, dtype=bool)
    is_train[perm[:n_train]] = True  # a mask puts each part back in row order without a sort
    return inter.subset(np.flatnonzero(is_train)), inter.subset(np.flatnonzero(~is_train))


def temporal_holdout(
    inter: Interactions, test_fraction: float = 0.1
) -> tuple[Interactions, Interactions]:
    """Holds out each user's latest interactions.

    A user with ``n`` interactions gives ``min(ceil(test_fraction * n), n - 1)`` to test: the
    ones with the largest ``(timestamp, item id)`` keys, so equal timestamps are broken by the
    larger item id counting as later. Every user keeps at least one training row; a user with
    a single interaction keeps it in train and has none in test. ``ceil`` allows for float
    error (``0.1 * 30`` gives 3, not 4).

    Args:
        inter: interactions with timestamps.
        test_fraction: the share of each user's rows to hold out, in (0, 1).

    Raises:
        DataError: there is no timestamp column, or the test part would be empty.

    Example:
        >>> from embedzoo.datasets import temporal_holdout
        >>> train, test = temporal_holdout(data, 0.1)  # data: e.g. load_ml100k()
        >>> len(train), len(test)
        (875, 125)
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"temporal_holdout: test_fraction must lie in (0, 1), got {test_fraction}")
    counts = _user_counts(inter, "temporal_holdout")
    n_test = np.ceil(counts * test_fraction - 1e-9).astype(np.int64)
    return _tail_split(inter, np.minimum(n_test, np.maximum(counts - 1, 0)), "temporal_holdout")


def leave_one_out(inter: Interactions) -> tuple[Interactions, Interactions]:
    """Holds out each user's latest interaction (ties: the larger item id is later).

    Users with a single interaction keep it in train and have none in test.

    Raises:
        DataError: there is no timestamp column, or no user has two interactions.

    Example:
        >>> from embedzoo.datasets import leave_one_out
        >>> train, test = leave_one_out(data)  # data: 50 users (ML-100k: 943)
        >>> len(test)
        50
    """
    counts = _user_counts(inter, "leave_one_out")
    return _tail_split(inter, (counts >= 2).astype(np.int64), "leave_one_out")


def time_cut(inter: Interactions, timestamp: int | float) -> tuple[Interactions, Interactions]:
    """Splits globally at a moment: rows with ``timestamp < cut`` train, the others test.

    Args:
        inter: interactions with timestamps.
        timestamp: the cut, in the data's timestamp unit (seconds for MovieLens).

    Raises:
        DataError: no timestamp column, or a part would be empty (the message gives the range).

    Example:
        >>> from embedzoo.datasets import time_cut
        >>> train, test = time_cut(data, 1_400_000_000)  # a Unix time (ML-100k: 889_000_000)
        >>> len(train), len(test)
        (612, 388)
    """
    _require_timestamps(inter, "time_cut")
    ts = inter.frame[TIMESTAMP].to_numpy()
    is_train = ts < timestamp
    n_train = int(is_train.sum())
    if n_train in (0, len(inter)):
        raise DataError(
            f"time_cut at {timestamp} leaves the {'train' if n_train == 0 else 'test'} part "
            f"empty (timestamps span {ts.min()}..{ts.max()})"
        )
    return inter.subset(np.flatnonzero(is_train)), inter.subset(np.flatnonzero(~is_train))


def _require_timestamps(inter: Interactions, what: str) -> None:
    if not inter.has_timestamps:
        raise DataError(f"{inter._where()}: {what} needs a timestamp column; there is none")
    if len(inter) == 0:
        raise DataError(f"{inter._where()}: {what} of no rows")


def _user_counts(inter: Interactions, what: str) -> np.ndarray:
    """Per-row count of the row's user's interactions."""
    _require_timestamps(inter, what)
    uidx = inter.user_index
    return np.bincount(uidx, minlength=inter.users.size)[uidx]


def _tail_split(inter: Interactions, n_test: np.ndarray, what: str):
    """Sends each user's last ``n_test`` rows by (timestamp, item id) to test."""
    uidx = inter.user_index
    order = user_time_item_order(inter)
    from_end = position_from_end(uidx[order], inter.users.size)  # 0 = the user's latest row
    is_test = np.zeros(len(inter), dtype=bool)
    is_test[order] = from_end < n_test[order]
    if not is_test.any():
        raise DataError(f"{inter._where()}: {what} leaves the test part empty")
    return inter.subset(np.flatnonzero(~is_test)), inter.subset(np.flatnonzero(is_test))


def user_time_item_order(inter: Interactions) -> np.ndarray:
    """Row positions sorted by (user, timestamp, item id), then row order.

    See :func:`~embedzoo.datasets.arrays.group_time_order` (one stable argsort of a packed
    int64 key when it fits).
    """
    return group_time_order(
        inter.user_index,
        inter.frame[TIMESTAMP].to_numpy(),
        _item_rank(inter),
        n_groups=inter.users.size,
    )


def _item_rank(inter: Interactions) -> np.ndarray:
    """A per-row key that orders rows as their raw item ids do."""
    ids = inter.items.ids
    if len(ids) < 2 or bool(
        np.all(ids[1:] > ids[:-1])
    ):  # sorted vocabulary: index order is id order
        return inter.item_index
    return pd.factorize(inter.frame[ITEM], sort=True)[0]
