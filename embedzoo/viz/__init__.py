"""Pictures of models: embedding maps (t-SNE / UMAP / PCA), item-bias charts, training curves.

All functions write PNG files headless (matplotlib's Agg canvas) and need the ``plots`` extra
(matplotlib, scikit-learn; umap-learn for UMAP maps).

Example:
    >>> from embedzoo import viz
    >>> viz.plot_embedding_map(model, "map.png", data.item_metadata)      # doctest: +SKIP
    >>> viz.plot_history(history, "loss.png")
    PosixPath('loss.png')
"""

from embedzoo.viz.bias_table import plot_item_bias  # noqa: F401
from embedzoo.viz.embedding_map import plot_embedding_map  # noqa: F401
from embedzoo.viz.loss_curves import load_history, plot_history  # noqa: F401
from embedzoo.viz.reduce import METHODS, reduce_2d  # noqa: F401
