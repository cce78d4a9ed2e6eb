"""A throwaway runbook workspace (notebooks, parameters, examples) with its own server port."""

from __future__ import annotations

import secrets

import pytest
from workspace import make_workspace

KNOWN_APP_PASSWORD = "AppPw-" + secrets.token_hex(6)
KNOWN_ADMIN_PASSWORD = "AdmPw-" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def full_run(tmp_path_factory):
    """One complete training run with known passwords: (workspace, completed process)."""
    ws = make_workspace(tmp_path_factory.mktemp("e2e"), DB_PASSWORD=KNOWN_APP_PASSWORD,
                        PGADMIN_PASSWORD=KNOWN_ADMIN_PASSWORD)
    try:
        done = ws.run(run_dir="runs/full")
        yield ws, done
    finally:
        ws.destroy()
