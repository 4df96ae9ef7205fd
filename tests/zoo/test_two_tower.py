import numpy as np
import pandas as pd
import pytest

from embedzoo import datasets, training, zoo
from embedzoo.errors import ConfigError, DataError
from tests.zoo import implicit
from tests.zoo.contract import ContractSuite

# implicit-feedback data for this module's tests (the contract suite's too)
tiny, tiny_str = implicit.tiny, implicit.tiny_str

SMALL = {"embedding_dim": 8, "feature_dim": 4, "hidden_units": [16]}


class TestTwoTowerContract(ContractSuite):
    """The id-only two-tower model (the tiny data sets have no feature tables)."""

    model_name = "two_tower"
    config = SMALL
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.01}


class TestTwoTowerRecentItemsContract(ContractSuite):
    """The query tower pooling each user's recent items (a weight the model grows, saves and
    exports with its users)."""

    model_name = "two_tower"
    config = {**SMALL, "recent_items": 3}
    fit_kwargs = {"epochs": 3, "batch_size": 64, "learning_rate": 0.01}


def genre_world(n_users=60, n_items=60, cold=10, seed=0):
    """Users and items of two genres ("Noir", "Musical"); users consume items of their own
    genre. The last ``cold`` items have features but no interactions. Users have an ``age``
    that tells their genre too (young: Musical)."""
    rng = np.random.default_rng(seed)
    genre = np.where(np.arange(n_items) % 2 == 0, "Noir", "Musical")
    items = pd.DataFrame(
        {"genres": [f"{g}|Drama" for g in genre], "year": 1950 + np.arange(n_items) % 40},
        index=pd.Index(np.arange(1, n_items + 1), name="item"),
    )
    user_genre = np.where(np.arange(n_users) % 2 == 0, "Noir", "Musical")
    users = pd.DataFrame(
        {"age": np.where(user_genre == "Noir", 60, 20) + rng.integers(0, 5, n_users)},
        index=pd.Index(np.arange(1, n_users + 1), name="user"),
    )
    warm = np.arange(1, n_items - cold + 1)
    rows = []
    for u in range(n_users):
        own = warm[genre[warm - 1] == user_genre[u]]
        for i in rng.choice(own, 12, replace=False):
            rows.append((u + 1, int(i)))
    frame = pd.DataFrame(rows, columns=["user", "item"])
    data = datasets.Interactions.from_frame(frame, item_metadata=items, user_metadata=users)
    return data, genre, user_genre


@pytest.fixture(scope="module")
def world():
    return genre_world()


@pytest.fixture(scope="module")
def featured(world):
    data, _, _ = world
    model = zoo.build("two_tower", data, seed=0, **SMALL)
    training.fit(model, data, epochs=30, batch_size=64, learning_rate=0.01, seed=0, verbose=0)
    return model


def test_every_item_of_the_feature_table_is_a_candidate(world, featured):
    data, _, _ = world
    assert len(data.items) == 50 and len(featured.items) == 60
    assert [s["kind"] for s in featured.item_features] == ["tokens", "bucketized"]
    assert [s["name"] for s in featured.user_features] == ["age"]
    ids, _ = featured.recommend([1], k=60, exclude_seen=False)
    assert set(range(51, 61)) <= set(ids[0].tolist())


def test_cold_items_are_ranked_by_their_features(world, featured):
    """Items no one interacted with: each user's own-genre cold items come first."""
    data, genre, user_genre = world
    cold = np.arange(51, 61)
    scores = featured.predict_matrix(data.users.ids, cold).to_numpy()
    own = genre[cold - 1][None, :] == user_genre[:, None]
    diff = [(s[o][:, None] - s[~o][None, :]).ravel() for s, o in zip(scores, own, strict=True)]
    auc = np.mean([np.mean(d > 0) for d in diff])
    assert auc >= 0.9, f"cold-item AUC {auc:.3f}"


def test_new_users_are_served_from_their_features(world, featured):
    _, genre, _ = world
    ids, scores = featured.recommend_for_features({"age": [22, 62]}, k=5)
    assert ids.shape == (2, 5) and np.all(np.isfinite(scores))
    assert np.mean(genre[ids[0] - 1] == "Musical") >= 0.8
    assert np.mean(genre[ids[1] - 1] == "Noir") >= 0.8
    # a missing value is "unknown", a column the model does not read is ignored, a frame with
    # none of its columns is an error
    ids, _ = featured.recommend_for_features(pd.DataFrame({"age": [np.nan]}), k=3)
    assert ids.shape == (1, 3)
    same, _ = featured.recommend_for_features({"age": [22, 62], "height": [1, 2]}, k=5)
    assert same.tolist() == featured.recommend_for_features({"age": [22, 62]}, k=5)[0].tolist()
    with pytest.raises(DataError, match=r"none of the columns \['height'\]"):
        featured.recommend_for_features({"height": [180]}, k=3)


def test_feature_users_are_shrunk_towards_log_popularity(featured, world):
    """recommend_for_features scores with (1 - s) · q · c / temperature + s · log share."""

    def copy(shrinkage):
        model = type(featured).from_config(
            {**featured.get_config(), "feature_shrinkage": shrinkage}
        )
        model.set_weights(featured.get_weights())
        return model

    raw = featured.feature_frame("user", {"age": [22, 62]})
    alone, prior = (copy(s).feature_scores(raw).numpy() for s in (0.0, 1.0))
    assert featured.feature_shrinkage == 0.5
    np.testing.assert_allclose(
        featured.feature_scores(raw).numpy(), 0.5 * (alone + prior), rtol=1e-5, atol=1e-5
    )
    # all the way: every feature user gets the log of the items' add-one smoothed share
    data, _, _ = world
    counts = data.frame.item.value_counts().reindex(featured.items.ids).fillna(0).to_numpy()
    share = (counts + 1) / (counts.sum() + featured.items.size)
    np.testing.assert_allclose(prior[0], prior[1], atol=1e-6)
    np.testing.assert_allclose(prior[0, 1:], np.log(share), rtol=1e-5)
    assert np.isfinite(prior[0, -1])  # an item without training rows keeps a finite prior
    assert np.ptp(alone[0] - alone[1]) > 0.1  # the features alone tell the users apart
    with pytest.raises(ConfigError, match="feature_shrinkage"):
        copy(1.5)


def test_add_items_serves_new_items_from_features_and_exports_them(
    world, featured, tmp_path, saved_model_worker
):
    data, genre, _ = world
    # the features of the cold items 51 (Noir) and 52 (Musical), under new ids
    new = data.item_metadata.loc[[51, 52]].set_axis(pd.Index([1001, 1002], name="item"))
    assert genre[50] == "Noir" and genre[51] == "Musical"
    grown = featured.add_items(new)
    assert len(grown.items) == 62 and len(featured.items) == 60
    # the known items answer as before
    np.testing.assert_allclose(
        grown.score([1, 2], [3, 4]), featured.score([1, 2], [3, 4]), rtol=1e-6
    )
    # the same features as a cold item: the same candidate vector, the same scores
    users = data.users.ids
    np.testing.assert_allclose(
        grown.score(users, np.full(len(users), 1001)), grown.score(users, np.full(len(users), 51))
    )
    noir_user, musical_user = 1, 2
    s = grown.score([noir_user, noir_user, musical_user, musical_user], [1001, 1002, 1001, 1002])
    assert s[0] > s[1] and s[3] > s[2]
    path = zoo.export(grown, tmp_path, "grown")
    calls = [
        {
            "signature": "recommend_filtered",
            "inputs": {
                "user_id": [[1], "int64"], "k": [2, "int32"],
                "allow_item_ids": [[1001, 1002], "int64"], "exclude_item_ids": [[], "int64"],
            },
        }
    ]  # fmt: skip
    out = saved_model_worker.call(path, calls)["outputs"]
    assert out[0]["item_ids"][0] == [1001, 1002]


def test_recommend_for_features_signature_matches_python(featured, tmp_path, saved_model_worker):
    path = zoo.export(featured, tmp_path, "tt")
    calls = [
        {
            "signature": "recommend_for_features",
            "inputs": {"age": [[22.0, float("nan")], "float32"], "k": [4, "int32"]},
        }
    ]
    out = saved_model_worker.call(path, calls)["outputs"]
    ids, scores = featured.recommend_for_features({"age": [22.0, np.nan]}, k=4)
    assert out[0]["item_ids"] == ids.tolist()
    np.testing.assert_allclose(out[0]["scores"], scores, rtol=1e-5, atol=1e-6)


def test_keras_file_keeps_features_and_preprocessing(featured, tmp_path):
    zoo.save_model(featured, tmp_path / "m.keras")
    loaded = zoo.load_model(tmp_path / "m.keras")
    assert loaded.item_features == featured.item_features
    a = featured.recommend_for_features({"age": [30.0]}, k=5)
    b = loaded.recommend_for_features({"age": [30.0]}, k=5)
    assert a[0].tolist() == b[0].tolist()
    np.testing.assert_allclose(loaded.score([1, 2], [55, 56]), featured.score([1, 2], [55, 56]))


def test_fine_tune_with_new_users_items_and_feature_rows(world, featured):
    data, _, _ = world
    items = pd.concat(
        [data.item_metadata, pd.DataFrame({"genres": ["Noir"], "year": [1999]},
                                          index=pd.Index([2001], name="item"))]
    )  # fmt: skip
    users = pd.DataFrame({"age": [61]}, index=pd.Index([3001], name="user"))
    frame = pd.DataFrame({"user": [3001, 3001, 1], "item": [1, 3, 2001]})
    new = datasets.Interactions.from_frame(frame, item_metadata=items, user_metadata=users)
    tuned, _ = zoo.fine_tune(featured, new, freeze_old=True, epochs=1, verbose=0)
    assert 3001 in tuned.users and 2001 in tuned.items
    codes = dict(zip([w.name for w in tuned.user_codes], tuned.user_codes, strict=True))
    row = tuned.users.lookup([3001])[0]
    assert int(np.asarray(codes["user_codes_age"])[row]) > 0  # its age was encoded
    np.testing.assert_allclose(
        tuned.score([1, 2], [3, 4]), featured.score([1, 2], [3, 4]), rtol=1e-5
    )


def test_in_batch_logits_correct_for_popularity_and_drop_accidental_hits(world):
    data, _, _ = world
    model = zoo.build("two_tower", data, seed=0, **SMALL)
    model.remember(data)
    users, items = np.array([1, 2, 3]), np.array([5, 5, 7])
    plain = zoo.build("two_tower", data, seed=0, logq_correction=False, **SMALL)
    plain.remember(data)
    none = np.zeros(0, np.int32)
    x = {"user": users, "item": items, "negatives": none}
    corrected, raw = np.asarray(model(x)), np.asarray(plain(x))
    # row 1's positive (item 5) is also row 0's: not a negative there, and vice versa
    assert corrected[0, 1] < -1e8 and corrected[1, 0] < -1e8
    popularity = np.asarray(model.item_popularity)
    q = popularity[items] / popularity.sum()  # no uniform negatives: q is the training share
    np.testing.assert_allclose(corrected[:, 2], raw[:, 2] - np.log(q[2]), rtol=1e-5)
    # with m uniform negatives over the n trained items, every column's q gains m / (b n)
    mixed = zoo.build("two_tower", data, seed=0, logq_correction=True, **SMALL)
    mixed.remember(data)
    negatives = np.array([9, 11], np.int32)
    out = np.asarray(mixed({"user": users, "item": items, "negatives": negatives}))
    plain_out = np.asarray(plain({"user": users, "item": items, "negatives": negatives}))
    n = int((popularity > 0).sum())
    q_mixed = popularity[[7, 9]] / popularity.sum() + 2 / (3 * n)
    np.testing.assert_allclose(out[:, [2, 3]], plain_out[:, [2, 3]] - np.log(q_mixed), rtol=1e-5)


def test_uniform_negatives_join_the_candidates(world):
    from embedzoo.training.negative_pipelines import in_batch

    data, _, _ = world
    model = zoo.build("two_tower", data, seed=0, uniform_negatives=7, **SMALL)
    model.remember(data)
    x, _, _ = next(iter(model.training_spec().pipeline(model, data, batch_size=16)))
    assert x["negatives"].shape == (7,) and np.all(np.asarray(x["negatives"]) >= 1)
    assert model(x, training=True).shape == (16, 23)
    again, _, _ = next(iter(in_batch(model, data, batch_size=16, uniform_negatives=7)))
    np.testing.assert_array_equal(x["negatives"], again["negatives"])  # seeded


def test_bad_feature_tables_are_clear_errors(world):
    data, _, _ = world
    dup = pd.concat([data.item_metadata, data.item_metadata.iloc[:1]])
    bad = datasets.Interactions(data.frame, item_metadata=dup, user_metadata=data.user_metadata)
    with pytest.raises(DataError, match="duplicate item id 1"):
        zoo.build("two_tower", bad)
    users = data.user_metadata.astype(object)
    users.iloc[3, 0] = "old"
    bad = datasets.Interactions(data.frame, item_metadata=data.item_metadata, user_metadata=users)
    # a column with words is categorical, unless it is said to be numbers
    assert zoo.build("two_tower", bad).user_features[0]["kind"] == "categorical"
    with pytest.raises(DataError, match="column 'age', id 4: 'old' is not a number"):
        zoo.build("two_tower", bad, feature_kinds={"age": "bucketized"})
    model = zoo.build("two_tower", data, **SMALL)  # numbers at build time, words at fit time
    with pytest.raises(DataError, match="user features: column 'age', id 4: 'old'"):
        training.fit(model, bad, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="feature_kinds=.* is not accepted"):
        zoo.build("two_tower", data, feature_kinds={"year": "fancy"})
    with pytest.raises(ConfigError, match="no feature table has"):
        zoo.build("two_tower", data, feature_kinds={"colour": "categorical"})
    with pytest.raises(ConfigError, match="use_item_ids=False needs item features"):
        zoo.build("two_tower", data, feature_kinds={"genres": "skip", "year": "skip"},
                  use_item_ids=False)  # fmt: skip


def test_feature_kinds_override_and_skip(world):
    data, _, _ = world
    model = zoo.build(
        "two_tower", data, feature_kinds={"year": "numeric", "genres": "skip"}, **SMALL
    )
    assert [(s["name"], s["kind"]) for s in model.item_features] == [("year", "numeric")]


def test_training_ids_without_features_are_reported_and_read_as_unknown(world):
    from embedzoo.errors import MissingFeaturesWarning

    data, _, _ = world
    items = data.item_metadata.drop(index=[1, 2, 3])
    partial = datasets.Interactions(
        data.frame, item_metadata=items, user_metadata=data.user_metadata
    )
    model = zoo.build("two_tower", partial, seed=0, **SMALL)
    with pytest.warns(
        MissingFeaturesWarning, match=r"3 of 50 training items have no row .*1, 2, 3"
    ):
        model.remember(partial)
    codes = np.asarray(model.item_codes[0])  # genres
    assert not np.any(codes[model.items.lookup([1, 2, 3])])  # no row: unknown (code 0)
    assert np.any(codes[model.items.lookup([4])])


def chain_world(n_users=80, n_items=40, length=12, seed=0):
    """Each user watches ``length`` consecutive items (mod ``n_items``) from a random start, in
    order: the next item is the one after the user's last, which only the order tells."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(n_items))
        rows += [(u + 1, (start + t) % n_items + 1, 10**9 + 1000 * u + t) for t in range(length)]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return datasets.Interactions.from_frame(frame)


def test_recent_items_are_each_rows_earlier_items_in_time_order():
    from embedzoo.training.negative_pipelines import in_batch

    data = chain_world(n_users=5, length=6)
    model = zoo.build("two_tower", data, seed=0, recent_items=4, **SMALL)
    model.remember(data)
    ds = in_batch(model, data, batch_size=30, shuffle=True, recent_items=4)
    x, _, _ = next(iter(ds))
    frame = data.frame.sort_values("timestamp")
    rows = zip(x["user"].numpy(), x["item"].numpy(), x["recent"].numpy(), strict=True)
    for user, item, recent in rows:
        raw_user, raw_item = model.users.ids[user - 1], model.items.ids[item - 1]
        seq = frame[frame.user == raw_user].item.tolist()
        before = seq[: seq.index(raw_item)][-4:]  # never the row's own item or a later one
        want = [0] * (4 - len(before)) + model.items.lookup(before).tolist()
        assert recent.tolist() == want
    # serving reads each user's last 4 training items
    last = model.user_recent.numpy()[model.users.lookup([1])[0]]
    assert model.items.ids[last - 1].tolist() == frame[frame.user == 1].item.tolist()[-4:]


def test_recent_items_let_the_query_follow_the_users_order():
    data = chain_world()
    truth = {u: g.item.iloc[-1] % 40 + 1 for u, g in data.frame.groupby("user")}
    users = np.array(sorted(truth))
    hits = {}
    for recent in (0, 2):
        model = zoo.build(  # no recency weights: only the history may tell the order
            "two_tower", data, seed=0, recent_items=recent, uniform_negatives=0, recency_weight=0,
            **SMALL,
        )  # fmt: skip
        training.fit(model, data, epochs=40, batch_size=128, learning_rate=0.02, seed=0, verbose=0)
        ids, _ = model.recommend(users, k=1)
        hits[recent] = float(np.mean(ids[:, 0] == [truth[u] for u in users]))
    # ids alone know which block of items a user saw, not its end: the item after it and the
    # one before it look alike to them (0.4 measured); the last items tell them apart (1.0)
    assert hits[2] > 0.9 and hits[0] < 0.6, hits
    # a user known by features alone, or unknown, has no history: the pooled part is zeros
    np.testing.assert_array_equal(model.user_recent.numpy()[0], np.zeros(2, np.int32))
