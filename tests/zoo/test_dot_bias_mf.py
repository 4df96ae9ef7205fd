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


def test_unknown_user_score_is_the_bias_only_score(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4)
    training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    item = tiny.items.ids[3]
    logit = model.global_bias.numpy() + model.item_bias.embeddings.numpy()[tiny.items.lookup([item])[0], 0]
    expected = 5.5 / (1 + np.exp(-logit))
    np.testing.assert_allclose(model.score([10**9], [item]), [expected], rtol=1e-5)


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
    np.testing.assert_allclose(frame.loc[users[1], items[2]], model.score([users[1]], [items[2]])[0])


@pytest.mark.parametrize("bad", [{"n_factors": 0}, {"y_range": (5, 1)}])
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("dot_bias_mf", tiny, **bad)
