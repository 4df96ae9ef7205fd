"""Fixtures for the datasets tests."""

from pathlib import Path

import pytest

from tests.datasets.movielens_fakes import write_movielens, zip_folder


@pytest.fixture
def fake_movielens(tmp_path):
    """``fake_movielens(name, as_zip=False)`` → path of a fake release folder or zip."""

    def make(name: str = "ml-100k", as_zip: bool = False) -> Path:
        folder = write_movielens(tmp_path / "src", name)
        if not as_zip:
            return folder
        return zip_folder(folder, tmp_path / f"{name}.zip")

    return make
