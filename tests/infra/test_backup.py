"""backup_db / restore_db / verify_db: a backup restored into a fresh database holds every table
row for row, sequences go on, and a restore refuses to destroy what it cannot replace.

The tests commit (pg_dump and the SQLite backup read what other connections see), so they run
as transactional tests; on PostgreSQL each fresh database is created and dropped here.
"""

import re
import subprocess
import tarfile
import uuid
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Max

from accounts.models import Team, User
from contacts.models import Company
from pipeline_crm.backups import engines
from pipeline_crm.backups.archive import Manifest, write_archive
from pipeline_crm.backups.tables import differences, table_summaries
from pipeline_crm.backups.targets import ALIAS, database_at

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_dump / pg_restore"
)


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    call_command("seed_demo", "--deals", "30", stdout=StringIO())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = settings.MEDIA_ROOT / "imports" / "staged" / "deals.csv"
    upload.parent.mkdir(parents=True)
    upload.write_text("Deal name;Value\nBig one;1.234,50\n")
    return upload


@pytest.fixture
def backup_file(tmp_path, seeded, media):
    path = tmp_path / "crm.backup"
    run("backup_db", str(path))
    return path


def _url(settings_dict, name):
    credentials = quote(settings_dict["USER"] or "")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"])
    host = settings_dict["HOST"] or "localhost"
    return f"postgres://{credentials}@{host}:{settings_dict['PORT'] or 5432}/{name}"


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database: on PostgreSQL a throwaway one beside the test database."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield _url(connection.settings_dict, name)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restored_into_a_fresh_database_holds_every_table_row_for_row(
    backup_file, media, fresh_database_url
):
    before = table_summaries(connection)
    assert sum(1 for summary in before.values() if summary.rows) >= 15
    last_team = Team.objects.aggregate(last=Max("id"))["last"]
    last_company = Company.objects.aggregate(last=Max("id"))["last"]
    owner = User.objects.get(username="rita")
    media.unlink()

    output = run("restore_db", str(backup_file), "--database-url", fresh_database_url)

    assert f"all {len(before)} tables match" in output
    with database_at(fresh_database_url) as restored:
        after = table_summaries(restored)
        new_team = Team.objects.using(ALIAS).create(name="Formed after the restore")
        new_company = Company.objects.using(ALIAS).create(name="Met later", owner_id=owner.pk)
    assert sorted(after) == sorted(before)
    assert differences(before, after) == []
    assert after["deals_deal"] == before["deals_deal"]
    assert new_team.pk > last_team
    assert new_company.pk > last_company
    assert media.read_text() == "Deal name;Value\nBig one;1.234,50\n"


def test_restore_refuses_a_database_holding_data_and_changes_nothing(backup_file):
    Company.objects.filter(pk=Company.objects.order_by("pk")[0].pk).update(name="Renamed since")

    with pytest.raises(CommandError, match=r"holds data .*--force"):
        run("restore_db", str(backup_file))

    assert Company.objects.filter(name="Renamed since").count() == 1


def test_force_puts_the_backups_rows_back_over_changed_data(backup_file):
    before = table_summaries(connection)
    Company.objects.update(name="Renamed since")
    Team.objects.create(name="New since")

    run("restore_db", str(backup_file), "--force")

    assert differences(before, table_summaries(connection)) == []
    assert not Company.objects.filter(name="Renamed since").exists()
    assert not Team.objects.filter(name="New since").exists()


def _damage_database(path: Path) -> None:
    with tarfile.open(path) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("database."))
    with path.open("r+b") as raw:
        raw.seek(member.offset_data + member.size // 2)
        raw.write(b"\0garbage\0" * 50)


def _truncate(path: Path) -> None:
    with path.open("r+b") as raw:
        raw.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize(
    ("damage", "message"),
    [(_damage_database, "damaged"), (_truncate, "not a complete backup")],
    ids=["bytes overwritten", "cut short"],
)
def test_a_damaged_backup_is_refused_before_anything_is_dropped(backup_file, damage, message):
    Team.objects.create(name="New since")
    damage(backup_file)

    with pytest.raises(CommandError, match=message):
        run("restore_db", str(backup_file), "--force")
    with pytest.raises(CommandError, match=message):
        run("restore_db", str(backup_file), "--check")

    assert Team.objects.filter(name="New since").exists()


def test_a_dump_its_own_tools_cannot_read_is_refused_before_anything_is_dropped(seeded, tmp_path):
    """The checksums match (the file was written so), but pg_restore / SQLite cannot read it."""
    engine = engines.engine_for(connection.vendor)
    garbage = tmp_path / engine.member
    garbage.write_bytes(b"PGDMP not really a dump " * 1000)
    path = tmp_path / "garbage.backup"
    write_archive(
        path,
        Manifest(engine=connection.vendor, database=engine.member, created_at="now", tables={}),
        {engine.member: garbage},
    )
    Team.objects.create(name="New since")

    with pytest.raises(CommandError, match=r"pg_restore failed|cannot be read|damaged"):
        run("restore_db", str(path), "--force")

    assert Team.objects.filter(name="New since").exists()


def test_verify_prints_each_tables_rows_and_checksum_and_names_what_differs(backup_file):
    deals = table_summaries(connection)["deals_deal"]

    output = run("verify_db", "--against", str(backup_file))

    assert re.search(rf"^deals_deal +{deals.rows} +{deals.checksum}$", output, re.MULTILINE)
    assert "Every table matches" in output

    Team.objects.create(name="New since")
    err = StringIO()
    with pytest.raises(CommandError, match="1 tables differ"):
        call_command("verify_db", "--against", str(backup_file), stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith("accounts_team: expected ")


def test_a_backup_does_not_overwrite_a_file_unless_forced(backup_file):
    with pytest.raises(CommandError, match="exists already"):
        run("backup_db", str(backup_file))

    assert "Backed up" in run("backup_db", str(backup_file), "--force", "--no-media")


@postgresql_only
def test_rows_written_while_pg_dump_runs_are_in_neither_the_dump_nor_its_checksums(
    seeded, tmp_path, fresh_database_url, monkeypatch
):
    real_run = engines._run

    def write_then_run(target, program, *arguments):
        if program == "pg_dump":  # after the snapshot was taken, before pg_dump reads it
            test_database = _url(connection.settings_dict, connection.settings_dict["NAME"])
            with database_at(test_database, alias="another_process") as other:
                Team.objects.using(other.alias).create(name="Formed during the backup")
        real_run(target, program, *arguments)

    monkeypatch.setattr(engines, "_run", write_then_run)
    run("backup_db", str(tmp_path / "busy.backup"), "--no-media")
    monkeypatch.undo()

    output = run("restore_db", str(tmp_path / "busy.backup"), "--database-url", fresh_database_url)

    assert "tables match" in output
    assert Team.objects.filter(name="Formed during the backup").exists()
    with database_at(fresh_database_url) as restored:
        assert not Team.objects.using(restored.alias).filter(name__contains="during").exists()


@postgresql_only
@pytest.mark.django_db  # nothing committed: no flush needed
def test_the_database_password_travels_in_the_environment_not_the_command_line(
    monkeypatch, tmp_path
):
    calls = []

    def record(command, **kwargs):
        calls.append((command, kwargs["env"]))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(engines.subprocess, "run", record)
    target = SimpleNamespace(
        settings_dict={**connection.settings_dict, "PASSWORD": "pw-not-in-argv"},
        close=lambda: None,
    )

    engines.PostgreSQL().restore(tmp_path / "x.pgdump", target)

    ((command, env),) = calls
    assert not any("pw-not-in-argv" in part for part in command)
    assert env["PGPASSWORD"] == "pw-not-in-argv"
    assert command[:2] == ["pg_restore", "--no-password"]
    assert {"--clean", "--if-exists", "--no-owner"} <= set(command)


@pytest.mark.django_db  # reads files only: no flush needed
def test_the_image_carries_the_pg_dump_of_the_compose_databases_major_version():
    """pg_dump refuses a newer server, and a newer pg_dump writes SQL an older server rejects."""
    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    server_major = compose["services"]["db"]["image"].split(":")[1].split(".")[0]
    dockerfile = (root / "Dockerfile").read_text()

    assert f"ARG PG_MAJOR={server_major}\n" in dockerfile
    assert '"postgresql-client-${PG_MAJOR}"' in dockerfile


@pytest.mark.django_db  # reads files only
def test_backups_and_uploads_stay_out_of_the_image_and_the_repository():
    root = Path(__file__).resolve().parents[2]
    docker_ignored = (root / ".dockerignore").read_text().split()
    git_ignored = (root / ".gitignore").read_text().split()

    assert {"backups", "*.backup", "media"} <= set(docker_ignored)
    assert {"backups/", "*.backup", "media/"} <= set(git_ignored)
