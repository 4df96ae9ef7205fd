"""The zoo's registry: models by name.

``register("name")`` both publishes a model class under a zoo name and registers it as
Keras-serializable (package ``embedzoo``), so ``.keras`` files load it without custom objects.
"""

from __future__ import annotations

import difflib
import inspect
import numbers

import keras
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions, Vocabulary
from embedzoo.errors import ConfigError, UnknownModelError
from embedzoo.zoo.config_check import check_config

_MODELS: dict[str, type] = {}

# Constructor arguments that come from data, not from the user's config.
_DATA_ARGS = ("user_vocabulary", "item_vocabulary")


def register(name: str):
    """Class decorator: ``@register("dot_bias_mf")``.

    Example:
        >>> from embedzoo.zoo.registry import register
        >>> from embedzoo.zoo.base import ZooModel
        >>> @register("my_model")
        ... class MyModel(ZooModel): ...
        >>> from embedzoo import zoo
        >>> zoo.get_class("my_model") is MyModel
        True
    """

    def decorator(cls):
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"a model is already registered as {name!r}: {_MODELS[name]}")
        cls = keras.saving.register_keras_serializable(package="embedzoo", name=cls.__name__)(cls)
        cls.zoo_name = name
        _MODELS[name] = cls
        return cls

    return decorator


def unregister(name: str) -> None:
    """Removes a registered name (for plug-ins and tests; built-in models stay registered)."""
    _MODELS.pop(name, None)


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _load_builtin_models()
    return sorted(_MODELS)


def get_class(name: str) -> type:
    """The class registered under ``name``; an unknown name lists the close matches."""
    _load_builtin_models()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Registered models: {', '.join(sorted(_MODELS))}"
        )
    return _MODELS[name]


def config_keys(name: str) -> list[str]:
    """The configuration keys a model accepts (its constructor arguments, data ones excluded)."""
    sig = inspect.signature(get_class(name).__init__)
    return [
        p
        for p, param in sig.parameters.items()
        if p != "self" and p not in _DATA_ARGS and param.kind is not param.VAR_KEYWORD
    ]


def build(
    name: str,
    data: Interactions | tuple[Vocabulary, Vocabulary] | None = None,
    *,
    user_vocabulary=None,
    item_vocabulary=None,
    seed: int | None = None,
    strategy=None,
    table_shards: int | None = None,
    **config,
) -> keras.Model:
    """Builds a registered model for some data.

    Args:
        name: a registered name (see :func:`list_models`).
        data: ``Interactions`` (its vocabularies are used) or a ``(users, items)`` pair of
            ``Vocabulary``; or pass ``user_vocabulary`` / ``item_vocabulary`` lists directly.
        seed: seed Python, NumPy and TensorFlow first, so the initial weights are reproducible;
            a model with a ``seed`` of its own (gensim's, for item2vec and doc2vec) is given it
            too.
        strategy: a ``tf.distribute.Strategy`` or a name for ``training.strategies.get``
            (``"mirrored"``, ...): the model's variables are created under it, and
            ``training.fit`` trains in it.
        table_shards: variables each user and item table is split over
            (:class:`~embedzoo.core.layers.Embedding` ``shards``); ``None``: one per parameter
            server under a ``ParameterServerStrategy`` (tables spread over every server), else 1.
        **config: the model's constructor arguments; an unknown key raises ``ConfigError``.

    Example:
        >>> from embedzoo import zoo
        >>> model = zoo.build("dot_bias_mf", data, n_factors=32)
        >>> model.zoo_name, len(model.users) == len(data.users)
        ('dot_bias_mf', True)
    """
    cls = get_class(name)
    keys = config_keys(name)
    unknown = sorted(set(config) - set(keys))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown} for model {name!r}; accepted: {keys}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ConfigError(f"{name}: seed={seed!r} is not accepted: expected an integer >= 0")
    if seed is not None and "seed" in keys:
        config = {**config, "seed": seed}
    check_config(name, cls, config)
    if isinstance(data, Interactions):
        users, items = data.users, data.items
        # what a model reads from the data itself (feature models: feature specs, and the
        # items of the item feature table); keys the caller gave win
        derived = cls.data_config(data, config)
        items = derived.pop("item_vocabulary", items)
        config = {**derived, **config}
    elif isinstance(data, tuple) and len(data) == 2:
        users, items = data
    elif data is None:
        users = Vocabulary(user_vocabulary if user_vocabulary is not None else [])
        items = Vocabulary(item_vocabulary if item_vocabulary is not None else [])
    else:
        raise ConfigError("data must be Interactions or a (users, items) pair of Vocabulary")
    # A content model (doc2vec) may serve a catalogue without users (requires_users = False).
    if len(items) == 0 or (len(users) == 0 and cls.requires_users):
        raise ConfigError(f"cannot build {name!r}: the data has no users or no items")
    if isinstance(strategy, str):
        from embedzoo.training import strategies

        strategy = strategies.get(strategy)
    if table_shards is None and isinstance(strategy, tf.distribute.ParameterServerStrategy):
        from embedzoo.training.parameter_server import cluster_tasks

        table_shards = max(1, cluster_tasks("ps"))
    if table_shards is not None:
        if (
            isinstance(table_shards, bool)
            or not isinstance(table_shards, numbers.Integral)
            or table_shards < 1
        ):
            raise ConfigError(
                f"{name}: table_shards={table_shards!r} is not accepted: expected an integer >= 1"
            )
        if int(table_shards) > 1:
            config = {**config, "table_shards": int(table_shards)}
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if strategy is None:
        return cls(user_vocabulary=users.to_list(), item_vocabulary=items.to_list(), **config)
    with strategy.scope():
        return cls(user_vocabulary=users.to_list(), item_vocabulary=items.to_list(), **config)


def _load_builtin_models() -> None:
    # Importing the zoo package imports every built-in model module (each registers itself).
    import embedzoo.zoo  # noqa: F401
