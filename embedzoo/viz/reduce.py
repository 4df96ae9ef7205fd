"""2-D projections of embedding tables: t-SNE (scikit-learn), UMAP (umap-learn) or PCA.

Rows are L2-normalised first, so distances in the projection follow the cosine that
``similar_items`` uses. umap-learn (numba) and scikit-learn are imported only when asked for:
importing umap costs seconds.
"""

from __future__ import annotations

import numpy as np

from embedzoo.errors import ConfigError, DataError

METHODS = ("tsne", "umap", "pca")


def reduce_2d(vectors, method: str = "tsne", seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """``[n, d]`` vectors → ``[n, 2]`` coordinates.

    Args:
        vectors: the rows to project (e.g. ``model.item_vectors()[1:]``).
        method: ``"tsne"`` (scikit-learn), ``"umap"`` (umap-learn) or ``"pca"`` (NumPy SVD).
        seed: random state of t-SNE / UMAP.
        n_neighbors: UMAP's neighbourhood size (t-SNE's perplexity is 30, or a third of the
            rows when there are fewer than 91).

    Example:
        >>> import numpy as np
        >>> from embedzoo.viz import reduce_2d
        >>> reduce_2d(np.random.default_rng(0).normal(size=(20, 8)), "pca").shape
        (20, 2)
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise DataError(
            f"need at least 3 vectors as a [n, d] array to project, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise DataError("embedding vectors hold NaN or inf; was training stopped by a NaN loss?")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if method == "pca":
        centred = x - x.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        out = centred @ vt[:2].T
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(max(2.0, min(30.0, (len(x) - 1) / 3)))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(x)
    if method == "umap":
        import umap  # lazy: pulls in numba and compiles on first use

        reducer = umap.UMAP(
            n_components=2, n_neighbors=min(n_neighbors, len(x) - 1), random_state=seed, n_jobs=1
        )
        return np.asarray(reducer.fit_transform(x))
    raise ConfigError(f"unknown projection {method!r}; choose from {METHODS}")
