"""One small exception tree: every error carries a human message and its fix.

`RunbookError(message, hint, **values)` takes each of message and hint as a `{"en", "ko"}`
Text (or a plain string) whose `{placeholders}` are filled from `values`. It renders when
read, in the language of the run (`i18n.current()`: set by `load_settings` in a kernel and by
the CLI from the profile, `RUNBOOK_LANGUAGE` or the locale), so `str(exc)`, `exc.message` and
`exc.hint` are Korean in a Korean run. String values are scrubbed of secrets before they are
filled in; a Text value (a part filled in every language: `i18n.fill`) is rendered in the same
language. Text already rendered is handed on as `i18n.as_is(text)`, never formatted again.
"""

from __future__ import annotations

from typing import Any

from .i18n import LANGUAGES, Filled, Text, current, is_text, t
from .secrets import scrub

FIX_LABEL = {"en": "Fix", "ko": "해결 방법"}  # the line under an error that says what to do


def _render(text: Text | str, language: str, values: dict[str, Any]) -> str:
    filled = {name: (scrub(value) if isinstance(value, str) else
                     scrub(t(value, language)) if is_text(value) else value)
              for name, value in values.items()}
    return t(text, language, **filled)


class RunbookError(Exception):
    """Base of every runbook error; `hint` says how to fix it."""

    def __init__(self, message: Text | str, hint: Text | str = "", /, **values: Any) -> None:
        super().__init__(message)
        self._message, self._hint, self._values = message, hint, values

    def message_in(self, language: str | None = None) -> str:
        """The message in `language` (default: the run's language)."""
        return _render(self._message, language or current(), self._values)

    def hint_in(self, language: str | None = None) -> str:
        """The fix in `language` (default: the run's language); "" when there is none."""
        return _render(self._hint, language or current(), self._values) if self._hint else ""

    @property
    def message(self) -> str:
        return self.message_in()

    @property
    def hint(self) -> str:
        return self.hint_in()

    @property
    def texts(self) -> tuple[Filled, Filled]:
        """(message, hint) rendered in every language: to wrap this error in another one."""
        return (Filled({lang: self.message_in(lang) for lang in LANGUAGES}),
                Filled({lang: self.hint_in(lang) for lang in LANGUAGES}))

    def __str__(self) -> str:
        hint = self.hint
        return f"{self.message}\n{t(FIX_LABEL)}: {hint}" if hint else self.message

    def __reduce__(self):
        return (_rebuild, (type(self), self._message, self._hint, self._values), self.__dict__)


def _rebuild(cls: type[RunbookError], message, hint, values) -> RunbookError:
    """Unpickle any subclass (a worker process's error) whatever its own signature."""
    exc = cls.__new__(cls)
    RunbookError.__init__(exc, message, hint, **values)
    return exc


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
