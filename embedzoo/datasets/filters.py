"""Row filters: k-core, de-duplication and binarisation.

Each returns a new :class:`~embedzoo.datasets.Interactions` built with ``inter.subset(rows)``
(vocabularies rebuilt from the kept rows, rows in their original order) and never changes its
input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import RATING, TIMESTAMP, Interactions
from embedzoo.errors import DataError


def k_core(
    inter: Interactions,
    min_user_interactions: int = 5,
    min_item_interactions: int = 5,
    strict: bool = True,
) -> Interactions:
    """Keeps the largest sub-graph where every user and item has enough interactions.

    With ``strict=True`` (the default) a user is kept while its count ``n_u > k_user`` and an
    item while ``n_i > k_item`` (strictly more than k; k=5 keeps users with 6 or more). With
    ``strict=False`` the test is ``n >= k``. Dropping items can push users under the bar and
    vice versa, so the filter repeats until a pass removes nothing. Duplicate rows count once
    each.

    Args:
        inter: the interactions.
        min_user_interactions: ``k_user``.
        min_item_interactions: ``k_item``.
        strict: compare with ``>`` (True) or ``>=`` (False).

    Raises:
        DataError: nothing is left ("k-core with k=… left no interactions").

    Example:
        >>> from embedzoo.datasets import k_core
        >>> core = k_core(data, 5, 5, strict=False)  # data: 1,000 rows of 50 users, 169 items
        >>> len(core), len(core.users), len(core.items)
        (734, 49, 41)
    """
    uidx, iidx = inter.user_index, inter.item_index
    nu, ni = inter.users.size, inter.items.size
    keep = np.ones(len(inter), dtype=bool)
    while True:
        ucount = np.bincount(uidx[keep], minlength=nu)
        icount = np.bincount(iidx[keep], minlength=ni)
        if strict:
            ok_u, ok_i = ucount > min_user_interactions, icount > min_item_interactions
        else:
            ok_u, ok_i = ucount >= min_user_interactions, icount >= min_item_interactions
        new = keep & ok_u[uidx] & ok_i[iidx]
        if new.sum() == keep.sum():
            break
        keep = new
    if not keep.any():
        k = (
            f"{min_user_interactions}"
            if min_user_interactions == min_item_interactions
            else f"{min_user_interactions} (users), {min_item_interactions} (items)"
        )
        raise DataError(
            f"{inter._where()}: k-core with k={k} ({'>' if strict else '>='} k interactions) "
            f"left no interactions of {len(inter)}"
        )
    return inter.subset(np.flatnonzero(keep))


def dedupe(inter: Interactions, keep: str = "last") -> Interactions:
    """Keeps one row per (user, item) pair.

    With timestamps, ``"last"`` keeps the latest row of each pair and ``"first"`` the earliest;
    equal timestamps (and data without timestamps) fall back to row order. Kept rows stay in
    their original order.

    Args:
        inter: the interactions.
        keep: ``"last"`` or ``"first"``.

    Example:
        >>> from embedzoo.datasets import Interactions, dedupe
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user": [1, 1], "item": [7, 7], "rating": [2.0, 5.0]})
        >>> dedupe(Interactions.from_frame(df)).ratings.tolist()
        [5.0]
    """
    if keep not in ("first", "last"):
        raise DataError(f"dedupe: keep must be 'first' or 'last', not {keep!r}")
    pair = inter.user_index.astype(np.int64) * inter.items.size + inter.item_index
    n = len(inter)
    order = np.arange(n)
    if inter.has_timestamps and n:  # by timestamp, equal timestamps in row order
        ts = inter.frame[TIMESTAMP].to_numpy().astype(np.int64, copy=False)
        span = int(ts.max()) - int(ts.min()) + 1
        if span * n < 2**63:  # one unique int64 key sorts faster than a stable sort
            order = np.argsort((ts - ts.min()) * n + order)
        else:
            order = np.argsort(ts, kind="stable")
    kept = pd.Series(pair[order]).drop_duplicates(keep=keep).index.to_numpy()
    return inter.subset(np.sort(order[kept]))


def binarize(inter: Interactions, threshold: float = 4.0) -> Interactions:
    """Turns explicit ratings into implicit positives.

    Rows with ``rating >= threshold`` are kept with their rating set to 1.0; the others are
    dropped (not kept as zeros).

    Args:
        inter: interactions with a rating column.
        threshold: the lowest rating that counts as a positive.

    Raises:
        DataError: there are no ratings, or no rating reaches the threshold.

    Example:
        >>> from embedzoo.datasets import Interactions, binarize
        >>> import pandas as pd
        >>> df = pd.DataFrame({"user": [1, 1, 2], "item": [7, 8, 7], "rating": [5.0, 2.0, 4.0]})
        >>> len(binarize(Interactions.from_frame(df)))
        2
    """
    rows = np.flatnonzero(inter.ratings >= threshold)
    if len(rows) == 0:
        raise DataError(f"{inter._where()}: binarize(threshold={threshold}) left no interactions")
    out = inter.subset(rows)
    out.frame[RATING] = np.ones(len(out), dtype=np.float32)
    return out
