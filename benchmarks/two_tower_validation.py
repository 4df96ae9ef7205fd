"""The validation runs behind two_tower's defaults (docs/two_tower.md). Prints JSON lines.

    python benchmarks/two_tower_validation.py warm '{}' '{"temperature": 0.05}'
    python benchmarks/two_tower_validation.py cold_users '{}' '{"feature_kinds": {"zip_code": "skip"}}'
    python benchmarks/two_tower_validation.py cold_items '{}' '{"feature_dropout": 0}'

Each JSON argument is a config (fit settings ``epochs``, ``batch_size``, ``learning_rate`` go
to ``fit``; ``seed``, default 0, seeds the build and the fit). No split here reads the test rows of ``benchmarks/two_tower.py``:

- ``warm``: ``ranking_protocol`` applied again to the protocol's training part; full NDCG@10 /
  Recall@10 on that inner cut (``{"model": "bpr"}`` trains bpr instead).
- ``cold_users``: the users outside the benchmark's held-out 20%; 20% of them (seed 1) held
  out entirely and served by ``recommend_for_features``; global popularity printed first.
- ``cold_items``: the items outside the benchmark's held-out 20%; 20% of them (seed 1) held
  out entirely (features kept), each user ranking only those.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from two_tower import _held_out, list_metrics  # noqa: E402

FIT_KEYS = ("epochs", "batch_size", "learning_rate", "schedule", "optimizer")


def fitted(name: str, train, config: dict):
    from embedzoo import training, zoo

    config = dict(config)
    fit = {k: config.pop(k) for k in list(config) if k in FIT_KEYS}
    seed = config.pop("seed", 0)
    model = zoo.build(config.pop("model", name), train, seed=seed, **config)
    start = time.perf_counter()
    training.fit(model, train, seed=seed, verbose=0, **fit)
    return model, round(time.perf_counter() - start, 1)


def warm(configs):
    from embedzoo import datasets
    from embedzoo.training import evaluation

    train, _ = evaluation.ranking_protocol(datasets.load_ml100k())
    inner, held = evaluation.ranking_protocol(train)
    for config in configs:
        model, seconds = fitted("two_tower", inner, config)
        r = evaluation.ranking_metrics(model, inner, held, samplings=())
        yield {"config": config, "fit_seconds": seconds, "ndcg@10": round(r["ndcg@10"], 4),
               "recall@10": round(r["recall@10"], 4)}  # fmt: skip


def cold_users(configs):
    import numpy as np

    from embedzoo import datasets

    data = datasets.load_ml100k()
    rest = data.subset(np.flatnonzero(~data.frame["user"].isin(_held_out(data.users.ids))))
    held = rest.frame["user"].isin(_held_out(rest.users.ids, seed=1)).to_numpy()
    train, test = rest.subset(np.flatnonzero(~held)), rest.frame[held]
    relevant = test.groupby("user")["item"].apply(set)
    users = relevant.index.to_numpy()
    popular = train.frame["item"].value_counts().index.to_numpy()[:10]
    yield {"global_popularity": list_metrics([popular for _ in users], relevant.to_numpy())}
    features = data.user_metadata.loc[users].reset_index(drop=True)
    for config in configs:
        model, seconds = fitted("two_tower", train, config)
        ids, _ = model.recommend_for_features(features, k=10)
        yield {"config": config, "fit_seconds": seconds,
               **list_metrics(ids, relevant.to_numpy())}  # fmt: skip


def cold_items(configs):
    import numpy as np

    from embedzoo import datasets
    from embedzoo.datasets.features import with_features

    data = datasets.load_ml100k()
    bench = _held_out(data.items.ids)
    rest = data.subset(np.flatnonzero(~data.frame["item"].isin(bench).to_numpy()))
    cold = _held_out(np.array(sorted(set(rest.frame["item"]))), seed=1)
    held = rest.frame["item"].isin(cold).to_numpy()
    train = with_features(
        rest.subset(np.flatnonzero(~held)), item_features=data.item_metadata.drop(index=list(bench))
    )
    relevant = rest.frame[held].groupby("user")["item"].apply(set)
    for config in configs:
        model, seconds = fitted("two_tower", train, config)
        ids, _ = model.recommend(relevant.index.to_numpy(), k=10, items=np.array(sorted(cold)))
        yield {"config": config, "fit_seconds": seconds,
               **list_metrics(ids, relevant.to_numpy())}  # fmt: skip


def main() -> None:
    cases = {"warm": warm, "cold_users": cold_users, "cold_items": cold_items}
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(cases)}}} [CONFIG_JSON ...]")
    configs = [json.loads(a) for a in sys.argv[2:]] or [{}]
    for line in cases[sys.argv[1]](configs):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
