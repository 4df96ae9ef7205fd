"""The exceptions embedzoo raises for bad input.

Each is a ``ValueError`` (or ``KeyError``) subclass so that generic handlers keep working, and
each message names the file, row, id or key that is wrong.
"""


class DataError(ValueError):
    """Input data is malformed: missing columns, bad values, empty after filtering, bad file."""


class ChecksumError(DataError):
    """A downloaded or cached file does not match its expected sha256."""


class ConfigError(ValueError):
    """A model or training configuration is invalid (unknown key, bad value)."""


class UnknownModelError(KeyError):
    """No model (or preset) is registered under the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class UnknownPresetError(UnknownModelError):
    """No preset has the requested name."""


class WorkerLostError(RuntimeError):
    """A distributed training run lost a task of its cluster (a worker or ps stopped)."""


class UnknownIdWarning(UserWarning):
    """Some ids of a request are unknown to the model (or of the wrong type): they get its
    defined fallback answer. Pass ``strict=True`` to refuse them instead."""


class MissingFeaturesWarning(UserWarning):
    """Training ids without a row in their feature table: their features read as unknown (the
    model's defined default), and the warning says how many and which."""
