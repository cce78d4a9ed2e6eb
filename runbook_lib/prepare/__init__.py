"""Stages 01-02: is everything installed and reachable, and the application's role and database.

`checks` (PG0xx install and server checks, the embedded target for training), `install_help`
(the install command for this OS), `provision` (DB0xx: role, database, privileges,
idempotent), `demo` (the sample SPC database for training).
"""

from . import checks, demo, install_help, provision

__all__ = ["checks", "demo", "install_help", "provision"]
