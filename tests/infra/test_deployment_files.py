"""docker-compose.yml, the Procfile and the static build: what production and `make run` rely on."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgresql_and_redis(compose):
    services = compose["services"]

    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["web"]["command"][0] == "gunicorn"
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_compose_allows_exactly_one_beat(compose):
    # A fixed container name makes `docker compose up --scale beat=2` fail.
    assert compose["services"]["beat"]["container_name"]
    assert "container_name" not in compose["services"]["worker"]


def test_every_long_running_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        if name != "migrate":
            assert service.get("healthcheck", {}).get("test"), name


def test_the_app_waits_for_healthy_database_and_redis_and_for_migrations(compose):
    for name in ("web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_compose_keeps_no_secrets_and_reads_them_from_env(compose):
    text = (ROOT / "docker-compose.yml").read_text()

    assert compose["services"]["web"]["env_file"] == ".env"
    assert "${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"(PASSWORD|SECRET_KEY)\s*[:=]\s*[\"']?[A-Za-z0-9]{6,}", text)


DOCKER_COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(not DOCKER_COMPOSE, reason="docker-compose is not installed")
def test_docker_compose_validates_the_file_with_the_documented_env(tmp_path):
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    env = (ROOT / ".env.example").read_text()
    env = env.replace("\nSECRET_KEY=\n", "\nSECRET_KEY=x\n")
    env = env.replace("\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=x\n")
    (tmp_path / ".env").write_text(env)

    result = subprocess.run(
        [DOCKER_COMPOSE, "config", "-q"], cwd=tmp_path, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr


def test_the_procfile_runs_web_worker_and_one_beat():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    assert set(processes) == {"web", "worker", "beat"}
    assert "runserver 127.0.0.1:" in processes["web"]
    for name in ("worker", "beat"):
        words = processes[name].split()
        assert words[0] == "celery"
        assert "-A pipeline_crm" in processes[name]
        assert name in words


@pytest.mark.skipif(
    not (ROOT / "static" / "vendor" / "htmx.min.js").exists(),
    reason="static/vendor is filled by `make install` (npm ci)",
)
def test_collectstatic_builds_the_hashed_files_production_serves(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

    call_command("collectstatic", "--noinput", verbosity=0)

    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/htmx.min.js", "vendor/Sortable.min.js", "vendor/chart.umd.min.js"):
        assert name in paths
        assert (tmp_path / paths[name]).exists()
