"""Every config key of every model goes through one check: a value of the wrong type, or out
of the key's range, is a ConfigError naming the model, the key and the value — before any
model is built."""

import inspect

import pytest

from embedzoo import zoo
from embedzoo.errors import ConfigError
from embedzoo.zoo.config_check import RANGES
from tests.helpers import make_ratings

#: an out-of-range value per range rule (by the rule's function name)
OUT_OF_RANGE = {
    "_positive_int": 0,
    "_count": -1,
    "_flag": 2,
    "_nonnegative": -0.5,
    "_positive": 0.0,
    "_finite": float("inf"),
    "_fraction": 1.0,
    "_unit": 1.5,
    "_layers": [],
    "_widths": [0],
    "_feature_kinds": {"year": "vector"},
    "_range_pair": [5.0, 1.0],
}


def _cases():
    for name in zoo.list_models():
        cls = zoo.get_class(name)
        parameters = inspect.signature(cls.__init__).parameters
        for key in zoo.config_keys(name):
            default = parameters[key].default
            if not isinstance(default, str):  # string choices are checked by the models
                yield name, key, {"what": "a string"}
            if key in RANGES:
                yield name, key, OUT_OF_RANGE[RANGES[key].__name__]


CASES = list(_cases())


def test_every_model_has_checked_keys():
    keyed = {name for name in zoo.list_models() if zoo.config_keys(name)}
    assert {name for name, _, _ in CASES} == keyed and "popularity" not in keyed
    assert len(CASES) > 60


@pytest.mark.parametrize(("name", "key", "value"), CASES)
def test_a_bad_value_names_model_key_and_value(name, key, value):
    data = make_ratings(n_users=8, n_items=6, n_rows=30)
    with pytest.raises(ConfigError) as error:
        zoo.build(name, data, **{key: value})
    message = str(error.value)
    assert name in message and f"{key}={value!r}" in message


def test_builds_seed_is_checked_and_reaches_a_models_own_seed():
    data = make_ratings(n_users=8, n_items=6, n_rows=30)
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ConfigError, match="seed="):
            zoo.build("dot_bias_mf", data, seed=bad)
    assert zoo.build("item2vec", data, seed=7).seed == 7  # gensim's seed


def test_cli_set_seed_is_a_gensim_models_seed(tmp_path, capsys):
    import json

    from embedzoo import cli
    from tests.helpers import make_implicit

    csv = tmp_path / "c.csv"
    make_implicit().frame.to_csv(csv, index=False)
    argv = ["train", "item2vec", "--data", str(csv), "--epochs", "1", "--verbose", "0"]
    assert cli.main([*argv, "--set", "seed=3", "--run-dir", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "config.json").read_text())["config"]["seed"] == 3
    argv = ["train", "dot_bias_mf", "--data", str(csv), "--run-dir", str(tmp_path / "b")]
    assert cli.main([*argv, "--set", "seed=3"]) == 2
    assert "unknown config key(s) ['seed']" in capsys.readouterr().err
