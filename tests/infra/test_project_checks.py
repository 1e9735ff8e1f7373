"""Project-wide checks a release depends on: deploy settings, migrations, the set-up script."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
# The script runs under the machine's bash; what it finds is up to the PATH each test gives it.
BASH = shutil.which("bash") or "/bin/bash"


def production_env() -> dict[str, str]:
    """What an operator sets in production (.env.example); no test-mode relaxations."""
    # Nothing of the test run: pytest's marker, DEBUG, the browser tests' async relaxation.
    test_only = ("PYTEST_VERSION", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="crm.example.com",
        EMAIL_URL="smtp://crm%40example.com:secret@mail.example.com:587/?tls=True",
    )
    return env


def test_deploy_checks_pass_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(
            f"makemigrations --check found model changes without a migration:\n{out.getvalue()}"
        )
        raise exit_


def fake_python(folder: Path, name: str, version: str) -> None:
    """An executable that answers the version check like a Python of `version` would."""
    major, minor = (int(part) for part in version.split(".")[:2])
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "-c" ] && exit $([ {major * 100 + minor} -ge 312 ] && echo 0 || echo 1)\n'
        f'echo "Python {version}"\n'
    )
    script.chmod(0o755)


def run_find_python(path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BASH, str(ROOT / "scripts" / "find-python")],
        env={"PATH": path, "HOME": os.environ.get("HOME", tempfile.gettempdir())},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_find_python_skips_an_old_python3_for_a_new_enough_one(tmp_path):
    fake_python(tmp_path, "python3", "3.11.7")
    fake_python(tmp_path, "python3.12", "3.12.4")

    result = run_find_python(f"{tmp_path}:/usr/bin:/bin")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "python3.12")


def test_find_python_explains_what_to_install_when_only_an_old_python_exists(tmp_path):
    fake_python(tmp_path, "python3", "3.10.2")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "dirname"):
        (bin_dir / tool).symlink_to(
            Path("/bin") / tool if Path(f"/bin/{tool}").exists() else Path(f"/usr/bin/{tool}")
        )

    result = run_find_python(f"{tmp_path}:{bin_dir}")

    assert result.returncode != 0
    assert "No Python >= 3.12 found" in result.stderr
    assert "pyenv install" in result.stderr
