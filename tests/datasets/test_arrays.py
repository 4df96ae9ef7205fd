import numpy as np
import pytest

from embedzoo.datasets.interactions import sorted_unique


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
