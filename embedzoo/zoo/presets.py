"""Pretrained presets by name, integrity-checked.

Presets are data: ``presets.json`` beside this file maps each name to its description, model,
dataset and protocol, configuration, training settings, the metrics it reached, its files with
their sha256, and where the files are (``bundled`` inside the package, or a base URL). Names say
what and on what (``dot_bias_mf_movielens_100k``), never a config string.

Every file's sha256 is checked before anything is loaded, bundled files included (a corrupted
install is refused); URL presets are downloaded into a cache directory first. Loading is Keras
safe mode, never a pickle. ``python -m embedzoo.zoo.preset_builder`` rebuilds the bundled
presets with the library's own training code and rewrites the manifest.

Example:
    >>> from embedzoo import zoo
    >>> [p.name for p in zoo.presets.list_presets()][:1]
    ['bpr_movielens_100k']
    >>> model = zoo.load("dot_bias_mf_movielens_100k")
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from embedzoo.datasets.cache import cache_dir as default_cache_dir
from embedzoo.datasets.cache import download, sha256_file
from embedzoo.errors import ChecksumError, DataError, UnknownPresetError

MANIFEST = Path(__file__).with_name("presets.json")
BUNDLED_DIR = Path(__file__).with_name("preset_files")
BUNDLED = "bundled"


def is_plain_name(name) -> bool:
    """True for a non-empty file name without folders, ``..``, a leading dot or a drive.

    Example:
        >>> [is_plain_name(n) for n in ("model.keras", "../../escape.keras", "a/b", ".hidden", "C:x")]
        [True, False, False, False, False]
    """
    return (
        isinstance(name, str)
        and name.strip() == name
        and name not in ("", ".", "..")
        and not name.startswith(".")
        and not any(c in name for c in "/\\:\0")
    )


@dataclass
class Preset:
    """One preset's record (a row of ``presets.json``)."""

    name: str
    model: str
    description: str
    dataset: str
    protocol: str
    config: dict = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # file name → sha256
    location: str = BUNDLED  # "bundled" or a base URL the file names are appended to

    def __post_init__(self):
        # Names become paths (presets/<name>/<file>): only plain names inside their folder.
        for what, value in [("name", self.name)] + [("file name", f) for f in self.files]:
            if not is_plain_name(value):
                raise DataError(
                    f"preset {self.name!r}: {what} {value!r} is not a plain file name (no folders,"
                    " no '..', no leading dot); refusing it before any download"
                )

    @property
    def model_file(self) -> str:
        return next(name for name in self.files if name.endswith(".keras"))


_EXTRA: dict[str, Preset] = {}


def _manifest(path: Path = MANIFEST) -> dict[str, Preset]:
    if not path.is_file():
        return {}
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: the preset manifest is not valid JSON: {e}") from e
    return {row["name"]: Preset(**row) for row in rows}


def list_presets() -> list[Preset]:
    """Every preset: the bundled manifest's, then any added with :func:`add`."""
    return [*_manifest().values(), *_EXTRA.values()]


def add(preset: Preset) -> None:
    """Makes a preset (usually a URL one) loadable by name in this process."""
    _EXTRA[preset.name] = preset


def get(name: str) -> Preset:
    """The preset called ``name``; an unknown name lists the close matches."""
    presets = {p.name: p for p in list_presets()}
    if name not in presets:
        close = difflib.get_close_matches(name, list(presets), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownPresetError(
            f"unknown preset {name!r}.{hint} Presets: {', '.join(sorted(presets))}"
        )
    return presets[name]


def fetch(preset: Preset | str, cache_dir=None) -> Path:
    """The verified local path of a preset's model file (downloaded and checked if a URL)."""
    preset = get(preset) if isinstance(preset, str) else preset
    filename = preset.model_file
    expected = preset.files[filename]
    if preset.location == BUNDLED:
        path = BUNDLED_DIR / filename
        if not path.is_file():
            raise DataError(
                f"preset {preset.name}: bundled file {path} is missing (a broken install?)"
            )
    else:
        folder = default_cache_dir(cache_dir) / "presets" / preset.name
        path = folder / filename
        if not path.is_file():
            download(preset.location.rstrip("/") + "/" + filename, path, sha256=expected)
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"preset {preset.name}: {path} has sha256 {actual}, expected {expected}; "
            "refusing to load it (delete it to download again)"
        )
    return path


def load(name: str, cache_dir=None):
    """Loads a preset by name: a ready model with its vocabularies (Keras safe mode).

    Raises:
        UnknownPresetError: no such preset (the message lists close matches).
        ChecksumError: the file's sha256 differs from the manifest's.
        DataError: the file is missing, truncated or not a Keras model.
    """
    from embedzoo.zoo.saving import load_model

    preset = get(name)
    model = load_model(fetch(preset, cache_dir))
    if model.zoo_name != preset.model:
        raise DataError(
            f"preset {name}: file holds a {model.zoo_name!r} model, manifest says {preset.model!r}"
        )
    return model


def write_manifest(presets: list[Preset], path: Path = MANIFEST) -> Path:
    """Writes ``presets`` as the manifest (sorted by name), atomically."""
    rows = [asdict(p) for p in sorted(presets, key=lambda p: p.name)]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path
