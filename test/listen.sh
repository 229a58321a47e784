#!/usr/bin/env bash
# test/listen.sh: naboom's event stream as a real LISTEN client sees it.
#
#   bash test/listen.sh          (make installcheck-listen; scripts/test.sh)
#
# Needs a running cluster with naboom preloaded (PGHOST/PGPORT/PGUSER/
# PGPASSWORD as pg_virtualenv sets them; the user a superuser, i.e. the
# naboom service) and tools/naboom-listen built (make -C tools).  It tests in
# the database the background writer serves (the setting
# naboom.audit_database, or naboom.writer_database where it has that name),
# which it makes when it is missing, and where it installs naboom afresh
# (DROP EXTENSION naboom CASCADE, CREATE EXTENSION naboom CASCADE, after the
# writer has written what was queued): whatever an earlier test left there,
# at whatever version, does not matter.
#
# Two listeners follow the stream while a community of its own (created
# here, names unique per run) reports incidents:
#   * tools/naboom-listen, started after the current end of the stream;
#   * a raw psql session that LISTENs on naboom_events and naboom_panic and
#     prints every notification it receives (between short pg_sleeps).
# and it asserts:
#   a. a report's event reaches both only after its transaction commits
#      (nothing 1 s after the report inside the open transaction; the
#      incident.created line and notification within seconds of COMMIT);
#   b. a rolled-back report never reaches either (a later committed report
#      does, and 2 s after it still nothing);
#   c. raise_panic gives a PANIC-prefixed line and a naboom_panic
#      notification;
#   d. after pg_terminate_backend of the listener's backend, an event
#      committed and published while no listener backend existed is printed
#      once after the reconnect, and no id is printed twice;
#   e. the ids printed are strictly increasing, and are exactly the ids
#      events_since gives the service for the same range;
#   f. panics first (naboom.panic_publish): with the setting off for its
#      transaction a panic still arrives, through the publisher; in a
#      database of its own that no background writer serves (made and
#      dropped here), a committed panic is heard at once on naboom_panic and
#      naboom_events, with the report committed before it (which was not
#      heard until then), a rolled-back panic never, and with the setting
#      off a panic only once naboom.publish_events() runs;
#   g. naboom-listen --community follows one community's stream: a second
#      community's report is not printed, and each community's listener
#      prints exactly what events_since with that community gives;
# and that the listener stops with status 0 on SIGTERM.
#
# Output is TAP: the plan "1..N" first, one "ok N - ..." / "not ok N - ..."
# line per assertion ("# ..." lines explain failures), and last the comment
# "# listen: N passed, N failed".  Exit status 0 iff every assertion passed.
#
# Every wait is bounded (WAIT_S per event, WAIT_BUDGET for all of them,
# and again for f, psql calls by timeout), so the script takes about 25 s,
# and under 150 s even when nothing arrives (scripts/test.sh also runs it
# under timeout);
# the listeners are stopped on exit, also on SIGTERM/SIGINT.
#
# Environment: NABOOM_LISTEN_DB (default: the writer's database, see above),
#              NABOOM_LISTEN_BIN (default tools/naboom-listen).
# shellcheck disable=SC2016,SC2317  # verdict's DIAG is code for eval
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BIN="${NABOOM_LISTEN_BIN:-$ROOT/tools/naboom-listen}"
DB="${NABOOM_LISTEN_DB:-}"
PLAN=20
WAIT_S=8            # seconds to wait for one expected event
QUIET_S=2           # seconds an event that must not come is given
WAIT_BUDGET=40      # seconds all the waits for expected events may take

unset PGOPTIONS PGDATABASE PGAPPNAME
W="$(mktemp -d)"
LPID=""             # naboom-listen
RPID=""             # the raw psql LISTEN session

cleanup() {
    [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------- TAP
N=0; PASSED=0; FAILED=0
ok()     { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
diag()   { sed 's/^/#   /'; }
# { CONDITION; }; verdict DESC $? [DIAG]: one assertion; when it failed, the
# output of the shell code DIAG is shown as "#" lines
verdict() {
    if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1"; [ -n "${3:-}" ] && eval "$3" 2>&1 | diag; fi
    return 0
}
finish() {
    while [ "$N" -lt "$PLAN" ]; do not_ok "not run: $1"; done
    echo "# listen: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$N" -eq "$PLAN" ]
    exit $?
}
echo "1..$PLAN"

# ---------------------------------------------------------------- helpers
# sql [PSQL ARGS...] (script on stdin): one psql session, tuples only
sql() { timeout -k 2 10 psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# claims USER: psql line that sets request.jwt.claims for the transaction
claims() {
    echo "SELECT set_config('request.jwt.claims', json_build_object('sub', '$1')::text, true) \\g /dev/null"
}

# wait_for FILE ERE [SECONDS]: until a line of FILE matches (WAIT_S at most,
# and never past WAIT_BUDGET seconds after the start, so that a broken
# stream fails every assertion quickly instead of waiting for each)
wait_for() {
    local end=$((SECONDS + ${3:-$WAIT_S}))
    [ "$end" -le "$WAIT_BUDGET" ] || end=$WAIT_BUDGET
    while [ "$SECONDS" -lt "$end" ]; do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    grep -qE -- "$2" "$1" 2>/dev/null
}

# count FILE ERE: matching lines
count() { grep -cE -- "$2" "$1" 2>/dev/null; }

T=$'\t'
# the listener's line of the event TOPIC (an ERE) of REFERENCE: plain ...
line_re()  { echo "^[0-9]+${T}[^${T}]+${T}$2${T}${SLUG}${T}$1${T}"; }
# ... or with the PANIC prefix
panic_re() { echo "^PANIC${T}[0-9]+${T}[^${T}]+${T}$2${T}${SLUG}${T}$1${T}"; }
# raw_re CHANNEL REFERENCE TOPIC [ID]: psql's line for a notification
raw_re()   { echo "^Asynchronous notification \"$1\" with payload \"\\{\"id\":${4:-[0-9]+},\"topic\":\"$3\",\"community\":\"$SLUG\",\"reference\":\"$2\"\\}\" received"; }
# the ids naboom-listen printed, one a line
ids()      { sed "s/^PANIC$T//" "$W/listen.out" | cut -f1; }
is_ref()   { [[ "$1" =~ ^NB-[0-9A-Z]{4}-[0-9A-Z]{4}$ ]]; }
show_listener() { echo "naboom-listen stdout:"; cat "$W/listen.out"; echo "naboom-listen stderr:"; cat "$W/listen.err"; }
show_raw() { echo "raw LISTEN output:"; cat "$W/raw.out"; }
show()     { local f; for f in "$@"; do echo "$(basename "$f"):"; cat "$f" 2>/dev/null; done; }

# ---------------------------------------------------------------- setup
RUN="$(date +%s)-$$"
SLUG="listen-$RUN"
ADMIN="listen-admin-$RUN"
RES="listen-res-$RUN"

if [ ! -x "$BIN" ]; then
    not_ok "naboom-listen is built ($BIN is missing: make -C tools)"
    finish "no naboom-listen"
fi

# The writer's database, made if missing, with a fresh naboom.  (Which name
# the setting has depends on the version of naboom: ask for both.)
if [ -z "$DB" ]; then
    DB="$(timeout -k 2 10 psql -X -q -At -d postgres -c "SELECT coalesce(
        nullif(current_setting('naboom.writer_database', true), ''),
        nullif(current_setting('naboom.audit_database', true), ''), 'contrib_regression')")"
fi
install_out="$( {
    if [ "$(echo "SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'db'" |
            timeout -k 2 10 psql -X -q -At -d postgres -v db="$DB" 2>&1)" != 1 ]; then
        timeout -k 2 30 psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$DB\""
    fi &&
    timeout -k 2 60 psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
SET client_min_messages = warning;
DO $drain$
BEGIN
	IF to_regprocedure('naboom.audit_queue_wait(integer)') IS NOT NULL THEN
		PERFORM naboom.audit_queue_wait(20000);
	END IF;
END
$drain$;
DROP EXTENSION IF EXISTS naboom CASCADE;
CREATE EXTENSION naboom CASCADE;
-- the writer connects a few seconds after the database is made
SELECT naboom.events_wait(30000) \g /dev/null
SQL
} 2>&1)"
# from here on, the waits' budget counts (see wait_for)
SECONDS=0

# A community of its own, so that nothing earlier tests left matters: the
# service creates it, its admin adds a category, a resident joins.  Then the
# current end of the stream, once everything committed so far is published.
setup_out="$(sql 2>&1 <<SQL
SELECT slug FROM naboom_api.create_community('$SLUG', 'Listen Town',
	'{"type":"Polygon","coordinates":[[[30.0,-25.2],[30.2,-25.2],[30.2,-25.0],[30.0,-25.0],[30.0,-25.2]]]}',
	admin_ref => '$ADMIN', admin_name => 'Listen Admin') \g /dev/null
BEGIN;
$(claims "$ADMIN")
SELECT code FROM naboom_api.upsert_category('$SLUG', 'fire', 'Veld fire', 'Veldbrand', 'high') \g /dev/null
COMMIT;
BEGIN;
$(claims "$RES")
SELECT role FROM naboom_api.join_community('$SLUG', 'Listen Resident') \g /dev/null
COMMIT;
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'naboom')
		|| CASE WHEN (SELECT extversion FROM pg_extension WHERE extname = 'naboom')
			= (SELECT default_version FROM pg_available_extensions WHERE name = 'naboom') THEN '' ELSE ' (not the default version)' END,
	naboom.events_wait(10000),
	(SELECT coalesce(max(seq), 0) FROM naboom.event);
SQL
)"
IFS='|' read -r version published MARK <<<"$setup_out"
if [[ ! "$version" =~ ^[0-9.]+$ ]] || [ "$published" != t ] || ! [[ "$MARK" =~ ^[0-9]+$ ]]; then
    not_ok "setup: naboom (default version) installed afresh in $DB, community $SLUG, every committed event published"
    printf '%s\n' "$install_out" "$setup_out" | diag
    finish "setup failed"
fi

# ---------------------------------------------------------------- listeners
# naboom-listen from the current end of the stream, as the service.
"$BIN" --after "$MARK" "dbname=$DB" >"$W/listen.out" 2>"$W/listen.err" &
LPID=$!

# The raw session: LISTEN, then 0.2 s sleeps for at most 50 s; after each
# statement psql prints (and flushes) the notifications that arrived
# meanwhile, on stdout; the sleeps' own results go to /dev/null.
{
    echo "LISTEN naboom_events;"
    echo "LISTEN naboom_panic;"
    echo "SELECT 'listening' \\g $W/raw.ready"
    for _ in $(seq 250); do echo "SELECT pg_sleep(0.2) \\g /dev/null"; done
} >"$W/raw.sql"
PGAPPNAME=naboom-listen-test-raw timeout -k 2 55 \
    psql -X -q -At -d "$DB" -f "$W/raw.sql" >"$W/raw.out" 2>&1 &
RPID=$!

wait_for "$W/listen.err" "caught up [0-9]+ events"
wait_for "$W/raw.ready" "listening"
{ grep -q "connected to database $DB" "$W/listen.err" && grep -q "caught up" "$W/listen.err" &&
  grep -q listening "$W/raw.ready" && kill -0 "$LPID"; }
verdict "setup: community $SLUG in $DB (naboom $version); naboom-listen connected and caught up after id $MARK; raw psql LISTENs" $? \
    show_listener

# ---------------------------------------------------------------- a
# BEGIN, report, 1 s later (still inside the transaction) snapshot what
# both listeners have printed, COMMIT.
sql >"$W/a.log" 2>&1 <<SQL
BEGIN;
$(claims "$RES")
SELECT reference FROM naboom_api.report_incident('$SLUG', 'fire', -25.10, 30.10, 'listen: committed after a pause') \g $W/a.ref
SELECT pg_sleep(1) \g /dev/null
\! cp $W/listen.out $W/a.listen.snap; cp $W/raw.out $W/a.raw.snap
COMMIT;
SQL
A_REF="$(cat "$W/a.ref" 2>/dev/null)"
{ is_ref "$A_REF" && [ -f "$W/a.listen.snap" ] && [ -f "$W/a.raw.snap" ] &&
  ! grep -qF -- "$A_REF" "$W/a.listen.snap" "$W/a.raw.snap"; }
verdict "a: 1 s after the report ($A_REF), its transaction still open, neither listener has its event" $? \
    'show "$W/a.log" "$W/a.listen.snap" "$W/a.raw.snap"'

wait_for "$W/listen.out" "$(line_re "$A_REF" 'incident\.created')"
{ is_ref "$A_REF" && [ "$(count "$W/listen.out" "$(line_re "$A_REF" 'incident\.created')")" -eq 1 ]; }
verdict "a: after COMMIT naboom-listen prints the incident.created line of $A_REF, once" $? show_listener

A_ID="$(grep -E -- "$(line_re "$A_REF" 'incident\.created')" "$W/listen.out" | head -1 | cut -f1)"
wait_for "$W/raw.out" "$(raw_re naboom_events "$A_REF" 'incident\.created' "$A_ID")"
{ is_ref "$A_REF" && grep -qE -- "$(raw_re naboom_events "$A_REF" 'incident\.created' "$A_ID")" "$W/raw.out"; }
verdict "a: after COMMIT a raw LISTEN on naboom_events gets the announcement of $A_REF (with the id naboom-listen printed: ${A_ID:-none})" $? \
    show_raw

# ---------------------------------------------------------------- b
# A rolled-back report, then a committed one: the second must arrive, the
# first never.
sql >"$W/b.log" 2>&1 <<SQL
BEGIN;
$(claims "$RES")
SELECT reference FROM naboom_api.report_incident('$SLUG', 'fire', -25.05, 30.05, 'listen: rolled back') \g $W/b.ref
ROLLBACK;
BEGIN;
$(claims "$RES")
SELECT reference FROM naboom_api.report_incident('$SLUG', 'fire', -25.15, 30.15, 'listen: committed after a rollback') \g $W/b2.ref
COMMIT;
SQL
B_REF="$(cat "$W/b.ref" 2>/dev/null)"
B2_REF="$(cat "$W/b2.ref" 2>/dev/null)"
wait_for "$W/listen.out" "$(line_re "$B2_REF" 'incident\.created')"
wait_for "$W/raw.out" "$(raw_re naboom_events "$B2_REF" 'incident\.created')"
{ is_ref "$B2_REF" && grep -qE -- "$(line_re "$B2_REF" 'incident\.created')" "$W/listen.out" &&
  grep -qE -- "$(raw_re naboom_events "$B2_REF" 'incident\.created')" "$W/raw.out"; }
verdict "b: a report committed after a rolled-back one reaches both listeners ($B2_REF)" $? \
    'show "$W/b.log" "$W/listen.out" "$W/raw.out"'

sleep "$QUIET_S"
{ is_ref "$B_REF" && ! grep -qF -- "$B_REF" "$W/listen.out" "$W/raw.out" &&
  [ "$(sql -c "SELECT count(*) FROM naboom.incident WHERE reference = '$B_REF'" 2>&1)" = 0 ]; }
verdict "b: the rolled-back report ($B_REF) left no event line and no notification, ${QUIET_S} s after the next report's" $? \
    'show "$W/b.log" "$W/listen.out" "$W/raw.out"'

# ---------------------------------------------------------------- c
C_REF="$(sql 2>&1 <<SQL
BEGIN;
$(claims "$RES")
SELECT reference FROM naboom_api.raise_panic('$SLUG', -25.12, 30.12, note => 'listen: panic');
COMMIT;
SQL
)"
wait_for "$W/listen.out" "$(panic_re "$C_REF" 'panic\.raised')"
{ is_ref "$C_REF" && [ "$(count "$W/listen.out" "$(panic_re "$C_REF" 'panic\.raised')")" -eq 1 ] &&
  ! grep -qE -- "$(line_re "$C_REF" 'panic\.raised')" "$W/listen.out"; }
verdict "c: raise_panic ($C_REF) gives one panic.raised line, prefixed PANIC" $? \
    'echo "raise_panic: $C_REF"; show_listener'

C_ID="$(grep -E -- "$(panic_re "$C_REF" 'panic\.raised')" "$W/listen.out" | head -1 | cut -f2)"
wait_for "$W/raw.out" "$(raw_re naboom_panic "$C_REF" 'panic\.raised' "$C_ID")"
{ is_ref "$C_REF" &&
  grep -qE -- "$(raw_re naboom_panic "$C_REF" 'panic\.raised' "$C_ID")" "$W/raw.out" &&
  grep -qE -- "$(raw_re naboom_events "$C_REF" 'panic\.raised' "$C_ID")" "$W/raw.out" &&
  [ "$(count "$W/raw.out" '"naboom_panic"')" -eq "$(count "$W/raw.out" '"naboom_panic" .*"topic":"panic\.')" ]; }
verdict "c: a raw LISTEN gets the panic.raised announcement (id ${C_ID:-as printed}) on naboom_panic as well as naboom_events; naboom_panic carries only panic.* events" $? \
    show_raw

# ---------------------------------------------------------------- d
# Terminate the listener's backend (waiting until it is gone), commit a
# report, wait until the background writer has published it, then check
# that no listener backend existed all along: the event can only reach the
# listener by catching up after its reconnect.
sql >"$W/d.out" 2>&1 <<SQL
SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid, 5000)) FROM pg_stat_activity a
WHERE a.application_name = 'naboom-listen' AND a.datname = current_database();
BEGIN;
$(claims "$RES")
SELECT reference AS dref FROM naboom_api.report_incident('$SLUG', 'fire', -25.08, 30.18, 'listen: while disconnected') \gset
COMMIT;
SELECT naboom.events_wait(5000);
SELECT count(*) FROM naboom.event e JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
WHERE i.reference = :'dref' AND e.seq IS NOT NULL;
SELECT count(*) FROM pg_stat_activity a WHERE a.application_name = 'naboom-listen';
SELECT :'dref';
SQL
mapfile -t d <"$W/d.out"
D_REF="${d[4]:-}"
{ [ "${d[0]:-}" = 1 ] && [ "${d[1]:-}" = t ] && [ "${d[2]:-0}" -ge 1 ] 2>/dev/null && [ "${d[3]:-}" = 0 ] && is_ref "$D_REF"; }
verdict "d: pg_terminate_backend ended the listener's backend, then a report ($D_REF) was committed and published while no listener backend existed" $? \
    'echo "terminated / all published / its events published / listener backends after that / reference:"; show "$W/d.out"'

wait_for "$W/listen.out" "$(line_re "$D_REF" 'incident\.created')" $((WAIT_S + 4))
{ grep -q "connection lost" "$W/listen.err" && [ "$(count "$W/listen.err" "connected to database $DB")" -ge 2 ] &&
  kill -0 "$LPID" 2>/dev/null; }
verdict "d: naboom-listen reported the lost connection, reconnected, and is still running" $? show_listener

sleep 1
{ is_ref "$D_REF" && [ "$(count "$W/listen.out" "$(line_re "$D_REF" 'incident\.created')")" -eq 1 ]; }
verdict "d: the event committed while it was disconnected is printed, exactly once, after the reconnect ($D_REF)" $? \
    show_listener

# ---------------------------------------------------------------- d, e
# Once everything is published and printed: the whole output.
sql -c "SELECT naboom.events_wait(5000)" >/dev/null 2>&1
EXPECTED="$(sql -c "SELECT string_agg(e.id::text, ' ' ORDER BY e.id) FROM naboom_api.events_since($MARK, 1000) e" 2>&1)"
LAST="${EXPECTED##* }"
[[ "$LAST" =~ ^[0-9]+$ ]] && wait_for "$W/listen.out" "^(PANIC$T)?$LAST$T"
GOT="$(ids | paste -sd ' ')"
LINES="$(ids | wc -l)"

{ [ -n "$GOT" ] && [ -z "$(ids | sort | uniq -d)" ]; }
verdict "d: no id is printed twice ($LINES lines)" $? \
    show_listener

{ [ -n "$GOT" ] && ids | awk 'NR > 1 && $1 + 0 <= prev + 0 { bad = 1 } { prev = $1 } END { exit bad }'; }
verdict "e: the ids printed are strictly increasing" $? show_listener

{ [ -n "$GOT" ] && [ "$GOT" = "$EXPECTED" ]; }
verdict "e: the ids printed are exactly those events_since($MARK) gives the service: nothing lost, nothing extra" $? \
    'echo "expected: $EXPECTED"; echo "printed:  $GOT"'

# ---------------------------------------------------------------- g
# --community: a second community with a report of its own, then one
# naboom-listen --community for each, from the same mark: each prints
# exactly its community's events (what events_since with that community
# gives the service), nothing of the other's, and exits at its count.
SLUG2="${SLUG}-b"
g_out="$(sql 2>&1 <<SQL
SELECT slug FROM naboom_api.create_community('$SLUG2', 'Listen Town B',
	'{"type":"Polygon","coordinates":[[[30.3,-25.2],[30.5,-25.2],[30.5,-25.0],[30.3,-25.0],[30.3,-25.2]]]}',
	admin_ref => '$ADMIN', admin_name => 'Listen Admin') \g /dev/null
BEGIN;
$(claims "$ADMIN")
SELECT code FROM naboom_api.upsert_category('$SLUG2', 'fire', 'Veld fire', 'Veldbrand', 'high') \g /dev/null
SELECT reference FROM naboom_api.report_incident('$SLUG2', 'fire', -25.1, 30.4, 'smoke over the hill') \g /dev/null
COMMIT;
SELECT naboom.events_wait(10000) \g /dev/null
SELECT coalesce((SELECT string_agg(e.id::text, ' ' ORDER BY e.id) FROM naboom_api.events_since($MARK, 1000, '$SLUG') e), '')
	|| '|' || coalesce((SELECT string_agg(e.id::text, ' ' ORDER BY e.id) FROM naboom_api.events_since($MARK, 1000, '$SLUG2') e), '');
SQL
)"
E1="${g_out%%|*}"; E2="${g_out#*|}"
g_run() { # g_run SLUG N OUT: naboom-listen --community SLUG until N events; its exit status
    timeout -k 2 20 "$BIN" --after "$MARK" --community "$1" --count "$2" --timeout 5 --quiet-catchup \
        "dbname=$DB" >"$3" 2>"$3.err"
}
g_ids()   { sed "s/^PANIC$T//" "$1" | cut -f1 | paste -sd ' '; }
g_comms() { sed "s/^PANIC$T//" "$1" | cut -f4 | sort -u | paste -sd ' '; }
{ [ -n "$E1" ] && [ -n "$E2" ] &&
  g_run "$SLUG" "$(wc -w <<<"$E1")" "$W/g1.out" && g_run "$SLUG2" "$(wc -w <<<"$E2")" "$W/g2.out" &&
  [ "$(g_ids "$W/g1.out")" = "$E1" ] && [ "$(g_ids "$W/g2.out")" = "$E2" ] &&
  [ "$(g_comms "$W/g1.out")" = "$SLUG" ] && [ "$(g_comms "$W/g2.out")" = "$SLUG2" ]; }
verdict "g: naboom-listen --community prints exactly one community's events (events_since with the community), nothing of another's" $? \
    'echo "expected: $E1 | $E2 ($g_out)"; show "$W/g1.out" "$W/g1.out.err" "$W/g2.out" "$W/g2.out.err"'

# ---------------------------------------------------------------- f
# Panics first (naboom.panic_publish): a panic's own transaction numbers
# and NOTIFYs the stream at its commit.  In the writer's database, with the
# setting off for the panic's transaction, it still arrives, through the
# publisher.  Then a database the background writer does not serve (no
# publisher at all, as without shared_preload_libraries): a committed report
# is not heard, a rolled-back panic is not heard, a committed panic is heard
# at once, and the report committed before it with it; with the setting off
# a panic is not heard until naboom.publish_events() runs.
F_REF="$(sql 2>&1 <<SQL
BEGIN;
SET LOCAL naboom.panic_publish = off;
$(claims "$RES")
SELECT reference FROM naboom_api.raise_panic('$SLUG', -25.11, 30.11, note => 'listen: panic, setting off');
COMMIT;
SQL
)"
wait_for "$W/listen.out" "$(panic_re "$F_REF" 'panic\.raised')"
{ is_ref "$F_REF" && [ "$(count "$W/listen.out" "$(panic_re "$F_REF" 'panic\.raised')")" -eq 1 ]; }
verdict "f: with naboom.panic_publish off, a panic ($F_REF) still reaches naboom-listen, through the publisher" $? \
    'echo "raise_panic: $F_REF"; show_listener'

# the budget of the waits below starts afresh
WAIT_BUDGET=$((SECONDS + 30))
NP_DB="${DB}_nopublisher"
np_sql() { timeout -k 2 20 psql -X -q -At -v ON_ERROR_STOP=1 -d "$NP_DB" "$@"; }
np_out="$( {
    timeout -k 2 30 psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'SET client_min_messages = warning' \
        -c "DROP DATABASE IF EXISTS \"$NP_DB\" WITH (FORCE)" -c "CREATE DATABASE \"$NP_DB\"" &&
    timeout -k 2 40 psql -X -q -v ON_ERROR_STOP=1 -d "$NP_DB" -c 'SET client_min_messages = warning' \
        -c 'CREATE EXTENSION naboom CASCADE' &&
    np_sql <<SQL
SELECT slug FROM naboom_api.create_community('$SLUG', 'Listen Town',
	'{"type":"Polygon","coordinates":[[[30.0,-25.2],[30.2,-25.2],[30.2,-25.0],[30.0,-25.0],[30.0,-25.2]]]}',
	admin_ref => '$ADMIN', admin_name => 'Listen Admin') \g /dev/null
BEGIN;
$(claims "$ADMIN")
SELECT code FROM naboom_api.upsert_category('$SLUG', 'fire', 'Veld fire', 'Veldbrand', 'high') \g /dev/null
COMMIT;
BEGIN;
$(claims "$RES")
SELECT role FROM naboom_api.join_community('$SLUG', 'Listen Resident') \g /dev/null
COMMIT;
SELECT naboom.publish_events() >= 0;
SQL
} 2>&1)"
{
    echo "LISTEN naboom_events;"
    echo "LISTEN naboom_panic;"
    echo "SELECT 'listening' \\g $W/np.ready"
    for _ in $(seq 200); do echo "SELECT pg_sleep(0.1) \\g /dev/null"; done
} >"$W/np.sql"
PGAPPNAME=naboom-listen-test-nopub timeout -k 2 30 \
    psql -X -q -At -d "$NP_DB" -f "$W/np.sql" >"$W/np.out" 2>&1 &
NPID=$!
wait_for "$W/np.ready" "listening"
np_run() { # np_run SQL...: one transaction as the resident, its reference
    np_sql 2>&1 <<SQL
BEGIN;
$(claims "$RES")
$1
COMMIT;
SQL
}
FR_REF="$(np_run "SELECT reference FROM naboom_api.report_incident('$SLUG', 'fire', -25.10, 30.10, 'listen: report, no publisher');")"
FB_REF="$(np_sql 2>&1 <<SQL
BEGIN;
$(claims "$RES")
SELECT reference FROM naboom_api.raise_panic('$SLUG', -25.13, 30.13, note => 'listen: panic, rolled back');
ROLLBACK;
SQL
)"
sleep 1
cp "$W/np.out" "$W/np.before"
FP_REF="$(np_run "SELECT reference FROM naboom_api.raise_panic('$SLUG', -25.12, 30.12, note => 'listen: panic, no publisher');")"
wait_for "$W/np.out" "$(raw_re naboom_panic "$FP_REF" 'panic\.raised')" 3
{ [ "$np_out" = t ] && is_ref "$FP_REF" && is_ref "$FR_REF" &&
  grep -qE -- "$(raw_re naboom_panic "$FP_REF" 'panic\.raised')" "$W/np.out" &&
  grep -qE -- "$(raw_re naboom_events "$FP_REF" 'panic\.raised')" "$W/np.out" &&
  grep -qE -- "$(raw_re naboom_events "$FR_REF" 'incident\.created')" "$W/np.out" &&
  [ "$(np_sql -c "SELECT count(*) FROM naboom.event WHERE seq IS NULL")" = 0 ]; }
verdict "f: no publisher ($NP_DB): a committed panic ($FP_REF) is heard within 3 s on naboom_panic and naboom_events, and the report committed before it ($FR_REF) with it; nothing is left unpublished" $? \
    'echo "setup: $np_out; report $FR_REF; panic $FP_REF"; show "$W/np.out"'

{ is_ref "$FB_REF" && ! grep -qF -- "$FB_REF" "$W/np.out" && [ -f "$W/np.before" ] &&
  ! grep -qF -- "$FR_REF" "$W/np.before" &&
  [ "$(np_sql -c "SELECT count(*) FROM naboom.incident WHERE reference = '$FB_REF'")" = 0 ]; }
verdict "f: no publisher: the report was not heard before the panic, and a rolled-back panic ($FB_REF) is never heard" $? \
    'echo "rolled back: $FB_REF"; show "$W/np.before" "$W/np.out"'

FO_REF="$(np_run "SET LOCAL naboom.panic_publish = off;
SELECT reference FROM naboom_api.raise_panic('$SLUG', -25.14, 30.14, note => 'listen: panic, setting off, no publisher');" | tail -n 1)"
sleep "$QUIET_S"
cp "$W/np.out" "$W/np.quiet"
np_sql -c "SELECT naboom.publish_events()" >/dev/null 2>&1
wait_for "$W/np.out" "$(raw_re naboom_panic "$FO_REF" 'panic\.raised')" 3
{ is_ref "$FO_REF" && ! grep -qF -- "$FO_REF" "$W/np.quiet" &&
  grep -qE -- "$(raw_re naboom_panic "$FO_REF" 'panic\.raised')" "$W/np.out"; }
verdict "f: no publisher, naboom.panic_publish off: the panic ($FO_REF) is not heard for ${QUIET_S} s, and is heard once naboom.publish_events() runs" $? \
    'show "$W/np.quiet" "$W/np.out"'
kill "$NPID" 2>/dev/null; wait "$NPID" 2>/dev/null
timeout -k 2 30 psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$NP_DB\" WITH (FORCE)" >/dev/null 2>&1

# ---------------------------------------------------------------- stop
kill -TERM "$LPID" 2>/dev/null
lrc=""
for _ in $(seq 50); do
    if ! kill -0 "$LPID" 2>/dev/null; then wait "$LPID"; lrc=$?; LPID=""; break; fi
    sleep 0.1
done
{ [ "$lrc" = 0 ] && grep -q "stopping on SIGTERM" "$W/listen.err"; }
verdict "naboom-listen stops with status 0 on SIGTERM" $? \
    'echo "exit status: ${lrc:-still running 5 s later}"; show_listener'

finish "the script died"
