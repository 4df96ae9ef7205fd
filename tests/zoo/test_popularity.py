import numpy as np
import pytest

from embedzoo import training, zoo
from tests.zoo import implicit
from tests.zoo.contract import ContractSuite

# implicit-feedback data for this module's tests (the contract suite's too)
tiny, tiny_str = implicit.tiny, implicit.tiny_str


class TestPopularityContract(ContractSuite):
    model_name = "popularity"
    fit_kwargs = {"epochs": 2}

    def test_training_lowers_the_loss(self, tiny):
        # Nothing to optimise: fit records the counts and reports one zero loss per epoch.
        model = self.build(tiny)
        history = training.fit(model, tiny, epochs=3, verbose=0)
        assert history.history["loss"] == [0.0, 0.0, 0.0]
        assert len(history.history["epoch_seconds"]) == 3
        counts = tiny.frame.item.value_counts()
        np.testing.assert_array_equal(
            model.score([tiny.users.ids[0]] * 3, counts.index[:3]), counts.to_numpy()[:3]
        )

    def test_planted_structure_is_found(self, planted):
        # The baseline has no personal structure to find; its planted structure is popularity:
        # on the planted data it ranks every user's unseen items by their training count.
        model = self.fitted(planted)
        counts = planted.frame.item.value_counts()
        user = planted.users.ids[0]
        seen = set(planted.frame.item[planted.frame.user == user])
        ids, scores = model.recommend([user], k=5)
        expected = counts[~counts.index.isin(seen)]
        np.testing.assert_array_equal(scores[0], expected.to_numpy()[:5].astype("float32"))
        assert set(ids[0]) <= set(expected.index[expected >= expected.iloc[4]])


def test_recommends_the_most_popular_unseen_items(tiny):
    model = zoo.build("popularity", tiny)
    training.fit(model, tiny, verbose=0)
    user = tiny.users.ids[0]
    seen = set(tiny.frame.item[tiny.frame.user == user])
    counts = tiny.frame.item.value_counts()
    ids, scores = model.recommend([user], k=5)
    assert not seen & set(ids[0])
    np.testing.assert_array_equal(
        scores[0], sorted(counts.drop(list(seen)).to_numpy(), reverse=True)[:5]
    )
    # similar items: the most popular others, scored relative to the top item
    sim, sim_scores = model.similar_items([counts.index[0]], k=2)
    assert list(sim[0]) == list(counts.index[1:3]) or sim_scores[0][0] == sim_scores[0][1]
    assert sim_scores[0][0] == pytest.approx(counts.iloc[1] / counts.iloc[0])
