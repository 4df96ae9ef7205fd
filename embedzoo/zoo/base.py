"""The model contract every zoo model honours.

A zoo model is a ``keras.Model`` that carries its user and item vocabularies and answers in raw
ids: ``score``, ``recommend`` and ``similar_items`` (batch-first, ``(ids, scores)``), the same
functions its SavedModel serves. Training uses indices (``call({"user": u, "item": i})``) so no
hash lookup sits in the training step.

Unknown ids map to index 0, a row every table keeps at zero and never trains, so they get a
defined answer without a branch in the serving graph: a model's score with that row (for
``dot_bias_mf``: global + item bias for an unknown user, global + user bias for an unknown
item). ``similar_items`` of an unknown item returns the most popular training items with their
relative popularity as the score. Result slots that no item can fill (``k`` above the number of
candidates left after exclusions) hold the padding id (-1, or "" for string ids) and score -inf.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions, Vocabulary
from embedzoo.zoo.layers import SeenItems, id_lookup

PAD_INT, PAD_STR = -1, ""


class ZooModel(keras.Model):
    """Base class: vocabularies, raw-id inference, seen-item masking, Keras (de)serialisation.

    Subclasses implement ``call(inputs)`` on index tensors ``{"user", "item"}`` returning one
    score per pair, ``item_vectors()`` for cosine neighbours, and may override
    ``all_item_scores(user_index)`` with something faster than the generic broadcast.

    Args:
        user_vocabulary: raw user ids (index i+1 is ``user_vocabulary[i]``).
        item_vocabulary: raw item ids.
        **kwargs: ``keras.Model`` arguments (``name``...).
    """

    #: "rating" (explicit scores, RMSE) or "ranking" (implicit feedback).
    task = "rating"
    #: name of the training pipeline in ``embedzoo.training.pipelines.PIPELINES``.
    pipeline = "pointwise"
    #: defaults ``embedzoo.training.fit`` uses when the caller does not say.
    fit_defaults: dict = {"epochs": 10, "batch_size": 1024, "optimizer": "adam", "learning_rate": 1e-3}

    def __init__(self, user_vocabulary, item_vocabulary, **kwargs):
        super().__init__(**kwargs)
        self.users = Vocabulary(user_vocabulary)
        self.items = Vocabulary(item_vocabulary)
        self.user_lookup = id_lookup(self.users, "user_lookup")
        self.item_lookup = id_lookup(self.items, "item_lookup")
        self.seen_items = SeenItems(name="seen_items")
        self.item_popularity = self.add_weight(
            shape=(self.items.size,), initializer="zeros", trainable=False, name="item_popularity"
        )
        # Per-row weights of the L2 penalties: mean count / row count (0 for rows never seen),
        # so a penalty summed over a batch's rows equals, in expectation, the same penalty on
        # every row of the table: rare ids are regularised as much as frequent ones.
        self.user_penalty_weight = self.add_weight(
            shape=(self.users.size,), initializer="zeros", trainable=False, name="user_penalty_weight"
        )
        self.item_penalty_weight = self.add_weight(
            shape=(self.items.size,), initializer="zeros", trainable=False, name="item_penalty_weight"
        )
        self._functions: dict = {}

    # -- config ----------------------------------------------------------------------------
    @property
    def user_vocabulary(self) -> list:
        return self.users.to_list()

    @property
    def item_vocabulary(self) -> list:
        return self.items.to_list()

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "user_vocabulary": self.user_vocabulary,
            "item_vocabulary": self.item_vocabulary,
            **self.model_config(),
        }

    def model_config(self) -> dict:
        """The model's own constructor arguments (everything but vocabularies)."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def build(self, input_shape=None):
        # Every sublayer is built in __init__; nothing depends on input shapes.
        self.built = True

    # -- data the model remembers ----------------------------------------------------------
    def remember(self, interactions: Interactions) -> None:
        """Records each user's training items (for ``exclude_seen``) and item popularity."""
        from embedzoo.training.pipelines import encode

        users, items = encode(self, interactions)
        known = (users > 0) & (items > 0)
        self.seen_items.set(users[known], items[known], num_users=self.users.size)
        counts = np.bincount(items[known], minlength=self.items.size).astype("float32")
        self.item_popularity.assign(counts)
        self.item_penalty_weight.assign(_penalty_weights(counts))
        user_counts = np.bincount(users[known], minlength=self.users.size).astype("float32")
        self.user_penalty_weight.assign(_penalty_weights(user_counts))
        self.remember_pairs(users[known], items[known])
        self._functions.clear()

    def remember_pairs(self, user_index: np.ndarray, item_index: np.ndarray) -> None:
        """Hook for subclasses: the training rows' index pairs (known ids), before training."""

    def row_penalty(self, index, squared_norms, which: str):
        """Batch mean of ``squared_norms`` weighted by each row's penalty weight."""
        table = self.user_penalty_weight if which == "user" else self.item_penalty_weight
        return tf.reduce_mean(tf.gather(table, index) * squared_norms)

    # -- training hooks (used by embedzoo.training.fit) ------------------------------------
    def training_loss(self):
        return "mse" if self.task == "rating" else "binary_crossentropy"

    def training_callbacks(self) -> list:
        """Keras callbacks ``training.fit`` adds for this model (e.g. per-epoch refits)."""
        return []

    def training_metrics(self):
        if self.task == "rating":
            return [keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")]
        return []

    # -- what subclasses provide -----------------------------------------------------------
    def item_vectors(self):
        """``[items.size, d]`` item representations used for cosine ``similar_items``."""
        raise NotImplementedError

    def all_item_scores(self, user_index):
        """``[batch, items.size]`` scores of every item for each user index (generic version)."""
        n = self.items.size
        batch = tf.shape(user_index)[0]
        users = tf.repeat(tf.cast(user_index, "int32"), n)
        items = tf.tile(tf.range(n, dtype="int32"), [batch])
        scores = self({"user": users, "item": items}, training=False)
        return tf.reshape(scores, [batch, n])

    # -- graph functions on raw ids (shared by the Python API and the SavedModel) ----------
    def _index(self, lookup, raw):
        return tf.cast(lookup(raw), "int32")

    def _item_ids_padded(self):
        pad = PAD_INT if self.items.dtype == "int64" else PAD_STR
        ids = np.concatenate([np.array([pad], dtype=self.items.ids.dtype), self.items.ids])
        return tf.constant(ids.astype(np.int64) if self.items.dtype == "int64" else ids.astype(str))

    def _top_k(self, scores, k):
        scores = tf.concat(
            [tf.fill([tf.shape(scores)[0], 1], tf.constant(-np.inf, scores.dtype)), scores[:, 1:]],
            axis=1,
        )  # column 0 is the unknown-item row: never a recommendation
        k = tf.minimum(tf.cast(k, "int32"), len(self.items))
        top_scores, top = tf.math.top_k(scores, k=k)
        top = tf.where(tf.math.is_finite(top_scores), top, tf.zeros_like(top))
        return tf.gather(self._item_ids_padded(), top), top_scores

    def score_graph(self, user_ids, item_ids):
        """Raw user and item id tensors → scores ``[batch]``."""
        users = self._index(self.user_lookup, user_ids)
        items = self._index(self.item_lookup, item_ids)
        return tf.reshape(self({"user": users, "item": items}, training=False), [-1])

    def recommend_graph(self, user_ids, k, exclude_seen=True):
        """Raw user ids, k → (item ids ``[batch, k]``, scores ``[batch, k]``)."""
        users = self._index(self.user_lookup, user_ids)
        scores = tf.cast(self.all_item_scores(users), "float32")
        if exclude_seen:
            scores = self.seen_items.mask(scores, users)
        return self._top_k(scores, k)

    def similar_items_graph(self, item_ids, k):
        """Raw item ids, k → cosine neighbours (the item itself excluded)."""
        items = self._index(self.item_lookup, item_ids)
        table = tf.math.l2_normalize(tf.cast(self.item_vectors(), "float32"), axis=1)
        scores = tf.matmul(tf.gather(table, items), table, transpose_b=True)
        batch = tf.shape(items)[0]
        where = tf.stack([tf.range(batch), items], axis=1)
        scores = tf.tensor_scatter_nd_update(scores, where, tf.fill([batch], -np.inf))
        popularity = self.item_popularity / tf.maximum(tf.reduce_max(self.item_popularity), 1.0)
        unknown = tf.equal(items, 0)[:, None]
        scores = tf.where(unknown, tf.broadcast_to(popularity[None, :], tf.shape(scores)), scores)
        return self._top_k(scores, k)

    # -- Python API ------------------------------------------------------------------------
    def _function(self, key, fn):
        if key not in self._functions:
            self._functions[key] = tf.function(fn, reduce_retracing=True)
        return self._functions[key]

    def _raw(self, vocabulary: Vocabulary, ids) -> tf.Tensor:
        arr = vocabulary.coerce(ids)
        return tf.constant(arr if vocabulary.dtype == "int64" else arr.astype(str))

    def score(self, user_ids, item_ids, batch_size: int = 65536) -> np.ndarray:
        """Scores of (user, item) pairs given as two equal-length sequences of raw ids.

        Example:
            >>> model.score([196, 186], [242, 302])                   # doctest: +SKIP
            array([3.9, 3.1], dtype=float32)
        """
        users = self.users.coerce(user_ids)
        items = self.items.coerce(item_ids)
        if len(users) != len(items):
            raise ValueError(f"user_ids ({len(users)}) and item_ids ({len(items)}) differ in length")
        fn = self._function("score", self.score_graph)
        out = [
            fn(self._raw(self.users, users[s : s + batch_size]), self._raw(self.items, items[s : s + batch_size])).numpy()
            for s in range(0, len(users), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, "float32")

    def recommend(self, user_ids, k: int = 10, exclude_seen: bool = True):
        """Top-k items per user: ``(item_ids [n, k], scores [n, k])``.

        Args:
            user_ids: raw user ids (unknown users get the unknown-row answer).
            k: list length (at most the number of items).
            exclude_seen: leave out each user's training items (recorded by ``fit``).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        key = f"recommend_{bool(exclude_seen)}"
        fn = self._function(key, lambda u, kk: self.recommend_graph(u, kk, exclude_seen))
        ids, scores = fn(self._raw(self.users, user_ids), tf.constant(k, "int32"))
        return self._ids_out(ids), scores.numpy()

    def similar_items(self, item_ids, k: int = 10):
        """Cosine nearest items: ``(item_ids [n, k], scores [n, k])``, the query excluded."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        fn = self._function("similar", self.similar_items_graph)
        ids, scores = fn(self._raw(self.items, item_ids), tf.constant(k, "int32"))
        return self._ids_out(ids), scores.numpy()

    def predict_matrix(self, user_ids, item_ids) -> pd.DataFrame:
        """Predicted scores for every pair of ``user_ids`` × ``item_ids`` (users as rows)."""
        users = list(user_ids)
        items = list(item_ids)
        scores = self.score(np.repeat(users, len(items)), np.tile(items, len(users)))
        return pd.DataFrame(scores.reshape(len(users), len(items)), index=users, columns=items)

    def _ids_out(self, ids) -> np.ndarray:
        ids = ids.numpy()
        return ids if self.items.dtype == "int64" else ids.astype(str).astype(object)


def _penalty_weights(counts: np.ndarray) -> np.ndarray:
    seen = counts > 0
    if not seen.any():
        return np.zeros_like(counts)
    return np.where(seen, counts[seen].mean() / np.maximum(counts, 1), 0).astype("float32")
