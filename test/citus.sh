#!/usr/bin/env bash
# test/citus.sh: naboom on a real Citus 13.2 cluster (issue 18).
#
#   bash test/citus.sh            (make installcheck-citus; not in scripts/test.sh)
#
# Citus is not packaged in Debian 12: when citus.so is missing this runs
# ../shared/citus/install.sh (Citus 13.2.2 built from its release source,
# about 3 minutes on 2 cores, idempotent; it needs root for apt-get and the
# install dir).  The path is the project's sibling folder `shared`, as the
# issue gives it; NABOOM_CITUS_INSTALL overrides it.  Without it and without
# Citus the test fails at its first assertion, saying so.
#
# It makes a coordinator and two workers of its own, as the postgres user in
# a mktemp dir, on free ports (TCP on 127.0.0.1: Citus's nodes reach each
# other by host and port), each with shared_preload_libraries = 'citus,...'
# (citus first; pg_cron on the coordinator only, where Citus expects jobs),
# max_prepared_transactions for Citus's two-phase commits, and naboom's
# background writer in database postgres.  All three are stopped and removed
# on exit.  Needs naboom and PostGIS installed (make install).
#
# Asserted so far:
#   1. Citus is installed (install.sh run when missing)
#   2. the three nodes start, citus created on each, the workers added
#   3. CREATE EXTENSION naboom CASCADE on the coordinator with DDL propagation
#      on: naboom and postgis exist on every worker afterwards (no NOTIFY in a
#      prepared transaction), and the coordinator still sent PostgREST its
#      reload (a LISTEN pgrst session sees it)
#
# Output is TAP (also in test/results/citus.out; the nodes' server logs go to
# test/results/citus.*.log).  Exit status 0 iff every assertion passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
BINDIR="$($PG_CONFIG --bindir)"
LIBDIR="$($PG_CONFIG --pkglibdir)"
CITUS_INSTALL="${NABOOM_CITUS_INSTALL:-$ROOT/../shared/citus/install.sh}"
PLAN=3

unset PGOPTIONS PGDATABASE PGSERVICE PGHOST PGPORT PGUSER PGPASSWORD
mkdir -p "$ROOT/test/results" && exec > >(tee "$ROOT/test/results/citus.out")
W="$(mktemp -d /tmp/naboom-citus.XXXXXX)"
chmod 755 "$W"
NODES="coord w1 w2"
cleanup() {
    local d
    for d in $NODES w3; do
        [ -f "$W/$d/postmaster.pid" ] && asp "$BINDIR/pg_ctl" -D "$W/$d" -m fast -w stop >/dev/null 2>&1
        cp "$W/$d.log" "$ROOT/test/results/citus.$d.log" 2>/dev/null
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

DIAG_LINES=16
# shellcheck source=test/include/tap.bash
. "$ROOT/test/include/tap.bash"
echo "1..$PLAN"

# 1. Citus
if [ ! -f "$LIBDIR/citus.so" ]; then
    if [ -f "$CITUS_INSTALL" ]; then
        bash "$CITUS_INSTALL" >"$W/citus-install.log" 2>&1
    else
        echo "no Citus and no $CITUS_INSTALL" >"$W/citus-install.log"
    fi
fi
[ -f "$LIBDIR/citus.so" ]
verdict "Citus is installed into $LIBDIR" $? 'cat "$W/citus-install.log"'
[ "$FAILED" -gt 0 ] && finish "no Citus"

chown postgres "$W"
declare -A PORT
for d in $NODES; do
    PORT[$d]="$(free_port)"
done
# on NODE [PSQL ARGS...]: psql as postgres to database postgres of NODE
on() { local d="$1"; shift; timeout -k 2 120 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "${PORT[$d]}" -U postgres -d postgres "$@"; }

# start_node NODE PRELOAD: initdb, configure and start NODE
start_node() {
    local d="$1" preload="$2"
    asp "$BINDIR/initdb" -D "$W/$d" --auth=trust --locale=C.UTF-8 --encoding=UTF8 >/dev/null &&
    cat >>"$W/$d/postgresql.conf" <<CONF
port = ${PORT[$d]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W'
shared_preload_libraries = '$preload'
naboom.writer_database = 'postgres'
cron.database_name = 'postgres'
cron.host = '$W'
max_connections = 100
max_prepared_transactions = 100
max_worker_processes = 24
citus.max_background_task_executors_per_node = 2
fsync = off
synchronous_commit = off
timezone = 'UTC'
log_line_prefix = '%m [%p] $d '
CONF
    asp "$BINDIR/pg_ctl" -D "$W/$d" -l "$W/$d.log" -w start >/dev/null
}

# 2. the cluster
( start_node coord 'citus,pg_cron,naboom' &&
  start_node w1 'citus,naboom' &&
  start_node w2 'citus,naboom' &&
  for d in $NODES; do on "$d" -c "CREATE EXTENSION citus" || exit 1; done &&
  on coord -c "SELECT citus_set_coordinator_host('127.0.0.1', ${PORT[coord]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${PORT[w1]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${PORT[w2]})" &&
  [ "$(on coord -c "SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary'")" = 3 ] ) >"$W/setup.log" 2>&1
verdict "a coordinator (port ${PORT[coord]}) and two workers (${PORT[w1]}, ${PORT[w2]}) with Citus" $? 'cat "$W/setup.log"; tail -5 "$W"/*.log'
[ "$FAILED" -gt 0 ] && finish "no cluster"

# 3. CREATE EXTENSION naboom, propagated to the workers in a 2PC; PostgREST
# (a LISTEN pgrst session on the coordinator) is still told to reload
( on coord -c "SHOW citus.enable_ddl_propagation" | grep -qx on &&
  on coord -c "SET client_min_messages = warning" -c "LISTEN pgrst" -c "CREATE EXTENSION naboom CASCADE" -c "SELECT 1" >"$W/listen.out" 2>&1 &&
  grep -q 'Asynchronous notification "pgrst" with payload "reload schema"' "$W/listen.out" &&
  for d in w1 w2; do
      [ "$(on "$d" -c "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('naboom', 'postgis')")" = naboom,postgis ] || exit 1
  done ) >"$W/create.log" 2>&1
verdict "CREATE EXTENSION naboom on the coordinator (DDL propagated to both workers; PostgREST told to reload)" $? 'cat "$W/create.log" "$W/listen.out"; grep -h ERROR "$W"/*.log'

finish "done"
