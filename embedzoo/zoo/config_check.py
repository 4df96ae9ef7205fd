"""One check of every model's config values: types from the constructor, ranges by key.

``zoo.build`` (and so the CLI's ``--set``, presets and fine-tuning) runs :func:`check_config`
before a model is constructed. The type of a key comes from the model's ``__init__``
annotation, else from its default (an ``int`` default takes integers only: ``1.5`` or ``True``
are refused rather than truncated). The ranges below are shared by every model that uses the
key. Choices among strings (``negative_sampling``, ``prior``...) are checked by the models.
"""

from __future__ import annotations

import inspect
import math
import numbers
import types
import typing

from embedzoo.errors import ConfigError


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(value):
    return _is_int(value) and value >= 1, "an integer >= 1"


def _count(value):
    return _is_int(value) and value >= 0, "an integer >= 0"


def _flag(value):
    return _is_int(value) and value in (0, 1), "0 or 1"


def _nonnegative(value):
    return _is_real(value) and value >= 0, "a finite number >= 0"


def _positive(value):
    return _is_real(value) and value > 0, "a finite number > 0"


def _finite(value):
    return _is_real(value), "a finite number"


def _unit(value):
    return _is_real(value) and 0 <= value <= 1, "a number in [0, 1]"


def _fraction(value):
    if isinstance(value, list | tuple):
        ok = len(value) > 0 and all(_is_real(v) and 0 <= v < 1 for v in value)
        return ok, "a number in [0, 1) or a list of them"
    return _is_real(value) and 0 <= value < 1, "a number in [0, 1) or a list of them"


def _layers(value):
    ok = (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(_is_int(v) and v >= 1 for v in value)
    )
    return ok, "a non-empty list of integers >= 1"


def _widths(value):
    ok = isinstance(value, list | tuple) and all(_is_int(v) and v >= 1 for v in value)
    return ok, "a list of integers >= 1 (empty: none)"


def _feature_kinds(value):
    from embedzoo.datasets.features import KINDS

    ok = isinstance(value, dict) and all(
        isinstance(k, str) and v in (*KINDS, "skip") for k, v in value.items()
    )
    return ok, f"an object of column: kind, kinds {', '.join((*KINDS, 'skip'))}"


def _range_pair(value):
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_real(v) for v in value)
        and value[0] < value[1]
    )
    return ok, "null or a pair [low, high] of finite numbers with low < high"


#: key → check(value) -> (ok, what is accepted); ``None`` values are handled by the types.
RANGES = {
    **dict.fromkeys(
        (
            "n_factors",
            "vector_size",
            "embedding_size",
            "user_embedding_size",
            "item_embedding_size",
            "window",
            "epochs",
            "infer_epochs",
            "workers",
            "n_positive",
            "history_length",
            "min_sequence_length",
            "min_token_len",
            "max_token_len",
            "num_negatives",
            "embedding_dim",
            "feature_dim",
            "max_length",
            "num_blocks",
            "num_heads",
            "num_layers",
        ),
        _positive_int,
    ),
    **dict.fromkeys(("min_count", "negative", "seed", "uniform_negatives", "recent_items"), _count),
    **dict.fromkeys(("hs", "sg", "dm", "dbow_words", "cbow_mean", "dm_mean"), _flag),
    **dict.fromkeys(
        (
            "l2",
            "bias_l2",
            "y_range_l2",
            "init_std",
            "init_scale",
            "recency_weight",
            "recency_power",
            "sample",
            "alpha",
            "min_alpha",
            "bpr_max_l2",
        ),
        _nonnegative,
    ),
    **dict.fromkeys(("negative_ratio", "temperature"), _positive),
    **dict.fromkeys(("sampling_alpha", "ns_exponent", "prior_degree_power"), _finite),
    **dict.fromkeys(("dropout", "embedding_dropout", "id_dropout", "feature_dropout"), _fraction),
    "feature_shrinkage": _unit,
    "hidden_units": _widths,
    "feature_kinds": _feature_kinds,
    **dict.fromkeys(("hidden_layers", "mlp_layers"), _layers),
    "y_range": _range_pair,
}


def _expected(default, hint) -> tuple[set, bool]:
    """The base types a key takes (``int``, ``float``, ``bool``, ``str``, ``list``) and
    whether ``None`` is accepted."""
    kinds, nullable = set(), default is None
    if hint is not None:
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for arg in args:
            origin = typing.get_origin(arg) or arg
            if arg is type(None):
                nullable = True
            elif origin in (bool, int, float, str, dict):
                kinds.add(origin)
            elif origin in (list, tuple) or (
                isinstance(origin, type) and issubclass(origin, typing.Sequence)
            ):
                kinds.add(list)
    if not kinds and default is not None:
        kinds.add(list if isinstance(default, list | tuple) else type(default))
    return kinds, nullable


def _type_ok(value, kinds: set) -> bool:
    if not kinds:
        return True
    checks = {
        bool: lambda v: isinstance(v, bool),
        int: _is_int,
        float: lambda v: _is_real(v),
        str: lambda v: isinstance(v, str),
        list: lambda v: isinstance(v, list | tuple),
        dict: lambda v: isinstance(v, dict),
    }
    return any(checks[k](value) for k in kinds if k in checks) or not (kinds & set(checks))


def check_config(model_name: str, cls, config: dict) -> None:
    """Raises ``ConfigError`` naming the key, the value and what is accepted.

    Example:
        >>> from embedzoo import zoo
        >>> check_config("dot_bias_mf", zoo.get_class("dot_bias_mf"), {"n_factors": 1.5})
        Traceback (most recent call last):
        ...
        embedzoo.errors.ConfigError: dot_bias_mf: n_factors=1.5 is not accepted: expected an integer
        >>> check_config("dot_bias_mf", zoo.get_class("dot_bias_mf"), {"l2": -5})
        Traceback (most recent call last):
        ...
        embedzoo.errors.ConfigError: dot_bias_mf: l2=-5 is not accepted: expected a finite number >= 0
    """
    parameters = inspect.signature(cls.__init__).parameters
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not evaluate: fall back to the defaults
        hints = {}
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "an object (a dict)"}  # fmt: skip
    for key, value in config.items():
        if key not in parameters:
            continue  # unknown keys are reported by zoo.build
        default = parameters[key].default
        default = None if default is inspect.Parameter.empty else default
        kinds, nullable = _expected(default, hints.get(key))
        if value is None:
            if not nullable and kinds:
                raise ConfigError(f"{model_name}: {key}=null is not accepted: expected a value")
            continue
        if not _type_ok(value, kinds):
            what = " or ".join(sorted(names.get(k, k.__name__) for k in kinds))
            raise ConfigError(f"{model_name}: {key}={value!r} is not accepted: expected {what}")
        rule = RANGES.get(key)
        if rule is not None:
            ok, what = rule(value)
            if not ok:
                raise ConfigError(f"{model_name}: {key}={value!r} is not accepted: expected {what}")
