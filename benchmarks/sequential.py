"""Sequence models on MovieLens-100k: sasrec and gru4rec against bpr and item2vec. Prints JSON.

    python benchmarks/sequential.py                        # every case
    python benchmarks/sequential.py --case leave_one_out   # one case

Cases (each in its own process; every model with its defaults, seed 0):
- ``ranking``: the ranking protocol (k-core > 5, each user's last 10% by time held out):
  full-ranking NDCG@10 / Recall@10 of ``sasrec``, ``gru4rec``, ``bpr`` and ``item2vec``
  trained in the same run, fit seconds, training rows/s, and the ratios to bpr's NDCG@10.
- ``leave_one_out``: each user's last interaction held out (the SASRec paper's protocol, on
  the whole of ML-100k): full-ranking HR@10 and NDCG@10, and beside them, labelled, the
  paper's sampled protocol (the held-out item among 100 items the user never interacted with,
  drawn uniformly).
- ``latency``: the exported SavedModel's ``recommend_for_history`` (``[n, max_length]``
  histories, k=10) and ``recommend`` of ``sasrec`` at batch 1 and 256: median milliseconds per
  call over 50 calls.
- ``example``: ``sasrec`` trained on the protocol's training part: what comes after a history of
  three Star Wars-era films (Star Wars, The Empire Strikes Back, Return of the Jedi).
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

CASES = ("ranking", "leave_one_out", "latency", "example")
MODELS = ("sasrec", "gru4rec", "bpr", "item2vec")
#: MovieLens-100k ids of Star Wars (1977), The Empire Strikes Back (1980), Return of the Jedi (1983)
STAR_WARS = [50, 172, 181]


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def fitted(name: str, train):
    from embedzoo import training, zoo

    model = zoo.build(name, train, seed=0)
    start = time.perf_counter()
    history = training.fit(model, train, seed=0, verbose=0)
    return model, time.perf_counter() - start, len(history.history.get("loss", [])) or 1


def _compare(train, test, keys: dict, samplings=()) -> dict:
    from embedzoo.training import evaluation

    out = {}
    for name in MODELS:
        model, seconds, epochs = fitted(name, train)
        metrics = evaluation.ranking_metrics(model, train, test, samplings=samplings, seed=0)
        out[name] = {label: round(float(metrics[key]), 4) for label, key in keys.items()} | {
            "fit_seconds": round(seconds, 1),
            "rows_per_second": round(len(train) * epochs / seconds),
        }
    return out


def case_ranking() -> dict:
    from embedzoo import datasets
    from embedzoo.training import evaluation

    train, test = evaluation.ranking_protocol(datasets.load_ml100k())
    out = {"case": "ranking", "protocol": "ranking_protocol: k-core > 5, last 10% by time per user"}
    out |= _compare(train, test, {"ndcg@10": "ndcg@10", "recall@10": "recall@10"})
    bpr = out["bpr"]["ndcg@10"]
    out["ndcg_over_bpr"] = {n: round(out[n]["ndcg@10"] / bpr, 3) for n in MODELS}
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def case_leave_one_out() -> dict:
    from embedzoo import datasets

    train, test = datasets.leave_one_out(datasets.load_ml100k())
    keys = {
        "full_hr@10": "recall@10",  # one held-out item: recall@10 is the hit rate
        "full_ndcg@10": "ndcg@10",
        "sampled100_hr@10": "sampled_uniform_hr@10",
        "sampled100_ndcg@10": "sampled_uniform_ndcg@10",
    }
    out = {"case": "leave_one_out", "protocol": "each user's last interaction held out; sampled:"
           " among 100 uniformly drawn items the user never interacted with"}  # fmt: skip
    out |= _compare(train, test, keys, samplings=("uniform",))
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def case_latency() -> dict:
    import numpy as np
    import tensorflow as tf

    from embedzoo import datasets, zoo
    from embedzoo.training import evaluation

    train, _ = evaluation.ranking_protocol(datasets.load_ml100k())
    model, _, _ = fitted("sasrec", train)
    out = {"case": "latency", "model": "sasrec", "items": len(model.items),
           "max_length": model.max_length}  # fmt: skip
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        loaded = tf.saved_model.load(str(zoo.export(model, folder, "sasrec")))
        for batch in (1, 256):
            histories = rng.choice(train.items.ids, size=(batch, model.max_length)).astype(np.int64)
            users = np.resize(train.users.ids, batch).astype(np.int64)
            calls = {
                "recommend_for_history": {"item_id_lists": tf.constant(histories), "k": tf.constant(10)},
                "recommend": {"user_id": tf.constant(users), "k": tf.constant(10)},
            }  # fmt: skip
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


def case_example() -> dict:
    from embedzoo import datasets
    from embedzoo.training import evaluation

    data = datasets.load_ml100k()
    train, _ = evaluation.ranking_protocol(data)
    model, _, _ = fitted("sasrec", train)
    titles = data.item_metadata["title"]
    ids, scores = model.recommend_for_history([STAR_WARS], k=10)
    return {
        "case": "example",
        "history": [titles.get(i, str(i)) for i in STAR_WARS],
        "next": [
            {"item": int(i), "title": titles.get(i, str(i)), "score": round(float(s), 3)}
            for i, s in zip(ids[0], scores[0], strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
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
    print(json.dumps({"benchmark": "sequential", "results": results}, indent=2))


if __name__ == "__main__":
    main()
