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
    with pytest.warns(UserWarning, match=r"\['nobody-ü'\]"):
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
        cli.main(
            [
                "recommend",
                "--model",
                str(run / "model.keras"),
                "--user",
                users[0],
                "-k",
                "3",
                "--format",
                "json",
            ]
        )  # fmt: skip
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["ids"] == list(ids[0])


def test_unknown_and_wrong_type_ids_are_named_or_refused(tmp_path, capsys):
    from embedzoo.errors import UnknownIdWarning
    from tests.helpers import make_implicit

    data = make_implicit(string_ids=True)
    model = zoo.build("bpr", data, n_factors=4, seed=0)
    training.fit(model, data, epochs=1, verbose=0)
    with pytest.warns(UnknownIdWarning, match=r"2 of 3 user id\(s\) unknown.*\['u_9999', 'x'\]"):
        ids, _ = model.recommend(["u1", "u_9999", "x"], k=3)
    with pytest.warns(UnknownIdWarning):
        fallback = model.recommend(["nobody"], k=3, exclude_seen=False)[0][0]
    assert list(ids[1]) == list(ids[2]) == list(fallback)  # the defined fallback answer
    with pytest.warns(UnknownIdWarning, match="integers, but this model's ids are strings"):
        model.similar_items([5], k=2)
    with pytest.raises(DataError, match=r"1 of 2 user id\(s\) unknown to the model: \['u_9999'\]"):
        model.recommend(["u1", "u_9999"], k=3, strict=True)
    with pytest.raises(DataError, match="item id"):
        model.score(["u1"], ["nope"], strict=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.recommend(["u1", "u2"], k=3)  # known ids: no warning
    path = tmp_path / "m.keras"
    zoo.save_model(model, path)
    capsys.readouterr()
    assert cli.main(["recommend", "--model", str(path), "--user", "u1", "--user", "u_9999"]) == 0
    err = capsys.readouterr().err
    assert err.strip() == (
        "embedzoo: warning: 1 of 2 user id(s) unknown to the model: ['u_9999']; they get the"
        " model's fallback answer (pass strict=True to refuse them)"
    )
    assert cli.main(["recommend", "--model", str(path), "--user", "u_9999", "--strict"]) == 2
    assert "unknown to the model: ['u_9999']" in capsys.readouterr().err
    assert cli.main(["similar", "--model", str(path), "--item", "42", "--strict"]) == 2
    assert "['42']" in capsys.readouterr().err  # typed text is a string id here, not an int
