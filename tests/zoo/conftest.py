from tests.helpers import planted, tiny, tiny_str  # noqa: F401  (fixtures)
