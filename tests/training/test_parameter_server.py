"""ParameterServerStrategy: embedzoo's coordinator loop, tables sharded over the ps tasks.

The in-process checks run ``parameter_server_probe.py`` (a cluster of TensorFlow servers in
one fresh process). The CLI check starts 2 ps, 2 workers and a chief as separate processes on
127.0.0.1, each in its own process group, bounds every wait and kills every group it started.
"""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from embedzoo.cli import main
from embedzoo.errors import ConfigError
from embedzoo.training import strategies
from tests.helpers import make_implicit
from tests.training.test_multi_worker import free_ports

PROBE = Path(__file__).with_name("parameter_server_probe.py")
ROOT = Path(__file__).resolve().parents[2]
WAIT = 240  # seconds any multi-process run may take before the test fails


def probe(*args, timeout=900):
    proc = subprocess.run(
        [sys.executable, str(PROBE), *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_one_step_on_the_parameter_servers_equals_one_default_step_and_exports_the_same():
    out = probe("one_step")
    for name, result in out["models"].items():
        assert result["loss_ps"] == pytest.approx(result["loss_single"], rel=1e-6), name
        assert result["max_weight_diff"] < 1e-6, (name, result)
        # one table, two variables, one on each parameter server
        assert result["same_history_keys"], name  # loss, the spec's metrics, epoch_seconds
        assert result["table_shards"] == 2
        assert result["item_table_devices"] == [
            "/job:ps/replica:0/task:0/device:CPU:0",
            "/job:ps/replica:0/task:1/device:CPU:0",
        ], name
    assert out["export"]["signatures_equal"] and out["export"]["answers_equal"], out["export"]


class TestOnML100k:  # a class of its own: pytest-xdist runs it beside the others
    @pytest.mark.slow
    def test_two_async_workers_reach_single_device_quality(self):
        out = probe("ml100k")
        ndcg, rmse = out["bpr_ndcg"], out["dot_bias_mf_rmse"]
        # asynchronous steps cost bpr a little: 0.003-0.006 below one device in 5 runs
        # (docs/benchmarks.md)
        assert abs(ndcg["ps"] - ndcg["single"]) < 0.01, out
        assert ndcg["single"] > 0.12, out
        assert abs(rmse["ps"] - rmse["single"]) < 0.005, out


def cluster_config(ports, task_type, index):
    chief, w0, w1, p0, p1 = ports
    return json.dumps(
        {
            "cluster": {
                "chief": [f"127.0.0.1:{chief}"],
                "worker": [f"127.0.0.1:{w0}", f"127.0.0.1:{w1}"],
                "ps": [f"127.0.0.1:{p0}", f"127.0.0.1:{p1}"],
            },
            "task": {"type": task_type, "index": index},
        }
    )


TASKS = [("ps", 0), ("ps", 1), ("worker", 0), ("worker", 1), ("chief", 0)]


@contextmanager
def processes():
    """A list to add ``(name, Popen)`` to; every process group is killed on exit."""
    started = []
    try:
        yield started
    finally:
        for _, p in started:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def start(started, argv, ports, task, tmp_path, attempt):
    name = f"{task[0]}-{task[1]}-{attempt}"
    env = {**os.environ, "TF_CONFIG": cluster_config(ports, *task), "TF_CPP_MIN_LOG_LEVEL": "2"}
    p = subprocess.Popen(
        [sys.executable, "-m", "embedzoo", *argv], cwd=ROOT, env=env,
        stdout=open(tmp_path / f"{name}.out", "w"), stderr=open(tmp_path / f"{name}.err", "w"),
        start_new_session=True,
    )  # fmt: skip
    started.append((name, p))
    return p


def embedzoo_tracebacks(stderr: str) -> list[str]:
    """The Python exception tracebacks in ``stderr`` with a frame in embedzoo's code."""
    out = []
    for block in stderr.split("Traceback (most recent call last):")[1:]:
        frames = []
        for line in block.splitlines()[1:]:
            if not line.startswith("  "):  # the exception line ends the traceback
                break
            frames.append(line)
        if any("/embedzoo/" in frame for frame in frames):
            out.append("\n".join(frames))
    return out


def committed_epochs(checkpoint_dir: Path) -> int:
    state = checkpoint_dir / "checkpoint"
    if not state.exists():
        return 0
    text = state.read_text()
    tails = [line.rsplit("-", 1)[-1].strip('"') for line in text.splitlines() if "ckpt-" in line]
    return max((int(t) for t in tails if t.isdigit()), default=0)


class TestCluster:  # a class of its own: pytest-xdist runs it beside the others
    @pytest.mark.slow
    def test_cli_cluster_survives_a_lost_worker_and_resumes_after_a_lost_ps(self, tmp_path):
        csv = tmp_path / "clicks.csv"
        make_implicit(n_users=200, n_items=300, per_user=(10, 30)).frame.to_csv(csv, index=False)
        run = tmp_path / "run"
        argv = ["train", "bpr", "--data", str(csv), "--strategy", "parameter_server",
                "--epochs", "30", "--batch-size", "64", "--verbose", "0", "--resume",
                "--run-dir", str(run)]  # fmt: skip
        ports = free_ports(5)
        with processes() as started:
            for task in TASKS:
                start(started, argv, ports, task, tmp_path, 0)
            chief = started[-1][1]
            deadline = time.monotonic() + WAIT

            def wait_for(epochs):
                while committed_epochs(run / "checkpoint") < epochs:
                    assert chief.poll() is None, (tmp_path / "chief-0-0.err").read_text()[-3000:]
                    assert time.monotonic() < deadline, f"no checkpoint {epochs} in time"
                    time.sleep(0.05)

            wait_for(2)
            # a lost worker is tolerated: the other one runs its steps, epochs keep coming
            os.killpg(started[3][1].pid, signal.SIGKILL)
            wait_for(committed_epochs(run / "checkpoint") + 2)
            os.killpg(started[1][1].pid, signal.SIGKILL)  # ps 1 holds half of every table
            killed_at = time.monotonic()
            chief.wait(timeout=120)
            failed_after = time.monotonic() - killed_at
            err = (tmp_path / "chief-0-0.err").read_text()
            assert chief.returncode == 3, err[-3000:]
            error = [line for line in err.splitlines() if line.startswith("embedzoo: error:")]
            assert len(error) == 1 and "/job:ps/replica:0/task:1 stopped" in error[0], err[-3000:]
            # TensorFlow logs the lost connections (with the stack where the failed graph op
            # was defined, and maybe a traceback of its executor's clean-up); no exception
            # traceback runs through embedzoo
            assert not embedzoo_tracebacks(err), err[-3000:]
            assert "--resume" in error[0]
            resumable = committed_epochs(run / "checkpoint")
            assert resumable >= 4
            for _, p in started:  # the job restarts as a whole, as the error says
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=30)
            ports = free_ports(5)
            for task in TASKS:
                start(started, argv, ports, task, tmp_path, 1)
            chief = started[-1][1]
            chief.wait(timeout=WAIT)
            err = (tmp_path / "chief-0-1.err").read_text()
            assert chief.returncode == 0, err[-3000:]
            out = (tmp_path / "chief-0-1.out").read_text()
            assert "parameter_server, 2 worker(s), 2 ps, tables in 2 shard(s)" in out
            # the servers stop by themselves once the chief has gone
            for name, p in started[-5:-1]:
                p.wait(timeout=strategies.CHIEF_GRACE_SECONDS + 60)
                assert p.returncode == 0, name
        print(
            f"chief stopped {failed_after:.1f} s after ps 1 was killed; resumed after epoch {resumable}"
        )
        assert failed_after < 60, failed_after
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["epochs"] == 30 and metrics["resumed_after_epoch"] >= resumable
        # the same job on one device: asynchronous steps reach its quality
        single = tmp_path / "single"
        argv_single = [a for a in argv if a not in ("parameter_server", "--strategy", "--resume")]
        argv_single[argv_single.index(str(run))] = str(single)
        assert main(argv_single) == 0
        reference = json.loads((single / "metrics.json").read_text())
        assert abs(metrics["ndcg@10"] - reference["ndcg@10"]) < 0.03, (metrics, reference)


@pytest.mark.parametrize(
    ("cluster", "task", "field"),
    [
        ({"worker": ["127.0.0.1:1"], "ps": ["127.0.0.1:2"]}, ("chief", 0), "task.type"),
        ({"chief": ["127.0.0.1:3"], "worker": ["127.0.0.1:1"]}, ("chief", 0), "cluster.ps"),
        ({"chief": ["127.0.0.1:3"], "ps": ["127.0.0.1:1"]}, ("chief", 0), "cluster.worker"),
    ],
)
def test_invalid_parameter_server_tf_config_names_the_field(
    cluster, task, field, monkeypatch, capsys, tmp_path
):
    task = {"type": task[0], "index": task[1]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    code = main(["train", "bpr", "--data", "x.csv", "--strategy", "parameter_server",
                 "--run-dir", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and f"TF_CONFIG {field}" in err and "Traceback" not in err, err
    assert not (tmp_path / "r").exists()


def test_serve_task_refuses_the_chief(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", cluster_config([1, 2, 3, 4, 5], "chief", 0))
    with pytest.raises(ConfigError, match="only 'worker' and 'ps' tasks"):
        strategies.serve_task()
