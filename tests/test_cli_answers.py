"""recommend / similar answer with titles (or any metadata column) beside the ids, as a table,
JSON or CSV; in Python, recommend_frame / similar_frame return the same as DataFrames."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from embedzoo import cli, training, zoo
from tests.helpers import make_ratings


@pytest.fixture(scope="module")
def atomic_run(tmp_path_factory):
    """A run trained on RecBole atomic files with titles (.inter + .item)."""
    d = tmp_path_factory.mktemp("toy")
    frame = make_ratings().frame
    inter = frame.rename(columns={"user": "user_id:token", "item": "item_id:token",
                                  "rating": "rating:float", "timestamp": "timestamp:float"})  # fmt: skip
    (d / "toy").mkdir()
    inter.to_csv(d / "toy" / "toy.inter", sep="\t", index=False)
    items = sorted(frame.item.unique())
    pd.DataFrame({"item_id:token": items, "movie_title:token_seq": [f"Film {i}" for i in items],
                  "class:token_seq": ["Drama Comedy"] * len(items)}).to_csv(
        d / "toy" / "toy.item", sep="\t", index=False)  # fmt: skip
    run = d / "run"
    argv = ["train", "dot_bias_mf", "--data", str(d / "toy"), "--run-dir", str(run),
            "--epochs", "2", "--set", "n_factors=4", "--verbose", "0"]  # fmt: skip
    assert cli.main(argv) == 0
    return run


def test_the_run_keeps_its_titles_and_the_answers_show_them(atomic_run, capsys):
    kept = pd.read_parquet(atomic_run / "items.parquet")
    assert kept.loc[101, "title"] == "Film 101"
    capsys.readouterr()
    assert cli.main(["recommend", "--run", str(atomic_run), "--user", "1", "-k", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["user", "rank", "item", "score", "title"]
    assert len(table) == 4 and all("Film " in line for line in table[1:])
    assert cli.main(["recommend", "--run", str(atomic_run), "--user", "1", "-k", "3",
                     "--format", "json"]) == 0  # fmt: skip
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["title"] == [f"Film {i}" for i in answer["ids"]] and len(answer["ids"]) == 3
    assert cli.main(["similar", "--run", str(atomic_run), "--item", "101", "-k", "2",
                     "--format", "csv", "--show", "genres", "--show", "title"]) == 0  # fmt: skip
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert rows.columns.tolist() == ["query_item", "rank", "item", "score", "genres", "title"]
    assert (rows.query_item == 101).all() and 101 not in rows.item.tolist()
    assert cli.main(["similar", "--run", str(atomic_run), "--item", "101", "--show", "nope"]) == 2
    assert "--show nope: no such column; columns are ['title', 'genres'" in capsys.readouterr().err


def test_frames_in_python_drop_padding_and_join_metadata():
    data = make_ratings(n_items=5, n_rows=120)
    model = zoo.build("dot_bias_mf", data, n_factors=2, seed=0)
    training.fit(model, data, epochs=1, verbose=0)
    meta = pd.DataFrame({"title": [f"t{i}" for i in data.items.ids]}, index=data.items.ids)
    user = data.frame.user.iloc[0]
    seen = set(data.frame.item[data.frame.user == user])
    frame = model.recommend_frame([user], k=5, metadata=meta)
    assert len(frame) == 5 - len(seen)  # the slots nothing can fill are left out
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert (frame.title == "t" + frame.item.astype(str)).all()
    ids, scores = model.recommend([user], k=5)
    np.testing.assert_allclose(frame.score, scores[0][: len(frame)])
    similar = model.similar_frame(data.items.ids[:2], k=2)
    assert similar.columns.tolist() == ["query_item", "rank", "item", "score"]
    assert len(similar) == 4


def test_recommendations_for_every_user_to_a_file(atomic_run, tmp_path, capsys):
    out = tmp_path / "recs.parquet"
    argv = ["recommend", "--run", str(atomic_run), "-k", "4", "--batch-users", "7"]
    assert cli.main([*argv, "--all-users", "--output", str(out)]) == 0
    recs = pd.read_parquet(out)
    model = zoo.load_model(atomic_run / "model.keras")
    assert recs.user.nunique() == len(model.users) and (recs.groupby("user").size() == 4).all()
    assert recs.columns.tolist() == ["user", "rank", "item", "score", "title"]
    some = recs[recs.user == model.users.ids[3]]
    ids, scores = model.recommend([model.users.ids[3]], k=4)
    assert some.item.tolist() == ids[0].tolist()  # batching changes nothing
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n99999\n")
    csv = tmp_path / "recs.csv"
    assert cli.main([*argv, "--users-file", str(users), "--output", str(csv)]) == 0
    assert pd.read_csv(csv).user.tolist() == [1] * 4 + [2] * 4 + [99999] * 4
    assert "1 of 3 user id(s) unknown" in capsys.readouterr().err
    assert cli.main([*argv, "--users-file", str(users), "--output", str(tmp_path / "s.parquet"),
                     "--strict"]) == 2  # fmt: skip
    assert not (tmp_path / "s.parquet").exists()
    assert cli.main([*argv, "--all-users", "--output", str(tmp_path / "r.json")]) == 2
