"""Per-example losses of the zoo's models.

Keras's ``BinaryCrossentropy`` averages over the last axis, which for the 1-D batches the zoo
trains on is the whole batch: per-example sample weights (the recency weights of
:mod:`embedzoo.training.negative_pipelines`) would be multiplied into an already reduced scalar
and have no effect. :class:`LogisticLoss` keeps one loss per example, so Keras weights them
before reducing.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="embedzoo")
class LogisticLoss(keras.losses.Loss):
    """Per-example binary cross-entropy on logits: ``-y·log σ(s) - (1-y)·log(1-σ(s))``.

    With ``y = 1`` and ``s = s_pos - s_neg`` this is BPR's ``-log σ(s_pos - s_neg)``.

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import LogisticLoss
        >>> round(float(LogisticLoss()(np.ones(2), np.zeros(2))), 4)  # log 2
        0.6931
    """

    def __init__(self, name: str = "logistic_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        return keras.ops.binary_crossentropy(y_true, y_pred, from_logits=True)


@keras.saving.register_keras_serializable(package="embedzoo")
class BPRLoss(keras.losses.Loss):
    """BPR's ``-log σ(s_pos - s_neg)`` per example, from ``[batch, 2]`` scores ``[pos, neg]``.

    ``y_true`` is ignored beyond its shape (the first column is the positive). keras-rs's
    ``PairwiseLogisticLoss`` on the same pair computes the same terms but averages them over
    the two list slots, which would halve the loss against the L2 penalty.

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import BPRLoss
        >>> round(float(BPRLoss()(np.array([[1.0, 0.0]]), np.array([[2.0, 2.0]]))), 4)  # log 2
        0.6931
    """

    def __init__(self, name: str = "bpr_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        margin = y_pred[..., 0] - y_pred[..., 1]
        return keras.ops.binary_crossentropy(keras.ops.ones_like(margin), margin, from_logits=True)


@keras.saving.register_keras_serializable(package="embedzoo")
class SquaredError(keras.losses.Loss):
    """Per-example ``(y - ŷ)²`` for ``[batch]`` predictions.

    Keras's ``MeanSquaredError`` averages over the last axis, which for 1-D batches is the
    whole batch: the scalar it returns is then not divided by the replica count under a
    ``tf.distribute`` strategy, so two replicas would take a step twice too large. One loss per
    example lets Keras reduce over the global batch.

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import SquaredError
        >>> float(SquaredError()(np.array([1.0, 3.0]), np.array([2.0, 3.0])))
        0.5
    """

    def __init__(self, name: str = "squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        return keras.ops.square(y_true - y_pred)


@keras.saving.register_keras_serializable(package="embedzoo")
class LogLoss(keras.losses.Loss):
    """Per-example binary cross-entropy on probabilities in (0, 1) (see ``SquaredError`` for
    why not Keras's ``BinaryCrossentropy`` on 1-D batches).

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import LogLoss
        >>> round(float(LogLoss()(np.ones(2), np.full(2, 0.5))), 4)  # log 2
        0.6931
    """

    def __init__(self, name: str = "log_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        return keras.ops.binary_crossentropy(y_true, y_pred, from_logits=False)


@keras.saving.register_keras_serializable(package="embedzoo")
class InBatchSoftmax(keras.losses.Loss):
    """Softmax cross-entropy per row of ``[batch, candidates]`` logits whose row ``r`` has its
    positive in column ``r`` (the in-batch pipeline's layout); ``y_true`` is not read.

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import InBatchSoftmax
        >>> round(float(InBatchSoftmax()(np.zeros(2), np.zeros((2, 4)))), 4)  # log 4
        1.3863
    """

    def __init__(self, name: str = "in_batch_softmax", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        logits = keras.ops.cast(keras.ops.convert_to_tensor(y_pred), "float32")
        rows = keras.ops.shape(logits)[0]
        positive = keras.ops.take_along_axis(
            logits, keras.ops.expand_dims(keras.ops.arange(rows), 1), axis=1
        )[:, 0]
        return keras.ops.logsumexp(logits, axis=1) - positive


#: the objectives of :class:`NextItemLoss`
NEXT_ITEM_LOSSES = ("bce", "softmax", "sampled_softmax", "bpr_max")


@keras.saving.register_keras_serializable(package="embedzoo")
class NextItemLoss(keras.losses.Loss):
    """Per-position loss of a sequence model from ``[batch, L, 1 + m]`` logits whose column 0
    is the position's next item and the others its negatives (masked ones at a very low logit);
    ``y_true`` is not read, the pipeline's ``[batch, L]`` weights mark the positions that count.

    - ``"bce"``: the SASRec paper's ``-log σ(s⁺) - Σⱼ log(1 - σ(sⱼ))``;
    - ``"softmax"`` / ``"sampled_softmax"``: ``-log softmax(s)₀`` over every item or the
      sampled ones (the logits already carry any logQ correction);
    - ``"bpr_max"`` (Hidasi & Karatzoglou, CIKM 2018): ``-log Σⱼ wⱼ σ(s⁺ - sⱼ) + λ Σⱼ wⱼ sⱼ²``,
      ``w = softmax`` of the negatives' logits, ``λ = bpr_max_l2``.

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.losses import NextItemLoss
        >>> logits = np.zeros((1, 1, 3))
        >>> [round(float(NextItemLoss(k)(np.zeros((1, 1)), logits)), 4) for k in ("bce", "softmax")]
        [2.0794, 1.0986]
    """

    def __init__(self, kind: str = "bce", bpr_max_l2: float = 1.0, name=None, **kwargs):
        if kind not in NEXT_ITEM_LOSSES:
            raise ValueError(f"kind must be one of {NEXT_ITEM_LOSSES}, got {kind!r}")
        super().__init__(name=name or f"next_item_{kind}", **kwargs)
        self.kind, self.bpr_max_l2 = kind, float(bpr_max_l2)

    def call(self, y_true, y_pred):
        logits = keras.ops.cast(keras.ops.convert_to_tensor(y_pred), "float32")
        positive, negative = logits[..., 0], logits[..., 1:]
        if self.kind == "bce":
            return keras.ops.softplus(-positive) + keras.ops.sum(keras.ops.softplus(negative), -1)
        if self.kind in ("softmax", "sampled_softmax"):
            return keras.ops.logsumexp(logits, axis=-1) - positive
        weights = keras.ops.softmax(negative, axis=-1)
        ranked = keras.ops.sum(weights * keras.ops.sigmoid(positive[..., None] - negative), -1)
        penalty = keras.ops.sum(weights * keras.ops.square(negative), -1)
        return -keras.ops.log(ranked + 1e-24) + self.bpr_max_l2 * penalty

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "bpr_max_l2": self.bpr_max_l2}
