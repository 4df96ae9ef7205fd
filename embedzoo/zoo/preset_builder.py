"""Rebuilds the bundled presets with the library's own training code.

    python -m embedzoo.zoo.preset_builder            # every registered model
    python -m embedzoo.zoo.preset_builder bpr gmf    # some of them

Each model gets ``<model>_movielens_100k``, trained by a recipe (model config + fit settings;
a model without a recipe uses its defaults) on a protocol chosen by the model's task. Every
protocol holds back a seeded 20% of the users entirely — the "new users" a fine-tuning run
folds in later — and splits the remaining users' data into train and test. The manifest
records the metrics measured on that test part; ``tests/zoo/test_presets.py`` re-evaluates the
bundled files and checks them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError
from embedzoo.zoo import presets as preset_store

HELD_OUT_USERS = 0.2
HELD_OUT_SEED = 0


@dataclass
class Split:
    """A protocol's data: the known users' train/test and the held-back users' train/test."""

    train: Interactions
    test: Interactions
    new_train: Interactions
    new_test: Interactions


def hold_out_users(data: Interactions, fraction: float = HELD_OUT_USERS, seed: int = HELD_OUT_SEED):
    """(known users' rows, held-back users' rows): a seeded ``fraction`` of users, entirely."""
    rng = np.random.default_rng(seed)
    users = data.users.ids
    held = rng.choice(users, size=int(round(fraction * len(users))), replace=False)
    mask = data.frame["user"].isin(set(held.tolist())).to_numpy()
    return data.subset(np.flatnonzero(~mask)), data.subset(np.flatnonzero(mask))


def _ratings_split(cache_dir) -> Split:
    from embedzoo.datasets import load_ml100k, random_split

    known, new = hold_out_users(load_ml100k(cache_dir))
    train, test = random_split(known, test_fraction=0.2, seed=42)
    new_train, new_test = random_split(new, test_fraction=0.2, seed=42)
    return Split(train, test, new_train, new_test)


def _ratings_metrics(model, split: Split) -> dict:
    from embedzoo.training import rating_metrics

    m = rating_metrics(model, split.test)
    return {"rmse": round(m["rmse"], 6), "mae": round(m["mae"], 6)}


def _ranking_split(cache_dir) -> Split:
    from embedzoo.datasets import load_ml100k
    from embedzoo.training.evaluation import ranking_protocol

    known, new = hold_out_users(load_ml100k(cache_dir))
    train, test = ranking_protocol(known)
    new_train, new_test = ranking_protocol(new)
    return Split(train, test, new_train, new_test)


RANKING_KEYS = ("sampled_popularity_hr@10", "sampled_uniform_hr@10", "ndcg@10", "recall@10", "mrr")


def _ranking_metrics(model, split: Split) -> dict:
    from embedzoo.training.evaluation import ranking_report

    row = ranking_report(
        {"m": model}, split.train, split.test, seed=0, cold_users="skip"
    ).to_dict()["models"]["m"]
    return {key: round(float(row[key]), 6) for key in RANKING_KEYS if key in row}


def _links_split(cache_dir) -> Split:
    from embedzoo.datasets import load_ml100k_links, random_split

    known, new = hold_out_users(load_ml100k_links(cache_dir, min_link_count=15))
    train, test = random_split(known, test_fraction=0.1, seed=42)
    new_train, new_test = random_split(new, test_fraction=0.1, seed=42)
    return Split(train, test, new_train, new_test)


def _links_metrics(model, split: Split) -> dict:
    from embedzoo.training.link_metrics import link_prediction_auc

    everything = Interactions(pd.concat([split.train.frame, split.test.frame], ignore_index=True))
    return {
        "auc": round(link_prediction_auc(model, split.test, known=everything, seed=0)["auc"], 6)
    }


@dataclass
class Protocol:
    description: str
    load: Callable[[object], Split]
    metrics: Callable[[object, Split], dict]


#: Protocols by name. Models pick one through their recipe, else by task.
PROTOCOLS: dict[str, Protocol] = {
    "ml100k_ratings": Protocol(
        "MovieLens-100k; 20% of users held back (seed 0); the other users' ratings split "
        "80/20 at random (seed 42); RMSE/MAE on the 20%",
        _ratings_split,
        _ratings_metrics,
    ),
    "ml100k_ranking": Protocol(
        "MovieLens-100k as implicit feedback; 20% of users held back (seed 0); the others through "
        "the ranking protocol (k-core > 5, each user's last 10% by time held out); sampled "
        "HR@10 (100 negatives) and full-ranking NDCG@10 / Recall@10 / MRR",
        _ranking_split,
        _ranking_metrics,
    ),
    "ml100k_kg_links": Protocol(
        "MovieLens-100k knowledge-graph links (RecBole .kg/.link, links used by >= 15 movies); "
        "20% of links held back (seed 0); the other pairs split 90/10 (seed 42); link-prediction "
        "ROC-AUC of the 10% against as many random non-pairs",
        _links_split,
        _links_metrics,
    ),
}
TASK_PROTOCOL = {"rating": "ml100k_ratings", "ranking": "ml100k_ranking"}

#: Per-model recipes: constructor config and fit settings, when the defaults don't suit a
#: bundled preset (kept small: the whole set ships inside the package).
RECIPES: dict[str, dict] = {
    "embedding_nn": {"config": {"hidden_layers": [256]}},
    "link_embedding": {"protocol": "ml100k_kg_links"},
    "doc2vec": {"config": {"text_column": ["title", "genres"], "min_count": 1, "epochs": 60}},
}


def preset_name(model_name: str) -> str:
    return f"{model_name}_movielens_100k"


def protocol_for(model_name: str) -> str:
    from embedzoo.zoo.registry import get_class

    recipe = RECIPES.get(model_name, {})
    name = recipe.get("protocol") or TASK_PROTOCOL.get(get_class(model_name).task)
    if name not in PROTOCOLS:
        raise ConfigError(
            f"no preset protocol for {model_name!r} (task {get_class(model_name).task!r})"
        )
    return name


def load_split(protocol: str, cache_dir=None) -> Split:
    return PROTOCOLS[protocol].load(cache_dir)


def build_one(model_name: str, split: Split, protocol: str, seed: int = 0) -> preset_store.Preset:
    from embedzoo import training, zoo

    recipe = RECIPES.get(model_name, {})
    config, fit = dict(recipe.get("config", {})), dict(recipe.get("fit", {}))
    model = zoo.build(model_name, split.train, seed=seed, **config)
    start = time.perf_counter()
    training.fit(model, split.train, seed=seed, verbose=0, **fit)
    seconds = time.perf_counter() - start
    metrics = PROTOCOLS[protocol].metrics(model, split)
    name = preset_name(model_name)
    filename = f"{name}.keras"
    preset_store.BUNDLED_DIR.mkdir(exist_ok=True)
    path = zoo.save_model(model, preset_store.BUNDLED_DIR / filename, include_optimizer=False)
    print(f"{name}: {metrics} ({seconds:.1f}s, {path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return preset_store.Preset(
        name=name,
        model=model_name,
        description=(zoo.get_class(model_name).__doc__ or "").strip().splitlines()[0],
        dataset="movielens-100k (RecBole 1.2.1 wheel)",
        protocol=f"{protocol}: {PROTOCOLS[protocol].description}",
        config=model.model_config(),
        fit={**model.fit_defaults, **fit, "seed": seed},
        metrics=metrics,
        files={filename: preset_store.sha256_file(path)},
    )


def rebuild(model_names: list[str] | None = None, cache_dir=None) -> list[preset_store.Preset]:
    """Trains and writes the presets of ``model_names`` (default: every registered model),
    keeping the manifest's other entries."""
    from embedzoo import zoo

    names = model_names or zoo.list_models()
    existing = {p.name: p for p in preset_store._manifest().values()}
    splits: dict[str, Split] = {}
    for model_name in names:
        protocol = protocol_for(model_name)
        if protocol not in splits:
            splits[protocol] = load_split(protocol, cache_dir)
        preset = build_one(model_name, splits[protocol], protocol)
        existing[preset.name] = preset
    preset_store.write_manifest(list(existing.values()))
    return list(existing.values())


def main(argv=None) -> int:
    import argparse

    from embedzoo.zoo.registry import list_models

    parser = argparse.ArgumentParser(
        prog="python -m embedzoo.zoo.preset_builder",
        description="Rebuild the bundled presets (all, or those of the named models) and the"
        " manifest.",
    )
    parser.add_argument("models", nargs="*", help="model names (default: every recipe)")
    names = parser.parse_args(argv if argv is not None else sys.argv[1:]).models
    unknown = sorted(set(names) - set(list_models()))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; registered: {', '.join(list_models())}")
    rebuild(names or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
