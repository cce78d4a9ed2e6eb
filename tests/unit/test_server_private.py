"""The embedded server keeps to itself (issue 13, classes 5 and 6).

Its socket folder is created fresh and private, or refused when something planted is there
(a symbolic link to another folder, a folder of another user, a folder open to others): the
old code's mkdir(exist_ok) + chown + chmod followed a planted link and took over its target.
The server runs with its own group, never root's, and its data folder's parent is open only
to that group.
"""

from __future__ import annotations

import os
import pwd
import stat
import tempfile
from pathlib import Path

import psutil
import pytest

from runbook_lib.core import server
from runbook_lib.core.errors import ServerError

ROOT = os.geteuid() == 0


@pytest.fixture
def long_server(tmp_path, monkeypatch):
    """A server whose data path is long, so its socket folder is $TMPDIR/runbook-sock-<hash>;
    $TMPDIR is this test's own folder, 1777 like /tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    srv = server.EmbeddedServer(tmp_path / ("d" * 90) / "pg", port=server.free_port())
    assert srv.socket_dir.parent == tmp
    yield srv
    srv.destroy()


def snapshot(path: Path) -> tuple:
    info = os.lstat(path)
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def test_planted_symlink_is_refused_and_its_target_untouched(long_server, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    victim.chmod(0o755)
    before = snapshot(victim)
    long_server.socket_dir.symlink_to(victim)
    with pytest.raises(ServerError, match="symbolic link") as err:
        long_server.start("postgres", "pw-x")
    assert "rm -r" in err.value.hint and "TMPDIR" in err.value.hint
    assert snapshot(victim) == before and not list(victim.iterdir())
    assert not long_server.data_dir.exists()  # refused before initdb


@pytest.mark.parametrize("how", ["foreign owner", "open to others", "a file"])
def test_planted_folder_is_refused(long_server, how):
    sock = long_server.socket_dir
    if how == "a file":
        sock.write_text("")
    else:
        sock.mkdir()
        if how == "foreign owner":
            if not ROOT:
                pytest.skip("needs root to give the folder to another user")
            nobody = pwd.getpwnam("nobody")
            os.chown(sock, nobody.pw_uid, nobody.pw_gid)
            sock.chmod(0o700)
        else:
            sock.chmod(0o777)
    before = snapshot(sock)
    words = {"foreign owner": "another user", "open to others": "open to others",
             "a file": "not a folder"}[how]
    with pytest.raises(ServerError, match=words):
        long_server.start("postgres", "pw-x")
    assert snapshot(sock) == before


def test_fresh_socket_folder_is_private(long_server):
    created = long_server._socket_folder()
    info = os.lstat(created)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    owner = pwd.getpwnam(server.SYSTEM_USER).pw_uid if ROOT else os.geteuid()
    assert info.st_uid == owner
    assert long_server._socket_folder() == created  # ours: accepted again


@pytest.mark.skipif(not ROOT, reason="the server only changes user when started as root")
def test_server_runs_with_its_own_group_not_roots(pg):
    entry = pwd.getpwnam(server.SYSTEM_USER)
    postmaster = psutil.Process(pg.embedded.pid())
    for proc in [postmaster, *postmaster.children()]:
        assert set(proc.gids()) == {entry.pw_gid}, proc
        assert set(proc.uids()) == {entry.pw_uid}, proc
        groups = Path(f"/proc/{proc.pid}/status").read_text().split("Groups:")[1].split("\n")[0]
        assert "0" not in groups.split(), groups


@pytest.mark.skipif(not ROOT, reason="the folder's group only matters when run as root")
def test_data_folder_parent_is_open_only_to_the_servers_group(pg):
    parent = pg.embedded.data_dir.parent
    info = parent.stat()
    assert stat.S_IMODE(info.st_mode) == 0o710
    assert info.st_gid == pwd.getpwnam(server.SYSTEM_USER).pw_gid
    data = pg.embedded.data_dir.stat()
    assert stat.S_IMODE(data.st_mode) == 0o700
