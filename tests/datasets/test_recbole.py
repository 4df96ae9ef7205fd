import hashlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from embedzoo.datasets import load_atomic, read_atomic_file, recbole
from embedzoo.datasets.recbole import WHEEL_ENV, recbole_example
from embedzoo.errors import ChecksumError, DataError

INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
)
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n"
    "377\tHeavyweights\tunkonwn\tChildren's Comedy\n"
)
USER = "user_id:token\tage:token\tgender:token\n196\t49\tM\n186\t39\tF\n22\t25\tM\n"


def _write(folder, name="toy", **files):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, text in files.items():
        (folder / f"{name}.{suffix}").write_text(text)
    return folder


def test_load_atomic_folder(tmp_path):
    folder = _write(tmp_path / "toy", inter=INTER, item=ITEM, user=USER)
    data = load_atomic(folder)
    f = data.frame
    assert f.values.tolist() == [
        [196, 242, 3, 881250949],
        [186, 302, 3, 891717742],
        [22, 377, 1, 878887116],
    ]
    assert f.dtypes.tolist() == [np.int64, np.int64, np.float32, np.int64]
    meta = data.item_metadata
    assert list(meta.columns) == ["title", "genres", "year"]
    assert meta.loc[302, "title"] == "L.A. Confidential"
    assert meta.loc[302, "genres"] == "Crime|Film-Noir|Mystery|Thriller"
    assert meta.loc[302, "year"] == 1997 and meta.loc[377, "year"] is pd.NA
    assert data.user_metadata.loc[186, "gender"] == "F"
    assert data.user_metadata.loc[186, "age"] == 39


def test_prefix_inter_path_and_dataset_name(tmp_path):
    folder = _write(tmp_path / "data", name="toy", inter=INTER)
    _write(folder, name="other", inter=INTER.replace("196", "7"))
    assert len(load_atomic(folder / "toy")) == 3
    assert len(load_atomic(folder / "toy.inter")) == 3
    assert 7 in load_atomic(folder, dataset_name="other").users
    with pytest.raises(DataError, match="pass dataset_name"):
        load_atomic(folder)
    with pytest.raises(DataError, match="neither a folder"):
        load_atomic(folder / "nothing")


def test_column_overrides_and_implicit_data(tmp_path):
    text = "uid:token\tiid:token\n1\ta\n2\tb\n"
    data = load_atomic(_write(tmp_path / "toy", inter=text), user_col="uid", item_col="iid")
    assert not data.has_ratings and not data.has_timestamps
    assert data.items.dtype == "string" and data.users.dtype == "int64"
    with pytest.raises(DataError, match=r"missing column\(s\) \['user_id', 'item_id'\]"):
        load_atomic(tmp_path / "toy")


def test_tokens_keep_leading_zeros(tmp_path):
    text = "user_id:token\titem_id:token\n007\t1\n8\t2\n"
    data = load_atomic(_write(tmp_path / "toy", inter=text))
    assert data.users.dtype == "string" and "007" in data.users
    assert data.items.dtype == "int64"
    with pytest.raises(DataError, match=r"line 2: id '007' is not an integer"):
        load_atomic(tmp_path / "toy", int_ids=True)
    assert load_atomic(tmp_path / "toy", int_ids=False).items.dtype == "string"


def test_read_atomic_file_types(tmp_path):
    path = tmp_path / "x.feat"
    path.write_text("id:token\ttags:token_seq\tw:float\tv:float_seq\na\tx y\t1.5\t1 2.5\nb\t\t\t\n")
    df = read_atomic_file(path)
    assert list(df.columns) == ["id", "tags", "w", "v"]
    assert df["tags"].tolist() == [["x", "y"], []]
    assert df["w"].iloc[0] == 1.5 and np.isnan(df["w"].iloc[1])
    assert df["v"].tolist() == [[1.0, 2.5], []]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("a:token\tb:int\n1\t2\n", r"line 1: header field 'b:int'"),
        ("a:token\tb\n1\t2\n", r"line 1: header field 'b'"),
        ("a:token\tb:float\n1\t2\n1\tx\n", r"line 3: column 'b': 'x' is not a number"),
        ("a:token\tb:float_seq\n1\t2 z\n", r"line 2: column 'b'"),
        ("a:token\tb:token\n1\t2\n1\t2\t3\n", r"cannot parse"),
    ],
)
def test_read_atomic_file_errors(tmp_path, text, needle):
    path = tmp_path / "bad.inter"
    path.write_text(text)
    with pytest.raises(DataError, match=needle) as err:
        read_atomic_file(path)
    assert "bad.inter" in str(err.value)


@pytest.mark.parametrize(
    "row, needle",
    [
        ("5\t6\tnan\t7", r"toy.inter line 3: column 'rating'"),
        ("5\t6\t\t7", r"toy.inter line 3: column 'rating'"),
        ("5\t6\tinf\t7", r"toy.inter line 3: column 'rating'"),
        ("5\t\t4\t7", r"toy.inter line 3: column 'item_id': missing id"),
        ("", r"toy.inter line 3: column 'user_id': missing id"),
    ],
)
def test_bad_inter_rows(tmp_path, row, needle):
    text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t4\n" + row + "\n"
    with pytest.raises(DataError, match=needle):
        load_atomic(_write(tmp_path / "toy", inter=text + "1\t2\t3\t4\n"))


def test_empty_inter(tmp_path):
    with pytest.raises(DataError, match="no rows"):
        load_atomic(_write(tmp_path / "toy", inter="user_id:token\titem_id:token\n"))


# -- recbole_example with a fake wheel (the real one is exercised by the ml100k fixture) ------


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """A small wheel with the five files; the module's hashes are patched to match it."""
    files = {name: f"content of {name}\n".encode() for name in recbole.RECBOLE_ML100K_SHA256}
    wheel = tmp_path / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"recbole/dataset_example/ml-100k/{name}", data)
    monkeypatch.setattr(
        recbole,
        "RECBOLE_ML100K_SHA256",
        {n: hashlib.sha256(d).hexdigest() for n, d in files.items()},
    )
    monkeypatch.setattr(
        recbole, "RECBOLE_WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest()
    )
    monkeypatch.setenv(WHEEL_ENV, str(wheel))
    return wheel, files


def test_recbole_example_extracts_and_reuses(fake_wheel, tmp_path, monkeypatch):
    wheel, files = fake_wheel
    cache = tmp_path / "cache"
    folder = recbole_example(cache_dir=cache)
    assert folder == cache / "recbole-ml-100k"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert [p.name for p in cache.iterdir()] == ["recbole-ml-100k"]  # no temp folder left
    monkeypatch.setenv(WHEEL_ENV, str(tmp_path / "gone.whl"))  # cached: the wheel is not needed
    assert recbole_example(cache_dir=cache) == folder


def test_recbole_example_repairs_damaged_cache(fake_wheel, tmp_path):
    wheel, files = fake_wheel
    folder = recbole_example(cache_dir=tmp_path)
    (folder / "ml-100k.kg").write_bytes(b"tampered")
    with pytest.warns(UserWarning, match="do not match their sha256"):
        recbole_example(cache_dir=tmp_path)
    assert (folder / "ml-100k.kg").read_bytes() == files["ml-100k.kg"]


def test_recbole_example_rejects_wrong_wheel(fake_wheel, tmp_path, monkeypatch):
    monkeypatch.setattr(recbole, "RECBOLE_WHEEL_SHA256", "0" * 64)
    with pytest.raises(ChecksumError, match=r"recbole-1.2.1-py3-none-any.whl: sha256 mismatch"):
        recbole_example(cache_dir=tmp_path)
    assert not (tmp_path / "recbole-ml-100k").exists()


def test_recbole_example_rejects_wrong_file(fake_wheel, tmp_path, monkeypatch):
    hashes = dict(recbole.RECBOLE_ML100K_SHA256, **{"ml-100k.item": "1" * 64})
    monkeypatch.setattr(recbole, "RECBOLE_ML100K_SHA256", hashes)
    with pytest.raises(ChecksumError, match=r"ml-100k.item: sha256 mismatch"):
        recbole_example(cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written, no temp folder


def test_recbole_example_only_ml100k(tmp_path):
    with pytest.raises(DataError, match="only 'ml-100k'"):
        recbole_example("ml-1m", cache_dir=tmp_path)
