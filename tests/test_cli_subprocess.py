"""The new-user CLI features through the real `embedzoo` command in a subprocess (the
in-process tests cover each in detail): a batch to a file with filters, unknown ids warned
about and refused, a wrong timestamp unit named, a comparison table."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_implicit

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def embedzoo(*args, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "embedzoo", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    d = tmp_path_factory.mktemp("sub")
    frame = make_implicit(string_ids=True).frame
    frame = frame.assign(
        ts=pd.to_datetime(frame.timestamp, unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )
    frame.drop(columns="timestamp").rename(columns={"user": "who", "item": "what"}).to_csv(
        d / "clicks.csv", index=False
    )
    proc = embedzoo("train", "bpr", "--data", "clicks.csv", "--user-col", "who", "--item-col", "what",
                    "--timestamp-col", "ts", "--split", "temporal", "--epochs", "3",
                    "--run-dir", "run", "--verbose", "0", cwd=d)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return d


def test_batch_to_a_file_with_an_exclude_list_and_unknown_users(place):
    (place / "users.txt").write_text("u1\nu2\nnobody\n")
    proc = embedzoo("recommend", "--run", "run", "--users-file", "users.txt", "-k", "3",
                    "--exclude-item", "i0", "--output", "recs.csv", cwd=place)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "embedzoo: warning: 1 of 3 user id(s) unknown to the model: ['nobody']" in proc.stderr
    recs = pd.read_csv(place / "recs.csv")
    assert recs.user.tolist() == ["u1"] * 3 + ["u2"] * 3 + ["nobody"] * 3
    assert "i0" not in set(recs.item)
    strict = embedzoo("recommend", "--run", "run", "--user", "nobody", "--strict", cwd=place)
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert strict.stderr.strip().splitlines()[-1].startswith("embedzoo: error: 1 of 1 user id(s)")


def test_a_wrong_timestamp_unit_is_named_and_compare_tabulates(place):
    frame = pd.read_csv(place / "clicks.csv")
    epoch = pd.Timestamp(0, tz="UTC")
    frame["ts"] = (pd.to_datetime(frame.ts) - epoch) // pd.Timedelta(milliseconds=1)
    frame.to_csv(place / "millis.csv", index=False)
    columns = ["--user-col", "who", "--item-col", "what", "--timestamp-col", "ts"]
    proc = embedzoo("compare", "popularity", "run", "--data", "millis.csv", *columns, cwd=place)
    assert proc.returncode == 2 and "they look like milliseconds" in proc.stderr
    proc = embedzoo("compare", "popularity", "run", "--data", "millis.csv", *columns,
                    "--timestamp-unit", "ms", "--split", "temporal", "--format", "json", cwd=place)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert list(report["models"]) == ["popularity", "run"]
    assert report["models"]["run"]["ndcg@10"] > 0


def test_evaluate_info_export_and_plots_of_the_run(place):
    proc = embedzoo("evaluate", "--run", "run", cwd=place)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recorded = json.loads((place / "run" / "metrics.json").read_text())
    assert json.loads(proc.stdout)["ndcg@10"] == pytest.approx(recorded["ndcg@10"], abs=1e-6)
    assert (
        embedzoo(
            "export", "--run", "run", "--to", "exports", "--name", "clicks", cwd=place
        ).returncode
        == 0
    )
    info = json.loads(embedzoo("info", "exports/clicks/1", cwd=place).stdout)
    assert info["model"] == "bpr" and info["data_source"]["rows"] == len(make_implicit().frame)
    meta = pd.DataFrame({"what": sorted(set(pd.read_csv(place / "clicks.csv").what))})
    meta["title"] = "Title of " + meta.what
    meta["genres"] = ["Action Comedy" if n % 2 else "Drama" for n in range(len(meta))]
    meta.to_csv(place / "items.csv", index=False)
    proc = embedzoo("similar", "--run", "run", "--item", "i1", "-k", "2", "--metadata", "items.csv",
                    "--format", "csv", cwd=place)  # fmt: skip
    assert proc.returncode == 0 and "Title of " in proc.stdout, proc.stderr[-2000:]
    for what, extra in (("bias", []), ("map", ["--method", "pca", "--metadata", "items.csv"]),
                        ("history", [])):  # fmt: skip
        proc = embedzoo("plot", what, "--run", "run", "--out", f"{what}.png", *extra, cwd=place)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (place / f"{what}.png").stat().st_size > 5000
