import keras
import pytest

from embedzoo import training, zoo
from embedzoo.datasets import Vocabulary
from embedzoo.errors import ConfigError, UnknownModelError
from embedzoo.training import strategies


def test_list_has_the_builtin_models():
    names = zoo.list_models()
    assert {"dot_bias_mf", "embedding_nn"} <= set(names)
    assert names == sorted(names) and zoo.list() == names


def test_unknown_model_name_suggests_close_matches():
    with pytest.raises(UnknownModelError, match="dot_bias_mf") as err:
        zoo.build("dot_bias_fm", user_vocabulary=[1], item_vocabulary=[2])
    assert "Did you mean" in str(err.value)


def test_config_keys_exclude_data_arguments():
    keys = zoo.config_keys("dot_bias_mf")
    assert "n_factors" in keys and "user_vocabulary" not in keys


def test_build_from_vocabularies_and_empty_data():
    model = zoo.build("dot_bias_mf", (Vocabulary([1, 2]), Vocabulary(["a"])), n_factors=2)
    assert model.items.dtype == "string" and model.users.size == 3
    with pytest.raises(ConfigError, match="no users"):
        zoo.build("dot_bias_mf", user_vocabulary=[], item_vocabulary=[1])


def test_models_are_keras_serializable_by_registered_name():
    cls = zoo.get_class("dot_bias_mf")
    assert keras.saving.get_registered_object("embedzoo>DotBiasMF") is cls


def test_fit_inside_a_distribution_strategy(tiny):
    strategy = strategies.get("mirrored")  # one replica on this CPU-only machine
    with strategy.scope():
        model = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=0)
    history = training.fit(model, tiny, epochs=2, batch_size=128, verbose=0)
    assert model.distribute_strategy is strategy
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(ConfigError):
        strategies.get("tpu_pod")


def test_fit_refuses_a_strategy_the_model_was_not_built_under(tiny):
    from embedzoo.errors import ConfigError

    mirrored = strategies.get("mirrored")
    model = zoo.build("dot_bias_mf", tiny, n_factors=2, seed=0)
    with pytest.raises(ConfigError, match="zoo.build"):
        training.fit(model, tiny, epochs=1, verbose=0, strategy=mirrored)
    built = zoo.build("dot_bias_mf", tiny, n_factors=2, seed=0, strategy="mirrored")
    assert built.distribute_strategy is mirrored
    history = training.fit(built, tiny, epochs=1, batch_size=64, verbose=0, strategy="mirrored")
    assert len(history.history["loss"]) == 1
