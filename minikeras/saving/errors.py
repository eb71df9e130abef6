"""The exceptions minikeras raises for files it cannot read or write.

Every error about a model or weights file derives from `SavingError`, itself a `ValueError` (what Keras raises for
bad files), so `except ValueError` keeps working. `FileFormatError` is also an `OSError` (the file is unreadable:
truncated, not HDF5, not a zip); `UnsupportedConfigError` is also a `NotImplementedError` (a config asks for
something minikeras refuses to build, such as a `Lambda` layer).
"""
from __future__ import annotations

from typing import Any, Optional


class SavingError(ValueError):
    """Base class: a model or weights file could not be read or written. The model is left as it was."""

    def __init__(self, message: str, filepath: Optional[Any] = None):
        if filepath is not None:
            message = f"{message} (file: {filepath})"
        super().__init__(message)
        self.filepath = filepath


class FileFormatError(SavingError, OSError):
    """The file is not a readable Keras file: missing, truncated, corrupt, or of another format."""


class WeightMismatchError(SavingError):
    """The file's layers or weights do not match the model (count, shape or dtype)."""


class ConfigError(SavingError):
    """A model config in the file is malformed or names an unknown class."""


class UnsupportedConfigError(ConfigError, NotImplementedError):
    """A config asks for something minikeras never builds from a file (a `Lambda`, Python code)."""
