"""Embedding maps: a zoo model's item (entity) vectors projected to 2-D, coloured by metadata.

The projection (:func:`~embedzoo.viz.reduce_2d`) keeps cosine neighbours close, so clusters on
the map are groups of items the model finds similar; colouring by a metadata column (the first
genre, say) shows whether those groups mean something.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from embedzoo.errors import ConfigError, DataError
from embedzoo.viz.figure import matplotlib_figure, save_png
from embedzoo.viz.reduce import reduce_2d

OTHER = "other"


def first_label(value, sep: str | None = "|") -> str:
    """The first of ``sep``-joined labels (``"Action|Sci-Fi"`` → ``"Action"``; ``sep=None``
    splits on whitespace, as RecBole's ``token_seq`` fields are written); "" if none."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    parts = str(value).split(sep)
    return parts[0].strip() if parts else ""


def label_separator(values) -> str | None:
    """The separator of multi-label values: ``|`` (GroupLens, embedzoo's loaders) when any
    value has one, else whitespace (RecBole's ``token_seq``) when any value has a space.

    Example:
        >>> label_separator(["Action|Sci-Fi", "Drama"]), label_separator(["Action Sci-Fi"])
        ('|', None)
    """
    text = [v for v in values if isinstance(v, str)]
    if any("|" in v for v in text) or not any(" " in v.strip() for v in text):
        return "|"
    return None


def plot_embedding_map(
    model,
    path: str | os.PathLike,
    metadata: pd.DataFrame | None = None,
    color_by: str | None = "genres",
    label_ids=None,
    n_labels: int = 12,
    method: str = "tsne",
    table: str = "items",
    max_colors: int = 10,
    title: str | None = None,
    seed: int = 0,
    label_sep: str | None = "auto",
    run: str | None = None,
) -> Path:
    """Saves a PNG scatter of the model's item (or link) embeddings in 2-D.

    Args:
        model: a zoo model (``item_vectors()``; a link model also has ``link_vectors()``).
        path: the ``.png`` to write.
        metadata: a frame indexed by raw id, e.g. ``data.item_metadata`` (``title``, ``genres``).
        color_by: the metadata column that colours the points (its first label); the
            ``max_colors`` most common values get colours, the rest are grey.
        label_ids: raw ids whose title (or id) is written next to their point; by default the
            ``n_labels`` most popular training items.
        n_labels: how many items to label by default.
        method: ``"tsne"``, ``"umap"`` or ``"pca"``.
        table: ``"items"`` (entities) or ``"links"`` (a link model's other table).
        max_colors: colours before the rest are drawn as "other".
        title: the figure title (default: model, table and method).
        seed: projection seed.
        label_sep: the separator of ``color_by``'s multi-label values (``"|"``, ``None`` for
            whitespace); ``"auto"`` picks one (:func:`label_separator`).
        run: a run name added to the title.

    Returns:
        The PNG path.

    Example:
        >>> from embedzoo.viz import plot_embedding_map
        >>> plot_embedding_map(model, "map.png", data.item_metadata)          # doctest: +SKIP
    """
    ids, vectors, popularity = _table(model, table)
    xy = reduce_2d(vectors, method=method, seed=seed)
    meta = metadata if metadata is not None else pd.DataFrame(index=pd.Index([]))
    groups = _groups(ids, meta, color_by, max_colors, label_sep)

    fig = matplotlib_figure(10, 8.5)
    ax = fig.add_subplot()
    names = [g for g in pd.unique(groups) if g != OTHER]
    names = sorted(names, key=lambda g: -(groups == g).sum())
    palette = _palette(len(names))
    if (groups == OTHER).any():  # grey first, underneath
        sel = groups == OTHER
        ax.scatter(xy[sel, 0], xy[sel, 1], s=9, c="#c8c8c8", alpha=0.6, linewidths=0,
                   label=f"{OTHER} ({int(sel.sum())})")  # fmt: skip
    for name, colour in zip(names, palette, strict=False):
        sel = groups == name
        ax.scatter(xy[sel, 0], xy[sel, 1], s=12, color=colour, alpha=0.85, linewidths=0,
                   label=f"{name} ({int(sel.sum())})")  # fmt: skip
    _labels(ax, ids, xy, meta, label_ids, n_labels, popularity)
    if len(names) or (groups == OTHER).any():
        ax.legend(title=color_by if color_by in meta.columns else None, loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False, markerscale=2.0, fontsize=9)  # fmt: skip
    title = title or (f"{getattr(model, 'zoo_name', type(model).__name__)}: {table} "
                      f"({method.upper()}, {len(ids)} points)")  # fmt: skip
    ax.set_title(title + (f", run {run}" if run else ""), fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{method.upper()} 1")  # the projection's axes: no unit, their labels say so
    ax.set_ylabel(f"{method.upper()} 2")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return save_png(fig, path)


def _table(model, table: str):
    if table == "items":
        vocabulary, vectors = model.items, model.item_vectors()
        popularity = np.asarray(model.item_popularity.numpy())[1:]
    elif table == "links":
        if not hasattr(model, "link_vectors"):
            raise ConfigError(f"{type(model).__name__} has no link table; use table='items'")
        vocabulary, vectors = model.users, model.link_vectors()
        popularity = np.asarray(model.link_popularity.numpy())[1:]
    else:
        raise ConfigError(f"table must be 'items' or 'links', not {table!r}")
    vectors = np.asarray(vectors)[1:]  # row 0 is the unknown id
    if len(vocabulary) < 3:
        raise DataError(
            f"an embedding map needs at least 3 {table}, the model has {len(vocabulary)}"
        )
    return vocabulary.ids, vectors, popularity


def _groups(ids, meta: pd.DataFrame, color_by, max_colors: int, label_sep="auto") -> np.ndarray:
    if not color_by:
        return np.full(len(ids), "", dtype=object)
    if color_by not in meta.columns:
        raise DataError(
            f"no metadata column {color_by!r} to colour by; columns are {list(meta.columns)}"
        )
    values = meta[color_by].reindex(ids)
    sep = label_separator(values.tolist()) if label_sep == "auto" else label_sep
    groups = np.array([first_label(v, sep) or OTHER for v in values], dtype=object)
    counts = pd.Series(groups[groups != OTHER]).value_counts()
    keep = set(counts.index[:max_colors])
    return np.array([g if g in keep else OTHER for g in groups], dtype=object)


def _palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _labels(ax, ids, xy, meta, label_ids, n_labels: int, popularity) -> None:
    from matplotlib import patheffects
    from matplotlib.font_manager import FontProperties

    asked = label_ids is not None  # labels the caller named are drawn even where crowded
    if label_ids is None:
        if n_labels <= 0 or not np.any(popularity):
            return
        label_ids = ids[np.argsort(-popularity, kind="stable")[:n_labels]]
    position = pd.Index(ids).get_indexer(np.asarray(list(label_ids), dtype=ids.dtype))
    titles = meta["title"] if "title" in meta.columns else pd.Series(dtype=object)
    outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    ax.figure.canvas.draw()  # fixes the axis limits, so display positions are final
    renderer = ax.figure.canvas.get_renderer()
    font = FontProperties(size=8)
    scale = ax.figure.dpi / 72  # points → pixels
    placed: list[tuple] = []  # display-space boxes (x0, y0, x1, y1) of the labels drawn so far
    for raw, at in zip(label_ids, position, strict=True):
        if at < 0:
            continue
        text = str(titles.get(raw, raw))
        text = text if len(text) <= 28 else text[:27] + "…"
        width, height, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
        px, py = ax.transData.transform(xy[at])
        # The first offset around the point whose label overlaps none drawn before it.
        for dx, dy in _OFFSETS:
            x = px + dx * scale
            box = (x if dx >= 0 else x - width, py + dy * scale - height / 2,
                   x + width if dx >= 0 else x, py + dy * scale + height / 2)  # fmt: skip
            if not any(_overlap(box, other) for other in placed):
                break
        else:
            if not asked:
                continue  # a default label with no free place is left out, never overlapped
            dx, dy = _OFFSETS[0]
        placed.append(box)
        ax.scatter(
            xy[at, 0], xy[at, 1], s=28, facecolors="none", edgecolors="black", linewidths=0.8
        )
        leader = {"arrowstyle": "-", "color": "#666666", "lw": 0.5} if abs(dy) >= 15 else None
        ax.annotate(text, xy[at], xytext=(dx, dy), textcoords="offset points", fontproperties=font,
                    ha="left" if dx >= 0 else "right", va="center", path_effects=outline,
                    arrowprops=leader)  # fmt: skip


def _overlap(a: tuple, b: tuple, pad: float = 2.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


#: Label offsets (points) tried in turn: right, left, then further and further above and below.
_OFFSETS = [(5, 0), (-5, 0)] + [
    (dx, dy) for step in (9, 18, 27, 36) for dy in (step, -step) for dx in (5, -5)
]
