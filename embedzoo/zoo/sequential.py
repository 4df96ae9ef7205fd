"""Sequence models: a user is the ordered list of their latest items, encoded into a query.

``sasrec`` and ``gru4rec`` share this base. An item table (``embedding_dim`` wide, row 0 the
padding and the unknown item, kept zero) is both the input embedding of a history and the
output layer: the encoder (self-attention or a GRU, the subclass's ``encode``) turns a history
``[b, L]`` of item rows, right-aligned (most recent last) and left-padded with 0, into one
vector per position, and the vector at position ``t`` scores the item that comes next by its
dot product with that item's row.

The model keeps each user's last ``max_length`` training items (``user_history``, an int32
row weight, as item2vec does), so ``score``, ``recommend`` and their SavedModel signatures
read a known user's query from the model alone: the encoder's last position over that
history. A history given at request time (``recommend_for_history``, and the SavedModel
signature of the same name taking a padded ``[n, L]`` id matrix) is encoded the same way:
unknown ids are skipped, the latest ``max_length`` known items are kept, and the history's
own items are never recommended. A user with no known item (an unknown user, an empty
history) gets the popularity fallback: each item's training count over the largest count.

Training (:func:`~embedzoo.training.sequence_pipelines.next_item`) predicts the next item at
every position of windows of each user's time-ordered history, with one of the objectives of
:class:`~embedzoo.training.losses.NextItemLoss`: ``bce`` (one sampled negative per position,
the SASRec paper), ``sampled_softmax`` (``num_negatives`` shared by the batch, logQ-corrected),
``softmax`` (every item) or ``bpr_max`` (GRU4Rec's, over shared negatives).

Fine-tuning: a known user in the new data continues their remembered history with the new
items (the last ``max_length`` of both); new users get the new data's history; new items new
rows (:func:`~embedzoo.zoo.finetune.fine_tune`).
"""

from __future__ import annotations

import functools
import math

import keras
import keras_rs
import numpy as np
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.training.losses import NEXT_ITEM_LOSSES, NextItemLoss
from embedzoo.training.sequence_pipelines import SAMPLINGS, next_item, time_ordered
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.history_model import continued_histories, last_items
from embedzoo.zoo.retrieval import popularity_share

#: the logit a negative equal to the position's target gets (an accidental hit)
MASKED_LOGIT = -1e9


def right_aligned(index, length: int):
    """``[b, W]`` item rows (0 = padding or unknown, anywhere) → ``[b, length]``: each row's
    non-zero entries in their order, the last ``length`` of them, right-aligned.

    Example:
        >>> right_aligned(tf.constant([[3, 0, 4, 0], [0, 0, 0, 0]]), 3).numpy().tolist()
        [[0, 3, 4], [0, 0, 0]]
    """
    index = tf.cast(index, tf.int32)
    order = tf.argsort(tf.cast(index > 0, tf.int32), axis=1, stable=True)
    packed = tf.gather(index, order, batch_dims=1)
    padded = tf.concat([tf.zeros([tf.shape(index)[0], length], tf.int32), packed], axis=1)
    return padded[:, -length:]


class SequenceModel(ZooModel):
    """Base of the sequence models (see the module docstring).

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        embedding_dim: width of the item table and of the encoder's vectors.
        max_length: items of a history the encoder reads (the latest ones).
        dropout: dropout rate of the encoder.
        loss: ``"bce"``, ``"sampled_softmax"``, ``"softmax"`` or ``"bpr_max"``.
        num_negatives: negatives per position (``bce``) or per batch (``sampled_softmax``,
            ``bpr_max``); the full ``softmax`` samples none.
        negative_sampling, sampling_alpha: ``"uniform"`` over the trained items or
            ``"popularity"`` (∝ ``count ** sampling_alpha``); the shared negatives' logits are
            logQ-corrected.
        bpr_max_l2: the score penalty of ``bpr_max``.
    """

    task = "ranking"

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        embedding_dim: int = 64,
        max_length: int = 50,
        dropout: float = 0.2,
        loss: str = "softmax",
        num_negatives: int = 1,
        negative_sampling: str = "uniform",
        sampling_alpha: float = 0.75,
        bpr_max_l2: float = 1.0,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if loss not in NEXT_ITEM_LOSSES:
            raise ConfigError(
                f"{self.zoo_name}: loss must be one of {NEXT_ITEM_LOSSES}, got {loss!r}"
            )
        if negative_sampling not in SAMPLINGS:
            raise ConfigError(
                f"{self.zoo_name}: negative_sampling must be one of {SAMPLINGS}, got"
                f" {negative_sampling!r}"
            )
        if int(embedding_dim) < 1 or int(max_length) < 1 or int(num_negatives) < 1:
            raise ConfigError("embedding_dim, max_length and num_negatives must be >= 1")
        if not 0 <= float(dropout) < 1:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout}")
        self.embedding_dim = int(embedding_dim)
        self.max_length = int(max_length)
        self.dropout = float(dropout)
        self.loss_kind = loss  # not self.loss: compile() sets that
        self.num_negatives = int(num_negatives)
        self.negative_sampling = negative_sampling
        self.sampling_alpha = float(sampling_alpha)
        self.bpr_max_l2 = float(bpr_max_l2)
        init = keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.embedding_dim))
        self.item_embedding = self.table("item", "item_embedding", self.embedding_dim, init)
        self.user_history = self.add_row_weight(
            "user", "user_history", self.max_length, dtype="int32"
        )
        # float32 under a mixed policy too: the logits carry -log q and the masked hits
        self.logq = keras_rs.layers.SamplingProbabilityCorrection(dtype="float32", name="logq")

    def sequence_config(self) -> dict:
        return {
            "embedding_dim": self.embedding_dim,
            "max_length": self.max_length,
            "dropout": self.dropout,
            "loss": self.loss_kind,
            "num_negatives": self.num_negatives,
            "negative_sampling": self.negative_sampling,
            "sampling_alpha": self.sampling_alpha,
            "bpr_max_l2": self.bpr_max_l2,
        }

    # -- the encoder (subclasses) ----------------------------------------------------------
    def encode(self, history, training: bool = False):
        """``[b, L]`` int32 item rows (right-aligned, 0 = padding) → ``[b, L, d]`` float32, one
        vector per position, zero at padding positions."""
        raise NotImplementedError

    def embedded(self, history):
        """``(item rows' vectors [b, L, d] zeroed at padding, mask [b, L, 1])``: the padding row
        never gets a gradient."""
        mask = tf.cast(history > 0, "float32")[..., None]
        return tf.cast(self.item_embedding(history), "float32") * mask, mask

    # -- data ------------------------------------------------------------------------------
    def remember(self, interactions) -> None:
        """Seen items and popularity (see ``ZooModel``) plus, for every user of the data, their
        last ``max_length`` items (other users keep theirs)."""
        super().remember(interactions)
        users, items = time_ordered(self, interactions)
        history = keras.ops.convert_to_numpy(self.user_history).copy()
        latest = last_items(users, items, self.users.size, self.max_length)
        present = np.unique(users)
        history[present] = latest[present]
        self.user_history.assign(history)
        self.clear_graph_functions()

    def merge_remembered(self, previous, n_users: int, n_items: int) -> None:
        """After fine-tuning: a known user whose history the new data changed continues their
        ``previous`` history with it (the last ``max_length`` items of both)."""
        old = keras.ops.convert_to_numpy(previous.user_history)
        new = keras.ops.convert_to_numpy(self.user_history)
        self.user_history.assign(continued_histories(old, new, n_users))
        self.clear_graph_functions()

    def history_of(self, user_id) -> np.ndarray:
        """Raw ids of a user's remembered last items, oldest first (empty if unknown)."""
        row = keras.ops.convert_to_numpy(self.user_history)[self.users.lookup([user_id])[0]]
        return self.items.ids_of(row[row > 0]) if np.any(row > 0) else self.items.ids[:0]

    # -- training --------------------------------------------------------------------------
    def training_spec(self) -> TrainingSpec:
        pipeline = functools.partial(
            next_item,
            max_length=self.max_length,
            num_negatives=0 if self.loss_kind == "softmax" else self.num_negatives,
            per_position=self.loss_kind == "bce",
            negative_sampling=self.negative_sampling,
            sampling_alpha=self.sampling_alpha,
        )
        return TrainingSpec(
            task=self.task,
            pipeline=pipeline,
            loss=NextItemLoss(self.loss_kind, self.bpr_max_l2),
            defaults=self.fit_defaults,
        )

    def training_logits(self, inputs, training: bool):
        """``[b, L, 1 + m]`` logits of each position's next item (column 0) and its negatives."""
        history = tf.cast(inputs["history"], "int32")
        target = tf.cast(inputs["target"], "int32")
        hidden = self.encode(history, training)  # [b, L, d]
        positive = tf.reduce_sum(hidden * self.item_rows(target), -1)  # [b, L]
        masked = tf.constant(MASKED_LOGIT, "float32")
        if self.loss_kind == "softmax":
            # through the layer's call, which keeps fine-tuning's frozen rows frozen
            table = self.item_rows(tf.range(self.items.size))
            scores = tf.einsum("bld,nd->bln", hidden, table)
            n = tf.shape(table)[0]
            # the target is column 0 already; the padding row is no candidate
            drop = (
                tf.one_hot(target, n, on_value=True, off_value=False)
                | tf.equal(tf.range(n), 0)[None, None, :]
            )
            return tf.concat([positive[..., None], tf.where(drop, masked, scores)], -1)
        negatives = tf.cast(inputs["negatives"], "int32")
        if negatives.shape.rank == 3:  # one set per position (bce)
            scores = tf.reduce_sum(hidden[:, :, None, :] * self.item_rows(negatives), -1)
            hit = tf.equal(negatives, target[..., None])
        else:  # shared by the batch
            scores = tf.einsum("bld,md->blm", hidden, self.item_rows(negatives))
            hit = tf.equal(negatives[None, None, :], target[..., None])
        logits = tf.concat([positive[..., None], tf.where(hit, masked, scores)], -1)
        if self.loss_kind == "sampled_softmax" and negatives.shape.rank == 1:
            q = self.draw_probability(
                tf.concat(
                    [
                        target[..., None],
                        tf.broadcast_to(negatives[None, None, :], tf.shape(scores)),
                    ],
                    -1,
                ),
                tf.shape(negatives)[0],
            )
            logits = tf.where(
                tf.concat([tf.zeros_like(hit[..., :1]), hit], -1), masked, self.logq(logits, q)
            )
        return logits

    def draw_probability(self, index, m):
        """Chance of items ``index`` to be among ``m`` shared negative draws (logQ)."""
        counts = tf.cast(self.item_popularity, "float32")
        trained = tf.cast(counts > 0, "float32")
        weights = (
            trained
            if self.negative_sampling == "uniform"
            else trained * tf.pow(counts, self.sampling_alpha)
        )
        p = weights / tf.maximum(tf.reduce_sum(weights), 1e-12)
        return tf.cast(m, "float32") * tf.gather(p, index)

    def item_rows(self, index):
        return tf.cast(self.item_embedding(index), "float32")

    # -- queries ---------------------------------------------------------------------------
    def history_queries(self, history):
        """``[b, W]`` item rows (0 = none) → ``([b, d]`` query of the latest position,
        ``[b]`` bool has-a-known-item)."""
        history = right_aligned(history, self.max_length)
        return self.encode(history)[:, -1, :], tf.reduce_any(history > 0, axis=1)

    def user_queries(self, user_index):
        history = tf.gather(self.user_history, tf.cast(user_index, "int32"))
        return self.history_queries(history)

    def call(self, inputs, training=False):
        """Training windows (``inputs["history"]``): the per-position logits of
        :meth:`training_logits`. Pairs (``inputs["user"]``, ``inputs["item"]`` ``[b]`` or
        ``[b, m]``): the dot product of the user's query with the items' rows (the popularity
        share for a user without history)."""
        if "history" in inputs:
            return self.training_logits(inputs, training)
        # each distinct user encoded once: score() sends up to 65536 pairs of few users
        unique, position = tf.unique(tf.cast(inputs["user"], "int32"))
        query, has_query = self.user_queries(unique)
        query, has_query = tf.gather(query, position), tf.gather(has_query, position)
        items = tf.cast(inputs["item"], "int32")
        rows = self.item_rows(items)
        if items.shape.rank == 2:
            query, has_query = query[:, None, :], has_query[:, None]
        scores = tf.reduce_sum(query * rows, -1)
        return tf.where(has_query, scores, tf.gather(popularity_share(self.item_popularity), items))

    def query_vectors(self, user_index):
        return self.user_queries(user_index)[0]

    def candidate_vectors(self):
        return tf.cast(self.item_embedding.table(), "float32")

    def item_vectors(self):
        return self.candidate_vectors()

    def learned_query_norm(self):
        return None

    def all_item_scores(self, user_index):
        query, has_query = self.user_queries(user_index)
        return self.scores_of(query, has_query)

    def scores_of(self, query, has_query):
        scores = tf.matmul(query, self.candidate_vectors(), transpose_b=True)
        fallback = popularity_share(self.item_popularity)[None, :]
        return tf.where(has_query[:, None], scores, tf.broadcast_to(fallback, tf.shape(scores)))

    def fold_in_scores(self, item_index, l2):
        """A history's scores: the encoder over its known items in the order given (``l2`` is
        not used)."""
        return self.scores_of(*self.history_queries(item_index))

    # -- session-based serving -------------------------------------------------------------
    def recommend_for_history(self, item_id_lists, k: int = 10, strict: bool = False):
        """The next items after each history: ``(item_ids [n, k], scores [n, k])``, the
        history's own items excluded.

        Args:
            item_id_lists: one list of raw item ids per history, oldest first (unknown ids are
                skipped with an ``UnknownIdWarning``; a history without a known item gets the
                popularity fallback). Only the latest ``max_length`` known items are read.
            k: list length.
            strict: refuse unknown item ids instead.

        Example:
            >>> from embedzoo import training, zoo
            >>> sasrec = zoo.build("sasrec", train, embedding_dim=8, max_length=10, seed=0)
            >>> _ = training.fit(sasrec, train, epochs=1, verbose=0)
            >>> ids, scores = sasrec.recommend_for_history([list(train.items.ids[:3])], k=5)
            >>> ids.shape, bool(set(ids[0]) & set(train.items.ids[:3]))
            ((1, 5), False)
        """
        return self.recommend_for_items(item_id_lists, k, strict=strict)

    def serving_endpoints(self) -> dict:
        endpoints = super().serving_endpoints()
        # the same graph as recommend_for_items, under the name sequence users look for
        return endpoints | {"recommend_for_history": endpoints["recommend_for_items"]}
