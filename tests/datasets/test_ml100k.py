"""The real MovieLens-100k (RecBole's copy, fetched once per cache with pip download)."""

import math

import numpy as np

from embedzoo.datasets import k_core, leave_one_out, load, random_split, temporal_holdout


def test_shape_and_content(ml100k):
    f = ml100k.frame
    assert len(ml100k) == 100_000
    assert len(ml100k.users) == 943 and len(ml100k.items) == 1_682
    assert ml100k.users.dtype == "int64" and ml100k.items.dtype == "int64"
    assert sorted(np.unique(f["rating"]).tolist()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert f.iloc[0].tolist() == [196, 242, 3, 881250949]  # GroupLens u.data order
    assert ml100k.item_titles([50]) == ["Star Wars"]
    meta = ml100k.item_metadata
    assert meta.loc[50, "year"] == 1977
    assert meta.loc[50, "genres"] == "Action|Adventure|Romance|Sci-Fi|War"
    assert meta.loc[1, "title"] == "Toy Story"
    assert len(meta) == 1_682 and len(ml100k.user_metadata) == 943


def test_random_split_reproduces_the_permutation(ml100k):
    train, test = random_split(ml100k, 0.2, seed=42)
    assert (len(train), len(test)) == (80_000, 20_000)
    perm = np.random.default_rng(42).permutation(100_000)
    expected = ml100k.frame.iloc[np.sort(perm[:80_000])].reset_index(drop=True)
    assert train.frame.equals(expected)
    assert test.frame.equals(ml100k.frame.iloc[np.sort(perm[80_000:])].reset_index(drop=True))


def test_temporal_splits(ml100k):
    counts = ml100k.frame.groupby("user").size()
    train, test = temporal_holdout(ml100k, 0.1)
    expected = counts.map(lambda n: math.ceil(round(0.1 * n, 9)))
    assert test.frame.groupby("user").size().sort_index().equals(expected.sort_index())
    assert len(train) + len(test) == 100_000
    last_train = train.frame.groupby("user")["timestamp"].max()
    first_test = test.frame.groupby("user")["timestamp"].min()
    assert (last_train <= first_test).all()
    train, test = leave_one_out(ml100k)
    assert len(test) == 943 and len(train) == 100_000 - 943


def test_k_core_on_real_data(ml100k):
    core = k_core(ml100k, 50, 50, strict=False)
    assert core.frame.groupby("user").size().min() >= 50
    assert core.frame.groupby("item").size().min() >= 50
    assert len(core) < len(ml100k)


def test_load_by_name(ml100k, embedzoo_cache):
    assert load("ml-100k", cache_dir=embedzoo_cache).frame.equals(ml100k.frame)
