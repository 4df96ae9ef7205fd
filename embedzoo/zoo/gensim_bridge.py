"""What the gensim-trained models share: the gensim import, and epochs reported through Keras.

gensim trains ``item2vec`` and ``doc2vec`` in its own C loops; :class:`KerasEpochs` is a gensim
callback that drives a ``keras.callbacks.CallbackList`` from gensim's epoch events, so the
progress bar, ``History``, :class:`~embedzoo.training.callbacks.EpochTimer` and user callbacks
(TensorBoard, CSVLogger...) see one ``on_epoch_end(logs={"loss": ...})`` per epoch, exactly as
for a Keras-trained model.

gensim is an optional dependency (``pip install embedzoo[gensim]``): it is imported only when a
model trains or tokenizes text, so a saved ``item2vec`` model loads and serves without it.
"""

from __future__ import annotations

import importlib

import keras
import numpy as np

from embedzoo.errors import ConfigError


def require_gensim():
    """Imports gensim or says how to install it."""
    try:
        return importlib.import_module("gensim")
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "this model trains with gensim, which is not installed: pip install 'embedzoo[gensim]'"
            " (or pip install 'gensim>=4.4,<5')"
        ) from e


def callback_list(model, callbacks, epochs: int, verbose) -> keras.callbacks.CallbackList:
    """A Keras ``CallbackList`` with ``History`` and, unless ``verbose == 0``, a progress bar.

    One gensim epoch counts as one "step" for the progress bar.
    """
    return keras.callbacks.CallbackList(
        list(callbacks or []),
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=int(epochs),
        steps=1,
    )


def make_epoch_bridge(keras_callbacks: keras.callbacks.CallbackList, loss_per: float | None = None):
    """A gensim callback forwarding each epoch to ``keras_callbacks``.

    Args:
        keras_callbacks: from :func:`callback_list`.
        loss_per: when set, the epoch's loss is taken from gensim's running loss (a Word2Vec
            trained with ``compute_loss=True``) and divided by this (the number of tokens in the
            corpus), so ``loss`` is the mean loss per item occurrence. gensim accumulates its
            loss over a whole ``train()`` call in float32; the running total is set back to 0 at
            every epoch start, which gives the per-epoch figure without float32 cancellation.
            ``None`` (Doc2Vec, which computes no loss) reports no ``loss``.

    Returns:
        an instance of a ``gensim.models.callbacks.CallbackAny2Vec`` subclass.
    """
    from gensim.models.callbacks import CallbackAny2Vec

    class KerasEpochs(CallbackAny2Vec):
        def __init__(self):
            self.epoch = 0
            self.losses: list[float] = []

        def on_epoch_begin(self, model):
            if loss_per is not None:
                model.running_training_loss = 0.0
            keras_callbacks.on_epoch_begin(self.epoch)
            keras_callbacks.on_train_batch_begin(0)

        def on_epoch_end(self, model):
            logs = {}
            if loss_per is not None:
                loss = float(model.get_latest_training_loss()) / max(float(loss_per), 1.0)
                self.losses.append(loss)
                logs["loss"] = loss
            logs["learning_rate"] = float(model.min_alpha_yet_reached)
            keras_callbacks.on_train_batch_end(0, dict(logs))
            keras_callbacks.on_epoch_end(self.epoch, logs)
            self.epoch += 1

    return KerasEpochs()


def check_positive(config: dict) -> None:
    """Raises ConfigError for the first ``name: value`` below its minimum.

    Args:
        config: ``{name: (value, minimum)}``.
    """
    for name, (value, minimum) in config.items():
        if value is None or not np.isfinite(float(value)) or float(value) < minimum:
            raise ConfigError(f"{name} must be >= {minimum}, got {value!r}")


class InstanceFitDefaults:
    """``fit_defaults`` whose ``epochs`` is the model's own ``epochs`` config.

    ``training.fit(model, data)`` then trains for the configured epochs, and
    ``fit(..., epochs=3)`` still overrides them; the class attribute stays a plain dict
    (``embedzoo models`` prints it).
    """

    def __init__(self, defaults: dict):
        self.defaults = dict(defaults)

    def __get__(self, obj, owner=None):
        if obj is None:
            return dict(self.defaults)
        return {**self.defaults, "epochs": int(obj.epochs)}
