"""The zoo: registered models, the shared model contract, presets, fine-tuning and export.

Example:
    >>> from embedzoo import zoo
    >>> "dot_bias_mf" in zoo.list_models()
    True
"""

# Built-in models register themselves on import (gensim is imported lazily by its models).
from embedzoo.zoo import (  # noqa: F401
    bpr,
    doc2vec,
    dot_bias_mf,
    embedding_nn,
    item2vec,
    link_embedding,
    ncf,
    popularity,
    presets,
)
from embedzoo.zoo.base import ZooModel  # noqa: F401
from embedzoo.zoo.export import export, load_saved_model  # noqa: F401
from embedzoo.zoo.finetune import fine_tune  # noqa: F401
from embedzoo.zoo.presets import load  # noqa: F401
from embedzoo.zoo.registry import build, config_keys, get_class, list_models, register  # noqa: F401
from embedzoo.zoo.saving import load_model, save_model  # noqa: F401

list = list_models  # `zoo.list()`, as the registry is documented
