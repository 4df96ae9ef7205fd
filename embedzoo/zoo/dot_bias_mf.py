"""``dot_bias_mf``: dot-product matrix factorisation with biases and a sigmoid y-range.

score(u, i) = lo_u + (hi_u - lo_u) · sigmoid(p_u · q_i + b_u + b_i + b): fastai's
EmbeddingDotBias with a global bias and, optionally, a learned per-user shift of the y-range
(lo_u = lo + Δlo_u, hi_u = hi + Δhi_u; users rate on different scales). Regularisation is an
L2 penalty on the rows a batch uses (O(batch)), each row weighted by mean count / its count so
that rare and frequent ids are regularised alike. Unknown users (or items) use row 0, fitted
after training as the count-weighted mean user (item) with its bias set so the unknown answers
average the mean training rating (``ZooModel.fit_unknown_rows``).

With ``prior="spectral"`` (the default) the factors start at a spectral embedding of the
training data's who-rated-what matrix (``embedzoo.zoo.spectral``) and their L2 penalty is
centred, instead of on zero, on a linear map of that embedding, refitted by least squares to
the factors before every epoch (a regression prior, as in Agarwal & Chen's RLFM): users who
rated the same things start, and are pulled, together. Only training changes; the score is the
same formula. On MovieLens-100k it lowers validation RMSE (``docs/benchmarks.md``).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.registry import register
from embedzoo.zoo.spectral import spectral_embedding

PRIORS = (None, "spectral")


def check_y_range(y_range):
    if y_range is None:
        return None
    if len(y_range) != 2 or not float(y_range[0]) < float(y_range[1]):
        raise ConfigError(f"y_range must be (low, high) with low < high, got {y_range!r}")
    return (float(y_range[0]), float(y_range[1]))


def squash(logits, y_range, shift=None):
    """``low + (high - low) · sigmoid(logits)``; ``shift [batch, 2]`` moves each row's ends
    (for ``[batch, items]`` logits, one shift per batch row)."""
    if y_range is None:
        return logits
    low, high = y_range
    if shift is not None:
        if logits.shape.rank == 2:
            shift = shift[:, None, :]
        low, high = low + shift[..., 0], high + shift[..., 1]
    return low + (high - low) * tf.sigmoid(logits)


@register("dot_bias_mf")
class DotBiasMF(ZooModel):
    """Matrix factorisation with user/item biases, squashed into ``y_range``.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        n_factors: width of the user and item factors.
        y_range: ``(low, high)`` of the sigmoid output, or ``None`` for the raw dot product.
        l2: L2 coefficient of the factor rows: the batch mean of each used row's squared norm
            (its distance to the prior mean) times its frequency weight
            (``ZooModel.row_penalty``), so in expectation every row of the table is penalised
            equally. About 0.15 suits ``prior=None`` on MovieLens-100k.
        bias_l2: the same for the bias rows.
        init_std: standard deviation of the initial factors.
        user_y_range: learn a per-user shift of the y-range's ends.
        y_range_l2: L2 coefficient of those shifts.
        prior: ``"spectral"``: on the first ``training.fit`` the factors start at a spectral
            embedding of the training pairs (scaled to ``init_std``); their penalty is centred
            on ``[1, embedding] @ β``, β the least-squares fit to the factors of the rows in the
            training data, refitted before every epoch (``refit_prior``). The embedding is kept
            (not trained), so fine-tuning keeps the same prior; new rows' embedding is zero.
            ``None``: random start, penalty centred on zero.
        prior_degree_power: γ of the embedding's degree normalisation ``D_u^-γ X D_i^-γ``.

    Example:
        >>> from embedzoo import zoo, training
        >>> model = zoo.build("dot_bias_mf", train)
        >>> training.fit(model, train, validation=test)                # doctest: +SKIP
        >>> model.score([196], [242])                                  # doctest: +SKIP
    """

    # Chosen on MovieLens-100k (docs/benchmarks.md): 12 epochs of warm-up + cosine; more epochs
    # or a higher rate over-fit, bigger batches under-fit at this rate.
    fit_defaults = {
        "epochs": 12,
        "batch_size": 1024,
        "optimizer": "adam",
        "learning_rate": 5e-3,
        "schedule": "warmup_cosine",
        # XLA with the optimizers' dense masked update when every table is small (faster on
        # ML-100k, docs/benchmarks.md); the sparse O(batch) path without XLA otherwise
        # (training.fit).
        "jit_compile": "auto",
    }

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        n_factors: int = 32,
        y_range: tuple[float, float] | None = (0.0, 5.5),
        l2: float = 0.25,
        bias_l2: float = 0.2,
        init_std: float = 0.01,
        user_y_range: bool = True,
        y_range_l2: float = 0.01,
        prior: str | None = "spectral",
        prior_degree_power: float = 0.4,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        if int(n_factors) < 1:
            raise ConfigError(f"n_factors must be >= 1, got {n_factors}")
        self.n_factors = int(n_factors)
        self.y_range = check_y_range(y_range)
        self.l2 = float(l2)
        self.bias_l2 = float(bias_l2)
        self.init_std = float(init_std)
        self.user_y_range = bool(user_y_range) and self.y_range is not None
        self.y_range_l2 = float(y_range_l2)
        init = keras.initializers.RandomNormal(stddev=self.init_std)
        self.user_factors = self.table("user", "user_factors", self.n_factors, init)
        self.item_factors = self.table("item", "item_factors", self.n_factors, init)
        self.user_bias = self.table("user", "user_bias", 1, "zeros")
        self.item_bias = self.table("item", "item_bias", 1, "zeros")
        if self.user_y_range:
            self.user_range = self.table("user", "user_range", 2, "zeros")
        if prior not in PRIORS:
            raise ConfigError(f"prior must be one of {PRIORS}, got {prior!r}")
        self.prior = prior
        self.prior_degree_power = float(prior_degree_power)
        if self.prior:
            k = self.n_factors
            # The embedding, and the prior mean its least-squares map gives (per row).
            self.user_prior = self.table("user", "user_prior", k, "zeros", trainable=False)
            self.item_prior = self.table("item", "item_prior", k, "zeros", trainable=False)
            self.user_prior_mean = self.table(
                "user", "user_prior_mean", k, "zeros", trainable=False
            )
            self.item_prior_mean = self.table(
                "item", "item_prior_mean", k, "zeros", trainable=False
            )
        self._prior_solvers = None
        self.global_bias = self.add_weight(shape=(), initializer="zeros", name="global_bias")
        if self.prior:
            # 1 once the embedding is computed: later fits (fine-tuning) keep factors and prior.
            self.prior_ready = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="prior_ready"
            )
        self.built = True

    def model_config(self) -> dict:
        return {
            "n_factors": self.n_factors,
            "y_range": list(self.y_range) if self.y_range else None,
            "l2": self.l2,
            "bias_l2": self.bias_l2,
            "init_std": self.init_std,
            "user_y_range": self.user_y_range,
            "y_range_l2": self.y_range_l2,
            "prior": self.prior,
            "prior_degree_power": self.prior_degree_power,
        }

    def call(self, inputs, training=False):
        u, i = inputs["user"], inputs["item"]
        p, q = self.user_factors(u), self.item_factors(i)
        bu, bi = self.user_bias(u)[:, 0], self.item_bias(i)[:, 0]
        shift = self.user_range(u) if self.user_y_range else None
        if training:
            dp, dq = (
                (p - self.user_prior_mean(u), q - self.item_prior_mean(i)) if self.prior else (p, q)
            )
            penalty = self.l2 * (
                self.row_penalty(u, tf.reduce_sum(dp * dp, -1), "user")
                + self.row_penalty(i, tf.reduce_sum(dq * dq, -1), "item")
            )
            penalty += self.bias_l2 * (
                self.row_penalty(u, bu * bu, "user") + self.row_penalty(i, bi * bi, "item")
            )
            if shift is not None:
                penalty += self.y_range_l2 * self.row_penalty(
                    u, tf.reduce_sum(shift * shift, -1), "user"
                )
            self.add_loss(penalty)
        logits = tf.reduce_sum(p * q, -1) + bu + bi + self.global_bias
        return squash(logits, self.y_range, shift)

    @classmethod
    def from_config(cls, config):
        # Files written before the spectral prior existed trained without one.
        return super().from_config({"prior": None, **config})

    def remember_pairs(self, user_index, item_index) -> None:
        """First fit with ``prior="spectral"``: compute the embedding, start the factors there."""
        self._prior_solvers = None  # the rows in the training data may have changed
        if not self.prior or float(keras.ops.convert_to_numpy(self.prior_ready)) > 0:
            return
        P, Q = spectral_embedding(
            user_index,
            item_index,
            self.users.size,
            self.items.size,
            self.n_factors,
            degree_power=self.prior_degree_power,
        )
        for values, prior, factors in (
            (P, self.user_prior, self.user_factors),
            (Q, self.item_prior, self.item_factors),
        ):
            values[0] = 0.0  # the unknown row
            std = float(values[1:].std()) if len(values) > 1 else 0.0
            if std > 0:
                values *= self.init_std / std
            prior.assign_table(values)
            # Columns the embedding cannot fill (rank < n_factors) keep their random start.
            start = keras.ops.convert_to_numpy(factors.table())
            filled = np.any(values != 0, axis=0)
            start[:, filled] = values[:, filled]
            factors.assign_table(start)
        self.prior_ready.assign(1.0)
        self.refit_prior()

    def refit_prior(self) -> None:
        """Prior mean of each factor table := ``[1, embedding] @ β``, β the least-squares fit
        to the current factors of the rows the training data uses (penalty weight > 0)."""
        if not self.prior:
            return
        sides = (
            (self.user_prior, self.user_factors, self.user_prior_mean, self.user_penalty_weight),
            (self.item_prior, self.item_factors, self.item_prior_mean, self.item_penalty_weight),
        )
        if self._prior_solvers is None:
            # [1, embedding] and the pseudo-inverse of its training rows: fixed during a fit.
            self._prior_solvers = []
            for prior, _, _, weight in sides:
                emb = keras.ops.convert_to_numpy(prior.table())
                x = np.concatenate([np.ones((len(emb), 1), np.float32), emb], axis=1)
                rows = np.flatnonzero(keras.ops.convert_to_numpy(weight) > 0)
                self._prior_solvers.append(
                    (x, rows, np.linalg.pinv(x[rows]) if len(rows) else None)
                )
        for (_, factors, mean, _), (x, rows, pinv) in zip(sides, self._prior_solvers, strict=True):
            if pinv is None:
                continue
            beta = pinv @ keras.ops.convert_to_numpy(factors.table())[rows]
            values = (x @ beta).astype(np.float32)
            values[0] = 0.0
            mean.assign_table(values)

    def training_spec(self) -> TrainingSpec:
        return self.rating_spec(callbacks=(PriorRefit(),) if self.prior else ())

    # Retrieval pieces: logits = p_u · q_i + (b_u + b) + b_i, squashed with u's range.
    def query_vectors(self, user_index):
        return self.user_factors(user_index)

    def query_bias(self, user_index):
        return self.user_bias(user_index)[:, 0] + self.global_bias

    def candidate_vectors(self):
        return self.item_factors.table()

    def candidate_bias(self):
        return self.item_bias.table()[:, 0]

    def scores_from_logits(self, logits, user_index):
        shift = self.user_range(user_index) if self.user_y_range else None
        return squash(logits, self.y_range, shift)

    def item_vectors(self):
        return self.item_factors.table()


class PriorRefit(keras.callbacks.Callback):
    """Refits ``dot_bias_mf``'s spectral prior mean before every epoch (``refit_prior``)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.refit_prior()
