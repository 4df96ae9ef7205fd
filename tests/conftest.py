"""Fixtures shared by the whole test suite (append new ones; keep the existing)."""

import os
from pathlib import Path

import pytest

# scripts the tests run in fresh processes (they set up devices or a cluster at import time);
# never imported by pytest's doctest collection
collect_ignore_glob = ["*_probe.py", "saved_model_worker.py"]


@pytest.fixture(scope="session")
def embedzoo_cache(tmp_path_factory) -> Path:
    """The download cache: ``$EMBEDZOO_CACHE`` when set (reused across runs), else a session tmp dir."""
    env = os.environ.get("EMBEDZOO_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("embedzoo-cache")


@pytest.fixture(scope="session")
def ml100k(embedzoo_cache):
    """MovieLens-100k from RecBole's wheel (``load_ml100k``), loaded once per session."""
    from embedzoo.datasets import load_ml100k

    return load_ml100k(embedzoo_cache)


class SavedModelWorker:
    """Client of ``tests/saved_model_worker.py``: ``call(path, calls) -> outputs``."""

    def __init__(self):
        import subprocess
        import sys

        script = Path(__file__).with_name("saved_model_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, path, calls: list) -> dict:
        import json

        self.proc.stdin.write(json.dumps({"path": str(path), "calls": calls}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the SavedModel worker died (exit code {self.proc.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"SavedModel call failed in the fresh process: {answer['error']}")
        return answer

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


@pytest.fixture(scope="session")
def saved_model_worker():
    """One fresh TensorFlow process for every SavedModel check of the session."""
    worker = SavedModelWorker()
    yield worker
    worker.close()
