"""`runbook server start|stop|status` for the embedded PostgreSQL.

The port is the one given (`--port N` or `-p db_port=N`), else the one remembered in
`.runbook/server.json` from the last start, else 55432; a start remembers it.
"""

from __future__ import annotations

import argparse

from ..core import server
from ..core.config import load_settings
from ..core.display import word
from ..core.errors import ConfigError
from ..core.escape import terminal
from ..core.i18n import t
from .runner import parse_overrides

SAY = {
    "params": {"en": "profile giving db_port / admin_user (default training)",
               "ko": "db_port / admin_user를 주는 프로필 (기본 training)"},
    "port": {"en": "port to start on (remembered afterwards)",
             "ko": "시작할 포트 (이후 기억됨)"},
    "override": {"en": "override one parameter, e.g. db_port=55433",
                 "ko": "매개변수 하나를 바꿈, 예: db_port=55433"},
    "bad_port": {"en": "--port {port} is not a TCP port.",
                 "ko": "--port {port}은(는) TCP 포트 번호가 아닙니다."},
    "bad_port_fix": {"en": "Give a port between 1024 and 65535, e.g. --port 55433.",
                     "ko": "1024에서 65535 사이의 포트를 주세요. 예: --port 55433"},
    "status": {"en": "running:   {running}\nhost:      {host}\nport:      {port}\n"
                     "data dir:  {data_dir}\nversion:   PostgreSQL {version}\npid:       {pid}\n"
                     "dsn:       {dsn}",
               "ko": "실행 중:      {running}\n호스트:      {host}\n포트:        {port}\n"
                     "데이터 폴더: {data_dir}\n버전:        PostgreSQL {version}\n"
                     "pid:         {pid}\ndsn:         {dsn}"},
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--params", default="parameters/training.yaml", help=t(SAY["params"]))
    parser.add_argument("--port", type=int, help=t(SAY["port"]))
    parser.add_argument("-p", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help=t(SAY["override"]))


def command(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.overrides)
    if args.port is not None:
        if not 0 < args.port < 65536:
            raise ConfigError(SAY["bad_port"], SAY["bad_port_fix"], port=args.port)
        overrides["db_port"] = args.port
    settings = load_settings(profile=args.params, **{**overrides, "target": "embedded"})
    embedded = server.for_settings(settings)
    if args.action == "start":
        server.ensure_target(settings)
    elif args.action == "stop":
        embedded.stop()
    st = embedded.status(user=settings.db_user, dbname=settings.db_name)
    print(t(SAY["status"], settings.language, running=word("yes" if st.running else "no"),
            host=terminal(st.host), port=st.port, data_dir=terminal(st.data_dir),
            version=st.version, pid=st.pid or "-", dsn=terminal(st.dsn)))
    return 0


__all__ = ["configure", "command"]
