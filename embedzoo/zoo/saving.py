"""``.keras`` files for zoo models: save and load in Keras safe mode.

Example:
    >>> from embedzoo import zoo
    >>> zoo.save_model(model, "run/model.keras")
    PosixPath('run/model.keras')
    >>> model = zoo.load_model("run/model.keras")
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from embedzoo.errors import DataError


def save_model(model: keras.Model, path, include_optimizer: bool = True) -> Path:
    """Writes ``model`` (config, weights, vocabularies, seen items) to a ``.keras`` file.

    Args:
        model: a zoo model.
        path: the file, ending in ``.keras``; written to a temporary name, then renamed.
        include_optimizer: also store the optimizer's state (about twice the weights for
            Adam); presets leave it out.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: a zoo model file must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.keras")
    optimizer = getattr(model, "optimizer", None)
    if not include_optimizer and optimizer is not None:
        model.optimizer = None
    try:
        model.save(tmp)
    except (OSError, tf.errors.ResourceExhaustedError) as e:
        tmp.unlink(missing_ok=True)  # nothing half-written left behind
        message = (getattr(e, "message", None) or str(e)).strip().splitlines()[0]
        raise OSError(f"cannot write {path}: {message}") from e
    finally:
        if optimizer is not None:
            model.optimizer = optimizer
    tmp.replace(path)  # never leave a half-written model under the real name
    return path


def load_model(path) -> keras.Model:
    """Loads a ``.keras`` zoo model; never runs code from the file (``safe_mode=True``)."""
    import embedzoo.zoo  # noqa: F401  (registers every model class)

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: cannot load as a .keras model: not a zip archive")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: cannot load as a .keras model: {e}") from e
