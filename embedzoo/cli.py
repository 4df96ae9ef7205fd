"""The ``embedzoo`` command: list, train, evaluate, export, recommend, similar.

A training run writes a run directory: ``model.keras``, ``metrics.json``, ``config.json``,
``history.json`` and TensorBoard ``logs/``. The other commands take ``--run DIR`` (or
``--model FILE.keras``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SPLITS = ("random", "temporal", "leave-one-out", "none")


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(pairs: list[str]) -> dict:
    """``["n_factors=32", "y_range=[0,5.5]"]`` → ``{"n_factors": 32, "y_range": [0, 5.5]}``."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"embedzoo: --set takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


def load_data(source: str):
    from embedzoo import datasets

    return datasets.load(source)


def split_data(data, how: str, fraction: float, seed: int):
    from embedzoo import datasets

    if how == "random":
        return datasets.random_split(data, test_fraction=fraction, seed=seed)
    if how == "temporal":
        return datasets.temporal_holdout(data, test_fraction=fraction)
    if how == "leave-one-out":
        return datasets.leave_one_out(data)
    return data, None


def _load_model(args):
    from embedzoo import zoo

    path = Path(args.model) if args.model else Path(args.run) / "model.keras"
    return zoo.load_model(path)


def cmd_list(args) -> int:
    from embedzoo import zoo

    for name in zoo.list_models():
        cls = zoo.get_class(name)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name:16s} {summary}")
        if args.verbose:
            print(f"{'':16s} config: {', '.join(zoo.config_keys(name))}")
            print(f"{'':16s} fit defaults: {cls.fit_defaults}")
    return 0


def cmd_train(args) -> int:
    from embedzoo import training, zoo

    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    data = load_data(args.data)
    train, test = split_data(data, args.split, args.test_fraction, args.seed)
    print(f"data: {data}\ntrain: {len(train)} rows, validation: {len(test) if test else 0} rows")
    model = zoo.build(args.model, train, **parse_overrides(args.set))
    fit_kwargs = {
        k: v
        for k, v in dict(
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
            optimizer=args.optimizer,
        ).items()
        if v is not None
    }
    start = time.perf_counter()
    history = training.fit(
        model, train, validation=test, seed=args.seed, log_dir=run / "logs",
        checkpoint_dir=run / "checkpoint" if args.resume else None,
        early_stopping=args.early_stopping, verbose=args.verbose, **fit_kwargs,
    )
    seconds = time.perf_counter() - start
    metrics = {"train_seconds": round(seconds, 2), "epochs": len(history.history.get("loss", []))}
    if test is not None and model.task == "rating":
        metrics.update(training.rating_metrics(model, test))
    zoo.save_model(model, run / "model.keras")
    (run / "config.json").write_text(json.dumps({
        "model": args.model, "data": args.data, "split": args.split,
        "test_fraction": args.test_fraction, "seed": args.seed,
        "config": model.model_config(), "fit": fit_kwargs,
    }, indent=2, default=str))
    (run / "history.json").write_text(json.dumps(history.history, indent=2, default=float))
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))
    if hasattr(model, "item_bias_table"):
        titles = data.item_metadata["title"] if data.item_metadata is not None and "title" in data.item_metadata else None
        table = model.item_bias_table(args.top, titles=titles)
        for end, label in (("highest", "Most liked"), ("lowest", "Least liked")):
            print(f"\n{label} (item bias):")
            for row in table[table.end == end].itertuples():
                print(f"  {row.bias:+.3f}  {row.title}")
    print(f"\nrun written to {run}")
    return 0


def cmd_evaluate(args) -> int:
    from embedzoo import training

    model = _load_model(args)
    data = load_data(args.data)
    _, test = split_data(data, args.split, args.test_fraction, args.seed)
    test = test if test is not None else data
    print(json.dumps(training.rating_metrics(model, test), indent=2))
    return 0


def cmd_export(args) -> int:
    from embedzoo import zoo

    path = zoo.export(_load_model(args), args.to, args.name, version=args.version)
    print(path)
    return 0


def _print_lists(query_ids, ids, scores):
    out = [
        {"query": q, "ids": [i for i in row.tolist()], "scores": [round(float(s), 4) for s in srow]}
        for q, row, srow in zip(query_ids, ids, scores, strict=True)
    ]
    print(json.dumps(out, indent=2, default=str))


def cmd_recommend(args) -> int:
    model = _load_model(args)
    users = [_parse_value(u) for u in args.user]
    ids, scores = model.recommend(users, k=args.k, exclude_seen=not args.include_seen)
    _print_lists(users, ids, scores)
    return 0


def cmd_similar(args) -> int:
    model = _load_model(args)
    items = [_parse_value(i) for i in args.item]
    ids, scores = model.similar_items(items, k=args.k)
    _print_lists(items, ids, scores)
    return 0


def _add_model_source(p):
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="a run directory written by `embedzoo train`")
    src.add_argument("--model", help="a .keras model file")


def _add_split(p):
    p.add_argument("--split", choices=SPLITS, default="random",
                   help="hold-out: random rows, per-user temporal tail, leave-one-out, or none")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="share of rows held out (random) or of each user's rows (temporal)")
    p.add_argument("--seed", type=int, default=42, help="seed of the split and of training")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="embedzoo", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the registered models")
    p.add_argument("-v", "--verbose", action="store_true", help="also show config keys and fit defaults")
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("train", help="train a model and write a run directory")
    p.add_argument("model", help="registered model name (see `embedzoo list`)")
    p.add_argument("--data", required=True,
                   help="ml-100k, ml-1m, ml-latest-small, a .csv/.tsv/.parquet file, a RecBole "
                        "atomic-file directory or a MovieLens .zip/directory")
    _add_split(p)
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="model config override, value as JSON (repeatable), e.g. n_factors=32")
    p.add_argument("--epochs", type=int, help="training epochs (default: the model's)")
    p.add_argument("--batch-size", type=int, help="global batch size (default: the model's)")
    p.add_argument("--learning-rate", type=float, help="learning rate (default: the model's)")
    p.add_argument("--optimizer", choices=("adam", "adagrad", "sgd"), help="row-wise optimizer")
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop when validation loss has not improved for PATIENCE epochs")
    p.add_argument("--resume", action="store_true",
                   help="back up each epoch to RUN_DIR/checkpoint and resume from it if present")
    p.add_argument("--run-dir", default="runs/latest", help="where to write the run")
    p.add_argument("--top", type=int, default=10, help="rows of the most/least liked table")
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2),
                   help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("evaluate", help="RMSE/MAE of a trained model on a data split")
    _add_model_source(p)
    p.add_argument("--data", required=True, help="data source, as for train")
    _add_split(p)
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser("export", help="write a SavedModel in TF Serving's <base>/<name>/<version>/")
    _add_model_source(p)
    p.add_argument("--to", required=True, help="base directory (TF Serving's model base path parent)")
    p.add_argument("--name", required=True, help="model name under the base directory")
    p.add_argument("--version", type=int, help="version number (default: next free)")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("recommend", help="top-k items for users")
    _add_model_source(p)
    p.add_argument("--user", action="append", required=True, help="raw user id (repeatable)")
    p.add_argument("-k", "--k", type=int, default=10, help="list length")
    p.add_argument("--include-seen", action="store_true", help="do not exclude training items")
    p.set_defaults(fn=cmd_recommend)

    p = sub.add_parser("similar", help="cosine nearest items")
    _add_model_source(p)
    p.add_argument("--item", action="append", required=True, help="raw item id (repeatable)")
    p.add_argument("-k", "--k", type=int, default=10, help="list length")
    p.set_defaults(fn=cmd_similar)
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    from embedzoo.errors import ConfigError, DataError, UnknownModelError

    try:
        return args.fn(args)
    except (DataError, ConfigError, UnknownModelError) as e:
        print(f"embedzoo: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
