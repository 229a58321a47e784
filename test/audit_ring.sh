#!/usr/bin/env bash
# test/audit_ring.sh: no READ of a private incident is lost when the audit
# ring is full (issue 14, "read audit entries are dropped silently").
#
#   bash test/audit_ring.sh          (make installcheck-auditring; scripts/test.sh)
#
# naboom.audit_queue_size is a server-start setting, so this test makes a
# cluster of its own: initdb as the postgres user in a mktemp dir, on a free
# port, with naboom preloaded, the smallest ring (16 entries) and the writer
# serving database postgres, where naboom and a town with 300 private
# incidents are installed.  The cluster is stopped and removed on exit.
# Needs naboom and PostGIS installed (make install) and runs as root or as
# postgres.
#
#   a. Six sessions of a moderator each read every incident twice with
#      incidents_near, each read in a transaction that rolls back, all at
#      once: every call either returned its rows, and then each incident
#      it returned has exactly one READ row of that call in audit_log, or
#      was refused with PT503 naboom.audit_unavailable, and then it left
#      no READ row and a LOG line in the server log.
#   b. The writer is stopped (it comes back 5 s later): the ring fills, and
#      reads (get_incident and incidents_near) wait at most
#      naboom.audit_read_wait and are refused, with the same accounting;
#      refusals of outsiders (DENIED) that find the ring full are in the
#      server log, each exactly once, or in audit_log.  A read whose
#      request context is too long for a ring entry is recorded with the
#      context the client controls left out.
#   c. audit_queue_stats counts what happened: reads_refused is the number
#      of refused calls, dropped_full the number of entries logged instead.
#
# Output is TAP (also in test/results/audit_ring.out; the server log goes
# to test/results/audit_ring.server.log).  Exit status 0 iff
# every assertion passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
BINDIR="$($PG_CONFIG --bindir)"
PLAN=13
SESSIONS=6
INCIDENTS=300

unset PGOPTIONS PGDATABASE PGSERVICE PGHOST PGPORT PGUSER PGPASSWORD
# a copy of the output, for a run through a wrapper that shows only its tail
mkdir -p "$ROOT/test/results" && exec > >(tee "$ROOT/test/results/audit_ring.out")
W="$(mktemp -d /tmp/naboom-ring.XXXXXX)"
chmod 755 "$W"
cleanup() {
    [ -f "$W/data/postmaster.pid" ] && asp "$BINDIR/pg_ctl" -D "$W/data" -m fast -w stop >/dev/null 2>&1
    cp "$W/server.log" "$ROOT/test/results/audit_ring.server.log" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

DIAG_LINES=8
# shellcheck source=test/include/tap.bash
. "$ROOT/test/include/tap.bash"
echo "1..$PLAN"

PORT="$(free_port)"
chown postgres "$W"
LOG="$W/server.log"
sql() { timeout -k 2 60 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$PORT" -U postgres -d postgres "$@"; }

{ asp "$BINDIR/initdb" -D "$W/data" --auth=trust --locale=C.UTF-8 --encoding=UTF8 &&
  cat >>"$W/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'naboom'
naboom.writer_database = 'postgres'
naboom.audit_queue_size = 16
max_connections = 40
fsync = off
timezone = 'UTC'
log_line_prefix = '%m [%p] '
CONF
  asp "$BINDIR/pg_ctl" -D "$W/data" -l "$LOG" -w start; } >"$W/setup.log" 2>&1
verdict "a cluster of its own on port $PORT with a 16-entry audit ring" $? 'cat "$W/setup.log" "$LOG"'
[ "$N" -eq "$FAILED" ] && finish "no cluster"

# The town: a community, its admin, a moderator, an outsider's community,
# and $INCIDENTS private incidents (reported with auditing off: only the
# reads are counted here).
sql >"$W/town.log" 2>&1 <<SQL
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
SET naboom.audit = off;
SET naboom.events = off;
SELECT slug FROM naboom_api.create_community('ring', 'Ring Town',
	'{"type":"Polygon","coordinates":[[[28.60,-24.60],[28.85,-24.60],[28.85,-24.40],[28.60,-24.40],[28.60,-24.60]]]}',
	admin_ref => 'ring-admin', admin_name => 'Ring Admin') \g /dev/null
SELECT slug FROM naboom_api.create_community('away', 'Away Town',
	'{"type":"Polygon","coordinates":[[[28.30,-24.80],[28.50,-24.80],[28.50,-24.60],[28.30,-24.60],[28.30,-24.80]]]}',
	admin_ref => 'away-admin', admin_name => 'Away Admin') \g /dev/null
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [1000000000, 60]}}' WHERE slug = 'ring';
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"ring-admin"}', true) \g /dev/null
SELECT code FROM naboom_api.upsert_category('ring', 'burglary', 'Burglary', 'Inbraak', 'high') \g /dev/null
COMMIT;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"ring-mod"}', true) \g /dev/null
SELECT role FROM naboom_api.join_community('ring', 'Ring Moderator') \g /dev/null
SELECT set_config('request.jwt.claims', '{"sub":"ring-admin"}', true) \g /dev/null
SELECT role FROM naboom_api.set_member_role('ring', 'ring-mod', 'moderator') \g /dev/null
COMMIT;
DO \$\$
BEGIN
	FOR k IN 1..$INCIDENTS LOOP
		PERFORM set_config('request.jwt.claims', json_build_object('sub', 'ring-res-' || (k % 20))::text, true);
		IF k <= 20 THEN
			PERFORM naboom_api.join_community('ring', 'Resident ' || k);
		END IF;
		PERFORM naboom_api.report_incident('ring', 'burglary', -24.50 + (k % 17) * 0.0003, 28.70 + (k / 17) * 0.0003,
			'ring test ' || k, is_public => false);
	END LOOP;
END
\$\$;
SELECT count(*) FROM naboom.incident WHERE NOT is_public;
SQL
{ [ "$(tail -1 "$W/town.log")" = "$INCIDENTS" ]; }
verdict "naboom installed in the writer's database with $INCIDENTS private incidents" $? 'cat "$W/town.log"'
[ "$FAILED" -gt 0 ] && finish "no town"
PRIV_REF="$(sql -c "SELECT reference FROM naboom.incident ORDER BY incident_id LIMIT 1")"

stats() { sql -c "SELECT reads_refused, dropped_full FROM naboom.audit_queue_stats()" 2>&1; }
read -r S0 <<<"$(stats)"

# call ID SUB SQL: one gateway request in its own psql: SET ROLE
# naboom_user, claims and request id for the transaction, the SQL, ROLLBACK.
# $W/calls/ID.out has the result, ID.err the error, ID.ms the duration.
mkdir -p "$W/calls"
call() {
    local id="$1" sub="$2" q="$3" headers="${4:-\"x-request-id\":\"$1\"}" t0 t1
    t0=$(date +%s%3N)
    timeout -k 2 60 "$BINDIR/psql" -X -q -At -h "$W" -p "$PORT" -U postgres -d postgres \
        -v VERBOSITY=verbose >"$W/calls/$id.out" 2>"$W/calls/$id.err" <<SQL
\set VERBOSITY verbose
SET ROLE naboom_user;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"$sub"}', true), set_config('request.headers', '{$headers}', true) \g /dev/null
$q;
ROLLBACK;
SQL
    t1=$(date +%s%3N)
    echo $((t1 - t0)) >"$W/calls/$id.ms"
}
NEAR="SELECT count(*) FROM naboom_api.incidents_near(-24.48, 28.72, 5000, max_count => 5000)"
GET="SELECT count(*) FROM naboom_api.get_incident('$PRIV_REF')"

# account PREFIX: for each call ID PREFIX*: "ID ok ROWS", "ID refused", or
# "ID error ..." (anything else), one line each, to stdout
account() {
    local f id
    for f in "$W/calls/$1"*.out; do
        id="$(basename "$f" .out)"
        if grep -q 'PT503' "$W/calls/$id.err" && grep -q 'naboom.audit_unavailable' "$W/calls/$id.err"; then
            echo "$id refused"
        elif [ ! -s "$W/calls/$id.err" ] && [[ "$(cat "$f")" =~ ^[0-9]+$ ]]; then
            echo "$id ok $(cat "$f")"
        else
            echo "$id error $(tr '\n' ' ' <"$W/calls/$id.err")"
        fi
    done
}
# audited PREFIX: "ID N" for the READ rows in audit_log per request id
audited() {
    sql -c "SELECT request_id || ' ' || count(*) FROM naboom.audit_log WHERE action = 'READ' AND request_id LIKE '$1%' GROUP BY request_id"
}
# logged ID: LOG lines of the server log for the request id
logged() { grep -c "naboom audit: .*\"request_id\":\"$1\"" "$LOG"; }
# check PREFIX: every ok call has exactly its rows as READ rows, every
# refused one none and at least one LOG line; prints the problems
check() {
    local id what rows got
    audited "$1" >"$W/audited.$1"
    while read -r id what rows; do
        got="$(awk -v id="$id" '$1 == id { print $2 }' "$W/audited.$1")"
        case "$what" in
            ok) [ "${got:-0}" = "$rows" ] || echo "$id returned $rows rows, audit_log has ${got:-0} READ rows" ;;
            refused) [ -z "$got" ] || echo "$id was refused but audit_log has $got READ rows"
                     [ "$(logged "$id")" -ge 1 ] || echo "$id was refused and has no LOG line" ;;
            *) echo "$id: $what $rows" ;;
        esac
    done < <(account "$1")
}

# ---------------------------------------------------------------- a
pids=()
for s in $(seq $SESSIONS); do
    ( call "near-s$s-1" ring-mod "$NEAR"; call "near-s$s-2" ring-mod "$NEAR" ) &
    pids+=($!)
done
wait "${pids[@]}"
sql -c "SELECT naboom.audit_queue_wait(20000)" >/dev/null 2>&1
account near- >"$W/a.acc"
A_OK=$(grep -c ' ok ' "$W/a.acc"); A_REF=$(grep -c ' refused' "$W/a.acc")
A_ROWS=$(awk '$2 == "ok" { s += $3 } END { print s + 0 }' "$W/a.acc")
{ [ $((A_OK + A_REF)) -eq $((2 * SESSIONS)) ] && [ "$A_ROWS" -eq $((A_OK * INCIDENTS)) ]; }
verdict "a: $SESSIONS sessions x 2 incidents_near, rolled back: each call returned all $INCIDENTS incidents or was refused with PT503 naboom.audit_unavailable ($A_OK returned, $A_REF refused)" $? \
    'cat "$W/a.acc"'
check near- >"$W/a.problems"
{ [ ! -s "$W/a.problems" ]; }
verdict "a: every incident a call returned has its READ row in audit_log ($A_ROWS rows expected), every refused call none and a LOG line" $? \
    'cat "$W/a.problems"; echo stats: $(stats)'

# ---------------------------------------------------------------- b
# Stop the writer: nothing drains the ring until the postmaster restarts it
# 5 s later.
sql >"$W/b.log" 2>&1 <<'SQL'
SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE backend_type = 'naboom audit writer';
SQL
for k in $(seq 8); do call "down-get-$k" ring-mod "$GET"; done
for k in $(seq 3); do call "down-near-$k" ring-mod "$NEAR"; done
for k in $(seq 6); do call "down-deny-$k" away-admin "$GET"; done
# wait for the writer to come back and drain
for _ in $(seq 100); do
    [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'naboom audit writer'")" = 1 ] && break
    sleep 0.1
done
sql -c "SELECT naboom.audit_queue_wait(20000)" >/dev/null 2>&1
account down- >"$W/b.acc"
B_REF=$(grep -c '^down-[gn].* refused' "$W/b.acc")
{ [ "$B_REF" -ge 1 ] && ! grep -q '^down-[gn].* error' "$W/b.acc" &&
  for f in $(grep ' refused' "$W/b.acc" | cut -d' ' -f1); do
      grep -q 'ERROR:  PT503: the audit log cannot keep up: try again' "$W/calls/$f.err" || exit 1
  done; }
verdict "b: with the writer stopped, reads fill the ring and are then refused with PT503 naboom.audit_unavailable ($B_REF of 11 refused)" $? \
    'cat "$W/b.acc" "$W/b.log"'
check down-get- >"$W/b.problems"; check down-near- >>"$W/b.problems"
{ [ ! -s "$W/b.problems" ]; }
verdict "b: every read that returned has its READ rows in audit_log, every refused one none and a LOG line" $? \
    'cat "$W/b.problems"'
MAXWAIT=$(awk -v id=x '{ if ($1 > m) m = $1 } END { print m + 0 }' "$W"/calls/down-*.ms)
{ [ "$MAXWAIT" -lt 3000 ]; }
verdict "b: a refused read waited a bounded time (slowest call ${MAXWAIT} ms)" $? 'head "$W"/calls/down-*.ms'
DENY_BAD=""
for k in $(seq 6); do
    id="down-deny-$k"
    rows="$(sql -c "SELECT count(*) FROM naboom.audit_log WHERE action = 'DENIED' AND request_id = '$id'")"
    lines="$(logged "$id")"
    grep -q 'naboom.unknown_reference' "$W/calls/$id.err" || DENY_BAD="$DENY_BAD $id:not-refused"
    [ $((rows + lines)) -eq 1 ] || DENY_BAD="$DENY_BAD $id:rows=$rows,lines=$lines"
done
{ [ -z "$DENY_BAD" ]; }
verdict "b: each refused attempt of an outsider is once in audit_log or once in the server log" $? \
    'echo "$DENY_BAD"'
{ ! grep -q 'naboom.audit_unavailable' "$W"/calls/down-deny-*.err; }
verdict "b: an outsider's refusal is never turned into an audit_unavailable error" $? 'cat "$W"/calls/down-deny-*.err'

# A request context too long for a ring entry (a user agent of 500
# control characters is 3,000 bytes of JSON): the read is recorded all the
# same, without the context the client controls.
MARK="$(sql -c "SELECT coalesce(max(id), 0) FROM naboom.audit_log")"
LONG_UA="$(printf '\\u0001%.0s' $(seq 500))"
call "long-ua" ring-mod "$GET" "\"user-agent\":\"$LONG_UA\",\"x-request-id\":\"long-ua\""
sql -c "SELECT naboom.audit_queue_wait(20000)" >/dev/null 2>&1
LONG_ROWS="$(sql -c "SELECT count(*) FROM naboom.audit_log WHERE id > $MARK AND action = 'READ'
	AND detail->'args'->>'reference' = '$PRIV_REF' AND actor = 'ring-mod' AND user_agent IS NULL")"
{ [ "$(cat "$W/calls/long-ua.out")" = 1 ] && [ "$LONG_ROWS" = 1 ]; }
verdict "b: a read with a request context too long for a ring entry (rolled back) has its READ row, the context trimmed" $? \
    'cat "$W/calls/long-ua.err"; echo "rows: $LONG_ROWS"'
{ [ "$(sql -c "SHOW naboom.audit_read_wait")" = 500ms ]; }
verdict "naboom.audit_read_wait is 500ms by default" $? 'sql -c "SHOW naboom.audit_read_wait"'

# ---------------------------------------------------------------- c
read -r S1 <<<"$(stats)"
REFUSED=$(cat "$W/a.acc" "$W/b.acc" | grep -c ' refused')
LINES=$(grep -c 'naboom audit: ' "$LOG")
R0="${S0%%|*}"; R1="${S1%%|*}"; D0="${S0##*|}"; D1="${S1##*|}"
{ [[ "$R1" =~ ^[0-9]+$ ]] && [ $((R1 - R0)) -eq "$REFUSED" ]; }
verdict "c: audit_queue_stats().reads_refused counts the refused reads ($REFUSED; stats before: $S0, after: $S1)" $? 'stats'
{ [[ "$D1" =~ ^[0-9]+$ ]] && [ $((D1 - D0)) -eq "$LINES" ]; }
verdict "c: audit_queue_stats().dropped_full equals the entries in the server log instead ($LINES LOG lines)" $? \
    'grep "naboom audit: " "$LOG" | cut -c1-300 | head -5'
finish "the script died"
