"""Diagnosis: any error (exception or pasted text) → the known problem, causes and exact fix.

The catalogue (data, in `catalogue.py`) holds one `Problem` per known failure. An
error is matched by SQLSTATE first, then by message pattern, then by exception class (or
OSError errno), walking `__cause__`/`__context__` (Django wraps driver errors). A SQLSTATE
shared by several problems (28000, 42501, 22021) is settled by the message pattern.
Causes are ranked for the user's configuration; fixes name the commands for this OS.
"""

from __future__ import annotations

import html
import platform
import re
from dataclasses import dataclass, field

from .catalogue import CATALOGUE, UNKNOWN, Problem
from .errors import FIX_LABEL, RunbookError
from .i18n import current, t
from .secrets import scrub

__all__ = ["CATALOGUE", "Diagnosis", "Problem", "explain", "match", "problem", "catalogue_frame"]

LOOPBACK = ("localhost", "127.0.0.1", "::1", "")
LABELS = {"en": ("Likely causes", "Fix", "See"), "ko": ("가능한 원인", "해결", "참고:")}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Diagnosis:
    """A matched problem, filled in for one configuration and language."""

    problem_id: str
    title: str
    causes: list[str]
    fix: str
    doc: str
    error: str = ""
    extra: dict = field(default_factory=dict)
    language: str = "en"

    def fix_text(self) -> str:
        return self.fix + (f" {LABELS[self.language][2]} {self.doc}" if self.doc else "")

    def as_dict(self) -> dict:
        return {"problem": self.problem_id, "title": self.title, "causes": self.causes,
                "fix": self.fix, "doc": self.doc, "error": self.error, **self.extra}

    def __str__(self) -> str:
        words = LABELS[self.language]
        if not self.problem_id:
            return f"{words[1]}: {self.fix_text()}"
        causes = "\n".join(f"  {i}. {c}" for i, c in enumerate(self.causes, 1))
        return (f"{self.title} [{self.problem_id}]\n{words[0]}:\n{causes}\n"
                f"{words[1]}: {self.fix_text()}")

    def _repr_html_(self) -> str:
        if not self.problem_id:
            return f"<p><b>{LABELS[self.language][1]}:</b> {html.escape(self.fix)}</p>"
        causes = "".join(f"<li>{html.escape(c)}</li>" for c in self.causes)
        link = (f"<p><a href='{html.escape(self.doc)}'>{html.escape(self.doc)}</a></p>"
                if self.doc else "")
        return (f"<b>{html.escape(self.title)}</b> <code>{self.problem_id}</code>"
                f"<ol>{causes}</ol><p><b>{LABELS[self.language][1]}:</b> "
                f"{html.escape(self.fix)}</p>{link}")


# -- matching ---------------------------------------------------------------------------------
def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and all(error is not e for e in seen):
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _sqlstate(error: BaseException | str) -> str | None:
    if isinstance(error, str):
        found = re.search(r"SQLSTATE[\s:=\[]*([0-9A-Z]{5})", error)
        return found.group(1) if found else None
    return getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)


def _own_texts(err: BaseException) -> list[str]:
    """The texts of one error: its message, a notebook's traceback, a program's stderr."""
    out = []
    if hasattr(err, "ename") and hasattr(err, "evalue"):  # papermill execution error
        out.append(f"{err.ename}: {err.evalue}")
        out.append(_ANSI.sub("", "\n".join(getattr(err, "traceback", []) or [])))
    out.append(f"{type(err).__name__}: {err}")
    if isinstance(err, RunbookError) and current() != "en":  # the catalogue's patterns are English
        out.append(f"{type(err).__name__}: {err.message_in('en')}")
    for stream in (getattr(err, "stderr", None), getattr(err, "output", None)):
        if stream:  # a failed program (CalledProcessError): its own words
            out.append(stream.decode(errors="replace") if isinstance(stream, bytes)
                       else str(stream))
    return out


def _texts(error: BaseException | str) -> list[str]:
    """Every text worth matching, along the whole chain."""
    if isinstance(error, str):
        return [error]
    return [text for err in _chain(error) for text in _own_texts(err)]


def _score(problem: Problem, code: str | None, text: str) -> int:
    """3: SQLSTATE and message agree; 2: SQLSTATE only; 1: message only; 0: no match."""
    by_code = bool(code) and code in problem.sqlstates
    by_text = any(re.search(p, text, re.IGNORECASE) for p in problem.patterns)
    return 3 if by_code and by_text else 2 if by_code else 1 if by_text else 0


def _by_class(errors: list[BaseException]) -> Problem | None:
    for err in errors:
        names = {cls.__name__ for cls in type(err).__mro__}
        errno = getattr(err, "errno", None)
        for problem in CATALOGUE:
            if names & set(problem.exc_types) or (errno and errno in problem.errnos):
                return problem
    return None


def match(error: BaseException | str) -> Problem:
    """The catalogue entry for an exception or a pasted error text."""
    errors = [error] if isinstance(error, str) else _chain(error)
    best, best_score = UNKNOWN, 0
    for err in errors:
        code = _sqlstate(err)
        for text in _own_texts(err) if not isinstance(err, str) else [err]:
            for problem in CATALOGUE:
                score = _score(problem, code, text)
                if score > best_score:
                    best, best_score = problem, score
        if best_score == 3:
            break
    if best_score:
        return best
    objects = [e for e in errors if not isinstance(e, str)]
    return _by_class(objects) or UNKNOWN


def problem(problem_id: str) -> Problem:
    """The catalogue entry with this id (DX001 ...)."""
    for entry in (*CATALOGUE, UNKNOWN):
        if entry.id == problem_id:
            return entry
    raise KeyError(problem_id)


# -- filling in the configuration -------------------------------------------------------------
_DEFAULTS = {"db_host": "localhost", "db_port": 5432, "db_name": "spc_db", "db_user": "spc_user",
             "password_env": "DB_PASSWORD", "admin_user": "postgres",
             "sqlite_path": "db.sqlite3", "target": "server", "run_dir": "runs/<run_id>",
             "django_python": "backend/venv/bin/python"}


WORDS = {"as_admin": {"en": "(as administrator)", "ko": "(관리자 권한으로)"},
         "installer": {"en": "the PostgreSQL installer", "ko": "PostgreSQL 설치 프로그램"},
         "listener": {"en": "the program listening there", "ko": "그 포트를 쓰는 프로그램"},
         "free": {"en": "nothing (the port is free)", "ko": "없음 (포트가 비어 있음)"}}


def _os_commands(target: str, port: int, lang: str = "en") -> dict[str, str]:
    system = platform.system()
    if target == "embedded":
        start = "`runbook server start`"
    elif system == "Darwin":
        start = "`brew services start postgresql@16`"
    elif system == "Windows":
        start = "`net start postgresql-x64-16` " + t(WORDS["as_admin"], lang)
    else:
        start = "`sudo systemctl start postgresql`"
    owner = {"Darwin": f"`lsof -nP -iTCP:{port} -sTCP:LISTEN`",
             "Windows": f"`netstat -ano | findstr :{port}`"}.get(
        system, f"`sudo ss -ltnp 'sport = :{port}'`")
    libpq = {"Darwin": "`brew install libpq`", "Windows": t(WORDS["installer"], lang)}.get(
        system, "`sudo apt-get install -y libpq5`")
    hba = (".runbook/pg/pg_hba.conf" if target == "embedded" else
           "pg_hba.conf (`SHOW hba_file;`; Debian/Ubuntu: /etc/postgresql/<version>/main/"
           "pg_hba.conf)")
    return {"start_server": start, "port_owner_cmd": owner, "install_libpq": libpq,
            "hba_file": hba}


def _values(settings, lang: str = "en") -> dict:
    values = {k: (getattr(settings, k, None) if settings is not None else None) or v
              for k, v in _DEFAULTS.items()}
    values.update(_os_commands(values["target"], values["db_port"], lang))
    values["port_owner"] = t(WORDS["listener"], lang)
    return values


def _named_in_error(values: dict, settings, text: str) -> dict:
    """The role and database the error itself names win over the settings (admin logins)."""
    user = re.search(r'(?:for user|user|role) "([^"]+)"', text)
    if user:
        values["db_user"] = user.group(1)
        if user.group(1) == getattr(settings, "admin_user", None):
            values["password_env"] = getattr(settings, "admin_password_env", "PGADMIN_PASSWORD")
    database = re.search(r'database "([^"]+)"', text)
    if database:
        values["db_name"] = database.group(1)
    return values


def _conditions(settings, text: str) -> dict[str, bool | None]:
    """Facts about this configuration that rank the causes (None: unknown)."""
    if settings is None:
        return {}
    host = getattr(settings, "db_host", "") or "localhost"
    target = getattr(settings, "target", "")
    return {"embedded": target == "embedded", "server": target == "server",
            "local": host in LOOPBACK, "remote": host not in LOOPBACK,
            "ssl_likely": (host not in LOOPBACK and bool(re.search("no encryption|SSL off", text)))
            or (None if host not in LOOPBACK else False)}


def _rank(problem: Problem, settings, text: str) -> list:
    facts = _conditions(settings, text)
    ranked = []
    for position, cause in enumerate(problem.causes):
        when = cause.get("when")
        holds = facts.get(when) if when else None
        if when and when.startswith("~"):
            holds = bool(re.search(when[1:], text, re.IGNORECASE))
        if holds is False:
            continue
        ranked.append((0 if holds else 1, position, cause))
    return [cause for *_, cause in sorted(ranked, key=lambda r: r[:2])]


def _port_owner(problem: Problem, values: dict, settings, lang: str = "en") -> dict:
    """Who listens on the configured port, when the problem's text names it."""
    if settings is None or not any("{port_owner}" in str(c)
                                   for c in (*problem.causes, problem.fix)):
        return {}
    from .server import port_owner

    owner = None
    if values["db_host"] in LOOPBACK:
        owner = port_owner(int(values["db_port"]))
    return {"port_owner": owner or t(WORDS["free"], lang)}


def _own_hint(error: BaseException | str, lang: str | None = None) -> str:
    if isinstance(error, str):
        for label in FIX_LABEL.values():
            if f"\n{label}: " in error:
                return error.split(f"\n{label}: ", 1)[1].strip()
        return ""
    hints = (e.hint_in(lang) if isinstance(e, RunbookError) else getattr(e, "hint", "")
             for e in _chain(error))
    return next((hint for hint in hints if hint), "")


def explain(error: BaseException | str, settings=None, language: str | None = None) -> Diagnosis:
    """Diagnose an exception or pasted error text for this configuration."""
    lang = language or getattr(settings, "language", None) or current()
    found = match(error)
    text = scrub("\n".join(_texts(error)))
    values = _named_in_error(_values(settings, lang), settings, text)
    extra = _port_owner(found, values, settings, lang)
    values.update(extra)
    fix = t(found.fix, lang, **values)
    if found is UNKNOWN and _own_hint(error, lang):  # a runbook error: its own hint, nothing else
        return Diagnosis(problem_id="", title="", causes=[], fix=scrub(_own_hint(error, lang)),
                         doc="", error=text.split("\n", 1)[0][:500],
                         language=lang if lang in LABELS else "en")
    title = t(found.title, lang)
    causes = [t(c, lang, **values) for c in _rank(found, settings, text)]
    return Diagnosis(problem_id=found.id, title=title, causes=causes, fix=fix,
                     doc=found.doc, error=text.split("\n", 1)[0][:500], extra=extra,
                     language=lang if lang in LABELS else "en")


def catalogue_frame(language: str = "en"):
    """The catalogue as a DataFrame: id, problem, SQLSTATEs, first cause, documentation."""
    import pandas as pd

    rows = [{"id": p.id, "problem": t(p.title, language), "sqlstate": ", ".join(p.sqlstates),
             "most likely cause": t(p.causes[0], language, **_values(None, language))
             if p.causes else "",
             "doc": p.doc} for p in CATALOGUE]
    return pd.DataFrame(rows)
