"""embedzoo: a Keras 3 / TensorFlow model zoo of embedding recommenders.

Example:
    >>> import embedzoo
    >>> data = embedzoo.datasets.load_movielens("ml-100k")          # doctest: +SKIP
    >>> model = embedzoo.zoo.build("dot_bias_mf", data)              # doctest: +SKIP
"""

import os as _os

# Before any submodule can import TensorFlow: keep its C++/absl start-up log lines
# (oneDNN notice, missing CUDA drivers, CPU feature guard, absl::InitializeLog) off
# stderr. setdefault, so a user's own setting wins. Only logging is touched here
# (TF_ENABLE_ONEDNN_OPTS is left alone: it changes numerics).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# Subpackages load on first use (PEP 562), so `import embedzoo` and `embedzoo --help`
# stay free of TensorFlow; `embedzoo.zoo`, `from embedzoo import zoo` work as before.
_SUBMODULES = ("datasets", "errors", "training", "viz", "zoo")
__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_SUBMODULES})
