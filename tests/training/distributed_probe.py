"""Runs distributed checks in a fresh process with 2 logical CPU devices; prints JSON.

Usage: ``python distributed_probe.py one_step`` | ``defaults DIR`` | ``two_tower DIR``.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.getcwd())

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import numpy as np  # noqa: E402

from embedzoo import training, zoo  # noqa: E402
from embedzoo.errors import ConfigError  # noqa: E402
from embedzoo.training import strategies  # noqa: E402
from tests.helpers import make_implicit, make_ratings  # noqa: E402

# Every Keras-trained model; embedding_nn and the sequence models without dropout (masks are
# drawn per replica).
MODELS = {
    "dot_bias_mf": {},
    "embedding_nn": {"dropout": 0.0, "hidden_layers": [16]},
    "bpr": {},
    "gmf": {"n_factors": 8},
    "mlp": {"mlp_layers": [16, 8]},
    "neumf": {"n_factors": 8, "mlp_layers": [16, 8]},
    "link_embedding": {"embedding_size": 8, "n_positive": 256},
    "sasrec": {"embedding_dim": 8, "max_length": 5, "dropout": 0.0},
    "gru4rec": {"embedding_dim": 8, "max_length": 5, "dropout": 0.0},
}
RATING = ("dot_bias_mf", "embedding_nn")
SEQUENCE = ("sasrec", "gru4rec")


def one_step():
    mirrored = strategies.get("mirrored")
    out = {}
    for name, config in MODELS.items():
        # one step: the whole data at once (the sequence models: 508 rows, 114 windows, one
        # full batch; a single partial batch split unevenly, 58 / 57, over the replicas fails
        # inside Keras's fit with an AddN shape error, while full batches followed by a
        # partial one train)
        rows = 508 if name in SEQUENCE else 512
        data = (make_ratings() if name in RATING else make_implicit()).subset(np.arange(rows))
        batch = {"link_embedding": 256, "sasrec": 114, "gru4rec": 114}.get(name, 512)
        runs = {}
        for strategy in (None, mirrored):
            model = zoo.build(name, data, seed=0, strategy=strategy, **config)
            history = training.fit(model, data, epochs=1, batch_size=batch, seed=0, verbose=0)
            runs["mirrored" if strategy else None] = (
                history.history["loss"][0],
                [np.asarray(w) for w in model.get_weights()],
            )
        diff = max(
            float(np.max(np.abs(a - b))) if a.size else 0.0
            for a, b in zip(runs[None][1], runs["mirrored"][1], strict=True)
        )
        out[name] = {
            "loss_single": runs[None][0],
            "loss_mirrored": runs["mirrored"][0],
            "max_weight_diff": diff,
        }
    return {"replicas": model.distribute_strategy.num_replicas_in_sync, "models": out}


def defaults(directory):
    data = make_ratings()
    model = zoo.build("dot_bias_mf", data, seed=0, strategy="mirrored")
    history = training.fit(model, data, epochs=2, verbose=0)  # fit's defaults otherwise
    path = zoo.export(model, directory, "m")
    loaded = tf.saved_model.load(str(path))
    users, items = data.frame.user.to_numpy()[:20], data.frame.item.to_numpy()[:20]
    served = loaded.signatures["score"](user_id=tf.constant(users), item_id=tf.constant(items))[
        "score"
    ]
    try:
        training.fit(model, data, epochs=1, batch_size=63, verbose=0)
        error = ""
    except ConfigError as e:
        error = str(e)
    return {
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "epochs_trained": len(history.history["loss"]),
        "finite": bool(np.all(np.isfinite(history.history["loss"]))),
        "export_matches": bool(np.allclose(served.numpy(), model.score(users, items), rtol=1e-5)),
        "bad_batch_error": error,
    }


def ml100k():
    """The acceptance split with dot_bias_mf's defaults, on one device and on two replicas."""
    from embedzoo import datasets

    train, test = datasets.random_split(datasets.load_ml100k(), test_fraction=0.2, seed=42)
    out = {}
    for strategy in (None, strategies.get("mirrored")):
        model = zoo.build("dot_bias_mf", train, seed=0, strategy=strategy)
        training.fit(model, train, seed=0, verbose=0)
        out["rmse_mirrored" if strategy else "rmse_single"] = training.rating_metrics(model, test)[
            "rmse"
        ]
    out["replicas"] = strategies.get("mirrored").num_replicas_in_sync
    return out


def two_tower(directory):
    """The feature model on 2 replicas: each replica's rows are softmaxed over its own batch
    (and its share of the uniform negatives), as an in-batch model on N devices does."""
    from tests.zoo.test_two_tower import SMALL, genre_world

    data, genre, user_genre = genre_world()
    model = zoo.build("two_tower", data, seed=0, strategy="mirrored", **SMALL)
    history = training.fit(model, data, epochs=30, batch_size=64, learning_rate=0.01, verbose=0)
    cold = np.arange(51, 61)
    scores = model.predict_matrix(data.users.ids, cold).to_numpy()
    own = genre[cold - 1][None, :] == user_genre[:, None]
    auc = np.mean(
        [np.mean(s[o][:, None] > s[~o][None, :]) for s, o in zip(scores, own, strict=True)]
    )
    path = zoo.export(model, directory, "tt")
    loaded = tf.saved_model.load(str(path))
    served = loaded.signatures["recommend_for_features"](
        age=tf.constant([22.0, 62.0]), k=tf.constant(5)
    )
    ids, _ = model.recommend_for_features({"age": [22.0, 62.0]}, k=5)
    losses = history.history["loss"]
    return {
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "loss_first": losses[0], "loss_last": losses[-1], "cold_item_auc": float(auc),
        "export_matches": served["item_ids"].numpy().tolist() == ids.tolist(),
    }  # fmt: skip


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "one_step":
        result = one_step()
    elif command == "two_tower":
        result = two_tower(sys.argv[2])
    elif command == "ml100k":
        result = ml100k()
    else:
        result = defaults(sys.argv[2])
    print(json.dumps(result))
