"""embedzoo: a Keras 3 / TensorFlow model zoo of embedding recommenders.

Example:
    >>> import embedzoo
    >>> data = embedzoo.datasets.load_movielens("ml-100k")          # doctest: +SKIP
    >>> model = embedzoo.zoo.build("dot_bias_mf", data)              # doctest: +SKIP
"""

__version__ = "0.1.0"

from embedzoo import datasets, errors, training, zoo  # noqa: E402,F401
