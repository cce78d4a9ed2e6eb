"""`runbook server start|stop|status` for the embedded PostgreSQL.

The port is the one given (`--port N` or `-p db_port=N`), else the one remembered in
`.runbook/server.json` from the last start, else 55432; a start remembers it.
"""

from __future__ import annotations

import argparse

from ..core import server
from ..core.config import load_settings
from ..core.errors import ConfigError
from ..core.escape import terminal
from .runner import parse_overrides


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--params", default="parameters/training.yaml",
                        help="profile giving db_port / admin_user (default training)")
    parser.add_argument("--port", type=int, help="port to start on (remembered afterwards)")
    parser.add_argument("-p", dest="overrides", action="append", default=[],
                        metavar="NAME=VALUE", help="override one parameter, e.g. db_port=55433")


def command(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.overrides)
    if args.port is not None:
        if not 0 < args.port < 65536:
            raise ConfigError(f"--port {args.port} is not a TCP port.",
                              "Give a port between 1024 and 65535, e.g. --port 55433.")
        overrides["db_port"] = args.port
    settings = load_settings(profile=args.params, **{**overrides, "target": "embedded"})
    embedded = server.for_settings(settings)
    if args.action == "start":
        server.ensure_target(settings)
    elif args.action == "stop":
        embedded.stop()
    st = embedded.status(user=settings.db_user, dbname=settings.db_name)
    print(f"running:   {'yes' if st.running else 'no'}")
    print(f"host:      {terminal(st.host)}\nport:      {st.port}\n"
          f"data dir:  {terminal(st.data_dir)}")
    print(f"version:   PostgreSQL {st.version}\npid:       {st.pid or '-'}")
    print(f"dsn:       {terminal(st.dsn)}")
    return 0


__all__ = ["configure", "command"]
