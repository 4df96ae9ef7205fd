"""Names the package's docstring examples use (``pytest --doctest-modules embedzoo``).

Every doctest runs in a scratch folder (files it writes stay there; ``ratings.csv``,
``ratings.parquet`` and ``book_links.csv`` are waiting in it) and sees, besides its module's
globals, the objects below that its source mentions, built once per session on tiny
synthetic data (no download, at most one epoch of training each):

- ``data``: 1,000 synthetic ratings of 50 users × 200 items, with ``item_metadata``
  (``title``, ``genres``); ``train`` and ``test``: ``random_split(data, 0.2, seed=42)``;
- ``model``: a ``dot_bias_mf`` trained one epoch on ``train`` (validation: ``test``), its
  ``History`` as ``history``; ``bpr`` and ``pop``: a ``bpr`` and a ``popularity`` model
  trained on ``train``; ``gmf`` and ``mlp``: built (untrained) on ``train``;
- ``pairs``: (entity, link) pairs of 30 entities with ``item_metadata["genres"]``;
  ``link_model``: a ``link_embedding`` trained one epoch on them.

Keras progress bars are off while a doctest trains (its stdout is the expected output), and a
model a doctest registers is unregistered after it. Nothing heavy is imported until a doctest
asks for it, so ``pytest tests/...`` is unaffected.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import re

import pytest

# name in a doctest → the session fixture that provides it
_PROVIDERS = {
    "data": "_dz_data",
    "train": "_dz_split",
    "test": "_dz_split",
    "model": "_dz_model",
    "history": "_dz_model",
    "bpr": "_dz_bpr",
    "pop": "_dz_pop",
    "gmf": "_dz_ncf",
    "mlp": "_dz_ncf",
    "pairs": "_dz_pairs",
    "link_model": "_dz_link_model",
}


@contextlib.contextmanager
def _quiet_keras():
    """Keras progress bars to the log, not to stdout, for the time of the block."""
    import keras

    was = keras.utils.is_interactive_logging_enabled()
    keras.utils.disable_interactive_logging()
    try:
        yield
    finally:
        if was:
            keras.utils.enable_interactive_logging()


@contextlib.contextmanager
def _restored_registry():
    """Models registered in the block are forgotten after it (zoo and Keras registries)."""
    from keras.src.saving import object_registration

    from embedzoo.zoo import registry

    saved = (dict(registry._MODELS), dict(object_registration.GLOBAL_CUSTOM_OBJECTS),
             dict(object_registration.GLOBAL_CUSTOM_NAMES))  # fmt: skip
    try:
        yield
    finally:
        for live, old in zip(
            (
                registry._MODELS,
                object_registration.GLOBAL_CUSTOM_OBJECTS,
                object_registration.GLOBAL_CUSTOM_NAMES,
            ),
            saved,
            strict=True,
        ):
            live.clear()
            live.update(old)


@pytest.fixture(scope="session")
def _dz_data():
    import numpy as np
    import pandas as pd

    from embedzoo.datasets import Interactions, synthetic

    raw = synthetic(n_users=50, n_items=200, n_interactions=1_000, seed=0)
    genres = np.array(["Action", "Comedy", "Drama", "Action|Comedy", "Drama|Romance"])
    ids = raw.items.ids
    meta = pd.DataFrame(
        {"title": [f"Item {i}" for i in ids], "genres": genres[ids % len(genres)]},
        index=pd.Index(ids, name="item"),
    )
    data = Interactions(
        raw.frame, users=raw.users, items=raw.items, item_metadata=meta, source=raw.source
    )
    return {"data": data}


@pytest.fixture(scope="session")
def _dz_split(_dz_data):
    from embedzoo.datasets import random_split

    train, test = random_split(_dz_data["data"], 0.2, seed=42)
    return {"train": train, "test": test}


@pytest.fixture(scope="session")
def _dz_model(_dz_split):
    from embedzoo import training, zoo

    train, test = _dz_split["train"], _dz_split["test"]
    model = zoo.build("dot_bias_mf", train, seed=0, n_factors=8)
    history = training.fit(model, train, validation=test, epochs=1, verbose=0)
    return {"model": model, "history": history}


@pytest.fixture(scope="session")
def _dz_bpr(_dz_split):
    from embedzoo import training, zoo

    model = zoo.build("bpr", _dz_split["train"], seed=0, n_factors=8)
    training.fit(model, _dz_split["train"], epochs=1, verbose=0)
    return {"bpr": model}


@pytest.fixture(scope="session")
def _dz_pop(_dz_split):
    from embedzoo import training, zoo

    model = zoo.build("popularity", _dz_split["train"])
    training.fit(model, _dz_split["train"], verbose=0)
    return {"pop": model}


@pytest.fixture(scope="session")
def _dz_ncf(_dz_split):
    from embedzoo import zoo

    train = _dz_split["train"]
    return {
        "gmf": zoo.build("gmf", train, seed=0, n_factors=8),
        "mlp": zoo.build("mlp", train, seed=0, mlp_layers=[16, 8]),
    }


@pytest.fixture(scope="session")
def _dz_pairs():
    import numpy as np
    import pandas as pd

    from embedzoo.datasets import load_pairs

    rng = np.random.default_rng(0)
    entities = np.arange(1, 31)
    genres = np.array(["Action", "Comedy", "Drama", "Action|Comedy", "Drama|Romance"])
    rows = [(e, f"page {p}") for e in entities for p in rng.choice(20, size=6, replace=False)]
    frame = pd.DataFrame(rows, columns=["entity", "link"])
    meta = pd.DataFrame(
        {"genres": genres[entities % len(genres)]}, index=pd.Index(entities, name="item")
    )
    return {"pairs": load_pairs(frame, min_link_count=2, item_metadata=meta)}


@pytest.fixture(scope="session")
def _dz_link_model(_dz_pairs):
    from embedzoo import training, zoo

    pairs = _dz_pairs["pairs"]
    model = zoo.build("link_embedding", pairs, seed=0, embedding_size=8, n_positive=64)
    training.fit(model, pairs, epochs=1, verbose=0)
    return {"link_model": model}


@pytest.fixture(scope="session")
def _dz_cwd(tmp_path_factory):
    """The doctests' working folder, with the files the reader examples open."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("doctest-cwd")
    ratings = pd.DataFrame(
        {"userId": [1, 1, 2, 3], "movieId": [10, 20, 10, 30], "rating": [4.0, 3.5, 5.0, 2.0],
         "timestamp": [964982703, 964981247, 964982224, 964983815]}
    )  # fmt: skip
    ratings.to_csv(folder / "ratings.csv", index=False)
    ratings.rename(columns={"userId": "user", "movieId": "item"}).to_parquet(
        folder / "ratings.parquet"
    )
    books = pd.DataFrame(
        {
            "book": ["Dune", "Dune", "Emma", "Emma", "Ubik"],
            "wikilink": ["Frank Herbert", "Novel", "Novel", "Jane Austen", "Novel"],
        }
    )
    books.to_csv(folder / "book_links.csv", index=False)
    return folder


def _free_names(examples) -> set:
    """Names the examples that run read before they assign them (so the namespace must)."""
    free, bound = set(), set()
    for example in examples:
        try:
            nodes = list(ast.walk(ast.parse(example.source)))
        except SyntaxError:
            continue
        names = [n for n in nodes if isinstance(n, ast.Name)]
        free |= {n.id for n in names if isinstance(n.ctx, ast.Load)} - bound
        bound |= {n.id for n in names if isinstance(n.ctx, ast.Store)}
        bound |= {n.name for n in nodes if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        bound |= {
            (a.asname or a.name).split(".")[0]
            for n in nodes
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
    return free


@pytest.fixture(autouse=True)
def _embedzoo_doctest_namespace(request, doctest_namespace, monkeypatch):
    """For a doctest: run it in the scratch folder and give it the names its source uses."""
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    monkeypatch.chdir(request.getfixturevalue("_dz_cwd"))
    examples = [e for e in request.node.dtest.examples if not e.options.get(doctest.SKIP)]
    source = "\n".join(e.source for e in examples)
    added = []
    for name in _free_names(examples) & set(_PROVIDERS):
        doctest_namespace[name] = request.getfixturevalue(_PROVIDERS[name])[name]
        added.append(name)
    with contextlib.ExitStack() as stack:
        if re.search(r"\b(fit|train_on|fine_tune)\(", source):
            stack.enter_context(_quiet_keras())
        if "@register(" in source:
            stack.enter_context(_restored_registry())
        yield
    for name in added:  # a name never leaks into a later doctest that means something else
        doctest_namespace.pop(name, None)
