"""Small data sets and fixtures for model and training tests."""

import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import Interactions

#: a base for the synthetic timestamps, so they are plausible Unix seconds (2020-09-13)
T0 = 1_600_000_000


def make_ratings(n_users=60, n_items=40, n_rows=900, seed=0, string_ids=False):
    """Small explicit-feedback data with a low-rank structure a model can learn."""
    rng = np.random.default_rng(seed)
    pu, qi = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    pairs = rng.choice(n_users * n_items, size=n_rows, replace=False)
    u, i = pairs // n_items, pairs % n_items
    r = np.clip(np.round(3 + (pu[u] * qi[i]).sum(1) * 0.8 + rng.normal(0, 0.3, n_rows)), 1, 5)
    users = [f"u{x}" for x in u] if string_ids else u + 1
    items = [f"i{x}" for x in i] if string_ids else i + 101
    frame = pd.DataFrame(
        {"user": users, "item": items, "rating": r, "timestamp": T0 + np.arange(n_rows)}
    )
    return Interactions.from_frame(frame, source="tiny")


@pytest.fixture(scope="session")
def tiny():
    return make_ratings()


@pytest.fixture(scope="session")
def tiny_str():
    return make_ratings(string_ids=True, seed=1)


def make_implicit(n_users=60, n_items=40, per_user=(6, 20), seed=0, string_ids=False):
    """Small implicit-feedback data (no ratings, with timestamps) with a low-rank structure:
    each user picks items by softmax of a dot product plus popularity, without repeats."""
    rng = np.random.default_rng(seed)
    pu, qi = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    pop = np.linspace(1.5, -1.5, n_items)
    users, items = [], []
    for u in range(n_users):
        logits = pu[u] @ qi.T * 1.5 + pop
        p = np.exp(logits - logits.max())
        chosen = rng.choice(n_items, size=rng.integers(*per_user), replace=False, p=p / p.sum())
        users += [u] * len(chosen)
        items += chosen.tolist()
    u, i = np.array(users), np.array(items)
    frame = pd.DataFrame(
        {
            "user": [f"u{x}" for x in u] if string_ids else u + 1,
            "item": [f"i{x}" for x in i] if string_ids else i + 101,
            "timestamp": T0 + rng.permutation(len(u)),
        }
    )
    return Interactions.from_frame(frame, source="tiny_implicit")


PLANTED_WORDS = (
    "galaxy starship rebel empire planet laser pilot droid orbit comet",
    "wedding romance kiss heart lover date bride flowers letter dance",
)


def make_planted(n_users=40, n_items=30, own=10, other=2, seed=0):
    """Two planted clusters: item ``i`` and user ``u`` belong to cluster ``id % 2``. Each user
    rates ``own`` items of their cluster 5 and ``other`` items of the other cluster 1, and
    every item's text is drawn from its cluster's words (for content models)."""
    from embedzoo.datasets import item_texts

    rng = np.random.default_rng(seed)
    items = np.arange(n_items)
    rows = []
    for u in range(n_users):
        mine, theirs = items[items % 2 == u % 2], items[items % 2 != u % 2]
        rows += [(u + 100, int(i) + 1000, 5.0) for i in rng.choice(mine, own, replace=False)]
        rows += [(u + 100, int(i) + 1000, 1.0) for i in rng.choice(theirs, other, replace=False)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    frame["timestamp"] = T0 + rng.permutation(len(frame))
    data = Interactions.from_frame(frame, source="planted")
    texts = [
        " ".join(rng.choice(PLANTED_WORDS[int(i) % 2].split(), size=12)) for i in data.items.ids
    ]
    return item_texts(pd.DataFrame({"item": data.items.ids, "text": texts}), interactions=data)


@pytest.fixture(scope="session")
def planted():
    return make_planted()
