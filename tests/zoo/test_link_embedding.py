import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from embedzoo import datasets, training, zoo
from embedzoo.errors import ConfigError, DataError
from embedzoo.training.link_metrics import link_prediction_auc, neighbour_label_share
from embedzoo.training.losses import LogLoss, SquaredError
from tests.zoo.contract import ContractSuite


class TestLinkEmbeddingClassificationContract(ContractSuite):
    model_name = "link_embedding"
    config = {"embedding_size": 8, "n_positive": 64}


class TestLinkEmbeddingRegressionContract(ContractSuite):
    model_name = "link_embedding"
    config = {"embedding_size": 8, "classification": False, "negative_ratio": 1.0}


def fitted(data, **config):
    model = zoo.build("link_embedding", data, seed=0, **{"embedding_size": 8, **config})
    training.fit(model, data, epochs=3, batch_size=64, verbose=0)
    return model


def test_scores_are_cosines_or_their_sigmoid(tiny):
    regression = fitted(tiny, classification=False)
    users, items = tiny.frame.user[:20], tiny.frame.item[:20]
    links = regression.link_vectors().numpy()[tiny.users.lookup(users)]
    entities = regression.item_vectors().numpy()[tiny.items.lookup(items)]
    cosine = (
        (links * entities).sum(1) / np.linalg.norm(links, axis=1) / np.linalg.norm(entities, axis=1)
    )
    np.testing.assert_allclose(regression.score(users, items), cosine, rtol=1e-4, atol=1e-5)
    classification = fitted(tiny)
    links = classification.link_vectors().numpy()[tiny.users.lookup(users)]
    entities = classification.item_vectors().numpy()[tiny.items.lookup(items)]
    cosine = (
        (links * entities).sum(1) / np.linalg.norm(links, axis=1) / np.linalg.norm(entities, axis=1)
    )
    w, b = classification.cosine_scale.numpy(), classification.cosine_bias.numpy()
    np.testing.assert_allclose(
        classification.score(users, items), 1 / (1 + np.exp(-(w * cosine + b))), rtol=1e-4
    )
    assert isinstance(classification.training_spec().loss, LogLoss)
    assert isinstance(regression.training_spec().loss, SquaredError)


def test_batch_size_defaults_to_n_positive(tiny):
    model = zoo.build("link_embedding", tiny, n_positive=100)
    assert model.fit_defaults["batch_size"] == 100
    assert zoo.get_class("link_embedding").fit_defaults["batch_size"] == 1024


def test_similar_links_are_cosine_neighbours_without_the_query(tiny):
    model = fitted(tiny)
    table = model.link_vectors().numpy()
    table = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    query = tiny.users.ids[:3]
    ids, scores = model.similar_links(query, k=4)
    assert ids.shape == (3, 4)
    for q, row, srow in zip(query, ids, scores, strict=True):
        assert q not in row
        expected = table[tiny.users.lookup(row)] @ table[tiny.users.lookup([q])[0]]
        np.testing.assert_allclose(srow, expected, rtol=1e-4, atol=1e-5)
    # an unknown link gets the most used links
    ids, _ = model.similar_links([10**9], k=1)
    counts = tiny.frame.user.value_counts()
    assert ids[0][0] in set(counts[counts == counts.max()].index)
    with pytest.raises(ValueError):
        model.similar_links(query, k=0)


def test_similar_links_in_the_saved_model(tiny, tmp_path):
    model = fitted(tiny)
    path = zoo.export(model, tmp_path, "links")
    query = [int(u) for u in tiny.users.ids[:3]]
    script = textwrap.dedent(
        f"""
        import json, tensorflow as tf
        m = tf.saved_model.load({str(path)!r})
        out = m.signatures["similar_links"](link_id=tf.constant({query}, tf.int64), k=tf.constant(3))
        print(json.dumps(out["link_ids"].numpy().tolist()))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert (
        json.loads(proc.stdout.strip().splitlines()[-1])
        == model.similar_links(query, k=3)[0].tolist()
    )


@pytest.mark.parametrize(
    "bad",
    [{"negative_ratio": 0}, {"negative_ratio": -1.0}, {"embedding_size": 0}, {"n_positive": 0}],
)
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("link_embedding", tiny, **bad)


def test_more_negatives_than_exist_is_refused():
    # 3 entities × 2 links = 6 pairs, 4 positives: only 2 negatives exist
    import pandas as pd

    pairs = datasets.load_pairs(
        pd.DataFrame({"entity": [1, 2, 3, 1], "link": ["a", "a", "a", "b"]}), min_link_count=1
    )
    model = zoo.build("link_embedding", pairs, negative_ratio=1.0, embedding_size=2)
    with pytest.raises(DataError, match="needs 4 negative pairs.*only 2"):
        training.fit(model, pairs, epochs=1, verbose=0)
    small = zoo.build("link_embedding", pairs, negative_ratio=0.5, embedding_size=2, n_positive=4)
    training.fit(small, pairs, epochs=1, verbose=0)  # 2 negatives per batch: enough


@pytest.mark.slow
@pytest.mark.parametrize("classification", [True, False])
def test_ml100k_knowledge_graph_links_reach_auc_090(embedzoo_cache, classification):
    """Acceptance: held-out links vs random pairs, ROC-AUC >= 0.90, on the ML-100k KG links."""
    pairs = datasets.load_ml100k_links(embedzoo_cache, min_link_count=15)
    train, test = datasets.random_split(pairs, 0.1, seed=0)
    config = {"n_positive": 256} if classification else {"n_positive": 256, "negative_ratio": 1.0}
    model = zoo.build("link_embedding", train, seed=0, classification=classification, **config)
    training.fit(model, train, epochs=15, learning_rate=0.01, verbose=0)
    result = link_prediction_auc(model, test, known=pairs)
    assert result["positives"] > 1500
    assert result["auc"] >= 0.90, result
    # neighbours share a genre more often than random movies do (genres were trained on)
    share = neighbour_label_share(model, pairs.item_metadata["kg_genres"], k=10)
    assert share["share"] > share["random_share"] + 0.15, share
