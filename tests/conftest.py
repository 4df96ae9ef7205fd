"""Fixtures shared by the whole test suite (append new ones; keep the existing)."""

import os
from pathlib import Path

import pytest


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
