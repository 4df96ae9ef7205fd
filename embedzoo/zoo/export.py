"""Export zoo models as SavedModels in TF Serving's layout: ``<base>/<name>/<version>/``.

Each version is written to a hidden temporary directory beside it and renamed into place, so
TF Serving (which watches ``<base>/<name>``) never sees a partial version; the rename claims the
version number, so concurrent exports of one name get distinct, whole versions. A failed write
(a full disk) leaves nothing behind, and temporaries of dead processes are removed. The signatures take
raw ids (int64 or string, as the model's vocabulary) and return named tensors:

- ``serving_default`` and ``score``: ``user_id [n]``, ``item_id [n]`` → ``score [n]``
- ``recommend``: ``user_id [n]``, ``k []`` → ``item_ids [n, k]``, ``scores [n, k]``, each user's
  training items excluded
- ``similar_items``: ``item_id [n]``, ``k []`` → ``item_ids [n, k]``, ``scores [n, k]``
- any more a model adds to ``serving_endpoints()`` (``link_embedding``: ``similar_links``)

Unknown ids get the model's documented fallback (see :mod:`embedzoo.zoo.base`).

Each version also carries TF Serving's warm-up file,
``assets.extra/tf_serving_warmup_requests``: ``PredictionLog`` records (built with
``tensorflow-serving-api``) that call every signature once on known ids, so TF Serving runs
them at load time and the first real request is not the slow one.
"""

from __future__ import annotations

import numbers
import os
import shutil
import uuid
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.zoo import provenance

SIGNATURES = ("serving_default", "score", "recommend", "similar_items")


def next_version(model_dir: Path) -> int:
    """1 + the highest integer version directory under ``model_dir`` (1 if none)."""
    if not model_dir.is_dir():
        return 1
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export(
    model, base_dir, name: str, version: int | None = None, metadata: dict | None = None
) -> Path:
    """Writes ``model`` to ``<base_dir>/<name>/<version>/`` and returns that path.

    Each version carries ``assets.extra/embedzoo.json``: the model's name and config, its
    vocabulary sizes, the package versions, the export time and ``metadata``
    (:mod:`embedzoo.zoo.provenance`; ``embedzoo info`` prints it).

    Args:
        model: a zoo model.
        base_dir: TF Serving's ``--model_base_path`` parent (created if missing).
        name: the model name TF Serving serves it under.
        version: integer version; the next free one by default. An existing version is refused.
        metadata: more JSON-able facts for the record (the CLI adds the run's config and
            metrics, or the preset).

    Example:
        >>> from embedzoo import zoo
        >>> zoo.export(model, "exports", "movielens_mf")
        PosixPath('exports/movielens_mf/1')
    """
    base_dir = Path(base_dir)
    if not name or os.sep in name or name.startswith("."):
        raise ConfigError(f"invalid export name {name!r}")
    if base_dir.exists() and not base_dir.is_dir():
        raise ConfigError(f"export base {base_dir} exists and is not a directory")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1
    ):
        raise ConfigError(f"version must be a positive integer, got {version!r}")
    model_dir = base_dir / name
    if model_dir.exists() and not model_dir.is_dir():
        raise ConfigError(f"{model_dir} exists and is not a directory")
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create {model_dir}: {e}") from e
    if not os.access(model_dir, os.W_OK):
        raise ConfigError(f"{model_dir} is not writable")
    if version is not None and (model_dir / str(int(version))).exists():
        raise ConfigError(
            f"{model_dir / str(int(version))} already exists; versions are never overwritten"
        )
    clean_stale_temporaries(model_dir)
    tmp = model_dir / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        try:
            archive = build_archive(model)
            archive.write_out(os.fspath(tmp), verbose=False)
            write_warmup(model, tmp, name)
            provenance.write_export_record(tmp, model, metadata)
        except (OSError, tf.errors.ResourceExhaustedError) as e:
            message = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
            raise OSError(f"cannot write the export under {model_dir}: {message}") from e
        return claim_version(tmp, model_dir, version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def claim_version(tmp: Path, model_dir: Path, version: int | None = None) -> Path:
    """Renames the finished ``tmp`` folder to its version: ``version``, or the next free one.

    The rename is the claim: renaming onto a version another process has just written fails
    (it is not empty), and the next number is tried, so concurrent exports of one name get
    distinct versions and each is whole.
    """
    attempts = 1 if version is not None else 1000
    wanted = int(version) if version is not None else next_version(model_dir)
    for _ in range(attempts):
        final = model_dir / str(wanted)
        try:
            if final.exists():
                raise FileExistsError(final)
            os.rename(tmp, final)
            return final
        except OSError as e:
            if version is not None:
                raise ConfigError(f"{final} already exists; versions are never overwritten") from e
            wanted = max(wanted + 1, next_version(model_dir))
    raise OSError(f"could not claim a version under {model_dir}")


def clean_stale_temporaries(model_dir: Path) -> list[Path]:
    """Removes ``.tmp-<pid>-*`` folders of exports whose process is gone; returns them."""
    removed = []
    for path in model_dir.glob(".tmp-*"):
        parts = path.name.split("-")
        pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def build_archive(model) -> keras.export.ExportArchive:
    """The ``ExportArchive`` with every signature of ``model.serving_endpoints()``."""
    archive = keras.export.ExportArchive()
    archive.track(model)  # its variables, and (through TF's object graph) its id lookup tables
    for name, (fn, signature) in model.serving_endpoints().items():
        archive.add_endpoint(name, fn, input_signature=signature)
    return archive


WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
#: endpoint inputs that are one per request, not one entry per row (``k``, item lists); every
#: other input (ids, id lists, raw features) has one entry per request row
REQUEST_INPUTS = ("k", "allow_item_ids", "exclude_item_ids")


def warmup_requests(model, name: str, batch: int = 4) -> list:
    """``PredictionLog`` protos calling each signature once on known ids."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    logs = []
    for signature, (_, specs) in model.serving_endpoints().items():
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature
        specs = tf.nest.flatten(specs)  # `serve` takes a dict
        feeds = {spec.name: model.example_inputs(spec.name, batch) for spec in specs}
        # inputs with one entry per row share a batch size; per-request lists keep theirs
        n = min(len(v) for name, v in feeds.items() if name not in REQUEST_INPUTS)
        for spec in specs:
            values = feeds[spec.name]
            values = values[:n] if spec.name not in REQUEST_INPUTS else values
            if spec.dtype == tf.string:
                values = np.asarray(values).astype(str)
            request.inputs[spec.name].CopyFrom(tf.make_tensor_proto(values, spec.dtype))
        logs.append(
            prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
        )
    return logs


def write_warmup(model, version_dir, name: str) -> Path | None:
    """Writes the warm-up records into ``version_dir`` (skipped without tensorflow-serving-api)."""
    try:
        logs = warmup_requests(model, name)
    except ImportError:  # the serving API is a dependency, but keep export usable without it
        return None
    path = Path(version_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(os.fspath(path)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def load_saved_model(path):
    """Loads an exported version with ``tf.saved_model.load`` (as TF Serving would)."""
    return tf.saved_model.load(os.fspath(path))
