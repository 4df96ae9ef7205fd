import numpy as np
import pytest

from embedzoo import zoo
from embedzoo.errors import ConfigError
from tests.zoo.contract import ContractSuite


class TestEmbeddingNNContract(ContractSuite):
    model_name = "embedding_nn"
    config = {
        "hidden_layers": [16, 8],
        "dropout": 0.1,
        "user_embedding_size": 6,
        "item_embedding_size": 5,
    }


def test_fastai_embedding_size_rule():
    from embedzoo.zoo.embedding_nn import default_embedding_size

    assert default_embedding_size(944) == round(1.6 * 944**0.56)
    assert default_embedding_size(10**9) == 600


def test_all_item_scores_equal_pairwise_scores(tiny):
    model = zoo.build("embedding_nn", tiny, hidden_layers=[8, 4])
    users = np.array([1, 2, 3], dtype="int32")
    full = model.all_item_scores(users).numpy()
    pairwise = model(
        {"user": np.repeat(users, tiny.items.size), "item": np.tile(np.arange(tiny.items.size), 3)}
    )
    np.testing.assert_allclose(full, np.asarray(pairwise).reshape(3, -1), rtol=1e-5, atol=1e-6)


def test_bad_config(tiny):
    with pytest.raises(ConfigError):
        zoo.build("embedding_nn", tiny, hidden_layers=[8, 4], dropout=[0.1])
