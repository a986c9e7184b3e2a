"""Config loading: interpolation, overrides, strict validation, messages naming file and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration, redact
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "monitor.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("2h", 7200), ("3d", 259200), ("0", 0), (30, 30), ("1.5h", 5400),
])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["15 minutes", "-3s", "", "m", True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "monitor.yaml", env={})
    assert config.database.url == "sqlite:///monitor.db"
    assert config.feeds and all(f.url.startswith("https://") for f in config.feeds)
    assert any(ch.type == "console" for ch in config.alerts.channels)
    assert config.watchlists and Path(config.watchlists[0]).is_file()


def test_env_interpolation_and_defaults(tmp_path: Path) -> None:
    p = write(tmp_path, """
database: {url: "${DB:-sqlite:///x.db}"}
alerts:
  channels:
    - {name: ops, type: webhook, url: "https://hooks.example.org/${HOOK}", secret: "${SECRET}"}
""")
    config = load_config(p, env={"HOOK": "abc", "SECRET": "s3cret"})
    ch = config.alerts.channels[0]
    assert ch.url == "https://hooks.example.org/abc" and ch.secret == "s3cret"  # type: ignore[union-attr]
    assert config.database.url == "sqlite:///x.db"
    assert "s3cret" not in str(redact(config))


def test_missing_variable_names_the_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
alerts:
  channels:
    - {name: ops, type: webhook, url: "https://h.example.org/x", secret: "${HOOK_SECRET}"}
""")
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert e.value.key_path == "alerts.channels[0].secret"
    assert "HOOK_SECRET" in str(e.value) and str(p) in str(e.value)


def test_database_url_override(tmp_path: Path) -> None:
    p = write(tmp_path, "database: {url: 'sqlite:///a.db'}\n")
    config = load_config(p, env={"MONITOR_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert config.database.url == "postgresql+psycopg://u@h/db"
    config = load_config(p, env={"MONITOR_HTTP_LISTEN": "0.0.0.0:9000"})
    assert config.http.listen == "0.0.0.0:9000"


def test_config_env_var_chooses_file(tmp_path: Path) -> None:
    p = write(tmp_path, "feeds: []\n", "other.yaml")
    assert load_config(None, env={"MONITOR_CONFIG": str(p)}).source == str(p)


@pytest.mark.parametrize(("text", "key", "words"), [
    ("feeds:\n  - {name: a, url: 'https://x.org/rss', colour: red}\n", "feeds[0].colour",
     "unknown key"),
    ("feeds:\n  - {name: a, url: 'https://x.org/rss', interval: soon}\n", "feeds[0].interval",
     "bad duration"),
    ("feeds:\n  - {name: a, url: 'ftp://x.org/rss'}\n", "feeds[0].url", "bad URL"),
    ("feeds:\n  - {name: a, url: 'https://x.org/a'}\n  - {name: a, url: 'https://x.org/b'}\n",
     "feeds[1].name", "duplicate"),
    ("watchlists: [nowhere.yaml]\n", "watchlists[0]", "not found"),
    ("alerting: {max_item_age: 3 days}\n", "alerting.max_item_age", "bad duration"),
    ("alerts: {channels: [{name: x, type: pigeon}]}\n", "alerts.channels[0]", ""),
    ("database: [1, 2]\n", "database", ""),
    ("surprise: 1\n", "surprise", "unknown key"),
])
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert e.value.key_path == key
    assert words in str(e.value)
    assert str(p) in str(e.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", env={})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "feeds: [\n"), env={})


def test_paths_relative_to_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf" / "wl").mkdir(parents=True)
    wl = REPO / "config" / "watchlists" / "belarus-us.yaml"
    (tmp_path / "conf" / "wl" / "x.yaml").write_text(wl.read_text(encoding="utf-8"),
                                                    encoding="utf-8")
    p = write(tmp_path / "conf", "watchlists: [wl/x.yaml]\n")
    config = load_config(p, env={})
    assert Path(config.watchlists[0]) == (tmp_path / "conf" / "wl" / "x.yaml").resolve()


def test_check_config_exit_status(tmp_path: Path) -> None:
    p = write(tmp_path, "feeds:\n  - {name: a, url: 'https://x.org/rss', colour: red}\n")
    r = subprocess.run([sys.executable, "-m", "monitor", "--config", str(p), "check-config"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2
    assert "feeds[0].colour" in r.stderr and str(p) in r.stderr
    r = subprocess.run([sys.executable, "-m", "monitor", "--config",
                        str(REPO / "config" / "monitor.yaml"), "check-config"],
                       capture_output=True, text=True, check=False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "belarus-us" in r.stdout


def test_listening_beyond_loopback_needs_credentials(tmp_path: Path) -> None:
    p = write(tmp_path, "http: {listen: '0.0.0.0:8080'}\n")
    r = subprocess.run([sys.executable, "-m", "monitor", "--config", str(p), "check-config"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "http.listen" in r.stderr
    r = subprocess.run([sys.executable, "-m", "monitor", "--config", str(p), "check-config"],
                       capture_output=True, text=True, check=False,
                       env={**os.environ, "MONITOR_HTTP_TOKEN": "t0ken"})
    assert r.returncode == 0, r.stderr
    assert "t0ken" not in r.stdout + r.stderr
