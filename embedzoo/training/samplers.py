"""In-graph negative sampling for implicit-feedback training.

:class:`NegativeSampler` draws item indices with TensorFlow ops (it runs inside a ``tf.data``
``map`` or a train step, never in Python per batch) from either the uniform distribution over
the catalogue or ``popularity ** alpha`` (the word2vec / NCF-style smoothed popularity; Walker's
alias method, two table reads per draw).

Exact rejection of the user's own positives: the distinct training pairs are kept as CSR
arrays (each user's positive items sorted, ``int32``, 4 bytes per pair: 100 MB at 25M
interactions, no hash table to build), and a candidate is a positive exactly when a vectorised
binary search inside its user's segment finds it. A Bloom filter in front (two multiplicative
hashes of ``user * n_items + item`` into a bitmap of about 10 bits per pair: 32 MB at 25M,
built in a fraction of a second) clears most candidates with two memory reads; only those it
flags (the positives and a few percent of false alarms) go through the binary search, which
is what keeps the exact check cheap per candidate at 25M pairs (``docs/benchmarks.md``).
Rejected candidates alone (a few percent) get ``max_rounds - 1`` fresh draws at once from the
same distribution, checked in one call, and keep the first that is not a positive; a slot whose
draws were all positives falls back deterministically to the user's *fallback item*, the lowest
item index the user never interacted with: exact (never a positive), and reached with
probability ``p_pos ** max_rounds`` where ``p_pos`` is the share of the sampling mass on the
user's positives. A user who interacted with every item has no negative at all and is refused when
the sampler is built.

Draws are stateless (``tf.random.stateless_*`` from a per-batch seed), so a pipeline that feeds
a fresh seed each batch and each epoch redraws every negative every epoch and stays
reproducible from its own seed.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from embedzoo.datasets.arrays import alias_table, sorted_unique
from embedzoo.errors import ConfigError, DataError

DISTRIBUTIONS = ("uniform", "popularity")


class NegativeSampler:
    """Draws negatives for users from item indices ``1..n_items-1``, rejecting positives.

    Args:
        user_index: int array, the user index of each training row (index 0 rows are ignored).
        item_index: int array, the item index of each training row (same length).
        num_items: the item table size (``vocabulary.size``; index 0 is never drawn).
        distribution: ``"uniform"`` or ``"popularity"`` (``count ** alpha`` of the rows).
        alpha: the popularity exponent (0 is uniform over items seen in training, 1 is
            proportional to popularity; 0.75 is word2vec's smoothing).
        max_rounds: draws per negative before the deterministic fallback.
        num_users: the user table size (default: ``max(user_index) + 1``).

    Raises:
        ConfigError: unknown distribution, negative alpha, ``max_rounds < 1``.
        DataError: no rows, or a user interacted with every item (the message names its index).

    Example:
        >>> import numpy as np, tensorflow as tf
        >>> from embedzoo.training.samplers import NegativeSampler
        >>> s = NegativeSampler(np.array([1, 1, 2]), np.array([1, 2, 1]), num_items=4)
        >>> negs = s.sample(tf.constant([1, 1, 1]), tf.constant([0, 7], tf.int64)).numpy()
        >>> bool(np.all(negs == 3))
        True
    """

    def __init__(
        self,
        user_index: np.ndarray,
        item_index: np.ndarray,
        num_items: int,
        distribution: str = "uniform",
        alpha: float = 1.0,
        max_rounds: int = 8,
        num_users: int | None = None,
    ):
        if distribution not in DISTRIBUTIONS:
            raise ConfigError(
                f"negative sampling distribution must be one of {DISTRIBUTIONS}, got {distribution!r}"
            )
        if alpha < 0:
            raise ConfigError(f"popularity exponent alpha must be >= 0, got {alpha}")
        if int(max_rounds) < 1:
            raise ConfigError(f"max_rounds must be >= 1, got {max_rounds}")
        users = np.asarray(user_index)
        items = np.asarray(item_index)
        known = (users > 0) & (items > 0)
        if not known.all():  # copies only when some rows are unknown
            users, items = users[known], items[known]
        if len(users) == 0:
            raise DataError("negative sampler: no training rows with known users and items")
        self.num_items = int(num_items)
        if self.num_items < 2:
            raise DataError("negative sampler: the catalogue has no items")
        self.num_users = int(num_users if num_users is not None else int(users.max()) + 1)
        self.distribution = distribution
        self.alpha = float(alpha)
        self.max_rounds = int(max_rounds)
        counts = np.bincount(items, minlength=self.num_items).astype(np.float64)
        keys = users.astype(np.int64)
        keys *= self.num_items
        keys += items
        del users, items
        self.indptr, positives, self._bitmap, self._bits = self._csr(keys)
        self.fallback = self._fallback_items(positives)
        # Iterations that bound the binary search in the longest user segment.
        self._steps = int(np.ceil(np.log2(int(np.diff(self.indptr).max()) + 1))) + 1
        self._indptr = tf.constant(self.indptr)
        self._positives = tf.constant(positives)
        self._fallback = tf.constant(self.fallback)
        self.weights = self._weights(counts)
        prob, alias = alias_table(self.weights, prob_dtype=np.float32, alias_dtype=np.int32)
        self._prob, self._alias = tf.constant(prob), tf.constant(alias)

    def _csr(self, keys: np.ndarray):
        """``indptr`` (int64, per user), each user's distinct positives sorted (int32), and the
        Bloom filter of the keys (a ``uint8`` bitmap of ``2 ** bits`` bits)."""
        keys = sorted_unique(keys, in_place=True)  # in place: no second copy of 25M keys
        bits = int(np.clip(np.ceil(np.log2(len(keys) * 8)), 10, 32))  # >= 8 bits per key
        flags = np.zeros(1 << bits, dtype=bool)
        for multiplier in _HASHES:
            flags[_hash(keys.view(np.uint64), multiplier, bits)] = True
        bitmap = np.packbits(flags, bitorder="little")
        del flags
        indptr = np.zeros(self.num_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // self.num_items, minlength=self.num_users), out=indptr[1:])
        return indptr, (keys % self.num_items).astype(np.int32), tf.constant(bitmap), bits

    def _weights(self, counts: np.ndarray) -> np.ndarray:
        weights = np.ones(self.num_items) if self.distribution == "uniform" else counts**self.alpha
        if self.distribution == "popularity":
            weights[counts == 0] = 0.0  # an item never seen in training is never a negative
        weights[0] = 0.0
        return weights

    def _fallback_items(self, positives: np.ndarray) -> np.ndarray:
        """Per user index: the lowest item index in 1.. that is not one of its positives."""
        counts = np.diff(self.indptr)
        users = np.repeat(np.arange(self.num_users, dtype=np.int32), counts)
        # 1-based position in the user's sorted positives: the user holds exactly items 1..m
        # up to the first position where item != position, its first gap.
        dtype = np.int32 if len(positives) < 2**31 - 1 else np.int64
        rank = np.arange(1, len(positives) + 1, dtype=dtype)
        rank -= self.indptr[:-1].astype(dtype)[users]
        gaps = np.flatnonzero(positives != rank)
        first = gaps[np.concatenate([[True], np.diff(users[gaps]) != 0])] if len(gaps) else gaps
        fallback = counts + 1  # no gap: the item after the user's last one
        fallback[users[first]] = rank[first]
        full = (fallback >= self.num_items) & (counts > 0)
        if full.any():
            raise DataError(
                f"negative sampler: user index {int(np.flatnonzero(full)[0])} interacted with every "
                f"one of the {self.num_items - 1} items, so it has no negative to sample"
            )
        return np.minimum(fallback, self.num_items - 1).astype(np.int32)

    # -- graph functions -----------------------------------------------------------------
    def is_positive(self, users, items):
        """Boolean tensor: ``items[b]`` is one of ``users[b]``'s training items (exact)."""
        users, items = tf.cast(users, tf.int64), tf.cast(items, tf.int64)
        keys = tf.bitcast(users * self.num_items + items, tf.uint64)
        flagged = None
        for multiplier in _HASHES:  # Bloom filter: no false negatives, a few false alarms
            h = tf.bitwise.right_shift(
                keys * tf.constant(multiplier, tf.uint64), tf.constant(64 - self._bits, tf.uint64)
            )
            byte = tf.gather(
                self._bitmap,
                tf.cast(tf.bitwise.right_shift(h, tf.constant(3, tf.uint64)), tf.int64),
            )
            bit = (
                tf.bitwise.bitwise_and(tf.bitwise.right_shift(byte, tf.cast(h & 7, tf.uint8)), 1)
                > 0
            )
            flagged = bit if flagged is None else flagged & bit
        where = tf.where(flagged)[:, 0]
        exact = self._search(tf.gather(users, where), tf.gather(items, where))
        return tf.scatter_nd(where[:, None], exact, tf.shape(flagged, out_type=tf.int64))

    def _search(self, users, items):
        """The exact test: a binary search in each user's sorted positives."""
        users = tf.cast(users, tf.int64)
        items = tf.cast(items, tf.int32)
        lo, end = tf.gather(self._indptr, users), tf.gather(self._indptr, users + 1)
        hi, last = end, tf.cast(tf.size(self._positives) - 1, tf.int64)
        for _ in range(self._steps):  # lower bound of `items` in [lo, end), all rows at once
            active = lo < hi
            mid = (lo + hi) // 2
            less = tf.gather(self._positives, tf.minimum(mid, last)) < items
            lo = tf.where(active & less, mid + 1, lo)
            hi = tf.where(active & ~less, mid, hi)
        return (lo < end) & tf.equal(tf.gather(self._positives, tf.minimum(lo, last)), items)

    def draw(self, shape, seed):
        """Items from the sampling distribution, without rejection (stateless in ``seed``)."""
        if self.distribution == "uniform":
            return tf.random.stateless_uniform(
                shape, seed, minval=1, maxval=self.num_items, dtype=tf.int32
            )
        # Walker's alias method: a column, then a coin between it and its alias; O(1) a draw.
        column = tf.random.stateless_uniform(
            shape, seed, minval=0, maxval=self.num_items, dtype=tf.int32
        )
        coin = tf.random.stateless_uniform(
            shape, tf.random.experimental.stateless_fold_in(seed, -1)
        )
        return tf.where(
            coin < tf.gather(self._prob, column), column, tf.gather(self._alias, column)
        )

    def sample(self, users, seed):
        """One negative per entry of ``users`` (any shape, flattened), never a positive of it.

        Args:
            users: int tensor of user indices.
            seed: int tensor of shape ``[2]`` (a stateless seed); equal seeds give equal draws.
        """
        users = tf.reshape(tf.cast(users, tf.int32), [-1])
        seed = tf.cast(seed, tf.int64)
        items = tf.reshape(self.draw(tf.shape(users), seed), [-1])
        bad = tf.where(self.is_positive(users, items))[:, 0]  # the few positions to redraw
        bad_users = tf.gather(users, bad)
        fallback = tf.gather(self._fallback, bad_users)
        extra = self.max_rounds - 1
        if extra:
            # All remaining draws of the rejected slots at once ([rejected, extra]) and one
            # check: cheaper than a loop of small rounds. The first acceptable one is kept.
            shape = tf.reshape(tf.size(bad) * extra, [1])
            candidates = tf.reshape(
                self.draw(shape, tf.random.experimental.stateless_fold_in(seed, 1)), [-1, extra]
            )
            ok = ~tf.reshape(
                self.is_positive(tf.repeat(bad_users, extra), tf.reshape(candidates, [-1])),
                [-1, extra],
            )
            first = tf.gather(
                candidates,
                tf.argmax(tf.cast(ok, tf.int32), axis=1, output_type=tf.int32),
                batch_dims=1,
            )
            fallback = tf.where(tf.reduce_any(ok, axis=1), first, fallback)
        return tf.tensor_scatter_nd_update(items, bad[:, None], fallback)


#: Multipliers of the Bloom filter's two hashes (64-bit golden ratio, MurmurHash3's mixer);
#: the top bits of ``key * multiplier mod 2**64`` are the bit position.
_HASHES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)


def _hash(keys: np.ndarray, multiplier: int, bits: int) -> np.ndarray:
    return (keys * np.uint64(multiplier)) >> np.uint64(64 - bits)  # uint64 arithmetic wraps


def for_model(
    model,
    user_index: np.ndarray,
    item_index: np.ndarray,
    distribution: str = "uniform",
    alpha: float = 1.0,
) -> NegativeSampler:
    """A sampler over ``model``'s item vocabulary for its training pairs."""
    return NegativeSampler(
        user_index,
        item_index,
        num_items=model.items.size,
        distribution=distribution,
        alpha=alpha,
        num_users=model.users.size,
    )
