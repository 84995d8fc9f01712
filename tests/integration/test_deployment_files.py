"""The deployment files hang together (no Docker engine runs here): the compose file's
services, health check and shared database URL, the image's command, .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_postgres_the_api_and_a_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "api", "worker"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pgdata" in compose["volumes"]


def test_postgres_has_a_health_check_the_others_wait_for(compose: dict[str, Any]) -> None:
    services = compose["services"]
    check = services["postgres"]["healthcheck"]
    assert "pg_isready" in " ".join(check["test"])
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_and_the_worker_share_one_database_and_one_signing_key(
    compose: dict[str, Any],
) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    url = api["environment"]["CLAIMLEDGER_DATABASE_URL"]
    assert url == worker["environment"]["CLAIMLEDGER_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    key = api["environment"]["CLAIMLEDGER_SIGNING_KEY"]
    assert key == worker["environment"]["CLAIMLEDGER_SIGNING_KEY"]
    assert any(v.startswith("keys:") for v in api["volumes"])
    assert api["volumes"] == worker["volumes"]


def test_the_api_runs_several_processes_and_leaves_projections_to_the_worker(
    compose: dict[str, Any],
) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    assert api["command"][:2] == ["claimledger", "serve"]
    assert int(api["command"][api["command"].index("--workers") + 1]) > 1
    assert worker["command"] == ["claimledger", "worker"]
    assert api["environment"]["CLAIMLEDGER_PROJECTIONS"] == "worker"
    assert Settings(projections="worker").projections == "worker"


def test_the_image_serves_the_api_and_checks_its_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert '"claimledger", "serve"' in dockerfile


def test_env_example_lists_every_setting_without_secrets() -> None:
    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"CLAIMLEDGER_{name.upper()}" in text, name
    assigned = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert assigned["POSTGRES_PASSWORD"] == ""
    assert "CLAIMLEDGER_ADMIN_KEY" not in assigned
