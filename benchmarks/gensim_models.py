"""gensim-trained zoo models on real data; prints one JSON document.

    python benchmarks/gensim_models.py                          # both, default configs
    python benchmarks/gensim_models.py --seeds 0 1 2            # item2vec spread over seeds
    python benchmarks/gensim_models.py --compare bpr            # BPR (default config) in the report
    python benchmarks/gensim_models.py --item2vec '{"sample": 0.001}' --skip-doc2vec

- item2vec on MovieLens-100k with the ranking protocol of ``training.evaluation`` (5-core,
  each user's last 10% by time held out): ``ranking_report`` next to the ``popularity``
  baseline (full ranking recall/NDCG@10 and sampled HR/NDCG@10 among 100 negatives), the fit
  wall time, and the 10 cosine neighbours of Star Wars (item 50).
- doc2vec on gensim's Lee background corpus (300 news texts): training time, gensim's sanity
  check (each training text re-inferred; share whose own item ranks first) and inference time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def bench_item2vec(config: dict, seeds: list[int], compare: list[str]) -> dict:
    import numpy as np

    from embedzoo import datasets, training, zoo
    from embedzoo.training import evaluation

    data = datasets.load_ml100k()
    train, test = evaluation.ranking_protocol(data)
    popularity = zoo.build("popularity", train)
    training.fit(popularity, train, verbose=0)
    runs, models = [], {"popularity": popularity}
    for name in compare:  # other zoo models with their default config, e.g. bpr
        other = zoo.build(name, train, seed=seeds[0])
        t0 = time.perf_counter()
        training.fit(other, train, seed=seeds[0], verbose=0)
        runs.append({"model": name, "fit_seconds": round(time.perf_counter() - t0, 2)})
        models[name] = other
    for seed in seeds:
        model = zoo.build("item2vec", train, seed=seed, **config)
        t0 = time.perf_counter()
        training.fit(model, train, seed=seed, verbose=0)
        runs.append({"seed": seed, "fit_seconds": round(time.perf_counter() - t0, 2)})
        models[f"item2vec_seed{seed}"] = model
    report = evaluation.ranking_report(models, train, test).to_dict()
    first = models[f"item2vec_seed{seeds[0]}"]
    ids, scores = first.similar_items([50], k=10)
    neighbours = [
        {"item": int(i), "title": t, "cosine": round(float(s), 3)}
        for i, t, s in zip(ids[0], train.item_titles(ids[0]), scores[0], strict=True)
    ]
    metrics = ("recall@10", "ndcg@10", "sampled_popularity_hr@10", "sampled_uniform_hr@10")
    spread = {
        m: {
            "mean": float(np.mean([report["models"][f"item2vec_seed{s}"][m] for s in seeds])),
            "std": float(np.std([report["models"][f"item2vec_seed{s}"][m] for s in seeds])),
        }
        for m in metrics
    }
    return {
        "data": f"MovieLens-100k, ranking_protocol: {len(train)} train / {len(test)} test rows",
        "config": first.model_config(),
        "runs": runs,
        "item2vec_over_seeds": spread,
        "report": report,
        "star_wars_neighbours": neighbours,
        "train_loss_per_epoch_first_last": [
            round(first.history.history["loss"][0], 4),
            round(first.history.history["loss"][-1], 4),
        ],
    }


def bench_doc2vec(config: dict, seed: int) -> dict:
    import numpy as np

    from embedzoo import datasets, zoo

    lee = datasets.load_lee()
    model = zoo.build("doc2vec", lee, seed=seed, **config)
    t0 = time.perf_counter()
    model.train_on(lee, seed=seed, verbose=0)
    train_seconds = time.perf_counter() - t0
    texts = lee.item_metadata["text"].tolist()
    t0 = time.perf_counter()
    ids, _ = model.similar_to_text(texts, k=2)
    infer_seconds = time.perf_counter() - t0
    own = lee.items.ids
    return {
        "data": f"gensim Lee background corpus, {len(own)} texts, {model.inference_state.num_words} words kept",
        "config": model.model_config(),
        "train_seconds": round(train_seconds, 2),
        "infer_seconds_all_texts": round(infer_seconds, 2),
        "self_rank_first": float(np.mean(ids[:, 0] == own)),
        "self_rank_top2": float(np.mean((ids[:, 0] == own) | (ids[:, 1] == own))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--item2vec", default="{}", help="JSON config overrides for item2vec")
    parser.add_argument("--doc2vec", default="{}", help="JSON config overrides for doc2vec")
    parser.add_argument(
        "--compare", nargs="*", default=[], help="more zoo models in the report (bpr...)"
    )
    parser.add_argument("--skip-item2vec", action="store_true")
    parser.add_argument("--skip-doc2vec", action="store_true")
    args = parser.parse_args()
    import gensim

    out = {
        "machine": {
            "python": platform.python_version(),
            "gensim": gensim.__version__,
            "cpus": os.cpu_count(),
            "note": "shared CPU: timings are noisy",
        }
    }
    if not args.skip_item2vec:
        out["item2vec"] = bench_item2vec(json.loads(args.item2vec), args.seeds, args.compare)
    if not args.skip_doc2vec:
        out["doc2vec"] = bench_doc2vec(json.loads(args.doc2vec), args.seeds[0])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
