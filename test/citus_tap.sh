#!/usr/bin/env bash
# test/citus_tap.sh: the pgTAP API suite (test/sql/*.sql, pass 1) against a
# distributed naboom, to list where a cluster differs from a single node
# (README, "Citus": "The pgTAP suite on a cluster").  Not part of the test
# command: on a cluster the suite is expected to differ.
#
#   NABOOM_CITUS_KEEP=1 bash test/citus.sh        # a cluster, kept
#   bash test/citus_tap.sh DIR COORD_PORT W1_PORT W2_PORT [FILE_PATTERN]
#
# DIR is the kept cluster's socket directory.  It makes a database naboom_tap
# on every node (Citus does not propagate CREATE DATABASE), Citus in it, the
# workers added, naboom installed and distributed, pgTAP on the coordinator
# only, then runs each file with pg_prove and prints a line per file:
# planned, ok, not ok, and the first error of a file that died.  Full
# outputs in test/results/citus_tap-FILE.out.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
W=$1; C=$2; P1=$3; P2=$4; ONLY=${5:-}
B="$(pg_config --bindir)"
p() { local port=$1; shift; "$B/psql" -X -q -v ON_ERROR_STOP=1 -h "$W" -p "$port" -U postgres "$@"; }
for port in "$C" "$P1" "$P2"; do
    p "$port" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS naboom_tap WITH (FORCE)" -c "CREATE DATABASE naboom_tap" &&
    p "$port" -d naboom_tap -c "CREATE EXTENSION citus" || exit 1
done
p "$C" -d naboom_tap -c "SELECT citus_set_coordinator_host('127.0.0.1', $C)" \
    -c "SELECT citus_add_node('127.0.0.1', $P1)" -c "SELECT citus_add_node('127.0.0.1', $P2)" >/dev/null || exit 1
p "$C" -d naboom_tap >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
SET citus.enable_ddl_propagation = off;
CREATE SCHEMA tap;
CREATE EXTENSION pgtap SCHEMA tap;
GRANT USAGE ON SCHEMA tap TO PUBLIC;
RESET citus.enable_ddl_propagation;
SELECT count(*) FROM naboom.distribute();
SQL
cd "$ROOT" && mkdir -p test/results
for f in test/sql/*.sql; do
    case "$f" in *"$ONLY"*) ;; *) continue ;; esac
    out="test/results/citus_tap-$(basename "$f" .sql).out"
    PGHOST=$W PGPORT=$C PGUSER=postgres PGOPTIONS="-c search_path=tap,public" timeout -k 5 300 \
        pg_prove --norc --nocolor --verbose --merge -d naboom_tap "$f" >"$out" 2>&1
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$out" | cut -d. -f3)
    echo "$f planned=${plan:-?} ok=$(grep -cE '^ok [0-9]+' "$out") not_ok=$(grep -cE '^not ok [0-9]+' "$out") $(grep -m1 -E '^psql:.*ERROR' "$out" | sed 's/.*ERROR:  /died: /' | cut -c1-120)"
done
