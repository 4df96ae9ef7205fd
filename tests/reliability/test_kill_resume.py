"""kill -9 in the middle of `embedzoo train --resume`, then the same command: the run ends
with the weights, history and metrics of an uninterrupted one. One model per pipeline kind
(triplets, pointwise with sampled negatives, entity-link pairs), each killed at two points."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from embedzoo import cli, zoo
from tests.helpers import make_implicit

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 16


def _last_checkpoint(run: Path) -> int:
    """The epoch of the last checkpoint committed (named in the manager's state file: a
    checkpoint whose files were being written when the kill came does not count)."""
    try:
        state = (run / "checkpoint" / "checkpoint").read_text()
    except OSError:
        return 0
    m = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    csv = tmp_path_factory.mktemp("data") / "clicks.csv"
    make_implicit().frame.to_csv(csv, index=False)
    return csv


@pytest.fixture(scope="module")
def uninterrupted(clicks, tmp_path_factory):
    """One uninterrupted run per model, shared by its kill points."""
    runs = {}

    def run(model, size_key):
        if model not in runs:
            path = tmp_path_factory.mktemp("whole") / model
            assert cli.main([*_common(model, size_key, clicks), "--run-dir", str(path)]) == 0
            runs[model] = path
        return runs[model]

    return run


def _common(model, size_key, csv):
    return ["train", model, "--data", str(csv), "--split", "temporal", "--epochs", str(EPOCHS),
            "--set", f"{size_key}=8", "--verbose", "0"]  # fmt: skip


# One class per model: pytest-xdist (--dist loadscope) runs classes in parallel.
class TestTriplets:
    @pytest.mark.parametrize("kill_after", [3, 11])
    def test_bpr(self, kill_after, clicks, uninterrupted, tmp_path):
        kill_then_resume("bpr", "n_factors", kill_after, clicks, uninterrupted, tmp_path)


class TestPointwiseNegatives:
    @pytest.mark.parametrize("kill_after", [1, 8])
    def test_gmf(self, kill_after, clicks, uninterrupted, tmp_path):
        kill_then_resume("gmf", "n_factors", kill_after, clicks, uninterrupted, tmp_path)


class TestPairs:
    @pytest.mark.parametrize("kill_after", [5, 13])
    def test_link_embedding(self, kill_after, clicks, uninterrupted, tmp_path):
        kill_then_resume("link_embedding", "embedding_size", kill_after, clicks, uninterrupted,
                         tmp_path)  # fmt: skip


def kill_then_resume(model, size_key, kill_after, clicks, uninterrupted, tmp_path):
    """kill -9 once checkpoint ``kill_after`` is committed, run the same command again, and
    compare with the uninterrupted run."""
    common = _common(model, size_key, clicks)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "embedzoo", *common, "--resume", "--run-dir", str(run)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while _last_checkpoint(run) < kill_after:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, f"no checkpoint {kill_after} in time"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    killed_at = _last_checkpoint(run)
    assert kill_after <= killed_at < EPOCHS, "the kill must land before the run finished"
    assert not (run / "model.keras").exists()
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    whole = uninterrupted(model, size_key)
    resumed = zoo.load_model(run / "model.keras").get_weights()
    reference = zoo.load_model(whole / "model.keras").get_weights()
    for a, b in zip(resumed, reference, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    history = json.loads((run / "history.json").read_text())
    whole_history = json.loads((whole / "history.json").read_text())
    assert len(history["loss"]) == EPOCHS
    np.testing.assert_allclose(history["loss"], whole_history["loss"], rtol=1e-5)
    metrics = json.loads((run / "metrics.json").read_text())
    expected = json.loads((whole / "metrics.json").read_text())
    assert metrics["epochs"] == EPOCHS and metrics["resumed_after_epoch"] == killed_at
    for key, value in expected.items():
        if key != "train_seconds" and isinstance(value, float):
            assert metrics[key] == pytest.approx(value, abs=1e-6), key
