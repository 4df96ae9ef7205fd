"""Building blocks below ``training`` and ``zoo``: embedding tables, id lookups, seen items.

Imported by :mod:`embedzoo.training` and :mod:`embedzoo.zoo`; imports neither.
"""

from embedzoo.core.layers import Embedding, scores_in_item_chunks  # noqa: F401
from embedzoo.core.lookup import IdLookup  # noqa: F401
from embedzoo.core.seen import SeenItems  # noqa: F401
