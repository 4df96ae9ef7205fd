"""What ``doc2vec`` needs to infer vectors for new texts, stored as plain arrays (no pickle).

gensim infers a new document's vector by training a fresh doc vector against the frozen word
vectors and output layer. :class:`Doc2VecState` keeps exactly those: the word list (UTF-8 bytes
+ offsets), word counts (they rebuild gensim's negative-sampling table, down-sampling
thresholds and Huffman tree), input word vectors and output weights. They travel in ``.keras``
files through ``save_own_variables`` like ``SeenItems`` (their size depends on the data), and
:func:`rebuild` turns them back into a gensim ``Doc2Vec`` ready to infer.

:func:`infer_vector` is gensim's ``Doc2Vec.infer_vector`` loop with two changes that make it
reproducible: the starting vector is seeded with a CRC32 of the text (gensim uses Python's
``hash``, which changes with ``PYTHONHASHSEED``) and the model's random state is reset to the
seed for each text, so a text always gets the same vector, before or after save/load.
"""

from __future__ import annotations

import zlib

import keras
import numpy as np


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


@keras.saving.register_keras_serializable(package="embedzoo")
class Doc2VecState(keras.layers.Layer):
    """Word vocabulary, counts, word vectors and output weights of a trained gensim Doc2Vec.

    Example:
        >>> from embedzoo.zoo.doc2vec_state import Doc2VecState
        >>> state = Doc2VecState()
        >>> state.num_words
        0
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.words: list[str] = []
        self.counts = np.zeros(0, np.int64)
        self.word_vectors = np.zeros((0, 0), np.float32)
        self.output_weights = np.zeros((0, 0), np.float32)
        self.built = True

    @property
    def num_words(self) -> int:
        return len(self.words)

    def capture(self, d2v) -> None:
        """Copies what inference needs from a trained gensim ``Doc2Vec``."""
        self.words = list(d2v.wv.index_to_key)
        self.counts = np.array([d2v.wv.get_vecattr(w, "count") for w in self.words], dtype=np.int64)
        self.word_vectors = np.asarray(d2v.wv.vectors, dtype=np.float32).copy()
        out = d2v.syn1neg if d2v.negative else d2v.syn1
        self.output_weights = np.asarray(out, dtype=np.float32).copy()

    def save_own_variables(self, store):
        encoded = [w.encode("utf-8") for w in self.words]
        store["word_bytes"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        store["word_ends"] = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        store["counts"] = self.counts
        store["word_vectors"] = self.word_vectors
        store["output_weights"] = self.output_weights

    def load_own_variables(self, store):
        blob = np.asarray(store["word_bytes"], dtype=np.uint8).tobytes()
        ends = np.asarray(store["word_ends"], dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
        self.words = [blob[s:e].decode("utf-8") for s, e in zip(starts, ends, strict=True)]
        self.counts = np.asarray(store["counts"], dtype=np.int64)
        self.word_vectors = np.asarray(store["word_vectors"], dtype=np.float32)
        self.output_weights = np.asarray(store["output_weights"], dtype=np.float32)


def rebuild(state: Doc2VecState, gensim_kwargs: dict):
    """A gensim ``Doc2Vec`` with the stored vocabulary and weights, ready for inference.

    ``gensim_kwargs`` are the model's gensim arguments (vector_size, dm, negative, hs, sample,
    ns_exponent, window...). ``min_count`` is set to 1: the stored words are the ones kept.
    """
    from gensim.models import Doc2Vec

    if state.num_words == 0:
        raise ValueError(
            "this doc2vec model has not been trained: no word vocabulary to infer with"
        )
    # sorted_vocab=0 keeps the stored (training) word order, so the negative-sampling table
    # and the Huffman tree (hs=1) come out as they were in training.
    d2v = Doc2Vec(**{**gensim_kwargs, "min_count": 1, "workers": 1, "sorted_vocab": 0})
    d2v.build_vocab_from_freq(dict(zip(state.words, state.counts.tolist(), strict=True)))
    if list(d2v.wv.index_to_key) != state.words:
        raise ValueError("doc2vec state: the rebuilt gensim vocabulary is ordered differently")
    d2v.wv.vectors[:] = state.word_vectors
    if d2v.negative:
        d2v.syn1neg[:] = state.output_weights
    else:
        d2v.syn1[:] = state.output_weights
    return d2v


def infer_vector(d2v, words: list[str], epochs: int, seed: int) -> np.ndarray:
    """gensim's ``infer_vector`` made reproducible (see the module docstring)."""
    from gensim import matutils
    from gensim.models.doc2vec import train_document_dbow, train_document_dm
    from gensim.models.keyedvectors import pseudorandom_weak_vector

    size = d2v.dv.vector_size
    vector = pseudorandom_weak_vector(size, seed_string=" ".join(words), hashfxn=_stable_hash)
    vector = vector.reshape(1, size)
    d2v.random = np.random.RandomState(seed)  # negative samples and window shrinking
    lockf, tags = np.ones(1, dtype=np.float32), [0]
    work = np.zeros(d2v.layer1_size, dtype=np.float32)
    neu1 = matutils.zeros_aligned(d2v.layer1_size, dtype=np.float32)
    alpha, min_alpha = d2v.alpha, d2v.min_alpha
    delta = (alpha - min_alpha) / max(epochs - 1, 1)
    for _ in range(epochs):
        if d2v.sg:
            train_document_dbow(
                d2v,
                words,
                tags,
                alpha,
                work,
                learn_words=False,
                learn_hidden=False,
                doctag_vectors=vector,
                doctags_lockf=lockf,
            )
        else:
            train_document_dm(
                d2v,
                words,
                tags,
                alpha,
                work,
                neu1,
                learn_words=False,
                learn_hidden=False,
                doctag_vectors=vector,
                doctags_lockf=lockf,
            )
        alpha -= delta
    return vector[0]
