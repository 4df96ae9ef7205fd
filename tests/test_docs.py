"""The README's quickstarts run as written (Python block and CLI block)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parent.parent / "README.md"


def block(tag: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- {tag} -->\s*```\w*\n(.*?)```", text, re.S)
    assert match, f"README has no block tagged {tag}"
    return match.group(1)


def test_python_quickstart(tmp_path, monkeypatch, embedzoo_cache):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBEDZOO_CACHE", str(embedzoo_cache))
    namespace: dict = {}
    exec(compile(block("quickstart-python"), "README quickstart", "exec"), namespace)
    assert namespace["metrics"]["rmse"] < 0.95
    assert (tmp_path / "exports" / "movielens_mf" / "1" / "saved_model.pb").is_file()


def _own_table(path: Path, cache) -> None:
    """The README's "your own table": ratings.csv with the user's column names, string ids and
    ISO-8601 times (made from 20 000 MovieLens-100k rows)."""
    import pandas as pd

    from embedzoo.datasets import load_ml100k

    frame = load_ml100k(cache_dir=cache).frame.iloc[:20_000]
    pd.DataFrame(
        {
            "customer": [f"u_{u:04d}" for u in frame.user],
            "product": [f"sku-{i}" for i in frame["item"]],
            "stars": frame.rating,
            "ts": pd.to_datetime(frame.timestamp, unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).to_csv(path, index=False)


class TestCLIQuickstart:  # a class of its own: pytest-xdist runs it beside the others
    def test_cli_quickstart(self, tmp_path, embedzoo_cache):
        env = {**os.environ, "EMBEDZOO_CACHE": str(embedzoo_cache)}
        _own_table(tmp_path / "ratings.csv", embedzoo_cache)
        outputs = []
        for line in block("quickstart-cli").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            args = shlex.split(line)
            assert args[0] == "embedzoo"
            proc = subprocess.run(
                [sys.executable, "-m", "embedzoo", *args[1:]],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            outputs.append(proc.stdout)
        assert "Most liked" in outputs[1] and "rmse" in outputs[1]
        assert (tmp_path / "exports" / "movielens_mf" / "1" / "saved_model.pb").is_file()
        assert outputs[4].split()[:5] == ["user", "rank", "item", "score", "title"]  # titles shown
        assert outputs[5].split()[:5] == ["query_item", "rank", "item", "score", "title"]
        assert "sku-" in outputs[7] and "u_0196" in outputs[7]  # the user's own ids
        info = json.loads(outputs[8])
        assert info["config"]["data_options"]["user_col"] == "customer"
        assert info["config"]["data_source"]["rows"] == 20_000
