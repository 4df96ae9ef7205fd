"""8 threads call an exported SavedModel's `recommend` for a bounded time: no error, every
answer well-formed (unknown users included), p99 latency reported."""

import threading
import time

import numpy as np
import tensorflow as tf

from embedzoo import zoo
from tests.helpers import make_ratings

THREADS, SECONDS = 8, 2.0


def test_eight_threads_for_two_seconds(tmp_path):
    data = make_ratings(n_rows=600)
    model = zoo.build("dot_bias_mf", data, n_factors=4, seed=0)
    recommend = tf.saved_model.load(str(zoo.export(model, tmp_path, "m"))).signatures["recommend"]
    users = np.concatenate([data.users.ids[:20], np.array([10**9, -5])])  # two unknown
    latencies, errors = [[] for _ in range(THREADS)], []
    stop = time.monotonic() + SECONDS

    def client(i):
        rng = np.random.default_rng(i)
        while time.monotonic() < stop:
            batch = tf.constant(rng.choice(users, size=4), tf.int64)
            start = time.perf_counter()
            try:
                out = recommend(user_id=batch, k=tf.constant(5, tf.int32))
                assert out["item_ids"].shape == (4, 5) and np.isfinite(out["scores"].numpy()).all()
            except Exception as e:  # collected, reported below
                errors.append(repr(e))
                return
            latencies[i].append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    calls = np.concatenate([np.asarray(x) for x in latencies])
    assert all(len(x) > 0 for x in latencies)
    print(f"serving soak: {len(calls)} calls, p50 {np.percentile(calls, 50) * 1e3:.2f} ms,"
          f" p99 {np.percentile(calls, 99) * 1e3:.2f} ms")  # fmt: skip
