"""Training throughput, epoch wall time and peak RSS; prints one JSON document.

Each case runs in its own process so peak RSS is that case's alone.

    python benchmarks/throughput.py                      # all cases
    python benchmarks/throughput.py --case ml100k_dot_bias_mf --epochs 5
    python benchmarks/throughput.py --case synthetic25m_dot_bias_mf

Cases:
- ml100k_dot_bias_mf, ml100k_embedding_nn: 80,000 training rows of MovieLens-100k, the model's
  default batch size and also batch 8192 (examples/s at the default is what users get).
- synthetic25m_dot_bias_mf: 25M synthetic interactions (162k users, 59k items), one epoch, at
  the default batch and at 8192.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CASES = ("ml100k_dot_bias_mf", "ml100k_embedding_nn", "synthetic25m_dot_bias_mf")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: str, epochs: int, batch_size: int | None) -> dict:
    import numpy as np
    import tensorflow as tf

    from embedzoo import datasets, training, zoo
    from embedzoo.training.callbacks import EpochTimer

    t0 = time.perf_counter()
    if case.startswith("ml100k"):
        data = datasets.load_ml100k()
        perm = np.random.default_rng(42).permutation(len(data))
        train = data.subset(np.sort(perm[:80000]))
    else:
        train = datasets.synthetic()
    load_seconds = time.perf_counter() - t0
    name = case.split("_", 1)[1]
    model = zoo.build(name, train, seed=0)
    bs = batch_size or model.fit_defaults["batch_size"]
    timer = EpochTimer()
    t0 = time.perf_counter()
    training.fit(model, train, epochs=epochs, batch_size=bs, callbacks=[timer], verbose=0)
    fit_seconds = time.perf_counter() - t0
    # The first epoch includes tracing; steady state is the median of the rest.
    steady = (
        sorted(timer.seconds[1:])[len(timer.seconds[1:]) // 2] if epochs > 1 else timer.seconds[0]
    )
    return {
        "case": case,
        "rows": len(train),
        "users": len(train.users),
        "items": len(train.items),
        "batch_size": bs,
        "epochs": epochs,
        "examples_per_second": round(len(train) / steady),
        "epoch_seconds": round(steady, 3),
        "first_epoch_seconds": round(timer.seconds[0], 3),
        "fit_seconds": round(fit_seconds, 2),
        # fit's work outside the epochs: remember (seen items, counts), encoding, the dataset.
        "fit_overhead_seconds": round(fit_seconds - sum(timer.seconds), 2),
        "jit_compile": bool(model.jit_compile),
        "data_seconds": round(load_seconds, 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "device": "GPU" if tf.config.list_logical_devices("GPU") else "CPU",
        "cpus": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--case",
        choices=CASES,
        help="one case in this process (default: all, each in a subprocess)",
    )
    ap.add_argument("--epochs", type=int, help="epochs (default 5 for ML-100k, 1 for 25M)")
    ap.add_argument("--batch-size", type=int, help="override the model's default batch size")
    args = ap.parse_args()
    if args.case:
        epochs = args.epochs or (1 if args.case.startswith("synthetic") else 5)
        print(json.dumps(run_case(args.case, epochs, args.batch_size)))
        return
    results = []
    plan = [(c, None) for c in CASES] + [
        ("ml100k_dot_bias_mf", 8192),
        ("synthetic25m_dot_bias_mf", 8192),
    ]
    for case, bs in plan:
        cmd = [sys.executable, __file__, "--case", case]
        if bs:
            cmd += ["--batch-size", str(bs)]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            results.append({"case": case, "error": out.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({"python": platform.python_version(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
