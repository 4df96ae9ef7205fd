"""Training under tf.distribute on this machine: default, MirroredStrategy over 2 logical CPUs,
MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1, and ParameterServerStrategy
(2 workers, 2 ps, tables in 2 shards, an in-process cluster of TensorFlow servers).

Prints one JSON object per case: examples/s of the median epoch after the first, fit time and
the quality reached (dot_bias_mf: acceptance RMSE; bpr: full NDCG@10 on the ranking protocol),
so the same seed on one device, on two replicas and on two workers can be compared. On 2 cores
the replicas and workers share the same cores, so the point is correctness and overhead, not
speed-up.

    python benchmarks/distributed.py                 # every case
    python benchmarks/distributed.py --case bpr      # one model
    python benchmarks/distributed.py --strategy parameter_server   # one layout
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

WORKER = "--worker" in sys.argv
PARAMETER_SERVER = "--parameter-server" in sys.argv
PS_STRATEGY = None
if WORKER:  # a multi-worker process: the strategy comes first (collectives start with it)
    from embedzoo.training import strategies as _strategies

    _strategies.get("multi_worker")
elif PARAMETER_SERVER:  # this process: the coordinator of 2 workers and 2 ps servers
    _ports = []
    for _ in range(4):
        with socket.socket() as _s:
            _s.bind(("127.0.0.1", 0))
            _ports.append(_s.getsockname()[1])
    _spec = tf.train.ClusterSpec(
        {
            "worker": [f"127.0.0.1:{p}" for p in _ports[:2]],
            "ps": [f"127.0.0.1:{p}" for p in _ports[2:]],
        }
    )
    # servers in one process share its inter-op threads: fewer than workers + 1 deadlock
    _config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=4)
    for _job in ("worker", "ps"):
        for _i in range(2):
            tf.distribute.Server(
                _spec, job_name=_job, task_index=_i, protocol="grpc", config=_config, start=True
            )
    PS_STRATEGY = tf.distribute.ParameterServerStrategy(
        tf.distribute.cluster_resolver.SimpleClusterResolver(_spec, rpc_layer="grpc")
    )
else:
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )

from embedzoo import datasets, training, zoo  # noqa: E402
from embedzoo.training import evaluation, strategies  # noqa: E402
from embedzoo.training.callbacks import EpochTimer  # noqa: E402

GPU_NOTE = (
    "no GPU was lent to this run; on GPUs MirroredStrategy keeps one replica per GPU with "
    "the same per-replica step (XLA off, one step per call while several replicas run); "
    "parameter-server workers each run whole global batches on their own GPU while the "
    "tables stay in the ps tasks' host memory, so each step also pays the gather and the "
    "sparse update over the network"
)


def run(name: str, strategy_name: str) -> dict:
    data = datasets.load_ml100k()
    if name == "dot_bias_mf":
        train, test = datasets.random_split(data, test_fraction=0.2, seed=42)
    else:
        train, test = evaluation.ranking_protocol(data)
    if strategy_name == "parameter_server":
        strategy = PS_STRATEGY
    else:
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


def parameter_server(name: str, timeout: float = 3600) -> dict:
    """Runs ``name`` in a child process that coordinates an in-process ps cluster."""
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--parameter-server", "--case", name],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def multi_worker(name: str, timeout: float = 1800) -> dict:
    """Runs ``name`` on 2 worker processes of this script; returns the chief's figures."""
    socks = [socket.socket() for _ in range(2)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    procs = []
    try:
        for i in range(2):
            config = {
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "task": {"type": "worker", "index": i},
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--worker", "--case", name],
                    env={**os.environ, "TF_CONFIG": json.dumps(config)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        outs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return json.loads(outs[0].strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("dot_bias_mf", "bpr"), action="append")
    ap.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multi_worker", "parameter_server"),
        action="append",
        help="only these layouts (default: every one)",
    )
    ap.add_argument("--worker", action="store_true", help="(internal) one multi-worker process")
    ap.add_argument(
        "--parameter-server", action="store_true", help="(internal) the ps run's coordinator"
    )
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(run(args.case[0], "multi_worker")), flush=True)
        return 0
    if args.parameter_server:
        print(json.dumps({**run(args.case[0], "parameter_server"), "workers": 2, "ps": 2}))
        return 0
    layouts = args.strategy or ("default", "mirrored", "multi_worker", "parameter_server")
    for name in args.case or ("dot_bias_mf", "bpr"):
        for strategy_name in ("default", "mirrored"):
            if strategy_name in layouts:
                print(json.dumps(run(name, strategy_name)), flush=True)
        if "multi_worker" in layouts:
            print(json.dumps({**multi_worker(name), "processes": 2}), flush=True)
        if "parameter_server" in layouts:
            print(json.dumps(parameter_server(name)), flush=True)
    print(json.dumps({"note": GPU_NOTE}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
