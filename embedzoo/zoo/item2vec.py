"""``item2vec``: Word2Vec over item sequences (gensim trains it), served as a zoo model.

Each user's training items, sorted by timestamp (equal timestamps by item id; row order when
there are no timestamps), form one "sentence" whose "words" are the raw item ids as strings;
``group_column`` groups by any other column of ``train.frame`` instead (playlist, session).
Sentences with fewer than ``min_sequence_length`` items (default 4: a sequence is kept when it
has more than 3 items) are dropped. gensim's Word2Vec learns a vector per item; the vectors are
copied into the model's item table (row ``i`` = vocabulary index ``i``, row 0 zero). Items that
gensim did not keep (rarer than ``min_count``, or only in dropped sequences) stay zero rows and
are treated like unknown items (see :mod:`embedzoo.zoo.history_model`).

``similar_items`` is the cosine between item vectors; ``recommend`` and ``score`` use each
user's last ``history_length`` training items (mean vector, ``scoring`` "dot" or "cosine"),
seen items excluded. Determinism: with ``workers=1`` and a fixed seed the vectors are identical
run to run (gensim 4.4 seeds its initial vectors from ``seed`` with NumPy, not from Python's
string hash, so ``PYTHONHASHSEED`` does not matter); with more workers, threads take batches of
sentences in a varying order and the vectors differ slightly between runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import TIMESTAMP, Interactions
from embedzoo.errors import ConfigError, DataError
from embedzoo.zoo.gensim_bridge import (
    InstanceFitDefaults,
    check_positive,
    make_epoch_bridge,
    require_gensim,
)
from embedzoo.zoo.history_model import HistoryVectorModel, time_order
from embedzoo.zoo.registry import register


@register("item2vec")
class Item2Vec(HistoryVectorModel):
    """Item vectors from Word2Vec on per-user (or per-group) time-ordered item sequences.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        vector_size, window, min_count, sg, hs, negative, ns_exponent, cbow_mean, sample,
            alpha, min_alpha, shrink_windows, workers: gensim ``Word2Vec`` arguments (``sg=0``
            is CBOW, ``sg=1`` skip-gram). ``workers=1`` keeps training reproducible.
        epochs: passes over the sentences (``training.fit(epochs=...)`` overrides it).
        seed: gensim's seed; ``None`` uses the seed ``training.fit`` is given.
        group_column: column of ``train.frame`` whose values make one sentence each.
        min_sequence_length: shortest sentence kept (in items, after unknown items are removed).
        history_length: how many of a user's latest items form their ``recommend`` query.
        scoring: "dot" (the default; on MovieLens-100k it ranks better, as vector norms carry
            popularity) or "cosine" between the history mean and each item.

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> data = datasets.load_ml100k()                             # doctest: +SKIP
        >>> model = zoo.build("item2vec", data, vector_size=64)
        >>> history = training.fit(model, data)
        >>> model.similar_items([1], k=10)  # ML-100k: similar_items([50], k=10)
        (array([[...]]), array([[...]], dtype=float32))
    """

    fit_defaults = InstanceFitDefaults({"epochs": 20, "batch_size": 1024})

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        vector_size: int = 64,
        window: int = 20,
        min_count: int = 1,
        sg: int = 0,
        hs: int = 0,
        negative: int = 5,
        ns_exponent: float = 0.75,
        cbow_mean: int = 1,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        shrink_windows: bool = True,
        epochs: int = 20,
        workers: int = 1,
        seed: int | None = None,
        group_column: str = "user",
        min_sequence_length: int = 4,
        history_length: int = 5,
        scoring: str = "dot",
        **kwargs,
    ):
        super().__init__(
            user_vocabulary, item_vocabulary, vector_size, history_length, scoring, **kwargs
        )
        check_positive(
            {
                "window": (window, 1),
                "min_count": (min_count, 1),
                "negative": (negative, 0),
                "sample": (sample, 0),
                "alpha": (alpha, 1e-12),
                "min_alpha": (min_alpha, 0),
                "epochs": (epochs, 1),
                "workers": (workers, 1),
                "min_sequence_length": (min_sequence_length, 1),
            }
        )
        if int(sg) not in (0, 1) or int(hs) not in (0, 1) or int(cbow_mean) not in (0, 1):
            raise ConfigError(f"sg, hs and cbow_mean must be 0 or 1, got {sg}, {hs}, {cbow_mean}")
        if not int(hs) and not int(negative):
            raise ConfigError("set negative > 0 or hs=1: otherwise Word2Vec trains nothing")
        if not isinstance(group_column, str) or not group_column:
            raise ConfigError(f"group_column must be a column name, got {group_column!r}")
        self.window, self.min_count, self.sg, self.hs = (
            int(window),
            int(min_count),
            int(sg),
            int(hs),
        )
        self.negative, self.ns_exponent, self.cbow_mean = (
            int(negative),
            float(ns_exponent),
            int(cbow_mean),
        )
        self.sample, self.alpha, self.min_alpha = float(sample), float(alpha), float(min_alpha)
        self.shrink_windows, self.epochs, self.workers = (
            bool(shrink_windows),
            int(epochs),
            int(workers),
        )
        self.seed = None if seed is None else int(seed)
        self.group_column = group_column
        self.min_sequence_length = int(min_sequence_length)

    def model_config(self) -> dict:
        return {
            "vector_size": self.vector_size,
            "window": self.window,
            "min_count": self.min_count,
            "sg": self.sg,
            "hs": self.hs,
            "negative": self.negative,
            "ns_exponent": self.ns_exponent,
            "cbow_mean": self.cbow_mean,
            "sample": self.sample,
            "alpha": self.alpha,
            "min_alpha": self.min_alpha,
            "shrink_windows": self.shrink_windows,
            "epochs": self.epochs,
            "workers": self.workers,
            "seed": self.seed,
            "group_column": self.group_column,
            "min_sequence_length": self.min_sequence_length,
            "history_length": self.history_length,
            "scoring": self.scoring,
        }

    def token(self, item_index: np.ndarray) -> np.ndarray:
        """The gensim token of each item index: the raw id as a string."""
        return np.array([""] + [str(i) for i in self.items.ids], dtype=object)[item_index]

    def sequences(self, train: Interactions) -> list[list[str]]:
        """The training sentences: time-ordered item tokens per group, short ones dropped.

        Items the model's vocabulary does not know are left out before lengths are counted.

        Raises:
            DataError: ``group_column`` is not a column, or no sequence is long enough.
        """
        frame = train.frame
        if self.group_column not in frame.columns:
            raise DataError(
                f"{train._where()}: item2vec group_column {self.group_column!r} is not a column;"
                f" columns are {list(frame.columns)}"
            )
        items = self.items.lookup(frame["item"].to_numpy())
        groups = pd.factorize(frame[self.group_column], sort=True)[0]
        ts = frame[TIMESTAMP].to_numpy() if TIMESTAMP in frame.columns else None
        order = time_order(groups, items, ts)
        order = order[items[order] > 0]
        groups, tokens = groups[order], self.token(items[order])
        bounds = np.flatnonzero(np.diff(groups)) + 1
        sentences = [
            s.tolist() for s in np.split(tokens, bounds) if len(s) >= self.min_sequence_length
        ]
        if not sentences:
            raise DataError(
                f"{train._where()}: no {self.group_column!r} sequence has >= {self.min_sequence_length} known"
                f" items ({len(order)} usable rows); lower min_sequence_length or add data"
            )
        return sentences

    def _train_vectors(self, train, epochs, seed, keras_callbacks) -> np.ndarray:
        require_gensim()
        from gensim.models import Word2Vec

        sentences = self.sequences(train)
        w2v = Word2Vec(
            vector_size=self.vector_size,
            window=self.window,
            min_count=self.min_count,
            sg=self.sg,
            hs=self.hs,
            negative=self.negative,
            ns_exponent=self.ns_exponent,
            cbow_mean=self.cbow_mean,
            sample=self.sample,
            alpha=self.alpha,
            min_alpha=self.min_alpha,
            seed=seed,
            workers=self.workers,
            epochs=epochs,
            shrink_windows=self.shrink_windows,
            compute_loss=True,
        )
        w2v.build_vocab(sentences)
        if len(w2v.wv) == 0:
            raise DataError(
                f"{train._where()}: no item occurs min_count={self.min_count} times in the sequences"
            )
        bridge = make_epoch_bridge(keras_callbacks, loss_per=sum(map(len, sentences)))
        w2v.train(
            sentences,
            total_examples=w2v.corpus_count,
            epochs=epochs,
            compute_loss=True,
            callbacks=[bridge],
        )
        self.gensim_model = w2v
        lookup = pd.Index(self.token(np.arange(1, self.items.size)))
        rows = lookup.get_indexer(w2v.wv.index_to_key) + 1
        vectors = np.zeros((self.items.size, self.vector_size), dtype=np.float32)
        vectors[rows] = w2v.wv.vectors
        return vectors
