import numpy as np
import pytest
import tensorflow as tf

from embedzoo import zoo
from embedzoo.core import layers


def test_scores_in_item_chunks_matches_one_block():
    rows = tf.constant(np.random.default_rng(0).normal(size=(23, 3)), tf.float32)
    users = tf.constant(np.random.default_rng(1).normal(size=(4, 3)), tf.float32)
    calls = []

    def block(chunk):
        calls.append(chunk.shape[0])
        return tf.matmul(users, chunk, transpose_b=True)

    whole = layers.scores_in_item_chunks(block, rows, width=3, chunk_elements=1000)
    chunked = layers.scores_in_item_chunks(
        block, rows, width=3, chunk_elements=15
    )  # 5 items a chunk
    assert calls == [23] + [5] * 5  # one call for the whole; 23 items padded to 5 chunks of 5
    assert chunked.shape == (4, 23)
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "name, config",
    [
        ("embedding_nn", {"hidden_layers": [8, 4]}),
        ("mlp", {"mlp_layers": [8, 4]}),
        ("neumf", {"mlp_layers": [8, 4]}),
        ("mlp", {"mlp_layers": [8]}),
    ],
)
def test_tower_models_score_all_items_in_chunks(name, config, tiny, monkeypatch):
    model = zoo.build(name, tiny, seed=0, **config)
    users = tf.constant([1, 2, 3, 0], tf.int32)
    whole = model.all_item_scores(users).numpy()
    monkeypatch.setattr(layers, "ITEM_CHUNK_ELEMENTS", 40)  # a few items per chunk
    chunked = model.all_item_scores(users).numpy()
    assert chunked.shape == (4, tiny.items.size)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
    pairwise = model(
        {
            "user": np.repeat(users.numpy(), tiny.items.size),
            "item": np.tile(np.arange(tiny.items.size), 4),
        }
    )
    np.testing.assert_allclose(chunked, np.asarray(pairwise).reshape(4, -1), rtol=1e-5, atol=1e-5)


def test_chunked_scores_export(tiny, monkeypatch, tmp_path):
    monkeypatch.setattr(layers, "ITEM_CHUNK_ELEMENTS", 40)
    model = zoo.build("embedding_nn", tiny, seed=0, hidden_layers=[8])
    ids, scores = model.recommend([1, 2, 999], k=4, exclude_seen=False)
    loaded = tf.saved_model.load(str(zoo.export(model, tmp_path, "nn")))
    out = loaded.signatures["recommend"](
        user_id=tf.constant([1, 2, 999], tf.int64), k=tf.constant(4)
    )
    np.testing.assert_array_equal(out["item_ids"].numpy(), np.asarray(ids))
    np.testing.assert_allclose(out["scores"].numpy(), np.asarray(scores), rtol=1e-5)
