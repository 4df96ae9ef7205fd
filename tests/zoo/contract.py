"""The contract every zoo model honours, as a test mixin.

A model's test file subclasses ``ContractSuite``, sets ``model_name`` (and optionally
``config`` / ``fit_kwargs``), and inherits every test below.
"""

import inspect

import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import DataError


class ContractSuite:
    model_name: str = ""
    config: dict = {}
    fit_kwargs: dict = {"epochs": 3, "batch_size": 64}
    #: the planted-structure clause: fit settings on top of ``fit_kwargs``, and the AUC of own-
    #: over other-cluster unseen items it must reach (chance: 0.5).
    planted_fit: dict = {"epochs": 40}
    planted_auc: float = 0.8

    def build(self, data, seed=0):
        return zoo.build(self.model_name, data, seed=seed, **self.config)

    def fitted(self, data, seed=0, **fit_kwargs):
        model = self.build(data, seed=seed)
        training.fit(model, data, seed=seed, verbose=0, **{**self.fit_kwargs, **fit_kwargs})
        return model

    @pytest.fixture(scope="class")
    def model(self, tiny):
        return self.fitted(tiny)

    # -- registry and config -------------------------------------------------------------
    def test_registered_by_name(self):
        assert self.model_name in zoo.list_models()
        assert zoo.get_class(self.model_name).zoo_name == self.model_name

    def test_config_holds_every_constructor_argument(self, tiny):
        model = self.build(tiny)
        config = model.get_config()
        params = inspect.signature(type(model).__init__).parameters
        wanted = {p for p, v in params.items() if p != "self" and v.kind is not v.VAR_KEYWORD}
        assert wanted <= set(config)
        clone = type(model).from_config(config)
        assert clone.get_config() == config

    def test_unknown_config_key_is_refused(self, tiny):
        from embedzoo.errors import ConfigError

        with pytest.raises(ConfigError, match="no_such_key"):
            zoo.build(self.model_name, tiny, no_such_key=1)

    # -- training ------------------------------------------------------------------------
    def test_training_lowers_the_loss(self, tiny):
        model = self.build(tiny)
        history = training.fit(model, tiny, verbose=0, **{**self.fit_kwargs, "epochs": 5})
        losses = history.history["loss"]
        assert losses[-1] < losses[0]

    def test_same_seed_same_weights(self, tiny):
        a, b = self.fitted(tiny, seed=3), self.fitted(tiny, seed=3)
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)

    # -- inference contract --------------------------------------------------------------
    def test_recommend_excludes_training_items(self, model, tiny):
        user = tiny.frame.user.iloc[0]
        seen = set(tiny.frame.item[tiny.frame.user == user])
        ids, scores = model.recommend([user], k=len(tiny.items))
        listed = [i for i, s in zip(ids[0], scores[0], strict=True) if np.isfinite(s)]
        assert not seen & set(listed)
        assert len(listed) == len(tiny.items) - len(seen)
        assert np.all(np.diff(scores[0][np.isfinite(scores[0])]) <= 0)
        # with seen items included, the full catalogue comes back
        ids_all, _ = model.recommend([user], k=len(tiny.items), exclude_seen=False)
        assert set(ids_all[0]) == set(tiny.items.ids)

    def test_recommend_scores_match_score(self, model, tiny):
        users = tiny.frame.user.iloc[:3].tolist()
        ids, scores = model.recommend(users, k=5, exclude_seen=False)
        for u, row, srow in zip(users, ids, scores, strict=True):
            np.testing.assert_allclose(model.score([u] * 5, row), srow, rtol=1e-4, atol=1e-5)

    def test_similar_items_excludes_the_query(self, model, tiny):
        query = tiny.items.ids[:4]
        ids, scores = model.similar_items(query, k=5)
        assert ids.shape == (4, 5)
        for q, row in zip(query, ids, strict=True):
            assert q not in row
        assert np.all(scores <= 1.0 + 1e-5)

    def test_unknown_ids_get_a_defined_answer(self, model, tiny):
        unknown_user = "nobody" if tiny.users.dtype == "string" else 10**9
        unknown_item = "nothing" if tiny.items.dtype == "string" else 10**9
        known_item = tiny.items.ids[0]
        scores = model.score([unknown_user, tiny.users.ids[0]], [known_item, unknown_item])
        assert np.all(np.isfinite(scores))
        ids, scores = model.recommend([unknown_user], k=5)
        assert np.all(np.isfinite(scores)) and len(set(ids[0])) == 5
        ids, scores = model.similar_items([unknown_item], k=3)
        popular = tiny.frame.item.value_counts()
        assert ids[0][0] in set(popular[popular == popular.max()].index)

    def test_k_larger_than_catalogue_pads(self, model, tiny):
        n = len(tiny.items)
        ids, scores = model.recommend([tiny.users.ids[0]], k=n + 5, exclude_seen=False)
        assert ids.shape == (1, n)  # k is capped at the catalogue size
        with pytest.raises(ValueError):
            model.recommend([tiny.users.ids[0]], k=0)

    def test_wrong_id_type_is_a_clear_error(self, model, tiny):
        if tiny.users.dtype != "int64":
            pytest.fail("the contract fixture uses integer ids")
        with pytest.raises(DataError, match="not an integer"):
            model.score(["abc"], [tiny.items.ids[0]])

    def test_string_ids(self, tiny_str):
        model = self.fitted(tiny_str)
        ids, _ = model.recommend([tiny_str.users.ids[0]], k=3)
        assert all(isinstance(i, str) and i.startswith("i") for i in ids[0])
        assert np.isfinite(model.score(["nobody"], [tiny_str.items.ids[0]])).all()

    # -- persistence ---------------------------------------------------------------------
    def test_keras_file_round_trip(self, model, tiny, tmp_path):
        path = zoo.save_model(model, tmp_path / "m.keras")
        loaded = zoo.load_model(path)
        assert type(loaded) is type(model)
        assert loaded.get_config() == model.get_config()
        users, items = tiny.frame.user.to_numpy()[:50], tiny.frame.item.to_numpy()[:50]
        np.testing.assert_array_equal(loaded.score(users, items), model.score(users, items))
        a, b = loaded.recommend(users[:5], k=5), model.recommend(users[:5], k=5)
        np.testing.assert_array_equal(a[0], b[0])

    def test_saved_model_in_fresh_process(self, model, tiny, tmp_path, saved_model_worker):
        path = zoo.export(model, tmp_path, "m")
        assert path == tmp_path / "m" / "1"
        users = [int(u) for u in tiny.frame.user.iloc[:4]] + [10**9]
        items = [int(i) for i in tiny.frame.item.iloc[:4]] + [int(tiny.items.ids[0])]
        self.check_saved_model(model, path, users, items, "int64", saved_model_worker)

    def test_string_id_model_exported_and_reloaded(self, tiny_str, tmp_path, saved_model_worker):
        model = self.fitted(tiny_str)
        path = zoo.export(model, tmp_path, "s")
        users = [str(u) for u in tiny_str.frame.user.iloc[:3]] + ["nobody", "é-ü-α"]
        items = [str(i) for i in tiny_str.frame.item.iloc[:3]] + [
            "nothing",
            str(tiny_str.items.ids[0]),
        ]
        self.check_saved_model(model, path, users, items, "string", saved_model_worker)

    @staticmethod
    def check_saved_model(model, path, users, items, dtype, worker):
        k = {"k": [4, "int32"]}
        calls = [
            {
                "signature": "score",
                "inputs": {"user_id": [users, dtype], "item_id": [items, dtype]},
            },
            {
                "signature": "serving_default",
                "inputs": {"user_id": [users, dtype], "item_id": [items, dtype]},
            },
            {"signature": "recommend", "inputs": {"user_id": [users, dtype], **k}},
            {"signature": "similar_items", "inputs": {"item_id": [items, dtype], **k}},
        ]
        out = worker.call(path, calls)["outputs"]
        np.testing.assert_allclose(out[0]["score"], model.score(users, items), rtol=1e-5, atol=1e-6)
        assert out[1]["score"] == out[0]["score"]
        ids, scores = model.recommend(users, k=4)
        assert out[2]["item_ids"] == ids.tolist()
        np.testing.assert_allclose(out[2]["scores"], scores, rtol=1e-5, atol=1e-6)
        assert out[3]["item_ids"] == model.similar_items(items, k=4)[0].tolist()

    # -- invariants every model keeps --------------------------------------------------------
    def test_unknown_row_stays_zero(self, tiny):
        """Built on a subset of users and items, fitted on data with unknown ids: row 0 of every
        table indexed by a vocabulary gets no gradient. It stays zero, so unknown ids keep
        their defined answer, or (rating models, ``TrainingSpec.after_fit``) it is exactly the
        "average" row fitted from the trained rows after training."""
        frame = tiny.frame
        known = frame[
            frame.user.isin(frame.user.unique()[::2]) & frame.item.isin(frame.item.unique()[::2])
        ]
        subset = tiny.subset(np.flatnonzero(frame.index.isin(known.index)))
        model = zoo.build(self.model_name, subset, seed=0, **self.config)
        training.fit(model, tiny, seed=0, verbose=0, **self.fit_kwargs)
        rows = {w.path: np.array(w)[0] for w in model.weights if model.side_of(w) is not None}
        assert rows
        after_fit = model.training_spec().after_fit
        if after_fit is not None:  # refitting from the same trained rows gives the same row 0
            after_fit(tiny)
        for weight in model.weights:
            if model.side_of(weight) is not None:
                row = np.asarray(weight)[0]
                if after_fit is None:
                    assert not np.any(row), f"{weight.path}: row 0 (unknown ids) was trained: {row}"
                else:
                    np.testing.assert_allclose(row, rows[weight.path], rtol=1e-5, atol=1e-6)

    def test_slots_no_item_can_fill_hold_the_padding_id(self, model, tiny):
        user = tiny.frame.user.value_counts().index[0]
        n_seen = int((tiny.frame.user == user).sum())
        ids, scores = model.recommend([user], k=len(tiny.items))
        pad = -1 if tiny.items.dtype == "int64" else ""
        assert list(ids[0][-n_seen:]) == [pad] * n_seen
        assert np.all(np.isneginf(scores[0][-n_seen:])) and np.all(np.isfinite(scores[0][:-n_seen]))

    def test_planted_structure_is_found(self, planted):
        """On two planted clusters (users consume and rate high their own cluster's items, whose
        texts share words), the model ranks a user's unseen items of their own cluster above
        those of the other cluster: AUC over (own, other) unseen pairs, averaged over users."""
        model = self.fitted(planted, **self.planted_fit)
        users, items = planted.users.ids, planted.items.ids
        scores = model.predict_matrix(users, items).to_numpy()
        seen = planted.frame.groupby("user")["item"].apply(set)
        aucs = []
        for row, u in enumerate(users):
            unseen = np.array([i not in seen[u] for i in items])
            own = (items % 2 == u % 2) & unseen
            other = (items % 2 != u % 2) & unseen
            diff = scores[row, own][:, None] - scores[row, other][None, :]
            aucs.append(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))
        assert np.mean(aucs) >= self.planted_auc, f"planted-cluster AUC {np.mean(aucs):.3f}"

    # -- fine-tuning -----------------------------------------------------------------------
    def test_fine_tune_adds_new_ids_and_keeps_known_pairs(self, model, tiny):
        from embedzoo.datasets import Interactions
        from embedzoo.errors import ConfigError

        frame = tiny.frame.iloc[:200].copy()
        if tiny.users.dtype == "int64":
            frame["user"] = frame["user"] + 10**6
            frame.loc[frame.index[:20], "item"] = frame["item"].iloc[:20] + 10**6
        else:
            frame["user"] = "new_" + frame["user"]
            frame.loc[frame.index[:20], "item"] = "new_" + frame["item"].iloc[:20]
        new = Interactions(frame.reset_index(drop=True))
        if not model.training_spec().trained_by_keras:
            with pytest.raises(ConfigError, match="cannot be fine-tuned"):
                zoo.fine_tune(model, new, epochs=1, verbose=0)
            return
        tuned, _ = zoo.fine_tune(model, new, freeze_old=True, epochs=1, verbose=0)
        assert len(tuned.users) == len(model.users) + new.frame.user.nunique()
        assert set(new.frame.item) <= set(tuned.items.ids)
        users, items = tiny.frame.user.to_numpy()[:50], tiny.frame.item.to_numpy()[:50]
        if model.zoo_name != "popularity":  # popularity's scores are counts: new data adds to them
            np.testing.assert_allclose(
                tuned.score(users, items), model.score(users, items), rtol=1e-5, atol=1e-6
            )
        ids, scores = tuned.recommend([new.frame.user.iloc[0]], k=3)
        assert ids.shape == (1, 3) and np.all(np.isfinite(scores))
