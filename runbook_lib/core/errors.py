"""One small exception tree: every error carries a human message and its fix."""

from __future__ import annotations

from .i18n import t

FIX_LABEL = {"en": "Fix", "ko": "해결 방법"}  # the line under an error that says what to do


class RunbookError(Exception):
    """Base of every runbook error; `hint` says how to fix it."""

    hint: str = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{t(FIX_LABEL)}: {self.hint}" if self.hint else self.message


class ConfigError(RunbookError):
    """A parameter, profile or environment value is missing or wrong."""


class ConnectError(RunbookError):
    """The PostgreSQL server could not be reached or refused the login."""


class ServerError(RunbookError):
    """The embedded PostgreSQL server could not be started, stopped or inspected."""


class ProvisionError(RunbookError):
    """Creating the role or database failed."""


class SourceError(RunbookError):
    """The SQLite source file is missing, unreadable or not SQLite."""


class MigrationError(RunbookError):
    """The migration could not be planned or carried out."""


class ValidationFailed(RunbookError):
    """Validation found differences between source and target."""


class CheckFailed(RunbookError):
    """One or more checks of a stage failed."""


__all__ = ["FIX_LABEL", "RunbookError", "ConfigError", "ConnectError", "ServerError", "ProvisionError",
           "SourceError", "MigrationError", "ValidationFailed", "CheckFailed"]
