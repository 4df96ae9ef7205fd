import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import Interactions, binarize, dedupe, k_core
from embedzoo.errors import DataError


def _inter(rows, columns=("user", "item", "rating", "timestamp")):
    return Interactions.from_frame(
        pd.DataFrame(rows, columns=list(columns)), timestamp_unit="order"
    )


def _pairs(inter):
    return list(zip(inter.frame["user"], inter.frame["item"], strict=True))


# A needs a second pass: dropping item z (1 rating) leaves user C with one rating, and only
# then is C dropped.
CHAIN = [("A", "x"), ("A", "y"), ("B", "x"), ("B", "y"), ("C", "z"), ("C", "y")]


def test_k_core_iterates_until_stable():
    data = _inter(CHAIN, ("user", "item"))
    core = k_core(data, 2, 2, strict=False)
    assert _pairs(core) == [("A", "x"), ("A", "y"), ("B", "x"), ("B", "y")]
    assert core.users.to_list() == ["A", "B"] and core.items.to_list() == ["x", "y"]
    assert len(data) == 6 and data.users.to_list() == ["A", "B", "C"]  # input untouched


def test_k_core_strict_means_more_than_k():
    data = _inter(CHAIN, ("user", "item"))
    assert _pairs(k_core(data, 1, 1, strict=True)) == _pairs(k_core(data, 2, 2, strict=False))
    # every user and item of the 4-row core has exactly 2 interactions: > 2 keeps nothing
    with pytest.raises(DataError, match=r"k-core with k=2 \(> k interactions\) left no"):
        k_core(data, 2, 2)


def test_k_core_separate_thresholds():
    rows = [(u, i) for u in range(1, 4) for i in range(1, 6)] + [(9, 1)]
    core = k_core(_inter(rows, ("user", "item")), min_user_interactions=1, min_item_interactions=2)
    assert 9 not in core.users and len(core) == 15  # user 9: 1 rating, not > 1
    with pytest.raises(DataError, match=r"k=9 \(users\), 1 \(items\)"):
        k_core(_inter(rows, ("user", "item")), 9, 1)


def test_dedupe_by_timestamp_then_row_order():
    rows = [(1, 7, 1.0, 5), (1, 7, 2.0, 3), (2, 7, 4.0, 1), (1, 7, 3.0, 5), (1, 8, 5.0, 0)]
    data = _inter(rows)
    last = dedupe(data)
    assert last.frame.values.tolist() == [[2, 7, 4.0, 1], [1, 7, 3.0, 5], [1, 8, 5.0, 0]]
    first = dedupe(data, keep="first")
    assert first.frame.values.tolist() == [[1, 7, 2.0, 3], [2, 7, 4.0, 1], [1, 8, 5.0, 0]]
    assert len(data) == 5


def test_dedupe_without_timestamps_uses_row_order():
    data = _inter([(1, 7, 1.0), (1, 7, 2.0), (2, 7, 3.0)], ("user", "item", "rating"))
    assert dedupe(data).ratings.tolist() == [2.0, 3.0]
    assert dedupe(data, keep="first").ratings.tolist() == [1.0, 3.0]
    with pytest.raises(DataError, match="keep must be"):
        dedupe(data, keep="max")


def test_binarize():
    data = _inter([(1, 7, 5.0, 0), (1, 8, 3.5, 0), (2, 8, 4.0, 0), (3, 9, 1.0, 0)])
    pos = binarize(data)
    assert _pairs(pos) == [(1, 7), (2, 8)]
    assert pos.ratings.tolist() == [1.0, 1.0] and pos.ratings.dtype == np.float32
    assert pos.users.to_list() == [1, 2]  # rebuilt from the kept rows
    assert data.ratings.tolist() == [5.0, 3.5, 4.0, 1.0]  # input untouched
    assert len(binarize(data, threshold=3.5)) == 3
    with pytest.raises(DataError, match=r"binarize\(threshold=6\) left no interactions"):
        binarize(data, threshold=6)
    with pytest.raises(DataError, match="no rating column"):
        binarize(_inter([(1, 2)], ("user", "item")))
