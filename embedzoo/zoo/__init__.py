"""The zoo: registered models, the shared model contract, presets, fine-tuning and export.

Example:
    >>> from embedzoo import zoo
    >>> "dot_bias_mf" in zoo.list_models()
    True
"""

import importlib as _importlib
import pkgutil as _pkgutil

from embedzoo.zoo.base import ZooModel  # noqa: F401
from embedzoo.zoo.export import export, load_saved_model  # noqa: F401
from embedzoo.zoo.finetune import fine_tune  # noqa: F401
from embedzoo.zoo.presets import load  # noqa: F401
from embedzoo.zoo.registry import build, config_keys, get_class, list_models, register  # noqa: F401
from embedzoo.zoo.saving import load_model, save_model  # noqa: F401

# Every module of this package is imported, so a model file dropped in registers itself
# (``@register``) with no edit here; gensim is imported lazily by its models.
for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")

list = list_models  # `zoo.list()`, as the registry is documented
