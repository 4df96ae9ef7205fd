"""Parameter-server checks on an in-process cluster (2 ps, 2 workers, this process the
coordinator, as TensorFlow's parameter-server guide runs one); prints JSON.

Usage: ``python parameter_server_probe.py one_step | ml100k``.
"""

import json
import os
import socket
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.getcwd())

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_process_cluster(workers=2, ps=2) -> tf.distribute.Strategy:
    cluster = {
        "worker": [f"127.0.0.1:{free_port()}" for _ in range(workers)],
        "ps": [f"127.0.0.1:{free_port()}" for _ in range(ps)],
    }
    spec = tf.train.ClusterSpec(cluster)
    # Servers in one process share its inter-op thread pool: with fewer threads than workers +
    # 1 the workers' steps deadlock (TensorFlow's parameter-server guide sets the same).
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=workers + 2)
    for job, count in (("worker", workers), ("ps", ps)):
        for i in range(count):
            tf.distribute.Server(
                spec, job_name=job, task_index=i, protocol="grpc", config=config, start=True
            )
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer="grpc")
    return tf.distribute.ParameterServerStrategy(resolver)


# one_step: 1 worker (its one step is the default step); ml100k: 2 asynchronous workers
STRATEGY = in_process_cluster(
    workers=1 if sys.argv[1] == "one_step" else int(os.environ.get("PS_PROBE_WORKERS", 2))
)

from embedzoo import training, zoo  # noqa: E402
from tests.helpers import make_implicit, make_ratings  # noqa: E402

MODELS = {
    "dot_bias_mf": {},
    "embedding_nn": {"dropout": 0.0, "hidden_layers": [16]},
    "bpr": {},
    "gmf": {"n_factors": 8},
    "mlp": {"mlp_layers": [16, 8]},
    "neumf": {"n_factors": 8, "mlp_layers": [16, 8]},
    "link_embedding": {"embedding_size": 8, "n_positive": 256},
}
RATING = ("dot_bias_mf", "embedding_nn")


def state(model) -> list:
    """Every weight, tables whole (a sharded table as its concatenated rows)."""
    tables = [t for layers in model.indexed_tables().values() for t in layers]
    in_tables = {id(v) for t in tables for v in t.table_variables()}
    out = [np.asarray(t.table()) for t in tables]
    return out + [np.asarray(w) for w in model.weights if id(w) not in in_tables]


def one_step():
    out = {}
    for name, config in MODELS.items():
        data = (make_ratings() if name in RATING else make_implicit()).subset(np.arange(512))
        batch = 256 if name == "link_embedding" else 512  # one step: the whole data at once
        runs = {}
        for label, strategy in (("single", None), ("ps", STRATEGY)):
            # the same 2 shards on one device (a whole-table start draws other numbers;
            # tests/zoo/test_sharded_tables.py shows shards train as one table)
            model = zoo.build(name, data, seed=0, strategy=strategy, table_shards=2, **config)
            history = training.fit(model, data, epochs=1, batch_size=batch, seed=0, verbose=0)
            runs[label] = (history.history["loss"][0], state(model), model, sorted(history.history))
        ps_model = runs["ps"][2]
        devices = sorted(
            {v.value.device for t in ps_model.indexed_tables()["item"] for v in t.table_variables()}
        )
        diff = max(
            float(np.max(np.abs(a - b))) if a.size else 0.0
            for a, b in zip(runs["single"][1], runs["ps"][1], strict=True)
        )
        out[name] = {
            "loss_single": runs["single"][0],
            "loss_ps": runs["ps"][0],
            "max_weight_diff": diff,
            "table_shards": ps_model.table_shards,
            "same_history_keys": runs["single"][3] == runs["ps"][3],
            "item_table_devices": devices,
        }
        if name == "bpr":
            export = compare_exports(runs["single"][2], ps_model)
    return {"models": out, "export": export}


def compare_exports(single, ps_model) -> dict:
    """Exports of the same weights trained on one device and on the parameter servers."""
    import tempfile

    served = {}
    with tempfile.TemporaryDirectory() as directory:
        for label, model in (("single", single), ("ps", ps_model)):
            loaded = tf.saved_model.load(str(zoo.export(model, directory, label)))
            users = tf.constant(single.users.to_list()[:5] + [10**9], tf.int64)
            answers = {
                "recommend": loaded.signatures["recommend"](user_id=users, k=tf.constant(5)),
                "similar": loaded.signatures["similar_items"](item_id=users, k=tf.constant(3)),
            }
            served[label] = (
                sorted(loaded.signatures),
                {f"{s}/{k}": v.numpy() for s, out in answers.items() for k, v in out.items()},
            )
    return {
        "signatures_equal": served["single"][0] == served["ps"][0],
        "answers_equal": all(
            np.allclose(served["ps"][1][key], value, rtol=1e-6)
            if value.dtype.kind == "f"
            else np.array_equal(served["ps"][1][key], value)
            for key, value in served["single"][1].items()
        ),
    }


def ml100k():
    """bpr on the ranking protocol and dot_bias_mf on the random split, single vs ps."""
    from embedzoo import datasets
    from embedzoo.training import evaluation

    data = datasets.load_ml100k()
    out = {}
    train, test = evaluation.ranking_protocol(data)
    models = {}
    for label, strategy in (("single", None), ("ps", STRATEGY)):
        model = zoo.build("bpr", train, seed=0, strategy=strategy)
        training.fit(model, train, seed=0, verbose=0)
        models[label] = model
    report = evaluation.ranking_report(models, train, test, k=10, seed=0).to_dict()["models"]
    out["bpr_ndcg"] = {label: report[label]["ndcg@10"] for label in models}
    train, test = datasets.random_split(data, test_fraction=0.2, seed=42)
    out["dot_bias_mf_rmse"] = {}
    for label, strategy in (("single", None), ("ps", STRATEGY)):
        model = zoo.build("dot_bias_mf", train, seed=0, strategy=strategy)
        training.fit(model, train, seed=0, verbose=0)
        out["dot_bias_mf_rmse"][label] = training.rating_metrics(model, test)["rmse"]
    return out


if __name__ == "__main__":
    print(json.dumps({"one_step": one_step, "ml100k": ml100k}[sys.argv[1]]()))
