"""Mixed precision: every Keras-trained model trains and exports under a mixed policy, with its
tables, scores and penalties in float32 and exports taking and returning float32 models' dtypes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from embedzoo import training, zoo
from embedzoo.core.layers import Embedding
from tests.helpers import make_implicit, make_ratings

MODELS = {
    "dot_bias_mf": {},
    "embedding_nn": {"hidden_layers": [16]},
    "bpr": {},
    "neumf": {"n_factors": 8, "mlp_layers": [16, 8]},
    "link_embedding": {"embedding_size": 8, "n_positive": 256},
    "two_tower": {"embedding_dim": 8, "hidden_units": [16]},
    "sasrec": {"embedding_dim": 8, "max_length": 5},
    "gru4rec": {"embedding_dim": 8, "max_length": 5},
}


@pytest.fixture(params=["mixed_float16", "mixed_bfloat16"])
def policy(request):
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy(before)


@pytest.mark.parametrize("name", list(MODELS))
def test_trains_and_exports_in_float32_at_the_boundary(name, policy, tmp_path):
    data = make_ratings() if name in ("dot_bias_mf", "embedding_nn") else make_implicit()
    model = zoo.build(name, data, seed=0, **MODELS[name])
    history = training.fit(model, data, epochs=2, batch_size=64, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    tables = [layer for layers in model.indexed_tables().values() for layer in layers]
    assert tables and all(isinstance(t, Embedding) and t.compute_dtype == "float32" for t in tables)
    assert all(t.embeddings.dtype == "float32" for t in tables)
    users, items = data.frame.user.to_numpy()[:8], data.frame.item.to_numpy()[:8]
    scores = model.score(users, items)
    assert scores.dtype == np.float32 and np.all(np.isfinite(scores))
    loaded = tf.saved_model.load(str(zoo.export(model, tmp_path, "m")))
    served = loaded.signatures["score"](user_id=tf.constant(users), item_id=tf.constant(items))
    assert served["score"].dtype == tf.float32
    np.testing.assert_allclose(served["score"].numpy(), scores, rtol=1e-5, atol=1e-6)
    rec = loaded.signatures["recommend"](user_id=tf.constant(users[:2]), k=tf.constant(3))
    assert rec["scores"].dtype == tf.float32
