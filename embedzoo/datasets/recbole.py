"""RecBole atomic files (``.inter``, ``.item``, ``.user``, ``.kg``, ``.link``) and the MovieLens
100k copy that ships inside RecBole's wheel.

An atomic file is tab-separated with a typed header such as
``user_id:token	item_id:token	rating:float	timestamp:float``. Types: ``token`` (a string),
``token_seq`` (space-separated strings), ``float`` and ``float_seq`` (space-separated numbers).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from embedzoo.datasets.cache import cache_dir as _cache_dir
from embedzoo.datasets.cache import sha256_file, verify_sha256
from embedzoo.datasets.interactions import (
    ITEM,
    RATING,
    TIMESTAMP,
    USER,
    Interactions,
    timestamp_seconds,
)
from embedzoo.errors import DataError

ATOMIC_TYPES = ("token", "token_seq", "float", "float_seq")
WHEEL_ENV = "EMBEDZOO_RECBOLE_WHEEL"
RECBOLE_VERSION = "1.2.1"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
#: sha256 of each file of ``recbole/dataset_example/ml-100k/`` in the RecBole 1.2.1 wheel.
RECBOLE_ML100K_SHA256 = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.kg": "200a0636fa07c218119a42e5bac7aa3e26e3665a6f919c1b22909bd412b14779",
    "ml-100k.link": "524dca2c3d62619688ab99b3ec53ea2acb9b64d38eafec3e02bdd0dc6bb7d948",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}
#: Item fields renamed to embedzoo's metadata names (``genres`` becomes a ``|``-joined string).
ITEM_FIELDS = {"movie_title": "title", "class": "genres", "genre": "genres", "release_year": "year"}


def read_atomic_file(path: str | os.PathLike) -> pd.DataFrame:
    """Reads one atomic file into a DataFrame whose columns are the header names, types stripped.

    ``token`` columns stay strings exactly as written (``"007"`` is not ``7``), ``float``
    columns are float64 (an empty field is NaN), ``token_seq`` and ``float_seq`` columns hold
    lists (of str, of float). Works for every atomic file, e.g. ``.kg`` gives ``head_id``,
    ``relation_id``, ``tail_id`` and ``.link`` gives ``item_id``, ``entity_id``.

    Args:
        path: the file.

    Raises:
        DataError: naming the file, and the 1-based line and column of a bad value.

    Example:
        >>> from embedzoo.datasets import read_atomic_file, recbole_example
        >>> kg = read_atomic_file(recbole_example() / "ml-100k.kg")  # doctest: +SKIP
        >>> list(kg.columns)  # doctest: +SKIP
        ['head_id', 'relation_id', 'tail_id']
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            header = f.readline().rstrip("\r\n").split("\t")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    names, types = [], []
    for field in header:
        name, sep, kind = field.rpartition(":")
        if not sep or not name or kind not in ATOMIC_TYPES:
            raise DataError(
                f"{path} line 1: header field {field!r} is not name:type with type one of "
                f"{', '.join(ATOMIC_TYPES)}"
            )
        names.append(name)
        types.append(kind)
    try:
        df = pd.read_csv(
            path, sep="\t", skiprows=1, header=None, names=names, dtype=str, index_col=False,
            quoting=csv.QUOTE_NONE, na_filter=False, skip_blank_lines=False, encoding="utf-8",
        )  # fmt: skip
    except pd.errors.EmptyDataError:
        df = pd.DataFrame({n: pd.Series([], dtype=str) for n in names})
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(f"{path}: cannot parse: {e}") from None
    for name, kind in zip(names, types, strict=True):
        if kind == "float":
            df[name] = _floats(df[name], path, name)
        elif kind == "token_seq":
            df[name] = [v.split() for v in df[name].tolist()]
        elif kind == "float_seq":
            df[name] = [_float_list(v, path, name, n + 2) for n, v in enumerate(df[name].tolist())]
    return df


def load_atomic(
    directory_or_prefix: str | os.PathLike,
    dataset_name: str | None = None,
    user_col: str = "user_id",
    item_col: str = "item_id",
    rating_col: str | None = "rating",
    timestamp_col: str | None = "timestamp",
    int_ids: bool | None = None,
    timestamp_unit: str = "s",
) -> Interactions:
    """Loads a RecBole data set (``<name>.inter`` plus optional ``.item`` and ``.user``).

    Rows keep the ``.inter`` file's order. Ratings and timestamps are used when their columns
    exist. Item fields are renamed by :data:`ITEM_FIELDS` (``movie_title`` → ``title``,
    ``class`` → ``genres`` as one ``|``-joined string like in
    :func:`~embedzoo.datasets.load_movielens`, ``release_year`` → ``year`` as nullable Int64).

    Args:
        directory_or_prefix: a folder holding ``<dataset_name>.inter`` (or a single ``*.inter``),
            a prefix such as ``data/ml-100k/ml-100k``, or the ``.inter`` file itself.
        dataset_name: the file stem; default the folder's name.
        user_col, item_col, rating_col, timestamp_col: field names in the ``.inter`` header.
        int_ids: make ids int64; default when every id is a plain decimal integer.
        timestamp_unit: as for :meth:`~embedzoo.datasets.Interactions.from_frame`.

    Raises:
        DataError: missing files or columns, bad values (file, line and column named).

    Example:
        >>> from embedzoo.datasets import load_atomic, recbole_example
        >>> data = load_atomic(recbole_example())  # doctest: +SKIP
        >>> len(data), len(data.users), len(data.items)  # doctest: +SKIP
        (100000, 943, 1682)
    """
    prefix = _prefix(Path(directory_or_prefix), dataset_name)
    inter_path = prefix.with_name(prefix.name + ".inter")
    raw = read_atomic_file(inter_path)
    where = str(inter_path)
    missing = [c for c in (user_col, item_col) if c not in raw.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing}; columns are {list(raw.columns)}; name yours"
            " with user_col=, item_col= (CLI: --user-col, --item-col)"
        )
    if len(raw) == 0:
        raise DataError(f"{where}: no rows")
    frame = pd.DataFrame(
        {USER: _ids(raw[user_col], int_ids, where), ITEM: _ids(raw[item_col], int_ids, where)}
    )
    if rating_col is not None and rating_col in raw.columns:
        frame[RATING] = _finite(raw[rating_col], where, rating_col).astype(np.float32)
    if timestamp_col is not None and timestamp_col in raw.columns:
        frame[TIMESTAMP] = timestamp_seconds(
            raw[timestamp_col], where, timestamp_col, timestamp_unit
        )
    items = _metadata(prefix, ".item", item_col, frame[ITEM].dtype, rename=ITEM_FIELDS)
    users = _metadata(prefix, ".user", user_col, frame[USER].dtype, rename={})
    return Interactions(frame, item_metadata=items, user_metadata=users, source=where)


def recbole_example(name: str = "ml-100k", cache_dir: str | os.PathLike | None = None) -> Path:
    """Makes sure RecBole's bundled MovieLens-100k atomic files are cached; returns their folder.

    The files come from the RecBole 1.2.1 wheel on PyPI (fetched with ``pip download``, or
    taken from ``$EMBEDZOO_RECBOLE_WHEEL``), whose sha256 and that of each extracted file are
    checked. They are written to ``<cache_dir>/recbole-ml-100k/`` through a temporary folder
    renamed into place, so the folder is either complete or absent.

    Args:
        name: only ``"ml-100k"`` ships in the wheel.
        cache_dir: the cache folder; default ``$EMBEDZOO_CACHE`` or ``~/.cache/embedzoo``.

    Raises:
        ChecksumError: the wheel or a file in it does not match its known sha256.
        DataError: pip failed (the message says how to provide the wheel by hand).

    Example:
        >>> from embedzoo.datasets import recbole_example
        >>> sorted(p.name for p in recbole_example().iterdir())  # doctest: +SKIP
        ['ml-100k.inter', 'ml-100k.item', 'ml-100k.kg', 'ml-100k.link', 'ml-100k.user']
    """
    if name != "ml-100k":
        raise DataError(f"RecBole's wheel ships only 'ml-100k', not {name!r}")
    root = _cache_dir(cache_dir)
    target = root / "recbole-ml-100k"
    if _complete(target):
        return target
    with tempfile.TemporaryDirectory(dir=root, prefix=".recbole-ml-100k-") as tmp:
        wheel = os.environ.get(WHEEL_ENV) or _pip_download(Path(tmp))
        if not Path(wheel).is_file():
            raise DataError(f"{WHEEL_ENV}={wheel}: no such file")
        verify_sha256(wheel, RECBOLE_WHEEL_SHA256)
        staged = Path(tmp) / "ml-100k"
        staged.mkdir()
        try:
            with zipfile.ZipFile(wheel) as zf:
                for file, digest in RECBOLE_ML100K_SHA256.items():
                    member = f"recbole/dataset_example/ml-100k/{file}"
                    with zf.open(member) as src, open(staged / file, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    verify_sha256(staged / file, digest)
        except (zipfile.BadZipFile, KeyError) as e:
            raise DataError(f"{wheel}: not a RecBole {RECBOLE_VERSION} wheel ({e})") from None
        if target.exists():  # an incomplete or damaged earlier copy
            shutil.rmtree(target)
        try:
            staged.rename(target)
        except OSError:  # another process finished first
            if not _complete(target):
                raise
    return target


def load_ml100k(cache_dir: str | os.PathLike | None = None) -> Interactions:
    """MovieLens-100k from RecBole's wheel: 100,000 ratings, 943 users, 1,682 items.

    Rows are in GroupLens ``u.data`` order (the first is user 196, item 242, rating 3,
    timestamp 881250949); ids are int64; titles come without the year (``"Star Wars"``), which
    is in ``item_metadata["year"]``.

    Args:
        cache_dir: the cache folder; default ``$EMBEDZOO_CACHE`` or ``~/.cache/embedzoo``.

    Example:
        >>> from embedzoo.datasets import load_ml100k
        >>> data = load_ml100k()  # doctest: +SKIP
        >>> data.item_titles([50])  # doctest: +SKIP
        ['Star Wars']
    """
    return load_atomic(recbole_example("ml-100k", cache_dir))


def _pip_download(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           f"recbole=={RECBOLE_VERSION}", "-d", str(dest)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob(f"recbole-{RECBOLE_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise DataError(
            f"pip could not download recbole=={RECBOLE_VERSION} ({' | '.join(tail)}); download "
            f"the wheel by hand and set {WHEEL_ENV} to its path"
        )
    return wheels[0]


def _complete(folder: Path) -> bool:
    if not all((folder / f).is_file() for f in RECBOLE_ML100K_SHA256):
        return False
    bad = [f for f, d in RECBOLE_ML100K_SHA256.items() if sha256_file(folder / f) != d]
    if bad:
        warnings.warn(f"{folder}: {bad} do not match their sha256; extracting again", stacklevel=3)
    return not bad


def _prefix(path: Path, dataset_name: str | None) -> Path:
    if path.suffix == ".inter" and path.is_file():
        return path.with_suffix("")
    if path.is_dir():
        stem = dataset_name or path.name
        if (path / f"{stem}.inter").is_file():
            return path / stem
        found = sorted(path.glob("*.inter"))
        if dataset_name is None and len(found) == 1:
            return found[0].with_suffix("")
        raise DataError(
            f"{path}: no {stem}.inter"
            + (f" (found {[p.name for p in found]}; pass dataset_name)" if found else "")
        )
    if path.with_name(path.name + ".inter").is_file():
        return path
    raise DataError(f"{path}: neither a folder with a .inter file nor a prefix of one")


def _ids(values: pd.Series, int_ids: bool | None, where: str) -> np.ndarray:
    text = values.astype(str)
    empty = (text.str.strip() == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise DataError(f"{where} line {row + 2}: column {values.name!r}: missing id")
    if int_ids is False:
        return text.to_numpy(dtype=object)
    nums = pd.to_numeric(text, errors="coerce")
    good = (nums.notna() & (nums == np.floor(nums))).to_numpy()
    if good.all():
        ints = nums.to_numpy(np.int64)
        good = pd.Series(ints).astype(str).to_numpy() == text.to_numpy()  # "007" stays a token
        if good.all():
            return ints
    if int_ids:
        bad = int(np.flatnonzero(~good)[0])
        raise DataError(f"{where} line {bad + 2}: id {text.iloc[bad]!r} is not an integer")
    return text.to_numpy(dtype=object)


def _floats(values: pd.Series, path, name: str) -> pd.Series:
    text = values.str.strip()
    nums = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = nums.isna() & (text != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path} line {row + 2}: column {name!r}: {text.iloc[row]!r} is not a number"
        )
    return nums.astype(np.float64)


def _float_list(text: str, path, name: str, line: int) -> list[float]:
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        raise DataError(f"{path} line {line}: column {name!r}: {text!r} is not numbers") from None


def _finite(values: pd.Series, where: str, col: str) -> np.ndarray:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where} line {row + 2}: column {col!r}: {values.iloc[row]!r} is not a finite number"
        )
    return arr


def _metadata(
    prefix: Path, suffix: str, id_col: str, id_dtype, rename: dict
) -> pd.DataFrame | None:
    path = prefix.with_name(prefix.name + suffix)
    if not path.is_file():
        return None
    df = read_atomic_file(path)
    if id_col not in df.columns:
        raise DataError(f"{path}: missing column {id_col!r}; columns are {list(df.columns)}")
    ids = _ids(df[id_col], id_dtype == np.int64, str(path)) if len(df) else df[id_col].to_numpy()
    df = df.drop(columns=id_col).rename(columns=rename)
    df.index = pd.Index(ids, name=USER if suffix == ".user" else ITEM)
    if "title" in df.columns:
        df["title"] = [" ".join(v) if isinstance(v, list) else v for v in df["title"]]
    if "genres" in df.columns:
        df["genres"] = ["|".join(v) if isinstance(v, list) else v for v in df["genres"]]
    for col in ("year", "age"):  # small integers kept as tokens by RecBole
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    first = [c for c in ("title", "genres", "year") if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]
