"""Training under tf.distribute on this machine: default vs MirroredStrategy over 2 logical CPUs.

Prints one JSON object per case: examples/s of the median epoch after the first, fit time and
the quality reached (dot_bias_mf: acceptance RMSE; bpr: full NDCG@10 on the ranking protocol),
so the same seed on one device and on two replicas can be compared. On 2 cores two replicas
share the same cores, so the point is correctness and overhead, not speed-up.

    python benchmarks/distributed.py                 # every case
    python benchmarks/distributed.py --case bpr      # one model
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

from embedzoo import datasets, training, zoo  # noqa: E402
from embedzoo.training import evaluation, strategies  # noqa: E402
from embedzoo.training.callbacks import EpochTimer  # noqa: E402

GPU_NOTE = (
    "no GPU was lent to this run; on GPUs MirroredStrategy keeps one replica per GPU with "
    "the same per-replica step (XLA off, one step per call while several replicas run)"
)


def run(name: str, strategy_name: str) -> dict:
    data = datasets.load_ml100k()
    if name == "dot_bias_mf":
        train, test = datasets.random_split(data, test_fraction=0.2, seed=42)
    else:
        train, test = evaluation.ranking_protocol(data)
    strategy = None if strategy_name == "default" else strategies.get(strategy_name)
    model = zoo.build(name, train, seed=0, strategy=strategy)
    timer = EpochTimer()
    start = time.perf_counter()
    training.fit(model, train, seed=0, verbose=0, callbacks=[timer])
    seconds = time.perf_counter() - start
    steady = sorted(timer.seconds[1:])[len(timer.seconds[1:]) // 2]
    examples = len(train) * model.training_spec().examples_per_row
    if name == "dot_bias_mf":
        quality = {"rmse": round(training.rating_metrics(model, test)["rmse"], 5)}
    else:
        metrics = evaluation.ranking_metrics(model, train, test, samplings=())
        quality = {"ndcg@10": round(metrics["ndcg@10"], 5)}
    return {
        "case": f"ml100k_{name}_{strategy_name}",
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "examples_per_second": round(examples / steady),
        "epoch_seconds": round(steady, 3),
        "fit_seconds": round(seconds, 2),
        **quality,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("dot_bias_mf", "bpr"), action="append")
    args = ap.parse_args(argv)
    for name in args.case or ("dot_bias_mf", "bpr"):
        for strategy_name in ("default", "mirrored"):
            print(json.dumps(run(name, strategy_name)), flush=True)
    print(json.dumps({"note": GPU_NOTE}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
