"""``two_tower``: retrieval over user and item features, in-batch softmax with logQ correction.

A query tower reads a user's id embedding and features, a candidate tower an item's id
embedding and features; each is an MLP ending in an L2-normalised vector, and the score is
their dot product (the retrieval model of TensorFlow Recommenders; Yi et al., RecSys 2019).
Training is a softmax over the batch's items (:func:`~embedzoo.training.negative_pipelines.
in_batch`) divided by ``temperature``, with

- **logQ correction**: the logit of a candidate drops by ``log q`` (``keras_rs.layers.
  SamplingProbabilityCorrection``), ``q`` its chance to be among a row's candidates (its
  training frequency, plus its share of the uniform negatives); without it popular items would
  be the negatives most often and the towers would learn to rank them down;
- **accidental hits removed**: another row's item equal to this row's positive is not a
  negative (masked here: keras-rs 0.4.0's ``RemoveAccidentalHits`` adds the smallest normal
  float instead of a very negative one, which leaves the logits as they were: keras-rs pull
  request #206, open);
- **mixed negatives** (Yang et al., WWW 2020): ``uniform_negatives`` items drawn uniformly
  per batch from the items with training rows join the candidates (their correction: the
  uniform probability);
- **id dropout** (DropoutNet, Volkovs et al., 2017): an example's id embedding is zeroed with
  probability ``id_dropout``, so the towers also learn to answer from features alone, which is
  what they do for an item or user no interaction has reached.

Features come from the data's feature tables (``Interactions.user_metadata`` /
``item_metadata``) through feature specs (:mod:`embedzoo.datasets.features`) adapted when the
model is built; the model stores the codes of every known id and runs the preprocessing layers
(:class:`~embedzoo.core.features.FeatureEncoder`) only on raw features at request time
(``recommend_for_features``, ``add_items`` and the SavedModel's ``recommend_for_features``).
**Every item of the item feature table** is in the item vocabulary, also those without training
interactions: their candidate vectors come from their features (their id rows stay zero).

Unknown ids: an unknown item is an item without features (codes 0); an unknown user gets the
average query of the training users (fitted after training, like the rating models' average
user), so ``recommend`` answers them with the items the average user would get.

Example:
    >>> from embedzoo import datasets, training, zoo
    >>> data = datasets.load_ml100k()                          # doctest: +SKIP
    >>> model = zoo.build("two_tower", data, seed=0)           # features from data's tables
    >>> training.fit(model, data)                              # doctest: +SKIP
    >>> model.recommend_for_features({"age": [25], "gender": ["F"], "occupation": ["writer"],
    ...                               "zip_code": ["10003"]}, k=5)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import warnings

import keras
import keras_rs
import numpy as np
import pandas as pd
import tensorflow as tf

from embedzoo.core.features import FeatureEncoder
from embedzoo.datasets.features import (
    check_feature_table,
    infer_feature_specs,
    infer_kind,
    spec_inputs,
)
from embedzoo.datasets.interactions import TIMESTAMP
from embedzoo.errors import ConfigError, DataError, MissingFeaturesWarning
from embedzoo.training.losses import InBatchSoftmax
from embedzoo.training.negative_pipelines import in_batch
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.bpr import check_recency
from embedzoo.zoo.history_model import continued_histories, last_items, time_order
from embedzoo.zoo.registry import register
from embedzoo.zoo.retrieval import padded_ids, top_k

#: the logit a removed accidental hit gets (after the temperature)
MASKED_LOGIT = -1e9


def report_missing(vocabulary, index, table, side: str) -> None:
    """Warns (``MissingFeaturesWarning``) about training ids that ``table`` has no row for."""
    ids = vocabulary.ids[np.asarray(index, dtype=np.int64) - 1].tolist()
    present = set() if table is None else set(vocabulary.coerce(table.index.to_numpy()).tolist())
    missing = np.array([i for i in ids if i not in present], dtype=object)
    if len(missing):
        shown = ", ".join(map(repr, missing[:5].tolist()))
        warnings.warn(
            f"{len(missing)} of {len(ids)} training {side}s have no row in the {side} feature"
            f" table (e.g. {shown}{', ...' if len(missing) > 5 else ''}): their features read"
            " as unknown",
            MissingFeaturesWarning,
            stacklevel=3,
        )


@register("two_tower")
class TwoTower(ZooModel):
    """Two towers (query: user id + user features; candidate: item id + item features).

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``); ``zoo.build`` adds
            every item of the data's item feature table.
        user_features, item_features: feature specs (``zoo.build`` infers them from the
            data's feature tables; see :mod:`embedzoo.datasets.features`).
        feature_kinds: column → kind overrides for that inference (``"skip"`` drops one).
            Free-text columns (kind ``text``, e.g. MovieLens titles) are skipped unless named
            here (``{"title": "text"}``): on the validation cut they cost 0.006 NDCG@10.
        embedding_dim: width of the id embeddings and of the towers' output vectors.
        feature_dim: width of each feature's embedding.
        hidden_units: hidden ReLU layers of each tower.
        use_user_ids, use_item_ids: include the id embedding in a tower (without it the
            tower reads only features).
        id_dropout: probability that an example's id embedding is zeroed in training.
        feature_dropout: probability that an example's feature value reads as missing in
            training (each feature on its own).
        temperature: the in-batch logits are ``score / temperature``.
        logq_correction: subtract the log of each candidate's sampling probability.
        item_bias: the candidate tower also outputs an item bias added to every score (from
            the item's id and features: a cold item gets the bias its features predict).
        uniform_negatives: extra negatives per batch, drawn uniformly from the catalogue.
        recency_weight, recency_power: weight of a training row by its position in its
            user's history, as in ``bpr`` (needs timestamps; ignored without).
        l2: L2 penalty on the id rows a batch uses.
        feature_shrinkage: a user served from features alone (``recommend_for_features``
            and its signature) gets the scores ``(1 - s) · q · c / temperature + s · log
            share``: the tower's logits shrunk towards the log of each item's (add-one
            smoothed) share of the training rows. The tower's answer for a feature value comes
            from the few users who have it, and it is trained mostly on users' latest items,
            while a new user will consume items across their whole history; shrinking towards
            the population's answer is what an estimate from a small group needs. 0.5 was
            chosen on validation users (docs/two_tower.md); 0 serves the tower's answer as it
            is, 1 popularity.
        recent_items: pool the mean id embedding of each user's last ``recent_items``
            training items into the query (YouTube's "watch history", Covington et al.
            2016); in training a row sees only the items its user had before it, each dropped
            with ``feature_dropout``. 0: no history. A user known only by features has none.

    The defaults were chosen on a validation cut of the training part of the ranking
    protocol (docs/two_tower.md), never on its test users.
    """

    task = "ranking"
    fit_defaults = {
        "epochs": 10, "batch_size": 512, "optimizer": "adam", "learning_rate": 0.01,
        "schedule": "warmup_cosine",
    }  # fmt: skip

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        user_features: list | tuple = (),
        item_features: list | tuple = (),
        feature_kinds: dict | None = None,
        embedding_dim: int = 64,
        feature_dim: int = 16,
        hidden_units: list | tuple = (128,),
        use_user_ids: bool = True,
        use_item_ids: bool = True,
        id_dropout: float = 0.2,
        feature_dropout: float = 0.5,
        temperature: float = 0.1,
        logq_correction: bool = True,
        item_bias: bool = False,
        uniform_negatives: int = 256,
        recency_weight: float = 10.0,
        recency_power: float = 8.0,
        l2: float = 0.0,
        feature_shrinkage: float = 0.5,
        recent_items: int = 0,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        self.user_features = [dict(s) for s in user_features]
        self.item_features = [dict(s) for s in item_features]
        self.feature_kinds = dict(feature_kinds or {})
        self.embedding_dim = int(embedding_dim)
        self.feature_dim = int(feature_dim)
        self.hidden_units = [int(u) for u in hidden_units]
        self.use_user_ids, self.use_item_ids = bool(use_user_ids), bool(use_item_ids)
        self.id_dropout = float(id_dropout)
        self.feature_dropout = float(feature_dropout)
        self.temperature = float(temperature)
        self.recent_items = int(recent_items)
        self.logq_correction = bool(logq_correction)
        self.item_bias = bool(item_bias)
        self.uniform_negatives = int(uniform_negatives)
        self.recency_weight, self.recency_power = check_recency(recency_weight, recency_power)
        self.l2 = float(l2)
        self.feature_shrinkage = float(feature_shrinkage)
        if not 0 <= self.feature_shrinkage <= 1:
            raise ConfigError(f"feature_shrinkage must lie in [0, 1], got {feature_shrinkage}")
        if self.embedding_dim < 1 or self.feature_dim < 1 or min(self.hidden_units + [1]) < 1:
            raise ConfigError("embedding_dim, feature_dim and hidden_units must be >= 1")
        if not 0 <= self.id_dropout < 1:
            raise ConfigError(f"id_dropout must lie in [0, 1), got {id_dropout}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if self.uniform_negatives < 0 or self.l2 < 0 or self.recent_items < 0:
            raise ConfigError("uniform_negatives, l2 and recent_items must be >= 0")
        for side, uses_ids, specs in (
            ("user", self.use_user_ids, self.user_features),
            ("item", self.use_item_ids, self.item_features),
        ):
            if not uses_ids and not specs:
                raise ConfigError(f"use_{side}_ids=False needs {side} features; the data has none")
        init = keras.initializers.RandomNormal(stddev=0.01)
        self.user_ids = self.table("user", "user_embedding", self.embedding_dim, init)
        self.item_ids = self.table("item", "item_embedding", self.embedding_dim, init)
        # 1 for ids some training data reached; the id rows of the others are kept at zero, so
        # an id without interactions (a cold item, an added one) is exactly its features.
        # (Zero-initialised tables instead would start training at a saddle: every vector
        # equal, every gradient zero.)
        self.user_trained = self.add_row_weight("user", "user_trained")
        self.item_trained = self.add_row_weight("item", "item_trained")
        self.user_encoder = FeatureEncoder(
            self.user_features, self.feature_dim, name="user_feat", dtype="float32"
        )
        self.item_encoder = FeatureEncoder(
            self.item_features, self.feature_dim, name="item_feat", dtype="float32"
        )
        # the codes of every known id's features (row 0: none), filled by remember / add_items
        self.user_codes = [self._code_weight("user", s) for s in self.user_features]
        self.item_codes = [self._code_weight("item", s) for s in self.item_features]
        if self.recent_items:
            # each user's last training items (right-aligned, 0 = none), filled by remember
            self.user_recent = self.add_row_weight(
                "user", "user_recent", self.recent_items, dtype="int32"
            )
        self.query_tower = self._tower(
            "query", self.user_encoder.width + (self.embedding_dim if self.recent_items else 0)
        )
        self.candidate_tower = self._tower(
            "candidate", self.item_encoder.width, extra=int(self.item_bias)
        )
        self.unknown_query = self.add_weight(
            shape=(self.embedding_dim,), initializer="zeros", trainable=False, name="unknown_query"
        )
        self.dropout_seed = keras.random.SeedGenerator(0, name="id_dropout_seed")
        # float32 under a mixed policy too: the logits carry -log q and the masked hits
        self.logq = keras_rs.layers.SamplingProbabilityCorrection(dtype="float32", name="logq")
        self.built = True

    def _code_weight(self, side: str, spec: dict):
        return self.add_row_weight(
            side,
            f"{side}_codes_{spec['name']}",
            FeatureEncoder.code_width(spec),
            dtype=FeatureEncoder.code_dtype(spec),
        )

    def _tower(self, name: str, feature_width: int, extra: int = 0):
        tower = keras.Sequential(
            [
                keras.layers.Dense(u, activation="relu", name=f"{name}_hidden_{j}", dtype="float32")
                for j, u in enumerate(self.hidden_units)
            ]
            + [keras.layers.Dense(self.embedding_dim + extra, name=f"{name}_out", dtype="float32")],
            name=f"{name}_tower",
            # float32 under mixed policies too: the normalisation and the 1 / temperature make
            # float16 gradients overflow (Keras scales the loss only for mixed-policy models)
        )
        tower.build((None, self.embedding_dim + feature_width))
        return tower

    def model_config(self) -> dict:
        return {
            "user_features": self.user_features,
            "item_features": self.item_features,
            "feature_kinds": self.feature_kinds,
            "embedding_dim": self.embedding_dim,
            "feature_dim": self.feature_dim,
            "hidden_units": self.hidden_units,
            "use_user_ids": self.use_user_ids,
            "use_item_ids": self.use_item_ids,
            "id_dropout": self.id_dropout,
            "feature_dropout": self.feature_dropout,
            "temperature": self.temperature,
            "logq_correction": self.logq_correction,
            "item_bias": self.item_bias,
            "uniform_negatives": self.uniform_negatives,
            "recency_weight": self.recency_weight,
            "recency_power": self.recency_power,
            "l2": self.l2,
            "feature_shrinkage": self.feature_shrinkage,
            "recent_items": self.recent_items,
        }

    @classmethod
    def data_config(cls, data, config: dict) -> dict:
        """What ``zoo.build`` reads from the data: every item of the item feature table in the
        vocabulary, and the feature specs adapted on the feature tables."""
        kinds = dict(config.get("feature_kinds") or {})
        out = {}
        for side, table in (("user", data.user_metadata), ("item", data.item_metadata)):
            if table is not None:
                check_feature_table(
                    table, f"{data.source or 'interactions'}: {side} features", side
                )
            if f"{side}_features" not in config:
                own = {k: v for k, v in kinds.items() if table is not None and k in table.columns}
                if table is not None:  # free text only when asked for (see the class docstring)
                    for column in map(str, table.columns):
                        if column not in own and infer_kind(table[column], column) == "text":
                            own[column] = "skip"
                out[f"{side}_features"] = infer_feature_specs(table, own, where=f"{side} features")
        unused = sorted(
            set(kinds)
            - {c for t in (data.user_metadata, data.item_metadata) if t is not None for c in t}
        )
        if unused:
            raise ConfigError(f"feature_kinds names column(s) {unused} no feature table has")
        if data.item_metadata is not None:
            out["item_vocabulary"] = data.items.extend(data.item_metadata.index.to_numpy())
        return out

    # -- features of known ids -------------------------------------------------------------
    def remember(self, interactions) -> None:
        super().remember(interactions)
        self.set_features("user", interactions.user_metadata)
        self.set_features("item", interactions.item_metadata)
        users = self.users.lookup(interactions.frame["user"].to_numpy())
        items = self.items.lookup(interactions.frame["item"].to_numpy())
        known = (users > 0) & (items > 0)
        self.mark_trained("user", users[known])
        self.mark_trained("item", items[known])
        if self.recent_items:
            stamps = (
                interactions.frame[TIMESTAMP].to_numpy() if interactions.has_timestamps else None
            )
            order = time_order(users, items, stamps)
            ordered = known[order]
            self.user_recent.assign(
                last_items(
                    users[order][ordered], items[order][ordered], self.users.size, self.recent_items
                )
            )
        for side, index, table in (
            ("user", users[known], interactions.user_metadata),
            ("item", items[known], interactions.item_metadata),
        ):
            specs = self.user_features if side == "user" else self.item_features
            if specs:
                report_missing(self.vocabulary(side), np.unique(index), table, side)

    def merge_remembered(self, previous, n_users: int, n_items: int) -> None:
        """After fine-tuning: a known user with new rows continues their previous recent
        items with the new ones (``remember`` saw only the new data); the others keep theirs.
        (While fine-tuning, a row's recent items are those of the new data before it.)"""
        if self.recent_items:
            old = keras.ops.convert_to_numpy(previous.user_recent)
            new = keras.ops.convert_to_numpy(self.user_recent)
            self.user_recent.assign(continued_histories(old, new, n_users))
            self.clear_graph_functions()

    def mark_trained(self, side: str, index=()) -> None:
        """Flags the rows ``index`` as trained and zeroes the id rows never flagged."""
        flag = self.user_trained if side == "user" else self.item_trained
        table = self.user_ids if side == "user" else self.item_ids
        trained = keras.ops.convert_to_numpy(flag).copy()
        trained[np.asarray(index, dtype=np.int64)] = 1.0
        trained[0] = 0.0
        flag.assign(trained)
        rows = keras.ops.convert_to_numpy(table.table()).copy()
        rows[trained == 0] = 0.0
        table.assign_table(rows)

    def set_features(self, side: str, table: pd.DataFrame | None, where: str | None = None):
        """Stores the codes of the features of ``table``'s ids that the model knows (other ids
        in the table are ignored; ids not in it keep their codes)."""
        specs = self.user_features if side == "user" else self.item_features
        if table is None or not specs:
            return
        where = where or f"{side} features"
        check_feature_table(table, where, side)
        vocabulary = self.vocabulary(side)
        index = vocabulary.lookup(vocabulary.coerce(table.index.to_numpy()))
        rows = index > 0
        if not rows.any():
            return
        missing = [s["name"] for s in specs if s["name"] not in table.columns]
        if missing:
            raise DataError(f"{where}: missing feature column(s) {missing}")
        encoder = self.user_encoder if side == "user" else self.item_encoder
        raw = {s["name"]: spec_inputs(s, table[s["name"]][rows], where) for s in specs}
        codes = encoder.codes(raw)
        for spec, weight in zip(
            specs, self.user_codes if side == "user" else self.item_codes, strict=True
        ):
            values = keras.ops.convert_to_numpy(weight).copy()
            values[index[rows]] = keras.ops.convert_to_numpy(codes[spec["name"]])
            weight.assign(values)
        self.clear_graph_functions()

    def _stored_codes(self, side: str, index) -> dict:
        specs = self.user_features if side == "user" else self.item_features
        weights = self.user_codes if side == "user" else self.item_codes
        return {s["name"]: tf.gather(w, index) for s, w in zip(specs, weights, strict=True)}

    # -- towers ----------------------------------------------------------------------------
    def _vector(self, side: str, ids, codes, training: bool = False, dropped=None, recent=None):
        """The tower output of id embeddings ``ids [n, d]`` and feature codes: ``(vectors
        [n, d]`` L2-normalised, ``bias [n]`` or ``None)``; the candidate tower's extra output
        is the item bias. ``recent [n, recent_items]``: the user side's recent item indices
        (``None``: none), pooled into the query."""
        encoder, tower = (
            (self.user_encoder, self.query_tower)
            if side == "user"
            else (self.item_encoder, self.candidate_tower)
        )
        uses_ids = self.use_user_ids if side == "user" else self.use_item_ids
        if not uses_ids:
            ids = tf.zeros_like(ids)
        elif dropped is not None:  # the pipeline's draw (user rows: see in_batch)
            ids = ids * (1.0 - tf.cast(dropped, ids.dtype))[:, None]
        elif training and self.id_dropout:
            keep = keras.random.uniform(tf.shape(ids)[:1], seed=self.dropout_seed)
            ids = ids * tf.cast(keep >= self.id_dropout, ids.dtype)[:, None]
        if training and self.feature_dropout:
            # a dropped value reads as missing (code 0): the "unknown" rows learn the answer
            # without that feature, and weak features are shrunk towards it
            codes = dict(codes)
            for name, code in codes.items():
                keep = keras.random.uniform(tf.shape(code)[:1], seed=self.dropout_seed)
                keep = tf.cast(keep >= self.feature_dropout, code.dtype)
                codes[name] = code * tf.reshape(keep, [-1] + [1] * (code.shape.rank - 1))
        parts = [ids] + ([encoder(codes)] if encoder.specs else [])
        if side == "user" and self.recent_items:
            if training and recent is not None and self.feature_dropout:
                # each recent item is dropped like a feature value: without it the query
                # memorises users' histories (planted clusters, 3 items: AUC 0.86 → 0.74)
                keep = keras.random.uniform(tf.shape(recent), seed=self.dropout_seed)
                recent = recent * tf.cast(keep >= self.feature_dropout, recent.dtype)
            parts.append(self.pooled_recent(recent, tf.shape(ids)[0], ids.dtype))
        out = tf.cast(tower(tf.concat(parts, -1)), "float32")
        vectors = tf.math.l2_normalize(out[:, : self.embedding_dim], axis=-1)
        bias = out[:, self.embedding_dim] if out.shape[-1] > self.embedding_dim else None
        return vectors, bias

    def pooled_recent(self, recent, n, dtype):
        """``[n, d]``: the mean item id embedding of each row's recent items (0 = no item
        is left out; a row with none pools to zeros, as a user known only by features)."""
        if recent is None:
            return tf.zeros([n, self.embedding_dim], dtype)
        recent = tf.cast(recent, "int32")
        rows = self.item_ids(tf.reshape(recent, [-1]))
        rows = tf.reshape(rows, [-1, self.recent_items, self.embedding_dim])
        mask = tf.cast(recent > 0, rows.dtype)[:, :, None]
        total = tf.reduce_sum(rows * mask, 1)
        return tf.cast(total / tf.maximum(tf.reduce_sum(mask, 1), 1.0), dtype)

    def user_vectors(self, user_index, training: bool = False, dropped=None, recent=None):
        ids, codes = self.user_ids(user_index), self._stored_codes("user", user_index)
        if self.recent_items and recent is None:
            recent = tf.gather(self.user_recent, user_index)
        return self._vector("user", ids, codes, training, dropped, recent)[0]

    def item_tower(self, item_index, training: bool = False):
        """``(vectors, bias)`` of item rows (bias ``None`` without ``item_bias``)."""
        return self._vector(
            "item", self.item_ids(item_index), self._stored_codes("item", item_index), training
        )

    def call(self, inputs, training=False):
        """Scores ``user · item`` of ``inputs["item"]`` (``[b]`` or ``[b, m]``) for
        ``inputs["user"]``; with ``inputs["negatives"]`` (the in-batch pipeline) the in-batch
        logits ``[b, b + m]`` instead: every row's user against the batch's items and the
        ``m`` uniform negatives, corrected and divided by the temperature."""
        users, items = inputs["user"], inputs["item"]
        if "negatives" not in inputs:
            # an unknown user scores with the mean query, as in recommend (query_vectors)
            q = self.user_vectors(users, training) if training else self.query_vectors(users)
            c, bias = self.item_tower(tf.reshape(items, [-1]), training)
            c = tf.reshape(c, [-1, *items.shape[1:], self.embedding_dim])
            if items.shape.rank == 2:
                q = q[:, None, :]
            score = tf.reduce_sum(q * c, -1)
            return score if bias is None else score + tf.reshape(bias, tf.shape(score))
        items = tf.cast(items, "int32")
        negatives = tf.cast(inputs["negatives"], "int32")
        users = tf.cast(users, "int32")
        candidates = tf.concat([items, negatives], 0)
        dropped = inputs.get("user_dropped") if training else None
        q = self.user_vectors(users, training, dropped, inputs.get("recent"))
        c, bias = self.item_tower(candidates, training)
        if training and self.l2:
            norms = tf.reduce_sum(tf.square(self.user_ids(users)), -1) + tf.reduce_sum(
                tf.square(self.item_ids(items)), -1
            )
            self.add_loss(self.l2 * tf.reduce_mean(norms))
        logits = tf.matmul(q, c, transpose_b=True)
        if bias is not None:
            logits += bias[None, :]
        logits /= self.temperature
        if self.logq_correction:
            logits = self.corrected(logits, items, negatives)
        # another row's item (or a uniform negative) equal to this row's positive: not a negative
        hit = tf.equal(items[:, None], candidates[None, :])
        own = tf.concat(
            [
                tf.eye(tf.shape(items)[0], dtype=tf.bool),
                tf.zeros_like(hit[:, tf.shape(items)[0] :]),
            ],
            1,
        )
        return tf.where(hit & ~own, tf.constant(MASKED_LOGIT, logits.dtype), logits)

    def corrected(self, logits, items, negatives):
        """``logits - log q`` per candidate column, ``q`` the candidate's chance to be among a
        batch row's candidates: its share of the training rows (it is another row's
        positive) plus ``m / (b · n)`` (one of the ``m`` uniform negatives over the ``n`` items
        with training rows; both per batch row, so ``b`` cancels in the softmax)."""
        popularity = tf.cast(self.item_popularity, "float32")
        candidates = tf.concat([items, negatives], 0)
        share = tf.gather(popularity, candidates) / tf.maximum(tf.reduce_sum(popularity), 1.0)
        m = tf.cast(tf.shape(negatives)[0], "float32")
        b = tf.cast(tf.shape(items)[0], "float32")
        trained = tf.reduce_sum(tf.cast(popularity > 0, "float32"))
        q = share + m / (b * tf.maximum(trained, 1.0))
        return self.logq(logits, tf.broadcast_to(q[None, :], tf.shape(logits)))

    # -- training --------------------------------------------------------------------------
    def training_spec(self) -> TrainingSpec:
        pipeline = functools.partial(
            in_batch,
            uniform_negatives=self.uniform_negatives,
            recency_weight=self.recency_weight,
            recency_power=self.recency_power,
            user_dropout=self.id_dropout if self.use_user_ids else 0.0,
            recent_items=self.recent_items,
        )
        return TrainingSpec(
            task=self.task,
            pipeline=pipeline,
            loss=InBatchSoftmax(),
            defaults=self.fit_defaults,
            after_fit=self.fit_unknown_query,
        )

    def fit_unknown_query(self, interactions) -> None:
        """After training: the unknown user's query is the mean query of the training rows'
        users (each user weighted by their rows)."""
        users = self.users.lookup(interactions.frame["user"].to_numpy())
        counts = np.bincount(users[users > 0], minlength=self.users.size).astype("float32")
        if counts.sum() == 0:
            return
        queries = keras.ops.convert_to_numpy(self.user_vectors(tf.range(self.users.size)))
        self.unknown_query.assign(counts @ queries / counts.sum())
        self.clear_graph_functions()

    # -- scoring pieces --------------------------------------------------------------------
    def query_vectors(self, user_index):
        vectors = self.user_vectors(user_index)
        unknown = tf.equal(user_index, 0)[:, None]
        return tf.where(unknown, tf.cast(self.unknown_query, vectors.dtype)[None, :], vectors)

    def candidate_vectors(self):
        return self.item_tower(tf.range(self.items.size))[0]

    def candidate_bias(self):
        return self.item_tower(tf.range(self.items.size))[1]

    def item_vectors(self):
        return self.candidate_vectors()

    def learned_query_norm(self):
        return None  # the towers' vectors have unit norm

    # -- raw features at request time ------------------------------------------------------
    def feature_scores(self, raw: dict):
        """``[n, items.size]`` scores for users known only by raw features (no id, no
        history): ``(1 - s) · logit + s · log share``, the tower's logits (``q · c /
        temperature``) shrunk towards the log of each item's share of the training rows
        (add-one smoothed, so an item without rows keeps a finite prior) by ``s =
        feature_shrinkage``. Up to a constant per user that is ``log`` of
        ``p_tower^(1 - s) · p_popularity^s``."""
        codes = self.user_encoder.codes(raw)
        n = tf.shape(next(iter(codes.values())))[0] if codes else tf.constant(1)
        ids = tf.zeros([n, self.embedding_dim], self.user_ids.compute_dtype)
        q = self._vector("user", ids, codes)[0]
        vectors, bias = self.item_tower(tf.range(self.items.size))
        logits = tf.matmul(q, vectors, transpose_b=True)
        if bias is not None:
            logits += bias[None, :]
        counts = tf.cast(self.item_popularity, "float32")
        log_share = tf.math.log((counts + 1.0) / (tf.reduce_sum(counts) + self.items.size))
        s = self.feature_shrinkage
        return (1.0 - s) * logits / self.temperature + s * log_share[None, :]

    def recommend_for_features_graph(self, raw: dict, k):
        scores = self.feature_scores(raw)
        scores = tf.concat([tf.fill([tf.shape(scores)[0], 1], -np.inf), scores[:, 1:]], 1)
        return top_k(scores, k, padded_ids(self.items))

    def feature_frame(self, side: str, features) -> dict:
        """Raw feature columns (a DataFrame, or a dict of equal-length lists) as the arrays
        the encoder reads; a missing column is all missing values, a column the model does
        not read is ignored (a frame sharing none of its columns is an error)."""
        specs = self.user_features if side == "user" else self.item_features
        frame = features if isinstance(features, pd.DataFrame) else pd.DataFrame(features)
        names = [s["name"] for s in specs]
        if len(frame.columns) and not set(map(str, frame.columns)) & set(names):
            raise DataError(
                f"{side} features: none of the columns {list(frame.columns)} is one the model"
                f" reads ({names})"
            )
        n = len(frame)
        return {
            s["name"]: spec_inputs(
                s, frame[s["name"]] if s["name"] in frame else pd.Series([None] * n, dtype=object)
            )
            for s in specs
        }

    def recommend_for_features(self, user_features, k: int = 10):
        """Top-k items for users never seen, from their features: ``(item_ids [n, k], scores)``.

        Args:
            user_features: a DataFrame (one row per user) or a dict of columns, with the
                model's user feature columns (``model.user_features``); a missing column or
                value counts as unknown.
            k: list length.

        Example:
            >>> ids, scores = model.recommend_for_features({"age": [25], "gender": ["F"]}, k=5)  # doctest: +SKIP
        """
        from embedzoo.zoo.retrieval import check_k, ids_out

        if not self.user_features:
            raise ConfigError("this two_tower model has no user features to recommend from")
        k = check_k(k)
        raw = self.feature_frame("user", user_features)
        ids, scores = self.recommend_for_features_graph(raw, tf.constant(min(k, 2**31 - 1)))
        return ids_out(self.items, ids), scores.numpy()

    def add_items(self, item_features: pd.DataFrame):
        """A copy of the model that also knows the items of ``item_features`` (indexed by raw
        item id), their candidate vectors computed from those features: they can be
        recommended, scored and exported at once, without retraining. Known items in the table
        get their features replaced.

        Example:
            >>> grown = model.add_items(new_items)                  # doctest: +SKIP
        """
        from embedzoo.zoo.finetune import grow_to

        if not self.item_features:
            raise ConfigError("this two_tower model has no item features to add items from")
        check_feature_table(item_features, "item features", "item")
        ids = self.items.coerce(item_features.index.to_numpy())
        grown = grow_to(self, self.users, self.items.extend(ids))
        grown.set_features("item", item_features)
        grown.mark_trained("item")  # the new rows: features only
        return grown

    def serving_endpoints(self) -> dict:
        endpoints = super().serving_endpoints()
        if not self.user_features:
            return endpoints
        specs = {
            s["name"]: tf.TensorSpec([None], FeatureEncoder.raw_dtype(s), name=s["name"])
            for s in self.user_features
        }

        def recommend_for_features(features, k):
            ids, scores = self.recommend_for_features_graph(features, k)
            return {"item_ids": ids, "scores": scores}

        k_spec = tf.TensorSpec([], tf.int32, name="k")
        return endpoints | {"recommend_for_features": (recommend_for_features, [specs, k_spec])}

    def example_inputs(self, input_name: str, batch: int = 4):
        for spec in self.user_features:
            if spec["name"] == input_name:
                kind = spec["kind"]
                if kind in ("bucketized", "numeric"):
                    return np.full(batch, np.nan, np.float32)
                return np.array([""] * batch, dtype=object)
        return super().example_inputs(input_name, batch)
