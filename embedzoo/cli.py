"""The ``embedzoo`` command: list, train, evaluate, compare, export, info, recommend, similar, plot.

A training run writes a run directory: ``model.keras``, ``metrics.json``, ``config.json``,
``history.json`` and TensorBoard ``logs/``. The other commands take ``--run DIR`` (or
``--model FILE.keras``).

Building the parser and ``--help`` import no TensorFlow: every command handler imports
what it needs (``embedzoo.zoo``, ``embedzoo.training``, ``embedzoo.viz``) itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from embedzoo.errors import ConfigError, DataError

SPLITS = ("random", "temporal", "leave-one-out", "none")


def _fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (below 2**31)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 2**31 - 1, got {text}")
    return value


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
            raise ConfigError(f"--set takes KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    return out


DATA_OPTIONS = (
    "user_col", "item_col", "rating_col", "timestamp_col", "timestamp_unit", "user_features",
    "item_features",
)  # fmt: skip


def data_options(args) -> dict:
    """The column options given (``--user-col`` ...), as ``datasets.load`` keywords."""
    return {k: getattr(args, k) for k in DATA_OPTIONS if getattr(args, k, None) is not None}


def load_data(source: str, args=None, options: dict | None = None):
    """``datasets.load(source)`` with the column options of ``args`` (or ``options``)."""
    from embedzoo import datasets

    return datasets.load(source, **(options if options is not None else data_options(args)))


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
    """The model a command names: a positional SOURCE (preset name, run dir or .keras file),
    or ``--preset`` / ``--run`` / ``--model``."""
    from embedzoo import zoo

    source = getattr(args, "source", None)
    if getattr(args, "preset", None):
        return zoo.load(args.preset)
    if getattr(args, "model", None):
        return zoo.load_model(Path(args.model))
    if getattr(args, "run", None):
        return zoo.load_model(Path(args.run) / "model.keras")
    if source is None:
        raise ConfigError("name a model: a preset, a run directory or a .keras file")
    path = Path(source)
    if path.is_dir():
        return zoo.load_model(path / "model.keras")
    if path.suffix == ".keras" or path.exists():
        return zoo.load_model(path)
    return zoo.load(source)


def cmd_presets(args) -> int:
    from embedzoo import zoo

    rows = zoo.presets.list_presets()
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(p) for p in rows], indent=2))
        return 0
    for p in rows:
        metrics = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.metrics.items()
        )
        print(f"{p.name:34s} {p.model:14s} {metrics}")
    return 0


#: What makes a folder a run directory (``train``, ``load`` and ``fine-tune`` refuse to
#: write over one by accident).
RUN_FILES = (
    "model.keras",
    "config.json",
    "metrics.json",
    "history.json",
    "checkpoint",
    "preset.json",
)


def _claim_run_dir(final: Path, *, overwrite: bool, resume: bool = False) -> Path:
    """Checks that ``final`` may take a new run and returns where to write it: ``final``
    itself, or (``overwrite`` of an existing run) a sibling folder that :func:`_swap_in` moves
    into place once everything is written, so a failed run never loses the old one."""
    if final.exists() and not final.is_dir():
        raise ConfigError(f"--run-dir {final} exists and is not a folder")
    held = [p.name for p in (final.iterdir() if final.is_dir() else []) if p.name in RUN_FILES]
    if held and not (resume or overwrite):
        raise ConfigError(
            f"{final} already holds a run ({', '.join(sorted(held))}); pass"
            + (" --resume to continue it," if resume is not None else "")
            + " --overwrite to replace it once the new run succeeds, or another --run-dir"
        )
    return final.parent / f".{final.name}.new-{os.getpid()}" if held and overwrite else final


def _swap_in(run: Path, final: Path) -> None:
    """Moves the finished run ``run`` to ``final`` (replacing the old run there)."""
    if run == final:
        return
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    final.rename(old)
    run.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def cmd_load(args) -> int:
    from embedzoo import zoo

    final = Path(args.run_dir)
    run = _claim_run_dir(final, overwrite=args.overwrite, resume=None)
    model = zoo.load(args.preset)
    zoo.save_model(model, run / "model.keras")
    from dataclasses import asdict

    (run / "preset.json").write_text(json.dumps(asdict(zoo.presets.get(args.preset)), indent=2))
    _swap_in(run, final)
    print(
        f"{args.preset}: {model.zoo_name}, {len(model.users)} users, {len(model.items)} items → {final}"
    )
    return 0


def cmd_fine_tune(args) -> int:
    from embedzoo import training, zoo

    final = Path(args.run_dir)
    run = _claim_run_dir(final, overwrite=args.overwrite, resume=None)
    model = _load_model(args)
    data = load_data(args.data, args)
    train, test = split_data(data, args.split, args.test_fraction, args.seed)
    before = (
        training.rating_metrics(model, test)
        if test is not None and model.task == "rating"
        else None
    )
    tuned, history = zoo.fine_tune(
        model,
        train,
        validation=test,
        freeze_old=args.freeze_old,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=args.verbose,
    )
    zoo.save_model(tuned, run / "model.keras")
    metrics = {
        "new_users": len(tuned.users) - len(model.users),
        "new_items": len(tuned.items) - len(model.items),
    }
    if before is not None:
        metrics.update(
            rmse_before=before["rmse"], rmse_after=training.rating_metrics(tuned, test)["rmse"]
        )
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (run / "history.json").write_text(json.dumps(history.history, indent=2, default=float))
    _keep_metadata(data, run)
    (run / "config.json").write_text(
        json.dumps(
            {
                "model": tuned.zoo_name,
                "fine_tuned_from": str(
                    args.preset or args.model or args.run or getattr(args, "source", None)
                ),
                "data": args.data,
                "data_options": data_options(args),
                "split": args.split,
                "test_fraction": args.test_fraction,
                "seed": args.seed,
                "config": tuned.model_config(),
                "fit": {
                    "epochs": args.epochs,
                    "learning_rate": args.learning_rate,
                    "freeze_old": args.freeze_old,
                },
                **_provenance(args, data),
            },
            indent=2,
            default=str,
        )
    )
    _swap_in(run, final)
    print(json.dumps(metrics, indent=2))
    print(f"\nrun written to {final}")
    return 0


def _plain_text(text: str) -> str:
    """reST markup out of a docstring line: ``code``, :role:`target` and *stars*.

    Example:
        >>> _plain_text("Scores ``q·u`` like :class:`~a.B` and *this*")
        'Scores q·u like B and this'
    """
    text = re.sub(r":\w+:`~?(?:[\w.]*\.)?([^`]+)`", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    return re.sub(r"\*([^*]+)\*", r"\1", text)


def cmd_list(args) -> int:
    from embedzoo import zoo

    for name in zoo.list_models():
        cls = zoo.get_class(name)
        summary = _plain_text((cls.__doc__ or "").strip().splitlines()[0])
        print(f"{name:16s} {summary}")
        if args.verbose:
            print(f"{'':16s} config: {', '.join(zoo.config_keys(name))}")
            print(f"{'':16s} fit defaults: {cls.fit_defaults}")
    return 0


def _epoch_history_writer(path: Path):
    """A Keras callback keeping ``path`` (JSON, key → one value per epoch) up to date at every
    epoch end, so a run killed and resumed still has the history of every epoch."""
    import keras

    def write(epoch, logs):
        try:
            history = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            history = {}
        for key, value in (logs or {}).items():
            values = list(history.get(key, []))[:epoch]
            values += [None] * (epoch - len(values))
            history[key] = [*values, float(value)]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(history, indent=2))
        tmp.replace(path)

    return keras.callbacks.LambdaCallback(on_epoch_end=write)


def _keep_metadata(data, run: Path) -> None:
    """The item metadata of the data trained on, for recommend / similar to show titles."""
    if data.item_metadata is not None and len(data.item_metadata.columns):
        meta = data.item_metadata
        meta.to_parquet(run / ITEMS_FILE, index=True)


def _provenance(args, data) -> dict:
    """What a run's config.json says of where it came from (data file and sha256, versions,
    command line)."""
    from embedzoo.zoo import provenance

    return {
        "data_source": provenance.data_record(args.data, data),
        "versions": provenance.versions(),
        "command": args.command_line,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def cmd_train(args) -> int:
    from embedzoo import training, zoo

    final = Path(args.run_dir)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it: pass one")
    if args.strategy == "parameter_server":
        from embedzoo.training import strategies

        task = strategies.check_tf_config()["task"]
        if task["type"] in ("worker", "ps"):
            # the same command on every task (TensorFlow's convention): these only serve
            print(
                f"{task['type']} {task['index']}: serving the parameter-server cluster of"
                " TF_CONFIG; the chief trains and writes the run directory",
                flush=True,
            )
            strategies.serve_task()
            print(f"{task['type']} {task['index']}: the chief is gone; stopping")
            return 0
    run = _claim_run_dir(final, overwrite=args.overwrite, resume=args.resume)
    chief, who = True, ""
    if args.strategy == "parameter_server":
        strategies.get("parameter_server")  # connects to the cluster before anything else runs
    if args.strategy == "multi_worker":
        from embedzoo.training import loop, strategies

        # created before anything else runs TensorFlow ops (collectives are set up at start)
        index, workers, chief = loop.worker_info(strategies.get("multi_worker"))
        who = f"worker {index} of {workers}: "
    data = load_data(args.data, args)
    if args.protocol:  # the ranking protocol: k-core (> 5), per-user temporal 10% hold-out
        from embedzoo.training import evaluation

        train, test = evaluation.ranking_protocol(data)
    else:
        train, test = split_data(data, args.split, args.test_fraction, args.seed)
    print(f"data: {data}\ntrain: {len(train)} rows, validation: {len(test) if test else 0} rows")
    strategy = None if args.strategy == "default" else args.strategy
    config = parse_overrides(args.set)
    # a model's own seed (gensim's) is build's seed: `--set seed=N` wins over --seed for it
    keys = zoo.config_keys(args.model)
    if "seed" in config and "seed" not in keys:
        raise ConfigError(
            f"unknown config key(s) ['seed'] for model {args.model!r} (--seed seeds the run);"
            f" accepted: {keys}"
        )
    seed = config.pop("seed", args.seed)
    model = zoo.build(
        args.model, train, seed=seed, strategy=strategy, table_shards=args.table_shards, **config
    )
    created = chief and not run.exists()
    if chief:  # created only once the data and the config are valid
        run.mkdir(parents=True, exist_ok=True)
    if strategy == "parameter_server":
        from embedzoo.training.parameter_server import cluster_tasks

        print(
            f"strategy: parameter_server, {cluster_tasks('worker')} worker(s),"
            f" {cluster_tasks('ps')} ps, tables in {model.table_shards} shard(s)"
        )
    elif strategy:
        print(
            f"{who}strategy: {args.strategy},"
            f" {model.distribute_strategy.num_replicas_in_sync} replica(s)"
        )
    fit_kwargs = {
        k: v
        for k, v in dict(
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            optimizer=args.optimizer,
        ).items()
        if v is not None
    }
    start = time.perf_counter()
    try:
        history = training.fit(
            model,
            train,
            # gensim engines score no validation data while training: the held-out part is
            # evaluated after fit below, so their warning would be noise here
            validation=test if model.training_spec().trained_by_keras else None,
            seed=args.seed,
            log_dir=run / "logs" if chief else None,
            checkpoint_dir=run / "checkpoint" if args.resume else None,
            callbacks=[_epoch_history_writer(run / "checkpoint" / "history.json")]
            if args.resume and chief
            else (),
            early_stopping=args.early_stopping,
            verbose=args.verbose,
            **fit_kwargs,
        )
    except BaseException:
        if (
            created and not args.resume
        ):  # a failed run leaves nothing (a resumable one its checkpoints)
            shutil.rmtree(run, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    if args.resume and not history.epoch:
        print(
            f"{who}{run / 'checkpoint'} already holds every epoch asked for: nothing trained,"
            " nothing rewritten (raise --epochs to train more)"
        )
        return 0
    if who:
        # every worker holds the same weights (the fingerprint shows it); the chief writes
        print(f"{who}weights fingerprint {loop.weights_fingerprint(model)}")
    if not chief:
        losses = history.history.get("loss", [])
        print(
            f"{who}trained {len(losses)} epoch(s) in {seconds:.1f} s"
            + (f", loss {losses[-1]:.4f}" if losses else "")
            + "; the chief writes the run directory"
        )
        return 0
    # a resumed run reports every epoch of the run, not only those of this call
    epochs_done = history.epoch[-1] + 1 if history.epoch else len(history.history.get("loss", []))
    metrics = {"train_seconds": round(seconds, 2), "epochs": epochs_done}
    if history.epoch and history.epoch[0] > 0:
        metrics["resumed_after_epoch"] = history.epoch[0]
    if who:
        metrics["workers"] = workers
    if test is not None and model.task == "rating":
        metrics.update(training.rating_metrics(model, test))
    if test is not None and model.task == "ranking":
        metrics.update(_train_ranking_metrics(model, train, test, seed=args.seed))
    zoo.save_model(model, run / "model.keras")
    (run / "config.json").write_text(
        json.dumps(
            {
                "model": args.model,
                "data": args.data,
                "data_options": data_options(args),
                # what `evaluate` needs to rebuild the held-out part: --protocol or --split/--seed
                **(
                    {"split": "protocol"}
                    if args.protocol
                    else {"split": args.split, "test_fraction": args.test_fraction}
                ),
                "seed": args.seed,
                "config": model.model_config(),
                # the settings fit used, defaults filled in (given: the ones typed)
                "fit": {
                    **model.training_spec().fit_settings(),
                    **fit_kwargs,
                    "early_stopping": args.early_stopping,
                    "strategy": args.strategy,
                },
                "fit_given": fit_kwargs,
                **_provenance(args, data),
            },
            indent=2,
            default=str,
        )
    )
    (run / "history.json").write_text(
        json.dumps(
            json.loads((run / "checkpoint" / "history.json").read_text())
            if args.resume
            else history.history,
            indent=2,
            default=float,
        )
    )
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _keep_metadata(data, run)
    print(json.dumps(metrics, indent=2))
    if model.has_item_bias():
        titles = (
            data.item_metadata["title"]
            if data.item_metadata is not None and "title" in data.item_metadata
            else None
        )
        table = model.item_bias_table(args.top, titles=titles)
        for end, label in (("highest", "Most liked"), ("lowest", "Least liked")):
            print(f"\n{label} (item bias):")
            for row in table[table.end == end].itertuples():
                print(f"  {row.bias:+.3f}  {row.title}")
    _swap_in(run, final)
    print(f"\nrun written to {final}")
    return 0


def _run_config(args) -> dict:
    """The ``config.json`` of the run a command names (``--run`` or a run folder), or {}."""
    folder = getattr(args, "run", None) or getattr(args, "source", None)
    path = Path(folder) / "config.json" if folder else None
    if path is None or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the run's config: {e}") from e


def cmd_evaluate(args) -> int:
    from embedzoo import training

    model = _load_model(args)
    run = _run_config(args)
    # what the command line leaves out comes from the run, so `evaluate --run R` scores the
    # held-out part train scored, with the same seed
    source = args.data or run.get("data")
    if source is None:
        raise ConfigError("name the data with --data (the model comes with no run config)")
    options = {**(run.get("data_options", {}) if not args.data else {}), **data_options(args)}
    protocol = args.protocol or (args.split is None and run.get("split") == "protocol")
    split = args.split or (run.get("split") if run.get("split") != "protocol" else None)
    split = split or "random"
    fraction = args.test_fraction if args.test_fraction is not None else run.get("test_fraction")
    fraction = 0.2 if fraction is None else fraction
    seed = args.seed if args.seed is not None else run.get("seed", 42)
    data = load_data(source, options=options)
    # stated in the answer (not on stderr), so the figures say what they were computed on
    on = {"data": str(source), **options, "split": "protocol" if protocol else split}
    if not protocol and split in ("random", "temporal"):
        on["test_fraction"] = fraction
    on["seed"] = seed
    if args.ranking or model.task == "ranking":  # RMSE of a ranking model's scores means nothing
        return _evaluate_ranking(args, model, data, protocol, split, fraction, seed, on)
    _, test = split_data(data, split, fraction, seed)
    test = test if test is not None else data
    print(json.dumps({**training.rating_metrics(model, test), "evaluated_on": on}, indent=2))
    return 0


def _train_ranking_metrics(model, train, test, seed: int, k: int = 10, num_negatives: int = 100):
    """Ranking metrics for a run's metrics.json (and ``evaluate``); a data set too small for
    the sampled negatives gets the full-ranking ones (the reason is recorded), never a lost
    run. The negatives are drawn with the run's seed, so ``evaluate`` repeats the figures."""
    from embedzoo.training import evaluation

    options = dict(k=k, num_negatives=num_negatives, seed=seed, cold_users="skip")
    try:
        return evaluation.ranking_metrics(model, train, test, **options)
    except (DataError, ConfigError) as e:
        if "needs more than the" not in str(e):  # only a catalogue too small to sample from
            raise
        out = evaluation.ranking_metrics(model, train, test, samplings=(), **options)
        return {**out, "sampled_metrics_skipped": str(e)}


def _evaluate_ranking(args, model, data, protocol, split, fraction, seed, on) -> int:
    """Sampled and full-ranking metrics (any model) on the split the run was trained on."""
    from embedzoo.training import evaluation

    if protocol:
        train, test = evaluation.ranking_protocol(data)
    else:
        train, test = split_data(data, split, fraction, seed)
        if test is None:
            raise ConfigError(
                "ranking metrics need a held-out part (--split other than none, or --protocol)"
            )
    metrics = _train_ranking_metrics(model, train, test, seed, args.k, args.num_negatives)
    print(json.dumps({**metrics, "evaluated_on": on}, indent=2))
    return 0


def cmd_compare(args) -> int:
    """Several models on one split, one table: each MODEL a registered name (trained here with
    its defaults and --seed), a run folder or a preset name (loaded as they are)."""
    import pandas as pd

    from embedzoo import training, zoo
    from embedzoo.training import evaluation

    data = load_data(args.data, args)
    if args.protocol:
        train, test = evaluation.ranking_protocol(data)
    else:
        train, test = split_data(data, args.split, args.test_fraction, args.seed)
        if test is None:
            raise ConfigError("compare needs a held-out part: --split other than none")
    registered = set(zoo.list_models())
    models, seconds, reports = {}, {}, []
    sampled_skipped = None
    for n, name in enumerate(args.models, 1):  # progress on stderr; the table on stdout
        start = time.perf_counter()
        if name in registered:
            model = zoo.build(name, train, seed=args.seed)
            fit = {"epochs": args.epochs} if args.epochs else {}
            training.fit(model, train, seed=args.seed, verbose=0, **fit)
            how = "trained"
        else:
            model = _load_model(argparse.Namespace(source=name))
            how = "loaded"
        label = name if name not in models else f"{name}#{n}"
        models[label] = model
        seconds[label] = round(time.perf_counter() - start, 2)
        began = time.perf_counter()
        options = dict(k=args.k, seed=args.seed, cold_users="skip")
        try:
            if sampled_skipped is not None:
                raise ConfigError(sampled_skipped)
            reports.append(evaluation.ranking_report({label: model}, train, test, **options))
        except (DataError, ConfigError) as e:
            if "needs more than the" not in str(e):
                raise
            sampled_skipped = str(e)
            reports.append(
                evaluation.ranking_report({label: model}, train, test, samplings=(), **options)
            )
        print(f"[{n}/{len(args.models)}] {label}: {how} in {seconds[label]:.1f} s, evaluated in"
              f" {time.perf_counter() - began:.1f} s", file=sys.stderr)  # fmt: skip
    report = evaluation.RankingReport(
        pd.concat([r.frame for r in reports]), dict(reports[-1].protocol)
    )
    if sampled_skipped:
        report.protocol["sampled_metrics_skipped"] = sampled_skipped
    frame = report.frame
    if test.has_ratings and any(m.task == "rating" for m in models.values()):
        rating = {label: training.rating_metrics(m, test) for label, m in models.items()
                  if m.task == "rating"}  # fmt: skip
        for key in ("rmse", "mae"):
            frame[key] = pd.Series({label: r[key] for label, r in rating.items()})
    frame["seconds"] = pd.Series(seconds)
    split = "protocol" if args.protocol else f"{args.split} {args.test_fraction}"
    report.protocol.update(data=str(args.data), split=split, seed=args.seed)
    if args.format == "json":
        print(report.to_json(indent=2))
    elif args.format == "markdown":
        print(report.to_markdown())
    else:
        print(frame.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_export(args) -> int:
    from dataclasses import asdict

    from embedzoo import zoo

    model = _load_model(args)
    metadata = {"command": args.command_line}
    folder = getattr(args, "run", None) or getattr(args, "source", None)
    if folder and Path(folder).is_dir():  # a run: its metrics and settings travel with it
        metadata["run"] = str(folder)
        for name, key in (("metrics", "metrics"), ("config", "run_config"), ("preset", "preset")):
            path = Path(folder) / f"{name}.json"
            if path.is_file():
                metadata[key] = json.loads(path.read_text())
        if "data_source" in metadata.get("run_config", {}):
            metadata["data_source"] = metadata["run_config"]["data_source"]
    elif getattr(args, "preset", None) or (folder and not Path(folder).exists()):
        metadata["preset"] = asdict(zoo.presets.get(args.preset or folder))
    path = zoo.export(model, args.to, args.name, version=args.version, metadata=metadata)
    print(path)
    return 0


def cmd_info(args) -> int:
    """What a run, an export (a version or all of a name's), a .keras file or a preset is."""
    from dataclasses import asdict

    from embedzoo import zoo
    from embedzoo.zoo.provenance import EXPORT_RECORD

    path = Path(args.path)

    def read(file: Path):
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"{file}: cannot read: {e}") from e

    if (path / EXPORT_RECORD).is_file():
        out = read(path / EXPORT_RECORD)
    elif path.is_dir() and any(p.name in RUN_FILES for p in path.iterdir()):
        out = {"run": str(path)}
        for name in ("config", "metrics", "preset"):
            if (path / f"{name}.json").is_file():
                out[name] = read(path / f"{name}.json")
        if "config" not in out and (path / "model.keras").is_file():
            out["model"] = _describe_model(zoo.load_model(path / "model.keras"))
    elif path.is_dir() and any(p.name.isdigit() for p in path.iterdir()):
        out = {
            "versions": {
                p.name: read(p / EXPORT_RECORD) if (p / EXPORT_RECORD).is_file() else None
                for p in sorted(
                    path.iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0
                )
                if p.name.isdigit()
            }
        }
    elif path.is_file():
        out = _describe_model(zoo.load_model(path))
    elif path.exists():
        raise DataError(f"{path}: neither a run, an export nor a .keras file")
    else:
        out = asdict(zoo.presets.get(args.path))  # a preset name (unknown: a clear error)
    print(json.dumps(out, indent=2, default=str))
    return 0


def _describe_model(model) -> dict:
    return {
        "model": model.zoo_name,
        "config": model.model_config(),
        "users": len(model.users),
        "items": len(model.items),
    }


#: a run keeps the item metadata it was trained with (titles for recommend / similar)
ITEMS_FILE = "items.parquet"


def _answer_metadata(args):
    """The metadata columns to show beside the answers: ``--show`` columns (default ``title``
    when there are titles) of ``--metadata FILE`` or the run's ``items.parquet``."""
    import pandas as pd

    frame = None
    if getattr(args, "metadata", None):
        frame = _read_metadata(Path(args.metadata))
    else:
        folder = getattr(args, "run", None) or getattr(args, "source", None)
        if folder and (Path(folder) / ITEMS_FILE).is_file():
            frame = pd.read_parquet(Path(folder) / ITEMS_FILE)
    if args.show and frame is None:
        raise ConfigError(
            f"--show {args.show[0]}: no item metadata (the run has no {ITEMS_FILE}; pass"
            " --metadata FILE)"
        )
    if frame is None:
        return None
    columns = args.show or (["title"] if "title" in frame.columns else [])
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ConfigError(f"--show {unknown[0]}: no such column; columns are {list(frame.columns)}")
    return frame[columns]


def _print_answer(args, frame, query: str) -> None:
    """One long frame of answers (query, rank, item, score, metadata) in ``--format``."""
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        out = []
        for q, rows in frame.groupby(query, sort=False):
            record = {"query": q, "ids": rows["item"].tolist(),
                      "scores": [round(float(v), 4) for v in rows["score"]]}  # fmt: skip
            for col in frame.columns[4:]:
                record[col] = rows[col].tolist()
            out.append(record)
        print(json.dumps(out, indent=2, default=str))
    else:
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _users_of(args, model) -> list:
    """The users a recommend command asks for: --user, --all-users or --users-file."""
    import pandas as pd

    if args.all_users:
        return model.users.ids.tolist()
    if args.users_file:
        path = Path(args.users_file)
        try:
            if path.suffix in (".parquet", ".pq"):
                column = pd.read_parquet(path).iloc[:, 0]
            elif path.suffix in (".csv", ".tsv"):
                column = pd.read_csv(path, sep=None, engine="python", dtype=str).iloc[:, 0]
            else:
                column = pd.Series(path.read_text().split())
        except (OSError, ValueError, IndexError) as e:
            raise DataError(f"{path}: cannot read user ids: {e}") from e
        if not len(column):
            raise DataError(f"{path}: no user ids")
        return model.users.coerce(column.to_numpy()).tolist()
    # ids as typed: the model's vocabulary reads them as its own type ("196" → 196)
    return model.users.coerce(args.user).tolist()


def cmd_recommend(args) -> int:
    model = _load_model(args)
    metadata = _answer_metadata(args)
    users = _users_of(args, model)
    exclude_seen = not args.include_seen
    if args.output:
        return _recommend_to_file(args, model, users, exclude_seen, metadata)
    frame = model.recommend_frame(
        users,
        k=args.k,
        exclude_seen=exclude_seen,
        metadata=metadata,
        strict=args.strict,
        **_item_filters(args, model),
    )
    _print_answer(args, frame, "user")
    return 0


def _item_filters(args, model) -> dict:
    """--allow-item / --exclude-item as recommend's ``items`` / ``filter_items``."""
    out = {}
    if args.allow_item:
        out["items"] = model.items.coerce(args.allow_item)
    if args.exclude_item:
        out["filter_items"] = model.items.coerce(args.exclude_item)
    return out


def _recommend_to_file(args, model, users, exclude_seen, metadata) -> int:
    """Every asked user's top-k, ``--batch-users`` at a time, into one Parquet or CSV file
    (written beside and renamed into place, so a failed run leaves no partial file)."""
    import keras
    import pandas as pd

    out = Path(args.output)
    if out.suffix not in (".parquet", ".pq", ".csv"):
        raise ConfigError(f"--output {out}: name a .parquet or .csv file")
    if out.exists() and not out.is_file():
        raise ConfigError(f"--output {out} exists and is not a file")
    import warnings

    from embedzoo.errors import UnknownIdWarning
    from embedzoo.zoo.retrieval import checked_ids

    checked_ids(model.users, users, "user", strict=args.strict)  # one report, before any work
    filters = _item_filters(args, model)
    bar = keras.utils.Progbar(len(users), unit_name="user", verbose=1 if sys.stderr.isatty() else 2)
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)  # said once above
        for start in range(0, len(users), args.batch_users):
            batch = users[start : start + args.batch_users]
            frames.append(model.recommend_frame(batch, k=args.k, exclude_seen=exclude_seen,
                                                metadata=metadata, **filters))  # fmt: skip
            bar.add(len(batch))
    frame = pd.concat(frames, ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if out.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"{len(frame)} recommendations for {len(users)} user(s) written to {out}")
    return 0


def cmd_similar(args) -> int:
    model = _load_model(args)
    metadata = _answer_metadata(args)
    items = model.items.coerce(args.item).tolist()
    frame = model.similar_frame(items, k=args.k, metadata=metadata, strict=args.strict)
    _print_answer(args, frame, "query_item")
    return 0


def _read_metadata(path: Path):
    """A metadata file: CSV/TSV or Parquet, the first column the item id."""
    import pandas as pd

    try:
        frame = (
            pd.read_parquet(path)
            if path.suffix in (".parquet", ".pq")
            else pd.read_csv(path, sep=None, engine="python")
        )
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read item metadata: {e}") from e
    return frame.set_index(frame.columns[0])


def _plot_metadata(args):
    """Item metadata for plots: ``--metadata`` file (first column = id) or ``--data``'s."""

    if getattr(args, "metadata", None):
        return _read_metadata(Path(args.metadata))
    if getattr(args, "run", None) and (Path(args.run) / ITEMS_FILE).is_file():
        import pandas as pd

        return pd.read_parquet(Path(args.run) / ITEMS_FILE)
    if getattr(args, "data", None):
        return load_data(args.data, args).item_metadata
    return None


def cmd_plot(args) -> int:
    from embedzoo import viz

    if args.what == "history":
        if not (args.history or args.run):
            raise ConfigError("plot history: give --run DIR or --history FILE")
        path = viz.plot_history(Path(args.history or args.run), args.out)
    else:
        if not (args.model or args.run):
            raise ConfigError(f"plot {args.what}: give --run DIR or --model FILE")
        model = _load_model(args)
        meta = _plot_metadata(args)
        run = Path(args.run).resolve().name if args.run else None
        if args.what == "bias":
            titles = meta["title"] if meta is not None and "title" in meta.columns else None
            path = viz.plot_item_bias(model, args.out, n=args.top, titles=titles, run=run)
        else:
            labels = [_parse_value(v) for v in args.label] if args.label else None
            path = viz.plot_embedding_map(
                model,
                args.out,
                metadata=meta,
                color_by=args.color_by if meta is not None else None,
                label_ids=labels,
                n_labels=args.n_labels,
                method=args.method,
                table=args.table,
                seed=args.seed,
                label_sep=None if args.label_sep == "space" else args.label_sep,
                run=run,
            )
    print(path)
    return 0


def _add_model_source(p):
    p.add_argument("source", nargs="?", help="a preset name, a run directory or a .keras file")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--run", help="a run directory written by `embedzoo train`")
    src.add_argument("--model", help="a .keras model file")
    src.add_argument("--preset", help="a preset name (see `embedzoo presets list`)")


def _add_columns(p):
    """The options that name the columns of the user's own table (after ``--data``)."""
    g = p.add_argument_group(
        "columns of a CSV, TSV, Parquet or RecBole file (default: user, item, rating, timestamp)"
    )
    g.add_argument("--user-col", metavar="C", help="the user id column")
    g.add_argument("--item-col", metavar="C", help="the item id column")
    g.add_argument("--rating-col", metavar="C", help="the rating column, if any")
    g.add_argument("--timestamp-col", metavar="C", help="the timestamp column, if any")
    g.add_argument(
        "--timestamp-unit",
        choices=("s", "ms", "us", "ns", "order"),
        help="unit of numeric timestamps (default s: seconds since 1970, checked to fall in"
        " 1971-2100; order: integers that only order the rows). ISO-8601 strings and"
        " datetime columns are read as they are",
    )
    g.add_argument(
        "--user-features",
        metavar="FILE",
        help="a CSV/TSV/Parquet table of user features, the first column the user id; it"
        " replaces the data's own (feature models, e.g. two_tower, read them)",
    )
    g.add_argument(
        "--item-features",
        metavar="FILE",
        help="the same for items (every item in it is a candidate of two_tower, also those"
        " without interactions)",
    )


def _add_answer_options(p):
    p.add_argument(
        "--show",
        action="append",
        metavar="COL",
        help="item metadata column to show beside the ids (repeatable; default: title, when the"
        " run kept titles)",
    )
    p.add_argument(
        "--metadata", help="item metadata file (CSV or Parquet, first column the item id)"
    )
    p.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output format"
    )


def _add_split(p, from_run: bool = False):
    """--split, --test-fraction, --seed; ``from_run``: no defaults here (the run's apply)."""
    run = " (default: the run's, else %s)" if from_run else " (default: %s)"
    p.add_argument(
        "--split",
        choices=SPLITS,
        default=None if from_run else "random",
        help="hold-out: random rows, per-user temporal tail, leave-one-out, or none"
        + run % "random",
    )
    p.add_argument(
        "--test-fraction",
        type=_fraction,
        default=None if from_run else 0.2,
        help="share of rows held out (random) or of each user's rows (temporal)" + run % "0.2",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None if from_run else 42,
        help="seed of the split, the initial weights, training and sampled metrics" + run % "42",
    )


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="embedzoo", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an unexpected error"
    )
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the registered models")
    p.add_argument(
        "-v", "--verbose", action="store_true", help="also show config keys and fit defaults"
    )
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("train", help="train a model and write a run directory")
    p.add_argument("model", help="registered model name (see `embedzoo list`)")
    p.add_argument(
        "--strategy",
        choices=("default", "mirrored", "one_device", "multi_worker", "parameter_server"),
        default="default",
        help="tf.distribute strategy: mirrored = every local GPU (every logical CPU without "
        "one); multi_worker = the cluster in TF_CONFIG (start one process per worker, the chief "
        "writes RUN_DIR); parameter_server = the chief/worker/ps cluster in TF_CONFIG (the same "
        "command on every task: the chief trains, the others serve); --batch-size is the global "
        "batch and must divide by the replica count",
    )
    p.add_argument(
        "--table-shards",
        type=_positive_int,
        default=None,
        help="split every user and item table into this many variables (parameter_server: "
        "default one per ps task, so the tables spread over every server)",
    )
    p.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="split the CPU into this many logical devices first (to try --strategy mirrored "
        "on a machine without GPUs)",
    )
    p.add_argument(
        "--data",
        required=True,
        help="ml-100k, ml-1m, ml-latest-small, a .csv/.tsv/.parquet file, a RecBole "
        "atomic-file directory or a MovieLens .zip/directory",
    )
    _add_columns(p)
    _add_split(p)
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="model config override, value as JSON (repeatable), e.g. n_factors=32",
    )
    p.add_argument("--epochs", type=_positive_int, help="training epochs (default: the model's)")
    p.add_argument(
        "--batch-size", type=_positive_int, help="global batch size (default: the model's)"
    )
    p.add_argument("--learning-rate", type=float, help="learning rate (default: the model's)")
    p.add_argument("--optimizer", choices=("adam", "adagrad", "sgd"), help="row-wise optimizer")
    p.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop when validation loss has not improved for PATIENCE epochs",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="back up each epoch to RUN_DIR/checkpoint and resume from it if present",
    )
    p.add_argument(
        "--run-dir",
        default="runs/latest",
        help="where to write the run (an existing run is kept unless --resume or --overwrite)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run in RUN_DIR once the new one has trained",
    )
    p.add_argument(
        "--protocol",
        action="store_true",
        help="split with the ranking protocol (k-core > 5, per-user temporal 10%%) "
        "instead of --split; ranking models then report ranking metrics",
    )
    p.add_argument(
        "--top", type=_positive_int, default=10, help="rows of the most/least liked table"
    )
    p.add_argument(
        "--verbose",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("presets", help="pretrained presets")
    p.add_argument("action", choices=("list",), help="list: names, models and recorded metrics")
    p.add_argument("--json", action="store_true", help="full records as JSON")
    p.set_defaults(fn=cmd_presets)

    p = sub.add_parser("load", help="load a preset (sha256-checked) into a run directory")
    p.add_argument("preset", help="preset name")
    p.add_argument(
        "--run-dir", default="runs/preset", help="where to write model.keras and preset.json"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in RUN_DIR")
    p.set_defaults(fn=cmd_load)

    p = sub.add_parser(
        "fine-tune", help="continue training a preset or run on new data (new ids grow the tables)"
    )
    _add_model_source(p)
    p.add_argument("--data", required=True, help="the new data, as for train")
    _add_columns(p)
    _add_split(p)
    p.add_argument(
        "--freeze-old", action="store_true", help="train only the rows of new users and items"
    )
    p.add_argument("--epochs", type=_positive_int, help="epochs (default: the model's)")
    p.add_argument("--learning-rate", type=float, help="learning rate (default: the model's)")
    p.add_argument("--run-dir", default="runs/fine-tuned", help="where to write the fine-tuned run")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run in RUN_DIR once fine-tuning succeeded",
    )
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras progress")
    p.set_defaults(fn=cmd_fine_tune)

    p = sub.add_parser(
        "evaluate", help="RMSE/MAE (or, with --ranking, ranking metrics) on a data split"
    )
    _add_model_source(p)
    p.add_argument(
        "--data", help="data source, as for train (default: the run's, from its config.json)"
    )
    _add_columns(p)
    _add_split(p, from_run=True)
    p.add_argument(
        "--ranking",
        action="store_true",
        help="sampled HR/NDCG@K and full-ranking Recall/NDCG/MRR/Precision@K instead of RMSE"
        " (always for ranking models)",
    )
    p.add_argument(
        "--protocol",
        action="store_true",
        help="the ranking protocol's split (k-core > 5, temporal 10%%)",
    )
    p.add_argument("-k", "--k", type=_positive_int, default=10, help="K of the ranking metrics")
    p.add_argument(
        "--num-negatives", type=_positive_int, default=100, help="N of the sampled metrics"
    )
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser(
        "compare", help="several models on one split: sampled + full-ranking (and rating) table"
    )
    p.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="a registered name (trained with its defaults), a run folder or a preset name",
    )
    p.add_argument("--data", required=True, help="data source, as for train")
    _add_columns(p)
    _add_split(p)
    p.add_argument(
        "--protocol",
        action="store_true",
        help="the ranking protocol's split (k-core > 5, temporal 10%%) instead of --split",
    )
    p.add_argument("--epochs", type=_positive_int, help="epochs for the models trained here")
    p.add_argument("-k", "--k", type=_positive_int, default=10, help="K of the ranking metrics")
    p.add_argument(
        "--format", choices=("table", "markdown", "json"), default="table", help="output format"
    )
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser(
        "info", help="what a run, an export, a .keras file or a preset is and was made from"
    )
    p.add_argument("path", help="a run folder, an export (a version or a name's folder), a .keras"
                   " file or a preset name")  # fmt: skip
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser("export", help="write a SavedModel in TF Serving's <base>/<name>/<version>/")
    _add_model_source(p)
    p.add_argument(
        "--to", required=True, help="base directory (TF Serving's model base path parent)"
    )
    p.add_argument("--name", required=True, help="model name under the base directory")
    p.add_argument("--version", type=int, help="version number (default: next free)")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("recommend", help="top-k items for users (or every user, to a file)")
    _add_model_source(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", action="append", help="raw user id (repeatable)")
    who.add_argument("--all-users", action="store_true", help="every user the model knows")
    who.add_argument(
        "--users-file", help="a file of user ids: one per line, or a CSV/Parquet's first column"
    )
    p.add_argument("-k", "--k", type=int, default=10, help="list length")
    p.add_argument(
        "--output",
        help="write the answers to a .parquet or .csv file (batched, with a progress bar)",
    )
    p.add_argument(
        "--batch-users", type=_positive_int, default=4096, help="users per batch with --output"
    )
    p.add_argument("--include-seen", action="store_true", help="do not exclude training items")
    p.add_argument(
        "--allow-item", action="append", metavar="ID", help="recommend only these (repeatable)"
    )
    p.add_argument(
        "--exclude-item", action="append", metavar="ID", help="never recommend these (repeatable)"
    )
    p.add_argument(
        "--strict", action="store_true", help="refuse unknown users instead of a fallback answer"
    )
    _add_answer_options(p)
    p.set_defaults(fn=cmd_recommend)

    p = sub.add_parser("similar", help="cosine nearest items")
    _add_model_source(p)
    p.add_argument("--item", action="append", required=True, help="raw item id (repeatable)")
    p.add_argument("-k", "--k", type=int, default=10, help="list length")
    p.add_argument(
        "--strict", action="store_true", help="refuse unknown items instead of a fallback answer"
    )
    _add_answer_options(p)
    p.set_defaults(fn=cmd_similar)

    p = sub.add_parser("plot", help="PNG pictures: embedding map, item-bias chart, training curves")
    p.add_argument(
        "what",
        choices=("map", "bias", "history"),
        help="map: 2-D projection of item embeddings; bias: most/least liked items "
        "(dot_bias_mf); history: loss per epoch",
    )
    p.add_argument("--run", help="a run directory written by `embedzoo train`")
    p.add_argument("--model", help="a .keras model file (map, bias)")
    p.add_argument("--history", help="a history.json (history)")
    p.add_argument("--out", required=True, help="the .png file to write")
    p.add_argument("--data", help="data source whose item metadata gives titles and colours")
    _add_columns(p)
    p.add_argument("--metadata", help="CSV/Parquet of item metadata, first column the item id")
    p.add_argument(
        "--method", choices=("tsne", "umap", "pca"), default="tsne", help="projection (map)"
    )
    p.add_argument(
        "--table",
        choices=("items", "links"),
        default="items",
        help="which embeddings (map): items, or a link model's links",
    )
    p.add_argument("--color-by", default="genres", help="metadata column colouring the map")
    p.add_argument(
        "--label-sep",
        default="auto",
        help="separator of --color-by's multi-label values: | or 'space' (default: auto)",
    )
    p.add_argument("--label", action="append", help="raw item id to label on the map (repeatable)")
    p.add_argument(
        "--n-labels", type=int, default=12, help="most popular items labelled by default"
    )
    p.add_argument("--top", type=_positive_int, default=10, help="items at each end (bias)")
    p.add_argument("--seed", type=int, default=0, help="projection seed")
    p.set_defaults(fn=cmd_plot)
    return ap


#: Lines TensorFlow's C++ libraries print while they load, before they read
#: ``TF_CPP_MIN_LOG_LEVEL`` (so no environment setting removes them); nothing a user can act on.
_LOAD_NOISE = re.compile(
    r"(All log messages before absl::InitializeLog\(\) is called"
    r"|port\.cc:\d+\] oneDNN custom operations are on"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    r"|cuda_platform\.cc:\d+\] failed call to cuInit"
    r"|cpu_feature_guard\.cc|To enable the following instructions:)"
)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its load-time log lines held back; anything else it prints on
    stderr while loading (a real error or warning) is passed on unchanged."""
    if "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery logs (no GPU: cuInit) happen here
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not _LOAD_NOISE.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def split_cpu(n: int) -> None:
    """Configures ``n`` logical CPU devices (before TensorFlow has run anything)."""
    import tensorflow as tf

    from embedzoo.errors import ConfigError

    if n < 1:
        raise ConfigError(f"--cpu-devices must be >= 1, got {n}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings a user can act on, as one ``embedzoo: warning:`` line (no source line)."""
    print(f"embedzoo: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    import warnings

    from embedzoo.errors import UnknownIdWarning

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        warnings.simplefilter("always", UnknownIdWarning)  # every answer says what it did not know
        return _main(argv)


def _main(argv=None) -> int:
    args = parser().parse_args(argv)
    args.command_line = ["embedzoo", *(sys.argv[1:] if argv is None else argv)]
    from embedzoo.errors import ConfigError, DataError, UnknownModelError, WorkerLostError

    import_tensorflow_quietly()
    try:
        if getattr(args, "cpu_devices", None) is not None:
            split_cpu(args.cpu_devices)
        return args.fn(args)
    except (DataError, ConfigError, UnknownModelError, FloatingPointError) as e:
        print(f"embedzoo: error: {e}", file=sys.stderr)
        return 2
    except WorkerLostError as e:
        print(f"embedzoo: error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("embedzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        # a full disk, a missing permission: the user's to fix, said in one line
        if isinstance(e, OSError) or type(e).__name__ == "ResourceExhaustedError":
            message = getattr(e, "message", None) or str(e)
            print(f"embedzoo: error: {message.strip().splitlines()[0]}", file=sys.stderr)
            return 2
        print(
            f"embedzoo: internal error: {type(e).__name__}: {e}\n(this is a bug in embedzoo;"
            " `embedzoo --debug ...` shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
