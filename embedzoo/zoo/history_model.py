"""Models whose users are their recent history: a fixed item table, queries = mean of last items.

``item2vec`` and ``doc2vec`` learn only item vectors (gensim trains them). A user is represented
in the graph by the mean vector of their last ``history_length`` training items, kept in the
model as an int32 weight ``[users.size, history_length]`` of item indices (right-aligned, most
recent last, 0 = empty slot); so ``score``, ``recommend`` and their SavedModel signatures need
nothing outside the model.

Scores: ``scoring="dot"`` gives ``mean(history) · item``; ``"cosine"`` the cosine of the two.
Items without a vector (never trained: too rare for ``min_count``, only in dropped sequences,
empty text) keep a zero row: they add nothing to a history mean, score 0 as candidates and are
treated like unknown items as queries (``similar_items`` answers with popularity, as the
retrieval core does for every zero query vector). An unknown item id (row 0) scores 0 too. A user with no usable history (unknown, or only
vector-less items) gets the popularity fallback: each item's training count divided by the
largest count, the same in ``score``, ``recommend`` and the export.
"""

from __future__ import annotations

import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.arrays import group_time_order, position_from_end
from embedzoo.datasets.interactions import TIMESTAMP, Interactions
from embedzoo.errors import ConfigError
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.gensim_bridge import callback_list
from embedzoo.zoo.retrieval import popularity_share

SCORINGS = ("dot", "cosine")


def time_order(
    groups: np.ndarray, item_index: np.ndarray, timestamps: np.ndarray | None
) -> np.ndarray:
    """Row positions sorted by (group, timestamp, item index), or by (group, row) without times.

    Vocabularies are sorted, so item index order is raw item id order: equal timestamps are
    broken by the item id.
    """
    return group_time_order(groups, timestamps, item_index)


def last_items(users: np.ndarray, items: np.ndarray, num_users: int, n: int) -> np.ndarray:
    """``[num_users, n]`` int32: each user's last ``n`` items (rows already in time order).

    Right-aligned (most recent in the last column), 0 where a user has fewer than ``n``.
    """
    order = np.argsort(users, kind="stable")  # keep time order within a user
    users, items = users[order], items[order]
    from_end = position_from_end(users, num_users)  # 0 = the user's latest row
    keep = from_end < n
    out = np.zeros((num_users, n), dtype=np.int32)
    out[users[keep], n - 1 - from_end[keep]] = items[keep]
    return out


def continued_histories(old: np.ndarray, new: np.ndarray, n_users: int) -> np.ndarray:
    """After fine-tuning: ``new`` (``[users, n]``, right-aligned, 0 = empty) with every one of the
    first ``n_users`` rows that differs from ``old`` continuing the old row: the last ``n``
    items of the old history followed by the new one."""
    n = new.shape[1]
    out = new.copy()
    changed = np.flatnonzero(np.any(new[:n_users] != old[:n_users], axis=1))
    for u in changed[changed > 0]:
        merged = np.concatenate([old[u][old[u] > 0], new[u][new[u] > 0]])[-n:]
        out[u] = 0
        out[u, n - len(merged) :] = merged
    return out


class HistoryVectorModel(ZooModel):
    """Base of the gensim-trained models: item vectors + each user's recent items.

    Subclasses set ``self.epochs``/``self.seed`` and implement
    ``_train_vectors(train, epochs, seed, gensim_callback_factory) -> [items.size, d]``.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        vector_size: width of the item vectors.
        history_length: how many of a user's latest training items form their query.
        scoring: "dot" or "cosine" (see the module docstring).
    """

    task = "ranking"

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        vector_size: int,
        history_length: int,
        scoring: str,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(vector_size) < 1:
            raise ConfigError(f"vector_size must be >= 1, got {vector_size}")
        if int(history_length) < 1:
            raise ConfigError(f"history_length must be >= 1, got {history_length}")
        if scoring not in SCORINGS:
            raise ConfigError(f"scoring must be one of {SCORINGS}, got {scoring!r}")
        self.vector_size = int(vector_size)
        self.history_length = int(history_length)
        self.scoring = scoring
        self.item_table = self.table("item", "item_table", self.vector_size, "zeros")
        self.user_history = self.add_row_weight(
            "user", "user_history", self.history_length, dtype="int32"
        )
        self.gensim_model = None  # the trained gensim object, in memory only (never saved)
        self._remembered = None
        self.built = True

    # -- data ------------------------------------------------------------------------------
    def remember(self, interactions: Interactions) -> None:
        """Seen items and popularity (see ``ZooModel``) plus each user's last items."""
        super().remember(interactions)
        users = self.users.lookup(interactions.frame["user"].to_numpy())
        items = self.items.lookup(interactions.frame["item"].to_numpy())
        ts = interactions.frame[TIMESTAMP].to_numpy() if interactions.has_timestamps else None
        order = time_order(users, items, ts)
        users, items = users[order], items[order]
        known = (users > 0) & (items > 0)
        history = last_items(users[known], items[known], self.users.size, self.history_length)
        self.user_history.assign(history)
        self._remembered = weakref.ref(interactions)

    def set_item_vectors(self, vectors: np.ndarray) -> None:
        """Writes ``[items.size, vector_size]`` vectors (row 0, the unknown item, must be zero)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (self.items.size, self.vector_size):
            wanted = (self.items.size, self.vector_size)
            raise ValueError(f"expected vectors of shape {wanted}, got {vectors.shape}")
        vectors[0] = 0.0
        self.item_table.assign_table(vectors)

    def history_of(self, user_id) -> np.ndarray:
        """Raw ids of a user's remembered last items, oldest first (empty if unknown)."""
        row = self.user_history.numpy()[self.users.lookup([user_id])[0]]
        return self.items.ids_of(row[row > 0]) if np.any(row > 0) else self.items.ids[:0]

    # -- training (gensim, called by embedzoo.training.fit) ---------------------------------
    def training_spec(self) -> TrainingSpec:
        return TrainingSpec(task=self.task, engine=self.train_on, defaults=self.fit_defaults)

    def train_on(
        self,
        train: Interactions,
        validation=None,
        epochs: int | None = None,
        seed: int = 0,
        verbose="auto",
        callbacks=(),
    ) -> keras.callbacks.History:
        """Trains the vectors with gensim and copies them into the item table.

        Args:
            train: training data (``training.fit`` passes its ``train``).
            validation: not evaluated (gensim reports no validation loss); a warning says so.
            epochs: gensim epochs; the model's ``epochs`` config by default.
            seed: used when the model's ``seed`` config is ``None``.
            verbose: Keras progress-bar setting ("auto", 0, 1, 2).
            callbacks: Keras callbacks; they get ``on_epoch_end(logs={"loss": ...})``.

        Returns:
            the ``keras.callbacks.History`` (also ``model.history``).
        """
        if validation is not None:
            warnings.warn(
                f"{self.zoo_name}: validation data is not evaluated during gensim training;"
                " use embedzoo.training.evaluation after fit",
                stacklevel=2,
            )
        if self._remembered is None or self._remembered() is not train:
            self.remember(train)  # fit already did; direct callers get the same state
        epochs = int(epochs if epochs is not None else self.epochs)
        if epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {epochs}")
        seed = int(self.seed if self.seed is not None else seed)
        cbs = callback_list(self, callbacks, epochs, verbose)
        self.stop_training = False
        cbs.on_train_begin()
        vectors = self._train_vectors(train, epochs, seed, cbs)
        self.set_item_vectors(vectors)
        cbs.on_train_end({k: v[-1] for k, v in self.history.history.items() if v})
        return self.history

    def _train_vectors(self, train, epochs, seed, keras_callbacks) -> np.ndarray:
        raise NotImplementedError

    # -- the contract ----------------------------------------------------------------------
    def item_vectors(self):
        return self.item_table.table()

    def _table(self):
        table = self.item_table.table()
        return tf.math.l2_normalize(table, axis=1) if self.scoring == "cosine" else table

    def _popularity(self):
        return popularity_share(self.item_popularity)

    def user_queries(self, user_index):
        """``([batch, d] query vectors, [batch] bool has-a-query)`` for user indices."""
        history = tf.gather(self.user_history.value, tf.cast(user_index, "int32"))
        return self.history_queries(history)

    def history_queries(self, history):
        """``[batch, n]`` item rows (0 = empty) → query vectors and has-a-query, as above."""
        vectors = self.item_table(history)  # [batch, n, d]
        valid = tf.cast(tf.reduce_any(tf.not_equal(vectors, 0.0), axis=-1), vectors.dtype)
        count = tf.reduce_sum(valid, axis=1)
        query = tf.reduce_sum(vectors, axis=1) / tf.maximum(count, 1.0)[:, None]
        if self.scoring == "cosine":
            query = tf.math.l2_normalize(query, axis=1)
        return query, count > 0

    def call(self, inputs, training=False):
        query, has_query = self.user_queries(inputs["user"])
        items = tf.cast(inputs["item"], "int32")
        vectors = tf.gather(self._table(), items)
        scores = tf.reduce_sum(query * vectors, axis=-1)
        return tf.where(has_query, scores, tf.gather(self._popularity(), items))

    def all_item_scores(self, user_index):
        query, has_query = self.user_queries(user_index)
        scores = tf.matmul(query, self._table(), transpose_b=True)
        return tf.where(has_query[:, None], scores, self._popularity()[None, :])

    def fold_in_scores(self, item_index, l2):
        """A new user's scores from their items: the same pooled query as a learned user's
        history (``l2`` is not used)."""
        query, has_query = self.history_queries(tf.cast(item_index, "int32"))
        scores = tf.matmul(query, self._table(), transpose_b=True)
        return tf.where(has_query[:, None], scores, self._popularity()[None, :])

    def has_vector(self, item_ids) -> np.ndarray:
        """Whether each raw item id has a trained (non-zero) vector."""
        rows = self.item_table.table().numpy()[self.items.lookup(item_ids)]
        return np.any(rows != 0.0, axis=1)
