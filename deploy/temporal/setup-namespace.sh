#!/bin/sh
# Registers the namespace sagalane uses and its search attributes on a running Temporal server. Safe to run
# again: an existing namespace is kept and `search-attribute create` skips an attribute that exists with the same
# type. Retries while the server is still starting (a new namespace takes a few seconds to be seen everywhere).
#
# Usage: setup-namespace.sh NAME=Type... (SagaState=Keyword SagaStep=Keyword: src/workflows/search-attributes.ts)
# The Temporal CLI reads TEMPORAL_ADDRESS itself. TEMPORAL_NAMESPACE (default `default`), TEMPORAL_RETENTION
# (default 72h) and TEMPORAL_CLI (the CLI's path) are read here.
#
# The one set of namespace steps for the compose stack's temporal-setup job (temporalio/admin-tools image) and
# src/dev/temporal-postgres.ts.
set -eu
cli="${TEMPORAL_CLI:-temporal}"
ns="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_RETENTION:-72h}"
max_tries=60

tries=0
until "$cli" operator namespace describe --namespace "$ns" >/dev/null 2>&1; do
  if out=$("$cli" operator namespace create --namespace "$ns" --retention "$retention" 2>&1); then
    echo "[temporal-namespace] created namespace ${ns} (retention ${retention})"
    break
  fi
  tries=$((tries + 1))
  if [ "$tries" -ge "$max_tries" ]; then
    echo "[temporal-namespace] could not create namespace ${ns} after ${tries} attempts: ${out}" >&2
    exit 1
  fi
  sleep 1
done
echo "[temporal-namespace] namespace ${ns} is registered"

for attr in "$@"; do
  name="${attr%%=*}"
  type="${attr#*=}"
  tries=0
  until out=$("$cli" operator search-attribute create --namespace "$ns" --name "$name" --type "$type" 2>&1); do
    tries=$((tries + 1))
    if [ "$tries" -ge "$max_tries" ]; then
      echo "[temporal-namespace] could not register ${name} after ${tries} attempts: ${out}" >&2
      exit 1
    fi
    sleep 1
  done
  echo "[temporal-namespace] search attribute ${name} (${type}) is registered"
done
echo "[temporal-namespace] namespace ${ns} is ready"
