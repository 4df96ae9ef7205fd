"""Latency of the exported ``recommend`` signature (k=10) on a reloaded SavedModel; prints JSON.

    python benchmarks/serving_latency.py                 # ML-100k preset and a 1M-item catalogue
    python benchmarks/serving_latency.py --repeats 500

Cases: the bundled ``dot_bias_mf_movielens_100k`` preset, and a ``dot_bias_mf`` over 1,000,000
items and 10,000 users (random weights, 64 factors: latency does not depend on training). Each
is exported, loaded with ``tf.saved_model.load`` as TF Serving would, warmed up, then timed
at batch 1 and batch 256 (p50 / p95 / p99 in milliseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from embedzoo import zoo  # noqa: E402


def timings(fn, repeats: int) -> dict:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {"p50_ms": round(p50, 3), "p95_ms": round(p95, 3), "p99_ms": round(p99, 3)}


def measure(model, label: str, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = zoo.export(model, tmp, "bench")
        loaded = tf.saved_model.load(str(path))
        recommend = loaded.signatures["recommend"]
        rng = np.random.default_rng(0)
        k = tf.constant(10)
        out = {"case": label, "users": len(model.users), "items": len(model.items)}
        for batch in (1, 256):
            users = tf.constant(rng.choice(model.users.ids, size=batch).astype(np.int64))
            out[f"batch_{batch}"] = timings(lambda u=users: recommend(user_id=u, k=k), repeats)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--items", type=int, default=1_000_000, help="catalogue size of the large case")
    args = ap.parse_args()
    results = [
        measure(zoo.load("dot_bias_mf_movielens_100k"), "ml100k_dot_bias_mf_preset", args.repeats)
    ]
    big = zoo.build(
        "dot_bias_mf",
        user_vocabulary=list(range(1, 10_001)),
        item_vocabulary=list(range(1, args.items + 1)),
        n_factors=64,
        seed=0,
    )
    results.append(measure(big, f"{args.items}_items_dot_bias_mf", max(20, args.repeats // 10)))
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    print(json.dumps({"device": device, "cpus": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
