"""``doc2vec``: content vectors of item texts (gensim's Doc2Vec), served as a zoo model.

Each item's text (``item_metadata["text"]``, see :func:`embedzoo.datasets.item_texts`) is
tokenized with gensim's ``simple_preprocess`` minus a stop-word list (gensim's English list by
default; nothing is downloaded) and becomes one tagged document. PV-DBOW (``dm=0``, with word
vectors trained alongside when ``dbow_words=1``) or PV-DM (``dm=1``) learns a vector per item;
the vectors fill the model's item table (row ``i`` = item index ``i``).

- ``similar_items``: cosine between item vectors (content neighbours).
- ``infer(texts)`` / ``similar_to_text(texts, k)``: a vector for new text, then its nearest
  items. Inference is reproducible (same text, same vector, also after save/load) and runs in
  Python with gensim, rebuilt from arrays stored in the ``.keras`` file (no pickle).
- Users: with interactions (``item_texts(..., interactions=...)``) a user is the mean content
  vector of their last ``history_length`` items, so ``score``/``recommend`` are content-based
  recommendations (as in ``item2vec``). A model trained on texts alone has no users: the Python
  ``score``/``recommend`` raise ``DataError``; the SavedModel's signatures still run and answer
  the popularity fallback, which without interactions is all zeros.
- Items whose text is missing or tokenizes to nothing (or only to words rarer than
  ``min_count``) get a zero vector with a warning; if no item has a usable text, ``DataError``.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.datasets.texts import TEXT, stopword_set, tokenize
from embedzoo.errors import ConfigError, DataError
from embedzoo.zoo.doc2vec_state import Doc2VecState, infer_vector, rebuild
from embedzoo.zoo.gensim_bridge import (
    InstanceFitDefaults,
    check_positive,
    make_epoch_bridge,
    require_gensim,
)
from embedzoo.zoo.history_model import HistoryVectorModel
from embedzoo.zoo.registry import register
from embedzoo.zoo.retrieval import check_k, ids_out, padded_ids, top_k


@register("doc2vec")
class Doc2Vec(HistoryVectorModel):
    """Item vectors from Doc2Vec on item texts.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``); users may be empty.
        vector_size, dm, dbow_words, window, min_count, hs, negative, ns_exponent, sample,
            alpha, min_alpha, dm_mean, workers: gensim ``Doc2Vec`` arguments (``dm=0`` is
            PV-DBOW, ``dm=1`` PV-DM). ``workers=1`` keeps training reproducible.
        epochs: training passes (``training.fit(epochs=...)`` overrides it).
        infer_epochs: passes when inferring a new text (``None``: ``epochs``).
        seed: gensim's seed; ``None`` uses the seed ``training.fit`` / ``train_on`` is given.
        text_column: the ``item_metadata`` column holding the texts, or a list of columns
            whose values are joined (e.g. ``["title", "genres"]`` for MovieLens).
        stopwords: "gensim" (gensim's English list), ``None``, or a list of words.
        deacc, min_token_len, max_token_len: ``simple_preprocess`` options.
        history_length, scoring: how users are scored (see ``history_model``).

    Example:
        >>> from embedzoo import datasets, zoo
        >>> data = datasets.load_lee()
        >>> model = zoo.build("doc2vec", data, epochs=20)
        >>> model.train_on(data)                                       # doctest: +SKIP
        >>> model.similar_to_text(["the bushfires near Sydney"], k=5)  # doctest: +SKIP
    """

    requires_users = False  # a catalogue of texts alone is enough (see embedzoo.zoo.registry)
    fit_defaults = InstanceFitDefaults({"epochs": 20, "batch_size": 1024})

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        vector_size: int = 64,
        dm: int = 0,
        dbow_words: int = 1,
        window: int = 5,
        min_count: int = 2,
        hs: int = 0,
        negative: int = 5,
        ns_exponent: float = 0.75,
        sample: float = 1e-3,
        alpha: float = 0.025,
        min_alpha: float = 1e-4,
        dm_mean: int = 0,
        epochs: int = 20,
        infer_epochs: int | None = None,
        workers: int = 1,
        seed: int | None = None,
        text_column: str | list[str] = TEXT,
        stopwords: str | list[str] | None = "gensim",
        deacc: bool = False,
        min_token_len: int = 2,
        max_token_len: int = 15,
        history_length: int = 5,
        scoring: str = "cosine",
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
                "min_token_len": (min_token_len, 1),
                "max_token_len": (max_token_len, min_token_len),
            }
        )
        if infer_epochs is not None and int(infer_epochs) < 1:
            raise ConfigError(f"infer_epochs must be >= 1 or None, got {infer_epochs}")
        if any(int(v) not in (0, 1) for v in (dm, dbow_words, hs, dm_mean)):
            raise ConfigError(
                f"dm, dbow_words, hs and dm_mean must be 0 or 1, got {dm}, {dbow_words}, {hs}, {dm_mean}"
            )
        if not int(hs) and not int(negative):
            raise ConfigError("set negative > 0 or hs=1: otherwise Doc2Vec trains nothing")
        if not (
            isinstance(text_column, str)
            or (
                isinstance(text_column, list | tuple)
                and text_column
                and all(isinstance(c, str) for c in text_column)
            )
        ):
            raise ConfigError(
                f"text_column must be a column name or a list of them, got {text_column!r}"
            )
        if not (stopwords is None or stopwords == "gensim" or isinstance(stopwords, list | tuple)):
            raise ConfigError(
                f"stopwords must be 'gensim', None or a list of words, got {stopwords!r}"
            )
        self.dm, self.dbow_words, self.dm_mean = int(dm), int(dbow_words), int(dm_mean)
        self.window, self.min_count = int(window), int(min_count)
        self.hs, self.negative, self.ns_exponent = int(hs), int(negative), float(ns_exponent)
        self.sample, self.alpha, self.min_alpha = float(sample), float(alpha), float(min_alpha)
        self.epochs, self.workers = int(epochs), int(workers)
        self.infer_epochs = None if infer_epochs is None else int(infer_epochs)
        self.seed = None if seed is None else int(seed)
        self.text_column = text_column if isinstance(text_column, str) else list(text_column)
        self.stopwords = list(stopwords) if isinstance(stopwords, list | tuple) else stopwords
        self.deacc = bool(deacc)
        self.min_token_len, self.max_token_len = int(min_token_len), int(max_token_len)
        self.inference_state = Doc2VecState(name="doc2vec_state")
        self._stop = None
        self._inference = None  # gensim Doc2Vec for infer(), rebuilt from self.state when needed

    def model_config(self) -> dict:
        return {
            "vector_size": self.vector_size,
            "dm": self.dm,
            "dbow_words": self.dbow_words,
            "window": self.window,
            "min_count": self.min_count,
            "hs": self.hs,
            "negative": self.negative,
            "ns_exponent": self.ns_exponent,
            "sample": self.sample,
            "alpha": self.alpha,
            "min_alpha": self.min_alpha,
            "dm_mean": self.dm_mean,
            "epochs": self.epochs,
            "infer_epochs": self.infer_epochs,
            "workers": self.workers,
            "seed": self.seed,
            "text_column": self.text_column,
            "stopwords": self.stopwords,
            "deacc": self.deacc,
            "min_token_len": self.min_token_len,
            "max_token_len": self.max_token_len,
            "history_length": self.history_length,
            "scoring": self.scoring,
        }

    def gensim_kwargs(self, seed: int) -> dict:
        return dict(
            vector_size=self.vector_size,
            dm=self.dm,
            dbow_words=self.dbow_words,
            window=self.window,
            min_count=self.min_count,
            hs=self.hs,
            negative=self.negative,
            ns_exponent=self.ns_exponent,
            sample=self.sample,
            alpha=self.alpha,
            min_alpha=self.min_alpha,
            dm_mean=self.dm_mean,
            epochs=self.epochs,
            seed=seed,
            workers=self.workers,
        )

    # -- text ------------------------------------------------------------------------------
    def tokens(self, text) -> list[str]:
        """The model's tokenization of one text."""
        require_gensim()
        if self._stop is None:
            self._stop = stopword_set(self.stopwords)
        return tokenize(text, self._stop, self.deacc, self.min_token_len, self.max_token_len)

    def item_tokens(self, data: Interactions) -> list[list[str]]:
        """Tokens of each model item's text (index order; items without a text give [])."""
        meta = data.item_metadata
        columns = [self.text_column] if isinstance(self.text_column, str) else self.text_column
        missing = [c for c in columns if meta is None or c not in meta.columns]
        if missing:
            raise DataError(
                f"{data._where()}: doc2vec needs item_metadata column(s) {missing};"
                " build the data with embedzoo.datasets.item_texts"
            )
        parts = meta[columns].fillna("").astype(str)
        texts = parts.iloc[:, 0] if len(columns) == 1 else parts.agg(" . ".join, axis=1)
        return [self.tokens(texts.get(item, "")) for item in self.items.ids]

    # -- training --------------------------------------------------------------------------
    def _train_vectors(self, train, epochs, seed, keras_callbacks) -> np.ndarray:
        require_gensim()
        from gensim.models import Doc2Vec as GensimDoc2Vec
        from gensim.models.doc2vec import TaggedDocument

        tokens = self.item_tokens(train)
        docs = [TaggedDocument(t, [j]) for j, t in enumerate(tokens) if t]
        if not docs:
            raise DataError(f"{train._where()}: no item text has a token left after tokenizing")
        d2v = GensimDoc2Vec(**{**self.gensim_kwargs(seed), "epochs": epochs})
        d2v.build_vocab(docs)
        if len(d2v.wv) == 0:
            raise DataError(
                f"{train._where()}: no word occurs min_count={self.min_count} times in the texts"
            )
        d2v.train(
            docs,
            total_examples=d2v.corpus_count,
            epochs=epochs,
            callbacks=[make_epoch_bridge(keras_callbacks, loss_per=None)],
        )
        vectors = np.zeros((self.items.size, self.vector_size), dtype=np.float32)
        usable = np.array([any(w in d2v.wv.key_to_index for w in t) for t in tokens], dtype=bool)
        rows = np.flatnonzero(usable)
        vectors[rows + 1] = d2v.dv.vectors[rows]
        if not usable.all():
            bad = self.items.ids[~usable]
            warnings.warn(
                f"doc2vec: {len(bad)} item(s) have no text, or no word seen >= min_count times;"
                f" they get a zero vector (e.g. {bad[:5].tolist()})",
                stacklevel=3,
            )
        self.inference_state.capture(d2v)
        self.gensim_model, self._inference = d2v, d2v
        return vectors

    # -- inference on new text -------------------------------------------------------------
    def _infer_model(self):
        if self._inference is None:
            require_gensim()
            self._inference = rebuild(self.inference_state, self.gensim_kwargs(self.seed or 0))
        return self._inference

    def infer(self, texts, epochs: int | None = None) -> np.ndarray:
        """Vectors ``[n, vector_size]`` for new texts (reproducible: same text, same vector).

        Raises:
            DataError: a text has no token the model knows (naming its position).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        d2v = self._infer_model()
        epochs = int(epochs or self.infer_epochs or self.epochs)
        seed = self.seed or 0  # not the training seed: the same answer after save/load
        out = np.zeros((len(texts), self.vector_size), dtype=np.float32)
        for n, text in enumerate(texts):
            words = [w for w in self.tokens(text) if w in d2v.wv.key_to_index]
            if not words:
                raise DataError(
                    f"text {n} ({str(text)[:40]!r}) has no word this doc2vec model knows"
                )
            out[n] = infer_vector(d2v, words, epochs, seed)
        return out

    def similar_to_text(self, texts, k: int = 10, epochs: int | None = None):
        """Items whose content vector is nearest (cosine) to each text: ``(ids [n, k], scores)``."""
        k = check_k(k)
        vectors = tf.math.l2_normalize(tf.constant(self.infer(texts, epochs)), axis=1)
        table = tf.math.l2_normalize(self.item_table.table(), axis=1)
        ids, scores = top_k(tf.matmul(vectors, table, transpose_b=True), k, padded_ids(self.items))
        return ids_out(self.items, ids), scores.numpy()

    # -- users -----------------------------------------------------------------------------
    def _require_users(self):
        if len(self.users) == 0:
            raise DataError(
                "this doc2vec model was trained on texts alone and has no users;"
                " use similar_items or similar_to_text, or train with interactions"
            )

    def score(self, user_ids, item_ids, batch_size: int = 65536, strict: bool = False):
        self._require_users()
        return super().score(user_ids, item_ids, batch_size, strict)

    def recommend(self, user_ids, k: int = 10, exclude_seen: bool = True, **kwargs):
        self._require_users()
        return super().recommend(user_ids, k, exclude_seen, **kwargs)

    def recommend_frame(self, user_ids, k: int = 10, exclude_seen: bool = True, **kwargs):
        self._require_users()
        return super().recommend_frame(user_ids, k, exclude_seen, **kwargs)
