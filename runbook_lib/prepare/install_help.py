"""Install commands for this operating system, as bilingual text: data, not logic."""

from __future__ import annotations

import platform
from pathlib import Path

from ..core.i18n import Text, t

# what → os family → command. Versions: PostgreSQL 14 (the guide's) reached end of life in
# November 2026, so the commands name a supported major version.
COMMANDS: dict[str, dict[str, str]] = {
    "client": {
        "debian": "sudo apt update && sudo apt install -y postgresql-client",
        "fedora": "sudo dnf install -y postgresql",
        "macos": "brew install libpq && brew link --force libpq",
        "windows": "winget install PostgreSQL.PostgreSQL.17  (then add "
                   "C:\\Program Files\\PostgreSQL\\17\\bin to PATH)",
    },
    "server": {
        "debian": "sudo apt update && sudo apt install -y postgresql postgresql-contrib && "
                  "sudo systemctl start postgresql",
        "fedora": "sudo dnf install -y postgresql-server && sudo postgresql-setup --initdb && "
                  "sudo systemctl start postgresql",
        "macos": "brew install postgresql@17 && brew services start postgresql@17",
        "windows": "winget install PostgreSQL.PostgreSQL.17  (or: choco install postgresql17)",
    },
    "python": {
        "debian": ".venv/bin/pip install -e .",
        "fedora": ".venv/bin/pip install -e .",
        "macos": ".venv/bin/pip install -e .",
        "windows": ".venv\\Scripts\\pip install -e .",
    },
    "python_version": {
        "debian": "sudo apt install -y python3.11 python3.11-venv",
        "fedora": "sudo dnf install -y python3.11",
        "macos": "brew install python@3.12",
        "windows": "winget install Python.Python.3.12",
    },
}

LEAD: dict[str, Text] = {
    "client": {"en": "Install the PostgreSQL client tools (psql, pg_dump): {cmd}",
               "ko": "PostgreSQL 클라이언트 도구(psql, pg_dump)를 설치하세요: {cmd}"},
    "server": {"en": "Install and start a PostgreSQL server, or use the embedded one "
                     "(target: embedded, no install needed): {cmd}",
               "ko": "PostgreSQL 서버를 설치하고 시작하세요. 또는 내장 서버를 사용하세요 "
                     "(target: embedded, 설치 불필요): {cmd}"},
    "python": {"en": "Install the runbook's Python packages into the project venv: {cmd}",
               "ko": "프로젝트 가상환경에 런북의 Python 패키지를 설치하세요: {cmd}"},
    "python_version": {"en": "Install Python 3.11 or newer and recreate .venv: {cmd}",
                       "ko": "Python 3.11 이상을 설치하고 .venv를 다시 만드세요: {cmd}"},
}


def os_family() -> str:
    """'debian', 'fedora', 'macos', 'windows' (other Linux counts as debian)."""
    system = platform.system()
    if system == "Darwin":
        return "macos"
    if system == "Windows":
        return "windows"
    release = Path("/etc/os-release")
    text = release.read_text(errors="replace").lower() if release.is_file() else ""
    if any(k in text for k in ("fedora", "rhel", "centos", "rocky", "almalinux")):
        return "fedora"
    return "debian"


def install_command(what: str, family: str | None = None) -> str:
    """The shell command that installs `what` on this OS (or on `family`)."""
    return COMMANDS[what][family or os_family()]


def install_hint(what: str, language: str = "en", family: str | None = None) -> str:
    """One sentence: what to install and the exact command, in the user's language."""
    return t(LEAD[what], language, cmd=install_command(what, family))


HERE = {"en": "{os} (this machine)", "ko": "{os} (이 머신)"}


def commands_table(language: str | None = None):
    """Every install command per OS as a DataFrame; this machine's column is marked."""
    import pandas as pd

    here = os_family()
    frame = pd.DataFrame(COMMANDS).T.rename(columns={here: t(HERE, language, os=here)})
    frame.index.name = "install"
    frame.attrs["code"] = list(frame.columns)  # commands: shown as code, never translated
    return frame


__all__ = ["COMMANDS", "os_family", "install_command", "install_hint", "commands_table"]
