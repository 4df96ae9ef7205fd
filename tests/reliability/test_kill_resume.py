"""kill -9 in the middle of `embedzoo train --resume`, then the same command: the run ends
with the weights, history and metrics of an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from embedzoo import cli, zoo
from tests.helpers import make_implicit

ROOT = Path(__file__).resolve().parents[2]


def test_kill_9_then_the_same_command_gives_the_uninterrupted_run(tmp_path):
    csv = tmp_path / "clicks.csv"
    make_implicit().frame.to_csv(csv, index=False)
    common = ["train", "bpr", "--data", str(csv), "--split", "temporal", "--epochs", "16",
              "--set", "n_factors=8", "--verbose", "0"]  # fmt: skip
    run = tmp_path / "run"
    command = [sys.executable, "-m", "embedzoo", *common, "--resume", "--run-dir", str(run)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while len(list((run / "checkpoint").glob("ckpt-*.index"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "no third checkpoint in time"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert not (run / "model.keras").exists()
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert cli.main([*common, "--run-dir", str(tmp_path / "whole")]) == 0
    resumed = zoo.load_model(run / "model.keras").get_weights()
    whole = zoo.load_model(tmp_path / "whole" / "model.keras").get_weights()
    for a, b in zip(resumed, whole, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(history["loss"]) == 16 and metrics["epochs"] == 16
    assert metrics["resumed_after_epoch"] >= 3
    reference = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert metrics["ndcg@10"] == reference["ndcg@10"]
