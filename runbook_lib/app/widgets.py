"""The interactive settings form of notebooks 01–03: fills the same Settings, never blocks.

In an interactive kernel `settings_form(settings)` shows connection fields, a password box,
the migration method and schema strategy and an apply button. The password box sends its
value only on Enter or when left, and the kernel empties it at once; the button puts the
password into the environment variable named by `settings.password_env` and into
`settings.password` (a `Secret`), so neither the notebook file nor the saved widget state
holds it. Under papermill (`RUNBOOK_BATCH=1`) or without a kernel, it returns None at once.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any

from ..core.config import PARAMETERS, Settings, check_parameters
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.identifiers import check_identifier
from ..core.results import batch_mode
from ..core.secrets import Secret, register, scrub

# The fields the form edits: parameter name → widget kind.
FIELDS = {"target": "choice", "db_host": "text", "db_port": "int", "db_name": "text",
          "db_user": "text", "method": "choice", "schema": "choice"}

LABELS = {
    "target": {"en": "Server", "ko": "서버"},
    "db_host": {"en": "Host", "ko": "호스트"},
    "db_port": {"en": "Port", "ko": "포트"},
    "db_name": {"en": "Database", "ko": "데이터베이스"},
    "db_user": {"en": "App role", "ko": "앱 역할(사용자)"},
    "method": {"en": "Copy method", "ko": "복사 방법"},
    "schema": {"en": "Schema from", "ko": "스키마 생성"},
    "password": {"en": "Password", "ko": "비밀번호"},
}

MESSAGES = {
    "title": {"en": "Connection and migration settings (optional: the parameters cell already "
                    "set them)",
              "ko": "연결 및 마이그레이션 설정 (선택 사항: 매개변수 셀에 이미 설정되어 있습니다)"},
    "password_note": {"en": "The password goes to ${password_env} for this kernel only; it is "
                            "never written to the notebook.",
                      "ko": "비밀번호는 이 커널의 ${password_env}에만 저장되며 노트북에 기록되지 "
                            "않습니다."},
    "button": {"en": "Use these settings", "ko": "이 설정 사용"},
    "button_run": {"en": "Use these settings and run", "ko": "이 설정으로 실행"},
    "applied": {"en": "Settings updated: {dsn}. Now click the next cell and run it and every "
                      "cell below it (Run ▸ Run Selected Cell and All Below).",
                "ko": "설정이 변경되었습니다: {dsn}. 이제 다음 셀을 클릭하고 그 셀과 아래의 모든 "
                      "셀을 실행하세요 (Run ▸ Run Selected Cell and All Below)."},
    "password_set": {"en": "Password stored in ${password_env} (not shown).",
                     "ko": "비밀번호를 ${password_env}에 저장했습니다 (표시하지 않음)."},
    "password_taken": {"en": "Password received (not shown); press the button to use it.",
                       "ko": "비밀번호를 받았습니다 (표시하지 않음). 버튼을 눌러 사용하세요."},
    "invalid": {"en": "Not applied: {message} Fix: {hint}",
                "ko": "적용되지 않음: {message} 해결 방법: {hint}"},
}


def interactive() -> bool:
    """True in a live IPython kernel that is not a batch run (papermill via `runbook run`)."""
    if batch_mode():
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _choices(name: str) -> list[str]:
    return [c for c in PARAMETERS[name][1] if c]


class SettingsForm:
    """The widgets of the form and the Settings they fill; displays as the form itself."""

    def __init__(self, settings: Settings, action: Callable[[Settings], Any] | None = None):
        import ipywidgets as w

        self.settings = settings
        self.action = action
        lang = settings.language
        style = {"description_width": "9rem"}
        self.fields: dict[str, Any] = {}
        for name, kind in FIELDS.items():
            label, value = t(LABELS[name], lang), getattr(settings, name)
            if kind == "choice":
                widget = w.Dropdown(options=_choices(name), value=value, description=label)
            elif kind == "int":
                widget = w.BoundedIntText(value=value, min=1, max=65535, description=label)
            else:
                widget = w.Text(value=value, description=label)
            widget.style = style
            self.fields[name] = widget
        self.password = w.Password(value="", description=t(LABELS["password"], lang),
                                   placeholder=f"${settings.password_env}", style=style,
                                   continuous_update=False)
        self._pending: str | None = None
        self.password.observe(self._password_typed, names="value")
        text = MESSAGES["button_run" if action else "button"]
        self.button = w.Button(description=t(text, lang), button_style="primary",
                               icon="play", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.output = w.Output()
        self.button.on_click(lambda _button: self._clicked())
        note = t(MESSAGES["password_note"], lang, password_env=settings.password_env)
        self.box = w.VBox([w.HTML(f"<b>{html.escape(t(MESSAGES['title'], lang))}</b>"),
                           *self.fields.values(), self.password,
                           w.HTML(f"<small>{html.escape(note)}</small>"),
                           self.button, self.status, self.output])
        self.box.add_class("runbook-settings-form")

    def values(self) -> dict[str, Any]:
        """The parameters as the form holds them, validated."""
        values = check_parameters({name: f.value for name, f in self.fields.items()})
        for name in ("db_name", "db_user"):
            check_identifier(values[name], name)
        return values

    def _password_typed(self, change: dict) -> None:
        """Take a typed password out of the widget at once (Enter or leaving the box)."""
        if change["new"]:
            self._pending = change["new"]
            register(self._pending)
            self.password.value = ""
            self._say(t(MESSAGES["password_taken"], self.settings.language), "ok")

    def apply(self) -> Settings:
        """Copy the form into the Settings; move the password to the environment."""
        password, self._pending = self._pending, None
        for name, value in self.values().items():
            setattr(self.settings, name, value)
        if password:
            register(password)
            os.environ[self.settings.password_env] = password
            self.settings.password = Secret(password, source="form")
        return self.settings

    def _clicked(self) -> None:
        lang = self.settings.language
        had_password = bool(self._pending)
        try:
            settings = self.apply()
        except RunbookError as exc:
            self._say(t(MESSAGES["invalid"], lang, message=exc.message, hint=exc.hint), "fail")
            return
        lines = [t(MESSAGES["applied"], lang, dsn=settings.dsn())]
        if had_password:
            lines.append(t(MESSAGES["password_set"], lang, password_env=settings.password_env))
        self._say(" ".join(lines), "ok")
        if self.action:
            from IPython.display import display

            self.output.clear_output()
            with self.output:
                display(self.action(settings))

    def _say(self, text: str, status: str) -> None:
        colour = "#1a7f37" if status == "ok" else "#cf222e"
        self.status.value = f"<span style='color:{colour}'>{html.escape(scrub(text))}</span>"

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def settings_form(settings: Settings, action: Callable[[Settings], Any] | None = None,
                  force: bool = False) -> SettingsForm | None:
    """The form in an interactive kernel; None under papermill or without a frontend."""
    if not (force or interactive()):
        return None
    return SettingsForm(settings, action)


__all__ = ["settings_form", "SettingsForm", "interactive"]
