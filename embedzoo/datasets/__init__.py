"""Data: interactions with id vocabularies, loaders (MovieLens, RecBole, CSV/Parquet), filters
and splits."""

from embedzoo.datasets.cache import cache_dir, sha256_file  # noqa: F401
from embedzoo.datasets.filters import binarize, dedupe, k_core  # noqa: F401
from embedzoo.datasets.interactions import (  # noqa: F401
    ITEM,
    RATING,
    TIMESTAMP,
    UNKNOWN_INDEX,
    USER,
    Interactions,
    Vocabulary,
)
from embedzoo.datasets.movielens import load_movielens  # noqa: F401
from embedzoo.datasets.pairs import load_ml100k_links, load_pairs, prepare_pairs  # noqa: F401
from embedzoo.datasets.recbole import (  # noqa: F401
    load_atomic,
    load_ml100k,
    read_atomic_file,
    recbole_example,
)
from embedzoo.datasets.splits import (  # noqa: F401
    leave_one_out,
    random_split,
    temporal_holdout,
    time_cut,
)
from embedzoo.datasets.synthetic import synthetic  # noqa: F401
from embedzoo.datasets.tabular import from_dataframe, load, read_csv, read_parquet  # noqa: F401
from embedzoo.datasets.texts import item_texts, load_lee, tokenize  # noqa: F401
