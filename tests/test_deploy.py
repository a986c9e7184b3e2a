"""Deployment files: docker-compose.yml, the Dockerfile and the systemd unit (no Docker engine
runs on these machines, so they are checked as files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from monitor.config import load_config

REPO = Path(__file__).resolve().parents[1]


def test_compose_services_healthchecks_and_environment() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "monitor", "mailpit"}
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
    mon = services["monitor"]
    env = mon["environment"]
    assert env["MONITOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["MONITOR_HTTP_LISTEN"].endswith(":8080")
    assert mon["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert mon["build"] == "."


def test_compose_config_is_valid_and_keeps_the_shipped_feeds(tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    shutil.copy(REPO / "deploy" / "compose.yaml", conf / "compose.yaml")
    shutil.copytree(REPO / "config" / "watchlists", conf / "watchlists")
    env = {"MONITOR_DATABASE_URL": "postgresql+psycopg://m:m@postgres/m",
           "MONITOR_HTTP_TOKEN": "t"}
    composed = load_config(conf / "compose.yaml", env=env)
    shipped = load_config(REPO / "config" / "monitor.yaml", env={})
    assert composed.feeds == shipped.feeds
    assert {c.type for c in composed.alerts.channels} == {"console", "email"}
    assert composed.http.token == "t"


def test_dockerfile_is_non_root_and_migrates_at_start() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "USER monitor" in text
    assert "monitor db upgrade" in text and "exec monitor run" in text
    assert "HEALTHCHECK" in text


def test_systemd_unit_restarts_and_reloads() -> None:
    text = (REPO / "deploy" / "monitor.service").read_text(encoding="utf-8")
    assert "Restart=on-failure" in text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text
