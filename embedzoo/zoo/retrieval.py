"""The retrieval core, written once: raw ids in, top-K (ids, scores) out, in the graph.

Every zoo model answers ``score``, ``recommend`` and ``similar_items`` through this module, in
Python and in its SavedModel. A model supplies only its scoring pieces (``call`` on index
pairs, ``all_item_scores`` or ``query_vectors`` + ``candidate_vectors``, ``item_vectors``); the
lookups, seen-item masks, padding, unknown-id fallbacks and top-K are here.

Conventions (the contract's): column 0 of every score matrix is the unknown-item row and is
never returned; slots that no item can fill hold the padding id (``PAD_INT`` = -1 for integer
ids, ``PAD_STR`` = "" for strings) with score -inf; a query whose vector is zero (an unknown id,
row 0, or an item that never got a vector) gets the fallback scores, popularity by default.
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Vocabulary
from embedzoo.errors import ConfigError, DataError, UnknownIdWarning

PAD_INT, PAD_STR = -1, ""

#: the extra confidence of a new user's own items in the fold-in (implicit ALS's ``alpha``).
#: Picked, with the default ``l2=0.1``, on synthetic data (tests/helpers.py) by how close a
#: fold-in of a user's training items comes to their learned top-10 (1, 10, 40 × 0.1, 1 tried;
#: 1 and 0.1 best for bpr, dot_bias_mf and gmf); no test split was looked at.
FOLD_IN_CONFIDENCE = 1.0


def padded_ids(vocabulary: Vocabulary) -> tf.Tensor:
    """``[size]`` raw ids by index, the padding id at index 0.

    Example:
        >>> from embedzoo.datasets import Vocabulary
        >>> padded_ids(Vocabulary([7, 9])).numpy().tolist()
        [-1, 7, 9]
    """
    if vocabulary.dtype == "int64":
        return tf.constant(np.concatenate([[PAD_INT], vocabulary.ids]).astype(np.int64))
    return tf.constant(np.concatenate([[PAD_STR], vocabulary.ids.astype(str)]))


def raw_tensor(vocabulary: Vocabulary, ids) -> tf.Tensor:
    """Python / NumPy raw ids as the tensor dtype the vocabulary's lookup takes.

    Raises:
        DataError: ids of the wrong type for the vocabulary (e.g. strings for integer ids).
    """
    arr = vocabulary.coerce(ids)
    if vocabulary.dtype == "int64":
        return tf.constant(arr)
    return tf.constant([str(i).encode("utf-8") for i in arr], tf.string)


def checked_ids(vocabulary: Vocabulary, ids, what: str, strict: bool = False) -> np.ndarray:
    """``vocabulary.coerce(ids)``, saying which ids the model does not know: a warning
    (:class:`~embedzoo.errors.UnknownIdWarning`; they get the fallback answer) or, with
    ``strict``, a ``DataError``. Integers asked of a model with string ids count as wrong-type
    ids (``5`` is looked up as ``"5"``).

    Example:
        >>> import warnings
        >>> from embedzoo.datasets import Vocabulary
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     checked_ids(Vocabulary([7, 9]), [7, 8], "user").tolist()
        [7, 8]
        >>> print(caught[0].message)
        1 of 2 user id(s) unknown to the model: [8]; they get the model's fallback answer (pass strict=True to refuse them)
        >>> checked_ids(Vocabulary(["a"]), [5], "item", strict=True)
        Traceback (most recent call last):
        ...
        embedzoo.errors.DataError: 1 of 1 item id(s) unknown to the model: [5] (integers, but this model's ids are strings)
    """
    raw = np.asarray(ids)
    raw = raw.reshape(1) if raw.ndim == 0 else raw
    coerced = vocabulary.coerce(raw)
    unknown = np.flatnonzero(vocabulary.lookup(coerced) == 0) if len(coerced) else []
    if not len(unknown):
        return coerced
    shown = raw[unknown[:5]].tolist()
    message = (
        f"{len(unknown)} of {len(coerced)} {what} id(s) unknown to the model:"
        f" {shown}{' ...' if len(unknown) > 5 else ''}"
    )
    if vocabulary.dtype != "int64":
        wrong = raw.dtype.kind in "iuf" or any(
            not isinstance(v, str | bytes) for v in raw[unknown].tolist()
        )
        if wrong:
            message += " (integers, but this model's ids are strings)"
    if strict:
        raise DataError(message)
    warnings.warn(
        message + "; they get the model's fallback answer (pass strict=True to refuse them)",
        UnknownIdWarning,
        stacklevel=3,
    )
    return coerced


def item_list(vocabulary: Vocabulary, ids) -> tf.Tensor:
    """A per-request list of raw ids (``None`` or empty: an empty tensor of the id dtype)."""
    if ids is None or len(ids) == 0:
        return (
            tf.zeros([0], tf.int64) if vocabulary.dtype == "int64" else tf.constant([], tf.string)
        )
    return raw_tensor(vocabulary, ids)


def ids_out(vocabulary: Vocabulary, ids: tf.Tensor) -> np.ndarray:
    """Raw-id tensor → NumPy: int64, or an object array of ``str`` (UTF-8 decoded)."""
    ids = ids.numpy()
    if vocabulary.dtype == "int64":
        return ids
    return (
        np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(ids)
        if ids.size
        else ids.astype(object)
    )


def popularity_share(popularity) -> tf.Tensor:
    """Counts divided by the largest count (all zeros without counts).

    Example:
        >>> popularity_share(tf.constant([0.0, 2.0, 4.0])).numpy().tolist()
        [0.0, 0.5, 1.0]
    """
    popularity = tf.cast(popularity, "float32")
    return popularity / tf.maximum(tf.reduce_max(popularity), 1.0)


def top_k(scores, k, ids_padded) -> tuple[tf.Tensor, tf.Tensor]:
    """``(ids [b, k'], scores [b, k'])`` of the best columns 1.., ``k' = min(k, columns - 1)``.

    Column 0 (the unknown row) is never returned; non-finite scores become padding.

    Example:
        >>> ids, s = top_k(tf.constant([[9.0, 1.0, 3.0]]), 5, tf.constant([-1, 10, 20], tf.int64))
        >>> ids.numpy().tolist(), s.numpy().tolist()
        ([[20, 10]], [[3.0, 1.0]])
    """
    scores = tf.cast(scores, "float32")
    scores = tf.concat(
        [tf.fill([tf.shape(scores)[0], 1], tf.constant(-np.inf)), scores[:, 1:]], axis=1
    )
    n = scores.shape[1]  # the catalogue is static in every zoo model's graph
    n = tf.shape(scores)[1] if n is None else n
    top_scores, top = tf.math.top_k(scores, k=tf.minimum(tf.cast(k, tf.int32), n - 1))
    top = tf.where(tf.math.is_finite(top_scores), top, tf.zeros_like(top))
    return tf.gather(ids_padded, top), top_scores


def item_filter(scores, allow_index=None, exclude_index=None) -> tf.Tensor:
    """Scores of items outside the allow-list (when it is not empty) or on the exclude-list
    set to -inf, for every row; indices are item rows (unknown ids are row 0, never returned).

    Example:
        >>> s = tf.constant([[0.0, 1.0, 2.0, 3.0]])
        >>> item_filter(s, tf.constant([1, 3]), tf.constant([3])).numpy().tolist()
        [[-inf, 1.0, -inf, -inf]]
        >>> item_filter(s, tf.zeros([0], tf.int32)).numpy().tolist()  # empty: no restriction
        [[0.0, 1.0, 2.0, 3.0]]
    """
    n = tf.shape(scores)[1]
    out = tf.constant(-np.inf, scores.dtype)

    def marked(index):
        index = tf.cast(index, tf.int32)
        return tf.math.unsorted_segment_max(tf.ones_like(index), index, n) > 0

    if exclude_index is not None:
        scores = tf.where(marked(exclude_index)[tf.newaxis, :], out, scores)
    if allow_index is not None:
        keep = tf.logical_or(tf.equal(tf.size(allow_index), 0), marked(allow_index))
        scores = tf.where(keep[tf.newaxis, :], scores, out)
    return scores


def exclude_self(scores, query_index) -> tf.Tensor:
    """``scores[b, query_index[b]] = -inf``: a query is never its own neighbour."""
    batch = tf.shape(query_index)[0]
    where = tf.stack([tf.range(batch), tf.cast(query_index, tf.int32)], axis=1)
    return tf.tensor_scatter_nd_update(
        scores, where, tf.fill([batch], tf.constant(-np.inf, scores.dtype))
    )


def cosine_scores(table, query_index, fallback) -> tf.Tensor:
    """Cosine of rows ``query_index`` of ``table`` with every row, the query excluded.

    A query that is the unknown id (row 0, which a rating model fills with an "average item")
    or whose row is zero (never given a vector) gets ``fallback [n]``.
    """
    table = tf.math.l2_normalize(tf.cast(table, "float32"), axis=1)
    query_index = tf.cast(query_index, tf.int32)
    query = tf.gather(table, query_index)
    scores = tf.matmul(query, table, transpose_b=True)
    no_vector = tf.logical_or(
        tf.equal(query_index, 0), tf.logical_not(tf.reduce_any(tf.not_equal(query, 0.0), axis=1))
    )[:, None]
    scores = tf.where(no_vector, tf.broadcast_to(fallback[None, :], tf.shape(scores)), scores)
    return exclude_self(scores, query_index)


#: The largest ``k`` (the graphs take it as int32; anything above would wrap around).
MAX_K = 2**31 - 1


def check_k(k) -> int:
    """``k`` as a Python int in ``[1, MAX_K]`` (a ``ConfigError`` otherwise).

    Example:
        >>> check_k(2**32 + 2)
        Traceback (most recent call last):
        ...
        embedzoo.errors.ConfigError: k must be at most 2147483647, got 4294967298
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if k > MAX_K:
        raise ConfigError(f"k must be at most {MAX_K}, got {k}")
    return int(k)


class Retrieval:
    """Mixin of ``ZooModel``: the raw-id graphs and their Python API.

    Relies on the model's ``users`` / ``items`` vocabularies, ``user_lookup`` / ``item_lookup``
    (:class:`~embedzoo.core.lookup.IdLookup`), ``seen_items``, ``item_popularity``, ``call``
    on index pairs, ``all_item_scores`` and ``similar_item_scores``.
    """

    # -- graphs on raw ids (shared by the Python API and the SavedModel) --------------------
    def score_graph(self, user_ids, item_ids):
        """Raw user and item id tensors → scores ``[batch]``."""
        users, items = self.user_lookup(user_ids), self.item_lookup(item_ids)
        return tf.reshape(
            tf.cast(self({"user": users, "item": items}, training=False), "float32"), [-1]
        )

    def recommend_graph(self, user_ids, k, exclude_seen=True, items=None, filter_items=None):
        """Raw user ids, k → (item ids ``[batch, k]``, scores ``[batch, k]``); ``items`` (an
        allow-list; empty: every item) and ``filter_items`` (an exclude-list) of raw item ids
        apply to every user of the request."""
        users = self.user_lookup(user_ids)
        scores = tf.cast(self.all_item_scores(users), "float32")
        if exclude_seen:
            scores = self.seen_items.mask(scores, users)
        if items is not None or filter_items is not None:
            scores = item_filter(
                scores,
                None if items is None else self.item_lookup(items),
                None if filter_items is None else self.item_lookup(filter_items),
            )
        return top_k(scores, k, padded_ids(self.items))

    def fold_in_scores(self, item_index, l2):
        """``[batch, items.size]`` scores for new users known only by their items
        (``item_index [batch, n]`` item rows, 0 = padding): implicit ALS's fold-in of a query
        vector against the candidate vectors ``Q``, every item a 0 target and the user's items
        ``Qₛ`` a 1 target with confidence ``1 + α``: ``u = (QᵀQ + αQₛᵀQₛ + λI)⁻¹ (1 + α)Qₛᵀ1``
        (``λ = l2 ×`` the catalogue's mean squared vector norm), rescaled to the learned users'
        mean query norm (so the biases weigh as they do for a learned user: without it the
        fold-in of a BPR user's items agreed with their learned top-10 less than popularity
        did), then scored like a learned user (``u · q + candidate bias``). A user without a
        known item gets the popularity fallback. History models override it (their pooling)."""
        table = tf.cast(self.candidate_vectors(), "float32")
        index = tf.cast(item_index, "int32")
        valid = tf.cast(index > 0, "float32")
        given = tf.gather(table, index) * valid[..., None]  # [b, n, d]
        scale = tf.reduce_mean(tf.reduce_sum(tf.square(table[1:]), axis=1))
        eye = tf.eye(tf.shape(table)[1], dtype="float32")
        alpha = tf.constant(FOLD_IN_CONFIDENCE, "float32")
        gram = tf.matmul(table[1:], table[1:], transpose_a=True)  # every item: target 0
        system = (
            gram[None]
            + alpha * tf.matmul(given, given, transpose_a=True)
            + l2 * tf.maximum(scale, 1e-12) * eye
        )
        target = (1.0 + alpha) * tf.reduce_sum(given, axis=1)[..., None]
        query = tf.linalg.solve(system, target)[..., 0]
        learned = self.learned_query_norm()
        if learned is not None:  # the scale of a learned user, so biases weigh as for them
            query *= learned / tf.maximum(tf.norm(query, axis=1, keepdims=True), 1e-12)
        logits = tf.matmul(query, table, transpose_b=True)
        bias = self.candidate_bias()
        if bias is not None:
            logits += tf.cast(bias, "float32")[None, :]
        known = tf.reduce_any(valid > 0, axis=1)
        return tf.where(known[:, None], logits, popularity_share(self.item_popularity)[None, :])

    def learned_query_norm(self):
        """The mean norm of the learned users' query vectors (``None``: the model has none)."""
        try:
            queries = self.query_vectors(tf.range(1, self.users.size))
        except NotImplementedError:
            return None
        return tf.reduce_mean(tf.norm(tf.cast(queries, "float32"), axis=1))

    def supports_fold_in(self) -> bool:
        """Whether :meth:`recommend_for_items` can answer (candidate vectors, or the model's
        own ``fold_in_scores``)."""
        if type(self).fold_in_scores is not Retrieval.fold_in_scores:
            return True
        try:
            self.candidate_vectors()
        except NotImplementedError:
            return False
        return True

    def recommend_for_items_graph(self, item_ids, k, l2=0.1):
        """Raw item ids ``[batch, n]`` (padded with the padding id), k → the top-k items of
        new users with those items, their own items excluded."""
        index = self.item_lookup(tf.reshape(item_ids, [-1]))
        index = tf.reshape(tf.cast(index, "int32"), tf.shape(item_ids))
        scores = tf.cast(self.fold_in_scores(index, l2), "float32")
        rows = tf.repeat(tf.range(tf.shape(index)[0]), tf.shape(index)[1])
        where = tf.stack([rows, tf.reshape(index, [-1])], axis=1)
        scores = tf.tensor_scatter_nd_update(
            scores, where, tf.fill([tf.shape(where)[0]], tf.constant(-np.inf))
        )
        return top_k(scores, k, padded_ids(self.items))

    def similar_items_graph(self, item_ids, k):
        """Raw item ids, k → nearest items (the query excluded)."""
        return top_k(
            self.similar_item_scores(self.item_lookup(item_ids)), k, padded_ids(self.items)
        )

    def similar_item_scores(self, item_index):
        """``[batch, items]`` similarity of each query item to every item: cosine of
        ``item_vectors()``, popularity share for queries without a vector."""
        return cosine_scores(
            self.item_vectors(), item_index, popularity_share(self.item_popularity)
        )

    # -- Python API ------------------------------------------------------------------------
    def _graph_function(self, key, fn):
        functions = self.__dict__.setdefault("_embedzoo_functions", {})
        if key not in functions:
            functions[key] = tf.function(fn, reduce_retracing=True)
        return functions[key]

    def clear_graph_functions(self) -> None:
        """Forgets the traced Python-API functions (after weights or memory were replaced)."""
        self.__dict__.pop("_embedzoo_functions", None)

    def score(
        self, user_ids, item_ids, batch_size: int = 65536, strict: bool = False
    ) -> np.ndarray:
        """Scores of (user, item) pairs given as two equal-length sequences of raw ids.

        Unknown ids get the fallback score with an ``UnknownIdWarning`` (``strict=True``:
        a ``DataError``).

        Example:
            >>> model.score(model.users.ids[:2], model.items.ids[:2])
            array([..., ...], dtype=float32)
        """
        users = checked_ids(self.users, user_ids, "user", strict)
        items = checked_ids(self.items, item_ids, "item", strict)
        if len(users) != len(items):
            raise ValueError(
                f"user_ids ({len(users)}) and item_ids ({len(items)}) differ in length"
            )
        fn = self._graph_function("score", self.score_graph)
        out = [
            fn(
                raw_tensor(self.users, users[s : s + batch_size]),
                raw_tensor(self.items, items[s : s + batch_size]),
            ).numpy()
            for s in range(0, len(users), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, "float32")

    def recommend(
        self,
        user_ids,
        k: int = 10,
        exclude_seen: bool = True,
        strict: bool = False,
        items=None,
        filter_items=None,
    ):
        """Top-k items per user: ``(item_ids [n, k], scores [n, k])``.

        Args:
            user_ids: raw user ids (unknown users get the model's fallback answer, with an
                ``UnknownIdWarning`` naming them).
            k: list length (capped at the number of items).
            exclude_seen: leave out each user's training items (recorded by ``fit``).
            strict: refuse unknown or wrong-type ids with a ``DataError`` instead.
            items: recommend only among these raw item ids (implicit's ``items``).
            filter_items: never recommend these raw item ids (implicit's ``filter_items``).

        Example:
            >>> ids, _ = model.recommend(model.users.ids[:1], k=2, items=model.items.ids[:3])
            >>> set(ids[0]) <= set(model.items.ids[:3])
            True
        """
        k = check_k(k)
        users = checked_ids(self.users, user_ids, "user", strict)
        return self.recommend_checked(users, k, exclude_seen, items, filter_items)

    def recommend_checked(
        self, users: np.ndarray, k: int, exclude_seen: bool = True, items=None, filter_items=None
    ):
        """:meth:`recommend` of ids already coerced and reported (:func:`checked_ids`)."""
        kk = tf.constant(min(k, 2**31 - 1), "int32")
        if items is None and filter_items is None:
            key = f"recommend_{bool(exclude_seen)}"
            fn = self._graph_function(key, lambda u, k: self.recommend_graph(u, k, exclude_seen))
            ids, scores = fn(raw_tensor(self.users, users), kk)
            return ids_out(self.items, ids), scores.numpy()
        key = f"recommend_filtered_{bool(exclude_seen)}"
        fn = self._graph_function(
            key, lambda u, k, a, x: self.recommend_graph(u, k, exclude_seen, a, x)
        )
        ids, scores = fn(
            raw_tensor(self.users, users),
            kk,
            item_list(self.items, items),
            item_list(self.items, filter_items),
        )
        return ids_out(self.items, ids), scores.numpy()

    def similar_items(self, item_ids, k: int = 10, strict: bool = False):
        """Nearest items: ``(item_ids [n, k], scores [n, k])``, the query excluded; unknown
        items as in :meth:`recommend`."""
        k = check_k(k)
        return self.similar_checked(checked_ids(self.items, item_ids, "item", strict), k)

    def similar_checked(self, items: np.ndarray, k: int):
        """:meth:`similar_items` of ids already coerced and reported (:func:`checked_ids`)."""
        fn = self._graph_function("similar", self.similar_items_graph)
        ids, scores = fn(raw_tensor(self.items, items), tf.constant(min(k, 2**31 - 1), "int32"))
        return ids_out(self.items, ids), scores.numpy()

    def recommend_for_items(self, item_id_lists, k: int = 10, l2: float = 0.1, strict=False):
        """Top-k items for new users given only their items, without fine-tuning (implicit's
        ``recalculate_user``): ``(item_ids [n, k], scores [n, k])``, each user's own items
        excluded. Factor models fold a query vector in against their item vectors
        (:meth:`fold_in_scores`), item2vec / doc2vec pool their item vectors.

        Args:
            item_id_lists: one list of raw item ids per new user (unknown ids are skipped,
                with an ``UnknownIdWarning``; a user with none gets the popularity fallback).
            k: list length.
            l2: the ridge penalty, relative to the mean squared item-vector norm.
            strict: refuse unknown item ids instead.

        Example:
            >>> ids, scores = model.recommend_for_items([list(model.items.ids[:3])], k=2)
            >>> ids.shape
            (1, 2)
        """
        k = check_k(k)
        if not self.supports_fold_in():
            raise ConfigError(
                f"{self.zoo_name} cannot answer new users from their items (it has no candidate"
                " vectors to fold a user into); fine-tune it with the new users instead"
            )
        if not float(l2) > 0:
            raise ConfigError(f"l2 must be > 0, got {l2}")
        lists = [list(np.asarray(items).reshape(-1)) for items in item_id_lists]
        flat = [i for items in lists for i in items]
        checked = checked_ids(self.items, flat, "item", strict) if flat else []
        width = max((len(items) for items in lists), default=0) or 1
        pad = PAD_INT if self.items.dtype == "int64" else PAD_STR
        matrix = np.full((len(lists), width), pad, dtype=np.int64 if pad == PAD_INT else object)
        at = 0
        for row, items in enumerate(lists):
            matrix[row, : len(items)] = checked[at : at + len(items)]
            at += len(items)
        fn = self._graph_function(
            "fold_in", lambda ids, kk, lam: self.recommend_for_items_graph(ids, kk, lam)
        )
        ids_in = (
            tf.constant(matrix)
            if pad == PAD_INT
            else tf.constant([[str(v).encode("utf-8") for v in row] for row in matrix], tf.string)
        )
        ids, scores = fn(ids_in, tf.constant(min(k, 2**31 - 1), "int32"), tf.constant(float(l2)))
        return ids_out(self.items, ids), scores.numpy()

    def recommend_frame(
        self,
        user_ids,
        k: int = 10,
        exclude_seen: bool = True,
        metadata=None,
        strict: bool = False,
        items=None,
        filter_items=None,
    ):
        """:meth:`recommend` as a long DataFrame: ``user``, ``rank`` (1 = best), ``item``,
        ``score`` and the columns of ``metadata`` (a frame indexed by item id, such as
        ``Interactions.item_metadata``) joined on the item; unfillable slots are left out.

        Example:
            >>> model.recommend_frame(model.users.ids[:1], k=2).columns.tolist()
            ['user', 'rank', 'item', 'score']
        """
        k = check_k(k)
        users = checked_ids(self.users, user_ids, "user", strict)
        ids, scores = self.recommend_checked(users, k, exclude_seen, items, filter_items)
        return _long_frame("user", users, ids, scores, metadata)

    def similar_frame(self, item_ids, k: int = 10, metadata=None, strict: bool = False):
        """:meth:`similar_items` as a long DataFrame: ``query_item``, ``rank``, ``item``,
        ``score`` and the ``metadata`` columns (see :meth:`recommend_frame`)."""
        k = check_k(k)
        items = checked_ids(self.items, item_ids, "item", strict)
        ids, scores = self.similar_checked(items, k)
        return _long_frame("query_item", items, ids, scores, metadata)

    def predict_matrix(self, user_ids, item_ids):
        """Predicted scores for every pair of ``user_ids`` × ``item_ids`` (users as rows)."""
        import pandas as pd

        users, items = list(user_ids), list(item_ids)
        scores = self.score(np.repeat(users, len(items)), np.tile(items, len(users)))
        return pd.DataFrame(scores.reshape(len(users), len(items)), index=users, columns=items)


def _long_frame(query: str, queries, ids, scores, metadata=None):
    """``[n, k]`` answers → one row per (query, rank), padding slots dropped, metadata joined."""
    import pandas as pd

    n, k = ids.shape
    frame = pd.DataFrame(
        {
            query: np.repeat(np.asarray(queries), k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "item": ids.reshape(-1),
            "score": scores.reshape(-1),
        }
    )
    frame = frame[np.isfinite(frame["score"].to_numpy())].reset_index(drop=True)
    if metadata is not None and len(metadata.columns):
        frame = frame.join(metadata, on="item")
    return frame
