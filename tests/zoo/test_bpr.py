import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import ConfigError
from tests.zoo import implicit
from tests.zoo.contract import ContractSuite

# implicit-feedback data for this module's tests (the contract suite's too)
tiny, tiny_str = implicit.tiny, implicit.tiny_str


class TestBPRContract(ContractSuite):
    model_name = "bpr"
    config = {"n_factors": 8}
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.05}


def test_score_is_dot_product_plus_item_bias(tiny):
    model = zoo.build("bpr", tiny, n_factors=4, seed=0)
    training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    u, i = tiny.users.lookup([tiny.users.ids[2]])[0], tiny.items.lookup([tiny.items.ids[5]])[0]
    p = model.user_factors.embeddings.numpy()[u]
    q = model.item_factors.embeddings.numpy()[i]
    b = model.item_bias.embeddings.numpy()[i, 0]
    np.testing.assert_allclose(
        model.score([tiny.users.ids[2]], [tiny.items.ids[5]]), [p @ q + b], rtol=1e-5
    )
    # an unknown user (zero row) ranks items by their bias alone
    np.testing.assert_allclose(model.score([10**9], [tiny.items.ids[5]]), [b], rtol=1e-5)


def test_item_lists_score_each_item_and_the_loss_is_bpr(tiny):
    from embedzoo.training.losses import BPRLoss

    model = zoo.build("bpr", tiny, n_factors=4, init_std=0.5, seed=0)
    u, i, j = np.array([1, 2]), np.array([3, 4]), np.array([5, 6])
    pairs = np.asarray(model({"user": u, "item": np.stack([i, j], axis=1)}))
    pos, neg = np.asarray(model({"user": u, "item": i})), np.asarray(model({"user": u, "item": j}))
    assert pairs.shape == (2, 2)
    np.testing.assert_allclose(pairs, np.stack([pos, neg], axis=1), rtol=1e-5, atol=1e-7)
    loss = float(BPRLoss()(np.tile([1.0, 0.0], (2, 1)), pairs))
    assert loss == pytest.approx(np.mean(np.log1p(np.exp(-(pos - neg)))), rel=1e-5)


def test_weight_decay_is_added_on_the_batch_rows(tiny):
    model = zoo.build("bpr", tiny, n_factors=4, l2=0.5, bias_l2=0.25, seed=0)
    model.item_bias.embeddings.assign(model.item_bias.embeddings + 0.3)  # non-zero biases
    u, i, j = np.array([1, 2]), np.array([3, 4]), np.array([5, 6])
    model({"user": u, "item": np.stack([i, j], axis=1)}, training=True)
    p, q = model.user_factors.embeddings.numpy(), model.item_factors.embeddings.numpy()
    expected = 0.5 * np.mean((p[u] ** 2).sum(1) + (q[i] ** 2).sum(1) + (q[j] ** 2).sum(1))
    b = model.item_bias.embeddings.numpy()[:, 0]
    expected += 0.25 * np.mean(b[i] ** 2 + b[j] ** 2)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("adagrad", 1.0), ("sgd", 5.0)])
def test_every_optimizer_learns(tiny, optimizer, lr):
    # sgd and adagrad step on a batch-mean loss: their rates are the per-example ones x batch
    model = zoo.build("bpr", tiny, n_factors=8, init_std=0.1, seed=0)
    history = training.fit(
        model,
        tiny,
        epochs=8,
        batch_size=64,
        optimizer=optimizer,
        learning_rate=lr,
        schedule="constant",
        verbose=0,
    )
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.1


@pytest.mark.parametrize(
    "bad",
    [
        {"n_factors": 0},
        {"l2": -1},
        {"negative_sampling": "zipf"},
        {"sampling_alpha": -0.5},
        {"recency_weight": -1},
        {"recency_power": 0},
    ],  # fmt: skip
)
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("bpr", tiny, **bad)
