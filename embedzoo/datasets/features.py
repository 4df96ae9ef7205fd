"""User and item feature tables: reading and checking them, and the feature spec of a column.

A feature table is a DataFrame indexed by raw user (or item) id, one column per feature; the
loaders put them in ``Interactions.user_metadata`` / ``item_metadata`` (MovieLens: age,
gender, occupation, zip code; title, genres, year). A **feature spec** says how a feature
model reads a column, as a plain dict (it goes into the model's config, so it saves with it):

==============  ==================================================  ======================
kind            what                                                adapted on the table
==============  ==================================================  ======================
``categorical`` one value per row (``StringLookup``)                ``vocabulary``
``hashed``      one value of a high-cardinality column (``Hashing``)  ``bins``
``tokens``      several values, ``|``-separated or lists (genres)   ``vocabulary``, ``length``
``text``        words (``TextVectorization``; titles)               ``vocabulary``, ``length``
``bucketized``  a number in quantile buckets (``Discretization``)   ``boundaries``
``numeric``     a number, standardised (``Normalization``)          ``mean``, ``variance``
==============  ==================================================  ======================

The kind is inferred from the column (numbers → ``bucketized``; lists or ``|``-joined strings →
``tokens``; a ``title`` column or mostly-unique multi-word strings → ``text``; strings with more
than ``MAX_VOCABULARY`` distinct values → ``hashed``; other strings → ``categorical``) and can be
given per column (``kinds={"zip_code": "hashed", "year": "numeric", "title": "skip"}``).

Example:
    >>> import pandas as pd
    >>> from embedzoo.datasets.features import infer_feature_specs
    >>> table = pd.DataFrame({"genres": ["Drama|War", "Drama", "Comedy|Drama"], "year": [1990, 1995, 1999]},
    ...                      index=pd.Index([1, 2, 3], name="item"))
    >>> [(s["name"], s["kind"]) for s in infer_feature_specs(table, min_count=1)]
    [('genres', 'tokens'), ('year', 'bucketized')]
    >>> infer_feature_specs(table, min_count=1)[0]["vocabulary"]
    ['Drama', 'Comedy', 'War']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from embedzoo.errors import ConfigError, DataError

KINDS = ("categorical", "hashed", "tokens", "text", "bucketized", "numeric")
#: distinct values above which a string column is hashed rather than looked up
MAX_VOCABULARY = 10_000
#: hash bins of a ``hashed`` column
HASH_BINS = 2048
#: tokens (words) kept per row of a ``tokens`` (``text``) column
MAX_LENGTH = 16
#: quantile buckets of a ``bucketized`` column
BUCKETS = 10
TOKEN_SEPARATOR = "|"


def check_feature_table(table: pd.DataFrame, where: str, side: str = "item") -> pd.DataFrame:
    """Checks a feature table (unique, non-missing ids in the index) and returns it.

    Raises:
        DataError: naming ``where`` and the duplicate or missing id.
    """
    if not isinstance(table, pd.DataFrame):
        raise DataError(f"{where}: a {side} feature table must be a DataFrame indexed by {side} id")
    index = table.index
    if index.hasnans:
        raise DataError(f"{where}: {side} id missing at row {int(np.flatnonzero(index.isna())[0])}")
    if not index.is_unique:
        dup = index[index.duplicated()].tolist()[0]  # a Python value: 1, not np.int64(1)
        rows = np.flatnonzero(index == dup)[:2].tolist()
        raise DataError(f"{where}: duplicate {side} id {dup!r} (rows {rows[0]} and {rows[1]})")
    return table


def read_feature_table(path, id_col: str, side: str = "item") -> pd.DataFrame:
    """Reads a CSV/TSV/Parquet side file of features keyed by ``id_col`` (CLI ``--user-features`` /
    ``--item-features``). Integral ids become int64, others strings, as in interactions.

    Raises:
        DataError: the file cannot be read, lacks ``id_col``, or has duplicate or missing ids.
    """
    from embedzoo.datasets.interactions import _as_id_array

    path = str(path)
    try:
        if path.endswith(".parquet"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep="\t" if path.endswith(".tsv") else ",")
    except Exception as e:  # pandas and pyarrow raise many unrelated types for bad files
        raise DataError(f"{path}: cannot read {side} features: {e}") from None
    if id_col not in df.columns:
        raise DataError(
            f"{path}: no {side} id column {id_col!r}; columns are {list(df.columns)}"
            f" (name it with --{side}-col)"
        )
    ids = _as_id_array(df[id_col], f"{path}: column {id_col!r}", data=True)
    table = df.drop(columns=id_col)
    table.index = pd.Index(ids, name=side)
    return check_feature_table(table, path, side)


def with_features(data, user_features=None, item_features=None):
    """``data`` with its user / item feature tables replaced by these (others kept).

    Args:
        data: ``Interactions``.
        user_features, item_features: a DataFrame indexed by raw id, or a CSV/TSV/Parquet
            path whose first column is the id (CLI ``--user-features`` / ``--item-features``).
            Ids are matched to the interactions' id type.

    Raises:
        DataError: an unreadable file, duplicate or missing ids, ids of the wrong type.

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets import Interactions
        >>> from embedzoo.datasets.features import with_features
        >>> data = Interactions.from_frame(pd.DataFrame({"user": [1], "item": [7]}))
        >>> items = pd.DataFrame({"colour": ["red"]}, index=pd.Index([7], name="item"))
        >>> with_features(data, item_features=items).item_metadata.colour.tolist()
        ['red']
    """
    from embedzoo.datasets.interactions import Interactions

    tables = {}
    for side, given, vocabulary in (
        ("user", user_features, data.users),
        ("item", item_features, data.items),
    ):
        if given is None:
            continue
        if isinstance(given, pd.DataFrame):
            where, table = f"{side} features", given.copy()
        else:
            where = str(given)
            first = _first_column(given, side)
            table = read_feature_table(given, first, side)
        try:
            ids = vocabulary.coerce(table.index.to_numpy())
        except DataError as e:
            raise DataError(f"{where}: {side} ids: {e}") from None
        table.index = pd.Index(ids, name=side)
        tables[side] = check_feature_table(table, where, side)
    return Interactions(
        data.frame,
        users=data.users,
        items=data.items,
        item_metadata=tables.get("item", data.item_metadata),
        user_metadata=tables.get("user", data.user_metadata),
        source=data.source,
    )


def _first_column(path, side: str) -> str:
    path = str(path)
    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_schema(path).names[0]
        with open(path, encoding="utf-8") as f:
            header = f.readline()
    except Exception as e:  # any unreadable file: one clear message
        raise DataError(f"{path}: cannot read {side} features: {e}") from None
    first = header.rstrip("\r\n").split("\t" if path.endswith(".tsv") else ",")[0]
    if not first:
        raise DataError(f"{path}: no header: the first column must name the {side} id")
    return first.strip('"')


def _is_list_column(values: pd.Series) -> bool:
    first = values.dropna()
    return len(first) > 0 and isinstance(first.iloc[0], list | tuple | np.ndarray)


def token_lists(values: pd.Series) -> list[list[str]]:
    """A ``tokens`` column as lists of strings (lists kept, strings split on ``|``; missing: [])."""
    out = []
    for v in values.tolist():
        if isinstance(v, list | tuple | np.ndarray):
            out.append([str(t) for t in v if str(t)])
        elif v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append([])
        else:
            out.append([t.strip() for t in str(v).split(TOKEN_SEPARATOR) if t.strip()])
    return out


def strings(values: pd.Series) -> np.ndarray:
    """A column as strings, missing values as ``""`` (the out-of-vocabulary code)."""
    return np.array(["" if pd.isna(v) else str(v) for v in values.tolist()], dtype=object)


def numbers(values: pd.Series, where: str, name: str) -> np.ndarray:
    """A column as float64 (missing: NaN).

    Raises:
        DataError: a value that is present but not a number, naming its id.
    """
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: column {name!r}, id {values.index.tolist()[row]!r}: {values.iloc[row]!r} is not a"
            f" number ({int(bad.sum())} such row(s))"
        )
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


#: what ``keras.layers.TextVectorization``'s default standardisation strips
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')


def text_words(text: str) -> list[str]:
    """The words ``TextVectorization`` reads from ``text`` (lower case, punctuation stripped)."""
    return _PUNCTUATION.sub("", text.lower()).split()


def infer_kind(values: pd.Series, name: str) -> str:
    """The kind a column gets when none is given (see the module docstring)."""
    if _is_list_column(values):
        return "tokens"
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "bucketized"
    text = strings(values)
    present = text[text != ""]
    if len(present) == 0:
        return "categorical"
    if np.mean([TOKEN_SEPARATOR in v for v in present]) >= 0.1:
        return "tokens"
    words = np.mean([len(v.split()) for v in present])
    distinct = len(set(present.tolist()))
    if name == "title" or (words >= 2.5 and distinct > 0.5 * len(present)):
        return "text"
    return "hashed" if distinct > MAX_VOCABULARY else "categorical"


def _vocabulary(tokens, min_count: int) -> list[str]:
    counts = pd.Series(tokens, dtype=object).value_counts(sort=False)
    counts = counts[counts >= min_count]
    # most frequent first, ties by value: a stable order whatever the table's row order
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [str(k) for k, _ in order[:MAX_VOCABULARY]]


def adapt_spec(values: pd.Series, name: str, kind: str, where: str, min_count: int = 2) -> dict:
    """The spec of one column of kind ``kind``, adapted on its values."""
    if kind not in KINDS:
        raise ConfigError(
            f"{where}: column {name!r}: unknown feature kind {kind!r}; expected one of {KINDS}"
            " or 'skip'"
        )
    spec = {"name": name, "kind": kind}
    if kind == "categorical":
        spec["vocabulary"] = _vocabulary([v for v in strings(values) if v], min_count)
    elif kind == "hashed":
        spec["bins"] = HASH_BINS
    elif kind == "tokens":
        lists = token_lists(values)
        spec["vocabulary"] = _vocabulary([t for row in lists for t in row], min_count)
        spec["length"] = int(min(MAX_LENGTH, max([len(r) for r in lists] + [1])))
    elif kind == "text":
        words = [text_words(v) for v in strings(values)]
        spec["vocabulary"] = _vocabulary([w for row in words for w in row], min_count) or ["[none]"]
        spec["length"] = int(min(MAX_LENGTH, max([len(r) for r in words] + [1])))
    else:
        x = numbers(values, where, name)
        x = x[np.isfinite(x)]
        if len(x) == 0:
            raise DataError(f"{where}: column {name!r} has no numbers to adapt on")
        if kind == "bucketized":
            edges = np.unique(np.quantile(x, np.linspace(0, 1, BUCKETS + 1)[1:-1]))
            spec["boundaries"] = [float(e) for e in edges]
        else:
            spec["mean"], spec["variance"] = float(x.mean()), float(max(x.var(), 1e-12))
    return spec


def infer_feature_specs(
    table: pd.DataFrame | None,
    kinds: dict | None = None,
    where: str = "features",
    min_count: int = 2,
) -> list[dict]:
    """Feature specs of every column of ``table`` (``kinds`` overrides; ``"skip"`` drops one).

    Args:
        table: feature table indexed by raw id (``None``: no features).
        kinds: column → kind (see the module docstring) or ``"skip"``.
        where: a name for messages (file or side).
        min_count: values seen fewer times share the out-of-vocabulary row.

    Raises:
        ConfigError: ``kinds`` names a column the table lacks, or an unknown kind.
        DataError: a numeric column with values that are not numbers (naming the id).
    """
    kinds = dict(kinds or {})
    if table is None:
        if kinds:
            raise ConfigError(f"{where}: feature kinds {sorted(kinds)} given but there is no table")
        return []
    missing = sorted(set(kinds) - set(map(str, table.columns)))
    if missing:
        raise ConfigError(
            f"{where}: feature kind(s) for unknown column(s) {missing}; columns are"
            f" {list(table.columns)}"
        )
    specs = []
    for column in table.columns:
        name = str(column)
        kind = kinds.get(name) or infer_kind(table[column], name)
        if kind == "skip":
            continue
        specs.append(adapt_spec(table[column], name, kind, where, min_count))
    return specs


def spec_inputs(spec: dict, values: pd.Series, where: str = "features") -> np.ndarray:
    """A column as the raw array the spec's preprocessing layer reads: strings (``tokens``
    joined by ``|``) or float32 numbers (NaN for missing)."""
    kind = spec["kind"]
    if kind in ("bucketized", "numeric"):
        return numbers(values, where, spec["name"]).astype(np.float32)
    if kind == "tokens":
        return np.array([TOKEN_SEPARATOR.join(r) for r in token_lists(values)], dtype=object)
    return strings(values)
