"""Per-request item filters: an allow-list and an exclude-list, in Python, the CLI and the
SavedModel's `recommend_filtered` signature (implicit's `items` / `filter_items`)."""

import json

import numpy as np
import tensorflow as tf

from embedzoo import cli, training, zoo
from tests.helpers import make_ratings


def test_allow_and_exclude_lists_everywhere(tmp_path, capsys):
    data = make_ratings(string_ids=True, seed=3)
    model = zoo.build("dot_bias_mf", data, n_factors=4, seed=0)
    training.fit(model, data, epochs=2, verbose=0)
    users = list(data.users.ids[:3])
    full, _ = model.recommend(users, k=10)
    allow = list(data.items.ids[::3])
    only, _ = model.recommend(users, k=10, items=allow)
    for row in only:
        kept = [i for i in row if i != ""]
        assert kept and set(kept) <= set(allow)
    banned = [full[0][0], full[0][1]]
    rest, scores = model.recommend(users, k=10, filter_items=banned)
    assert not set(banned) & set(rest[0]) and list(rest[0][:8]) == list(full[0][2:10])
    both, _ = model.recommend(users, k=10, items=allow, filter_items=allow[:2])
    assert not set(allow[:2]) & set(both.ravel())
    path = zoo.export(model, tmp_path, "m")
    served = tf.saved_model.load(str(path)).signatures["recommend_filtered"]
    out = served(user_id=tf.constant([u.encode() for u in users]), k=tf.constant(10),
                 allow_item_ids=tf.constant([a.encode() for a in allow]),
                 exclude_item_ids=tf.constant([], tf.string))  # fmt: skip
    got = np.vectorize(lambda b: b.decode())(out["item_ids"].numpy())
    np.testing.assert_array_equal(got, only)
    none = served(user_id=tf.constant([users[0].encode()]), k=tf.constant(10),
                  allow_item_ids=tf.constant([], tf.string),
                  exclude_item_ids=tf.constant([], tf.string))  # fmt: skip
    assert [b.decode() for b in none["item_ids"].numpy()[0]] == list(full[0])  # empty: no filter
    saved = tmp_path / "m.keras"
    zoo.save_model(model, saved)
    capsys.readouterr()
    argv = ["recommend", "--model", str(saved), "--user", users[0], "-k", "10", "--format", "json"]
    assert (
        cli.main([*argv, "--exclude-item", str(banned[0]), "--exclude-item", str(banned[1])]) == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["ids"] == list(rest[0])


def test_tfsm_layer_calls_the_serve_endpoint(tmp_path):
    import keras

    data = make_ratings()
    model = zoo.build("dot_bias_mf", data, n_factors=4, seed=0)
    training.fit(model, data, epochs=1, verbose=0)
    path = zoo.export(model, tmp_path, "m")
    layer = keras.layers.TFSMLayer(str(path))  # the default endpoint, "serve"
    users, items = data.frame.user.to_numpy()[:5], data.frame.item.to_numpy()[:5]
    out = layer({"user_id": tf.constant(users), "item_id": tf.constant(items)})
    np.testing.assert_allclose(out["score"].numpy(), model.score(users, items), rtol=1e-6)
