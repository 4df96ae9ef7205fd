"""``sasrec``: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018).

A history's item rows (scaled by ``√d``) plus learned position embeddings go through
``num_blocks`` causal self-attention blocks (``keras.layers.MultiHeadAttention`` with a causal
mask and the padding masked as keys; layer norm before each sub-layer, residuals, dropout,
a point-wise feed-forward of two dense layers) and a final layer norm. Padding positions
are zeroed after every block, so padding never attends or is attended to. The vector at
position ``t`` scores the next item by its dot product with the shared item table. Positions
count from the end: with right-aligned histories the latest item always sits at position
``max_length - 1``, in training and at request time alike.

Everything else (the pipeline, the objectives, the remembered histories, serving) is the
sequence models' (:mod:`embedzoo.zoo.sequential`).

Example:
    >>> from embedzoo import datasets, training, zoo
    >>> train, test = training.evaluation.ranking_protocol(datasets.load_ml100k())  # doctest: +SKIP
    >>> model = zoo.build("sasrec", train, seed=0)                                 # doctest: +SKIP
    >>> training.fit(model, train)                                                 # doctest: +SKIP
    >>> model.recommend_for_history([[50, 172, 181]], k=5)                         # doctest: +SKIP
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.zoo.registry import register
from embedzoo.zoo.sequential import SequenceModel


@register("sasrec")
class SASRec(SequenceModel):
    """Causal self-attention over a user's latest items, predicting the next one.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        num_blocks: self-attention blocks.
        num_heads: attention heads (they split ``embedding_dim``).
        embedding_dim, max_length, dropout, loss, num_negatives, negative_sampling,
            sampling_alpha, bpr_max_l2: see :class:`~embedzoo.zoo.sequential.SequenceModel`.

    The defaults were chosen on a validation cut of the training part of the ranking
    protocol (docs/sequential.md), never on its test rows. ``loss="bce", num_negatives=1`` is the
    paper's objective.
    """

    fit_defaults = {
        "epochs": 40, "batch_size": 256, "optimizer": "adam", "learning_rate": 0.003,
        "schedule": "constant",
    }  # fmt: skip

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        num_blocks: int = 2,
        num_heads: int = 1,
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
        super().__init__(
            user_vocabulary,
            item_vocabulary,
            embedding_dim=embedding_dim,
            max_length=max_length,
            dropout=dropout,
            loss=loss,
            num_negatives=num_negatives,
            negative_sampling=negative_sampling,
            sampling_alpha=sampling_alpha,
            bpr_max_l2=bpr_max_l2,
            **kwargs,
        )
        if int(num_blocks) < 1 or int(num_heads) < 1:
            raise ConfigError("sasrec: num_blocks and num_heads must be >= 1")
        if self.embedding_dim % int(num_heads):
            raise ConfigError(
                f"sasrec: num_heads={num_heads} must divide embedding_dim={self.embedding_dim}"
            )
        self.num_blocks, self.num_heads = int(num_blocks), int(num_heads)
        d, length = self.embedding_dim, self.max_length
        shape = (None, length, d)
        f32 = {"dtype": "float32"}  # float32 under mixed policies (the model's loss is unscaled)
        self.positions = keras.layers.Embedding(length, d, name="positions", **f32)
        self.positions.build((length,))
        self.blocks = []
        for j in range(self.num_blocks):
            attention = keras.layers.MultiHeadAttention(
                self.num_heads, d // self.num_heads, dropout=self.dropout, seed=j,
                name=f"attention_{j}", **f32,
            )  # fmt: skip
            attention.build(shape, shape)
            layers = {
                "norm_attention": keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_a{j}", **f32),
                "norm_feed": keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_f{j}", **f32),
                "feed_in": keras.layers.Dense(d, activation="relu", name=f"feed_in_{j}", **f32),
                "feed_out": keras.layers.Dense(d, name=f"feed_out_{j}", **f32),
            }  # fmt: skip
            for layer in layers.values():
                layer.build(shape)
            self.blocks.append({"attention": attention, **layers})
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm", **f32)
        self.final_norm.build(shape)
        self.drop = keras.layers.Dropout(self.dropout, seed=0, name="dropout", dtype="float32")
        self.built = True

    def model_config(self) -> dict:
        return {
            "num_blocks": self.num_blocks,
            "num_heads": self.num_heads,
            **self.sequence_config(),
        }

    def encode(self, history, training: bool = False):
        history = tf.cast(history, "int32")
        x, mask = self.embedded(history)
        x = x * math.sqrt(self.embedding_dim) + self.positions(tf.range(self.max_length))[None]
        x = self.drop(x, training=training) * mask
        keys = tf.cast(history > 0, "bool")[:, None, :]  # [b, 1, L]: padding is never a key
        for block in self.blocks:
            y = block["norm_attention"](x)
            y = block["attention"](
                y, y, attention_mask=keys, use_causal_mask=True, training=training
            )
            x = x + self.drop(y, training=training)
            y = block["feed_out"](
                self.drop(block["feed_in"](block["norm_feed"](x)), training=training)
            )
            x = (x + self.drop(y, training=training)) * mask
        return self.final_norm(x) * mask
