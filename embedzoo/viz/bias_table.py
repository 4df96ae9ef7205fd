"""The dot-bias model's "most and least liked" items as a horizontal bar chart (fastai's
interpretation of ``EmbeddingDotBias``: an item's bias is how much it is liked regardless of who
rates it)."""

from __future__ import annotations

import os
from pathlib import Path

from embedzoo.viz.figure import matplotlib_figure, save_png


def plot_item_bias(
    model,
    path: str | os.PathLike,
    n: int = 10,
    titles=None,
    title: str | None = None,
    run: str | None = None,
) -> Path:
    """Saves a PNG of the ``n`` highest- and ``n`` lowest-bias items (``item_bias_table``).

    Args:
        model: a model with item biases (``dot_bias_mf``, ``bpr``).
        path: the ``.png`` to write.
        n: items at each end.
        titles: raw item id → title (e.g. ``data.item_metadata["title"]``).
        title: figure title.
        run: a run name added to the title.

    Example:
        >>> from embedzoo.viz import plot_item_bias
        >>> plot_item_bias(model, "bias.png", titles=data.item_metadata["title"])
        PosixPath('bias.png')
    """
    table = model.item_bias_table(n, titles=titles)  # a ConfigError for models without biases
    high = table[table.end == "highest"]
    low = table[table.end == "lowest"].iloc[::-1]  # most negative at the bottom
    rows = list(high.itertuples()) + list(low.itertuples())
    fig = matplotlib_figure(8, 0.32 * len(rows) + 1.4)
    ax = fig.add_subplot()
    positions = list(range(len(rows)))[::-1]
    colours = ["#2a9d8f" if r.end == "highest" else "#e76f51" for r in rows]
    ax.barh(positions, [r.bias for r in rows], color=colours)
    labels = [r.title if len(str(r.title)) <= 40 else str(r.title)[:39] + "…" for r in rows]
    ax.set_yticks(positions, labels, fontsize=9)
    ax.axvline(0, color="black", linewidth=0.8)
    if len(high) and len(low):
        ax.axhline(len(low) - 0.5, color="#999999", linewidth=0.6, linestyle="--")
    ax.set_xlabel("learned item bias")
    title = title or f"{model.zoo_name}: most and least liked items ({n} each, by item bias)"
    ax.set_title(title + (f" (run {run})" if run else ""), fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return save_png(fig, path)
