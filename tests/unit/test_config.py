"""Settings from profiles, notebook globals and the environment; secrets only from the env."""

from __future__ import annotations

import os
import stat

import pytest

from runbook_lib.core import config
from runbook_lib.core.config import PARAMETERS, load_profile, load_settings
from runbook_lib.core.errors import ConfigError


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty project root, no DB_* or admin variables in the environment."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "parameters").mkdir()
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    for name in list(os.environ):
        if name.startswith("DB_") or name == "PGADMIN_PASSWORD":
            monkeypatch.delenv(name)
    return tmp_path


def write(path, text):
    path.write_text(text)
    return path


def test_defaults_point_at_the_embedded_server(home):
    s = load_settings()
    assert (s.target, s.db_host, s.db_port, s.db_name, s.db_user) == \
        ("embedded", "localhost", config.EMBEDDED_PORT, "spc_db", "spc_user")
    assert s.schema == "django" and s.run_dir == str(home / "runs" / "interactive")
    assert os.path.isdir(s.run_dir)


def test_guide_environment_variables_fill_empty_parameters(home, monkeypatch):
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "6543")
    monkeypatch.setenv("DB_NAME", "from_env")
    monkeypatch.setenv("DB_USER", "env_user")
    s = load_settings(target="server")
    assert (s.db_host, s.db_port, s.db_name, s.db_user) == ("db.internal", 6543, "from_env",
                                                             "env_user")
    assert load_settings(target="server", db_name="explicit").db_name == "explicit"


def forget_dotenv(monkeypatch, *names):
    """load_dotenv writes into os.environ: make monkeypatch remove those values afterwards."""
    for name in names:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


def test_dotenv_file_supplies_password_and_names(home, monkeypatch):
    forget_dotenv(monkeypatch, "DB_PASSWORD", "DB_NAME")
    write(home / ".env", "DB_PASSWORD=from-dotenv-pw\nDB_NAME=dotenv_db\n")
    s = load_settings(target="server")
    assert s.password.reveal() == "from-dotenv-pw" and s.password.source == ".env"
    assert s.db_name == "dotenv_db"


def test_environment_beats_dotenv(home, monkeypatch):
    forget_dotenv(monkeypatch, "DB_PASSWORD")
    write(home / ".env", "DB_PASSWORD=from-dotenv-pw2\n")
    monkeypatch.setenv("DB_PASSWORD", "from-env-pw")
    assert load_settings(target="server").password.reveal() == "from-env-pw"


def test_embedded_secrets_generated_once_private(home):
    first = load_settings()
    second = load_settings()
    assert first.password == second.password and first.admin_password == second.admin_password
    store = home / ".runbook" / "secrets.env"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert first.password.source == ".runbook/secrets.env"


def test_existing_server_without_password_leaves_it_to_pgpass(home):
    s = load_settings(target="server")
    assert s.password is None and s.admin_password is None
    assert not (home / ".runbook" / "secrets.env").exists()


def test_settings_display_masks_passwords(home, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "visible-if-broken")
    s = load_settings(target="server")
    for shown in (repr(s), str(s), s._repr_html_(), s.dsn(), s.dsn(admin=True)):
        assert "visible-if-broken" not in shown
    assert s.dsn() == "postgresql://spc_user:********@localhost:5432/spc_db"
    assert "visible-if-broken" not in str(s.parameters())


def test_profile_then_namespace_then_overrides(home):
    profile = write(home / "parameters" / "p.yaml", "db_name: from_profile\nworkers: 3\n")
    s = load_settings({"db_name": "from_cell", "pd": object(), "x": 1}, profile=str(profile),
                      workers=4)
    assert (s.db_name, s.workers) == ("from_cell", 4)


@pytest.mark.parametrize("values, words", [
    ({"db_prot": 5432}, ["Unknown parameter 'db_prot'", "Did you mean 'db_port'"]),
    ({"db_password": "x"}, ["looks like a password", "DB_PASSWORD"]),
    ({"target": "cloud"}, ["must be one of"]),
    ({"workers": "two"}, ["must be a int"]),
    ({"data": "maybe"}, ["must be a bool"]),
    ({"db_name": "x; DROP DATABASE postgres"}, ["not a valid role or database name"]),
    ({"db_user": 'a"b'}, ["not a valid role or database name"]),
    ({"admin_user": "a b"}, ["not a valid role or database name"]),
    ({"db_name": "n" * 64}, ["at most 63 bytes"]),
])
def test_bad_values_say_what_and_how(home, values, words):
    with pytest.raises(ConfigError) as err:
        load_settings(**values)
    for word in words:
        assert word in str(err.value)
    assert err.value.hint


def test_unknown_name_lists_valid_names(home):
    with pytest.raises(ConfigError) as err:
        load_settings(zzz_unrelated=1)
    assert all(name in err.value.hint for name in ("sqlite_path", "db_port", "language"))


def test_typo_in_notebook_globals_is_caught_but_other_names_ignored(home):
    with pytest.raises(ConfigError, match="db_nmae"):
        load_settings({"db_nmae": "x"})
    with pytest.raises(ConfigError, match="password"):
        load_settings({"admin_password": "x"})
    assert load_settings({"results": [1], "pd": None, "In": [], "_": 1}).db_name == "spc_db"


def test_string_values_are_coerced(home):
    s = load_settings(data="false", db_port="6000", sample_fraction=1, target="server")
    assert s.data is False and s.db_port == 6000 and s.sample_fraction == 1.0


@pytest.mark.parametrize("text, words", [
    ("db_port: [oops\n", ["not valid YAML", "at line"]),
    ("- 1\n- 2\n", ["must be a mapping", "list"]),
    ("db_prot: 1\n", ["p.yaml", "Did you mean 'db_port'"]),
])
def test_malformed_profile_names_the_file_and_problem(home, text, words):
    profile = write(home / "parameters" / "p.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_profile(profile)
    for word in words:
        assert word in str(err.value)


def test_missing_profile(home):
    with pytest.raises(ConfigError, match="does not exist") as err:
        load_profile("parameters/nope.yaml")
    assert "parameters/training.yaml" in err.value.hint


def test_empty_profile_is_defaults(home):
    assert load_profile(write(home / "parameters" / "e.yaml", "")) == {}


def test_every_parameter_has_a_meaning_and_a_valid_default():
    for name, (default, kind, meaning) in PARAMETERS.items():
        assert meaning, name
        assert config.check_parameters({name: default}) == {name: default}


@pytest.mark.parametrize("profile", ["training.yaml", "django-spc.yaml",
                                     "production.example.yaml"])
def test_shipped_profiles_load(profile):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert load_profile(root / "parameters" / profile)


def test_every_parameter_has_its_meaning_in_korean():
    from runbook_lib.core.config import MEANINGS

    assert [name for name, text in MEANINGS.items() if not text["ko"]] == []
