"""Interactions: a frame of (user, item[, rating][, timestamp]) rows plus id vocabularies.

Raw ids may be integers or strings. A :class:`Vocabulary` maps them to contiguous indices
``1..n``; index ``0`` is reserved for ids the vocabulary does not know, which is the row every
zoo model keeps for its documented unknown-id fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from embedzoo.datasets.arrays import sorted_unique  # noqa: F401 (re-exported)
from embedzoo.errors import ConfigError, DataError

USER, ITEM, RATING, TIMESTAMP = "user", "item", "rating", "timestamp"
UNKNOWN_INDEX = 0


def _as_id_array(values, what: str = "ids", data: bool = False) -> np.ndarray:
    """Return ``values`` as an int64 array when they are integral, else as str objects.

    ``data=True`` (id columns of a data set, and vocabularies): an empty or blank string is
    refused too, since ``""`` is the padding id of string-id models' answers."""
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "b":
        raise DataError(f"{what} must be integers or strings, got booleans")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise DataError(
                f"{what}: missing or non-finite id at row {int(np.flatnonzero(bad)[0])}"
            )
        if np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        row = int(np.flatnonzero(arr != np.round(arr))[0])
        raise DataError(f"{what}: non-integer numeric id {float(arr[row])!r} at row {row}")
    out = np.empty(len(arr), dtype=object)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            raise DataError(f"{what}: missing id at row {i}")
        out[i] = str(v)
        if data and not out[i].strip():
            raise DataError(
                f'{what}: empty id at row {i} ("" is the padding id of answers; give it a name)'
            )
    return out


class Vocabulary:
    """A mapping between raw ids (ints or strings) and indices ``1..n`` (0 = unknown).

    Args:
        ids: the known raw ids, unique, in index order (``ids[0]`` gets index 1).

    Example:
        >>> from embedzoo.datasets import Vocabulary
        >>> v = Vocabulary([10, 20, 30])
        >>> v.lookup([20, 99]).tolist()
        [2, 0]
    """

    def __init__(self, ids: Sequence | np.ndarray):
        arr = _as_id_array(ids, "vocabulary", data=True)
        self._index = pd.Index(arr)
        if not self._index.is_unique:
            dup = self._index[self._index.duplicated()][0]
            raise DataError(f"vocabulary: duplicate id {dup!r}")
        self.ids = arr

    @classmethod
    def from_values(cls, values) -> Vocabulary:
        """Builds a vocabulary of the distinct values, sorted."""
        arr = _as_id_array(values)
        # hash, then sort only the distinct ids: far faster than np.unique at 25M rows
        # (docs/benchmarks.md)
        if arr.dtype != object:
            return cls(np.sort(pd.unique(arr)))
        return cls(np.array(sorted(set(arr)), dtype=object))

    @property
    def dtype(self) -> str:
        """``"int64"`` or ``"string"``: the type raw ids have at serving time."""
        return "int64" if self.ids.dtype.kind in "iu" else "string"

    @property
    def size(self) -> int:
        """Rows an embedding table needs: known ids plus the unknown slot."""
        return len(self.ids) + 1

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id) -> bool:
        return self.lookup([raw_id])[0] != UNKNOWN_INDEX

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self.dtype == other.dtype
            and len(self) == len(other)
            and bool(np.all(self.ids == other.ids))
        )

    def __repr__(self) -> str:
        head = ", ".join(map(repr, self.ids[:3].tolist()))
        return f"Vocabulary({len(self)} {self.dtype} ids: {head}{', ...' if len(self) > 3 else ''})"

    def coerce(self, raw_ids) -> np.ndarray:
        """Converts raw ids to this vocabulary's type; a type mismatch raises DataError."""
        arr = np.asarray(raw_ids)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if self.dtype == "int64":
            if arr.dtype.kind in "iu":
                return arr.astype(np.int64)
            if arr.dtype.kind == "f":
                return _as_id_array(arr)
            if arr.dtype.kind in "OUS":
                out = np.empty(len(arr), dtype=np.int64)
                for n, v in enumerate(arr.tolist()):
                    try:
                        out[n] = int(v.decode() if isinstance(v, bytes) else v)
                    except (TypeError, ValueError):
                        raise DataError(
                            f"id {v!r} is not an integer, but this vocabulary holds integer ids"
                        ) from None
                return out
            raise DataError(f"ids of type {arr.dtype} do not match this vocabulary's integer ids")
        return np.array([str(v) for v in arr.tolist()], dtype=object)

    def lookup(self, raw_ids) -> np.ndarray:
        """Raw ids → int32 indices; ids not in the vocabulary map to 0."""
        arr = self.coerce(raw_ids)
        idx = self._index.get_indexer(arr)
        return (idx + 1).astype(np.int32)  # get_indexer gives -1 for unknown → 0

    def ids_of(self, indices) -> np.ndarray:
        """Indices → raw ids (index 0 is not a raw id and raises)."""
        indices = np.asarray(indices)
        if np.any(indices < 1) or np.any(indices > len(self)):
            raise DataError(f"indices must lie in 1..{len(self)}")
        return self.ids[indices - 1]

    def extend(self, raw_ids) -> Vocabulary:
        """Returns a vocabulary with the new ids appended; known ids keep their index."""
        arr = self.coerce(
            np.asarray(list(raw_ids) if not isinstance(raw_ids, np.ndarray) else raw_ids)
        )
        new = pd.unique(arr[self._index.get_indexer(arr) < 0])
        if len(new) == 0:
            return self
        if self.dtype == "int64":
            new = np.sort(new)
        else:
            new = np.array(sorted(new), dtype=object)
        return Vocabulary(np.concatenate([self.ids, new]))

    def to_list(self) -> list:
        """Plain Python list of raw ids (for configs and JSON)."""
        return self.ids.tolist()


@dataclass(eq=False)
class Interactions:
    """User-item interactions with their vocabularies and optional metadata.

    ``frame`` has the canonical columns ``user``, ``item`` and, when known, ``rating`` and
    ``timestamp``. ``users`` and ``items`` are built from the frame (sorted distinct ids) unless
    given. ``item_metadata`` / ``user_metadata`` are frames indexed by raw id (e.g. ``title``).

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets import Interactions
        >>> df = pd.DataFrame({"u": [1, 1, 2], "i": ["a", "b", "a"], "r": [5.0, 3.0, 4.0]})
        >>> data = Interactions.from_frame(df, user_col="u", item_col="i", rating_col="r")
        >>> len(data), len(data.users), len(data.items)
        (3, 2, 2)
    """

    frame: pd.DataFrame
    users: Vocabulary | None = None
    items: Vocabulary | None = None
    item_metadata: pd.DataFrame | None = None
    user_metadata: pd.DataFrame | None = None
    source: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        for col in (USER, ITEM):
            if col not in self.frame.columns:
                raise DataError(f"{self._where()}: missing column {col!r}")
        if self.users is None:
            self.users = (
                Vocabulary.from_values(self.frame[USER]) if len(self.frame) else Vocabulary([])
            )
        if self.items is None:
            self.items = (
                Vocabulary.from_values(self.frame[ITEM]) if len(self.frame) else Vocabulary([])
            )

    def _where(self) -> str:
        return self.source or "interactions"

    # -- builders ------------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        user_col: str = USER,
        item_col: str = ITEM,
        rating_col: str | None = RATING,
        timestamp_col: str | None = TIMESTAMP,
        item_metadata: pd.DataFrame | None = None,
        user_metadata: pd.DataFrame | None = None,
        source: str | None = None,
        require_rating: bool = False,
        allow_empty: bool = False,
        timestamp_unit: str = "s",
    ) -> Interactions:
        """Validates and canonicalises a DataFrame.

        Timestamps become int64 seconds since 1970 (UTC): datetime64 columns of any unit and
        time zone, ISO-8601 strings, and numbers in ``timestamp_unit``. Numbers taken as
        seconds must fall between 1971-01-01 and 2100-01-01: anything else is refused with the
        unit the values look like (milliseconds, say), since a wrong unit silently changes
        temporal splits and sequences.

        Args:
            df: the raw frame.
            user_col, item_col: id columns (required).
            rating_col, timestamp_col: optional columns; used when present (``None`` skips).
            item_metadata, user_metadata: frames indexed by raw id.
            source: a name for error messages (usually the file path).
            require_rating: raise if there is no rating column.
            allow_empty: accept a frame with no rows.
            timestamp_unit: the unit of numeric timestamps: ``"s"``, ``"ms"``, ``"us"``,
                ``"ns"``, or ``"order"`` for integers that only order the rows (kept as they
                are, no calendar check).

        Example:
            >>> df = pd.DataFrame({"user": [1, 2], "item": [3, 3],
            ...                    "timestamp": ["2024-05-01T12:00:00Z", "2024-05-01T13:00:00+01:00"]})
            >>> Interactions.from_frame(df).frame.timestamp.tolist()
            [1714564800, 1714564800]
            >>> df["timestamp"] = [1714564800000, 1714564800000]
            >>> Interactions.from_frame(df)
            Traceback (most recent call last):
            ...
            embedzoo.errors.DataError: DataFrame: column 'timestamp': values 1714564800000 to 1714564800000 are not seconds since 1970 (as seconds they fall after 2100); they look like milliseconds: pass timestamp_unit='ms' (CLI: --timestamp-unit ms), or 'order' for integers that only order the rows
            >>> Interactions.from_frame(df, timestamp_unit="ms").frame.timestamp.tolist()
            [1714564800, 1714564800]

        Raises:
            DataError: naming ``source`` and the column or row that is wrong.
        """
        where = source or "DataFrame"
        missing = [c for c in (user_col, item_col) if c not in df.columns]
        if require_rating and (rating_col is None or rating_col not in df.columns):
            missing.append(rating_col or "rating")
        if missing:
            raise DataError(
                f"{where}: missing column(s) {missing}; columns are {list(df.columns)}; name"
                " yours with user_col=, item_col=, rating_col=, timestamp_col= (CLI: --user-col,"
                " --item-col, --rating-col, --timestamp-col)"
            )
        if len(df) == 0 and not allow_empty:
            raise DataError(f"{where}: no rows")
        out = pd.DataFrame(index=pd.RangeIndex(len(df)))
        for name, col in ((USER, user_col), (ITEM, item_col)):
            try:
                out[name] = _as_id_array(df[col], f"{where}: column {col!r}", data=True)
            except DataError as e:
                raise DataError(str(e)) from None
        if rating_col is not None and rating_col in df.columns:
            out[RATING] = _numeric_column(df[rating_col], where, rating_col).astype(np.float32)
        if timestamp_col is not None and timestamp_col in df.columns:
            out[TIMESTAMP] = timestamp_seconds(
                df[timestamp_col], where, timestamp_col, timestamp_unit
            )
        return cls(out, item_metadata=item_metadata, user_metadata=user_metadata, source=source)

    @classmethod
    def from_csv(cls, path, sep: str = ",", **kwargs) -> Interactions:
        """Reads a CSV (or TSV with ``sep="\\t"``); keyword arguments go to :meth:`from_frame`."""
        try:
            df = pd.read_csv(path, sep=sep)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: empty file (no header, no rows)") from None
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: cannot read as CSV: {e}") from e
        return cls.from_frame(df, source=str(path), **kwargs)

    @classmethod
    def from_parquet(cls, path, **kwargs) -> Interactions:
        """Reads a Parquet file; keyword arguments go to :meth:`from_frame`."""
        try:
            df = pd.read_parquet(path)
        except Exception as e:  # pyarrow raises several unrelated types for bad files
            raise DataError(f"{path}: cannot read as Parquet: {e}") from e
        return cls.from_frame(df, source=str(path), **kwargs)

    # -- views ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_ratings(self) -> bool:
        return RATING in self.frame.columns

    @property
    def has_timestamps(self) -> bool:
        return TIMESTAMP in self.frame.columns

    @property
    def user_index(self) -> np.ndarray:
        """int32 indices of each row's user in ``self.users``."""
        if "u" not in self._cache:
            self._cache["u"] = self.users.lookup(self.frame[USER].to_numpy())
        return self._cache["u"]

    @property
    def item_index(self) -> np.ndarray:
        """int32 indices of each row's item in ``self.items``."""
        if "i" not in self._cache:
            self._cache["i"] = self.items.lookup(self.frame[ITEM].to_numpy())
        return self._cache["i"]

    @property
    def ratings(self) -> np.ndarray:
        if not self.has_ratings:
            raise DataError(
                f"{self._where()}: no rating column (explicit-feedback models need one)"
            )
        return self.frame[RATING].to_numpy(np.float32)

    def subset(self, rows, keep_vocabularies: bool = False) -> Interactions:
        """Rows by position (array of ints or boolean mask).

        Args:
            rows: positions or a boolean mask.
            keep_vocabularies: keep this object's vocabularies; by default they are rebuilt from
                the kept rows, so a model built on a training split knows only training ids.
        """
        frame = self.frame.iloc[np.asarray(rows)].reset_index(drop=True)
        return Interactions(
            frame,
            users=self.users if keep_vocabularies else None,
            items=self.items if keep_vocabularies else None,
            item_metadata=self.item_metadata,
            user_metadata=self.user_metadata,
            source=self.source,
        )

    def item_titles(self, raw_ids: Iterable) -> list:
        """Titles for raw item ids when metadata has a ``title`` column, else the ids as str."""
        raw_ids = list(raw_ids)
        if self.item_metadata is None or "title" not in self.item_metadata.columns:
            return [str(i) for i in raw_ids]
        titles = self.item_metadata["title"]
        return [str(titles.get(i, i)) for i in raw_ids]

    def __repr__(self) -> str:
        cols = ", ".join(self.frame.columns)
        return (
            f"Interactions({len(self)} rows [{cols}], {len(self.users)} users, "
            f"{len(self.items)} items{', from ' + self.source if self.source else ''})"
        )


def _numeric_column(series: pd.Series, where: str, col: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: column {col!r} row {row}: value {series.iloc[row]!r} is not a finite number"
            f" ({int(bad.sum())} bad row(s) in all)"
        )
    return values


#: numeric timestamp units → units per second
TIMESTAMP_UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
#: plausible Unix seconds of an interaction log: 1971-01-01 to 2100-01-01 (a stricter floor
#: than 1970-01-02 also catches kiloseconds, which would fall in January 1970)
PLAUSIBLE_SECONDS = (31_536_000, 4_102_444_800)


def timestamp_seconds(series: pd.Series, where: str, col: str, unit: str = "s") -> np.ndarray:
    """A timestamp column as int64 seconds since 1970 (see :meth:`Interactions.from_frame`).

    Example:
        >>> timestamp_seconds(pd.Series(pd.to_datetime(["2000-01-01"]).as_unit("ms")), "x", "t")
        array([946684800])
    """
    if unit not in (*TIMESTAMP_UNITS, "order"):
        raise ConfigError(
            f"timestamp_unit={unit!r} is not accepted: expected one of"
            f" {[*TIMESTAMP_UNITS, 'order']}"
        )
    if pd.api.types.is_datetime64_any_dtype(series):
        times = series if series.dt.tz is not None else series.dt.tz_localize("UTC")
        return _datetime_seconds(times, series, where, col)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        numbers_ = pd.to_numeric(series, errors="coerce")
        if (numbers_.isna() & series.notna()).any():  # text: ISO-8601 times
            times = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
            return _datetime_seconds(times, series, where, col, "an ISO-8601 time or a number")
    values = _numeric_column(series, where, col)
    if unit == "order":
        return values.astype(np.int64)
    seconds = np.floor(values / TIMESTAMP_UNITS[unit])
    low, high = PLAUSIBLE_SECONDS
    if len(seconds) and (seconds.min() < low or seconds.max() >= high):
        likely = [u for u, f in TIMESTAMP_UNITS.items() if u != unit
                  and len(values) and low <= values.min() / f and values.max() / f < high]  # fmt: skip
        side = "before 1971" if seconds.min() < low else "after 2100"
        hint = (
            f"they look like {_UNIT_NAMES[likely[0]]}: pass timestamp_unit={likely[0]!r}"
            f" (CLI: --timestamp-unit {likely[0]})"
            if likely
            else "pass timestamp_unit= (CLI: --timestamp-unit) with their unit"
        )
        raise DataError(
            f"{where}: column {col!r}: values {_plain(values.min())} to {_plain(values.max())}"
            f" are not {_UNIT_NAMES[unit]} since 1970 (as {_UNIT_NAMES[unit]} they fall {side});"
            f" {hint}, or 'order' for integers that only order the rows"
        )
    return seconds.astype(np.int64)


def _plain(value: float):
    return int(value) if float(value).is_integer() else value


def _datetime_seconds(times, raw, where, col, what="a time") -> np.ndarray:
    bad = times.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: column {col!r} row {row}: value {raw.iloc[row]!r} is not {what}"
            f" ({int(bad.sum())} bad row(s) in all)"
        )
    delta = times - pd.Timestamp(0, tz="UTC")
    return (delta // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
