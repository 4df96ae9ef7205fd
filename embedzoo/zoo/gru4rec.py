"""``gru4rec``: a recurrent network over a user's history (Hidasi et al., ICLR 2016).

A history's item rows go through ``num_layers`` GRU layers (``keras.layers.GRU``, the padding
masked, so the state starts at the first item) and the state after each item scores the next
item by its dot product with the item table, which is shared with the input (the tied
embeddings of Hidasi & Karatzoglou's later GRU4Rec). Mini-batches are padded windows of each
user's time-ordered history rather than session-parallel ones: the same transitions, and the
same pipeline as ``sasrec`` (:mod:`embedzoo.zoo.sequential`). ``loss="bpr_max"`` over shared
negatives is GRU4Rec's own objective; the sampled softmax with logQ and the full softmax are
the others.

Example:
    >>> from embedzoo import datasets, training, zoo
    >>> train, test = training.evaluation.ranking_protocol(datasets.load_ml100k())  # doctest: +SKIP
    >>> model = zoo.build("gru4rec", train, seed=0)                                # doctest: +SKIP
    >>> training.fit(model, train)                                                 # doctest: +SKIP
"""

from __future__ import annotations

import keras
import tensorflow as tf

from embedzoo.errors import ConfigError
from embedzoo.zoo.registry import register
from embedzoo.zoo.sequential import SequenceModel


@register("gru4rec")
class GRU4Rec(SequenceModel):
    """GRU layers over a user's latest items, predicting the next one.

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).
        num_layers: stacked GRU layers (each ``embedding_dim`` wide).
        embedding_dim, max_length, dropout, loss, num_negatives, negative_sampling,
            sampling_alpha, bpr_max_l2: see :class:`~embedzoo.zoo.sequential.SequenceModel`;
            ``dropout`` applies to the input rows and to each layer's output.

    The defaults were chosen on a validation cut of the training part of the ranking
    protocol (docs/sequential.md), never on its test rows.
    """

    fit_defaults = {
        "epochs": 30, "batch_size": 256, "optimizer": "adam", "learning_rate": 0.003,
        "schedule": "constant",
    }  # fmt: skip

    def __init__(
        self,
        user_vocabulary,
        item_vocabulary,
        num_layers: int = 1,
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
        if int(num_layers) < 1:
            raise ConfigError(f"gru4rec: num_layers must be >= 1, got {num_layers}")
        self.num_layers = int(num_layers)
        self.grus = []
        for j in range(self.num_layers):
            gru = keras.layers.GRU(
                self.embedding_dim, return_sequences=True, name=f"gru_{j}", dtype="float32"
            )
            gru.build((None, self.max_length, self.embedding_dim))
            self.grus.append(gru)
        self.drop = keras.layers.Dropout(self.dropout, seed=0, name="dropout", dtype="float32")
        self.built = True

    def model_config(self) -> dict:
        return {"num_layers": self.num_layers, **self.sequence_config()}

    def encode(self, history, training: bool = False):
        history = tf.cast(history, "int32")
        x, mask = self.embedded(history)
        x = self.drop(x, training=training)
        valid = history > 0
        for gru in self.grus:
            x = self.drop(gru(x, mask=valid, training=training), training=training)
        return x * mask
