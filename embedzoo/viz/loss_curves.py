"""Training curves: loss (and metrics) per epoch, training and validation, from a Keras
``History``, a ``history`` dict, or a run directory's ``history.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from embedzoo.errors import DataError
from embedzoo.viz.figure import matplotlib_figure, require_matplotlib, save_png

#: Keys that are bookkeeping, not curves.
SKIP = ("epoch_seconds", "learning_rate", "lr")


def load_history(source) -> dict:
    """A ``{name: [value per epoch]}`` dict from a History, a dict, ``history.json`` or a run dir."""
    if hasattr(source, "history"):
        source = source.history
    if isinstance(source, dict):
        history = source
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "history.json"
        try:
            history = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: cannot read a training history: {e}") from None
    curves = {
        k: [float(v) for v in vs]
        for k, vs in history.items()
        if isinstance(vs, list) and vs and k not in SKIP
    }
    if not curves:
        raise DataError("the training history has no per-epoch values")
    return curves


def plot_history(source, path: str | os.PathLike, title: str | None = None) -> Path:
    """Saves a PNG with one panel per quantity (loss first), training and validation together.

    Args:
        source: a Keras ``History``, its ``.history`` dict, a ``history.json`` or a run dir.
        path: the ``.png`` to write.
        title: figure title.

    Example:
        >>> from embedzoo.viz import plot_history
        >>> plot_history("runs/latest", "loss.png")                         # doctest: +SKIP
        >>> plot_history(history, "loss.png")  # history: what training.fit returned
        PosixPath('loss.png')
    """
    require_matplotlib()
    from matplotlib.ticker import MaxNLocator

    curves = load_history(source)
    if title is None and isinstance(source, str | os.PathLike):
        title = f"run {Path(source).resolve().parent.name if Path(source).is_file() else Path(source).name}"
    names = sorted({k.removeprefix("val_") for k in curves}, key=lambda k: (k != "loss", k))
    fig = matplotlib_figure(4.6 * len(names), 3.6)
    for n, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), n + 1)
        for key, style, label in ((name, "-o", "train"), ("val_" + name, "--s", "validation")):
            if key in curves:
                ys = curves[key]
                ax.plot(range(1, len(ys) + 1), ys, style, markersize=3, linewidth=1.6, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=9)
    if title:
        fig.suptitle(title, y=1.03)  # above the panel titles (the PNG is cropped to fit)
    return save_png(fig, path)
