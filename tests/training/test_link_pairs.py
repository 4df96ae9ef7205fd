import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from embedzoo import datasets, zoo
from embedzoo.errors import DataError
from embedzoo.training import link_pairs
from embedzoo.training.link_metrics import link_prediction_auc, neighbour_label_share, roc_auc


def test_is_the_link_models_pipeline_with_its_settings():
    model = zoo.build(
        "link_embedding",
        user_vocabulary=[1, 2],
        item_vocabulary=[5, 6],
        negative_ratio=3.0,
        classification=False,
    )
    spec = model.training_spec()
    assert spec.task == "ranking" and spec.pipeline.func is link_pairs.link_pairs
    assert spec.pipeline.keywords == {"negative_ratio": 3.0, "classification": False}
    assert spec.validation_pipeline.func is link_pairs.held_out_pairs
    assert spec.validation_pipeline.keywords == spec.pipeline.keywords


def test_is_known_is_exact():
    keys = tf.constant(np.array([3, 8, 15, 40], np.int64))
    cand = tf.constant(np.array([0, 3, 4, 8, 15, 16, 40, 41], np.int64))
    assert link_pairs.is_known(keys, cand).numpy().tolist() == [
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        False,
    ]


def batches(model, data, epochs=1, **kwargs):
    ds = link_pairs.link_pairs(model, data, seed=1, epochs=epochs, **kwargs)
    out = [(x["user"].numpy(), x["item"].numpy(), y.numpy()) for x, y in ds]
    return ds, out


def test_batches_hold_positives_and_exact_negatives(tiny):
    model = zoo.build("link_embedding", tiny, embedding_size=4)
    ds, out = batches(model, tiny, n_positive=100, negative_ratio=2.0, classification=True)
    assert int(ds.cardinality()) == 9  # ceil(900 / 100): steps per epoch = positives / n_positive
    positives = set(zip(tiny.user_index.tolist(), tiny.item_index.tolist(), strict=True))
    seen = []
    for users, items, labels in out:
        assert len(users) == 300 and users.dtype == np.int32
        assert (labels == 1).sum() == 100 and (labels == 0).sum() == 200
        pairs = list(zip(users.tolist(), items.tolist(), strict=True))
        for pair, label in zip(pairs, labels, strict=True):
            assert (pair in positives) == (label == 1)  # no negative is an accidental positive
        assert min(users) >= 1 and min(items) >= 1  # the unknown rows are never trained
        assert labels[:100].sum() not in (0, 100)  # shuffled: positives are not all in front
        seen += [p for p, lab in zip(pairs, labels, strict=True) if lab == 1]
    assert sorted(seen) == sorted(positives)  # each positive once per epoch


def test_regression_labels_and_fractional_ratio(tiny):
    model = zoo.build("link_embedding", tiny, embedding_size=4, classification=False)
    _, out = batches(model, tiny, n_positive=300, negative_ratio=0.5, classification=False)
    users, _, labels = out[0]
    assert len(users) == 450 and sorted(set(labels.tolist())) == [-1.0, 1.0]
    assert (labels == -1).sum() == 150


def test_fresh_negatives_every_epoch_and_reproducible(tiny):
    model = zoo.build("link_embedding", tiny, embedding_size=4)
    _, a = batches(model, tiny, epochs=2, n_positive=450)
    _, b = batches(model, tiny, epochs=2, n_positive=450)
    negatives = [set(zip(u[y == 0].tolist(), i[y == 0].tolist(), strict=True)) for u, i, y in a]
    assert negatives[0] != negatives[2]  # epoch 2 draws other negatives
    for (u1, i1, y1), (u2, i2, y2) in zip(a, b, strict=True):
        np.testing.assert_array_equal(u1, u2)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(y1, y2)


def test_negatives_are_uniform_over_the_grid():
    # 50 entities × 40 links, 200 positives: negatives should cover links evenly
    rng = np.random.default_rng(0)
    grid = rng.choice(50 * 40, size=200, replace=False)
    data = datasets.load_pairs(
        pd.DataFrame({"entity": grid % 50, "link": grid // 50}), min_link_count=1
    )
    model = zoo.build("link_embedding", data, embedding_size=2)
    _, out = batches(model, data, epochs=10, n_positive=200, negative_ratio=5.0)
    links = np.concatenate([u[y == 0] for u, _, y in out])
    counts = np.bincount(links, minlength=41)[1:]
    assert (
        len(links) == 10_000
        and counts.min() > 0.6 * counts.mean()
        and counts.max() < 1.4 * counts.mean()
    )


def test_bad_pipeline_input(tiny):
    model = zoo.build("link_embedding", tiny, embedding_size=4)
    other = datasets.load_pairs(pd.DataFrame({"entity": [999], "link": [12345]}), min_link_count=1)
    with pytest.raises(DataError, match="no \\(entity, link\\) pair whose ids the model knows"):
        link_pairs.link_pairs(model, other)
    from embedzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="negative_ratio must be > 0"):
        link_pairs.link_pairs(model, tiny, negative_ratio=0)


def test_labelled_pairs_and_random_pairs(tiny):
    model = zoo.build("link_embedding", tiny, embedding_size=4)
    test = tiny.subset(np.arange(50))
    rows = link_pairs.labelled_pairs(model, test, exclude=tiny, negative_ratio=2.0, seed=3).frame
    assert (rows.rating == 1).sum() == 50 and (rows.rating == 0).sum() == 100
    known = set(zip(tiny.frame.user, tiny.frame.item, strict=True))
    negatives = rows[rows.rating == 0]
    assert not known & set(zip(negatives.user, negatives.item, strict=True))
    assert len(set(zip(negatives.user, negatives.item, strict=True))) == 100  # distinct
    with pytest.raises(DataError, match="only"):
        link_pairs.random_pairs(model, 60 * 40, exclude=tiny)


def test_held_out_positives_get_negatives_outside_every_known_pair(tiny):
    # `embedzoo train link_embedding --split ...` validates on held-out positives alone (here
    # with star ratings, which are not link labels)
    train, test = tiny.subset(np.arange(50, len(tiny))), tiny.subset(np.arange(50))
    model = zoo.build("link_embedding", train, embedding_size=4, negative_ratio=2.0)
    model.remember(train)
    ds = model.training_spec().validation_dataset(model, test, batch_size=10_000)
    ((x, y),) = list(ds)
    users = model.users.ids_of(x["user"].numpy())
    items = model.items.ids_of(x["item"].numpy())
    labels = y.numpy()
    known = set(zip(tiny.frame.user, tiny.frame.item, strict=True))
    negatives = set(zip(users[labels == 0], items[labels == 0], strict=True))
    assert len(negatives) == 2 * (labels == 1).sum() and not negatives & known
    again = list(model.training_spec().validation_dataset(model, test, batch_size=10_000))
    np.testing.assert_array_equal(again[0][0]["item"], x["item"])  # one fixed draw
    labelled = link_pairs.labelled_pairs(model, test, exclude=tiny, seed=1)
    ((_, y2),) = list(model.training_spec().validation_dataset(model, labelled, batch_size=10_000))
    np.testing.assert_array_equal(y2, labelled.frame.rating)  # labels given: taken as they are


def test_roc_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.random(500) < 0.3
    scores = np.round(rng.normal(size=500) + labels, 1)  # rounding makes ties
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    with pytest.raises(DataError):
        roc_auc([0.1, 0.2], [1, 1])


def test_link_auc_and_neighbour_share_on_clustered_pairs():
    # two clusters: entities 0-19 link to every link 0-9, entities 20-39 to every link 10-19
    rows = [(e, lk) for e in range(40) for lk in range(20) if (e < 20) == (lk < 10)]
    pairs = datasets.load_pairs(pd.DataFrame(rows, columns=["entity", "link"]), min_link_count=1)
    train, test = datasets.random_split(pairs, 0.15, seed=0)
    model = zoo.build("link_embedding", train, seed=0, embedding_size=8, n_positive=64)
    from embedzoo import training

    training.fit(model, train, epochs=20, learning_rate=0.05, verbose=0)
    assert link_prediction_auc(model, test, known=pairs)["auc"] > 0.95
    labels = pd.Series({e: "low" if e < 20 else "high" for e in range(40)})
    share = neighbour_label_share(model, labels, k=5)
    assert share["share"] > 0.95 and 0.3 < share["random_share"] < 0.7 and share["entities"] == 40
