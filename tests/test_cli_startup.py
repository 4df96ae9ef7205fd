"""The command's start-up: ``--help`` imports no TensorFlow, and no command prints
TensorFlow's C++ (absl/XLA/CUDA) log lines on stderr.

Each check runs in a fresh interpreter: the test session itself has TensorFlow loaded.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A TensorFlow/absl C++ log line: severity letter, MMDD, HH:MM:SS (e.g. "I0000 00:00:17…").
LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")
LOG_WORDS = ("oneDNN", "cuda", "absl::InitializeLog", "cpu_feature_guard")

HELP_PROBE = r"""
import contextlib, io, json, sys
from embedzoo import cli
codes = []
for argv in (["--help"], ["train", "--help"], ["plot", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            codes.append(cli.main(argv))
        except SystemExit as e:
            codes.append(e.code)
print(json.dumps({"codes": codes, "loaded": [m for m in ("tensorflow", "keras") if m in sys.modules]}))
"""


def _env():
    """The caller's environment without a TensorFlow log setting: the package must set it."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _log_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if LOG_LINE.match(line) or any(word in line for word in LOG_WORDS)
    ]


def test_help_imports_no_tensorflow():
    proc = _run("-c", HELP_PROBE)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["codes"] == [0, 0, 0]
    assert result["loaded"] == [], f"--help imported {result['loaded']}"


def test_help_stderr_is_empty():
    for argv in (["--help"], ["train", "--help"]):
        proc = _run("-m", "embedzoo", *argv)
        assert proc.returncode == 0, proc.stderr
        assert "usage: embedzoo" in proc.stdout
        assert proc.stderr == "", proc.stderr


def test_list_prints_no_tensorflow_log_lines():
    proc = _run("-m", "embedzoo", "list")
    assert proc.returncode == 0, proc.stderr
    assert "dot_bias_mf" in proc.stdout
    # TensorFlow 2.21 prints some lines while its libraries load, before it reads
    # TF_CPP_MIN_LOG_LEVEL; the CLI holds those back (cli.import_tensorflow_quietly).
    noise = _log_lines(proc.stderr)
    assert noise == [], "\n".join(noise)
