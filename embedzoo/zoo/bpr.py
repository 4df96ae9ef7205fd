"""``bpr``: Bayesian Personalised Ranking (Rendle et al., 2009) on (user, positive, negative).

score(u, i) = p_u · q_i + b_i, the bias in its own table. (Carrying it as an extra factor
column with the user side fixed at 1 was slower per step, see docs/benchmarks.md: one wider,
sliced table costs more than two narrow ones.) Training maximises ``σ(score(u, pos) -
score(u, neg))`` over triplets whose negative is sampled in the ``tf.data`` graph each epoch (see
:mod:`embedzoo.training.samplers`): on a triplet the model returns ``s_pos - s_neg`` and the
loss is the per-example logistic loss against label 1
(:class:`~embedzoo.training.losses.LogisticLoss`), exactly ``-log σ(s_pos - s_neg)``.
(keras-rs's ``PairwiseLogisticLoss`` on ``[s_pos, s_neg]`` computes the same terms but averages
them over the two list slots, halving the loss against the L2 penalty.)
Weight decay is an L2 penalty on the rows the batch uses (user, positive and negative factor
rows; bias rows with ``bias_l2``), so a step costs O(batch) with the row-wise optimizers.

Unknown users (row 0, kept zero) score ``b_i``: items ranked by learned bias, a
popularity-like fallback. Unknown items score 0.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.training.losses import BPRLoss
from embedzoo.training.negative_pipelines import triplets
from embedzoo.training.samplers import DISTRIBUTIONS
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.registry import register


def check_sampling(negative_sampling: str, sampling_alpha: float) -> tuple[str, float]:
    if negative_sampling not in DISTRIBUTIONS:
        raise ConfigError(
            f"negative_sampling must be one of {DISTRIBUTIONS}, got {negative_sampling!r}"
        )
    if float(sampling_alpha) < 0:
        raise ConfigError(f"sampling_alpha must be >= 0, got {sampling_alpha}")
    return negative_sampling, float(sampling_alpha)


def check_recency(recency_weight: float, recency_power: float) -> tuple[float, float]:
    if float(recency_weight) < 0 or float(recency_power) <= 0:
        raise ConfigError(
            f"recency_weight must be >= 0 and recency_power > 0, got {recency_weight} and {recency_power}"
        )
    return float(recency_weight), float(recency_power)


@register("bpr")
class BPR(ZooModel):
    """Matrix factorisation with an item bias, trained with the BPR pairwise loss.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        n_factors: width of the user and item factors.
        l2: weight decay: ``l2 · (|p_u|² + |q_pos|² + |q_neg|²)`` per triplet, averaged over the
            batch.
        bias_l2: the same for the positive and negative item-bias rows.
        init_std: standard deviation of the initial factors.
        negative_sampling: ``"uniform"`` or ``"popularity"`` (``count ** sampling_alpha``).
        sampling_alpha: popularity exponent of the sampler.
        recency_weight, recency_power: a training row at relative position ``p`` of its user's
            history (0 oldest, 1 latest) weighs ``1 + recency_weight · p ** recency_power``
            (normalised to mean 1); 0 is plain BPR. Needs timestamps (ignored without).

    The defaults (popularity-sampled negatives, recency weighting, Adam at 0.01 with warm-up
    and cosine decay over 30 epochs) are tuned on MovieLens-100k; ``negative_sampling="uniform", recency_weight=0`` is
    the textbook BPR. ``fit(..., optimizer="adagrad" | "sgd")`` works too: the loss is a batch
    mean, so their learning rates are the classic per-example ones times the batch size
    (with ``init_std`` around 0.1).

    Example:
        >>> from embedzoo import datasets, training, zoo
        >>> train, test = training.evaluation.ranking_protocol(datasets.load_ml100k())  # doctest: +SKIP
        >>> model = zoo.build("bpr", train, seed=0)
        >>> training.fit(model, train)                                 # doctest: +SKIP
        >>> model.recommend([196], k=10)                               # doctest: +SKIP
    """

    task = "ranking"
    # Tuned on MovieLens-100k through evaluation.ranking_protocol (docs/ranking.md).
    fit_defaults = {
        "epochs": 30, "batch_size": 1024, "optimizer": "adam", "learning_rate": 0.01,
        "schedule": "warmup_cosine",
        # XLA with the dense masked row update when every table is small: the same updates,
        # epochs about 2x faster on ML-100k (docs/benchmarks.md); sparse and no XLA otherwise.
        "jit_compile": "auto",
    }  # fmt: skip

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        n_factors: int = 32,
        l2: float = 0.02,
        bias_l2: float = 0.1,
        init_std: float = 0.01,
        negative_sampling: str = "popularity",
        sampling_alpha: float = 0.65,
        recency_weight: float = 10.0,
        recency_power: float = 8.0,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(n_factors) < 1:
            raise ConfigError(f"n_factors must be >= 1, got {n_factors}")
        if float(l2) < 0 or float(bias_l2) < 0:
            raise ConfigError(f"l2 and bias_l2 must be >= 0, got {l2} and {bias_l2}")
        self.n_factors = int(n_factors)
        self.l2 = float(l2)
        self.bias_l2 = float(bias_l2)
        self.init_std = float(init_std)
        self.negative_sampling, self.sampling_alpha = check_sampling(
            negative_sampling, sampling_alpha
        )
        self.recency_weight, self.recency_power = check_recency(recency_weight, recency_power)
        init = keras.initializers.RandomNormal(stddev=self.init_std)
        self.user_factors = self.table("user", "user_factors", self.n_factors, init)
        self.item_factors = self.table("item", "item_factors", self.n_factors, init)
        self.item_bias = self.table("item", "item_bias", 1, "zeros")
        self.built = True

    def model_config(self) -> dict:
        return {
            "n_factors": self.n_factors,
            "l2": self.l2,
            "bias_l2": self.bias_l2,
            "init_std": self.init_std,
            "negative_sampling": self.negative_sampling,
            "sampling_alpha": self.sampling_alpha,
            "recency_weight": self.recency_weight,
            "recency_power": self.recency_power,
        }

    def training_spec(self) -> TrainingSpec:
        pipeline = functools.partial(
            triplets,
            negative_sampling=self.negative_sampling,
            sampling_alpha=self.sampling_alpha,
            recency_weight=self.recency_weight,
            recency_power=self.recency_power,
        )
        return TrainingSpec(
            task=self.task, pipeline=pipeline, loss=BPRLoss(), defaults=self.fit_defaults
        )

    def call(self, inputs, training=False):
        """Scores of ``inputs["item"]`` for ``inputs["user"]``: ``[b]`` items → ``[b]`` scores,
        ``[b, m]`` items (training: ``[positive, negative]``) → ``[b, m]``."""
        p = self.user_factors(inputs["user"])
        q = self.item_factors(inputs["item"])
        b = self.item_bias(inputs["item"])[..., 0]
        if training and (self.l2 or self.bias_l2):
            # per triplet: l2 · (|p_u|² + |q_pos|² + |q_neg|²) + bias_l2 · (b_pos² + b_neg²)
            norms = tf.reduce_sum(p * p, -1) + tf.reduce_sum(
                q * q, axis=list(range(1, q.shape.rank))
            )
            bias = tf.reduce_sum(tf.reshape(b * b, [tf.shape(b)[0], -1]), axis=1)
            self.add_loss(self.l2 * tf.reduce_mean(norms) + self.bias_l2 * tf.reduce_mean(bias))
        if q.shape.rank == 3:
            p = p[:, None, :]
        return tf.reduce_sum(p * q, -1) + b

    def query_vectors(self, user_index):
        return self.user_factors(user_index)

    def candidate_vectors(self):
        return self.item_factors.table()

    def candidate_bias(self):
        return self.item_bias.table()[:, 0]

    def item_vectors(self):
        return self.item_factors.table()
