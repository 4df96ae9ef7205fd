"""Two-tower retrieval on MovieLens-100k: warm, cold items, cold users, speed. Prints JSON.

    python benchmarks/two_tower.py                    # every case
    python benchmarks/two_tower.py --case cold_items  # one case
    python benchmarks/two_tower.py --case warm --seed 1  # another seed for the models

Cases (each in its own process, so peak RSS is the case's own; defaults, seed 0 unless
``--seed``; the held-out sets stay those of seed 0):
- ``warm``: the ranking protocol (k-core > 5, each user's last 10% by time held out):
  full-ranking NDCG@10 / Recall@10 of ``two_tower`` (defaults, and with ``recent_items`` 10)
  and ``bpr`` trained in the same run, fit seconds, training examples/s.
- ``cold_items``: 20% of the items (seeded) held out entirely: all their ratings leave the
  training rows, their features (genres, year, title) stay in the item table. Each user with
  held-out ratings ranks only the held-out items; NDCG@10 and Recall@10 of the two-tower
  model against random ranking (the mean of 20 seeded permutations) and a feature-popularity
  baseline (each cold item scored by the mean training popularity of its genres). A cold
  movie's neighbours among all movies, from its features alone, are printed too.
- ``cold_users``: 20% of the users (seeded) held out entirely, served through
  ``recommend_for_features`` with their age, gender, occupation and zip code (the defaults,
  and a second model with ``feature_shrinkage`` 0, the tower's feature answer unshrunk):
  NDCG@10 / Recall@10 of all their ratings, against the global popularity list.
- ``latency``: the exported SavedModel's ``recommend`` (by id) and ``recommend_for_features``
  (raw features) at batch 1 and 256: median milliseconds per call over 50 calls.
- ``synthetic25m``: one epoch on the 25M-row synthetic set with synthetic user and item
  features (a categorical and a bucketized column each): seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CASES = ("warm", "cold_items", "cold_users", "latency", "synthetic25m")
COLD_FRACTION = 0.2


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def list_metrics(ranked, relevant, k: int = 10) -> dict:
    """Mean NDCG@k and Recall@k of ranked id lists against sets of relevant ids."""
    import numpy as np

    ndcgs, recalls = [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row, wanted in zip(ranked, relevant, strict=True):
        hits = np.array([i in wanted for i in row[:k]], dtype=float)
        ideal = discounts[: min(len(wanted), k)].sum()
        ndcgs.append(float(hits @ discounts[: len(hits)]) / ideal)
        recalls.append(hits.sum() / len(wanted))
    return {f"ndcg@{k}": round(float(np.mean(ndcgs)), 4),
            f"recall@{k}": round(float(np.mean(recalls)), 4)}  # fmt: skip


def fitted(name: str, train, **config):
    from embedzoo import training, zoo

    seed = int(os.environ.get("EMBEDZOO_BENCH_SEED", "0"))  # --seed
    model = zoo.build(name, train, seed=seed, **config)
    start = time.perf_counter()
    training.fit(model, train, seed=seed, verbose=0)
    return model, time.perf_counter() - start


#: the warm runs: the defaults, the query tower with each user's last 10 items pooled
#: (``recent_items`` 10, chosen on the validation cut of ``two_tower_validation.py warm``;
#: docs/two_tower.md), and bpr
WARM_MODELS = {
    "two_tower": ("two_tower", {}),
    "two_tower_recent_items": ("two_tower", {"recent_items": 10}),
    "bpr": ("bpr", {}),
}


def case_warm() -> dict:
    from embedzoo import datasets
    from embedzoo.training import evaluation

    train, test = evaluation.ranking_protocol(datasets.load_ml100k())
    out = {"case": "warm", "protocol": "ranking_protocol: k-core > 5, last 10% by time per user"}
    for label, (name, config) in WARM_MODELS.items():
        model, seconds = fitted(name, train, **config)
        metrics = evaluation.ranking_metrics(model, train, test, samplings=())
        epochs = model.training_spec().fit_settings()["epochs"]
        out[label] = {
            "ndcg@10": round(metrics["ndcg@10"], 4), "recall@10": round(metrics["recall@10"], 4),
            "fit_seconds": round(seconds, 1),
            "examples_per_second": round(len(train) * epochs / seconds),
        }  # fmt: skip
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _held_out(ids, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return set(rng.choice(ids, int(round(COLD_FRACTION * len(ids))), replace=False).tolist())


def case_cold_items() -> dict:
    import numpy as np

    from embedzoo import datasets

    data = datasets.load_ml100k()
    cold = _held_out(data.items.ids)
    is_cold = data.frame["item"].isin(cold).to_numpy()
    train = data.subset(np.flatnonzero(~is_cold))
    test = data.frame[is_cold]
    model, seconds = fitted("two_tower", train)
    relevant = test.groupby("user")["item"].apply(set)
    users = relevant.index.to_numpy()
    cold_ids = np.array(sorted(cold))
    ids, _ = model.recommend(users, k=10, items=cold_ids)
    out = {"case": "cold_items", "cold_items": len(cold), "test_users": len(users),
           "test_rows": int(is_cold.sum()), "fit_seconds": round(seconds, 1)}  # fmt: skip
    out["two_tower"] = list_metrics(ids, relevant.to_numpy())
    runs = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        runs.append(list_metrics([rng.permutation(cold_ids)[:10] for _ in users], relevant))
    out["random"] = {m: round(float(np.mean([r[m] for r in runs])), 4) for m in runs[0]}
    # feature popularity: a cold item's score is the mean training share of its genres
    genres = data.item_metadata["genres"].fillna("").str.split("|")
    counts = train.frame["item"].value_counts()
    genre_pop: dict = {}
    for item, n in counts.items():
        for g in genres.get(item, []):
            genre_pop[g] = genre_pop.get(g, 0) + n
    score = np.array([np.mean([genre_pop.get(g, 0) for g in genres[i]] or [0]) for i in cold_ids])
    order = cold_ids[np.argsort(-score, kind="stable")][:10]
    out["feature_popularity"] = list_metrics([order for _ in users], relevant.to_numpy())
    out["two_tower_over_random"] = round(out["two_tower"]["ndcg@10"] / out["random"]["ndcg@10"], 2)
    # a cold movie's neighbours, from its features alone
    titles = data.item_metadata["title"]
    popular_cold = test["item"].value_counts().index[0]
    near, _ = model.similar_items([popular_cold], k=5)
    out["example"] = {
        "cold_movie": f"{titles[popular_cold]} ({data.item_metadata['genres'][popular_cold]})",
        "neighbours": [str(titles.get(i, i)) for i in near[0]],
    }
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def case_cold_users() -> dict:
    import numpy as np

    from embedzoo import datasets

    data = datasets.load_ml100k()
    cold = _held_out(data.users.ids)
    is_cold = data.frame["user"].isin(cold).to_numpy()
    train = data.subset(np.flatnonzero(~is_cold))
    test = data.frame[is_cold]
    relevant = test.groupby("user")["item"].apply(set)
    users = relevant.index.to_numpy()
    features = data.user_metadata.loc[users].reset_index(drop=True)
    popular = train.frame["item"].value_counts().index.to_numpy()[:10]
    out = {
        "case": "cold_users", "cold_users": len(users), "test_rows": int(is_cold.sum()),
        "global_popularity": list_metrics([popular for _ in users], relevant.to_numpy()),
    }  # fmt: skip
    for label, config in COLD_USER_MODELS.items():
        model, seconds = fitted("two_tower", train, **config)
        ids, _ = model.recommend_for_features(features, k=10)
        out[label] = {**list_metrics(ids, relevant.to_numpy()), "fit_seconds": round(seconds, 1)}
    out["peak_rss_mib"] = peak_rss_mib()
    return out


#: the cold-user runs: the defaults (every user feature, the tower's logits shrunk halfway to
#: the log popularity: feature_shrinkage 0.5, chosen on a validation split of users, 20% of the
#: other users with seed 1; this case's users never read; docs/two_tower.md), and the tower's
#: feature answer unshrunk
COLD_USER_MODELS = {
    "two_tower_all_features": {},
    "two_tower_unshrunk": {"feature_shrinkage": 0.0},
}


def case_latency() -> dict:
    import numpy as np
    import tensorflow as tf

    from embedzoo import datasets, zoo
    from embedzoo.training import evaluation

    train, _ = evaluation.ranking_protocol(datasets.load_ml100k())
    model, _ = fitted("two_tower", train)
    out = {"case": "latency", "items": len(model.items)}
    with tempfile.TemporaryDirectory() as folder:
        loaded = tf.saved_model.load(str(zoo.export(model, folder, "tt")))
        users = datasets.load_ml100k().user_metadata
        for batch in (1, 256):
            ids = tf.constant(np.resize(train.users.ids, batch).astype(np.int64))
            raw = users.iloc[np.resize(np.arange(len(users)), batch)]
            feats = {
                "age": tf.constant(raw["age"].to_numpy(np.float32)),
                **{c: tf.constant(raw[c].astype(str).to_numpy()) for c in ("gender", "occupation", "zip_code")},
            }  # fmt: skip
            calls = {
                "recommend": {"user_id": ids, "k": tf.constant(10)},
                "recommend_for_features": {**feats, "k": tf.constant(10)},
            }
            for label, inputs in calls.items():
                signature = loaded.signatures[label]
                signature(**inputs)
                times = []
                for _ in range(50):
                    start = time.perf_counter()
                    signature(**inputs)
                    times.append(time.perf_counter() - start)
                out[f"{label}_batch{batch}_ms"] = round(1000 * float(np.median(times)), 2)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def case_synthetic25m() -> dict:
    import numpy as np
    import pandas as pd

    from embedzoo import datasets, training, zoo
    from embedzoo.datasets.features import with_features
    from embedzoo.training.callbacks import EpochTimer

    start = time.perf_counter()
    data = datasets.synthetic()
    rng = np.random.default_rng(0)
    users = pd.DataFrame(
        {"segment": rng.choice(list("abcdefgh"), len(data.users)),
         "age": rng.integers(15, 80, len(data.users))}, index=pd.Index(data.users.ids, name="user"),
    )  # fmt: skip
    items = pd.DataFrame(
        {"genres": ["|".join(rng.choice(list("ABCDEFGHIJKLMNOPQRS"), 2)) for _ in data.items.ids],
         "year": rng.integers(1930, 2020, len(data.items))}, index=pd.Index(data.items.ids, name="item"),
    )  # fmt: skip
    data = with_features(data, user_features=users, item_features=items)
    data_seconds = time.perf_counter() - start
    model = zoo.build("two_tower", data, seed=0)
    timer = EpochTimer()
    start = time.perf_counter()
    # the default batch (512): an in-batch softmax costs O(batch) per example
    batch = model.training_spec().fit_settings()["batch_size"]
    training.fit(model, data, epochs=1, batch_size=batch, seed=0, verbose=0, callbacks=[timer])
    return {
        "case": "synthetic25m", "rows": len(data), "users": len(data.users),
        "items": len(data.items), "batch_size": batch, "data_seconds": round(data_seconds, 1),
        "epoch_seconds": round(timer.seconds[0], 1),
        "examples_per_second": round(len(data) / timer.seconds[0]),
        "fit_seconds": round(time.perf_counter() - start, 1), "peak_rss_mib": peak_rss_mib(),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--seed", type=int, default=0, help="seeds every build and fit")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["EMBEDZOO_BENCH_SEED"] = str(args.seed)  # the case processes inherit it
    cases = args.case or list(CASES)
    if args.in_process:
        print(json.dumps(globals()[f"case_{cases[0]}"]()))
        return
    results = []
    for case in cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", case, "--in-process"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode:
            lines = [
                x for x in proc.stderr.strip().splitlines() if "Traceback" in x or "Error" in x
            ]
            results.append({"case": case, "returncode": proc.returncode, "error": lines[-1:]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(json.dumps({"benchmark": "two_tower", "results": results}, indent=2))


if __name__ == "__main__":
    main()
