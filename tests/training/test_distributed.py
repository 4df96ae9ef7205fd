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


class TestTwoTowerReplicas:  # its own class: pytest-xdist runs it beside the others
    def test_two_tower_trains_on_two_replicas_and_exports(self, tmp_path):
        out = probe("two_tower", str(tmp_path))
        assert out["replicas"] == 2 and out["export_matches"]
        assert out["loss_last"] < out["loss_first"]
        assert out["cold_item_auc"] >= 0.9


class TestCLIReplicas:  # a class of its own: pytest-xdist runs it beside the others
    def test_cli_trains_on_two_cpu_replicas_like_on_one(self, tmp_path):
        from tests.helpers import make_ratings

        csv = tmp_path / "ratings.csv"
        make_ratings().frame.to_csv(csv, index=False)
        metrics = {}
        for name, extra in (("one", []), ("two", ["--strategy", "mirrored", "--cpu-devices", "2"])):
            run = tmp_path / name
            argv = ["-m", "embedzoo", "train", "dot_bias_mf", "--data", str(csv), "--epochs", "3",
                    "--batch-size", "64", "--verbose", "0", "--run-dir", str(run), *extra]  # fmt: skip
            proc = subprocess.run(
                [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            metrics[name] = json.loads((run / "metrics.json").read_text())
        assert "2 replica(s)" in proc.stdout
        assert metrics["two"]["rmse"] == pytest.approx(metrics["one"]["rmse"], abs=1e-5)


class TestOnML100k:  # a class of its own: pytest-xdist runs it beside the others
    @pytest.mark.slow
    def test_ml100k_rmse_is_the_same_on_two_replicas(self):
        out = probe("ml100k")
        assert out["replicas"] == 2
        assert abs(out["rmse_mirrored"] - out["rmse_single"]) < 0.005, out
        assert out["rmse_single"] < 0.9, out
