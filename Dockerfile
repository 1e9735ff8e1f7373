# Pipeline CRM image: one image for web (gunicorn), Celery worker and beat (docker-compose.yml).

# --- front-end libraries from the npm lock file (no bundler: copied into static/vendor) ---------
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && mkdir vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js \
       node_modules/sortablejs/Sortable.min.js \
       node_modules/chart.js/dist/chart.umd.min.js \
       node_modules/chart.js/dist/chart.umd.min.js.map vendor/

# --- the application ------------------------------------------------------------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# PostgreSQL's client tools for `manage.py backup_db` / `restore_db` (README, "Backups"), from
# PostgreSQL's own apt repository: pg_dump must have the server's major version, the one of
# docker-compose.yml's `postgres:` image (tests/infra/test_backup.py checks the two agree).
ARG PG_MAJOR=16
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && . /etc/os-release \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc]" \
      "https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
 && apt-get purge -y curl \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

COPY . .
COPY --from=assets /build/vendor/ static/vendor/
# collectstatic: hashed, compressed static files for WhiteNoise; the key exists for this step only.
RUN pip install --no-deps . \
 && DEBUG=false SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 crm \
 && mkdir -p media && chown crm media

USER crm
EXPOSE 8000
# WEB_CONCURRENCY (gunicorn's own variable) sets the number of web workers.
CMD ["gunicorn", "pipeline_crm.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
