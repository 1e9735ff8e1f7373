"""Backups of the whole database (and the uploaded files), their restore, and the row counts and
checksums that show a restore brought back exactly what was saved.

`manage.py backup_db FILE`, `restore_db FILE` and `verify_db` are the thin callers (README,
"Backups"). A backup is one tar file: `manifest.json` (engine, time, every table's rows and
checksum, every member's SHA-256), the database (`pg_dump --format=custom` on PostgreSQL, a copy
made with SQLite's backup API on SQLite) and `media/` (MEDIA_ROOT: the import files).
"""
