"""Training: tf.data pipelines, row-wise optimizers, fit, evaluation, strategies."""

from embedzoo.training import evaluation, optimizers, pipelines, strategies  # noqa: F401
from embedzoo.training.evaluation import rating_metrics  # noqa: F401
from embedzoo.training.fit import compile_model, fit  # noqa: F401
from embedzoo.training.spec import TrainingSpec  # noqa: F401
