import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from embedzoo import datasets, training, zoo
from embedzoo.datasets import item_texts, load_lee
from embedzoo.errors import ConfigError, DataError
from tests.helpers import make_ratings
from tests.zoo.contract import ContractSuite

TOPICS = [
    "galaxy starship rebel empire planet laser pilot droid",
    "detective murder clue suspect alibi police crime witness",
    "wedding romance kiss heart lover date bride flowers",
    "dragon wizard spell castle quest sword knight magic",
]
SMALL = {
    "vector_size": 16,
    "min_count": 1,
    "epochs": 20,
    "sample": 0.0,
}  # tiny corpora: no down-sampling


def with_texts(data, seed=0):
    """Each item gets a text drawn from one of four topics (item position modulo 4)."""
    rng = np.random.default_rng(seed)
    texts = []
    for n in range(len(data.items)):
        words = TOPICS[n % 4].split()
        texts.append(" ".join(rng.choice(words, size=12)))
    frame = pd.DataFrame({"item": data.items.ids, "text": texts})
    return item_texts(frame, interactions=data)


# Content models get their texts with the interactions: the contract's fixtures, plus texts.
@pytest.fixture(scope="module")
def tiny():
    return with_texts(make_ratings())


@pytest.fixture(scope="module")
def tiny_str():
    return with_texts(make_ratings(string_ids=True, seed=1), seed=1)


class TestDoc2VecContract(ContractSuite):
    model_name = "doc2vec"
    config = SMALL
    fit_kwargs = {"epochs": 5}

    def test_training_lowers_the_loss(self, tiny):
        # gensim computes no training loss for Doc2Vec: History has one entry per epoch with
        # the decaying learning rate (and fit's epoch times) instead.
        model = self.build(tiny)
        history = training.fit(model, tiny, epochs=4, verbose=0)
        assert "loss" not in history.history
        rates = history.history["learning_rate"]
        assert len(rates) == 4 and rates[0] > rates[-1]
        assert len(history.history["epoch_seconds"]) == 4


@pytest.fixture(scope="module")
def lee():
    return load_lee()


@pytest.fixture(scope="module")
def lee_model(lee):
    model = zoo.build("doc2vec", lee, seed=0)
    model.train_on(lee, verbose=0)
    return model


def test_lee_sanity_check_own_text_ranks_first(lee, lee_model):
    texts = lee.item_metadata["text"].tolist()
    ids, _ = lee_model.similar_to_text(texts, k=1)
    share = float(np.mean(ids[:, 0] == lee.items.ids))
    assert share >= 0.90, share


def test_near_duplicate_finds_its_source(lee, lee_model):
    rng = np.random.default_rng(0)
    for item in (3, 77, 250):
        words = lee.item_metadata.loc[item, "text"].split()
        kept = [w for n, w in enumerate(words) if n % 6 != 0]  # drop every sixth word
        n = len(kept)
        i, j = rng.choice(n, 2, replace=False)
        kept[i], kept[j] = kept[j], kept[i]  # and swap two
        ids, scores = lee_model.similar_to_text([" ".join(kept)], k=3)
        assert ids[0][0] == item and scores[0][0] > scores[0][1]


def test_content_neighbours_share_a_topic(tiny):
    model = zoo.build("doc2vec", tiny, seed=0, **{**SMALL, "epochs": 40})
    training.fit(model, tiny, verbose=0)
    items = tiny.items.ids
    ids, _ = model.similar_items(items[:4], k=3)
    topic = {item: n % 4 for n, item in enumerate(items)}
    same = np.mean(
        [[topic[i] == topic[q] for i in row] for q, row in zip(items[:4], ids, strict=True)]
    )
    assert same >= 0.9
    ids, _ = model.similar_to_text(["a rebel pilot flies his starship to the empire's planet"], k=5)
    assert all(topic[i] == 0 for i in ids[0])


def test_infer_is_reproducible_across_save_load_and_processes(lee, lee_model, tmp_path):
    text = "Fires near Sydney destroyed homes as firefighters fought the blaze"
    first = lee_model.infer([text])
    np.testing.assert_array_equal(first, lee_model.infer(text))
    path = zoo.save_model(lee_model, tmp_path / "d.keras")
    loaded = zoo.load_model(path)
    np.testing.assert_array_equal(loaded.infer([text]), first)
    np.testing.assert_array_equal(
        loaded.item_table.embeddings.numpy(), lee_model.item_table.embeddings.numpy()
    )
    script = textwrap.dedent(
        f"""
        import json
        from embedzoo import zoo
        m = zoo.load_model({str(path)!r})
        print(json.dumps(m.infer([{text!r}])[0].tolist()))
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}  # gensim's own infer_vector would differ
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    np.testing.assert_array_equal(
        np.array(json.loads(proc.stdout.strip().splitlines()[-1]), "float32"), first[0]
    )


def test_texts_only_model_serves_similar_items_and_refuses_users(lee_model, tmp_path):
    assert len(lee_model.users) == 0
    with pytest.raises(DataError, match="has no users"):
        lee_model.recommend([1], k=3)
    with pytest.raises(DataError, match="has no users"):
        lee_model.score([1], [1])
    path = zoo.export(lee_model, tmp_path, "lee")
    script = textwrap.dedent(
        f"""
        import json, tensorflow as tf
        m = tf.saved_model.load({str(path)!r})
        sim = m.signatures["similar_items"](item_id=tf.constant([0, 7, 10**9], tf.int64), k=tf.constant(3))
        rec = m.signatures["recommend"](user_id=tf.constant([1], tf.int64), k=tf.constant(2))
        print(json.dumps({{"sim": sim["item_ids"].numpy().tolist(), "rec": rec["scores"].numpy().tolist()}}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["sim"] == lee_model.similar_items([0, 7, 10**9], k=3)[0].tolist()
    assert out["rec"] == [
        [0.0, 0.0]
    ]  # no users, no interactions: the (all-zero) popularity fallback


def test_items_without_usable_text_get_zero_vectors(lee):
    frame = pd.DataFrame(
        {
            "item": [1, 2, 3, 4],
            "text": [
                "the galaxy rebels fight the empire",
                "a galaxy far away with rebels",
                None,
                "the and of to",
            ],
        }
    )
    data = item_texts(frame)
    model = zoo.build("doc2vec", data, seed=0, **SMALL)
    with pytest.warns(UserWarning, match=r"2 item\(s\) have no text.*\[3, 4\]"):
        model.train_on(data, verbose=0)
    assert model.has_vector([1, 2]).all() and not model.has_vector([3, 4]).any()
    with pytest.raises(DataError, match="text 1 .* has no word this doc2vec model knows"):
        model.infer(["rebels", "the of and"])
    empty = item_texts(pd.DataFrame({"item": [1, 2], "text": ["", "of the"]}))
    with pytest.raises(DataError, match="no item text has a token"):
        zoo.build("doc2vec", empty, **SMALL).train_on(empty, verbose=0)


def test_item_texts_checks_its_input(tiny):
    with pytest.raises(DataError, match=r"missing column\(s\) \['body'\]"):
        item_texts(pd.DataFrame({"item": [1], "text": ["x"]}), text_col="body")
    with pytest.raises(DataError, match="item id 5 appears twice \\(row 2"):
        item_texts(pd.DataFrame({"item": [5, 6, 5], "text": ["a", "b", "c"]}))
    with pytest.raises(DataError, match="missing id at row 1"):
        item_texts(pd.DataFrame({"item": ["a", None], "text": ["a", "b"]}))
    with pytest.raises(DataError, match="item ids are string"):
        item_texts(pd.DataFrame({"item": ["a"], "text": ["b"]}), interactions=make_ratings())
    data = item_texts(
        pd.DataFrame({"item": [101, 999], "text": ["space", "opera"]}), interactions=make_ratings()
    )
    assert 999 in data.items and 140 in data.items  # the union of both item sets
    assert (
        data.item_metadata.loc[140, "text"] == "" and data.item_metadata.loc[999, "text"] == "opera"
    )
    assert datasets.tokenize("The Force is strong with this one!") == ["force", "strong"]
    assert datasets.tokenize("The Force", stopwords=None) == ["the", "force"]


def test_missing_text_column_is_a_clear_error():
    model = zoo.build("doc2vec", make_ratings(), **SMALL)
    with pytest.raises(DataError, match=r"needs item_metadata column\(s\) \['text'\]"):
        training.fit(model, make_ratings(), verbose=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"dm": 2},
        {"stopwords": "english"},
        {"min_token_len": 0},
        {"infer_epochs": 0},
        {"scoring": "l1"},
    ],
)
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("doc2vec", tiny, **bad)


@pytest.mark.parametrize(
    "config", [{"dm": 1, "dm_mean": 1}, {"hs": 1, "negative": 0, "dbow_words": 0}]
)
def test_pv_dm_and_hierarchical_softmax_round_trip(config, tmp_path):
    data = with_texts(make_ratings())
    model = zoo.build("doc2vec", data, seed=0, **{**SMALL, **config})
    training.fit(model, data, verbose=0)
    text = "a wizard casts a spell in the castle"
    loaded = zoo.load_model(zoo.save_model(model, tmp_path / "m.keras"))
    np.testing.assert_array_equal(loaded.infer(text), model.infer(text))
    assert (loaded.similar_to_text(text, k=3)[0] == model.similar_to_text(text, k=3)[0]).all()


def test_movielens_titles_and_genres_as_text(ml100k):
    # ~6 tokens per movie: short texts need more passes than the default 20
    model = zoo.build(
        "doc2vec", ml100k, text_column=["title", "genres"], min_count=1, epochs=60, seed=0
    )
    training.fit(model, ml100k, verbose=0)
    genres = ml100k.item_metadata["genres"].str.split("|")
    ids, _ = model.similar_items([50], k=10)  # Star Wars: Action|Adventure|Romance|Sci-Fi|War
    assert all(set(genres[i]) & set(genres[50]) for i in ids[0])
    user = 196
    ids, scores = model.recommend([user], k=10)
    assert not set(ids[0]) & set(ml100k.frame.item[ml100k.frame.user == user])
    np.testing.assert_allclose(model.score([user] * 10, ids[0]), scores[0], rtol=1e-5)
