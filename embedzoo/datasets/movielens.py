"""MovieLens in GroupLens's own formats (ml-100k, ml-1m, ml-latest-small and their kin).

Three layouts are read, recognised by the ratings file an archive or folder holds:

- ``u.data`` (ml-100k): tab-separated ``user item rating timestamp``; items in ``u.item``
  (pipe-separated, latin-1, 19 genre flags named by ``u.genre``), users in ``u.user``.
- ``ratings.dat`` (ml-1m, ml-10m): ``user::movie::rating::timestamp``; items in ``movies.dat``
  (``movie::title::Genre1|Genre2``, latin-1), users in ``users.dat``.
- ``ratings.csv`` (ml-latest-small, ml-20m, ml-25m, ml-32m): ``userId,movieId,rating,timestamp``
  with a header; items in ``movies.csv`` (``movieId,title,genres``).

Item metadata is a frame indexed by raw movie id with ``title`` (exactly as in the file, year
included, e.g. ``"Star Wars (1977)"``), ``genres`` (one ``|``-joined string in file order,
``""`` for none; ml-latest's ``(no genres listed)`` becomes ``""``) and ``year`` (nullable
``Int64``: the ``(YYYY)`` at the end of the title, else the release date's year).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from embedzoo.datasets.cache import cache_dir as _cache_dir
from embedzoo.datasets.cache import download as _download
from embedzoo.datasets.cache import recorded_sha256, verify_sha256
from embedzoo.datasets.interactions import ITEM, RATING, TIMESTAMP, USER, Interactions
from embedzoo.errors import DataError

URL_ENV = "EMBEDZOO_MOVIELENS_URL"
DEFAULT_URL = "https://files.grouplens.org/datasets/movielens"

#: Known sha256 of each GroupLens archive. ``None``: not known here; the first download records
#: its hash next to the archive (``<name>.zip.sha256``) with a warning, later loads check it.
MOVIELENS_SHA256: dict[str, str | None] = {
    "ml-100k": None,
    "ml-1m": None,
    "ml-10m": None,
    "ml-20m": None,
    "ml-25m": None,
    "ml-32m": None,
    "ml-latest-small": None,
    "ml-latest": None,
}

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_RATINGS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_CSV_COLUMNS = ["userId", "movieId", "rating", "timestamp"]
_YEAR_IN_TITLE = re.compile(r"\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$")
_YEAR_ANYWHERE = re.compile(r"(\d{4})")


def load_movielens(
    name: str = "ml-100k",
    path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    sha256: str | None = None,
    base_url: str | None = None,
) -> Interactions:
    """Loads a MovieLens data set from a GroupLens archive or its extracted folder.

    Args:
        name: the GroupLens name (``"ml-100k"``, ``"ml-1m"``, ``"ml-latest-small"``, ...);
            with ``path`` it only names the data in messages.
        path: a local ``.zip`` archive or an extracted folder (the archive's top folder, e.g.
            ``ml-100k/``). Without it the archive ``<cache_dir>/movielens/<name>.zip`` is used,
            downloaded first when missing.
        cache_dir: the cache folder; default ``$EMBEDZOO_CACHE`` or ``~/.cache/embedzoo``.
        download: allow a download when the archive is not cached.
        sha256: the archive's expected sha256; default :data:`MOVIELENS_SHA256` or the hash
            recorded at the first download. A mismatch raises ChecksumError and deletes the
            downloaded or cached file.
        base_url: where ``<name>.zip`` is fetched from; default ``$EMBEDZOO_MOVIELENS_URL`` or
            ``https://files.grouplens.org/datasets/movielens``.

    Returns:
        Interactions with ``user``, ``item`` (int64 raw ids), ``rating`` and ``timestamp``, in
        file order, with ``item_metadata`` (``title``, ``genres``, ``year``) and, when the data
        has a users file, ``user_metadata``.

    Raises:
        DataError: unknown name, missing files, bad rows (file and 1-based line named), a
            corrupt archive, a failed download.
        ChecksumError: the archive's sha256 does not match.

    Example:
        >>> from embedzoo.datasets import load_movielens
        >>> data = load_movielens("ml-1m")  # doctest: +SKIP
        >>> data.item_titles([1])  # doctest: +SKIP
        ['Toy Story (1995)']
    """
    if path is None:
        path = _cached_archive(name, cache_dir, download, sha256, base_url)
    else:
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if sha256 is not None and path.is_file():
            verify_sha256(path, sha256)
    if path.is_dir():
        return _read(_DirSource(path))
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(_ZipSource(path, zf))
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DataError(f"{path}: corrupt or truncated zip archive ({e})") from None


def movielens_url(name: str, base_url: str | None = None) -> str:
    """The download URL of ``<name>.zip`` (``base_url``, ``$EMBEDZOO_MOVIELENS_URL`` or GroupLens)."""
    base = base_url or os.environ.get(URL_ENV) or DEFAULT_URL
    return f"{base.rstrip('/')}/{name}.zip"


def _cached_archive(name, cache_dir, allow_download, sha256, base_url) -> Path:
    if name not in MOVIELENS_SHA256:
        raise DataError(
            f"unknown MovieLens data set {name!r}; known: {sorted(MOVIELENS_SHA256)} "
            "(or pass path= to a GroupLens archive or folder)"
        )
    dest = _cache_dir(cache_dir) / "movielens" / f"{name}.zip"
    expected = sha256 or MOVIELENS_SHA256[name]
    if dest.exists():
        expected = expected or recorded_sha256(dest)
        if expected is not None:
            verify_sha256(dest, expected, delete=True)
        return dest
    if not allow_download:
        raise DataError(f"{name}: {dest} is not cached and download=False")
    return _download(movielens_url(name, base_url), dest, sha256=expected)


class _DirSource:
    def __init__(self, root: Path):
        while True:
            self.members = {p.name: p for p in root.iterdir() if p.is_file()}
            nested = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
            if any(n in self.members for n in _RATINGS_FILES) or len(nested) != 1:
                break
            root = nested[0]  # the folder an archive was extracted into: look inside
        self.label = str(root)

    def has(self, name: str) -> bool:
        return name in self.members

    def where(self, name: str) -> str:
        return str(self.members[name])

    def read(self, name: str) -> bytes:
        return self.members[name].read_bytes()


class _ZipSource:
    def __init__(self, path: Path, zf: zipfile.ZipFile):
        self.zf, self.label = zf, str(path)
        self.members: dict[str, str] = {}
        for info in zf.infolist():
            if info.is_dir() or info.filename.startswith("__MACOSX"):
                continue
            base = info.filename.rsplit("/", 1)[-1]
            # by base name, so any top folder works (ml-10m's is ml-10M100K); the shallowest wins
            if base not in self.members or info.filename.count("/") < self.members[base].count("/"):
                self.members[base] = info.filename

    def has(self, name: str) -> bool:
        return name in self.members

    def where(self, name: str) -> str:
        return f"{self.label}:{self.members[name]}"

    def read(self, name: str) -> bytes:
        return self.zf.read(self.members[name])


def _read(src) -> Interactions:
    if src.has("u.data"):
        frame = _ratings(src, "u.data", sep="\t", header=False)
        items = _items_100k(src) if src.has("u.item") else None
        users = _users(src, "u.user", "|", ["age", "gender", "occupation", "zip_code"])
    elif src.has("ratings.dat"):
        frame = _ratings(src, "ratings.dat", sep="::", header=False)
        items = _items_dat(src) if src.has("movies.dat") else None
        users = _users(src, "users.dat", "::", ["gender", "age", "occupation", "zip_code"])
    elif src.has("ratings.csv"):
        frame = _ratings(src, "ratings.csv", sep=",", header=True)
        items = _items_csv(src) if src.has("movies.csv") else None
        users = None
    else:
        raise DataError(
            f"{src.label}: no MovieLens ratings file found (looked for {', '.join(_RATINGS_FILES)})"
        )
    return Interactions(frame, item_metadata=items, user_metadata=users, source=src.label)


def _ratings(src, name: str, sep: str, header: bool) -> pd.DataFrame:
    raw = src.read(name)
    if sep == "::":  # all-numeric rows: a one-byte separator lets pandas use its C parser
        raw, sep = raw.replace(b"::", b"\t"), "\t"
    where = src.where(name)
    try:
        df = pd.read_csv(
            io.BytesIO(raw), sep=sep, header=0 if header else None,
            names=None if header else _CSV_COLUMNS, index_col=False, skip_blank_lines=False,
        )  # fmt: skip
    except pd.errors.EmptyDataError:
        df = pd.DataFrame(columns=_CSV_COLUMNS)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{where}: cannot parse: {e}") from None
    if missing := [c for c in _CSV_COLUMNS if c not in df.columns]:
        raise DataError(f"{where}: missing column(s) {missing}; columns are {list(df.columns)}")
    while len(df) and df.iloc[-1].isna().all():  # tolerate trailing blank lines
        df = df.iloc[:-1]
    if len(df) == 0:
        raise DataError(f"{where}: no ratings")
    first_line = 2 if header else 1
    cols = {
        canon: _column(df[col], where, col if header else canon, first_line, canon != RATING)
        for canon, col in zip((USER, ITEM, RATING, TIMESTAMP), _CSV_COLUMNS, strict=True)
    }
    cols[RATING] = cols[RATING].astype(np.float32)
    return pd.DataFrame(cols)


def _column(s: pd.Series, where: str, what: str, first_line: int, integral=False) -> np.ndarray:
    """A numeric column as numpy (int64 when ``integral``), naming the 1-based line of a bad value."""
    if s.dtype.kind in "iu":
        return s.to_numpy(np.int64)
    values = pd.to_numeric(s, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if integral:
        bad |= ~bad & (values != np.round(values))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = s.iloc[row]
        value = "missing" if pd.isna(value) else repr(value)
        kind = "an integer" if integral else "a finite number"
        raise DataError(
            f"{where} line {row + first_line}: {what} {value} is not {kind}"
            f" ({int(bad.sum())} bad line(s) in all)"
        )
    return values.astype(np.int64) if integral else values


def _text(src, name: str) -> str:
    raw = src.read(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # GroupLens's older files are latin-1
        return raw.decode("latin-1")


def _lines(src, name: str):
    for n, line in enumerate(_text(src, name).splitlines(), 1):
        if line.strip():
            yield n, line


def _items_100k(src) -> pd.DataFrame:
    genres = list(ML100K_GENRES)
    if src.has("u.genre"):
        pairs = [(n, line.rsplit("|", 1)) for n, line in _lines(src, "u.genre")]
        where = src.where("u.genre")
        if bad := [n for n, p in pairs if len(p) != 2]:
            raise DataError(f"{where} line {bad[0]}: expected genre|index")
        numbered = sorted((_int(p[1], where, n), p[0]) for n, p in pairs)
        genres = [g for _, g in numbered]
    rows = []
    for n, line in _lines(src, "u.item"):
        f = line.split("|")
        if len(f) < 5 + len(genres):
            raise DataError(
                f"{src.where('u.item')} line {n}: expected {5 + len(genres)} '|'-separated "
                f"fields, got {len(f)}"
            )
        flags = f[5 : 5 + len(genres)]
        tags = "|".join(g for g, flag in zip(genres, flags, strict=True) if flag.strip() == "1")
        rows.append((_int(f[0], src.where("u.item"), n), f[1], tags, _year(f[1], f[2])))
    return _item_frame(rows)


def _items_dat(src) -> pd.DataFrame:
    rows = []
    for n, line in _lines(src, "movies.dat"):
        f = line.split("::", 2)
        if len(f) != 3:
            raise DataError(f"{src.where('movies.dat')} line {n}: expected movie::title::genres")
        rows.append((_int(f[0], src.where("movies.dat"), n), f[1], _genres(f[2]), _year(f[1])))
    return _item_frame(rows)


def _items_csv(src) -> pd.DataFrame:
    where = src.where("movies.csv")
    try:
        df = pd.read_csv(io.StringIO(_text(src, "movies.csv")), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{where}: cannot parse: {e}") from None
    if missing := {"movieId", "title", "genres"} - set(df.columns):
        raise DataError(f"{where}: missing column(s) {sorted(missing)}")
    ids = _column(df["movieId"], where, "movieId", 2, integral=True)
    rows = [
        (i, t, _genres(g), _year(t))
        for i, t, g in zip(ids.tolist(), df["title"], df["genres"], strict=True)
    ]
    return _item_frame(rows)


def _users(src, name: str, sep: str, columns: list[str]) -> pd.DataFrame | None:
    if not src.has(name):
        return None
    rows = []
    for n, line in _lines(src, name):
        f = line.split(sep)
        if len(f) != len(columns) + 1:
            raise DataError(f"{src.where(name)} line {n}: expected {len(columns) + 1} fields")
        rows.append([_int(f[0], src.where(name), n), *f[1:]])
    users = pd.DataFrame(rows, columns=["user", *columns]).set_index("user")
    users["age"] = pd.to_numeric(users["age"], errors="coerce").astype("Int64")
    return users


def _int(text: str, where: str, line: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{where} line {line}: id {text!r} is not an integer") from None


def _genres(text: str) -> str:
    text = text.strip()
    return "" if text == "(no genres listed)" else text


def _year(title: str, release_date: str = "") -> int | None:
    if m := _YEAR_IN_TITLE.search(title):
        return int(m.group(1))
    if m := _YEAR_ANYWHERE.search(release_date):
        return int(m.group(1))
    return None


def _item_frame(rows: list[tuple]) -> pd.DataFrame:
    items = pd.DataFrame(rows, columns=["item", "title", "genres", "year"])
    items["item"] = items["item"].astype(np.int64)
    items["year"] = items["year"].astype("Int64")
    return items.set_index("item")
