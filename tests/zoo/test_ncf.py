import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import ConfigError
from embedzoo.zoo.ncf import NeuMF
from tests.helpers import make_implicit
from tests.zoo import implicit
from tests.zoo.contract import ContractSuite

# implicit-feedback data for this module's tests (the contract suite's too)
tiny, tiny_str = implicit.tiny, implicit.tiny_str

SMALL = {
    "gmf": {"n_factors": 6},
    "mlp": {"mlp_layers": [12, 8, 4]},
    "neumf": {"n_factors": 6, "mlp_layers": [12, 8, 4]},
}


class TestGMFContract(ContractSuite):
    model_name = "gmf"
    config = SMALL["gmf"]
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.02}


class TestMLPContract(ContractSuite):
    model_name = "mlp"
    config = SMALL["mlp"]
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.02}


class TestNeuMFContract(ContractSuite):
    model_name = "neumf"
    config = SMALL["neumf"]
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.02}
    # Two embedding pairs and a tower memorise 480 planted rows sooner than one factor model
    # does: its planted AUC is ~0.75 at this size (the others 0.8-1.0).
    planted_auc = 0.7


@pytest.mark.parametrize("name", ["gmf", "mlp", "neumf"])
def test_all_item_scores_equal_pairwise_scores(tiny, name):
    model = zoo.build(name, tiny, seed=0, **SMALL[name])
    training.fit(model, tiny, epochs=1, batch_size=64, verbose=0)
    users = np.array([0, 1, 2, 3], dtype="int32")  # 0: the unknown user
    full = model.all_item_scores(users).numpy()
    n = tiny.items.size
    pairwise = model({"user": np.repeat(users, n), "item": np.tile(np.arange(n), 4)})
    np.testing.assert_allclose(full, np.asarray(pairwise).reshape(4, n), rtol=1e-5, atol=1e-5)


def test_num_negatives_sets_the_batch_composition(tiny):
    model = zoo.build("gmf", tiny, num_negatives=3, n_factors=4)
    from embedzoo.training import pipelines

    ds, steps = pipelines.training_dataset(model, tiny, batch_size=32)
    x, y, w = next(iter(ds))
    assert x["user"].shape == (32 * 4,) and y.numpy().sum() == 32 and y.shape == (128,)
    np.testing.assert_array_equal(x["user"].numpy()[32:], np.tile(x["user"].numpy()[:32], 3))
    assert w.shape == (128,)


def test_neumf_from_pretrained_mixes_the_two_logits(tiny):
    gmf = zoo.build("gmf", tiny, seed=0, **SMALL["gmf"])
    mlp = zoo.build("mlp", tiny, seed=1, **SMALL["mlp"])
    training.fit(gmf, tiny, epochs=2, batch_size=64, verbose=0)
    training.fit(mlp, tiny, epochs=2, batch_size=64, verbose=0)
    neumf = NeuMF.from_pretrained(gmf, mlp, alpha=0.3)
    assert neumf.n_factors == 6 and neumf.mlp_layers == (12, 8, 4)
    users, items = tiny.frame.user.to_numpy()[:20], tiny.frame.item.to_numpy()[:20]
    expected = 0.3 * gmf.score(users, items) + 0.7 * mlp.score(users, items)
    np.testing.assert_allclose(neumf.score(users, items), expected, rtol=1e-4, atol=1e-5)
    # it recommends right away (seen items copied) and keeps training
    ids, _ = neumf.recommend([users[0]], k=5)
    assert not set(ids[0]) & set(tiny.frame.item[tiny.frame.user == users[0]])
    history = training.fit(neumf, tiny, epochs=2, batch_size=64, learning_rate=1e-3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_neumf_from_pretrained_refuses_mismatches(tiny):
    gmf = zoo.build("gmf", tiny, **SMALL["gmf"])
    mlp = zoo.build("mlp", tiny, **SMALL["mlp"])
    other = zoo.build("mlp", make_implicit(seed=5, n_users=30), **SMALL["mlp"])
    with pytest.raises(ConfigError, match="different vocabularies"):
        NeuMF.from_pretrained(gmf, other)
    with pytest.raises(ConfigError, match="contradict"):
        NeuMF.from_pretrained(gmf, mlp, n_factors=99)
    with pytest.raises(ConfigError):
        NeuMF.from_pretrained(mlp, gmf)


@pytest.mark.parametrize(
    "name,bad",
    [
        ("gmf", {"n_factors": 0}),
        ("gmf", {"num_negatives": 0}),
        ("mlp", {"mlp_layers": [7, 4]}),
        ("mlp", {"mlp_layers": []}),
        ("neumf", {"l2": -1.0}),
        ("neumf", {"negative_sampling": "zipf"}),
    ],  # fmt: skip
)
def test_bad_config(tiny, name, bad):
    with pytest.raises(ConfigError):
        zoo.build(name, tiny, **bad)
