"""embedzoo against its peers on the same rows, back to back in one process tree.

Prints one JSON document (``--markdown``: a Markdown table too). Each system runs in its own
process (``--system`` runs one), so its wall time, CPU time (all threads) and peak RSS are its
own:

    python benchmarks/versus.py                        # every system of both cases
    python benchmarks/versus.py --case rating          # one case
    python benchmarks/versus.py --markdown

Cases:
- rating: MovieLens-100k, random 80/20 (``datasets.random_split``, seed 42), RMSE on the 20%.
  embedzoo's ``dot_bias_mf`` and ``embedding_nn`` against Surprise's SVD and SVD++, each with
  its defaults.
- ranking: the ML-100k ranking protocol (k-core > 5, per-user temporal 10%), full-ranking
  NDCG@10 with training items masked (embedzoo's metric for every system: the peers' factors
  are wrapped as a model). embedzoo's ``bpr`` and ``item2vec`` against implicit's BPR and ALS,
  each with its defaults (implicit on every core).

**Time to quality**: embedzoo's models are trained twice with the same seed, once plainly (for
the times) and once evaluated after every epoch (for the quality curve); the result is the
time, since the build began, of the first epoch reaching each peer's final quality (gensim's
models: their whole fit, their vectors exist only at its end). The per-epoch evaluation reads
the test split only to time the run, never to choose a setting.

Peers are the ``peers`` extra (``pip install -e '.[peers]'``: implicit, scikit-surprise); a
missing peer is skipped and the output says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SYSTEMS = {
    "rating": ("embedzoo:dot_bias_mf", "embedzoo:embedding_nn", "surprise:SVD", "surprise:SVDpp"),
    "ranking": ("embedzoo:bpr", "embedzoo:item2vec", "implicit:bpr", "implicit:als"),
}


def usage() -> tuple[float, float]:
    """(CPU seconds of this process, all threads; peak RSS MiB)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024


def split(case: str):
    from embedzoo import datasets
    from embedzoo.training import evaluation

    data = datasets.load_ml100k()
    if case == "rating":
        return datasets.random_split(data, test_fraction=0.2, seed=42)
    return evaluation.ranking_protocol(data)


def quality(case: str, model, train, test) -> float:
    from embedzoo.training import evaluation

    if case == "rating":
        return evaluation.rating_metrics(model, test)["rmse"]
    out = evaluation.ranking_metrics(model, train, test, samplings=(), cold_users="skip")
    return out["ndcg@10"]


def run_embedzoo(case: str, name: str) -> dict:
    """Two runs with the same seed (the same weights epoch by epoch on CPU): a plain one for
    the times (seconds since the build began at each epoch end), then one evaluated after
    every epoch for the quality curve (evaluating in between slows the epochs that follow,
    so its own times are not used)."""
    import keras

    from embedzoo import training, zoo

    train, test = split(case)

    class Marks(keras.callbacks.Callback):
        def __init__(self, evaluate: bool):
            super().__init__()
            self.evaluate, self.ends, self.quality = evaluate, [], []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(round(time.perf_counter() - start, 3))
            if self.evaluate:
                self.quality.append(quality(case, self.model, train, test))

    cpu0, _ = usage()
    start = time.perf_counter()
    model = zoo.build(name, train, seed=0)
    plain = Marks(evaluate=False)
    training.fit(model, train, seed=0, verbose=0, callbacks=[plain])
    wall = time.perf_counter() - start
    cpu, rss = usage()
    final = quality(case, model, train, test)
    result = {"final": final, "fit_wall_s": round(wall, 2), "cpu_s": round(cpu - cpu0, 2),
              "peak_rss_mib": round(rss), "epochs": len(plain.ends)}  # fmt: skip
    if not model.training_spec().trained_by_keras:
        # gensim fills the vectors once training is done: no per-epoch quality to read
        result["curve"] = [(round(wall, 3), final)]
        return result
    start = time.perf_counter()
    again = zoo.build(name, train, seed=0)
    marks = Marks(evaluate=True)
    training.fit(again, train, seed=0, verbose=0, callbacks=[marks])
    result["curve"] = list(zip(plain.ends, marks.quality, strict=True))
    return result


class FactorModel:
    """A peer's user and item factors as an embedzoo model, for embedzoo's ranking metrics:
    rows in the vocabularies' index order (row 0 = unknown), scores = dot products."""

    task = "ranking"
    zoo_name = "peer"

    def __init__(self, users, items, user_factors, item_factors):
        import numpy as np

        self.users, self.items = users, items
        d = user_factors.shape[1]
        self.user_table = np.vstack([np.zeros((1, d)), user_factors]).astype("float32")
        self.item_table = np.vstack([np.zeros((1, d)), item_factors]).astype("float32")
        self.name = "peer"

    def all_item_scores(self, user_index):
        import tensorflow as tf

        return tf.matmul(tf.gather(self.user_table, user_index), self.item_table, transpose_b=True)


def run_implicit(case: str, name: str) -> dict:
    import numpy as np
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    train, test = split(case)
    u, i = train.user_index - 1, train.item_index - 1
    matrix = sp.csr_matrix(
        (np.ones(len(u), "float32"), (u, i)), shape=(len(train.users), len(train.items))
    )
    matrix.data[:] = 1.0  # repeats count once
    cls = BayesianPersonalizedRanking if name == "bpr" else AlternatingLeastSquares
    peer = cls(random_state=0)
    cpu0, _ = usage()
    start = time.perf_counter()
    peer.fit(matrix, show_progress=False)
    wall = time.perf_counter() - start
    cpu, rss = usage()
    model = FactorModel(train.users, train.items, peer.user_factors, peer.item_factors)
    return {"final": quality(case, model, train, test), "fit_wall_s": round(wall, 2),
            "cpu_s": round(cpu - cpu0, 2), "peak_rss_mib": round(rss)}  # fmt: skip


def run_surprise(case: str, name: str) -> dict:
    import numpy as np
    import surprise

    train, test = split(case)
    frame = train.frame
    reader = surprise.Reader(rating_scale=(1, 5))
    data = surprise.Dataset.load_from_df(frame[["user", "item", "rating"]], reader)
    algo = getattr(surprise, name)(random_state=0)
    cpu0, _ = usage()
    start = time.perf_counter()
    algo.fit(data.build_full_trainset())
    wall = time.perf_counter() - start
    cpu, rss = usage()
    t = test.frame
    pred = np.array([algo.predict(a, b).est for a, b in zip(t.user, t["item"], strict=True)])
    rmse = float(np.sqrt(np.mean((pred - t.rating.to_numpy()) ** 2)))
    return {"final": rmse, "fit_wall_s": round(wall, 2), "cpu_s": round(cpu - cpu0, 2),
            "peak_rss_mib": round(rss)}  # fmt: skip


def run_system(case: str, system: str) -> dict:
    family, name = system.split(":")
    runner = {"embedzoo": run_embedzoo, "implicit": run_implicit, "surprise": run_surprise}
    return {"case": case, "system": system, **runner[family](case, name)}


def in_subprocess(case: str, system: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--case", case, "--system", system],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return {"case": case, "system": system, "skipped": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_to_quality(results: list) -> None:
    """Adds, to each embedzoo result, the training seconds at which it first reached each
    peer's final quality (lower RMSE / higher NDCG is better), and the ratio to the peer's."""
    for case in {r["case"] for r in results}:
        rows = [r for r in results if r["case"] == case and "final" in r]
        better = (lambda a, b: a <= b) if case == "rating" else (lambda a, b: a >= b)
        for ours in (r for r in rows if r["system"].startswith("embedzoo:")):
            reached = {}
            for peer in (r for r in rows if not r["system"].startswith("embedzoo:")):
                first = next((s for s, q in ours["curve"] if better(q, peer["final"])), None)
                reached[peer["system"]] = {
                    "seconds": first,
                    "ratio_to_peer_time": None if first is None
                    else round(first / max(peer["fit_wall_s"], 1e-9), 3),
                }  # fmt: skip
            ours["time_to_peer_quality"] = reached


def markdown(results: list) -> str:
    lines = ["| case | system | quality | fit wall s | CPU s | peak RSS MiB |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['case']} | {r['system']} | skipped: {r['skipped']} | | | |")
            continue
        metric = "RMSE" if r["case"] == "rating" else "NDCG@10"
        lines.append(f"| {r['case']} | {r['system']} | {metric} {r['final']:.4f} | "
                     f"{r['fit_wall_s']} | {r['cpu_s']} | {r['peak_rss_mib']} |")  # fmt: skip
    ttq = ["", "| embedzoo model | reaches peer's quality | after s | ÷ peer's time |",
           "|---|---|---|---|"]  # fmt: skip
    for r in results:
        for peer, got in r.get("time_to_peer_quality", {}).items():
            after = "never" if got["seconds"] is None else got["seconds"]
            ttq.append(f"| {r['system']} | {peer} | {after} | {got['ratio_to_peer_time']} |")
    return "\n".join(lines + ttq)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=(*SYSTEMS, "all"), default="all")
    ap.add_argument("--system", help="run one system in this process (internal)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if args.system:
        print(json.dumps(run_system(args.case, args.system)))
        return
    cases = list(SYSTEMS) if args.case == "all" else [args.case]
    results = [in_subprocess(case, system) for case in cases for system in SYSTEMS[case]]
    time_to_quality(results)
    print(json.dumps({"machine": {"cpus": os.cpu_count()}, "results": results}, indent=2))
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
