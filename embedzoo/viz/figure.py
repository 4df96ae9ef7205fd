"""Headless figures: matplotlib's object API on the Agg canvas, never pyplot's global state.

Matplotlib is an optional dependency (the ``plots`` extra, see :data:`PLOTS_HINT`); importing
it lazily keeps ``import embedzoo`` light and gives a clear message when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from embedzoo.errors import ConfigError

#: how to get the ``plots`` extra, installed from PyPI or from a checkout
PLOTS_HINT = (
    "pip install matplotlib scikit-learn umap-learn (the 'plots' extra: pip install"
    " 'embedzoo[plots]', or pip install -e '.[plots]' in a checkout)"
)


def require_matplotlib() -> None:
    """Raises a ConfigError saying how to install matplotlib when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError(f"plots need matplotlib, which is not installed: {PLOTS_HINT}") from None


def matplotlib_figure(width: float, height: float, dpi: int = 110):
    """A new ``matplotlib.figure.Figure`` on an Agg canvas (no display, no pyplot)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
