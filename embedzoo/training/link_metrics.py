"""How good are entity embeddings? Link-prediction AUC and neighbours sharing a label.

- :func:`link_prediction_auc`: ROC-AUC of a model's scores for held-out (entity, link) pairs
  against random pairs that are no known link, i.e. the probability that a held-out link
  outscores a random non-link (ties count one half).
- :func:`neighbour_label_share`: the share of each entity's ``k`` nearest neighbours
  (``similar_items``) that share at least one label with it (e.g. a genre), next to the same
  share for ``k`` random entities: how much more alike neighbours are than chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import DataError
from embedzoo.training.link_pairs import labelled_pairs


def roc_auc(scores, labels) -> float:
    """Exact ROC-AUC (the Mann–Whitney statistic with mid-ranks for ties).

    Example:
        >>> from embedzoo.training.link_metrics import roc_auc
        >>> roc_auc([0.9, 0.2, 0.6, 0.1], [1, 0, 1, 0])
        1.0
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataError(f"ROC-AUC needs positives and negatives, got {n_pos} and {n_neg}")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def link_prediction_auc(
    model,
    heldout: Interactions,
    known: Interactions | None = None,
    negative_ratio: float = 1.0,
    seed: int = 0,
) -> dict:
    """ROC-AUC of held-out pairs against random non-pairs, scored by ``model.score``.

    Args:
        model: a trained link model (links = users, entities = items).
        heldout: pairs kept out of training; those with an entity or link the model does not
            know are left out (it has no vector for them).
        known: every known pair (train and held-out), never drawn as a negative; default
            ``heldout``.
        negative_ratio: random pairs per held-out pair.
        seed: seed of the random pairs.

    Returns:
        ``{"auc": float, "positives": int, "negatives": int}``.

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> train, test = datasets.random_split(pairs, 0.1)
        >>> link_model = zoo.build("link_embedding", train)
        >>> training.fit(link_model, train)                                    # doctest: +SKIP
        >>> link_prediction_auc(link_model, test, known=pairs)  # ML-100k links: auc 0.93
        {'auc': ..., 'positives': ..., 'negatives': ...}
    """
    rows = labelled_pairs(
        model, heldout, known, negative_ratio, classification=True, seed=seed
    ).frame
    labels = rows["rating"].to_numpy() > 0
    scores = model.score(rows["user"].to_numpy(), rows["item"].to_numpy())
    return {
        "auc": roc_auc(scores, labels),
        "positives": int(labels.sum()),
        "negatives": int((~labels).sum()),
    }


def _label_sets(labels: pd.Series, sep: str) -> dict:
    out = {}
    for key, value in labels.items():
        if isinstance(value, str):
            parts = {p for p in value.split(sep) if p}
        elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            parts = {str(p) for p in value}
        else:
            parts = set()
        if parts:
            out[key] = parts
    return out


def neighbour_label_share(
    model, labels: pd.Series, k: int = 10, sep: str = "|", seed: int = 0
) -> dict:
    """Share of the ``k`` nearest neighbours sharing a label with the entity, vs random entities.

    Args:
        model: a zoo model (``similar_items`` gives the neighbours).
        labels: raw entity id → labels, as a ``sep``-joined string (``"Action|Sci-Fi"``) or a
            list; entities without labels are skipped as queries and as neighbours.
        k: neighbours per entity.
        sep: separator of string labels.
        seed: seed of the random entities of the baseline.

    Returns:
        ``{"share": ..., "random_share": ..., "lift": share / random_share, "entities": n}``.

    Example:
        >>> genres = pairs.item_metadata["genres"]     # link_model: trained on pairs
        >>> neighbour_label_share(link_model, genres, k=10)  # ML-100k links: share 0.71, lift 1.69
        {'share': ..., 'random_share': ..., 'lift': ..., 'entities': 30}
    """
    sets = _label_sets(labels, sep)
    queries = np.array([e for e in model.items.ids if e in sets], dtype=model.items.ids.dtype)
    if len(queries) < 2:
        raise DataError("neighbour_label_share: fewer than 2 of the model's entities have labels")
    ids, _ = model.similar_items(
        queries, k=min(k + 20, len(model.items) - 1)
    )  # room for unlabelled
    rng = np.random.default_rng(seed)
    hits, total, random_hits, random_total = 0, 0, 0, 0
    for q, row in zip(queries, ids, strict=True):
        mine = sets[q]
        near = [n for n in row.tolist() if n in sets and n != q][:k]
        hits += sum(bool(mine & sets[n]) for n in near)
        total += len(near)
        others = rng.choice(len(queries), size=min(k, len(queries) - 1) + 1, replace=False)
        sample = [queries[j] for j in others if queries[j] != q][:k]
        random_hits += sum(bool(mine & sets[n]) for n in sample)
        random_total += len(sample)
    share, random_share = hits / max(total, 1), random_hits / max(random_total, 1)
    return {
        "share": share,
        "random_share": random_share,
        "lift": share / random_share if random_share else float("inf"),
        "entities": int(len(queries)),
    }
