import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import (
    Interactions,
    Vocabulary,
    leave_one_out,
    random_split,
    temporal_holdout,
    time_cut,
)
from embedzoo.errors import DataError


def _inter(users, items, stamps=None):
    cols = {"user": users, "item": items}
    if stamps is not None:
        cols["timestamp"] = stamps
    return Interactions.from_frame(pd.DataFrame(cols), timestamp_unit="order")


def _user_rows(n, user, t0=0):
    return [user] * n, list(range(100, 100 + n)), list(range(t0, t0 + n))


def test_random_split_is_the_documented_permutation():
    data = _inter(list(range(10)), list(range(10)))
    train, test = random_split(data, test_fraction=0.25, seed=3)
    perm = np.random.default_rng(3).permutation(10)
    n_test = round(0.25 * 10)  # Python rounds 2.5 to 2
    assert train.frame["user"].tolist() == sorted(perm[: 10 - n_test].tolist())
    assert test.frame["user"].tolist() == sorted(perm[10 - n_test :].tolist())
    again, _ = random_split(data, test_fraction=0.25, seed=3)
    assert again.frame.equals(train.frame)
    other, _ = random_split(data, test_fraction=0.25, seed=4)
    assert not other.frame.equals(train.frame)


def test_random_split_bad_fraction():
    data = _inter([1, 2], [1, 2])
    with pytest.raises(DataError, match="test_fraction"):
        random_split(data, 1.0)
    with pytest.raises(DataError, match="leave a part empty"):
        random_split(data, 0.1)


def test_temporal_holdout_counts_ceil_per_user():
    users, items, stamps = [], [], []
    for user, n in (("a", 30), ("b", 11), ("c", 2), ("d", 1), ("e", 10)):
        u, i, t = _user_rows(n, user, t0=1000 * len(users))
        users += u
        items += i
        stamps += t
    frame = pd.DataFrame({"user": users, "item": items, "timestamp": stamps})
    data = Interactions.from_frame(
        frame.sample(frac=1.0, random_state=0), timestamp_unit="order"
    )  # order must not matter
    train, test = temporal_holdout(data, 0.1)
    got = test.frame.groupby("user").size().to_dict()
    assert got == {"a": 3, "b": 2, "c": 1, "e": 1}  # 0.1*30 is 3 (not 4); d keeps its only row
    assert "d" in train.users and "d" not in test.users
    last = train.frame.groupby("user")["timestamp"].max()
    first = test.frame.groupby("user")["timestamp"].min()
    assert (last[first.index] < first).all()
    assert len(train) + len(test) == len(data)


def test_temporal_holdout_ties_go_to_larger_item_id():
    data = _inter([1, 1, 1, 1], [30, 10, 40, 20], [5, 9, 9, 9])
    train, test = temporal_holdout(data, 0.5)
    assert sorted(test.frame["item"].tolist()) == [20, 40]  # of 10, 20, 40 at t=9
    _, one = leave_one_out(data)
    assert one.frame["item"].tolist() == [40]


def test_tie_rule_with_unsorted_string_vocabulary():
    frame = pd.DataFrame({"user": [1, 1, 1], "item": ["b", "c", "a"], "timestamp": [1, 1, 1]})
    data = Interactions(frame, items=Vocabulary(["c", "a", "b"]))
    _, test = leave_one_out(data)
    assert test.frame["item"].tolist() == ["c"]


def test_leave_one_out():
    data = _inter([1, 1, 1, 2, 3, 3], [5, 6, 7, 5, 8, 9], [3, 1, 2, 7, 1, 1])
    train, test = leave_one_out(data)
    assert test.frame[["user", "item"]].values.tolist() == [[1, 5], [3, 9]]
    assert train.frame[["user", "item"]].values.tolist() == [[1, 6], [1, 7], [2, 5], [3, 8]]
    assert test.users.to_list() == [1, 3]  # each part's vocabulary comes from its own rows
    with pytest.raises(DataError, match="leaves the test part empty"):
        leave_one_out(_inter([1, 2], [1, 1], [0, 0]))


def test_time_cut():
    data = _inter([1, 1, 2, 2], [1, 2, 1, 3], [10, 20, 30, 40])
    train, test = time_cut(data, 30)
    assert train.frame["timestamp"].tolist() == [10, 20]
    assert test.frame["timestamp"].tolist() == [30, 40]
    with pytest.raises(DataError, match=r"test part empty \(timestamps span 10..40\)"):
        time_cut(data, 50)
    with pytest.raises(DataError, match="train part empty"):
        time_cut(data, 10)


@pytest.mark.parametrize("split", [temporal_holdout, leave_one_out, lambda d: time_cut(d, 1)])
def test_splits_need_timestamps(split):
    with pytest.raises(DataError, match="needs a timestamp column"):
        split(_inter([1, 2], [1, 2]))


@pytest.mark.parametrize("scale", [1, 10**15])  # 10**15: too wide to pack, made dense
def test_holdout_matches_a_pandas_reference(scale):
    rng = np.random.default_rng(5)
    n = 3_000
    frame = pd.DataFrame(
        {
            "user": rng.integers(1, 60, n),
            "item": rng.integers(1, 400, n),
            "timestamp": rng.integers(0, 50, n) * scale,  # many ties
        }
    )
    data = Interactions.from_frame(frame, timestamp_unit="order")
    _, test = temporal_holdout(data, 0.3)
    ref = frame.assign(row=np.arange(n)).sort_values(["user", "timestamp", "item", "row"])
    size = ref.groupby("user")["row"].transform("size")
    n_test = np.minimum(np.ceil(size * 0.3 - 1e-9), size - 1)
    from_end = size - 1 - ref.groupby("user").cumcount()
    expected = np.sort(ref.loc[from_end < n_test, "row"].to_numpy())
    assert test.frame.equals(frame.iloc[expected].reset_index(drop=True))


def test_empty_interactions():
    empty = Interactions.from_frame(
        pd.DataFrame({"user": [], "item": [], "timestamp": []}), allow_empty=True
    )
    for split in (leave_one_out, lambda d: time_cut(d, 0)):
        with pytest.raises(DataError, match="of no rows"):
            split(empty)
