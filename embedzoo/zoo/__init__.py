"""The zoo: registered models, the shared model contract, and export for TF Serving.

Example:
    >>> from embedzoo import zoo
    >>> zoo.list_models()                                            # doctest: +SKIP
    ['dot_bias_mf', 'embedding_nn']
"""

from embedzoo.zoo.registry import build, config_keys, get_class, list_models, register  # noqa: F401
from embedzoo.zoo.base import ZooModel  # noqa: F401  (after registry: models import both)

# Built-in models register themselves on import.
from embedzoo.zoo import dot_bias_mf, embedding_nn  # noqa: F401,E402
from embedzoo.zoo import bpr, ncf, popularity  # noqa: F401,E402  (ranking models)
from embedzoo.zoo.export import export, load_saved_model  # noqa: F401,E402
from embedzoo.zoo.saving import load_model, save_model  # noqa: F401,E402
from embedzoo.zoo import presets  # noqa: F401,E402
from embedzoo.zoo.presets import load  # noqa: F401,E402
from embedzoo.zoo.finetune import fine_tune  # noqa: F401,E402

list = list_models  # `zoo.list()`, as the registry is documented
