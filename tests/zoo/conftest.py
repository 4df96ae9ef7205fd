from tests.helpers import tiny, tiny_str  # noqa: F401  (fixtures)
