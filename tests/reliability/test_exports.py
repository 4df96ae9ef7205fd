"""Exports and saves: versions claimed atomically, failures leave nothing, stale temporaries
of dead processes removed."""

import errno
import importlib
from pathlib import Path

import pytest

from embedzoo import zoo
from tests.helpers import make_ratings

export_module = importlib.import_module("embedzoo.zoo.export")


@pytest.fixture(scope="module")
def model():
    return zoo.build("dot_bias_mf", make_ratings(n_rows=300), n_factors=2, seed=0)


def whole(path):
    return (path / "saved_model.pb").is_file() and (path / "variables").is_dir()


def test_racing_exports_get_distinct_whole_versions(model, tmp_path, monkeypatch):
    # both see "1" as the next free version, as two processes starting together would
    monkeypatch.setattr(export_module, "next_version", lambda model_dir: 1)
    first = zoo.export(model, tmp_path, "m")
    second = zoo.export(model, tmp_path, "m")
    assert (first.name, second.name) == ("1", "2") and whole(first) and whole(second)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(model, tmp_path, monkeypatch):
    class FullDisk:
        def write_out(self, path, **kwargs):
            Path(path).mkdir()
            (Path(path) / "saved_model.pb").write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "build_archive", lambda model: FullDisk())
    with pytest.raises(OSError, match="cannot write the export under .*No space left"):
        zoo.export(model, tmp_path, "m")
    assert list((tmp_path / "m").iterdir()) == []
    monkeypatch.undo()
    assert zoo.export(model, tmp_path, "m").name == "1"


def test_temporaries_of_dead_processes_are_removed(model, tmp_path):
    stale = tmp_path / "m" / ".tmp-999999999-deadbeef"
    stale.mkdir(parents=True)
    (stale / "junk").write_text("x")
    assert zoo.export(model, tmp_path, "m").name == "1"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]


def test_a_failed_save_leaves_no_temporary_file(model, tmp_path, monkeypatch):
    def full(path, *args, **kwargs):
        open(path, "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model, "save", full)
    with pytest.raises(OSError, match="cannot write .*model.keras: .*No space left"):
        zoo.save_model(model, tmp_path / "model.keras")
    assert list(tmp_path.iterdir()) == []


RACER = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from embedzoo import zoo
model = zoo.load_model(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # start together
print(zoo.export(model, sys.argv[2], "m").name)
"""


def test_two_processes_exporting_one_name_get_two_whole_versions(model, tmp_path):
    import subprocess
    import sys
    import time

    zoo.save_model(model, tmp_path / "model.keras")
    start = f"{time.time() + 12:.3f}"  # both have loaded TensorFlow and the model by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                str(tmp_path / "model.keras"),
                str(tmp_path / "e"),
                start,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        outs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert sorted(o[0].strip() for o in outs) == ["1", "2"]
    assert sorted(p.name for p in (tmp_path / "e" / "m").iterdir()) == ["1", "2"]
    assert all(whole(tmp_path / "e" / "m" / v) for v in ("1", "2"))


def test_a_real_full_disk_on_a_small_tmpfs(model, tmp_path):
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()[:200]}")
    try:
        with pytest.raises(OSError, match="cannot write"):
            zoo.export(model, disk, "m")
        assert [p.name for p in (disk / "m").iterdir()] == []  # nothing partial left
        with pytest.raises(OSError, match="cannot write"):
            zoo.save_model(model, disk / "model.keras")
        assert sorted(p.name for p in disk.iterdir()) == ["m"]
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
