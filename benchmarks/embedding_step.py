"""Cost of one training step against embedding-table size; prints one JSON document.

Two user/item tables of N × 64, batch 8192 of random ids, MSE on the dot product, Keras ``fit``
with ``steps_per_execution=16``. Compares ``keras.layers.Embedding`` with Keras's Adam against
embedzoo's ``Embedding`` with ``RowwiseAdam``: the first grows with N, the second stays flat.

    python benchmarks/embedding_step.py                  # N = 10k, 100k, 1M
    python benchmarks/embedding_step.py --rows 4000000
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from embedzoo.core.layers import Embedding  # noqa: E402
from embedzoo.training.optimizers import RowwiseAdam  # noqa: E402

DIM, BATCH, STEPS = 64, 8192, 48


class Dot(keras.Model):
    def __init__(self, rows: int, rowwise: bool):
        super().__init__()
        make = (
            (lambda: Embedding(rows, DIM))
            if rowwise
            else (lambda: keras.layers.Embedding(rows, DIM))
        )
        self.u, self.i = make(), make()

    def call(self, x):
        return tf.reduce_sum(self.u(x["u"]) * self.i(x["i"]), -1)


def step_ms(rows: int, rowwise: bool) -> float:
    rng = np.random.default_rng(0)
    n = BATCH * STEPS
    x = {
        "u": rng.integers(1, rows, n).astype("int32"),
        "i": rng.integers(1, rows, n).astype("int32"),
    }
    ds = (
        tf.data.Dataset.from_tensor_slices((x, rng.random(n).astype("float32")))
        .batch(BATCH)
        .cache()
    )
    model = Dot(rows, rowwise)
    opt = RowwiseAdam(1e-3) if rowwise else keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt, loss="mse", steps_per_execution=16, jit_compile=False)
    model.fit(ds, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0)
    return (time.perf_counter() - start) / STEPS * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    args = ap.parse_args()
    results = []
    for rows in args.rows:
        results.append(
            {
                "rows": rows,
                "dim": DIM,
                "batch": BATCH,
                "keras_embedding_adam_ms_per_step": round(step_ms(rows, False), 2),
                "embedzoo_rowwise_adam_ms_per_step": round(step_ms(rows, True), 2),
            }
        )
    print(
        json.dumps(
            {
                "device": "GPU" if tf.config.list_logical_devices("GPU") else "CPU",
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
