"""What a model asks of training: one explicit ``TrainingSpec`` that ``fit`` reads.

A zoo model returns its spec from ``training_spec()``; ``fit``, ``fine_tune``, evaluation and
the benchmarks read nothing else about how to train it (no optional attributes probed).

Example:
    >>> from embedzoo.training import pipelines
    >>> from embedzoo.training.spec import TrainingSpec
    >>> spec = TrainingSpec(task="rating", pipeline=pipelines.pointwise, loss="mse", defaults={"epochs": 3})
    >>> spec.fit_settings()["epochs"], spec.fit_settings()["batch_size"]
    (3, 1024)
    >>> spec.trained_by_keras
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: What every spec's ``defaults`` starts from.
FIT_DEFAULTS: Mapping[str, Any] = {
    "epochs": 10,
    "batch_size": 1024,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "schedule": "constant",
    "jit_compile": False,
}

TASKS = ("rating", "ranking", "links", "content")


@dataclass(frozen=True)
class TrainingSpec:
    """How ``training.fit`` trains a model.

    Args:
        task: ``"rating"`` (explicit scores; RMSE), ``"ranking"`` (implicit feedback),
            ``"links"`` (entity-link pairs) or ``"content"`` (item texts).
        pipeline: ``pipeline(model, interactions, batch_size=, shuffle=, seed=)`` → a
            ``tf.data.Dataset`` of ``(inputs, labels[, sample_weights])`` index batches; only
            rows whose ids the model knows are trained on. ``None`` for external engines.
        validation_pipeline: the same for held-out data (default: ``pipeline`` unshuffled).
        loss: a Keras loss with one value per example (``reduction`` handled by Keras).
        metrics: Keras metrics compiled with the loss.
        callbacks: Keras callbacks ``fit`` adds (e.g. a per-epoch refit of a prior).
        defaults: fit settings (``FIT_DEFAULTS`` keys) the model trains well with.
        engine: an external trainer instead of Keras ``fit``:
            ``engine(train, validation=, epochs=, seed=, verbose=, callbacks=)`` → ``History``.
        fine_tune: for external engines, ``fine_tune(new, validation=, epochs=, seed=)`` →
            ``(model, history)``; ``None`` means the model cannot be fine-tuned.
        examples_per_row: training examples one interaction row yields (for throughput).
        after_fit: ``after_fit(train)``, run once training ends (every strategy), e.g. the
            rating models' fit of their unknown-id rows (``ZooModel.fit_unknown_rows``).
    """

    task: str
    pipeline: Callable | None = None
    validation_pipeline: Callable | None = None
    loss: Any = None
    metrics: Sequence = ()
    callbacks: Sequence = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    engine: Callable | None = None
    fine_tune: Callable | None = None
    examples_per_row: int = 1
    after_fit: Callable | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.engine is None and self.pipeline is None:
            raise ValueError("a Keras-trained spec needs a pipeline")
        unknown = sorted(set(self.defaults) - set(FIT_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown fit default(s) {unknown}; accepted: {sorted(FIT_DEFAULTS)}")

    @property
    def trained_by_keras(self) -> bool:
        """True when Keras ``fit`` trains the model (no external engine)."""
        return self.engine is None

    def fit_settings(self) -> dict:
        """``FIT_DEFAULTS`` overridden by this spec's ``defaults``."""
        return {**FIT_DEFAULTS, **self.defaults}

    def validation_dataset(self, model, interactions, batch_size: int):
        """Held-out rows in order, unshuffled (negatives, if any, drawn with a fixed seed)."""
        build = self.validation_pipeline or self.pipeline
        return build(model, interactions, batch_size=batch_size, shuffle=False, seed=0)
