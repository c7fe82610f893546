"""edgekit's one error tree.

Every error edgekit raises on purpose derives from :class:`EdgekitError`; the CLI catches only
that, prints its message and hint on one line each, and exits with ``exit_code``. Anything else
is a bug and keeps its traceback.

    EdgekitError                     exit 1
    ├── UsageError                   exit 2  (bad combination of options, like Typer's own)
    │   └── UnsupportedModeError             (a quantization mode a format cannot do)
    ├── DataError                            (dataset missing, unreadable or corrupt)
    ├── ModelError                           (not a Keras model, wrong input shape, unknown name)
    ├── OutputError                          (output dir unwritable, artifact exists without --overwrite)
    ├── ConversionError                      (converter failed, op that cannot be full-integer)
    ├── ParityError                          (artifact written, but outside its expected band)
    ├── ArtifactError                        (model file corrupt, wrong format, bad input to predict)
    ├── BackendError                         (no interpreter installed for an artifact)
    └── GateError                    exit 3  (benchmark thresholds breached)
"""

from __future__ import annotations


class EdgekitError(Exception):
    """Root of every error edgekit raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(EdgekitError):
    """The options make no sense together."""

    exit_code = 2


class UnsupportedModeError(UsageError):
    """A format cannot produce the quantization mode asked for."""


class DataError(EdgekitError):
    """A dataset is missing, unreadable or corrupt."""


class ModelError(EdgekitError):
    """A model is missing, not a Keras model, or has an input edgekit cannot use."""


class OutputError(EdgekitError):
    """An output cannot be written where the user asked."""


class ConversionError(EdgekitError):
    """A converter failed or could not produce what was asked."""


class ParityError(EdgekitError):
    """An artifact was written but disagrees with the Keras model beyond its mode's band."""


class ArtifactError(EdgekitError):
    """An artifact or an input to it cannot be used."""


class BackendError(EdgekitError):
    """No interpreter is installed that can run an artifact."""


class GateError(EdgekitError):
    """Benchmark thresholds were breached."""

    exit_code = 3
