import numpy as np
import pytest

from embedzoo.datasets.arrays import (
    alias_table,
    group_time_order,
    position_from_end,
    sorted_unique,
)
from embedzoo.datasets.interactions import sorted_unique as reexported


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64])
def test_sorted_unique_matches_np_unique(dtype):
    values = np.random.default_rng(0).integers(-50, 50, size=5000).astype(dtype)
    out = sorted_unique(values)
    np.testing.assert_array_equal(out, np.unique(values))
    assert out.dtype == dtype
    assert values.shape == (5000,) and not np.all(np.diff(values) >= 0)  # input left unsorted


def test_sorted_unique_edge_cases():
    assert sorted_unique(np.array([], np.int64)).shape == (0,)
    np.testing.assert_array_equal(sorted_unique([3]), [3])
    np.testing.assert_array_equal(sorted_unique([2, 2, 2]), [2])
    np.testing.assert_array_equal(sorted_unique(["b", "a", "b"]), ["a", "b"])


def test_sorted_unique_in_place_and_reexport():
    values = np.random.default_rng(1).integers(0, 1000, size=20_000)
    expected = np.unique(values)
    out = sorted_unique(values, in_place=True)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(values, np.sort(values))  # the input itself is now sorted
    assert reexported is sorted_unique
    with pytest.raises(TypeError):
        sorted_unique([2, 1], in_place=True)


def _alias_distribution(prob, alias):
    """Exact draw probabilities of an alias table: column j kept w.p. prob[j], else alias[j]."""
    n = len(prob)
    p = np.asarray(prob, np.float64) / n
    np.add.at(p, alias, (1.0 - np.asarray(prob, np.float64)) / n)
    return p


@pytest.mark.parametrize(
    "weights",
    [
        np.arange(1, 501, dtype=np.float64) ** -1.0,
        np.random.default_rng(2).random(300) ** 3,
        np.array([0.0, 5.0, 0.0, 1.0, 0.0]),
        np.array([2.0]),
        np.ones(7),
    ],
)
def test_alias_table_follows_weights(weights):
    prob, alias = alias_table(weights)
    assert prob.dtype == np.float64 and alias.dtype == np.int64
    assert np.all((prob >= 0) & (prob <= 1)) and np.all((alias >= 0) & (alias < len(weights)))
    np.testing.assert_allclose(
        _alias_distribution(prob, alias), weights / weights.sum(), atol=1e-12
    )
    zero = weights == 0
    assert not np.any(prob[zero] > 1e-12)  # never kept ...
    assert not np.any(np.isin(alias, np.flatnonzero(zero)) & (prob < 1))  # ... nor an alias


def test_alias_table_dtypes_are_a_cast_of_the_float64_table():
    weights = np.random.default_rng(3).random(1000) ** 2
    prob64, alias64 = alias_table(weights)
    prob32, alias32 = alias_table(weights, prob_dtype=np.float32, alias_dtype=np.int32)
    assert prob32.dtype == np.float32 and alias32.dtype == np.int32
    np.testing.assert_array_equal(prob32, prob64.astype(np.float32))
    np.testing.assert_array_equal(alias32, alias64)


def test_alias_table_draws_match_weights_empirically():
    weights = np.array([1.0, 2.0, 3.0, 4.0])
    prob, alias = alias_table(weights)
    rng = np.random.default_rng(4)
    col = rng.integers(0, 4, 400_000)
    draws = np.where(rng.random(400_000) < prob[col], col, alias[col])
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 400_000, weights / 10, atol=0.005)


def _reference_order(groups, timestamps, item_rank):
    if timestamps is None:
        return np.argsort(groups, kind="stable")
    if item_rank is None:
        return np.lexsort((timestamps, groups))
    return np.lexsort((item_rank, timestamps, groups))


@pytest.mark.parametrize("seed", range(6))
def test_group_time_order_matches_lexsort(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    groups = rng.integers(-2 if seed % 2 else 0, 50, n)
    items = rng.integers(0, 300, n).astype(np.int32)
    timestamps = [
        rng.integers(0, 20, n),  # many ties: the item rank decides
        rng.integers(1_000_000_000, 1_600_000_000, n),
        rng.integers(-(2**62), 2**62, n),  # too wide to pack: made dense
        rng.integers(0, 2**62, n) * np.where(rng.random(n) < 0.5, 1, -1),
        rng.integers(0, 5, n).astype(np.float64) / 3,
        rng.integers(0, 1000, n).astype(np.int32),
    ][seed]
    if seed == 3:  # dense ranks still too wide with wide groups and items: np.lexsort
        groups, items = groups * 2**40, items.astype(np.int64) * 2**20
    for ts in (timestamps, None):
        for ranks in (items, None):
            np.testing.assert_array_equal(
                group_time_order(groups, ts, ranks), _reference_order(groups, ts, ranks)
            )
    if seed % 2 == 0:
        np.testing.assert_array_equal(
            group_time_order(groups, timestamps, items, n_groups=50),
            _reference_order(groups, timestamps, items),
        )


def test_group_time_order_leaves_inputs_alone_and_handles_empty():
    groups, ts, items = np.array([2, 0, 2]), np.array([5, 9, 1]), np.array([1, 1, 1])
    copies = groups.copy(), ts.copy(), items.copy()
    np.testing.assert_array_equal(group_time_order(groups, ts, items), [1, 2, 0])
    for before, after in zip(copies, (groups, ts, items), strict=True):
        np.testing.assert_array_equal(before, after)
    assert group_time_order(np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)


def test_position_from_end_matches_a_loop():
    rng = np.random.default_rng(5)
    groups = np.sort(rng.integers(0, 30, 2000))
    expected = np.empty(len(groups), np.int64)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        expected[rows] = np.arange(len(rows))[::-1]
    out = position_from_end(groups, 40)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(position_from_end(groups), expected)
    assert position_from_end(np.zeros(0, np.int64), 3).shape == (0,)
