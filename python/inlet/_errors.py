"""The exceptions inlet raises: one class per kind of failure. str() of each is inlet's
message, which names the table, file, line, key or version (never a secret)."""
from __future__ import annotations


class InletError(Exception):
    """Base class of every error inlet raises."""


class InvalidInputError(InletError, ValueError):
    """Input or options that cannot be used: a bad option, a pipeline definition that does
    not validate, data that does not convert, a failed quality gate."""


class SchemaMismatchError(InletError, ValueError):
    """Data does not fit the table's schema."""


class TableNotFoundError(InletError, FileNotFoundError):
    """There is no table at the location."""


class CommitConflictError(InletError):
    """A commit lost to a concurrent, conflicting commit; nothing of it is visible, and
    retrying the whole operation may succeed."""


class UnsupportedFeatureError(InletError, NotImplementedError):
    """The table needs a feature inlet does not support."""


class StorageError(InletError, OSError):
    """Storage or a source could not be read or written."""
