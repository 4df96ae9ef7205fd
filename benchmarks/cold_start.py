"""Unknown-user answers of the rating models on a global time cut of MovieLens-100k.

Train on the ratings up to the 80% quantile of the timestamps; the later ratings of users the
training data does not have (items it has) are the cold rows. Prints one JSON object per model:
the mean of its answers on those rows against their mean rating and the training mean, its RMSE
there, and the RMSE of predicting each item's mean training rating (the baseline the answer must
beat); and one object for the split.

    python benchmarks/cold_start.py
"""

import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from embedzoo import datasets, training, zoo  # noqa: E402


def main() -> int:
    data = datasets.load_ml100k()
    stamps = data.frame["timestamp"].to_numpy()
    cut = np.quantile(stamps, 0.8)
    train = data.subset(np.flatnonzero(stamps <= cut))
    test = data.frame[stamps > cut]
    seen = train.frame
    cold = test[~test.user.isin(seen.user.unique()) & test.item.isin(seen.item.unique())]
    truth = cold.rating.to_numpy(np.float64)
    item_mean = seen.groupby("item").rating.mean().reindex(cold.item).to_numpy()
    print(json.dumps({
        "split": "ml100k global time cut at the 80% timestamp quantile",
        "cold_rows": len(cold),
        "cold_users": int(cold.user.nunique()),
        "cold_mean_rating": round(float(truth.mean()), 4),
        "train_mean_rating": round(float(seen.rating.mean()), 4),
        "item_mean_rmse": round(float(np.sqrt(np.mean((item_mean - truth) ** 2))), 4),
    }))  # fmt: skip
    for name in ("dot_bias_mf", "embedding_nn"):
        model = zoo.build(name, train, seed=0)
        start = time.perf_counter()
        training.fit(model, train, seed=0, verbose=0)
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # every cold user is unknown, by construction
            pred = model.score(cold.user.to_numpy(), cold.item.to_numpy()).astype(np.float64)
        print(json.dumps({
            "model": name,
            "fit_seconds": round(seconds, 1),
            "cold_mean_answer": round(float(pred.mean()), 4),
            "cold_rmse": round(float(np.sqrt(np.mean((pred - truth) ** 2))), 4),
        }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
