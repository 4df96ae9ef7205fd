"""Timestamps become seconds since 1970 whatever form they come in; numbers in the wrong unit
are refused with the unit they look like."""

import numpy as np
import pandas as pd
import pytest

from embedzoo import cli
from embedzoo.datasets import Interactions, load
from embedzoo.errors import ConfigError, DataError

SECONDS = [1714564800, 1714568400, 1714572000]  # 2024-05-01 12:00, 13:00, 14:00 UTC
ISO = ["2024-05-01T12:00:00Z", "2024-05-01T15:00:00+02:00", "2024-05-01 14:00:00"]


def frame(timestamps):
    return pd.DataFrame({"user": [1, 1, 2], "item": [3, 4, 3], "timestamp": timestamps})


@pytest.mark.parametrize(
    "timestamps",
    [
        SECONDS,
        [float(s) for s in SECONDS],
        ISO,
        pd.to_datetime(SECONDS, unit="s"),
        pd.to_datetime(SECONDS, unit="s").as_unit("ms"),
        pd.to_datetime(SECONDS, unit="s").as_unit("us"),
        pd.to_datetime(SECONDS, unit="s").tz_localize("UTC").tz_convert("Asia/Tokyo"),
        [pd.Timestamp(s, unit="s") for s in SECONDS],  # objects in an object column
    ],
    ids=["int", "float", "iso", "ns", "ms", "us", "tz", "objects"],
)
def test_every_form_gives_seconds(timestamps):
    data = Interactions.from_frame(frame(timestamps))
    assert data.frame.timestamp.tolist() == SECONDS
    assert data.frame.timestamp.dtype == np.int64


@pytest.mark.parametrize(
    ("factor", "unit", "name"),
    [(1000, "ms", "milliseconds"), (10**6, "us", "microseconds"), (10**9, "ns", "nanoseconds")],
)
def test_numbers_in_another_unit_are_refused_then_read_with_it(factor, unit, name):
    values = [s * factor for s in SECONDS]
    with pytest.raises(DataError, match=f"they look like {name}: pass timestamp_unit='{unit}'"):
        Interactions.from_frame(frame(values), source="clicks.csv")
    assert (
        Interactions.from_frame(frame(values), timestamp_unit=unit).frame.timestamp.tolist()
        == SECONDS
    )


def test_kiloseconds_and_orderings():
    with pytest.raises(DataError, match="before 1971.*pass timestamp_unit="):
        Interactions.from_frame(frame([s // 1000 for s in SECONDS]))
    ordered = Interactions.from_frame(frame([3, 1, 2]), timestamp_unit="order")
    assert ordered.frame.timestamp.tolist() == [3, 1, 2]
    with pytest.raises(ConfigError, match="timestamp_unit='hours'"):
        Interactions.from_frame(frame(SECONDS), timestamp_unit="hours")


def test_a_bad_time_names_its_row():
    with pytest.raises(
        DataError, match="column 'timestamp' row 1: value 'yesterday' is not an ISO"
    ):
        Interactions.from_frame(frame([ISO[0], "yesterday", ISO[2]]))
    with pytest.raises(DataError, match="row 2: value NaT"):
        Interactions.from_frame(frame(pd.to_datetime([ISO[0], ISO[0], None], utc=True)))


def test_files_with_iso_and_datetime_columns(tmp_path):
    frame(ISO).to_csv(tmp_path / "a.csv", index=False)
    assert load(tmp_path / "a.csv").frame.timestamp.tolist() == SECONDS
    frame(pd.to_datetime(SECONDS, unit="s").as_unit("ms")).to_parquet(tmp_path / "a.parquet")
    assert load(tmp_path / "a.parquet").frame.timestamp.tolist() == SECONDS
    frame(ISO).to_parquet(tmp_path / "b.parquet")
    assert load(tmp_path / "b.parquet").frame.timestamp.tolist() == SECONDS


def test_the_cli_names_the_columns_of_its_own_table(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 400
    own = pd.DataFrame(
        {
            "customer": [f"u_{u:04d}" for u in rng.integers(0, 30, n)],
            "product": [f"sku-{i}" for i in rng.integers(0, 20, n)],
            "stars": rng.integers(1, 6, n).astype(float),
            "ts": pd.to_datetime(1_700_000_000 + rng.permutation(n) * 60, unit="s").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
    ).drop_duplicates(["customer", "product"])
    csv = tmp_path / "ratings.csv"
    own.to_csv(csv, index=False)
    base = ["train", "dot_bias_mf", "--data", str(csv), "--epochs", "1", "--verbose", "0",
            "--set", "n_factors=4", "--split", "temporal"]  # fmt: skip
    assert cli.main([*base, "--run-dir", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) ['user', 'item']" in err and "--user-col" in err
    columns = ["--user-col", "customer", "--item-col", "product", "--rating-col", "stars",
               "--timestamp-col", "ts"]  # fmt: skip
    assert cli.main([*base, *columns, "--run-dir", str(tmp_path / "b")]) == 0
    assert "train: " in capsys.readouterr().out
    epoch = pd.Timestamp(0, tz="UTC")
    millis = own.assign(ts=(pd.to_datetime(own.ts) - epoch) // pd.Timedelta(milliseconds=1))
    millis.to_csv(csv, index=False)
    assert cli.main([*base, *columns, "--run-dir", str(tmp_path / "c")]) == 2
    assert "--timestamp-unit ms" in capsys.readouterr().err
    assert (
        cli.main([*base, *columns, "--timestamp-unit", "ms", "--run-dir", str(tmp_path / "c")]) == 0
    )
    assert cli.main([*base[:3], "ml-100k", *base[4:], "--user-col", "u"]) == 2
    assert "MovieLens' files have fixed columns" in capsys.readouterr().err
