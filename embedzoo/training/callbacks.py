"""Callbacks embedzoo adds to Keras's own."""

from __future__ import annotations

import time

import keras


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
