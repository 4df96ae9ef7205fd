"""One worker of a multi-worker run (``TF_CONFIG`` set by the test); prints JSON.

Usage: ``python multi_worker_probe.py MODEL EPOCHS OUT_DIR [CHECKPOINT_DIR]``. Trains MODEL on
the small synthetic data with ``batch_size=256`` (the last global batch splits unevenly) and
saves its weights to ``OUT_DIR/worker-<index>.npz``.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.getcwd())

from embedzoo.training import loop, strategies  # noqa: E402

strategy = strategies.get("multi_worker")  # before any other TensorFlow op

import numpy as np  # noqa: E402

from embedzoo import training, zoo  # noqa: E402
from tests.helpers import make_implicit, make_ratings  # noqa: E402


def data_for(name):
    return make_ratings(n_rows=901) if name == "dot_bias_mf" else make_implicit()


def main(name, epochs, out_dir, checkpoint_dir=None):
    index, workers, chief = loop.worker_info(strategy)
    data = data_for(name)
    model = zoo.build(name, data, seed=0, strategy=strategy)
    history = training.fit(
        model,
        data,
        validation=data,
        epochs=epochs,
        batch_size=256,
        seed=0,
        verbose=0,
        checkpoint_dir=checkpoint_dir,
    )
    np.savez(os.path.join(out_dir, f"worker-{index}.npz"), *model.get_weights())
    return {
        "index": index,
        "workers": workers,
        "chief": chief,
        "replicas": strategy.num_replicas_in_sync,
        "epochs": [int(e) for e in history.epoch],
        "loss": history.history["loss"],
        "val_loss": history.history["val_loss"],
    }


if __name__ == "__main__":
    name, epochs, out_dir, *rest = sys.argv[1:]
    print(json.dumps(main(name, int(epochs), out_dir, *rest)))
