"""Fine-tuning: vocabulary growth, frozen rows, and the held-back-users acceptance."""

import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import DataError
from embedzoo.zoo import preset_builder
from embedzoo.zoo.finetune import grow
from tests.helpers import make_ratings


@pytest.fixture(scope="module")
def base_and_new():
    data = make_ratings(n_users=80, n_items=50, n_rows=1500)
    old_rows = np.flatnonzero(data.frame.user <= 60)
    new_rows = np.flatnonzero((data.frame.user > 60) | (data.frame.item > 140))
    old, new = (
        data.subset(old_rows[data.frame.item.to_numpy()[old_rows] <= 140]),
        data.subset(new_rows),
    )
    model = zoo.build("dot_bias_mf", old, n_factors=4, seed=0)
    training.fit(model, old, epochs=3, batch_size=128, verbose=0)
    return model, old, new


def test_grow_keeps_known_rows_and_indices(base_and_new):
    model, old, new = base_and_new
    grown = grow(model, new)
    assert len(grown.users) > len(model.users) and len(grown.items) > len(model.items)
    assert grown.users.ids[: len(model.users)].tolist() == model.users.ids.tolist()
    n = model.users.size
    np.testing.assert_array_equal(
        grown.user_factors.embeddings.numpy()[:n], model.user_factors.embeddings.numpy()
    )
    users, items = old.frame.user.to_numpy()[:50], old.frame.item.to_numpy()[:50]
    np.testing.assert_allclose(grown.score(users, items), model.score(users, items), rtol=1e-6)


def test_freeze_old_keeps_known_predictions_and_learns_new_ones(base_and_new):
    model, old, new = base_and_new
    users, items = old.frame.user.to_numpy(), old.frame.item.to_numpy()
    before_new = training.rating_metrics(model, new)["rmse"]
    tuned, history = zoo.fine_tune(
        model, new, freeze_old=True, epochs=5, batch_size=64, learning_rate=0.02, verbose=0
    )
    np.testing.assert_allclose(tuned.score(users, items), model.score(users, items), rtol=1e-6)
    assert training.rating_metrics(tuned, new)["rmse"] < before_new
    assert len(history.history["loss"]) == 5
    # both the old and the new training items are excluded from recommendations
    old_user = old.frame.user.iloc[0]
    ids, scores = tuned.recommend([old_user], k=len(tuned.items))
    listed = set(ids[0][np.isfinite(scores[0])])
    assert not listed & set(old.frame.item[old.frame.user == old_user]) - {None}
    assert not listed & set(new.frame.item[new.frame.user == old_user])


def test_train_everything_moves_old_rows(base_and_new):
    model, old, new = base_and_new
    tuned, _ = zoo.fine_tune(model, new, epochs=2, batch_size=64, verbose=0)
    shared = np.intersect1d(old.items.ids, new.items.ids)
    idx_old, idx_new = model.items.lookup(shared), tuned.items.lookup(shared)
    assert not np.allclose(
        tuned.item_factors.embeddings.numpy()[idx_new],
        model.item_factors.embeddings.numpy()[idx_old],
    )


def test_wrong_id_type_is_refused(base_and_new):
    model, _, _ = base_and_new
    bad = make_ratings(string_ids=True)
    with pytest.raises(DataError, match="not an integer"):
        zoo.fine_tune(model, bad, epochs=1, verbose=0)


@pytest.mark.slow
def test_held_back_users_acceptance(embedzoo_cache):
    """Preset trained without 20% of users; fine-tune on those users' data."""
    split = preset_builder.load_split("ml100k_ratings", embedzoo_cache)
    model = zoo.load("dot_bias_mf_movielens_100k")
    before_new = training.rating_metrics(model, split.new_test)
    before_old = training.rating_metrics(model, split.test)
    assert before_new["n_unknown_user"] == before_new["n"]  # they really are new users
    tuned, _ = zoo.fine_tune(model, split.new_train, freeze_old=True, verbose=0)
    after_new = training.rating_metrics(tuned, split.new_test)
    after_old = training.rating_metrics(tuned, split.test)
    print(
        f"new users {before_new['rmse']:.4f} -> {after_new['rmse']:.4f}; "
        f"original users {before_old['rmse']:.4f} -> {after_old['rmse']:.4f}"
    )
    assert after_new["rmse"] < before_new["rmse"] - 0.1
    assert after_old["rmse"] <= before_old["rmse"] + 1e-6


def test_grow_when_user_and_item_vocabularies_have_the_same_size():
    # Model-level weights (penalty weights, popularity) are told apart by name, not by size.
    data = make_ratings(n_users=30, n_items=30, n_rows=600)
    old = data.subset(
        np.flatnonzero((data.frame.user.to_numpy() <= 20) & (data.frame.item.to_numpy() <= 120))
    )
    model = zoo.build("dot_bias_mf", old, n_factors=4, prior=None, seed=0)
    assert model.users.size == model.items.size == 21
    grown = grow(model, data)
    assert grown.users.size == data.users.size
    assert grown.user_penalty_weight.shape == (grown.users.size,)
