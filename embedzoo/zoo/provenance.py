"""What a run or an export was made from: package versions, the data's file and sha256, the
command line. Runs keep it in ``config.json``; exports in ``assets.extra/embedzoo.json``
(beside TF Serving's warm-up file, which TF Serving reads; it ignores other files there).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
from pathlib import Path

#: the packages whose versions decide what a model computes
PACKAGES = ("embedzoo", "tensorflow", "keras", "keras-rs", "numpy", "pandas", "gensim")

#: the export's record, beside TF Serving's warm-up file
EXPORT_RECORD = os.path.join("assets.extra", "embedzoo.json")


def versions() -> dict:
    """Python's and the installed :data:`PACKAGES`' versions (absent packages are left out).

    Example:
        >>> sorted(versions())[:3]
        ['embedzoo', 'gensim', 'keras']
    """
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def file_sha256(path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def data_record(source, data) -> dict:
    """The data a run trained on: what was asked for, the file read, its sha256, the counts.

    ``data.source`` names the file a loader read (``ml-100k`` → RecBole's ``ml-100k.inter``);
    a folder's sha256 covers its files by name. Sources without a file (a DataFrame) have none.
    """
    record = {"source": str(source)}
    read = Path(data.source) if getattr(data, "source", None) else None
    if read is not None and read.is_file():
        record.update(file=str(read), sha256=file_sha256(read))
    elif read is not None and read.is_dir():
        digest = hashlib.sha256()
        for path in sorted(p for p in read.iterdir() if p.is_file()):
            digest.update(f"{path.name}\0{file_sha256(path)}\0".encode())
        record.update(file=str(read), sha256=digest.hexdigest())
    record.update(rows=len(data), users=len(data.users), items=len(data.items))
    return record


def export_record(model, metadata: dict | None = None) -> dict:
    """The record an export carries: the model, its config, the versions, and ``metadata``
    (the CLI adds the run's config and metrics, or the preset)."""
    return {
        "model": model.zoo_name,
        "config": model.model_config(),
        "users": len(model.users),
        "items": len(model.items),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        **(metadata or {}),
    }


def write_export_record(version_dir, model, metadata: dict | None = None) -> Path:
    path = Path(version_dir) / EXPORT_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(export_record(model, metadata), indent=2, default=str))
    return path
