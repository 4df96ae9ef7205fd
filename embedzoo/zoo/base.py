"""The model contract every zoo model honours.

A zoo model is a ``keras.Model`` that carries its user and item vocabularies and answers in raw
ids: ``score``, ``recommend`` and ``similar_items`` (batch-first, ``(ids, scores)``), the same
functions its SavedModel serves (:mod:`embedzoo.zoo.retrieval`). Training uses indices
(``call({"user": u, "item": i})``) so no hash lookup sits in the train step, and reads how to
train from the model's :class:`~embedzoo.training.spec.TrainingSpec` (``training_spec()``).

Unknown ids map to index 0, a row no table trains (pipelines feed only rows whose ids the
model knows), so they get a defined answer without a branch in the serving graph: a model's
score with that row. Ranking models keep it zero; rating models fill it after training with a
calibrated "average" row (``fit_unknown_rows``, their spec's ``after_fit``), so an unknown user
gets about the mean rating, item by item. ``similar_items`` of an unknown item
returns the most popular training items with their relative popularity as the score. Result
slots that no item can fill (``k`` above the number of candidates left after exclusions) hold
the padding id (-1, or "" for string ids) and score -inf.

What a subclass supplies: ``call(inputs)`` on index tensors returning one score per pair (or
``[batch, m]`` scores for ``[batch, m]`` items), ``item_vectors()`` for cosine neighbours, and
either ``query_vectors`` + ``candidate_vectors`` (+ ``query_bias``, ``candidate_bias``,
``scores_from_logits``) or its own
``all_item_scores``; ``training_spec()``; ``model_config()``. Tables indexed by a vocabulary are
``Embedding(..., side="user" | "item")`` or ``add_row_weight``: fine-tuning grows exactly those.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from embedzoo.core.layers import Embedding
from embedzoo.core.lookup import IdLookup
from embedzoo.core.seen import SeenItems
from embedzoo.datasets.interactions import Interactions, Vocabulary
from embedzoo.errors import ConfigError
from embedzoo.training import pipelines
from embedzoo.training.losses import SquaredError
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.retrieval import PAD_INT, PAD_STR, Retrieval  # noqa: F401  (re-exported)

SIDES = ("user", "item")
#: ``fit_unknown_rows``: training rows used at most, bisection steps, and the bias range searched.
UNKNOWN_FIT_ROWS = 65536
UNKNOWN_BIAS_STEPS = 30
UNKNOWN_BIAS_BOUND = 20.0


class ZooModel(Retrieval, keras.Model):
    """Base class: vocabularies, memory of the training data, the retrieval API, config.

    Args:
        user_vocabulary: raw user ids (index i+1 is ``user_vocabulary[i]``).
        item_vocabulary: raw item ids.
        **kwargs: ``keras.Model`` arguments (``name``...).
    """

    #: a registered name (set by ``registry.register``).
    zoo_name: str = ""
    #: what the model learns: "rating", "ranking", "links" or "content" (its spec's task);
    #: class-level so presets and ``embedzoo list`` can read it without building a model.
    task: str = "rating"
    #: False for content models that serve a catalogue without users (doc2vec).
    requires_users: bool = True
    #: fit settings the model trains well with (``TrainingSpec.defaults``); class-level so
    #: ``embedzoo list -v`` can show them without building a model.
    fit_defaults: dict = {}

    def __init__(self, user_vocabulary, item_vocabulary, table_shards: int = 1, **kwargs):
        # Tables, biases, scores and penalties stay float32 under a mixed-precision policy
        # (an embedding read in float16 would also cast the whole table every step); dense
        # towers built without a dtype follow the global policy and are cast back to float32.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if isinstance(table_shards, bool) or not isinstance(table_shards, int) or table_shards < 1:
            raise ConfigError(f"table_shards must be an integer >= 1, got {table_shards!r}")
        # Variables each user/item table is split over (Embedding(shards=...)): a
        # ParameterServerStrategy spreads them over its parameter servers.
        self.table_shards = int(table_shards)
        self.users = Vocabulary(user_vocabulary)
        self.items = Vocabulary(item_vocabulary)
        self.user_lookup = IdLookup(self.users, name="user_lookup")
        self.item_lookup = IdLookup(self.items, name="item_lookup")
        self.seen_items = SeenItems(name="seen_items")
        self.row_weight_sides: dict = {}
        self.item_popularity = self.add_row_weight("item", "item_popularity")
        # Per-row weights of the L2 penalties: mean count / row count (0 for rows never seen),
        # so a penalty summed over a batch's rows equals, in expectation, the same penalty on
        # every row of the table: rare ids are regularised as much as frequent ones.
        self.user_penalty_weight = self.add_row_weight("user", "user_penalty_weight")
        self.item_penalty_weight = self.add_row_weight("item", "item_penalty_weight")

    # -- tables indexed by a vocabulary ----------------------------------------------------
    def vocabulary(self, side: str) -> Vocabulary:
        return self.users if side == "user" else self.items

    def add_row_weight(
        self,
        side: str,
        name: str,
        width: int | None = None,
        dtype="float32",
        initializer="zeros",
        trainable: bool = False,
    ):
        """A weight with one row per id of the ``side`` vocabulary (grown by fine-tuning)."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        shape = (
            (self.vocabulary(side).size,)
            if width is None
            else (self.vocabulary(side).size, int(width))
        )
        weight = self.add_weight(
            shape=shape, dtype=dtype, initializer=initializer, trainable=trainable, name=name
        )
        self.row_weight_sides[name] = side
        return weight

    def table(
        self, side: str, name: str, width: int, initializer="random_normal", **kwargs
    ) -> Embedding:
        """A built ``Embedding`` with one row per id of the ``side`` vocabulary."""
        kwargs.setdefault("dtype", "float32")
        kwargs.setdefault("shards", self.table_shards)
        layer = Embedding(
            self.vocabulary(side).size, width, initializer, side=side, name=name, **kwargs
        )
        layer.build()
        return layer

    def indexed_tables(self) -> dict[str, list[Embedding]]:
        """The model's ``Embedding`` layers by the vocabulary that indexes them."""
        out = {side: [] for side in SIDES}
        for layer in self.layers:  # the model's direct sublayers
            if isinstance(layer, Embedding) and layer.side in SIDES:
                out[layer.side].append(layer)
        return out

    def side_of(self, variable) -> str | None:
        """``"user"`` / ``"item"`` for a weight indexed by that vocabulary, else ``None``."""
        for side, layers in self.indexed_tables().items():
            if any(variable is v for layer in layers for v in layer.table_variables()):
                return side
        for weight in self.weights:
            if weight is variable:
                return self.row_weight_sides.get(weight.name)
        return None

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
            # only when split, so configs of single-variable models stay as they were
            **({"table_shards": self.table_shards} if self.table_shards > 1 else {}),
            **self.model_config(),
        }

    def model_config(self) -> dict:
        """The model's own constructor arguments (everything but vocabularies)."""
        return {}

    @classmethod
    def data_config(cls, data: Interactions, config: dict) -> dict:
        """Constructor arguments ``zoo.build`` derives from the data (besides the
        vocabularies), given the caller's ``config``; ``"item_vocabulary"`` (a ``Vocabulary``)
        replaces the data's item vocabulary. None for id models."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def build(self, input_shape=None):
        # Every sublayer is built in __init__; nothing depends on input shapes.
        self.built = True

    # -- training --------------------------------------------------------------------------
    def training_spec(self) -> TrainingSpec:
        """How ``training.fit`` trains this model (see :class:`TrainingSpec`)."""
        raise NotImplementedError(f"{type(self).__name__} defines no training_spec()")

    def rating_spec(self, **kwargs) -> TrainingSpec:
        """The spec of a pointwise rating model: MSE per example, RMSE and MAE."""
        return TrainingSpec(
            task=self.task,
            pipeline=pipelines.known_pointwise,
            validation_pipeline=pipelines.pointwise,
            loss=SquaredError(),
            after_fit=self.fit_unknown_rows,
            metrics=(
                keras.metrics.RootMeanSquaredError(name="rmse"),
                keras.metrics.MeanAbsoluteError(name="mae"),
            ),
            defaults=self.fit_defaults,
            **kwargs,
        )

    # -- data the model remembers ----------------------------------------------------------
    def remember(self, interactions: Interactions) -> None:
        """Records each user's training items (for ``exclude_seen``) and item popularity."""
        users, items = pipelines.encode(self, interactions)
        known = (users > 0) & (items > 0)
        users, items = users[known], items[known]
        self.seen_items.set(users, items, num_users=self.users.size)
        counts = np.bincount(items, minlength=self.items.size).astype("float32")
        self.item_popularity.assign(counts)
        self.item_penalty_weight.assign(penalty_weights(counts))
        user_counts = np.bincount(users, minlength=self.users.size).astype("float32")
        self.user_penalty_weight.assign(penalty_weights(user_counts))
        self.remember_pairs(users, items)
        self.clear_graph_functions()

    def remember_pairs(self, user_index: np.ndarray, item_index: np.ndarray) -> None:
        """Hook for subclasses: the training rows' index pairs (known ids), before training."""

    def merge_remembered(self, previous: ZooModel, n_users: int, n_items: int) -> None:
        """Hook for subclasses, after fine-tuning: merge what ``previous`` (the model before
        it, with ``n_users`` / ``n_items`` rows) remembered beyond seen items and popularity
        (sequence models: the users' histories)."""

    def fit_unknown_rows(self, interactions: Interactions, max_rows: int = UNKNOWN_FIT_ROWS):
        """Rating models, after training: row 0 of every user (item) table becomes an "average
        user" ("average item"), so an unknown id gets a calibrated rating, not merely a defined one.

        Row 0 gets no gradient in training. Here it becomes the count-weighted mean of the
        trained rows (each id weighted by its training rows), and then the row-0 bias
        (``user_bias`` / ``item_bias``, where the model has one) is set so the mean answer
        over the training rows, with that side unknown, equals the mean training rating. The
        squashing of a y-range makes the mean of the rows alone answer too low: on MovieLens-100k
        dot_bias_mf's unknown users averaged 3.07 against a mean rating of 3.52. At most
        ``max_rows`` training rows (a seeded sample) are used.
        """
        users, items = pipelines.encode(self, interactions)
        y = interactions.frame["rating"].to_numpy(np.float64)
        known = (users > 0) & (items > 0)
        users, items, y = users[known], items[known], y[known]
        if len(y) == 0:
            return
        if len(y) > max_rows:
            pick = np.random.default_rng(0).choice(len(y), max_rows, replace=False)
            sample = users[pick], items[pick], y[pick]
        else:
            sample = users, items, y
        target = float(y.mean())
        # One graph for every bisection step of both sides (the inputs keep their shapes):
        # eager calls took 20 ms each on 65,536 rows, over a second of every rating model's fit
        # on ML-100k.
        answer = tf.function(lambda x: tf.reduce_mean(tf.cast(self(x, training=False), tf.float64)))
        for side, index in (("user", users), ("item", items)):
            counts = np.bincount(index, minlength=self.vocabulary(side).size).astype(np.float64)
            counts[0] = 0.0
            bias = None
            for layer in self.indexed_tables()[side]:
                if not layer.trainable:
                    continue
                table = keras.ops.convert_to_numpy(layer.table()).astype(np.float64)
                table[0] = counts @ table / counts.sum()
                layer.assign_table(table.astype(np.float32))
                if layer.name == f"{side}_bias":
                    bias = (layer, table)
            if bias is not None:
                self._match_mean(side, bias, sample, target, answer)

    def _match_mean(self, side: str, bias, sample, target: float, answer) -> None:
        """Bisection on row 0 of the ``side`` bias so the unknown-``side`` answers average
        ``target`` over ``sample``'s rows (the answer grows with the bias); ``answer(inputs)``
        is the model's mean answer."""
        layer, table = bias
        users, items, _ = sample
        inputs = {
            "user": tf.constant(np.zeros_like(users) if side == "user" else users),
            "item": tf.constant(np.zeros_like(items) if side == "item" else items),
        }

        def mean_answer(b: float) -> float:
            table[0, 0] = b
            layer.assign_table(table.astype(np.float32))
            return float(answer(inputs))

        low, high = -UNKNOWN_BIAS_BOUND, UNKNOWN_BIAS_BOUND
        if not mean_answer(low) <= target <= mean_answer(high):
            mean_answer(float(table[0, 0]))  # out of reach: keep the mean row
            return
        for _ in range(UNKNOWN_BIAS_STEPS):
            middle = (low + high) / 2
            if mean_answer(middle) < target:
                low = middle
            else:
                high = middle
        mean_answer((low + high) / 2)

    def row_penalty(self, index, squared_norms, side: str):
        """Batch mean of ``squared_norms`` weighted by each row's penalty weight.

        Added with ``add_loss``: under a ``tf.distribute`` strategy Keras divides such terms by
        the replica count, so a replica's batch mean adds up to the global one."""
        weights = self.user_penalty_weight if side == "user" else self.item_penalty_weight
        return tf.reduce_mean(tf.gather(weights, index) * squared_norms)

    # -- scoring pieces (override these, or all_item_scores) --------------------------------
    def item_vectors(self):
        """``[items.size, d]`` item representations used for cosine ``similar_items``."""
        raise NotImplementedError

    def query_vectors(self, user_index):
        """``[batch, d]`` vectors whose dot product with ``candidate_vectors()`` gives logits."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither query_vectors nor all_item_scores"
        )

    def candidate_vectors(self):
        """``[items.size, d]`` candidate vectors (the retrieval index)."""
        raise NotImplementedError

    def query_bias(self, user_index):
        """``[batch]`` terms added to every logit of a user (``None``: none)."""
        return None

    def candidate_bias(self):
        """``[items.size]`` terms added to every user's logit of an item (``None``: none)."""
        return None

    def has_item_bias(self) -> bool:
        """Whether every user's logit of an item adds a learned item bias (``candidate_bias``)."""
        return self.candidate_bias() is not None

    def item_bias_table(self, n: int = 10, titles=None):
        """fastai's "most and least liked": the ``n`` items with the highest and the lowest
        learned bias (dot_bias_mf and bpr have one).

        Args:
            n: how many of each end.
            titles: optional mapping raw item id → title (e.g. ``data.item_metadata["title"]``).

        Returns:
            DataFrame with columns ``end`` ("highest"/"lowest"), ``item``, ``title``, ``bias``.
        """
        import pandas as pd

        if not self.has_item_bias():
            raise ConfigError(f"{self.zoo_name} has no item biases (dot_bias_mf and bpr have)")
        bias = np.asarray(self.candidate_bias())[1:].astype(float)
        order = np.argsort(-bias, kind="stable")
        rows = []
        for end, idx in (("highest", order[:n]), ("lowest", order[::-1][:n])):
            for j in idx:
                item = self.items.ids[j]
                title = titles.get(item, str(item)) if titles is not None else str(item)
                rows.append({"end": end, "item": item, "title": title, "bias": float(bias[j])})
        return pd.DataFrame(rows)

    def scores_from_logits(self, logits, user_index):
        """Maps ``[batch, items]`` logits to scores (identity by default)."""
        return logits

    def all_item_scores(self, user_index):
        """``[batch, items.size]`` scores of every item for each user index: ``query ·
        candidate + query bias + candidate bias``, mapped by ``scores_from_logits``. (Biases
        are added, not concatenated to the vectors: a concatenation would copy the whole
        candidate table on every request.)"""
        logits = tf.matmul(
            self.query_vectors(user_index), self.candidate_vectors(), transpose_b=True
        )
        query_bias, candidate_bias = self.query_bias(user_index), self.candidate_bias()
        if query_bias is not None:
            logits += query_bias[:, None]
        if candidate_bias is not None:
            logits += candidate_bias[None, :]
        return self.scores_from_logits(logits, user_index)

    # -- serving ---------------------------------------------------------------------------
    def serving_endpoints(self) -> dict:
        """``{signature name: (function, input_signature)}`` of the SavedModel.

        Every model serves ``serving_default`` / ``score``, ``serve`` (``score`` taking one
        ``{"user_id", "item_id"}`` dict, the endpoint ``keras.layers.TFSMLayer(path)`` calls),
        ``recommend``, ``recommend_filtered`` and ``similar_items``; factor and history models
        ``recommend_for_items`` too. A model may add more by extending this dict.
        """
        user_spec = tf.TensorSpec([None], id_dtype(self.users), name="user_id")
        item_spec = tf.TensorSpec([None], id_dtype(self.items), name="item_id")
        k_spec = tf.TensorSpec([], tf.int32, name="k")

        def score(user_id, item_id):
            return {"score": self.score_graph(user_id, item_id)}

        def recommend(user_id, k):
            ids, scores = self.recommend_graph(user_id, k, exclude_seen=True)
            return {"item_ids": ids, "scores": scores}

        def recommend_filtered(user_id, k, allow_item_ids, exclude_item_ids):
            ids, scores = self.recommend_graph(
                user_id, k, exclude_seen=True, items=allow_item_ids, filter_items=exclude_item_ids
            )
            return {"item_ids": ids, "scores": scores}

        def similar_items(item_id, k):
            ids, scores = self.similar_items_graph(item_id, k)
            return {"item_ids": ids, "scores": scores}

        allow_spec = tf.TensorSpec([None], id_dtype(self.items), name="allow_item_ids")
        exclude_spec = tf.TensorSpec([None], id_dtype(self.items), name="exclude_item_ids")
        endpoints = {}
        if self.supports_fold_in():

            def recommend_for_items(item_id_lists, k):
                ids, scores = self.recommend_for_items_graph(item_id_lists, k)
                return {"item_ids": ids, "scores": scores}

            # new users by their items, one row each, padded with the padding id (-1 or "")
            lists_spec = tf.TensorSpec([None, None], id_dtype(self.items), name="item_id_lists")
            endpoints["recommend_for_items"] = (recommend_for_items, [lists_spec, k_spec])

        def serve(inputs):  # one dict argument: what keras.layers.TFSMLayer(path) calls
            return score(inputs["user_id"], inputs["item_id"])

        return endpoints | {
            "serve": (serve, [{"user_id": user_spec, "item_id": item_spec}]),
            "serving_default": (score, [user_spec, item_spec]),
            "score": (score, [user_spec, item_spec]),
            "recommend": (recommend, [user_spec, k_spec]),
            # per-request filters: only the allowed items (empty: all), never the excluded ones
            "recommend_filtered": (
                recommend_filtered,
                [user_spec, k_spec, allow_spec, exclude_spec],
            ),
            "similar_items": (similar_items, [item_spec, k_spec]),
        }

    def example_inputs(self, input_name: str, batch: int = 4):
        """Known raw ids (or ``k``) for an endpoint input, for TF Serving's warm-up records."""
        if input_name == "k":
            return np.int32(10)
        if input_name in ("allow_item_ids", "exclude_item_ids"):
            return self.items.ids[:0]  # no filter: the warm-up request fills every slot
        if input_name == "item_id_lists":
            return self.example_inputs("item_id", batch)[None, :]
        vocabulary = self.items if input_name == "item_id" else self.users
        ids = vocabulary.ids[:batch]
        if len(ids) == 0:
            ids = np.array([0], np.int64) if vocabulary.dtype == "int64" else np.array(["unknown"])
        return ids


def id_dtype(vocabulary: Vocabulary) -> tf.DType:
    """The raw-id dtype of a vocabulary in the graph: int64 or string."""
    return tf.int64 if vocabulary.dtype == "int64" else tf.string


def penalty_weights(counts: np.ndarray) -> np.ndarray:
    """Mean count of the rows seen / each row's count (0 for rows never seen).

    Example:
        >>> penalty_weights(np.array([0.0, 1.0, 3.0])).tolist()
        [0.0, 2.0, 0.6666666865348816]
    """
    seen = counts > 0
    if not seen.any():
        return np.zeros_like(counts, dtype=np.float32)
    return np.where(seen, counts[seen].mean() / np.maximum(counts, 1), 0).astype("float32")
