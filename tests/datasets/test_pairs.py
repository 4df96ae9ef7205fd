import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import load_ml100k_links, load_pairs, prepare_pairs
from embedzoo.datasets.pairs import ML100K_STOP_LINKS, WIKIPEDIA_BOOK_STOP_LINKS, pairs_from_frame
from embedzoo.errors import DataError

BOOKS = pd.DataFrame(
    {
        "book": ["Dune", "Dune", "Dune", "Emma", "Emma", "Ulysses", "Ulysses", "Ulysses"],
        "wikilink": ["Frank Herbert", "Hardcover", "science fiction", "Jane Austen", "Paperback",
                     "James Joyce", "Dublin", "SCIENCE FICTION"],
    }
)  # fmt: skip


def test_prepare_lowercases_dedupes_and_drops_stop_links():
    rows = pd.concat([BOOKS, BOOKS.iloc[[2]]])  # a duplicated pair
    out = prepare_pairs(
        rows, "book", "wikilink", stop_links=WIKIPEDIA_BOOK_STOP_LINKS, min_link_count=1
    )
    assert list(out.columns) == ["entity", "link"]
    assert out.values.tolist() == [
        ["Dune", "frank herbert"], ["Dune", "science fiction"], ["Emma", "jane austen"],
        ["Ulysses", "james joyce"], ["Ulysses", "dublin"], ["Ulysses", "science fiction"],
    ]  # fmt: skip


def test_min_link_count_counts_distinct_entities():
    rows = pd.concat(
        [BOOKS, BOOKS.iloc[[0, 0]]]
    )  # Dune → Frank Herbert three times: still one entity
    out = prepare_pairs(rows, "book", "wikilink", min_link_count=2)
    assert out.values.tolist() == [["Dune", "science fiction"], ["Ulysses", "science fiction"]]


def test_without_lowercasing_case_variants_are_different_links():
    # "science fiction" and "SCIENCE FICTION" are then two links used once each
    with pytest.raises(DataError, match="min_link_count=2"):
        prepare_pairs(BOOKS, "book", "wikilink", lowercase=False, min_link_count=2)
    out = prepare_pairs(BOOKS, "book", "wikilink", lowercase=False, min_link_count=1)
    assert {"science fiction", "SCIENCE FICTION", "Hardcover"} <= set(out["link"])


def test_pairs_become_interactions_with_links_as_users():
    data = pairs_from_frame(BOOKS, "book", "wikilink", min_link_count=1, source="books")
    assert list(data.frame.columns) == ["user", "item"]
    assert set(data.items.ids) == {"Dune", "Emma", "Ulysses"}
    assert "science fiction" in data.users and "SCIENCE FICTION" not in data.users
    assert len(data) == 8  # no duplicate pair: Dune and Ulysses each link science fiction once
    assert data.source == "books"


def test_integer_ids_are_kept_and_not_lowercased():
    df = pd.DataFrame({"entity": [1, 1, 2, 2, 3], "link": [10, 20, 10, 20, 10]})
    data = load_pairs(df, min_link_count=2)
    assert data.frame.dtypes.tolist() == [np.int64, np.int64]
    assert sorted(data.users.ids.tolist()) == [10, 20]
    assert len(data) == 5


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_load_pairs_from_files_with_column_names(tmp_path, suffix):
    path = tmp_path / f"links{suffix}"
    if suffix == ".parquet":
        BOOKS.to_parquet(path)
    else:
        BOOKS.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    data = load_pairs(path, entity_col="book", link_col="wikilink", min_link_count=2)
    assert data.frame.values.tolist() == [
        ["science fiction", "Dune"],
        ["science fiction", "Ulysses"],
    ]
    assert data.source == str(path)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(DataError, match="no \\(entity, link\\) pairs"):
        load_pairs(pd.DataFrame({"entity": [], "link": []}))
    with pytest.raises(DataError, match="missing column.*'page'"):
        load_pairs(BOOKS, entity_col="book", link_col="page")
    with pytest.raises(DataError, match="min_link_count=5.*'science fiction', has 2"):
        load_pairs(BOOKS, entity_col="book", link_col="wikilink", min_link_count=5)
    with pytest.raises(DataError, match="stop-list"):
        load_pairs(
            pd.DataFrame({"entity": [1], "link": ["Paperback"]}),
            stop_links=["paperback"],
            min_link_count=1,
        )
    with pytest.raises(DataError, match="missing id at row 1"):
        load_pairs(pd.DataFrame({"entity": ["a", None], "link": ["x", "x"]}), min_link_count=1)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv.*empty file"):
        load_pairs(empty)
    with pytest.raises(DataError, match="no such file"):
        load_pairs(tmp_path / "missing.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unknown file type '.json'"):
        load_pairs(tmp_path / "x.json")


def test_ml100k_links_from_the_recbole_knowledge_graph(embedzoo_cache):
    data = load_ml100k_links(embedzoo_cache)
    assert (len(data), len(data.items), len(data.users)) == (25240, 1596, 1734)
    assert data.frame["item"].dtype == np.int64 and data.items.dtype == "int64"
    assert data.users.dtype == "string"
    assert not set(ML100K_STOP_LINKS) & set(data.users.ids)
    counts = data.frame["user"].value_counts()
    assert counts.min() >= 5
    assert data.user_metadata.loc["m.02822", "relation"] == "film.film.genre"  # the most used genre
    assert int(data.user_metadata.loc["m.02822", "movies"]) == counts["m.02822"]
    # Movie 50 in RecBole's link file is MovieLens-1M/20M's 50 (The Usual Suspects): crime
    # fiction, thriller and mystery genres, Germany among its countries.
    assert data.item_metadata.loc[50, "kg_genres"] == "m.01jfsb|m.02n4kr|m.0lsxr"
    assert {"m.0lsxr", "m.01jfsb", "m.02n4kr"} <= set(
        data.frame.loc[data.frame["item"] == 50, "user"]
    )
    assert "title" not in data.item_metadata.columns  # ML-100k titles would name other films


def test_ml100k_links_join_movie_metadata_by_ml1m_id(embedzoo_cache):
    movies = pd.DataFrame(
        {"title": ["Usual Suspects, The (1995)", "Star Wars (1977)"]}, index=[50, 260]
    )
    data = load_ml100k_links(embedzoo_cache, movies=movies)
    assert data.item_metadata.loc[260, "title"] == "Star Wars (1977)"
    assert data.item_metadata["title"].notna().sum() == 2
    assert data.item_metadata.loc[260, "kg_genres"] != ""


def test_ml100k_links_relation_filter(embedzoo_cache):
    data = load_ml100k_links(
        embedzoo_cache, relations=["film.film.genre", "film.film_genre.films_in_this_genre"]
    )
    assert set(data.user_metadata["relation"]) == {"film.film.genre"}
    with pytest.raises(DataError, match="no relation"):
        load_ml100k_links(embedzoo_cache, relations=["film.film.budget"])
