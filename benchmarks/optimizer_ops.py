"""Cost of the TensorFlow kernels a row-wise optimizer step is made of; prints one JSON document.

One table of 162,000 × 32 float32 (the user factors of the 25M synthetic set), 8,192 distinct
random rows (a batch after ``tf.unique``), each kernel in its own ``tf.function``, timed over
repeated calls with the cost of an empty call subtracted. The figures behind
``embedzoo.training.optimizers._subtract_rows`` (``scatter_update`` of gathered rows instead
of ``scatter_sub``):

    python benchmarks/optimizer_ops.py
    python benchmarks/optimizer_ops.py --rows 1000000 --batch 8192 --width 64
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def per_call_ms(fn, calls: int) -> float:
    graph = tf.function(fn)
    graph()  # trace
    start = time.perf_counter()
    for _ in range(calls):
        graph()
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=162_000)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    table = tf.Variable(rng.normal(size=(args.rows, args.width)).astype(np.float32))
    rows = tf.constant(rng.choice(args.rows, args.batch, replace=False).astype(np.int32))
    ids = tf.constant(rng.integers(0, args.rows, args.batch).astype(np.int32))
    values = tf.constant(rng.normal(size=(args.batch, args.width)).astype(np.float32))
    update = tf.IndexedSlices(values, rows)
    distinct, position = tf.unique(ids)

    # Stateful ops run though nothing reads their result (returning the variable would add a
    # full read of it); the others feed a scalar output, so graph pruning keeps them.
    def scatter_update():
        table.scatter_update(update)

    def scatter_sub():
        table.scatter_sub(update)

    def gather_then_scatter_update():
        table.scatter_update(tf.IndexedSlices(tf.gather(table, rows) - values, rows))

    kernels = {
        "gather": lambda: tf.reduce_sum(tf.gather(table, rows)),
        "scatter_update": scatter_update,
        "scatter_sub": scatter_sub,
        "gather_then_scatter_update": gather_then_scatter_update,
        "unique": lambda: tf.reduce_sum(tf.unique(ids)[1]),
        # duplicate rows summed, as the optimizer does: one segment per distinct id
        "unsorted_segment_sum": lambda: tf.reduce_sum(
            tf.math.unsorted_segment_sum(values, position, tf.size(distinct))
        ),
    }
    empty = per_call_ms(lambda: tf.constant(0.0), args.calls)
    out = {
        name: round(max(per_call_ms(fn, args.calls) - empty, 0.0), 3)
        for name, fn in kernels.items()
    }
    print(
        json.dumps(
            {
                "rows": args.rows,
                "width": args.width,
                "batch": args.batch,
                "empty_call_ms": round(empty, 3),
                "ms_per_call_minus_empty": out,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
