"""Implicit-feedback ranking: throughput, 25M-row epoch, evaluation time, acceptance report.

Prints one JSON document. Each case runs in its own process, so its peak RSS
(``resource.getrusage``) is that case's alone.

    python benchmarks/ranking.py                        # every benchmark case
    python benchmarks/ranking.py --case ml100k_bpr      # one case
    python benchmarks/ranking.py --report               # the ML-100k acceptance report
    python benchmarks/ranking.py --report --markdown    # ... as a Markdown table

Cases:
- ml100k_bpr, ml100k_neumf: training with the model's defaults on the ML-100k protocol's
  train split (88,690 positives); triplets/s (BPR) or examples/s (NeuMF: a positive and its
  4 negatives are 5 examples) of a steady epoch, and the whole ``fit`` wall time.
- synthetic25m_bpr: one BPR epoch (default settings; batch 1024, and 8192 in a second process)
  over the 25M-row synthetic set: epoch seconds, the whole ``fit`` (with its set-up), peak RSS.
- ml100k_full_ranking: the time of full-ranking metrics for all 943 users, and of the whole
  ``ranking_metrics`` call (two sampled variants + full ranking).

The report trains ``bpr``, ``gmf``, ``mlp``, ``neumf`` (from scratch and from the pretrained
GMF + MLP), the rating models ``dot_bias_mf`` and ``embedding_nn`` (on the ratings of the same
train split) and the ``popularity`` baseline, with their defaults and seed 0, and reports
sampled HR/NDCG@10 (100 negatives, popularity and uniform) and full-ranking metrics.
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

CASES = ("ml100k_bpr", "ml100k_neumf", "synthetic25m_bpr", "ml100k_full_ranking")


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def protocol_split():
    from embedzoo import datasets
    from embedzoo.training import evaluation

    return evaluation.ranking_protocol(datasets.load_ml100k())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def train_timed(name: str, train, cpu: list | None = None, **fit_kwargs):
    """Trains with defaults (seed 0); returns (model, fit seconds, epoch wall seconds).

    ``cpu`` (if given) receives each epoch's CPU seconds (all threads): on a shared machine
    the wall time depends on the neighbours, the CPU time much less.
    """
    import keras

    from embedzoo import training, zoo
    from embedzoo.training.callbacks import EpochTimer

    class CpuTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = cpu_seconds()

        def on_epoch_end(self, epoch, logs=None):
            if cpu is not None:
                cpu.append(cpu_seconds() - self.start)

    model = zoo.build(name, train, seed=0)
    timer = EpochTimer()
    start = time.perf_counter()
    training.fit(model, train, seed=0, verbose=0, callbacks=[timer, CpuTimer()], **fit_kwargs)
    return model, time.perf_counter() - start, timer.seconds


def case_ml100k(name: str) -> dict:

    train, _ = protocol_split()
    cpu: list = []
    model, seconds, epochs = train_timed(name, train, cpu)
    steady = sorted(epochs[1:])[len(epochs[1:]) // 2]  # the first epoch includes tracing
    examples = len(train) * model.training_spec().examples_per_row
    return {
        "case": f"ml100k_{name}", "positives": len(train), "examples_per_epoch": examples,
        "epochs": len(epochs), "batch_size": model.fit_defaults["batch_size"],
        "examples_per_second": round(examples / steady), "epoch_seconds": round(steady, 3),
        "epoch_cpu_seconds": round(sorted(cpu[1:])[len(cpu[1:]) // 2], 3),
        "first_epoch_seconds": round(epochs[0], 3), "fit_seconds": round(seconds, 2),
        "peak_rss_mib": peak_rss_mib(),
    }  # fmt: skip


def case_synthetic(batch_size: int) -> dict:
    from embedzoo import datasets

    start = time.perf_counter()
    data = datasets.synthetic()
    data_seconds = time.perf_counter() - start
    cpu: list = []
    _, seconds, epochs = train_timed("bpr", data, cpu, epochs=1, batch_size=batch_size)
    return {
        "case": "synthetic25m_bpr", "rows": len(data), "users": len(data.users),
        "items": len(data.items), "batch_size": batch_size, "data_seconds": round(data_seconds, 2),
        "epoch_seconds": round(epochs[0], 2), "epoch_cpu_seconds": round(cpu[0], 2),
        "triplets_per_second": round(len(data) / epochs[0]),
        # fit = remember (seen items) + pipeline set-up (sampler, recency weights) + the epoch
        "fit_seconds": round(seconds, 2), "peak_rss_mib": peak_rss_mib(),
    }  # fmt: skip


def case_full_ranking() -> dict:
    from embedzoo.training import evaluation, ranking_metrics

    train, test = protocol_split()
    model, _, _ = train_timed("bpr", train, epochs=2)
    split = ranking_metrics._Split(model, train, test, "error")
    start = time.perf_counter()
    full = ranking_metrics.full_ranking(split, k=10)
    full_seconds = time.perf_counter() - start
    start = time.perf_counter()
    evaluation.ranking_metrics(model, train, test)
    return {
        "case": "ml100k_full_ranking", "users": split.counts["n_users"], "items": len(model.items),
        "full_ranking_seconds": round(full_seconds, 3),
        "ranking_metrics_seconds": round(time.perf_counter() - start, 3),
        "ndcg@10_after_2_epochs": round(full["ndcg@10"], 4), "peak_rss_mib": peak_rss_mib(),
    }  # fmt: skip


def run_case(case: str, batch_size: int | None) -> dict:
    if case == "synthetic25m_bpr":
        return case_synthetic(batch_size or 1024)
    if case == "ml100k_full_ranking":
        return case_full_ranking()
    return case_ml100k(case.split("_", 1)[1])


def report(markdown: bool) -> None:
    from embedzoo.training import evaluation
    from embedzoo.zoo.ncf import NeuMF

    train, test = protocol_split()
    models, seconds = {}, {}
    for name in ("bpr", "gmf", "mlp", "neumf", "popularity", "dot_bias_mf", "embedding_nn"):
        models[name], seconds[name], _ = train_timed(name, train)
    start = time.perf_counter()
    pretrained = NeuMF.from_pretrained(models["gmf"], models["mlp"])
    from embedzoo import training

    training.fit(pretrained, train, seed=0, verbose=0, epochs=4, learning_rate=1e-3)
    models["neumf_pretrained"] = pretrained
    seconds["neumf_pretrained"] = time.perf_counter() - start + seconds["gmf"] + seconds["mlp"]
    rep = evaluation.ranking_report(models, train, test, k=10, num_negatives=100, seed=0)
    rep.frame["train_seconds"] = [round(seconds[n], 2) for n in rep.frame.index]
    if markdown:
        print(rep.to_markdown())
    else:
        print(json.dumps(rep.to_dict(), indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--case",
        choices=CASES,
        help="one case in this process (default: all, each in a subprocess)",
    )
    ap.add_argument("--batch-size", type=int, help="synthetic25m_bpr: batch size (default 1024)")
    ap.add_argument(
        "--report", action="store_true", help="print the ML-100k acceptance report instead"
    )
    ap.add_argument("--markdown", action="store_true", help="with --report: a Markdown table")
    args = ap.parse_args()
    if args.report:
        report(args.markdown)
        return
    if args.case:
        print(json.dumps(run_case(args.case, args.batch_size)))
        return
    results = []
    plan = [[c] for c in CASES] + [["synthetic25m_bpr", "--batch-size", "8192"]]
    for case in plan:
        out = subprocess.run(
            [sys.executable, __file__, "--case", *case], capture_output=True, text=True
        )
        if out.returncode != 0:
            results.append({"case": case, "error": out.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        json.dumps(
            {"python": platform.python_version(), "cpus": os.cpu_count(), "results": results},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
