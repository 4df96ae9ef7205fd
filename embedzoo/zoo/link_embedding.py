"""``link_embedding``: entities and links embedded so that an entity sits close to its links.

Will Koehrsen's "Wikipedia books" recommender: books that link to the same wiki pages are
similar, so learn a vector per book and per link such that the cosine of a book and a link
says whether the book's article contains the link; then recommend a book's nearest books by
cosine. Two training modes, as in the original:

- classification: ``sigmoid(w · cos + b)`` (a one-unit dense layer on the cosine) with binary
  cross-entropy, negatives labelled 0;
- regression: the raw cosine against labels +1 / -1 with mean squared error.

Contract mapping: **links are the users and entities the items** (see
:mod:`embedzoo.datasets.pairs`). So ``similar_items(entity_ids)`` gives an entity's cosine
neighbours among entities (the recommendation by entity, also the ``similar_items`` signature
of the SavedModel), ``recommend(link_ids)`` gives the entities closest to a link (those
already linked excluded), ``score(link_ids, entity_ids)`` the pair's output, and
``similar_links(link_ids)`` a link's neighbours among links (also exported as a
``similar_links`` signature). Unknown ids have zero vectors: cosine 0 (score ``sigmoid(b)``
in classification), and ``similar_links`` of an unknown link returns the most used links.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import ConfigError
from embedzoo.training import link_pairs
from embedzoo.training.losses import LogLoss, SquaredError
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel, id_dtype
from embedzoo.zoo.registry import register
from embedzoo.zoo.retrieval import (
    check_k,
    cosine_scores,
    ids_out,
    padded_ids,
    popularity_share,
    raw_tensor,
    top_k,
)


@register("link_embedding")
class LinkEmbedding(ZooModel):
    """Entity and link embeddings scored by cosine (Koehrsen's Wikipedia-books model).

    Links are the contract's users, entities its items: build it from pairs loaded with
    :func:`embedzoo.datasets.load_pairs` (or any ``Interactions`` with user = link,
    item = entity). ``fit`` trains it on batches of ``n_positive`` positives plus
    ``negative_ratio × n_positive`` random non-pairs (:mod:`embedzoo.training.link_pairs`);
    ``fit``'s ``batch_size`` defaults to ``n_positive`` and, when given, overrides it.

    Args:
        user_vocabulary: link ids.
        item_vocabulary: entity ids.
        embedding_size: width of both tables (original: 50).
        classification: sigmoid output and BCE (True), or raw cosine and MSE on ±1 (False).
        n_positive: positive pairs per batch (original: 1024).
        negative_ratio: random negative pairs per positive (original: 2).
        init_scale: entity and link rows start uniform in ``[-init_scale, init_scale]``
            (Keras' embedding default, 0.05).

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> pairs = datasets.load_ml100k_links()                               # doctest: +SKIP
        >>> model = zoo.build("link_embedding", pairs, classification=True)
        >>> training.fit(model, pairs)                                         # doctest: +SKIP
        >>> model.similar_items([50], k=5)            # movies nearest Star Wars  # doctest: +SKIP
    """

    task = "ranking"  # links are the users: ranking a link's entities is the task
    fit_defaults = {"epochs": 15, "batch_size": 1024, "optimizer": "adam", "learning_rate": 0.01}

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        embedding_size: int = 50,
        classification: bool = True,
        n_positive: int = 1024,
        negative_ratio: float = 2.0,
        init_scale: float = 0.05,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(embedding_size) < 1:
            raise ConfigError(f"embedding_size must be >= 1, got {embedding_size}")
        if int(n_positive) < 1:
            raise ConfigError(f"n_positive must be >= 1, got {n_positive}")
        if not float(init_scale) > 0:
            raise ConfigError(f"init_scale must be > 0, got {init_scale}")
        self.embedding_size = int(embedding_size)
        self.classification = bool(classification)
        self.n_positive = int(n_positive)
        self.negative_ratio = link_pairs.check_ratio(negative_ratio)
        self.init_scale = float(init_scale)
        # fit's batch size counts positives: default it to this model's n_positive.
        self.fit_defaults = {**type(self).fit_defaults, "batch_size": self.n_positive}
        init = keras.initializers.RandomUniform(-self.init_scale, self.init_scale)
        self.entity_embedding = self.table("item", "entity_embedding", self.embedding_size, init)
        self.link_embedding = self.table("user", "link_embedding", self.embedding_size, init)
        if self.classification:
            # Keras' Dense(1, sigmoid) on the cosine, started at w=1, b=0 (not a random w) so
            # the output starts increasing in the cosine.
            self.cosine_scale = self.add_weight(shape=(), initializer="ones", name="cosine_scale")
            self.cosine_bias = self.add_weight(shape=(), initializer="zeros", name="cosine_bias")
        self.link_popularity = self.add_row_weight("user", "link_popularity")
        self.built = True

    def model_config(self) -> dict:
        return {
            "embedding_size": self.embedding_size,
            "classification": self.classification,
            "n_positive": self.n_positive,
            "negative_ratio": self.negative_ratio,
            "init_scale": self.init_scale,
        }

    # -- training -----------------------------------------------------------------------
    def training_spec(self) -> TrainingSpec:
        pipeline = functools.partial(
            link_pairs.link_pairs,
            negative_ratio=self.negative_ratio,
            classification=self.classification,
        )
        return TrainingSpec(
            task=self.task,
            pipeline=pipeline,
            validation_pipeline=functools.partial(
                link_pairs.held_out_pairs,
                negative_ratio=self.negative_ratio,
                classification=self.classification,
            ),
            loss=LogLoss() if self.classification else SquaredError(),
            metrics=(keras.metrics.BinaryAccuracy(name="accuracy"),) if self.classification else (),
            defaults=self.fit_defaults,
        )

    def remember(self, interactions: Interactions) -> None:
        """Also counts how many entities use each link (``similar_links`` of unknown links)."""
        super().remember(interactions)
        links = self.users.lookup(interactions.frame["user"].to_numpy())
        self.link_popularity.assign(
            np.bincount(links[links > 0], minlength=self.users.size).astype("float32")
        )

    # -- the model ----------------------------------------------------------------------
    def _output(self, cosine):
        if self.classification:
            return tf.sigmoid(self.cosine_scale * cosine + self.cosine_bias)
        return cosine

    def call(self, inputs, training=False):
        links = tf.math.l2_normalize(self.link_embedding(inputs["user"]), axis=-1)
        entities = tf.math.l2_normalize(self.entity_embedding(inputs["item"]), axis=-1)
        return self._output(tf.reduce_sum(links * entities, -1))

    def query_vectors(self, user_index):
        return tf.math.l2_normalize(self.link_embedding(user_index), axis=-1)

    def candidate_vectors(self):
        return tf.math.l2_normalize(self.entity_embedding.table(), axis=-1)

    def scores_from_logits(self, logits, user_index):
        return self._output(logits)

    def item_vectors(self):
        return self.entity_embedding.table()

    def link_vectors(self):
        """``[users.size, d]`` link representations (row 0: unknown links)."""
        return self.link_embedding.table()

    # -- links' neighbours --------------------------------------------------------------
    def similar_links_graph(self, link_ids, k):
        """Raw link ids, k → cosine neighbours among links (the link itself excluded)."""
        scores = cosine_scores(
            self.link_vectors(), self.user_lookup(link_ids), popularity_share(self.link_popularity)
        )
        return top_k(scores, k, padded_ids(self.users))

    def similar_links(self, link_ids, k: int = 10):
        """Cosine nearest links: ``(link_ids [n, k], scores [n, k])``, the query excluded.

        Example:
            >>> link_model.similar_links(["page 3"], k=5)  # ML-100k links: ["m.0lsxr"]
            (array([[...]], dtype=object), array([[...]], dtype=float32))
        """
        k = check_k(k)
        fn = self._graph_function("similar_links", self.similar_links_graph)
        ids, scores = fn(raw_tensor(self.users, link_ids), tf.constant(min(k, 2**31 - 1), "int32"))
        return ids_out(self.users, ids), scores.numpy()

    def serving_endpoints(self) -> dict:
        """The contract's signatures plus ``similar_links``."""
        spec = [
            tf.TensorSpec([None], id_dtype(self.users), name="link_id"),
            tf.TensorSpec([], tf.int32, name="k"),
        ]

        def similar_links(link_id, k):
            ids, scores = self.similar_links_graph(link_id, k)
            return {"link_ids": ids, "scores": scores}

        return {**super().serving_endpoints(), "similar_links": (similar_links, spec)}
