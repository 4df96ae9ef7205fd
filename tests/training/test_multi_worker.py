"""MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1: embedzoo's own loop.

Each multi-process check starts its workers in their own process groups, bounds every wait,
and kills the groups (and so frees their ports) whatever happens.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.cli import main
from embedzoo.errors import ConfigError
from embedzoo.training import strategies
from tests.helpers import make_implicit, make_ratings

PROBE = Path(__file__).with_name("multi_worker_probe.py")
ROOT = Path(__file__).resolve().parents[2]
WAIT = 240  # seconds any multi-process run may take before the test fails


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports, index):
    return json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


@contextmanager
def cluster(commands, tmp_path):
    """Starts one process per command (worker i gets TF_CONFIG index i); yields the Popens."""
    ports = free_ports(len(commands))
    procs = []
    try:
        for i, command in enumerate(commands):
            env = {**os.environ, "TF_CONFIG": tf_config(ports, i), "TF_CPP_MIN_LOG_LEVEL": "2"}
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=open(tmp_path / f"out-{i}.txt", "w"),
                    stderr=open(tmp_path / f"err-{i}.txt", "w"),
                    start_new_session=True,
                )
            )
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def finish(procs, tmp_path, timeout=WAIT):
    deadline = time.monotonic() + timeout
    for p in procs:
        p.wait(timeout=max(1.0, deadline - time.monotonic()))
    return [(tmp_path / f"out-{i}.txt").read_text() for i in range(len(procs))]


def probe_commands(name, epochs, out_dir, checkpoint=False):
    return [
        [sys.executable, str(PROBE), name, str(epochs), str(out_dir)]
        + ([str(out_dir / f"ckpt-{i}")] if checkpoint else [])
        for i in range(2)
    ]


def weights(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def single_device(name, epochs):
    data = make_ratings(n_rows=901) if name == "dot_bias_mf" else make_implicit()
    model = zoo.build(name, data, seed=0)
    training.fit(model, data, epochs=epochs, batch_size=256, seed=0, verbose=0)
    return model.get_weights()


def assert_same(a, b, atol):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("", "needs TF_CONFIG"),
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "cluster"),
        (
            '{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
            "cluster.worker[0]",
        ),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task.type"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 2}}', "task.index"),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": "0"}}',
            "task.index",
        ),
        ('{"cluster": {"boss": ["a:1"]}, "task": {"type": "boss", "index": 0}}', "cluster.boss"),
    ],
)
def test_invalid_tf_config_names_the_field(value, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        strategies.check_tf_config(value)


def test_cli_invalid_tf_config_is_a_clear_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {}}')
    code = main(["train", "dot_bias_mf", "--data", "x.csv", "--strategy", "multi_worker",
                 "--run-dir", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "TF_CONFIG task.type" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_two_workers_sample_their_own_negatives_and_agree(tmp_path):
    """bpr: each worker gathers its slice of every global batch and samples its negatives
    from its own (seed, epoch, batch, replica) stream; both end with the same weights.
    (dot_bias_mf against one device: the kill-and-resume test below.)"""
    with cluster(probe_commands("bpr", 3, tmp_path), tmp_path) as procs:
        results = [json.loads(o.strip().splitlines()[-1]) for o in finish(procs, tmp_path)]
    assert [r["index"] for r in results] == [0, 1]
    assert [r["chief"] for r in results] == [True, False]
    assert all(r["replicas"] == 2 and r["epochs"] == [0, 1, 2] for r in results)
    assert results[0]["val_loss"] == results[1]["val_loss"]
    assert results[0]["loss"][-1] < results[0]["loss"][0]
    assert_same(weights(tmp_path / "worker-0.npz"), weights(tmp_path / "worker-1.npz"), atol=0)


def _committed(directory) -> int:
    """The epoch of the last checkpoint a worker committed (0: none yet)."""
    try:
        state = (directory / "checkpoint").read_text()
    except OSError:
        return 0
    m = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M)
    return int(m.group(1)) if m else 0


def test_killed_worker_fails_the_other_and_a_restart_resumes_exactly(tmp_path):
    """dot_bias_mf, killed after epoch 3: the other worker stops with a clear error; the same
    command again resumes, and both workers end with the weights of one device trained
    without interruption (same global batches, an uneven last one included)."""
    epochs = 16
    with cluster(
        probe_commands("dot_bias_mf", epochs, tmp_path, checkpoint=True), tmp_path
    ) as procs:
        deadline = time.monotonic() + WAIT
        # both workers' third checkpoint committed (named in their managers' state files): a
        # kill while a worker still writes it resumes, rightly, from the one before
        dirs = (tmp_path / "ckpt-0", tmp_path / "ckpt-1" / "worker-1")
        while min(_committed(d) for d in dirs) < 3:
            assert procs[0].poll() is None, (tmp_path / "err-0.txt").read_text()[-3000:]
            assert time.monotonic() < deadline, "training never reached epoch 3"
            time.sleep(0.2)
        os.killpg(procs[1].pid, signal.SIGKILL)
        killed = time.monotonic()
        code = procs[0].wait(timeout=90)
        waited = time.monotonic() - killed
    err = (tmp_path / "err-0.txt").read_text()
    assert code != 0 and "WorkerLostError" in err and "task /job:worker/replica:0/task:1" in err
    assert waited < 90
    # the same command again: resumes from the last epoch both workers finished
    with cluster(
        probe_commands("dot_bias_mf", epochs, tmp_path, checkpoint=True), tmp_path
    ) as procs:
        results = [json.loads(o.strip().splitlines()[-1]) for o in finish(procs, tmp_path)]
    resumed = results[0]["epochs"]
    assert resumed[0] >= 3 and resumed[-1] == epochs - 1, resumed
    w0, w1 = weights(tmp_path / "worker-0.npz"), weights(tmp_path / "worker-1.npz")
    assert_same(w0, w1, atol=0)
    assert_same(w0, single_device("dot_bias_mf", epochs), atol=1e-5)


@pytest.mark.slow
def test_cli_multi_worker_on_ml100k_matches_single_device(tmp_path):
    """The README's two-worker command on ML-100k: the chief writes the run, the other worker
    only trains, both print the same weights fingerprint, RMSE as on one device."""
    common = ["train", "dot_bias_mf", "--data", "ml-100k", "--epochs", "2", "--verbose", "0"]
    commands = [
        [sys.executable, "-m", "embedzoo", *common, "--strategy", "multi_worker",
         "--run-dir", str(tmp_path / f"R{i}")]
        for i in range(2)
    ]  # fmt: skip
    with cluster(commands, tmp_path) as procs:
        outs = finish(procs, tmp_path)
    assert [p.returncode for p in procs] == [0, 0], (tmp_path / "err-0.txt").read_text()[-3000:]
    assert (tmp_path / "R0" / "model.keras").exists()
    assert not (tmp_path / "R1").exists()  # nothing but checkpoints (none asked for here)
    prints = [
        [line for line in o.splitlines() if "weights fingerprint" in line][0].split()[-1]
        for o in outs
    ]
    assert prints[0] == prints[1]
    assert main([*common, "--run-dir", str(tmp_path / "single")]) == 0
    multi = json.loads((tmp_path / "R0" / "metrics.json").read_text())
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert multi["workers"] == 2 and multi["epochs"] == 2
    assert abs(multi["rmse"] - single["rmse"]) < 0.005
