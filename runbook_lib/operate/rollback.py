"""The guide's rollback plan (롤백 계획) and the conditions under which it is safe, as checks.

Switching `DATABASES` back to SQLite is only safe while (1) the SQLite file is still there
and sound, (2) nothing was written to PostgreSQL that the SQLite file lacks (a rollback
leaves those rows behind), (3) no Django migration was applied on PostgreSQL only (the old
schema would not match the code), and (4) a restore-verified backup of PostgreSQL exists, so
switching back to PostgreSQL later loses nothing either.
"""

from __future__ import annotations

import sqlite3

from ..core import db, manifest
from ..core.i18n import t
from ..core.results import Check, CheckTable, table
from . import wording as w

__all__ = ["conditions", "SETTINGS_SNIPPET", "STEPS"]

SETTINGS_SNIPPET = """\
# settings.py: the guide's rollback, back to the SQLite file
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': BASE_DIR / 'db.sqlite3',
    }
}
"""
STEPS = {
    "en": ["Stop writes: put the application in maintenance mode (or stop it).",
           "Check the conditions below; export rows written to PostgreSQL since the cutover "
           "(manage.py dumpdata APP.MODEL --pks ...) if there are any.",
           "Take a last pg_dump -Fc of PostgreSQL (backup.sh), so going forward again is "
           "possible.",
           "Restore the DATABASES block above (or the settings backup the cutover made), "
           "restart the application (python manage.py runserver 8000 in development).",
           "Smoke test: admin page, product list, one new measurement."],
    "ko": ["쓰기 중지: 애플리케이션을 점검 모드로 두거나 중지합니다.",
           "아래 조건을 확인하고, 전환 후 PostgreSQL에 기록된 행이 있으면 내보냅니다 "
           "(manage.py dumpdata APP.MODEL --pks ...).",
           "다시 전환할 수 있도록 PostgreSQL의 마지막 pg_dump -Fc 백업을 만듭니다 (backup.sh).",
           "위 DATABASES 블록(또는 전환 때 만든 설정 백업)으로 되돌리고 애플리케이션을 "
           "재시작합니다 (개발 환경: python manage.py runserver 8000).",
           "확인: 관리자 페이지, 제품 목록, 새 측정값 한 건."],
}
TEXT = {
    "sound": {"en": "{file}: present, integrity check ok.",
              "ko": "{file}: 존재하며 무결성 검사 통과."},
    "missing": {"en": "{file} is missing or damaged ({detail}): there is nothing to roll back "
                      "to.",
                "ko": "{file} 파일이 없거나 손상됨 ({detail}): 되돌아갈 대상이 없습니다."},
    "migrations_ahead": {"en": "{n} Django migration(s) applied on PostgreSQL only ({names}): "
                               "the SQLite schema is behind the code.",
                         "ko": "PostgreSQL에만 적용된 Django 마이그레이션 {n}개 ({names}): "
                               "SQLite 스키마가 코드보다 뒤처져 있습니다."},
    "migrations_same": {"en": "Both databases record the same {n} Django migrations.",
                        "ko": "두 데이터베이스에 같은 Django 마이그레이션 {n}개가 기록되어 있습니다."},
}


def _t(key: str, settings, **values) -> str:
    return t(TEXT[key], settings.language, **values)


def source_sound(settings) -> Check:
    """OP040: the SQLite file exists and passes `PRAGMA quick_check` (opened read-only)."""
    file = settings.sqlite_file
    try:
        conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            detail = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        detail = str(exc)
    if detail == "ok":
        return Check("OP040", w.name(settings, "OP040"), "ok", _t("sound", settings, file=file))
    return Check("OP040", w.name(settings, "OP040"), "fail",
                 _t("missing", settings, file=file, detail=detail), w.say(settings, "snapshot_fix"))


def _migrations_sqlite(settings) -> set[tuple[str, str]] | None:
    conn = sqlite3.connect(f"file:{settings.sqlite_file}?mode=ro", uri=True)
    try:
        return set(conn.execute("SELECT app, name FROM django_migrations").fetchall())
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _migrations_pg(settings) -> set[tuple[str, str]] | None:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT app, name FROM django_migrations")
        return set(cur.fetchall())


def migrations_in_step(settings) -> Check:
    """OP041: no Django migration applied on PostgreSQL only."""
    label = w.name(settings, "OP041")
    lite, pg = _migrations_sqlite(settings), _migrations_pg(settings)
    if lite is None or pg is None:
        return Check("OP041", label, "skip", w.say(settings, "no_table"))
    ahead = sorted(pg - lite)
    if ahead:
        names = ", ".join(f"{a}.{n}" for a, n in ahead[:5])
        return Check("OP041", label, "warn",
                     _t("migrations_ahead", settings, n=len(ahead), names=names),
                     w.say(settings, "migrate_first"))
    return Check("OP041", label, "ok", _t("migrations_same", settings, n=len(pg)))


def verified_backup(settings) -> Check:
    """OP042: this run holds a PostgreSQL backup that was restored and compared."""
    backup = (manifest.read(settings.run_dir).get("operate") or {}).get("backup") or {}
    if backup.get("restore_verified"):
        return Check("OP042", w.name(settings, "OP042"), "ok",
                     w.say(settings, "verified", dump=backup.get("dump")))
    return Check("OP042", w.name(settings, "OP042"), "warn", w.say(settings, "unverified"),
                 w.say(settings, "prove_first"))


def conditions(settings) -> CheckTable:
    """Whether rolling back to SQLite is safe now, one check per condition."""
    from ..cutover import left_behind

    checks = [source_sound(settings)]
    if checks[0].status == "ok":
        checks.append(left_behind(settings))
    checks += [migrations_in_step(settings), verified_backup(settings)]
    return table(checks)
