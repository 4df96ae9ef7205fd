"""Neural collaborative filtering (He et al., 2017): ``gmf``, ``mlp`` and ``neumf``.

All three score a (user, item) pair with a logit and train pointwise: each positive row plus
``num_negatives`` items sampled in the ``tf.data`` graph (redrawn every epoch, the user's own
positives rejected; see :mod:`embedzoo.training.samplers`), per-example log loss.

- ``gmf``: ``h · (p_u ⊙ q_i) + b``, a weighted dot product.
- ``mlp``: ``[p_u, q_i]`` through a ReLU tower (``mlp_layers[0]`` is the concatenated width, so
  each embedding is ``mlp_layers[0] / 2`` wide, as in the paper), then a linear head.
- ``neumf``: both, with their own embeddings, fused by one linear head on
  ``[p_u ⊙ q_i, tower(...)]``; :meth:`NeuMF.from_pretrained` starts it from a trained GMF and
  MLP (the paper's pre-training: heads mixed with weight ``alpha``).

Scores are logits (``sigmoid(score)`` is the predicted probability of an interaction).
Embedding rows are row-wise tables (O(batch) updates); the towers are dense. Unknown ids use
the zero row, so their score is the network's answer for an all-zero embedding.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from embedzoo.core.layers import scores_in_item_chunks
from embedzoo.errors import ConfigError
from embedzoo.training.losses import LogisticLoss
from embedzoo.training.negative_pipelines import pointwise_negatives
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.bpr import check_recency, check_sampling
from embedzoo.zoo.registry import register


class _NCF(ZooModel):
    """What the three share: sampling config, the row L2 penalty, the loss."""

    task = "ranking"
    # Tuned on MovieLens-100k through evaluation.ranking_protocol (docs/ranking.md); the
    # networks overfit after about 8 epochs of 4 negatives per positive.
    fit_defaults = {"epochs": 8, "batch_size": 1024, "optimizer": "adam", "learning_rate": 0.003}

    def _common(
        self, num_negatives, l2, negative_sampling, sampling_alpha, recency_weight, recency_power
    ):
        if int(num_negatives) < 1:
            raise ConfigError(f"num_negatives must be >= 1, got {num_negatives}")
        if float(l2) < 0:
            raise ConfigError(f"l2 must be >= 0, got {l2}")
        self.num_negatives = int(num_negatives)
        self.l2 = float(l2)
        self.negative_sampling, self.sampling_alpha = check_sampling(
            negative_sampling, sampling_alpha
        )
        self.recency_weight, self.recency_power = check_recency(recency_weight, recency_power)

    def _common_config(self) -> dict:
        return {
            "num_negatives": self.num_negatives,
            "l2": self.l2,
            "negative_sampling": self.negative_sampling,
            "sampling_alpha": self.sampling_alpha,
            "recency_weight": self.recency_weight,
            "recency_power": self.recency_power,
        }

    def _embeddings(self, prefix: str, width: int):
        init = keras.initializers.RandomNormal(stddev=0.01)
        users = self.table("user", f"{prefix}_user_embedding", width, init)
        items = self.table("item", f"{prefix}_item_embedding", width, init)
        return users, items

    def _tower(self, widths):
        """ReLU layers mapping ``widths[0]`` → ... → ``widths[-1]``."""
        dense = []
        for i, units in enumerate(widths[1:]):
            layer = keras.layers.Dense(units, activation="relu", name=f"mlp_{i}")
            layer.build((None, widths[i]))
            dense.append(layer)
        return dense

    def _penalise(self, *rows):
        if self.l2:
            self.add_loss(
                self.l2 * tf.add_n([tf.reduce_mean(tf.reduce_sum(r * r, -1)) for r in rows])
            )

    def training_spec(self) -> TrainingSpec:
        pipeline = functools.partial(
            pointwise_negatives,
            num_negatives=self.num_negatives,
            negative_sampling=self.negative_sampling,
            sampling_alpha=self.sampling_alpha,
            recency_weight=self.recency_weight,
            recency_power=self.recency_power,
        )
        return TrainingSpec(
            task=self.task,
            pipeline=pipeline,
            loss=LogisticLoss(),
            defaults=self.fit_defaults,
            examples_per_row=1 + self.num_negatives,
        )

    def _tower_all_items(self, dense, user_vec, item_table, head):
        """``head(tower(...))`` for every (user in batch, item) pair, ``[batch, items]``: the
        first layer's item half once, the rest on item chunks (``scores_in_item_chunks``)."""
        first = dense[0] if dense else None
        if first is None:

            def block(rows):
                pairs = tf.concat(
                    [tf.repeat(user_vec[:, None, :], tf.shape(rows)[0], axis=1),
                     tf.repeat(rows[None], tf.shape(user_vec)[0], axis=0)], axis=-1)  # fmt: skip
                return tf.cast(head(pairs), tf.float32)

            return scores_in_item_chunks(
                block, item_table, user_vec.shape[-1] + item_table.shape[-1]
            )
        width = user_vec.shape[-1]
        user_part = tf.matmul(user_vec, first.kernel[:width])
        item_part = tf.matmul(item_table, first.kernel[width:]) + first.bias

        def block(rows):
            x = tf.nn.relu(user_part[:, None, :] + rows[None, :, :])  # [batch, chunk, units]
            for layer in dense[1:]:
                x = layer(x)
            return tf.cast(head(tf.cast(x, tf.float32)), tf.float32)

        return scores_in_item_chunks(block, item_part, max(int(layer.units) for layer in dense))


def _check_layers(mlp_layers) -> tuple[int, ...]:
    widths = tuple(int(w) for w in mlp_layers)
    if len(widths) < 1 or min(widths) < 1 or widths[0] % 2:
        raise ConfigError(
            f"mlp_layers must be positive widths with an even first one, got {mlp_layers!r}"
        )
    return widths


_ARGS_DOC = """
        num_negatives: sampled negatives per positive row (the paper's 4).
        l2: penalty on the squared norms of the embedding rows a batch uses.
        negative_sampling: ``"uniform"`` or ``"popularity"`` (``count ** sampling_alpha``).
        sampling_alpha: popularity exponent of the sampler.
        recency_weight, recency_power: a positive at relative position ``p`` of its user's
            history weighs ``1 + recency_weight · p ** recency_power`` (mean 1); 0 disables."""


@register("gmf")
class GMF(_NCF):
    __doc__ = f"""Generalised matrix factorisation: ``h · (p_u ⊙ q_i) + b``.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        n_factors: embedding width.{_ARGS_DOC}

    Example:
        >>> from embedzoo import training, zoo
        >>> gmf = zoo.build("gmf", train, n_factors=32)
        >>> training.fit(gmf, train)                                   # doctest: +SKIP
    """

    def __init__(self, user_vocabulary, item_vocabulary, n_factors: int = 32, num_negatives: int = 4,
                 l2: float = 3e-3, negative_sampling: str = "popularity", sampling_alpha: float = 0.7,
                 recency_weight: float = 10.0, recency_power: float = 8.0, **kwargs):  # fmt: skip
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(n_factors) < 1:
            raise ConfigError(f"n_factors must be >= 1, got {n_factors}")
        self.n_factors = int(n_factors)
        self._common(
            num_negatives, l2, negative_sampling, sampling_alpha, recency_weight, recency_power
        )
        self.gmf_user, self.gmf_item = self._embeddings("gmf", self.n_factors)
        self.head = keras.layers.Dense(1, name="head")
        self.head.build((None, self.n_factors))
        self.built = True

    def model_config(self) -> dict:
        return {"n_factors": self.n_factors, **self._common_config()}

    def call(self, inputs, training=False):
        p, q = self.gmf_user(inputs["user"]), self.gmf_item(inputs["item"])
        if training:
            self._penalise(p, q)
        return tf.cast(self.head(p * q)[:, 0], tf.float32)

    def all_item_scores(self, user_index):
        p = self.gmf_user(user_index) * self.head.kernel[:, 0][None, :]
        return tf.matmul(p, self.gmf_item.table(), transpose_b=True) + self.head.bias

    def item_vectors(self):
        return self.gmf_item.table()

    def candidate_vectors(self):  # logits are (h ⊙ p_u) · q_i + b: fold-ins solve for h ⊙ p_u
        return self.gmf_item.table()

    def query_vectors(self, user_index):
        return self.gmf_user(user_index) * self.head.kernel[:, 0][None, :]


@register("mlp")
class MLP(_NCF):
    __doc__ = f"""NCF's MLP: ``[p_u, q_i]`` → ReLU tower → linear head.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        mlp_layers: tower widths; ``mlp_layers[0]`` is the concatenated embedding width (each
            embedding ``mlp_layers[0] // 2``), the last is the width the head reads.{_ARGS_DOC}

    Example:
        >>> from embedzoo import zoo
        >>> mlp = zoo.build("mlp", train, mlp_layers=[64, 32, 16, 8])
    """

    def __init__(self, user_vocabulary, item_vocabulary, mlp_layers: tuple[int, ...] = (64, 32, 16, 8), num_negatives: int = 4,
                 l2: float = 3e-3, negative_sampling: str = "popularity", sampling_alpha: float = 0.7,
                 recency_weight: float = 10.0, recency_power: float = 8.0, **kwargs):  # fmt: skip
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        self.mlp_layers = _check_layers(mlp_layers)
        self._common(
            num_negatives, l2, negative_sampling, sampling_alpha, recency_weight, recency_power
        )
        self.mlp_user, self.mlp_item = self._embeddings("mlp", self.mlp_layers[0] // 2)
        self.tower = self._tower(self.mlp_layers)
        self.head = keras.layers.Dense(1, name="head")
        self.head.build((None, self.mlp_layers[-1]))
        self.built = True

    def model_config(self) -> dict:
        return {"mlp_layers": list(self.mlp_layers), **self._common_config()}

    def _mlp(self, u, v):
        x = tf.concat([u, v], axis=-1)
        for layer in self.tower:
            x = layer(x)
        return x

    def call(self, inputs, training=False):
        u, v = self.mlp_user(inputs["user"]), self.mlp_item(inputs["item"])
        if training:
            self._penalise(u, v)
        return tf.cast(self.head(self._mlp(u, v))[:, 0], tf.float32)

    def all_item_scores(self, user_index):
        return self._tower_all_items(
            self.tower,
            self.mlp_user(user_index),
            self.mlp_item.table(),
            lambda x: self.head(x)[..., 0],
        )

    def item_vectors(self):
        return self.mlp_item.table()


@register("neumf")
class NeuMF(_NCF):
    __doc__ = f"""NeuMF: GMF and MLP branches with their own embeddings, one linear head.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        n_factors: GMF embedding width.
        mlp_layers: MLP tower widths (see ``mlp``).{_ARGS_DOC}

    Example:
        >>> from embedzoo import training, zoo
        >>> from embedzoo.zoo.ncf import NeuMF
        >>> neumf = NeuMF.from_pretrained(gmf, mlp)  # gmf, mlp: a trained GMF and MLP
        >>> training.fit(neumf, train, learning_rate=1e-3)             # doctest: +SKIP
    """

    def __init__(self, user_vocabulary, item_vocabulary, n_factors: int = 32, mlp_layers: tuple[int, ...] = (64, 32, 16, 8),
                 num_negatives: int = 4, l2: float = 3e-3, negative_sampling: str = "popularity",
                 sampling_alpha: float = 0.7, recency_weight: float = 10.0, recency_power: float = 8.0,
                 **kwargs):  # fmt: skip
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(n_factors) < 1:
            raise ConfigError(f"n_factors must be >= 1, got {n_factors}")
        self.n_factors = int(n_factors)
        self.mlp_layers = _check_layers(mlp_layers)
        self._common(
            num_negatives, l2, negative_sampling, sampling_alpha, recency_weight, recency_power
        )
        self.gmf_user, self.gmf_item = self._embeddings("gmf", self.n_factors)
        self.mlp_user, self.mlp_item = self._embeddings("mlp", self.mlp_layers[0] // 2)
        self.tower = self._tower(self.mlp_layers)
        self.head = keras.layers.Dense(1, name="head")
        self.head.build((None, self.n_factors + self.mlp_layers[-1]))
        self.built = True

    def model_config(self) -> dict:
        return {
            "n_factors": self.n_factors,
            "mlp_layers": list(self.mlp_layers),
            **self._common_config(),
        }

    def call(self, inputs, training=False):
        p, q = self.gmf_user(inputs["user"]), self.gmf_item(inputs["item"])
        u, v = self.mlp_user(inputs["user"]), self.mlp_item(inputs["item"])
        if training:
            self._penalise(p, q, u, v)
        x = tf.concat([u, v], axis=-1)
        for layer in self.tower:
            x = layer(x)
        x = tf.cast(x, p.dtype)  # the tower may run in float16 under a mixed policy
        return tf.cast(self.head(tf.concat([p * q, x], axis=-1))[:, 0], tf.float32)

    def all_item_scores(self, user_index):
        kernel = self.head.kernel[:, 0]
        p = self.gmf_user(user_index) * kernel[: self.n_factors][None, :]
        gmf = tf.matmul(p, self.gmf_item.table(), transpose_b=True)
        mlp = self._tower_all_items(
            self.tower,
            self.mlp_user(user_index),
            self.mlp_item.table(),
            lambda x: tf.tensordot(x, kernel[self.n_factors :], axes=[[2], [0]]),
        )
        return gmf + mlp + self.head.bias

    def item_vectors(self):
        return tf.concat([self.gmf_item.table(), self.mlp_item.table()], axis=1)

    @classmethod
    def from_pretrained(cls, gmf: GMF, mlp: MLP, alpha: float = 0.5, **config) -> NeuMF:
        """A NeuMF initialised from a trained GMF and MLP (He et al., 2017, section 3.4.1).

        Embeddings and the tower are copied; the head is ``[alpha · h_gmf, (1 - alpha) · h_mlp]``
        with bias ``alpha · b_gmf + (1 - alpha) · b_mlp``, so before further training the NeuMF
        logit is that mixture of the two logits. The sampling settings come from ``gmf``
        unless ``config`` overrides them; seen items and popularity are copied too.

        Args:
            gmf, mlp: trained models with the same vocabularies.
            alpha: weight of the GMF branch in the head.
            **config: other NeuMF constructor arguments.

        Raises:
            ConfigError: different vocabularies, or a config that contradicts the two models.
        """
        if not isinstance(gmf, GMF) or not isinstance(mlp, MLP):
            raise ConfigError("from_pretrained takes a GMF and an MLP model")
        if gmf.users != mlp.users or gmf.items != mlp.items:
            raise ConfigError("GMF and MLP were built on different vocabularies")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ConfigError(f"alpha must lie in [0, 1], got {alpha}")
        fixed = {"n_factors": gmf.n_factors, "mlp_layers": list(mlp.mlp_layers)}
        clash = {k: v for k, v in config.items() if k in fixed and v != fixed[k]}
        if clash:
            raise ConfigError(f"{clash} contradict the pretrained models ({fixed})")
        settings = {**gmf._common_config(), **fixed, **config}
        model = cls(gmf.user_vocabulary, gmf.item_vocabulary, **settings)
        for mine, theirs in ((model.gmf_user, gmf.gmf_user), (model.gmf_item, gmf.gmf_item),
                             (model.mlp_user, mlp.mlp_user), (model.mlp_item, mlp.mlp_item)):  # fmt: skip
            mine.assign_table(theirs.table())
        for mine, theirs in zip(model.tower, mlp.tower, strict=True):
            mine.set_weights(theirs.get_weights())
        a = float(alpha)
        kernel = np.concatenate([a * gmf.head.kernel.numpy(), (1 - a) * mlp.head.kernel.numpy()])
        model.head.set_weights(
            [kernel, a * gmf.head.bias.numpy() + (1 - a) * mlp.head.bias.numpy()]
        )
        model.seen_items.load_own_variables(
            {"indptr": gmf.seen_items.indptr, "indices": gmf.seen_items.indices}
        )
        model.item_popularity.assign(gmf.item_popularity)
        return model
