"""Errors a person can act on: each names where the problem is and what is wrong."""

from __future__ import annotations


class ProvisionerError(Exception):
    """Base of every error the product reports to an operator (and exits non-zero for)."""


class InvalidValue(ProvisionerError, ValueError):
    """A value is wrong; `where` names the entry and field (``zone us-east: ttl``)."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class EstateErrors(ProvisionerError):
    """Several problems found at once, so the operator can fix them all in one go."""

    def __init__(self, errors: list[InvalidValue]) -> None:
        self.errors = errors
        lines = "\n".join(f"  {error}" for error in errors)
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(f"{len(errors)} {noun}, nothing was changed:\n{lines}")


class NotFound(ProvisionerError, LookupError):
    """Something named by the operator does not exist."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"no {kind} named {name!r}")


class PlainReason(ValueError):
    """Why a value is refused, in words that never quote the value: shown even for a secret."""
