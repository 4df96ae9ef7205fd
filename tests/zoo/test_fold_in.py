"""New users answered at request time from their items alone (recommend_for_items): a fold-in
of a known user's own training items ranks close to that user's learned recommendations, in
Python and in the SavedModel's `recommend_for_items` signature."""

import numpy as np
import pytest
import tensorflow as tf

from embedzoo import training, zoo
from embedzoo.errors import ConfigError
from tests.helpers import make_implicit, make_ratings


def _overlap(a, b, k=10):
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


# (model, data, config, least overlap@10 with the learned top-10). Measured on this synthetic
# data: bpr 0.93, dot_bias_mf 0.72, gmf 0.21 (popularity agrees 0.38, 0.24 and 0.05),
# item2vec 1.0 (the fold-in pools the same vectors as the learned history).
CASES = [
    ("bpr", make_implicit, {"n_factors": 8}, 0.8),
    ("dot_bias_mf", lambda **kw: make_ratings(n_rows=4000, **kw), {"n_factors": 8}, 0.6),
    ("gmf", make_implicit, {"n_factors": 8}, 0.15),
    ("item2vec", make_implicit, {}, 0.99),
]


@pytest.mark.parametrize(("name", "make", "config", "least"), CASES, ids=[c[0] for c in CASES])
def test_a_fold_in_of_a_users_items_is_close_to_their_learned_list(name, make, config, least):
    data = make(n_users=200, n_items=80)
    model = zoo.build(name, data, seed=0, **config)
    training.fit(model, data, verbose=0, **({} if name == "item2vec" else {"epochs": 10}))
    users = data.users.ids[:50]
    learned, _ = model.recommend(users, k=10)
    lists = [data.frame.item[data.frame.user == u].tolist() for u in users]
    folded, scores = model.recommend_for_items(lists, k=10)
    assert _overlap(learned, folded) >= least
    popular, _ = model.recommend_for_items([[]] * len(users), k=10)
    assert _overlap(learned, folded) > _overlap(learned, popular)
    for own, row in zip(lists, folded, strict=True):
        assert not set(own) & set(row)  # a new user's own items are never recommended
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_the_saved_model_answers_new_users_and_unsupported_models_say_so(tmp_path):
    data = make_implicit(string_ids=True)
    model = zoo.build("bpr", data, n_factors=4, seed=0)
    training.fit(model, data, epochs=3, verbose=0)
    lists = [["i1", "i2", "i3"], ["i5"]]
    ids, _ = model.recommend_for_items(lists, k=5)
    path = zoo.export(model, tmp_path, "bpr")
    served = tf.saved_model.load(str(path)).signatures["recommend_for_items"]
    padded = tf.constant([[b"i1", b"i2", b"i3"], [b"i5", b"", b""]])
    out = served(item_id_lists=padded, k=tf.constant(5))["item_ids"].numpy()
    np.testing.assert_array_equal(np.vectorize(lambda b: b.decode())(out), ids)
    with pytest.warns(UserWarning, match=r"\['nope'\]"):
        model.recommend_for_items([["i1", "nope"]], k=3)
    mlp = zoo.build("mlp", data, seed=0)
    with pytest.raises(ConfigError, match="mlp cannot answer new users from their items"):
        mlp.recommend_for_items([["i1"]], k=3)
    assert "recommend_for_items" not in mlp.serving_endpoints()
