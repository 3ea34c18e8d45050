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

# retry WHAT COMMAND...: runs COMMAND once a second until it succeeds, at most 60 times.
retry() {
  what="$1"
  shift
  tries=0
  until out=$("$@" 2>&1); do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "[temporal-namespace] could not ${what} after ${tries} attempts: ${out}" >&2
      exit 1
    fi
    sleep 1
  done
}

namespace_ready() {
  "$cli" operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
    "$cli" operator namespace create --namespace "$ns" --retention "$retention"
}

retry "register namespace ${ns}" namespace_ready
echo "[temporal-namespace] namespace ${ns} is registered (retention of a new one: ${retention})"

for attr in "$@"; do
  name="${attr%%=*}"
  type="${attr#*=}"
  retry "register ${name}" "$cli" operator search-attribute create --namespace "$ns" --name "$name" --type "$type"
  echo "[temporal-namespace] search attribute ${name} (${type}) is registered"
done
echo "[temporal-namespace] namespace ${ns} is ready"
