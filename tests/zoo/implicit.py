"""Implicit-feedback versions of the ``tiny`` / ``tiny_str`` fixtures for ranking models.

A test module binds them at module level (``tiny, tiny_str = implicit.tiny, implicit.tiny_str``)
to replace the explicit-rating fixtures of ``tests/zoo/conftest.py`` for its own tests, the
contract suite's included.
"""

import pytest

from tests.helpers import make_implicit


@pytest.fixture(scope="module")
def tiny():
    return make_implicit()


@pytest.fixture(scope="module")
def tiny_str():
    return make_implicit(string_ids=True, seed=1)
