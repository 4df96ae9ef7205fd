import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import ConfigError
from tests.zoo.contract import ContractSuite


class TestDotBiasMFContract(ContractSuite):
    model_name = "dot_bias_mf"
    config = {"n_factors": 8}


def test_scores_stay_inside_y_range(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4, y_range=(1.0, 5.0))
    training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    scores = model.score(tiny.frame.user, tiny.frame.item)
    assert scores.min() > 1.0 and scores.max() < 5.0


def test_unknown_user_and_item_answers_are_calibrated_average_rows(tiny):
    """Row 0 is the count-weighted mean of the trained rows, its bias set so the unknown
    answers average the mean training rating (ZooModel.fit_unknown_rows)."""
    model = zoo.build("dot_bias_mf", tiny, n_factors=4)
    training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    users = tiny.user_index
    counts = np.bincount(users, minlength=tiny.users.size)[1:]
    factors = model.user_factors.table().numpy()
    np.testing.assert_allclose(
        factors[0], counts @ factors[1:] / counts.sum(), rtol=1e-4, atol=1e-6
    )
    mean = tiny.frame.rating.mean()
    unknown_user = model.score(np.full(len(tiny), 10**9), tiny.frame.item.to_numpy())
    unknown_item = model.score(tiny.frame.user.to_numpy(), np.full(len(tiny), 10**9))
    assert abs(unknown_user.mean() - mean) < 1e-3 and abs(unknown_item.mean() - mean) < 1e-3
    # the item still matters for an unknown user (not one constant answer)
    assert np.ptp(model.score([10**9] * 5, tiny.items.ids[:5])) > 0


def test_item_bias_table_has_titles_and_order(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4)
    training.fit(model, tiny, epochs=3, batch_size=64, verbose=0)
    titles = {i: f"title {i}" for i in tiny.items.ids}
    table = model.item_bias_table(3, titles=titles)
    high, low = table[table.end == "highest"], table[table.end == "lowest"]
    assert len(high) == len(low) == 3
    assert high.bias.is_monotonic_decreasing and low.bias.is_monotonic_increasing
    assert high.bias.min() >= low.bias.max()
    assert table.title.str.startswith("title ").all()


def test_predict_matrix_matches_score(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4)
    users, items = tiny.users.ids[:3].tolist(), tiny.items.ids[:4].tolist()
    frame = model.predict_matrix(users, items)
    assert frame.shape == (3, 4)
    np.testing.assert_allclose(
        frame.loc[users[1], items[2]], model.score([users[1]], [items[2]])[0]
    )


@pytest.mark.parametrize("bad", [{"n_factors": 0}, {"y_range": (5, 1)}, {"prior": "gaussian"}])
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("dot_bias_mf", tiny, **bad)


class TestDotBiasMFWithoutPriorContract(ContractSuite):
    model_name = "dot_bias_mf"
    config = {"n_factors": 8, "prior": None}


def test_spectral_embedding_reconstructs_the_normalised_matrix():
    from embedzoo.zoo.spectral import spectral_embedding

    rng = np.random.default_rng(0)
    users, items = rng.integers(1, 30, 400), rng.integers(1, 20, 400)
    P, Q = spectral_embedding(users, items, 30, 20, k=20, degree_power=0.5)
    x = np.zeros((30, 20))
    x[users, items] = 1.0  # duplicates count once
    du, di = x.sum(1) + 1, x.sum(0) + 1
    normalised = x / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    # full rank (k = 20 = number of item rows): P Q^T is the matrix itself
    np.testing.assert_allclose(P @ Q.T, normalised, atol=1e-4)
    assert not P[0].any() and not Q[0].any()  # index 0 never interacted
    P3, Q3 = spectral_embedding(users, items, 30, 20, k=3, degree_power=0.5)
    s = np.linalg.svd(normalised, compute_uv=False)
    np.testing.assert_allclose(
        np.linalg.norm(P3, axis=0) * np.linalg.norm(Q3, axis=0), s[:3], rtol=1e-3
    )
    P40, _ = spectral_embedding(users, items, 30, 20, k=40)
    assert P40.shape == (30, 40) and not P40[:, 20:].any()  # beyond the rank: zero columns


def test_spectral_prior_start_penalty_and_refit(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=0)
    assert float(model.prior_ready.numpy()) == 0
    model.remember(tiny)
    start = model.user_factors.embeddings.numpy()
    # the factors start at the embedding, scaled to init_std, and the prior mean is that start
    np.testing.assert_allclose(start, model.user_prior.embeddings.numpy())
    assert start[1:].std() == pytest.approx(model.init_std, rel=1e-3) and not start[0].any()
    np.testing.assert_allclose(model.user_prior_mean.embeddings.numpy(), start, atol=1e-6)
    u = np.arange(1, 6, dtype="int32")
    model({"user": u, "item": u}, training=True)
    assert float(sum(model.losses)) == pytest.approx(0.0, abs=1e-8)  # at the prior: no penalty

    history = training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    trained = model.user_factors.embeddings.numpy()
    model.refit_prior()
    mean = model.user_prior_mean.embeddings.numpy()
    emb = model.user_prior.embeddings.numpy()
    x = np.concatenate([np.ones((len(emb), 1)), emb], 1)[1:]
    beta = np.linalg.lstsq(x, trained[1:], rcond=None)[0]
    np.testing.assert_allclose(mean[1:], x @ beta, atol=1e-5)  # least squares on the used rows
    # a later fit keeps what the first one learned (no second spectral start)
    model.remember(tiny)
    np.testing.assert_array_equal(model.user_factors.embeddings.numpy(), trained)


def test_fine_tuning_keeps_the_prior_and_gives_new_rows_zero_embedding(tiny):
    old = tiny.subset(np.flatnonzero(tiny.frame.user.to_numpy() <= 40))
    new = tiny.subset(np.flatnonzero(tiny.frame.user.to_numpy() > 40))
    model = zoo.build("dot_bias_mf", old, n_factors=4, seed=0)
    training.fit(model, old, epochs=2, batch_size=64, verbose=0)
    tuned, _ = zoo.fine_tune(model, new, freeze_old=True, epochs=1, verbose=0)
    n = model.users.size
    np.testing.assert_array_equal(
        tuned.user_prior.embeddings.numpy()[:n], model.user_prior.embeddings.numpy()
    )
    assert not tuned.user_prior.embeddings.numpy()[n:].any()
    # known rows keep their values; row 0 (unknown users) is refitted after every fit
    np.testing.assert_array_equal(
        tuned.user_factors.embeddings.numpy()[1:n], model.user_factors.embeddings.numpy()[1:]
    )


def test_files_from_before_the_prior_load_without_one(tiny, tmp_path):
    import json
    import zipfile

    model = zoo.build("dot_bias_mf", tiny, n_factors=4, prior=None, seed=0)
    training.fit(model, tiny, epochs=1, batch_size=64, verbose=0)
    path = zoo.save_model(model, tmp_path / "new.keras")
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for entry in src.infolist():
            data = src.read(entry.filename)
            if entry.filename == "config.json":
                config = json.loads(data)
                del config["config"]["prior"], config["config"]["prior_degree_power"]
                data = json.dumps(config).encode()
            dst.writestr(entry, data)
    loaded = zoo.load_model(old)
    assert loaded.prior is None
    np.testing.assert_allclose(loaded.score([1, 2], [101, 102]), model.score([1, 2], [101, 102]))
