"""``FeatureEncoder``: raw feature values → codes → one embedding vector per row.

Built from feature specs (:mod:`embedzoo.datasets.features`), it holds one Keras
preprocessing layer per feature (``StringLookup``, ``Hashing``, ``TextVectorization``,
``Discretization``, ``Normalization``) with its adapted state in the config, so it saves,
loads and exports with the model, and one embedding table per feature. It works in two steps:

- ``codes(raw)``: raw values (strings, or float32 numbers with NaN for missing) → integer codes
  (float for ``numeric``). Code 0 is "missing or unknown" for every kind, so an all-zero row of
  codes is an id with no features. Models store the codes of known ids (a row per id) and run
  this step only for raw features at request time.
- ``call(codes)``: codes → ``[n, width]``: the features' embeddings side by side, multi-valued
  features (``tokens``, ``text``) mean-pooled over their present values.

Example:
    >>> import numpy as np
    >>> from embedzoo.core.features import FeatureEncoder
    >>> enc = FeatureEncoder([{"name": "genres", "kind": "tokens", "vocabulary": ["Drama", "War"], "length": 2}], dim=4)
    >>> codes = enc.codes({"genres": np.array(["War|Drama", "Noir", ""])})
    >>> codes["genres"].numpy().tolist()
    [[3, 2], [1, 0], [0, 0]]
    >>> tuple(enc(codes).shape)
    (3, 4)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from embedzoo.core.layers import Embedding

STRING_KINDS = ("categorical", "hashed", "tokens", "text")
MULTI_KINDS = ("tokens", "text")


class FeatureEncoder(keras.layers.Layer):
    """Preprocessing and embeddings of a list of feature specs.

    Args:
        specs: feature specs (dicts with ``name``, ``kind`` and the adapted state).
        dim: embedding width of each feature (``numeric`` features add one column).
    """

    def __init__(self, specs, dim: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.specs = [dict(s) for s in specs]
        self.dim = int(dim)
        self.preprocessors = [self._preprocessor(s) for s in self.specs]
        self.tables = [
            Embedding(self.code_rows(s), self.dim, "random_normal", name=f"embed_{s['name']}")
            if s["kind"] != "numeric"
            else None
            for s in self.specs
        ]
        for table in self.tables:
            if table is not None:
                table.build()
        self.built = True

    @staticmethod
    def code_rows(spec: dict) -> int:
        """Codes a spec's values take (its embedding rows)."""
        kind = spec["kind"]
        if kind == "categorical":
            return len(spec["vocabulary"]) + 1
        if kind in MULTI_KINDS:
            return len(spec["vocabulary"]) + 2  # padding, out of vocabulary
        if kind == "hashed":
            return int(spec["bins"]) + 1
        if kind == "bucketized":
            return len(spec["boundaries"]) + 2  # missing, then the buckets
        return 0

    @staticmethod
    def code_width(spec: dict) -> int | None:
        """Codes per row (``None``: one scalar)."""
        return int(spec["length"]) if spec["kind"] in MULTI_KINDS else None

    @staticmethod
    def code_dtype(spec: dict) -> str:
        return "float32" if spec["kind"] == "numeric" else "int32"

    @staticmethod
    def raw_dtype(spec: dict) -> tf.DType:
        return tf.string if spec["kind"] in STRING_KINDS else tf.float32

    def _preprocessor(self, spec: dict):
        kind, name = spec["kind"], spec["name"]
        if kind == "categorical":
            return keras.layers.StringLookup(
                vocabulary=spec["vocabulary"], num_oov_indices=1, mask_token=None,
                name=f"lookup_{name}",
            )  # fmt: skip
        if kind == "tokens":
            return keras.layers.StringLookup(
                vocabulary=spec["vocabulary"], num_oov_indices=1, mask_token="",
                name=f"lookup_{name}",
            )  # fmt: skip
        if kind == "text":
            return keras.layers.TextVectorization(
                vocabulary=spec["vocabulary"], output_sequence_length=int(spec["length"]),
                name=f"words_{name}",
            )  # fmt: skip
        if kind == "hashed":
            return keras.layers.Hashing(num_bins=int(spec["bins"]), name=f"hash_{name}")
        if kind == "bucketized":
            return keras.layers.Discretization(
                bin_boundaries=list(spec["boundaries"]), name=f"buckets_{name}"
            )
        return keras.layers.Normalization(
            mean=spec["mean"], variance=spec["variance"], name=f"normalize_{name}"
        )

    @property
    def width(self) -> int:
        """Columns of the encoded vector."""
        return sum(1 if s["kind"] == "numeric" else self.dim for s in self.specs)

    @property
    def names(self) -> list[str]:
        return [s["name"] for s in self.specs]

    def codes(self, raw: dict) -> dict:
        """Raw values → codes (see the module docstring); ``raw`` maps each name to ``[n]``."""
        out = {}
        for spec, layer in zip(self.specs, self.preprocessors, strict=True):
            name, kind = spec["name"], spec["kind"]
            x = tf.convert_to_tensor(raw[name], dtype=self.raw_dtype(spec))
            if kind == "categorical":
                code = layer(x)
            elif kind == "hashed":
                code = tf.where(x == "", tf.zeros_like(x, tf.int64), layer(x) + 1)
            elif kind == "tokens":
                parts = tf.strings.strip(tf.strings.split(x, "|"))
                padded = parts.to_tensor(default_value="", shape=[None, int(spec["length"])])
                code = layer(padded)
            elif kind == "text":
                code = layer(x)
            elif kind == "bucketized":
                missing = tf.math.is_nan(x)
                bucket = layer(tf.where(missing, tf.zeros_like(x), x))
                code = tf.where(missing, tf.zeros_like(bucket), bucket + 1)
            else:
                missing = tf.math.is_nan(x)
                value = tf.reshape(layer(tf.where(missing, tf.zeros_like(x), x)), [-1])
                code = tf.where(missing, tf.zeros_like(value), value)
            out[name] = tf.cast(code, self.code_dtype(spec))
        return out

    def call(self, codes: dict):
        parts = []
        for spec, table in zip(self.specs, self.tables, strict=True):
            code = codes[spec["name"]]
            if spec["kind"] == "numeric":
                parts.append(tf.reshape(tf.cast(code, self.compute_dtype), [-1, 1]))
                continue
            vectors = table(code)
            if spec["kind"] in MULTI_KINDS:
                present = tf.cast(code > 0, vectors.dtype)[..., None]
                vectors = tf.reduce_sum(vectors * present, 1) / tf.maximum(
                    tf.reduce_sum(present, 1), 1.0
                )
            parts.append(vectors)
        return tf.concat(parts, -1)

    def get_config(self) -> dict:
        return {**super().get_config(), "specs": self.specs, "dim": self.dim}
