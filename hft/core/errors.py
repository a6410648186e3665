"""The `HftError` hierarchy.

Every error `hft` raises on purpose derives from `HftError`. Each *family* (direct subclass of `HftError`)
has its own process exit code, mapped by the CLI entry point. Messages read "expected X, was Y"; structured
fields (file, line, key, ...) travel on the exception so callers and `--json` output can use them.
"""

from __future__ import annotations

from typing import Any


class HftError(Exception):
    """Base of all deliberate `hft` errors.

    Args:
        message: one line saying what went wrong ("expected X, was Y").
        hint: optional one line saying what to do about it.
        **fields: structured context (file, line, key, expected, found, ...).
    """

    exit_code: int = 10

    def __init__(self, message: str, *, hint: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form (used by `--json` error output)."""
        out: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        out.update({k: v for k, v in self.fields.items() if v is not None})
        return out


class ConfigError(HftError):
    """Invalid configuration: unknown key, wrong type, bad unit. Names the file and key."""

    exit_code = 11


class DataError(HftError):
    """Problems with market data files."""

    exit_code = 12


class DataValidationError(DataError):
    """A data file does not have the expected shape or content (names file, line, expected, found)."""


class DataGapError(DataError):
    """A sequence break in a market data stream (names file and line)."""


class GatewayError(HftError):
    """Gateway misuse or an unrecoverable gateway state (denials are decisions, not errors)."""

    exit_code = 13


class ExposureLimitError(GatewayError):
    """The exposure store cannot track another symbol (cardinality bound reached)."""


class SimError(HftError):
    """Simulator misuse: bad scenario, unknown strategy or model, inconsistent run folder."""

    exit_code = 14


class StoreError(HftError):
    """Recorder / ClickHouse store failures."""

    exit_code = 15


class GovernanceError(HftError):
    """Alpha governance: unknown alpha, invalid promotion file, refused transition."""

    exit_code = 16


class GateFailed(GovernanceError):
    """An alpha failed a validation/promotion gate (a verdict, not a crash)."""

    exit_code = 17


class KernelError(HftError):
    """A compiled kernel family gave a wrong answer to its known-answer self-test on this CPU target
    (`hft.core.selftest`): nothing runs on it."""

    exit_code = 18


def locate(file: object | None = None, line: int | None = None) -> str:
    """Format a `file:line` prefix for messages (empty when nothing is known)."""
    if file is None:
        return ""
    return f"{file}:{line}: " if line is not None else f"{file}: "
