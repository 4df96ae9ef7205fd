"""Unknown-user answers of the rating models on MovieLens-100k, on two kinds of split.

* ``time``: train on the ratings up to the 80% quantile of the timestamps; the later ratings
  of users the training data does not have (items it has) are the cold rows.
* ``users-<seed>``: 20% of the users (seeded) held out entirely, the literal setting of the
  calibration criterion ("on a held-out set of users"); their ratings of trained items are the
  cold rows.

Prints one JSON object per split (the cold rows' mean rating, the training mean, and the RMSE
and mean of predicting each item's mean training rating, the baseline the answer must beat)
and one per model and split (the mean of its answers on the cold rows, its RMSE there).

    python benchmarks/cold_start.py            # the time cut and user seeds 0-4
    python benchmarks/cold_start.py --seeds 2  # the time cut and user seeds 0-1
"""

import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from embedzoo import datasets, training, zoo  # noqa: E402

MODELS = ("dot_bias_mf", "embedding_nn")


def splits(data, seeds: int):
    """``(name, held-out mask)`` for the time cut and each user seed."""
    stamps = data.frame["timestamp"].to_numpy()
    yield "time", stamps > np.quantile(stamps, 0.8)
    users = data.frame["user"].unique()
    for seed in range(seeds):
        held = np.random.default_rng(seed).choice(users, size=len(users) // 5, replace=False)
        yield f"users-{seed}", data.frame["user"].isin(held).to_numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="random user splits (default 5)")
    args = parser.parse_args()
    data = datasets.load_ml100k()
    for name, held in splits(data, args.seeds):
        train = data.subset(np.flatnonzero(~held))
        seen, test = train.frame, data.frame[held]
        cold = test[~test.user.isin(seen.user.unique()) & test.item.isin(seen.item.unique())]
        truth = cold.rating.to_numpy(np.float64)
        item_mean = seen.groupby("item").rating.mean().reindex(cold.item).to_numpy()
        print(json.dumps({
            "split": name,
            "cold_rows": len(cold),
            "cold_users": int(cold.user.nunique()),
            "cold_mean_rating": round(float(truth.mean()), 4),
            "train_mean_rating": round(float(seen.rating.mean()), 4),
            "item_mean_answer": round(float(item_mean.mean()), 4),
            "item_mean_rmse": round(float(np.sqrt(np.mean((item_mean - truth) ** 2))), 4),
        }), flush=True)  # fmt: skip
        for model_name in MODELS:
            model = zoo.build(model_name, train, seed=0)
            start = time.perf_counter()
            training.fit(model, train, seed=0, verbose=0)
            seconds = time.perf_counter() - start
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # every cold user is unknown, by construction
                pred = model.score(cold.user.to_numpy(), cold.item.to_numpy()).astype(np.float64)
            print(json.dumps({
                "split": name,
                "model": model_name,
                "fit_seconds": round(seconds, 1),
                "cold_mean_answer": round(float(pred.mean()), 4),
                "cold_rmse": round(float(np.sqrt(np.mean((pred - truth) ** 2))), 4),
            }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
