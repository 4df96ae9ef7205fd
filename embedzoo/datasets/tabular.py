"""One entry point for every data source: CSV, Parquet, DataFrames, MovieLens, RecBole.

The readers take column names like fastai's ``CollabDataLoaders.from_df``: ``user_col``,
``item_col``, ``rating_col``, ``timestamp_col`` default to ``user``, ``item``, ``rating``,
``timestamp`` and are overridable.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from embedzoo.datasets.interactions import Interactions
from embedzoo.datasets.movielens import MOVIELENS_SHA256, load_movielens
from embedzoo.datasets.recbole import load_atomic, load_ml100k
from embedzoo.errors import ConfigError, DataError

_GROUPLENS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_ACCEPTED = (
    "'ml-100k' (RecBole's copy), "
    + ", ".join(repr(n) for n in sorted(MOVIELENS_SHA256) if n != "ml-100k")
    + " (GroupLens downloads), a .csv/.tsv/.parquet file, a MovieLens .zip archive, a RecBole "
    ".inter file or a folder of RecBole atomic files (*.inter), a folder of GroupLens files "
    "(u.data, ratings.dat or ratings.csv), or a pandas DataFrame"
)


def from_dataframe(df: pd.DataFrame, **kwargs) -> Interactions:
    """Interactions from a DataFrame; keyword arguments go to ``Interactions.from_frame``.

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets import from_dataframe
        >>> df = pd.DataFrame({"userId": [1, 2], "movieId": [10, 10], "stars": [4.0, 3.0]})
        >>> len(from_dataframe(df, user_col="userId", item_col="movieId", rating_col="stars"))
        2
    """
    return Interactions.from_frame(df, **kwargs)


def read_csv(path: str | os.PathLike, sep: str | None = None, **kwargs) -> Interactions:
    """Reads a CSV or TSV file with a header row.

    Args:
        path: the file.
        sep: the field separator; default tab for ``.tsv`` files, else comma.
        **kwargs: column names and options for ``Interactions.from_frame``.

    Example:
        >>> from embedzoo.datasets import read_csv
        >>> data = read_csv("ratings.csv", user_col="userId", item_col="movieId")
        >>> data
        Interactions(4 rows [user, item, rating, timestamp], 3 users, 3 items, from ratings.csv)
    """
    if sep is None:
        sep = "\t" if _suffix(path) in (".tsv", ".tab") else ","
    return Interactions.from_csv(path, sep=sep, **kwargs)


def read_parquet(path: str | os.PathLike, **kwargs) -> Interactions:
    """Reads a Parquet file; keyword arguments go to ``Interactions.from_frame``.

    Example:
        >>> from embedzoo.datasets import read_parquet
        >>> data = read_parquet("ratings.parquet")
        >>> data
        Interactions(4 rows [user, item, rating, timestamp], 3 users, 3 items, from ratings.parquet)
    """
    return Interactions.from_parquet(path, **kwargs)


def load(source, user_features=None, item_features=None, **kwargs) -> Interactions:
    """Loads interactions from whatever ``source`` names.

    Accepted: ``"ml-100k"`` (RecBole's copy via :func:`load_ml100k`), the other GroupLens names
    such as ``"ml-1m"`` or ``"ml-latest-small"`` (:func:`load_movielens`), a ``.csv``, ``.tsv``
    or ``.parquet`` file, a MovieLens ``.zip``, a RecBole ``.inter`` file or folder, a folder
    of GroupLens files, or a DataFrame.

    Args:
        source: a name, a path or a DataFrame.
        user_features, item_features: feature tables that replace the source's own (a
            CSV/TSV/Parquet path whose first column is the id, or a DataFrame indexed by id;
            see :func:`~embedzoo.datasets.features.with_features`).
        **kwargs: passed to the loader chosen (e.g. ``cache_dir``, ``user_col``).

    Raises:
        DataError: the source is none of the above (the message lists what is accepted).

    Example:
        >>> from embedzoo.datasets import load
        >>> data = load("ml-100k")  # doctest: +SKIP
        >>> load("ratings.csv", user_col="userId", item_col="movieId")
        Interactions(4 rows [user, item, rating, timestamp], 3 users, 3 items, from ratings.csv)
    """
    data = _load(source, **kwargs)
    if user_features is None and item_features is None:
        return data
    from embedzoo.datasets.features import with_features

    return with_features(data, user_features=user_features, item_features=item_features)


def _load(source, **kwargs) -> Interactions:
    if isinstance(source, pd.DataFrame):
        return from_dataframe(source, **kwargs)
    columns = {k: kwargs.pop(k) for k in COLUMN_OPTIONS if k in kwargs}
    if not isinstance(source, str | os.PathLike):
        raise DataError(f"cannot load a {type(source).__name__}; accepted: {_ACCEPTED}")
    if isinstance(source, str) and source == "ml-100k":
        return load_ml100k(**_fixed_columns(source, columns, kwargs))
    if isinstance(source, str) and source in MOVIELENS_SHA256:
        return load_movielens(source, **_fixed_columns(source, columns, kwargs))
    path = Path(source)
    if path.is_dir():
        if any(path.glob("*.inter")):
            return load_atomic(path, **columns, **kwargs)
        if any(any(path.glob(f)) or any(path.glob(f"*/{f}")) for f in _GROUPLENS_FILES):
            return load_movielens(path.name, path=path, **_fixed_columns(path, columns, kwargs))
        raise DataError(
            f"{path}: a folder with neither *.inter nor GroupLens files; accepted: {_ACCEPTED}"
        )
    if path.is_file():
        suffix = _suffix(path)
        if suffix in (".csv", ".tsv", ".tab"):
            return read_csv(path, **columns, **kwargs)
        if suffix in (".parquet", ".pq"):
            return read_parquet(path, **columns, **kwargs)
        if suffix == ".zip":
            return load_movielens(path.stem, path=path, **_fixed_columns(path, columns, kwargs))
        if suffix == ".inter":
            return load_atomic(path, **columns, **kwargs)
        raise DataError(f"{path}: unknown file type {suffix!r}; accepted: {_ACCEPTED}")
    raise DataError(
        f"{source}: neither a known data set name nor an existing path; accepted: {_ACCEPTED}"
    )


#: the options naming a table's columns (and the unit of its timestamps)
COLUMN_OPTIONS = ("user_col", "item_col", "rating_col", "timestamp_col", "timestamp_unit")


def _fixed_columns(source, columns: dict, kwargs: dict) -> dict:
    """MovieLens' GroupLens files have fixed columns: naming columns for them is an error."""
    if columns:
        raise ConfigError(
            f"{source}: {', '.join(sorted(columns))} name the columns of CSV, TSV, Parquet and"
            " RecBole files or DataFrames; MovieLens' files have fixed columns"
        )
    return kwargs


def _suffix(path) -> str:
    """The lower-case extension, looking through ``.gz``/``.bz2``/``.zst`` compression."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) > 1 and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst"):
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""
