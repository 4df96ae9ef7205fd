import zipfile

import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import load_movielens
from embedzoo.errors import ChecksumError, DataError
from tests.datasets.movielens_fakes import LATEST_RATINGS, ML1M_RATINGS, ML100K_DATA, zip_folder


@pytest.mark.parametrize("as_zip", [False, True])
def test_ml100k_format(fake_movielens, as_zip):
    data = load_movielens(path=fake_movielens("ml-100k", as_zip=as_zip))
    f = data.frame
    assert list(f.columns) == ["user", "item", "rating", "timestamp"]
    assert [tuple(r) for r in f.itertuples(index=False)] == ML100K_DATA  # file order
    assert f.dtypes.tolist() == [np.int64, np.int64, np.float32, np.int64]
    assert data.users.to_list() == [22, 186, 196]
    meta = data.item_metadata
    assert meta.loc[302, "title"] == "L.A. Confidential (1997)"
    assert meta.loc[302, "genres"] == "Crime|Film-Noir|Mystery|Thriller"
    assert meta.loc[302, "year"] == 1997
    assert meta.loc[377, "genres"] == "Children's|Comedy"
    assert meta.loc[267, "title"] == "unknown" and meta.loc[267, "genres"] == "unknown"
    assert meta.loc[267, "year"] is pd.NA
    assert meta.loc[999, "title"] == "Caf\u00e9 au lait"  # latin-1 decoded
    assert meta.loc[999, "year"] == 1993  # no year in the title: the release date's
    assert data.item_titles([242]) == ["Kolya (1996)"]
    assert data.user_metadata.loc[186, "occupation"] == "executive"
    assert data.user_metadata.loc[186, "zip_code"] == "00000"
    assert data.user_metadata.loc[196, "age"] == 49


def test_ml100k_without_u_genre_uses_standard_names(fake_movielens):
    folder = fake_movielens("ml-100k")
    (folder / "u.genre").unlink()
    meta = load_movielens(path=folder).item_metadata
    assert meta.loc[302, "genres"] == "Crime|Film-Noir|Mystery|Thriller"


@pytest.mark.parametrize("as_zip", [False, True])
def test_ml1m_format(fake_movielens, as_zip):
    data = load_movielens("ml-1m", path=fake_movielens("ml-1m", as_zip=as_zip))
    assert [tuple(r) for r in data.frame.itertuples(index=False)] == ML1M_RATINGS
    meta = data.item_metadata
    assert meta.loc[661, "genres"] == "Animation|Children's|Musical"
    assert meta.loc[3000, "title"] == "Ast\u00e9rix: Mission Cl\u00e9op\u00e2tre (2002)"
    assert meta.loc[1193, "year"] == 1975
    assert data.user_metadata.loc[2, "gender"] == "M" and data.user_metadata.loc[2, "age"] == 56


@pytest.mark.parametrize("as_zip", [False, True])
def test_latest_small_format(fake_movielens, as_zip):
    data = load_movielens("ml-latest-small", path=fake_movielens("ml-latest-small", as_zip))
    assert [tuple(r) for r in data.frame.itertuples(index=False)] == LATEST_RATINGS
    assert data.frame["rating"].tolist() == [4.0, 3.5, 0.5]
    meta = data.item_metadata
    assert meta.loc[3, "title"] == "American President, The (1995)"
    assert meta.loc[7, "genres"] == ""  # "(no genres listed)"
    assert meta.loc[7, "year"] == 2006
    assert data.user_metadata is None


def test_folder_above_the_release_folder(fake_movielens):
    folder = fake_movielens("ml-1m")
    assert len(load_movielens(path=folder.parent)) == 3


def _write_u_data(folder, lines):
    (folder / "u.data").write_text("".join(line + "\n" for line in lines))


@pytest.mark.parametrize(
    "bad, needle",
    [
        ("1\t2\tabc\t5", "line 3: rating 'abc' is not a finite number"),
        ("1\t2\tnan\t5", "line 3: rating"),
        ("1\t2\tinf\t5", "line 3: rating"),
        ("1\t2\t3", "line 3: timestamp missing"),
        ("x\t2\t3\t5", "line 3: user 'x' is not an integer"),
        ("1\t2.5\t3\t5", "line 3: item"),
        ("", "line 3"),
    ],
)
def test_bad_rating_rows_name_file_and_line(fake_movielens, bad, needle):
    folder = fake_movielens("ml-100k")
    _write_u_data(folder, ["1\t2\t3\t4", "1\t3\t3\t4", bad, "2\t2\t3\t4"])
    with pytest.raises(DataError, match="u.data") as err:
        load_movielens(path=folder)
    assert needle in str(err.value)


def test_bad_line_in_csv_counts_the_header(fake_movielens):
    folder = fake_movielens("ml-latest-small")
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,4.0,5\n1,3,,5\n")
    with pytest.raises(DataError, match=r"ratings.csv line 3: rating missing"):
        load_movielens(path=folder)


def test_bad_line_in_zip_names_archive_member(fake_movielens, tmp_path):
    folder = fake_movielens("ml-1m")
    (folder / "ratings.dat").write_text("1::2::3::4\n1::2::three::4\n")
    archive = zip_folder(folder, tmp_path / "bad.zip")
    with pytest.raises(DataError, match=r"bad.zip:ml-1m/ratings.dat line 2: rating 'three'"):
        load_movielens(path=archive)


def test_missing_column_and_empty_files(fake_movielens):
    folder = fake_movielens("ml-latest-small")
    (folder / "ratings.csv").write_text("userId,movieId,timestamp\n1,2,5\n")
    with pytest.raises(DataError, match=r"missing column.*'rating'"):
        load_movielens(path=folder)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(DataError, match="no ratings"):
        load_movielens(path=folder)
    folder = fake_movielens("ml-100k")
    (folder / "u.data").write_text("")
    with pytest.raises(DataError, match="u.data: no ratings"):
        load_movielens(path=folder)


def test_folder_without_ratings(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MovieLens ratings file"):
        load_movielens(path=tmp_path / "empty")
    with pytest.raises(DataError, match="no such file"):
        load_movielens(path=tmp_path / "missing.zip")


def test_truncated_zip_names_archive(fake_movielens):
    archive = fake_movielens("ml-100k", as_zip=True)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"ml-100k.zip: corrupt or truncated zip"):
        load_movielens(path=archive)


def test_corrupt_member_names_archive(fake_movielens):
    archive = fake_movielens("ml-1m", as_zip=True)
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("ml-1m/ratings.dat")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 2] ^= 0xFF  # flip bits inside the compressed data
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="ml-1m.zip: corrupt or truncated zip"):
        load_movielens(path=archive)


def test_explicit_sha256_checks_a_local_archive(fake_movielens):
    archive = fake_movielens("ml-100k", as_zip=True)
    with pytest.raises(ChecksumError, match="ml-100k.zip: sha256 mismatch"):
        load_movielens(path=archive, sha256="0" * 64)
    assert archive.exists()  # a user's own file is never deleted


def test_unknown_name():
    with pytest.raises(DataError, match="unknown MovieLens data set 'ml-7k'"):
        load_movielens("ml-7k", download=False)


def test_no_download_when_not_cached(tmp_path):
    with pytest.raises(DataError, match="not cached and download=False"):
        load_movielens("ml-1m", cache_dir=tmp_path, download=False)
