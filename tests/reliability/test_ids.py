"""Ids: any Unicode string works everywhere; values that cannot be ids are refused with the
column and row."""

import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from embedzoo import cli, training, zoo
from embedzoo.datasets import Interactions
from embedzoo.errors import DataError

UNICODE = ["é", "α-β", "😀", "日本", "naïve café", "a b"]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ([1, np.nan, 3], "missing or non-finite id at row 1"),
        (["a", None, "c"], "missing id at row 1"),
        (["a", "", "c"], "empty id at row 1"),
        (["a", "  ", "c"], "empty id at row 1"),
        ([1.0, 2.5, 3.0], "non-integer numeric id 2.5 at row 1"),
        ([True, False, True], "booleans"),
    ],
)
def test_values_that_cannot_be_ids_are_named(column, message):
    frame = pd.DataFrame({"user": column, "item": ["x", "y", "z"]})
    with pytest.raises(DataError, match=f"column 'user'.*{message}"):
        Interactions.from_frame(frame)


def test_unicode_ids_in_python_the_cli_and_the_saved_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    users = [f"{u}-{i}" for i in range(8) for u in UNICODE]
    rows = [(u, f"{it}-{j}") for u in users for j, it in enumerate(rng.permutation(UNICODE)[:4])]
    frame = pd.DataFrame(rows, columns=["user", "item"]).assign(rating=4.0)
    data = Interactions.from_frame(frame)
    model = zoo.build("bpr", data, n_factors=4, seed=0)
    training.fit(model, data, epochs=1, verbose=0)
    ids, scores = model.recommend([users[0], "nobody-ü"], k=3)
    assert all(isinstance(i, str) for i in ids[0]) and np.isfinite(scores).all()
    sims, _ = model.similar_items(["😀-0"], k=2)
    assert "😀-0" not in list(sims[0])
    path = zoo.export(model, tmp_path, "u")
    served = tf.saved_model.load(str(path)).signatures["recommend"](
        user_id=tf.constant([users[0].encode()]), k=tf.constant(3)
    )
    assert [s.decode() for s in served["item_ids"].numpy()[0]] == list(ids[0])
    run = tmp_path / "run"
    zoo.save_model(model, run / "model.keras")
    assert (
        cli.main(["recommend", "--model", str(run / "model.keras"), "--user", users[0], "-k", "3"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["ids"] == list(ids[0])
