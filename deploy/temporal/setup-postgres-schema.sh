#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings both schemas up to the version this Temporal server
# release embeds. Safe to run again: `create` keeps an existing database, `setup-schema -v 0.0` keeps a newer
# version, `update-schema` applies only the missing steps.
#
# The one set of schema steps for both places Temporal runs on PostgreSQL: the compose stack's temporal-schema job
# (temporalio/admin-tools image) and `sagalane dev --persistence postgres` / the PostgreSQL test run
# (src/dev/temporal-postgres.ts, with the temporal-sql-tool it builds).
#
# temporal-sql-tool reads the connection from SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (and SQL_TLS*).
# TEMPORAL_DB / VISIBILITY_DB name the databases; TEMPORAL_SQL_TOOL is the tool's path.
set -eu
tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

for pair in "${TEMPORAL_DB:-temporal}=temporal" "${VISIBILITY_DB:-temporal_visibility}=visibility"; do
  db="${pair%%=*}"
  schema="postgresql/v12/${pair#*=}"
  echo "[temporal-schema] ${db}: create-database (an existing one is kept)"
  "$tool" --plugin postgres12 --db "$db" create-database
  echo "[temporal-schema] ${db}: setup-schema -v 0.0 (version tables)"
  "$tool" --plugin postgres12 --db "$db" setup-schema -v 0.0
  echo "[temporal-schema] ${db}: update-schema --schema-name ${schema}"
  "$tool" --plugin postgres12 --db "$db" update-schema --schema-name "$schema"
done
echo "[temporal-schema] both schemas are up to date"
