"""MirroredStrategy over 2 logical CPU devices: the same optimisation problem as one device.

Logical devices must be configured before TensorFlow starts, so each check runs in a fresh
process (``distributed_probe.py``) that sets up 2 CPU replicas.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("distributed_probe.py")
ROOT = Path(__file__).resolve().parents[2]


def probe(*args, timeout=600):
    proc = subprocess.run(
        [sys.executable, str(PROBE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_one_step_on_two_replicas_equals_one_default_step():
    out = probe("one_step")
    assert out["replicas"] == 2
    for name, result in out["models"].items():
        assert result["loss_single"] == pytest.approx(result["loss_mirrored"], rel=1e-5), name
        assert result["max_weight_diff"] < 1e-5, (name, result)


def test_fit_defaults_export_and_bad_batch_under_mirrored(tmp_path):
    out = probe("defaults", str(tmp_path))
    assert out["replicas"] == 2
    assert out["epochs_trained"] == 2 and out["finite"]
    assert out["export_matches"]
    assert "must divide by the 2 replicas" in out["bad_batch_error"]
