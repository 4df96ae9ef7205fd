"""Evaluation: RMSE and MAE of rating models; the ranking protocol and report for any model.

Rows whose user or item the model does not know are scored with the model's documented
unknown-id fallback and counted, so the metric is honest about cold rows.

Ranking: :func:`ranking_protocol` (k-core + per-user temporal hold-out), :func:`ranking_report`
(several models side by side, sampled and full-ranking metrics) and :func:`ranking_metrics`
(one model; defined in :mod:`embedzoo.training.ranking_metrics`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.training.pipelines import encode
from embedzoo.training.ranking_metrics import SAMPLINGS, ranking_metrics  # noqa: F401


def predict_indices(
    model, users: np.ndarray, items: np.ndarray, batch_size: int = 65536
) -> np.ndarray:
    """Scores for index arrays (already encoded with the model's vocabularies)."""
    out = [
        np.asarray(model({"user": users[s : s + batch_size], "item": items[s : s + batch_size]}))
        for s in range(0, len(users), batch_size)
    ]
    return np.concatenate(out).reshape(-1) if out else np.zeros(0, np.float32)


def rating_metrics(model, interactions: Interactions, batch_size: int = 65536) -> dict:
    """RMSE and MAE of a rating model on ``interactions`` (which need a rating column); a
    ranking model is refused (a ``ConfigError``: its scores are not on the rating scale).

    Returns:
        ``{"rmse", "mae", "n", "n_unknown_user", "n_unknown_item"}``.

    Example:
        >>> from embedzoo.training import evaluation
        >>> evaluation.rating_metrics(model, test)  # model: dot_bias_mf (ML-100k: rmse 0.89)
        {'rmse': ..., 'mae': ..., 'n': 200, 'n_unknown_user': 0, 'n_unknown_item': 12}
    """
    task = getattr(model, "task", "rating")
    if task != "rating":
        raise ConfigError(
            f"{getattr(model, 'zoo_name', model.name)} is a {task} model: its scores are not"
            " ratings, so RMSE/MAE mean nothing; use ranking_metrics (CLI: evaluate gives them)"
        )
    if len(interactions) == 0:
        raise DataError("cannot evaluate on empty data")
    truth = interactions.ratings
    users, items = encode(model, interactions)
    pred = predict_indices(model, users, items, batch_size)
    err = pred.astype(np.float64) - truth
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "n": int(len(truth)),
        "n_unknown_user": int(np.sum(users == 0)),
        "n_unknown_item": int(np.sum(items == 0)),
    }


# -- ranking (implicit feedback): the protocol and the report; metrics in ranking_metrics.py --


def ranking_protocol(
    data: Interactions, min_interactions: int = 5, test_fraction: float = 0.1
) -> tuple[Interactions, Interactions]:
    """The classic implicit-feedback protocol: k-core, then a per-user temporal hold-out.

    Keeps users and items with *more than* ``min_interactions`` interactions, iterated until
    stable (``datasets.k_core(..., strict=True)``), then holds out each user's last
    ``ceil(test_fraction · n)`` interactions by timestamp, ties broken by item id
    (``datasets.temporal_holdout``). Every interaction counts as a positive (ratings, if any,
    are ignored by ranking models).

    Args:
        data: interactions with timestamps.
        min_interactions: the k of the k-core (strictly more than k are kept).
        test_fraction: share of each user's interactions held out.

    Returns:
        ``(train, test)``.

    Raises:
        DataError: no timestamps, or the k-core leaves nothing (the message says so).

    Example:
        >>> from embedzoo import datasets
        >>> from embedzoo.training import evaluation
        >>> train, test = evaluation.ranking_protocol(datasets.load_ml100k())  # doctest: +SKIP
        >>> train, test = evaluation.ranking_protocol(data)  # 1,000 synthetic rows
        >>> len(train), len(test)                            # ML-100k: (88690, 10342)
        (582, 84)
    """
    from embedzoo.datasets import k_core, temporal_holdout

    core = k_core(data, min_interactions, min_interactions, strict=True)
    return temporal_holdout(core, test_fraction)


@dataclass
class RankingReport:
    """Several models' ranking metrics side by side.

    Attributes:
        frame: one row per model (index: the model's label), one column per metric; sampled
            metrics are the ``sampled_<distribution>_*`` columns.
        protocol: k, N, seed, counts of evaluated and skipped rows, and how each metric is
            computed.
    """

    frame: pd.DataFrame
    protocol: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able: ``{"protocol": {...}, "models": {label: {metric: value}}}``."""
        models = {
            str(name): {c: _plain(v) for c, v in row.items()} for name, row in self.frame.iterrows()
        }
        return {"protocol": self.protocol, "models": models}

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_markdown(self, digits: int = 4) -> str:
        """A Markdown table (no extra dependency)."""
        cols = list(self.frame.columns)
        lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, row in self.frame.iterrows():
            cells = [
                "–"  # a metric the model has none of (RMSE of a ranking model)
                if isinstance(v, float) and math.isnan(v)
                else f"{v:.{2 if c.endswith('seconds') else digits}f}"
                if isinstance(v, float)
                else str(v)
                for c, v in zip(cols, row.tolist(), strict=True)
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def ranking_report(
    models,
    train: Interactions,
    test: Interactions,
    k: int = 10,
    num_negatives: int = 100,
    samplings=SAMPLINGS,
    seed: int = 0,
    cold_users: str = "error",
) -> RankingReport:
    """One call, one report: sampled and full-ranking metrics for several models.

    Args:
        models: ``{label: model}`` or a list of models (labelled by ``zoo_name``); any zoo
            model, rating models included.
        train, test: the split the models were trained on / are evaluated on (e.g. from
            :func:`ranking_protocol`).
        k, num_negatives, samplings, seed, cold_users: see :func:`ranking_metrics`.

    Example:
        >>> from embedzoo.training import evaluation
        >>> report = evaluation.ranking_report({"bpr": bpr, "pop": pop}, train, test)
        >>> report.frame.index.tolist(), report.frame.columns.tolist()
        (['bpr', 'pop'], [...])
        >>> report.to_dict()["models"]["pop"]
        {'sampled_popularity_hr@10': ..., ...}
    """
    if not isinstance(models, dict):
        models = {getattr(m, "zoo_name", m.name): m for m in models}
    if not models:
        raise ConfigError("ranking_report needs at least one model")
    rows, counts = {}, {}
    for label, model in models.items():
        result = ranking_metrics(
            model, train, test, k, num_negatives, tuple(samplings), True, seed, cold_users
        )
        counts = {c: result.pop(c) for c in [c for c in result if c.startswith("n_")]}
        rows[label] = result
    protocol = {
        "k": k,
        "num_negatives": num_negatives,
        "samplings": list(samplings),
        "seed": seed,
        **counts,
        "sampled": f"each held-out row ranked among {num_negatives} items the user never "
        "interacted with, drawn without replacement (uniform or ∝ training popularity); "
        "columns sampled_<distribution>_hr@K / _ndcg@K",
        "full": "every catalogue item ranked, the user's training items masked; recall@K, "
        "ndcg@K, mrr, precision@K averaged over users",
    }
    return RankingReport(pd.DataFrame.from_dict(rows, orient="index"), protocol)
