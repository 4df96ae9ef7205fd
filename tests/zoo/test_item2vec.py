import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from embedzoo import training, zoo
from embedzoo.datasets import Interactions
from embedzoo.errors import ConfigError, DataError
from tests.zoo.contract import ContractSuite

# sample=0: gensim's down-sampling drops frequent items at random, which makes the per-epoch
# loss of a 900-row data set noisy; without it the loss falls steadily.
SMALL = {"vector_size": 16, "sample": 0.0}


class TestItem2VecContract(ContractSuite):
    model_name = "item2vec"
    config = SMALL
    fit_kwargs = {"epochs": 5}


def sequences_data():
    # user 1: 5 items, two of them at the same time (item id breaks the tie); user 2: 3 items
    # (dropped with the default min_sequence_length=4); user 3: 4 items, no tie.
    rows = [
        (1, 30, 5),
        (1, 10, 1),
        (1, 20, 3),
        (1, 25, 3),
        (1, 40, 9),
        (2, 10, 1),
        (2, 20, 2),
        (2, 30, 3),
        (3, 40, 1),
        (3, 30, 2),
        (3, 20, 3),
        (3, 10, 4),
    ]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return Interactions.from_frame(frame, timestamp_unit="order")


def test_sequences_are_time_ordered_ties_by_item_and_short_ones_dropped():
    data = sequences_data()
    model = zoo.build("item2vec", data, **SMALL)
    assert model.sequences(data) == [["10", "20", "25", "30", "40"], ["40", "30", "20", "10"]]
    keep_all = zoo.build("item2vec", data, min_sequence_length=3, **SMALL)
    assert len(keep_all.sequences(data)) == 3


def test_group_column_makes_one_sentence_per_group():
    data = sequences_data()
    data.frame["session"] = ["a", "a", "a", "b", "b", "a", "a", "a", "b", "b", "b", "b"]
    model = zoo.build("item2vec", data, group_column="session", **SMALL)
    sentences = model.sequences(data)
    assert sorted(map(len, sentences)) == [6, 6]
    with pytest.raises(DataError, match="'playlist' is not a column"):
        zoo.build("item2vec", data, group_column="playlist", **SMALL).sequences(data)


def test_no_sequence_long_enough_is_a_clear_error():
    data = sequences_data()
    model = zoo.build("item2vec", data, min_sequence_length=6, **SMALL)
    with pytest.raises(DataError, match="no 'user' sequence has >= 6 known items"):
        training.fit(model, data, verbose=0)


@pytest.mark.parametrize(
    "bad",
    [
        {"scoring": "euclid"},
        {"window": 0},
        {"sg": 2},
        {"negative": 0},
        {"history_length": 0},
        {"epochs": 0},
    ],
)
def test_bad_config(tiny, bad):
    with pytest.raises(ConfigError):
        zoo.build("item2vec", tiny, **bad)


def test_loss_is_reported_per_epoch_through_keras_callbacks(tiny, capsys):
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, logs["loss"]))

    model = zoo.build("item2vec", tiny, seed=0, **SMALL)
    history = training.fit(model, tiny, epochs=4, seed=0, verbose=1, callbacks=[Record()])
    out = capsys.readouterr().out
    assert "Epoch 4/4" in out and "loss:" in out  # the Keras progress bar
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert [loss for _, loss in seen] == history.history["loss"]
    assert len(history.history["epoch_seconds"]) == 4  # fit's EpochTimer ran too

    # gensim's own running loss is cumulative over train(): its per-epoch differences, divided
    # by the corpus' token count, are the losses the model reports.
    class Cumulative(CallbackAny2Vec):
        def __init__(self):
            self.totals = []

        def on_epoch_end(self, w2v):
            self.totals.append(w2v.get_latest_training_loss())

    sentences = model.sequences(tiny)
    w2v = Word2Vec(
        vector_size=16,
        window=20,
        min_count=1,
        sg=0,
        sample=0.0,
        seed=0,
        workers=1,
        epochs=4,
        compute_loss=True,
    )
    w2v.build_vocab(sentences)
    cumulative = Cumulative()
    w2v.train(
        sentences,
        total_examples=w2v.corpus_count,
        epochs=4,
        compute_loss=True,
        callbacks=[cumulative],
    )
    per_epoch = np.diff([0.0, *cumulative.totals]) / sum(map(len, sentences))
    np.testing.assert_allclose(history.history["loss"], per_epoch, rtol=1e-3)


def test_vectors_land_in_the_item_table_and_dropped_items_stay_zero(tiny):
    counts = tiny.frame.item.value_counts()
    min_count = int(counts.sort_values().iloc[3]) + 1  # the rarest few items fall below it
    model = zoo.build("item2vec", tiny, min_count=min_count, seed=0, **SMALL)
    training.fit(model, tiny, epochs=2, verbose=0)
    table = model.item_table.embeddings.numpy()
    np.testing.assert_array_equal(table[0], 0.0)
    wv = model.gensim_model.wv
    item = counts.index[0]
    np.testing.assert_array_equal(table[tiny.items.lookup([item])[0]], wv[str(item)])
    rare = counts[counts < min_count].index.to_numpy()
    assert len(rare) >= 1
    assert not model.has_vector(rare).any() and model.has_vector(counts.index[:5]).all()
    # a vector-less item is answered like an unknown one: the most popular items
    ids, _ = model.similar_items([rare[0]], k=3)
    assert ids[0][0] == counts.index[0]


def test_recommend_is_the_mean_of_the_last_items(tiny):
    model = zoo.build("item2vec", tiny, history_length=3, seed=0, **SMALL)
    training.fit(model, tiny, epochs=3, verbose=0)
    user = tiny.users.ids[7]
    rows = tiny.frame[tiny.frame.user == user].sort_values(["timestamp", "item"])
    last = rows.item.to_numpy()[-3:]
    np.testing.assert_array_equal(model.history_of(user), last)
    table = model.item_table.embeddings.numpy()
    query = table[tiny.items.lookup(last)].mean(0)
    scores = table @ query
    scores[0] = -np.inf
    scores[tiny.items.lookup(rows.item.to_numpy())] = -np.inf
    expected = tiny.items.ids_of(np.argsort(-scores)[:5])
    ids, got = model.recommend([user], k=5)
    np.testing.assert_array_equal(ids[0], expected)
    np.testing.assert_allclose(got[0], np.sort(scores)[::-1][:5], rtol=1e-5)


def test_cosine_scoring_and_unknown_user_popularity(tiny):
    model = zoo.build("item2vec", tiny, scoring="cosine", seed=0, **SMALL)
    training.fit(model, tiny, epochs=3, verbose=0)
    user, item = tiny.users.ids[0], tiny.items.ids[0]
    assert -1.0 <= model.score([user], [item])[0] <= 1.0
    counts = tiny.frame.item.value_counts()
    ids, scores = model.recommend([10**9], k=3)
    np.testing.assert_allclose(scores[0], counts.to_numpy()[:3] / counts.max())
    assert counts[ids[0]].tolist() == counts.to_numpy()[:3].tolist()
    np.testing.assert_allclose(model.score([10**9], [counts.index[0]]), [1.0])


def test_validation_is_not_silently_used(tiny):
    model = zoo.build("item2vec", tiny, **SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.fit(model, tiny, validation=tiny, epochs=1, verbose=0)
    assert any("validation data is not evaluated" in str(w.message) for w in caught)


def test_same_vectors_in_a_fresh_process_with_another_hash_seed(tiny, tmp_path):
    model = zoo.build("item2vec", tiny, seed=0, **SMALL)
    training.fit(model, tiny, epochs=2, seed=5, verbose=0)
    frame_path = tmp_path / "tiny.parquet"
    tiny.frame.to_parquet(frame_path)
    script = textwrap.dedent(
        f"""
        import numpy as np, pandas as pd
        from embedzoo import training, zoo
        from embedzoo.datasets import Interactions
        data = Interactions.from_frame(pd.read_parquet({str(frame_path)!r}))
        model = zoo.build("item2vec", data, seed=0, vector_size=16, sample=0.0)
        training.fit(model, data, epochs=2, seed=5, verbose=0)
        np.save({str(tmp_path / "v.npy")!r}, model.item_table.embeddings.numpy())
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), model.item_table.embeddings.numpy())


def test_movielens_100k_beats_popularity_and_star_wars_neighbours(ml100k):
    from embedzoo.training import evaluation

    train, test = evaluation.ranking_protocol(ml100k)
    item2vec = zoo.build("item2vec", train, seed=0)
    training.fit(item2vec, train, seed=0, verbose=0)
    popularity = zoo.build("popularity", train)
    training.fit(popularity, train, verbose=0)
    report = evaluation.ranking_report(
        {"item2vec": item2vec, "popularity": popularity}, train, test, samplings=("popularity",)
    ).frame
    assert report.loc["item2vec", "ndcg@10"] > 1.2 * report.loc["popularity", "ndcg@10"]
    assert report.loc["item2vec", "recall@10"] > report.loc["popularity", "recall@10"]
    ids, _ = item2vec.similar_items([50], k=10)  # Star Wars (1977)
    titles = train.item_titles(ids[0])
    assert {"Return of the Jedi", "Empire Strikes Back, The"} & set(titles)
