"""``embedding_nn``: user and item embeddings concatenated → MLP → sigmoid y-range.

fastai's ``use_nn`` collaborative-filtering model, optionally with user and item biases added
to the MLP's output logit (on by default: it helped on MovieLens-100k). The embeddings are
row-wise trained tables (O(batch) updates); the MLP is dense. Unknown ids use row 0, fitted
after training as the count-weighted mean embedding with its bias set so the unknown answers
average the mean training rating (``ZooModel.fit_unknown_rows``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from embedzoo.core.layers import scores_in_item_chunks
from embedzoo.errors import ConfigError
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.dot_bias_mf import check_y_range, squash
from embedzoo.zoo.registry import register


def default_embedding_size(n: int) -> int:
    """fastai's rule of thumb: min(600, round(1.6 · n^0.56))."""
    return int(min(600, round(1.6 * n**0.56)))


@register("embedding_nn")
class EmbeddingNN(ZooModel):
    """Embeddings → MLP rating model.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        user_embedding_size, item_embedding_size: widths; ``None`` uses fastai's rule.
        hidden_layers: widths of the MLP's hidden layers.
        dropout: dropout after each hidden layer (a float for all, or one per layer).
        embedding_dropout: dropout on the concatenated embeddings.
        y_range: ``(low, high)`` of the sigmoid output, or ``None``.
        l2: L2 coefficient of the embedding rows (frequency-weighted, as in ``dot_bias_mf``).
        biases: add learned user and item biases to the output logit.
        bias_l2: L2 coefficient of the biases.
        user_y_range: learn a per-user shift of the y-range's ends (as in ``dot_bias_mf``).
        y_range_l2: L2 coefficient of those shifts.

    Example:
        >>> from embedzoo import zoo
        >>> model = zoo.build("embedding_nn", train, hidden_layers=[128, 64])
    """

    fit_defaults = {
        "epochs": 10,
        "batch_size": 1024,
        "optimizer": "adam",
        "learning_rate": 1e-2,
        "schedule": "warmup_cosine",
    }

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        user_embedding_size: int | None = None,
        item_embedding_size: int | None = None,
        hidden_layers: tuple[int, ...] | list[int] = (512,),
        dropout: float | list[float] = 0.5,
        embedding_dropout: float = 0.0,
        y_range: tuple[float, float] | None = (0.0, 5.5),
        l2: float = 1.5,
        biases: bool = True,
        bias_l2: float = 0.2,
        user_y_range: bool = True,
        y_range_l2: float = 0.01,
        **kwargs,
    ):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        widths = [int(w) for w in hidden_layers]
        if not widths or min(widths) < 1:
            raise ConfigError(f"hidden_layers must be positive widths, got {hidden_layers!r}")
        drops = list(dropout) if isinstance(dropout, list | tuple) else [dropout] * len(widths)
        if len(drops) != len(widths):
            raise ConfigError(f"dropout has {len(drops)} values for {len(widths)} hidden layers")
        self.hidden_layers = tuple(widths)
        self.dropout = [float(d) for d in drops]
        self.user_embedding_size = int(
            user_embedding_size or default_embedding_size(self.users.size)
        )
        self.item_embedding_size = int(
            item_embedding_size or default_embedding_size(self.items.size)
        )
        self.embedding_dropout = float(embedding_dropout)
        self.y_range = check_y_range(y_range)
        self.l2 = float(l2)
        self.biases = bool(biases)
        self.bias_l2 = float(bias_l2)
        self.user_y_range = bool(user_y_range) and self.y_range is not None
        self.y_range_l2 = float(y_range_l2)
        if self.user_y_range:
            self.user_range = self.table("user", "user_range", 2, "zeros")
        init = keras.initializers.RandomNormal(stddev=0.01)
        if self.biases:
            self.user_bias = self.table("user", "user_bias", 1, "zeros")
            self.item_bias = self.table("item", "item_bias", 1, "zeros")
        self.user_embedding = self.table("user", "user_embedding", self.user_embedding_size, init)
        self.item_embedding = self.table("item", "item_embedding", self.item_embedding_size, init)
        self.input_dropout = keras.layers.Dropout(self.embedding_dropout)
        self.dense_layers, self.dropout_layers = [], []
        width = self.user_embedding_size + self.item_embedding_size
        for i, (units, rate) in enumerate(zip(widths, self.dropout, strict=True)):
            dense = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")
            dense.build((None, width))
            width = units
            self.dense_layers.append(dense)
            self.dropout_layers.append(keras.layers.Dropout(rate))
        self.head = keras.layers.Dense(1, name="head")
        self.head.build((None, width))
        self.built = True

    def model_config(self) -> dict:
        return {
            "user_embedding_size": self.user_embedding_size,
            "item_embedding_size": self.item_embedding_size,
            "hidden_layers": list(self.hidden_layers),
            "dropout": self.dropout,
            "embedding_dropout": self.embedding_dropout,
            "y_range": list(self.y_range) if self.y_range else None,
            "l2": self.l2,
            "biases": self.biases,
            "bias_l2": self.bias_l2,
            "user_y_range": self.user_y_range,
            "y_range_l2": self.y_range_l2,
        }

    def call(self, inputs, training=False):
        users, items = inputs["user"], inputs["item"]
        u = self.user_embedding(users)
        v = self.item_embedding(items)
        if training and self.l2:
            self.add_loss(
                self.l2
                * (
                    self.row_penalty(users, tf.reduce_sum(u * u, -1), "user")
                    + self.row_penalty(items, tf.reduce_sum(v * v, -1), "item")
                )
            )
        x = self.input_dropout(tf.concat([u, v], axis=-1), training=training)
        for dense, drop in zip(self.dense_layers, self.dropout_layers, strict=True):
            x = drop(dense(x), training=training)
        logits = tf.cast(self.head(x)[:, 0], tf.float32)
        if self.biases:
            bu, bi = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
            if training and self.bias_l2:
                self.add_loss(
                    self.bias_l2
                    * (
                        self.row_penalty(users, bu * bu, "user")
                        + self.row_penalty(items, bi * bi, "item")
                    )
                )
            logits += bu + bi
        shift = None
        if self.user_y_range:
            shift = self.user_range(users)
            if training and self.y_range_l2:
                self.add_loss(
                    self.y_range_l2
                    * self.row_penalty(users, tf.reduce_sum(shift * shift, -1), "user")
                )
        return squash(logits, self.y_range, shift)

    def training_spec(self) -> TrainingSpec:
        return self.rating_spec()

    def all_item_scores(self, user_index):
        # The first layer is linear in [u, v]: compute its item half once for all items, then
        # run the rest of the MLP on item chunks (scores_in_item_chunks bounds the memory).
        first = self.dense_layers[0]
        kernel = first.kernel
        u = self.user_embedding(user_index)
        items = self.item_embedding.table()
        user_part = tf.matmul(u, kernel[: self.user_embedding_size])
        item_part = tf.matmul(items, kernel[self.user_embedding_size :]) + first.bias

        def block(item_rows):
            x = tf.nn.relu(user_part[:, None, :] + item_rows[None, :, :])  # [batch, chunk, units]
            for dense in self.dense_layers[1:]:
                x = dense(x)
            return tf.cast(self.head(x)[..., 0], tf.float32)

        logits = scores_in_item_chunks(block, item_part, max(self.hidden_layers))
        if self.biases:
            logits += self.user_bias(user_index) + tf.transpose(self.item_bias.table())
        shift = self.user_range(user_index) if self.user_y_range else None
        return squash(logits, self.y_range, shift)

    def item_vectors(self):
        return self.item_embedding.table()
