"""Headless figures: matplotlib's object API on the Agg canvas, never pyplot's global state.

Matplotlib is an optional dependency (``pip install embedzoo[plots]``); importing it lazily
keeps ``import embedzoo`` light and gives a clear message when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from embedzoo.errors import ConfigError


def matplotlib_figure(width: float, height: float, dpi: int = 110):
    """A new ``matplotlib.figure.Figure`` on an Agg canvas (no display, no pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("plots need matplotlib: pip install 'embedzoo[plots]'") from None
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | os.PathLike) -> Path:
    """Writes ``fig`` as a PNG (parent folders created) and returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"{path}: plots are written as .png files")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", bbox_inches="tight", facecolor="white")
    return path
