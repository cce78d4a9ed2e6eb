"""`runbook server start|stop|status` for the embedded PostgreSQL."""

from __future__ import annotations

import argparse

from ..core import server
from ..core.config import load_settings
from ..core.escape import terminal


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--params", default="parameters/training.yaml",
                        help="profile giving db_port / admin_user (default training)")


def command(args: argparse.Namespace) -> int:
    settings = load_settings(profile=args.params, target="embedded")
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
