import numpy as np
import pytest

from embedzoo.datasets import synthetic
from embedzoo.errors import DataError


@pytest.fixture(scope="module")
def data():
    return synthetic(n_users=2_000, n_items=3_000, n_interactions=200_000, seed=7)


def test_shape_types_and_vocabularies(data):
    f = data.frame
    assert len(data) == 200_000
    assert f.dtypes.astype(str).to_dict() == {
        "user": "int64", "item": "int64", "rating": "float32", "timestamp": "int64"
    }  # fmt: skip
    assert f["user"].between(1, 2_000).all() and f["item"].between(1, 3_000).all()
    assert data.users.to_list() == sorted(f["user"].unique().tolist())  # only ids that occur
    assert data.items.to_list() == sorted(f["item"].unique().tolist())
    sparse = synthetic(n_users=10, n_items=5_000, n_interactions=500)
    assert len(sparse.items) == sparse.frame["item"].nunique() < 5_000
    assert set(np.unique(f["rating"]).tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert f["timestamp"].between(789_652_009, 1_574_327_703).all()


def test_popularity_is_skewed(data):
    counts = np.sort(data.frame["item"].value_counts().to_numpy())[::-1]
    top = counts[: 3_000 // 100].sum() / len(data)  # top 1% of the item range
    assert top > 0.35  # Zipf a=1 over 3,000 items: H(30)/H(3000) ~ 0.47
    users = data.frame["user"].value_counts()
    assert users.max() > 5 * users.median()
    assert not data.frame["item"].value_counts().index[0] == 1  # ranks shuffled over ids


def test_ratings_carry_a_learnable_signal(data):
    f = data.frame
    per_item = f.groupby("item")["rating"].agg(["mean", "size"])
    spread = per_item.loc[per_item["size"] >= 200, "mean"].std()
    assert spread > 0.3  # item effects far above sampling noise (~0.07 at 200 ratings)
    assert 2.5 < f["rating"].mean() < 4.0 and f["rating"].std() > 0.7


def test_reproducible_and_options():
    a = synthetic(n_users=50, n_items=40, n_interactions=1_000, seed=1)
    b = synthetic(n_users=50, n_items=40, n_interactions=1_000, seed=1)
    c = synthetic(n_users=50, n_items=40, n_interactions=1_000, seed=2)
    assert a.frame.equals(b.frame) and not a.frame.equals(c.frame)
    bare = synthetic(10, 10, 100, with_ratings=False, with_timestamps=False)
    assert list(bare.frame.columns) == ["user", "item"]
    flat = synthetic(10, 1_000, 100_000, zipf_exponent=0.0, seed=3)
    assert flat.frame["item"].value_counts().max() < 200  # uniform: ~100 each
    with pytest.raises(DataError, match="positive"):
        synthetic(0, 10, 10)
