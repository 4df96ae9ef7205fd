"""Callbacks embedzoo adds to Keras's own."""

from __future__ import annotations

import math
import time

import keras
import numpy as np


class EpochTimer(keras.callbacks.Callback):
    """Records each epoch's wall time in the logs as ``epoch_seconds`` (kept in History).

    Example:
        >>> from embedzoo.training.callbacks import EpochTimer
        >>> timer = EpochTimer()
    """

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        self.seconds.append(elapsed)
        if logs is not None:
            logs["epoch_seconds"] = elapsed


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training with a clear ``FloatingPointError`` when it diverges without a NaN.

    At each epoch end: the loss must stay below ``growth`` × the first logged loss, and, when
    ``sample`` (model inputs) and an output range are given, the model's outputs on it must stay
    within ``[low - span, high + span]`` (``span = high - low``): a rating model trained with a
    learning rate far too large keeps a finite loss while it predicts thousands on a 1-5 scale.

    Example:
        >>> from embedzoo.training.callbacks import DivergenceGuard
        >>> guard = DivergenceGuard(growth=1000.0)
        >>> guard.check(0, {"loss": 2.0}) is None, guard.check(1, {"loss": 5e11})
        (True, 'the loss grew from 2 to 5e+11')
    """

    def __init__(self, growth: float = 1e3, sample=None, low=None, high=None):
        super().__init__()
        self.growth = float(growth)
        self.sample = sample
        self.low, self.high = low, high
        self.first = None

    def on_train_batch_end(self, batch, logs=None):
        if self.first is None and logs and "loss" in logs:
            loss = float(logs["loss"])
            if math.isfinite(loss):
                self.first = loss

    def check(self, epoch, logs) -> str | None:
        """Why training diverged (``None``: it did not)."""
        loss = float((logs or {}).get("loss", float("nan")))
        if self.first is None and math.isfinite(loss):
            self.first = loss
        if math.isfinite(loss) and self.first is not None:
            if loss > self.growth * max(abs(self.first), 1e-6):
                return f"the loss grew from {self.first:.3g} to {loss:.3g}"
        if self.sample is not None and self.low is not None and self.model is not None:
            out = np.asarray(self.model(self.sample, training=False), dtype=np.float64)
            span = float(self.high - self.low)
            worst = float(np.max(np.abs(out - (self.low + self.high) / 2))) if out.size else 0.0
            if worst > span * 1.5:
                return (
                    f"predictions reach {worst + (self.low + self.high) / 2:.4g}, far outside the"
                    f" training range [{self.low:g}, {self.high:g}]"
                )
        return None

    def on_epoch_end(self, epoch, logs=None):
        why = self.check(epoch, logs)
        if why is not None:
            name = self.model.name if self.model is not None else "the model"
            raise FloatingPointError(
                f"training of {name} diverged in epoch {epoch + 1}: {why}; lower the learning"
                " rate or raise the regularisation"
            )
