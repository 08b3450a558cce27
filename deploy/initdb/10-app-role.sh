#!/bin/sh
# Run once by the postgres image when its data directory is first made (docker-entrypoint-initdb.d),
# as POSTGRES_USER, the database's owner and a superuser: it owns the schema and runs the
# migrations (the `migrate` service). The API and the workers sign in as threshold_app, which can
# read and write rows and nothing more: it cannot change the schema, drop the append-only
# triggers on safeguarding records, or skip them with session_replication_role as a superuser can.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" -v app_password="$THRESHOLD_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE threshold_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    PASSWORD :'app_password';
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO threshold_app;
GRANT USAGE ON SCHEMA public TO threshold_app;
-- Every table and sequence the owner's migrations make from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO threshold_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO threshold_app;
SQL
