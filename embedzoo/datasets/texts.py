"""Item texts (descriptions, plots, articles) for content models such as ``doc2vec``.

Texts travel as the ``text`` column of ``Interactions.item_metadata`` (indexed by raw item id),
next to any interactions there are. A catalogue without interactions is an ``Interactions``
with no rows and no users: content models train on it (``model.train_on(data)``) and answer
``similar_items``; user-facing calls need interactions.

Tokenizing uses gensim's ``simple_preprocess`` (lower case, alphabetic tokens of 2-15
characters) and, by default, gensim's built-in English stop-word list: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedzoo.datasets.interactions import ITEM, USER, Interactions, Vocabulary
from embedzoo.errors import DataError

TEXT = "text"


def stopword_set(stopwords) -> frozenset:
    """``"gensim"`` → gensim's English list; ``None`` → none; an iterable of words → those."""
    if stopwords is None:
        return frozenset()
    if isinstance(stopwords, str):
        if stopwords != "gensim":
            raise DataError(
                f"stopwords must be 'gensim', None or a list of words, got {stopwords!r}"
            )
        from gensim.parsing.preprocessing import STOPWORDS

        return frozenset(STOPWORDS)
    return frozenset(str(w).lower() for w in stopwords)


def tokenize(
    text: str, stopwords="gensim", deacc: bool = False, min_len: int = 2, max_len: int = 15
) -> list[str]:
    """Lower-cased word tokens of ``text`` with stop words removed.

    Args:
        text: the text ("" or ``None`` give no tokens).
        stopwords: "gensim" (gensim's English list), ``None``, or a list of words.
        deacc: strip accents (gensim's ``deacc``).
        min_len, max_len: token length bounds (characters).

    Example:
        >>> from embedzoo.datasets import tokenize
        >>> tokenize("The Force is strong with this one!")
        ['force', 'strong']
    """
    from gensim.utils import simple_preprocess

    stop = stopword_set(stopwords) if not isinstance(stopwords, frozenset) else stopwords
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    tokens = simple_preprocess(str(text), deacc=deacc, min_len=min_len, max_len=max_len)
    return [t for t in tokens if t not in stop]


def item_texts(
    frame: pd.DataFrame,
    item_col: str = ITEM,
    text_col: str = TEXT,
    interactions: Interactions | None = None,
    source: str | None = None,
) -> Interactions:
    """Item ids and texts (optionally with interactions) as ``Interactions`` for content models.

    Args:
        frame: one row per item.
        item_col, text_col: the id and text columns. Missing texts (NaN/None) become "".
        interactions: optional user-item interactions; their rows, users and item metadata are
            kept, and the item vocabulary is the union of both item sets (items without a
            text get no content vector).
        source: a name for error messages.

    Returns:
        ``Interactions`` whose ``item_metadata`` has a ``text`` column.

    Raises:
        DataError: a missing column, a missing or duplicate item id (naming the row), no rows.

    Example:
        >>> import pandas as pd
        >>> from embedzoo.datasets import item_texts
        >>> data = item_texts(pd.DataFrame({"item": [1, 2], "text": ["a space opera", "a heist"]}))
        >>> len(data.items), len(data.users), data.item_metadata.loc[2, "text"]
        (2, 0, 'a heist')
    """
    where = source or "item texts"
    missing = [c for c in (item_col, text_col) if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; columns are {list(frame.columns)}")
    if len(frame) == 0:
        raise DataError(f"{where}: no rows")
    ids = Interactions.from_frame(
        pd.DataFrame({USER: np.zeros(len(frame), np.int64), ITEM: frame[item_col].to_numpy()}),
        rating_col=None,
        timestamp_col=None,
        source=f"{where} ({item_col!r})",
    ).frame[ITEM]
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{where}: item id {ids.tolist()[row]!r} appears twice (row {row} repeats it)"
        )
    texts = frame[text_col].to_numpy(dtype=object)
    texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    meta = pd.DataFrame({TEXT: texts}, index=pd.Index(ids.to_numpy(), name=ITEM))
    if interactions is None:
        items = Vocabulary.from_values(ids)
        empty = pd.DataFrame({USER: np.zeros(0, np.int64), ITEM: items.ids[:0]})
        return Interactions(
            empty, users=Vocabulary([]), items=items, item_metadata=meta, source=source
        )
    if interactions.items.dtype != Vocabulary(ids.to_numpy()).dtype:
        raise DataError(
            f"{where}: item ids are {Vocabulary(ids.to_numpy()).dtype} but the interactions'"
            f" are {interactions.items.dtype}"
        )
    items = Vocabulary.from_values(np.concatenate([interactions.items.ids, ids.to_numpy()]))
    if interactions.item_metadata is not None:
        meta = interactions.item_metadata.drop(columns=[TEXT], errors="ignore").join(
            meta, how="outer"
        )
    meta = meta.reindex(pd.Index(items.ids, name=ITEM))  # one row per item, "" where no text
    meta[TEXT] = meta[TEXT].fillna("")
    return Interactions(
        interactions.frame,
        users=interactions.users,
        items=items,
        item_metadata=meta,
        source=source or interactions.source,
    )


def load_lee(part: str = "background") -> Interactions:
    """gensim's Lee news corpus (shipped in the gensim wheel) as item texts, ids 0..n-1.

    Args:
        part: "background" (300 documents, the usual Doc2Vec training set) or "test" (50).

    Example:
        >>> from embedzoo.datasets import load_lee
        >>> len(load_lee().items)
        300
    """
    from gensim.test.utils import datapath

    files = {"background": "lee_background.cor", "test": "lee.cor"}
    if part not in files:
        raise DataError(f"load_lee: part must be one of {sorted(files)}, got {part!r}")
    path = datapath(files[part])
    with open(path, encoding="iso-8859-1") as f:
        lines = [line.strip() for line in f]
    return item_texts(pd.DataFrame({ITEM: np.arange(len(lines)), TEXT: lines}), source=path)
