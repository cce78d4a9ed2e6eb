"""Stage 01's checks of the project's own interpreter (PG013-PG016), the one every
`manage.py` call runs in (`django_python`, else the project's venv, else the runbook's).

One probe runs in that interpreter with the runbook's settings shim: Python, Django, the
PostgreSQL driver (and python-dotenv, which the settings stage 06 writes load), then
`django.setup()`, which imports every app in INSTALLED_APPS. Each failure names the exact
command that installs what is missing, in that interpreter.
"""

from __future__ import annotations

import json
import subprocess

from ..core import django_project
from ..core.errors import ConfigError
from ..core.i18n import t
from ..core.results import Check
from ..core.secrets import scrub

__all__ = ["check_project", "probe", "IDS"]

IDS = {"PG013": {"en": "project interpreter", "ko": "프로젝트 인터프리터"},
       "PG014": {"en": "Django in the project interpreter", "ko": "프로젝트 인터프리터의 Django"},
       "PG015": {"en": "PostgreSQL driver in the project interpreter",
                 "ko": "프로젝트 인터프리터의 PostgreSQL 드라이버"},
       "PG016": {"en": "INSTALLED_APPS import", "ko": "INSTALLED_APPS 가져오기"}}
MIN_DJANGO = (4, 2)
MARK = "RUNBOOK-PROBE "
PROBE = """\
import json, sys
out = {"python": sys.version.split()[0]}
def _err(e):
    return {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""),
            "missing": getattr(e, "name", None)}
try:
    import django
    out["django"] = django.get_version()
except Exception as e:
    out["django_error"] = _err(e)
for mod in ("psycopg2", "dotenv"):
    try:
        m = __import__(mod)
        out[mod] = str(getattr(m, "__version__", "installed")).split()[0]
    except Exception as e:
        out[mod + "_error"] = _err(e)
if "django" in out:
    try:
        django.setup()
        from django.apps import apps
        out["apps"] = len(apps.get_app_configs())
    except Exception as e:
        out["setup_error"] = _err(e)
print("RUNBOOK-PROBE " + json.dumps(out))
"""
TEXT = {
    "no_output": {"en": "no output", "ko": "출력 없음"},
    "missing_module": {"en": "the missing module", "ko": "없는 모듈"},
    "provider": {"en": "the package that provides {module}", "ko": "{module}을(를) 제공하는 패키지"},
    "origin_django_python": {"en": "django_python", "ko": "django_python"},
    "origin_venv": {"en": "the project's virtualenv", "ko": "프로젝트의 가상환경"},
    "origin_runbook": {"en": "the runbook's own (no venv/, .venv/ or env/ beside manage.py or one "
                             "level up)",
                       "ko": "런북 자신의 것 (manage.py 옆이나 한 단계 위에 venv/, .venv/, env/가 "
                             "없음)"},
    "old_django": {"en": "Django {version} is older than 4.2 LTS (untested, out of support)",
                   "ko": "Django {version}은(는) 4.2 LTS보다 오래됨 (검증되지 않았고 지원이 끝남)"},
    "django": {"en": "Django {version}", "ko": "Django {version}"},
    "drivers": {"en": "psycopg2 {psycopg2}, python-dotenv {dotenv}",
                "ko": "psycopg2 {psycopg2}, python-dotenv {dotenv}"},
    "not_importable": {"en": "not importable: {names}", "ko": "import 할 수 없음: {names}"},
    "and": {"en": " and ", "ko": ", "},
    "no_django": {"en": "Django is not importable", "ko": "Django를 import 할 수 없음"},
    "imported": {"en": "{n} apps imported ({settings})", "ko": "앱 {n}개 import 됨 ({settings})"},
    "no_project": {"en": "no django_project (a plain SQLite file)",
                   "ko": "django_project 없음 (Django 없는 SQLite 파일)"},
    "not_running": {"en": "the interpreter does not run", "ko": "인터프리터가 실행되지 않음"},
    "does_not_run": {"en": "{where} does not run: {error}", "ko": "{where}이(가) 실행되지 않음: {error}"},
    "at": {"en": "Python {python} at {where}", "ko": "Python {python}, 위치 {where}"},
    "install": {"en": "Install it into the project's interpreter: `{command}`.",
                "ko": "프로젝트의 인터프리터에 설치하세요: `{command}`."},
    "driver": {"en": "The project's interpreter lacks {what}, which the PostgreSQL settings "
                     "need (stage 06 writes settings that import both): `{command}`.",
               "ko": "프로젝트의 인터프리터에 PostgreSQL 설정에 필요한 {what}이(가) 없습니다 "
                     "(06 단계가 쓰는 설정이 둘 다 import 합니다): `{command}`."},
    "apps": {"en": "An app in INSTALLED_APPS (or its dependency) is not installed in the "
                   "project's interpreter: install the project's requirements: `{command}`; or "
                   "set django_python to the project's own virtualenv.",
             "ko": "INSTALLED_APPS의 앱(또는 그 의존성)이 프로젝트 인터프리터에 설치되어 있지 "
                   "않습니다. 프로젝트의 requirements를 설치하세요: `{command}`; 또는 django_python을 "
                   "프로젝트 자신의 가상환경으로 지정하세요."},
    "settings": {"en": "django.setup() failed with the project's settings: fix the error, or "
                       "check django_settings and django_project.",
                 "ko": "프로젝트 설정으로 django.setup()이 실패했습니다: 오류를 고치거나 "
                       "django_settings와 django_project를 확인하세요."},
    "runs": {"en": "Set django_python to the project's interpreter (e.g. backend/venv/bin/"
                   "python), or create the project's virtualenv beside manage.py.",
             "ko": "django_python을 프로젝트의 인터프리터로 지정하거나 (예: backend/venv/bin/"
                   "python), manage.py 옆에 프로젝트의 가상환경을 만드세요."},
}


def probe(settings) -> dict:
    """What the project's interpreter has (Python, Django, driver, INSTALLED_APPS)."""
    python = django_project.interpreter(settings)
    done = subprocess.run([str(python), "-c", PROBE], cwd=django_project.project_dir(settings),
                          env=django_project.environment(settings), capture_output=True,
                          text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if line is None:
        tail = ((done.stderr or done.stdout).strip().splitlines()[-1:]
                or [t(TEXT["no_output"], settings.language)])
        return {"run_error": scrub(tail[0])}
    return json.loads(line[len(MARK):])


def _requirements_command(settings, module: str | None) -> str:
    req = django_project.requirements_file(settings)
    pip = django_project.pip_command(settings)
    what = module or t(TEXT["missing_module"], settings.language)
    return f"{pip} install -r {req}" if req else \
        f"{pip} install <{t(TEXT['provider'], settings.language, module=what)}>"


def _where(settings) -> str:
    python = django_project.interpreter(settings)
    origin = TEXT[f"origin_{django_project.detected_from(settings)}"]
    return f"{python}: {t(origin, settings.language)}"


def _check(cid: str, status: str, message: str, hint: str = "", details: dict | None = None,
           lang: str = "en") -> Check:
    return Check(cid, t(IDS[cid], lang), status, message, hint, details or {})


def _django(settings, facts: dict, lang: str) -> Check:
    pip = django_project.pip_command(settings)
    if "django" not in facts:
        command = _requirements_command(settings, "django")
        if not django_project.requirements_file(settings):
            command = f'{pip} install "Django>={MIN_DJANGO[0]}.{MIN_DJANGO[1]}"'
        return _check("PG014", "fail", scrub(facts["django_error"]["error"]),
                      t(TEXT["install"], lang, command=command), lang=lang)
    version = facts["django"]
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if numbers < MIN_DJANGO:
        return _check("PG014", "warn", t(TEXT["old_django"], lang, version=version),
                      t(TEXT["install"], lang, command=f'{pip} install "Django>=4.2,<5"'),
                      {"version": version}, lang)
    return _check("PG014", "ok", t(TEXT["django"], lang, version=version),
                  details={"version": version}, lang=lang)


def _driver(settings, facts: dict, lang: str) -> Check:
    missing = [name for name, key in (("psycopg2", "psycopg2"), ("python-dotenv", "dotenv"))
               if key not in facts]
    command = f"{django_project.pip_command(settings)} install {django_project.DRIVER_PACKAGES}"
    if not missing:
        return _check("PG015", "ok", t(TEXT["drivers"], lang, psycopg2=facts["psycopg2"],
                                       dotenv=facts["dotenv"]), lang=lang)
    status = "fail" if "psycopg2" in missing else "warn"
    return _check("PG015", status, t(TEXT["not_importable"], lang, names=", ".join(missing)),
                  t(TEXT["driver"], lang, what=t(TEXT["and"], lang).join(missing),
                    command=command), {"missing": missing}, lang)


def _apps(settings, facts: dict, lang: str) -> Check:
    if "django" not in facts:
        return _check("PG016", "skip", t(TEXT["no_django"], lang), lang=lang)
    if "setup_error" not in facts:
        return _check("PG016", "ok", t(TEXT["imported"], lang, n=facts["apps"],
                                       settings=settings.django_settings), lang=lang)
    error = facts["setup_error"]
    text = scrub(error["error"])
    module = error.get("missing") or django_project.missing_module(text)
    if module and module.split(".")[0] not in ("psycopg2",):
        return _check("PG016", "fail", text, t(TEXT["apps"], lang,
                      command=_requirements_command(settings, module)), {"module": module}, lang)
    return _check("PG016", "fail", text, t(TEXT["settings"], lang), lang=lang)


def _not_running(lang: str) -> list[Check]:
    return [_check(cid, "skip", t(TEXT["not_running"], lang), lang=lang)
            for cid in ("PG014", "PG015", "PG016")]


def check_project(settings) -> list[Check]:
    """PG013-PG016 for the project's interpreter; skipped without a Django project."""
    lang = settings.language
    if not settings.django_project:
        return [_check(cid, "skip", t(TEXT["no_project"], lang), lang=lang) for cid in IDS]
    try:
        where = _where(settings)
        facts = probe(settings)
    except (ConfigError, OSError, subprocess.SubprocessError) as exc:
        message = getattr(exc, "message", str(exc))
        return [_check("PG013", "fail", scrub(message),
                       getattr(exc, "hint", "") or t(TEXT["runs"], lang), lang=lang),
                *_not_running(lang)]
    if "run_error" in facts:
        return [_check("PG013", "fail", t(TEXT["does_not_run"], lang, where=where,
                                          error=facts["run_error"]),
                       t(TEXT["runs"], lang), lang=lang), *_not_running(lang)]
    return [_check("PG013", "ok", t(TEXT["at"], lang, python=facts["python"], where=where),
                   details={"python": facts["python"]}, lang=lang),
            _django(settings, facts, lang), _driver(settings, facts, lang),
            _apps(settings, facts, lang)]
