"""Evaluation of rating models: RMSE and MAE on a split.

Rows whose user or item the model does not know are scored with the model's documented
unknown-id fallback and counted, so the metric is honest about cold rows.
"""

from __future__ import annotations

import numpy as np

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import DataError
from embedzoo.training.pipelines import encode


def predict_indices(model, users: np.ndarray, items: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """Scores for index arrays (already encoded with the model's vocabularies)."""
    out = [
        np.asarray(model({"user": users[s : s + batch_size], "item": items[s : s + batch_size]}))
        for s in range(0, len(users), batch_size)
    ]
    return np.concatenate(out).reshape(-1) if out else np.zeros(0, np.float32)


def rating_metrics(model, interactions: Interactions, batch_size: int = 65536) -> dict:
    """RMSE and MAE of ``model`` on ``interactions`` (which need a rating column).

    Returns:
        ``{"rmse", "mae", "n", "n_unknown_user", "n_unknown_item"}``.

    Example:
        >>> from embedzoo.training import evaluation
        >>> evaluation.rating_metrics(model, test)                    # doctest: +SKIP
        {'rmse': 0.89, 'mae': 0.70, 'n': 20000, ...}
    """
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
