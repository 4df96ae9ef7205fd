"""Tables split over several variables (``table_shards``) answer and train like one table."""

import numpy as np
import pytest
import tensorflow as tf

from embedzoo import training, zoo
from embedzoo.core.layers import Embedding
from embedzoo.errors import ConfigError
from embedzoo.zoo.saving import load_model
from tests.helpers import make_implicit, make_ratings

MODELS = {
    "dot_bias_mf": {},
    "embedding_nn": {"dropout": 0.0, "hidden_layers": [16]},
    "bpr": {},
    "gmf": {"n_factors": 8},
    "mlp": {"mlp_layers": [16, 8]},
    "neumf": {"n_factors": 8, "mlp_layers": [16, 8]},
    "link_embedding": {"embedding_size": 8, "n_positive": 256},
    "two_tower": {"embedding_dim": 8, "hidden_units": [16]},
    "sasrec": {"embedding_dim": 8, "max_length": 5},
    "gru4rec": {"embedding_dim": 8, "max_length": 5},
}


def data_for(name):
    return make_ratings() if name in ("dot_bias_mf", "embedding_nn") else make_implicit()


def copy_into(source, target):
    """``target`` (sharded) gets ``source``'s weights, tables whole."""
    from_tables, to_tables = source.indexed_tables(), target.indexed_tables()
    table_vars = set()
    for side in from_tables:
        for a, b in zip(from_tables[side], to_tables[side], strict=True):
            b.assign_table(a.table())
            table_vars.update(id(v) for v in (*a.table_variables(), *b.table_variables()))
    rest_a = [w for w in source.weights if id(w) not in table_vars]
    rest_b = [w for w in target.weights if id(w) not in table_vars]
    for a, b in zip(rest_a, rest_b, strict=True):
        b.assign(a)


def test_embedding_shards_are_consecutive_row_ranges():
    layer = Embedding(11, 2, shards=4)
    assert layer.shard_rows() == [3, 3, 3, 2]
    table = np.arange(22, dtype="float32").reshape(11, 2)
    layer.assign_table(table)
    np.testing.assert_array_equal(layer.table().numpy(), table)
    np.testing.assert_array_equal(layer.table_variables()[1].numpy(), table[3:6])
    ids = np.array([[0, 10], [4, 7]])
    np.testing.assert_array_equal(layer(ids).numpy(), table[ids])
    assert Embedding(2, 3, shards=5).shards == 2  # never an empty shard
    with pytest.raises(ValueError, match="shards"):
        Embedding(4, 2, shards=0)


def test_gradient_of_a_sharded_lookup_is_row_slices_of_each_shard():
    layer = Embedding(10, 3, shards=2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant([1, 7, 7])))
    grads = tape.gradient(loss, layer.table_variables())
    assert all(isinstance(g, tf.IndexedSlices) for g in grads)
    assert sorted(grads[0].indices.numpy().tolist()) == [1]
    assert sorted(grads[1].indices.numpy().tolist()) == [2, 2]  # row 7 is row 2 of shard 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sharded_model_trains_and_answers_like_the_unsharded_one(name, tmp_path):
    data = data_for(name)
    one = zoo.build(name, data, seed=0, **MODELS[name])
    split = zoo.build(name, data, seed=0, table_shards=3, **MODELS[name])
    assert split.get_config()["table_shards"] == 3 and "table_shards" not in one.get_config()
    tables = [t for layers in split.indexed_tables().values() for t in layers]
    assert tables and all(len(t.table_variables()) == 3 for t in tables)
    copy_into(one, split)
    fit = dict(epochs=1, batch_size=256, seed=0, verbose=0)
    loss_one = training.fit(one, data, **fit).history["loss"]
    loss_split = training.fit(split, data, **fit).history["loss"]
    np.testing.assert_allclose(loss_split, loss_one, rtol=1e-5)
    users = data.users.to_list()[:6]
    ids_one, scores_one = one.recommend(users, k=5)
    ids_split, scores_split = split.recommend(users, k=5)
    np.testing.assert_array_equal(ids_split, ids_one)
    np.testing.assert_allclose(scores_split, scores_one, rtol=1e-5, atol=1e-6)
    items = data.items.to_list()[:4]
    np.testing.assert_allclose(
        split.similar_items(items, k=3)[1], one.similar_items(items, k=3)[1], rtol=1e-5, atol=1e-6
    )
    # .keras round trip keeps the shards
    path = tmp_path / f"{name}.keras"
    split.save(path)
    loaded = load_model(path)
    assert loaded.table_shards == 3
    np.testing.assert_allclose(loaded.recommend(users, k=5)[1], scores_split, rtol=1e-6)


def test_sharded_export_serves_what_the_unsharded_export_serves(tmp_path):
    data = make_implicit()
    one = zoo.build("bpr", data, seed=0)
    training.fit(one, data, epochs=2, batch_size=256, seed=0, verbose=0)
    split = zoo.build("bpr", data, seed=0, table_shards=2)
    split.remember(data)  # the training memory (seen items) that fit keeps
    copy_into(one, split)
    served = {}
    for label, model in (("one", one), ("split", split)):
        loaded = tf.saved_model.load(str(zoo.export(model, tmp_path, label)))
        users = tf.constant([1, 5, 10**9], tf.int64)
        out = loaded.signatures["recommend"](user_id=users, k=tf.constant(4))
        served[label] = (sorted(loaded.signatures), {k: v.numpy() for k, v in out.items()})
    assert served["one"][0] == served["split"][0]
    for key, value in served["one"][1].items():
        np.testing.assert_allclose(served["split"][1][key], value, rtol=1e-6)


def test_fine_tuning_grows_a_sharded_table(tmp_path):
    data = make_ratings()
    model = zoo.build("dot_bias_mf", data, seed=0, table_shards=2)
    training.fit(model, data, epochs=1, batch_size=256, seed=0, verbose=0)
    before = model.user_factors.table().numpy()
    new = make_ratings(n_users=70, n_rows=300, seed=1)
    grown, _ = zoo.fine_tune(model, new, epochs=1, freeze_old=True, verbose=0)
    assert grown.table_shards == 2 and grown.users.size > model.users.size
    np.testing.assert_array_equal(grown.user_factors.table().numpy()[: len(before)], before)


def test_bad_table_shards_is_a_config_error():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="table_shards"):
            zoo.build("bpr", make_implicit(), table_shards=bad)
