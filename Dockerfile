# syntax=docker/dockerfile:1
#
# Threshold's production image. Two stages: the builder installs the package and its
# dependencies into a virtualenv at /opt/venv; the runtime copies that virtualenv and the files
# the app reads at run time (migrations/, alembic.ini, openapi/) into a clean python:3.11-slim,
# and runs as an unprivileged user.
#
# Every dependency ships manylinux wheels for CPython 3.11 (asyncpg, uvloop, httptools,
# cryptography, argon2-cffi-bindings), so neither stage needs a compiler.
#
#   docker build -t threshold .
#   docker run --rm -p 8000:8000 \
#       -e DATABASE_URL=postgresql://user:password@host:5432/threshold \
#       -e THRESHOLD_JWT_PRIVATE_KEYS="$(openssl genpkey -algorithm ed25519)" \
#       -e THRESHOLD_SEALING_KEYS="$(python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
#       -e THRESHOLD_MESSAGES_DELIVERY=notify -e THRESHOLD_NOTIFY_API_KEY=... \
#       -e THRESHOLD_NOTIFY_SMS_TEMPLATE_ID=... -e THRESHOLD_NOTIFY_EMAIL_TEMPLATE_ID=... \
#       -e THRESHOLD_NOTIFY_CALLBACK_TOKEN=... \
#       threshold
#
# With THRESHOLD_ENVIRONMENT=production (set below) the app refuses to start without
# THRESHOLD_JWT_PRIVATE_KEYS, THRESHOLD_SEALING_KEYS, a PostgreSQL DATABASE_URL and GOV.UK
# Notify's settings (THRESHOLD_MESSAGES_DELIVERY=notify, the key, both template ids and the
# callback token). docker-compose.yml runs it with PostgreSQL, a one-shot migration service
# and a worker that sends the messages.

# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The pip and setuptools a Python 3.11 venv starts with have published vulnerabilities, and the
# venv is shipped: take current releases (unpinned on purpose; the project has no lock file yet).
# hadolint ignore=DL3013
RUN pip install --upgrade pip setuptools

WORKDIR /src

# Dependencies first, in their own layer, so a change to app/ alone does not reinstall them:
# install the project with an empty package, then drop the project and keep its dependencies.
COPY pyproject.toml ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall --yes threshold \
    && rm -rf app build

COPY app ./app
RUN pip install --no-deps . && rm -rf build

# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 threshold \
    && useradd --system --uid 10001 --gid threshold --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin threshold

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
COPY openapi ./openapi
# Bytecode now, as root: the unprivileged user cannot write __pycache__ under /app.
# data_dir (THRESHOLD_DATA_DIR, default ./var) is unused with PostgreSQL, but stays writable.
RUN python -m compileall -q app migrations \
    && mkdir var && chown threshold:threshold var

# app/cli.py and app/health.py find alembic.ini and migrations/ beside the `app` package
# (Path(__file__).parent.parent). In site-packages that would be /opt/venv/lib/python3.11,
# where they are not, so PYTHONPATH makes Python import `app` from /app instead; the installed
# copy only provides the `threshold` command and the dependencies.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    THRESHOLD_ENVIRONMENT=production

USER 10001:10001

EXPOSE 8000

# Liveness only (/readyz also checks the database and the schema version). No curl in slim.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["threshold", "serve", "--host", "0.0.0.0", "--port", "8000"]
