"""link_embedding: training throughput (pairs/s, negatives included) and quality; prints JSON.

    python benchmarks/link_embedding.py                       # throughput, ML-100k KG + synthetic
    python benchmarks/link_embedding.py --quality             # + link-prediction AUC, genre shares
    python benchmarks/link_embedding.py --quality --movies ml-1m/movies.dat   # + ML-1M titles

Throughput counts every pair a batch holds: ``n_positive × (1 + negative_ratio)``, timed over
the steady epochs (the first includes tracing). Quality: a 10% hold-out of the ML-100k
knowledge-graph pairs, ROC-AUC of held-out pairs vs random non-pairs, for both training modes
and several ``min_link_count``; the share of each movie's 10 nearest movies sharing a genre
with it vs random movies, with the graph's own genres (``kg_genres``) when the genre relation
is left out of training, and with MovieLens genres when ``--movies`` gives ML-1M's movies.dat
(RecBole's link file uses ML-1M movie ids; see ``datasets.load_ml100k_links``).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def throughput(
    train, epochs: int, n_positive: int, negative_ratio: float, classification: bool
) -> dict:
    from embedzoo import training, zoo
    from embedzoo.training.callbacks import EpochTimer

    model = zoo.build("link_embedding", train, seed=0, classification=classification,
                      n_positive=n_positive, negative_ratio=negative_ratio)  # fmt: skip
    timer = EpochTimer()
    training.fit(model, train, epochs=epochs, callbacks=[timer], verbose=0)
    steady = (
        sorted(timer.seconds[1:])[len(timer.seconds[1:]) // 2] if epochs > 1 else timer.seconds[0]
    )
    pairs = len(train) * (1 + negative_ratio)
    return {
        "positives": len(train), "entities": len(train.items), "links": len(train.users),
        "n_positive": n_positive, "negative_ratio": negative_ratio, "classification": classification,
        "pairs_per_second": round(pairs / steady), "epoch_seconds": round(steady, 3),
        "first_epoch_seconds": round(timer.seconds[0], 3),
    }  # fmt: skip


def synthetic_pairs(n_entities=100_000, n_links=50_000, per_entity=20, seed=0):
    import numpy as np
    import pandas as pd

    from embedzoo import datasets

    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n_entities), per_entity)
    link = (rng.zipf(1.3, size=len(entity)) - 1) % n_links  # popular links, like wikilinks
    return datasets.load_pairs(pd.DataFrame({"entity": entity, "link": link}), min_link_count=1)


def read_movies(path):
    import pandas as pd

    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # GroupLens ships it in Latin-1
        text = raw.decode("latin-1")
    rows = [line.split("::") for line in text.splitlines() if line]
    return pd.DataFrame({"title": [r[1] for r in rows], "genres": [r[2] for r in rows]},
                        index=pd.Index([int(r[0]) for r in rows], name="item"))  # fmt: skip


def quality(movies_path: str | None) -> dict:
    from embedzoo import datasets, training, zoo
    from embedzoo.training.link_metrics import link_prediction_auc, neighbour_label_share

    movies = read_movies(movies_path) if movies_path else None
    out = {"auc": [], "genre_share": []}
    modes = {
        "classification": {"classification": True},
        "regression": {"classification": False, "negative_ratio": 1.0},
    }
    for min_count in (5, 10, 15):
        pairs = datasets.load_ml100k_links(min_link_count=min_count, movies=movies)
        train, test = datasets.random_split(pairs, 0.1, seed=0)
        for mode, config in modes.items():
            model = zoo.build("link_embedding", train, seed=0, n_positive=256, **config)
            start = time.perf_counter()
            training.fit(model, train, epochs=15, learning_rate=0.01, verbose=0)
            auc = link_prediction_auc(model, test, known=pairs)
            out["auc"].append({"min_link_count": min_count, "mode": mode, "pairs": len(pairs),
                               "train_seconds": round(time.perf_counter() - start, 1), **auc})  # fmt: skip
    # Neighbours: train on every pair but the genre relation, then ask whether neighbours share
    # a genre (held out, so not trained on) more often than random movies.
    kept = [r for r in RELATIONS if "genre" not in r]
    pairs = datasets.load_ml100k_links(relations=kept, movies=movies)
    for mode, config in modes.items():
        model = zoo.build("link_embedding", pairs, seed=0, n_positive=256, **config)
        training.fit(model, pairs, epochs=15, learning_rate=0.01, verbose=0)
        row = {"mode": mode, "trained_without": "film.film.genre"}
        row["kg_genres"] = neighbour_label_share(model, pairs.item_metadata["kg_genres"], k=10)
        if movies is not None:
            row["movielens_genres"] = neighbour_label_share(
                model, pairs.item_metadata["genres"], k=10
            )
            ids, scores = model.similar_items([260, 50], k=10)
            titles = pairs.item_metadata["title"]
            row["neighbours"] = {titles[q]: [f"{titles[i]} ({s:.2f})" for i, s in zip(r, sr, strict=True)]
                                 for q, r, sr in zip([260, 50], ids, scores, strict=True)}  # fmt: skip
        out["genre_share"].append(row)
    return out


RELATIONS = (
    "film.film.actor",
    "film.film.award_nomination",
    "film.film.award_won",
    "film.film.cinematography",
    "film.film.country",
    "film.film.directed_by",
    "film.film.genre",
    "film.film.language",
    "film.film.produced_by",
    "film.film.production_companies",
    "film.film.rating",
    "film.film.sequel",
    "film.film.prequel",
    "film.film.subjects",
    "film.film.written_by",
)  # the graph's relations read from the movie (each has an inverse read from the other end)


def main() -> None:
    import platform

    import tensorflow as tf

    from embedzoo import datasets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4, help="epochs of the throughput runs")
    ap.add_argument("--quality", action="store_true", help="also measure AUC and genre shares")
    ap.add_argument("--movies", help="ML-1M movies.dat, for MovieLens genres and titles")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the 2M-pair synthetic case")
    args = ap.parse_args()
    kg = datasets.load_ml100k_links()
    result = {"python": platform.python_version(), "cpus": os.cpu_count(),
              "device": "GPU" if tf.config.list_logical_devices("GPU") else "CPU", "throughput": []}  # fmt: skip
    for n_positive in (1024, 4096):
        result["throughput"].append(
            {"case": "ml100k_kg", **throughput(kg, args.epochs, n_positive, 2.0, True)}
        )
    if not args.no_synthetic:
        result["throughput"].append(
            {
                "case": "synthetic_2m",
                **throughput(synthetic_pairs(), max(2, args.epochs // 2), 4096, 2.0, True),
            }
        )
    if args.quality:
        result["quality"] = quality(args.movies)
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
