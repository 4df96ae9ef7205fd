"""Entity–link pairs: the data of link embeddings (books ↔ the wiki pages they link to).

A pair says that an entity (a book, a movie) links to something (a wiki page, an actor, a
genre). Pairs become :class:`~embedzoo.datasets.Interactions` with **links as users and
entities as items**, so every zoo tool works on them unchanged: ``zoo.build(name, pairs)``,
``fit``, splits, and ``similar_items`` giving an entity's nearest entities.

The preparation follows Will Koehrsen's "Wikipedia books" recipe: lower-case link names, drop
links that say nothing about similarity (a stop-list, e.g. "paperback"), keep links that at
least ``min_link_count`` entities use, and count each (entity, link) pair once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import ITEM, USER, Interactions, _as_id_array
from embedzoo.errors import DataError

ENTITY, LINK = "entity", "link"

#: The original recipe's stop-list: links present on most book articles.
WIKIPEDIA_BOOK_STOP_LINKS = (
    "hardcover",
    "paperback",
    "hardback",
    "e-book",
    "wikipedia:wikiproject books",
    "wikipedia:wikiproject novels",
)
#: Freebase entities on most MovieLens-100k movies: English (film.film.language, 1,435 of
#: 1,598 linked movies) and the United States (film.film.country, 1,278).
ML100K_STOP_LINKS = ("m.02h40lc", "m.09c7w0")


def prepare_pairs(
    frame: pd.DataFrame,
    entity_col: str = ENTITY,
    link_col: str = LINK,
    lowercase: bool = True,
    stop_links: Iterable[str] | None = None,
    min_link_count: int = 5,
    dedupe: bool = True,
    source: str | None = None,
) -> pd.DataFrame:
    """Cleans (entity, link) rows the way the original recipe did.

    Steps, in order: string link names are lower-cased (``lowercase``); duplicate pairs are
    dropped (``dedupe``, first occurrence kept); links in ``stop_links`` are dropped (compared
    after lower-casing); links that fewer than ``min_link_count`` distinct entities use are
    dropped. Integer links are left as they are.

    Args:
        frame: a DataFrame with the two id columns.
        entity_col, link_col: their names.
        lowercase: lower-case string link names.
        stop_links: links to drop.
        min_link_count: the fewest entities a link needs to be kept (original: 5).
        dedupe: keep one row per (entity, link).
        source: a name for error messages.

    Returns:
        A DataFrame with columns ``entity`` and ``link``, rows in their original order.

    Raises:
        DataError: a missing column or id, no rows, or nothing left after a step (which step
            and why is named).

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets.pairs import prepare_pairs
        >>> df = pd.DataFrame({"entity": ["a", "a", "b", "b"], "link": ["X", "x", "x", "y"]})
        >>> prepare_pairs(df, min_link_count=2).values.tolist()
        [['a', 'x'], ['b', 'x']]
    """
    where = source or "pairs"
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: expected a DataFrame of ({entity_col}, {link_col}) rows")
    missing = [c for c in (entity_col, link_col) if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; columns are {list(frame.columns)}")
    if len(frame) == 0:
        raise DataError(f"{where}: no (entity, link) pairs")
    if int(min_link_count) < 1:
        raise DataError(f"{where}: min_link_count must be >= 1, got {min_link_count}")
    out = pd.DataFrame(
        {
            ENTITY: _as_id_array(frame[entity_col], f"{where}: column {entity_col!r}", data=True),
            LINK: _as_id_array(frame[link_col], f"{where}: column {link_col!r}", data=True),
        }
    )
    is_text = out[LINK].dtype.kind not in "iu"  # object or pandas' str dtype
    if lowercase and is_text:
        out[LINK] = out[LINK].str.lower()
    if dedupe:
        out = out.drop_duplicates([ENTITY, LINK], keep="first")
    if stop_links:
        stops = {str(s).lower() if lowercase else str(s) for s in stop_links}
        out = out[~out[LINK].astype(str).isin(stops).to_numpy()]
        if len(out) == 0:
            raise DataError(f"{where}: every link is in the stop-list")
    counts = out.drop_duplicates([ENTITY, LINK])[LINK].value_counts()
    keep = counts.index[counts.to_numpy() >= int(min_link_count)]
    if len(keep) == 0:
        raise DataError(
            f"{where}: no link is used by at least min_link_count={min_link_count} entities "
            f"(the most used, {counts.index[0]!r}, has {int(counts.iloc[0])}); lower min_link_count"
        )
    out = out[out[LINK].isin(keep).to_numpy()]
    return out.reset_index(drop=True)


def pairs_from_frame(
    frame: pd.DataFrame,
    entity_col: str = ENTITY,
    link_col: str = LINK,
    item_metadata: pd.DataFrame | None = None,
    link_metadata: pd.DataFrame | None = None,
    source: str | None = None,
    **prepare,
) -> Interactions:
    """(entity, link) rows → ``Interactions`` with links as users and entities as items.

    Args:
        frame: the rows.
        entity_col, link_col: their column names.
        item_metadata: entity metadata indexed by entity id (``title``, ``genres``...).
        link_metadata: link metadata indexed by link id (kept as ``user_metadata``).
        source: a name for error messages.
        **prepare: :func:`prepare_pairs` options (``lowercase``, ``stop_links``,
            ``min_link_count``, ``dedupe``).

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets.pairs import pairs_from_frame
        >>> df = pd.DataFrame({"book": [1, 2, 2], "page": ["Fantasy", "fantasy", "Magic"]})
        >>> data = pairs_from_frame(df, "book", "page", min_link_count=1)
        >>> data.frame.values.tolist()
        [['fantasy', 1], ['fantasy', 2], ['magic', 2]]
    """
    clean = prepare_pairs(frame, entity_col, link_col, source=source, **prepare)
    rows = pd.DataFrame({USER: clean[LINK].to_numpy(), ITEM: clean[ENTITY].to_numpy()})
    return Interactions(
        rows, item_metadata=item_metadata, user_metadata=link_metadata, source=source
    )


def load_pairs(
    source: str | os.PathLike | pd.DataFrame,
    entity_col: str = ENTITY,
    link_col: str = LINK,
    sep: str | None = None,
    **options,
) -> Interactions:
    """Loads (entity, link) pairs from a CSV/TSV/Parquet file or a DataFrame.

    Args:
        source: a ``.csv``/``.tsv``/``.parquet`` path or a DataFrame.
        entity_col, link_col: column names (overridable, like every embedzoo reader).
        sep: CSV separator; default tab for ``.tsv``, else comma.
        **options: :func:`pairs_from_frame` options (``min_link_count``, ``stop_links``,
            ``lowercase``, ``dedupe``, ``item_metadata``, ``link_metadata``).

    Returns:
        ``Interactions`` whose ``user`` column holds links and ``item`` column entities.

    Example:
        >>> from embedzoo.datasets import load_pairs
        >>> books = load_pairs("book_links.csv", entity_col="book", link_col="wikilink", min_link_count=2)
        >>> books.frame.values.tolist()  # (link, entity) rows; only "Novel" links 2+ books
        [['novel', 'Dune'], ['novel', 'Emma'], ['novel', 'Ubik']]
    """
    if isinstance(source, pd.DataFrame):
        return pairs_from_frame(source, entity_col, link_col, source="DataFrame", **options)
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv", ".tab", ".txt"):
            frame = pd.read_csv(path, sep=sep or ("\t" if suffix in (".tsv", ".tab") else ","))
        else:
            raise DataError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv or .parquet")
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no (entity, link) pairs (empty file)") from None
    except Exception as e:  # pandas and pyarrow raise many unrelated types for bad files
        raise DataError(f"{path}: cannot read: {e}") from e
    return pairs_from_frame(frame, entity_col, link_col, source=str(path), **options)


def load_ml100k_links(
    cache_dir: str | os.PathLike | None = None,
    relations: Iterable[str] | None = None,
    stop_links: Iterable[str] | None = ML100K_STOP_LINKS,
    min_link_count: int = 5,
    movies: pd.DataFrame | None = None,
) -> Interactions:
    """Movies and the knowledge-graph entities they link to, from RecBole's MovieLens-100k files.

    ``ml-100k.link`` maps a movie id to its Freebase entity; each ``ml-100k.kg`` triple with
    that entity at either end makes the other end (an actor, a genre, an award, a sequel...)
    one of the movie's links. Entities are the movie ids of ``ml-100k.link`` (int64), links
    Freebase ids (``"m.0lsxr"``).

    **The movie ids are MovieLens-1M/20M ids, not MovieLens-100k's.** RecBole made the file by
    joining ML-100k item ids with KB4Rec's Freebase map, which is keyed by ML-1M/20M movie ids
    (RUCAIBox/RecSysDatasets issue 130): entity 50 is The Usual Suspects (ML-1M id 50; crime
    fiction, thriller and mystery in the graph), not Star Wars (ML-100k id 50, ML-1M id 260).
    So ML-100k's titles are *not* attached; pass ``movies=load_movielens("ml-1m").item_metadata``
    (any frame indexed by ML-1M movie id) for titles and genres.

    ``item_metadata`` always holds ``kg_genres``: each movie's ``film.film.genre`` entities,
    ``|``-joined (from the whole graph, whatever ``relations`` keeps). ``user_metadata`` gives
    each link's ``relation`` (read from the movie, e.g. ``film.film.genre``) and how many
    movies use it (``movies``).

    Args:
        cache_dir: the download cache (see :func:`~embedzoo.datasets.recbole_example`).
        relations: keep only triples of these relations (default: all).
        stop_links: links to drop (default: English and the United States, on most movies).
        min_link_count: the fewest movies a link needs (default 5, as in the original recipe).
        movies: metadata indexed by ML-1M movie id, joined into ``item_metadata``.

    Example:
        >>> from embedzoo.datasets import load_ml100k_links
        >>> links = load_ml100k_links()  # doctest: +SKIP
        >>> len(links), len(links.items), len(links.users)  # doctest: +SKIP
        (25240, 1596, 1734)
    """
    from embedzoo.datasets.recbole import read_atomic_file, recbole_example

    folder = recbole_example("ml-100k", cache_dir)
    kg_path = folder / "ml-100k.kg"
    kg = read_atomic_file(kg_path)
    link = read_atomic_file(folder / "ml-100k.link")
    movie_of = pd.Series(
        link["item_id"].astype(np.int64).to_numpy(), index=link["entity_id"].to_numpy()
    )
    rows = _movie_links(kg, movie_of)
    genre_rows = rows[rows["relation"].to_numpy() == "film.film.genre"]
    kg_genres = genre_rows.groupby(ENTITY)[LINK].agg(lambda v: "|".join(sorted(set(v))))
    if relations is not None:
        wanted = set(relations)
        unknown = sorted(wanted - set(kg["relation_id"]))
        if unknown:
            raise DataError(f"{kg_path}: no relation(s) {unknown}")
        rows = rows[rows["relation"].isin(wanted).to_numpy()]
    names = (
        rows.sort_values("outward", kind="stable").drop_duplicates(LINK).set_index(LINK)["relation"]
    )
    data = pairs_from_frame(
        rows,
        source=str(kg_path),
        lowercase=False,
        stop_links=stop_links,
        min_link_count=min_link_count,
    )
    meta = pd.DataFrame({"kg_genres": kg_genres.reindex(data.items.ids).fillna("").to_numpy()},
                        index=pd.Index(data.items.ids, name=ITEM))  # fmt: skip
    if movies is not None:
        meta = movies.reindex(data.items.ids).set_axis(meta.index).join(meta)
    data.item_metadata = meta
    counts = data.frame[USER].value_counts()
    data.user_metadata = pd.DataFrame(
        {
            "relation": names.reindex(data.users.ids).to_numpy(),
            "movies": counts.reindex(data.users.ids).to_numpy(),
        },
        index=pd.Index(data.users.ids, name=USER),
    )
    return data


def _movie_links(kg: pd.DataFrame, movie_of: pd.Series) -> pd.DataFrame:
    """(movie, other end, relation) for every triple with a movie's entity at either end."""
    sides = []
    for movie_end, other_end, outward in (("head_id", "tail_id", 0), ("tail_id", "head_id", 1)):
        hit = kg[kg[movie_end].isin(movie_of.index).to_numpy()]
        sides.append(
            pd.DataFrame(
                {
                    ENTITY: movie_of.loc[hit[movie_end].to_numpy()].to_numpy(),
                    LINK: hit[other_end].to_numpy(),
                    "relation": hit["relation_id"].to_numpy(),
                    "outward": outward,  # 0: the relation read from the movie (film.film.genre)
                }
            )
        )
    return pd.concat(sides, ignore_index=True)
