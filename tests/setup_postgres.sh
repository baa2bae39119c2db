#!/usr/bin/env bash
# A PostgreSQL server on 127.0.0.1 for the search-worker tests (tests/core/test_search_workers.py):
# Debian's packages, the cluster started with pg_ctlcluster (CI has no systemd), and a role and a
# database for the tests. Safe to run again: it only does what is missing. As a non-root user it
# prints what to run and the test is skipped (CI runs as root and sets TINYOPT_REQUIRE_POSTGRES).
set -euo pipefail
ROLE=tinyopt
DB=tinyopt_search

if [ "$(id -u)" != 0 ]; then
    pg_lsclusters 2>/dev/null | grep -q online || \
        echo "The two-worker search test needs a PostgreSQL server: run 'sudo $0'"
    exit 0
fi
if ! dpkg -s postgresql >/dev/null 2>&1; then
    echo "installing postgresql"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
if [ -z "$(pg_lsclusters -h)" ]; then
    pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -1)" main >/dev/null
fi
read -r version cluster port status _ < <(pg_lsclusters -h | head -1)
if [ "$status" != online ]; then
    # listen on loopback only: the server is for this machine's tests
    pg_ctlcluster "$version" "$cluster" start -- -o "-c listen_addresses=127.0.0.1"
fi
psql_as_postgres() { runuser -u postgres -- psql -p "$port" -qtAc "$1"; }
if [ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_as_postgres "CREATE ROLE $ROLE LOGIN PASSWORD '$ROLE'"
fi
# The worker tests create a new database per run (workers starting on a fresh database race to make its schema).
if [ "$(psql_as_postgres "SELECT rolcreatedb FROM pg_roles WHERE rolname = '$ROLE'")" != t ]; then
    psql_as_postgres "ALTER ROLE $ROLE CREATEDB"
fi
if [ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    runuser -u postgres -- createdb -p "$port" -O "$ROLE" "$DB"
fi
echo "postgresql://$ROLE:$ROLE@127.0.0.1:$port/$DB" > "${TINYOPT_POSTGRES_URL_FILE:-/tmp/tinyopt-postgres-url}"
