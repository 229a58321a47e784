#!/usr/bin/env bash
# test/faults.sh: naboom survives kill -9 of the postmaster under load.
#
#   bash test/faults.sh          (make installcheck-faults; scripts/test.sh)
#
# What a DBA or an attacker can do to the server, made repeatable (issue 14):
# the write API runs under load from concurrent clients while the postmaster
# is killed with SIGKILL, several times, and restarted (crash recovery);
# afterwards every write a client was told had committed must be there,
# whole, with its timeline, audit rows and events, the event stream must
# have no gap, and verify_audit must prove the audit log.
#
# It makes its own cluster (it needs special settings and kills it): initdb
# in a mktemp directory owned by postgres (the script runs as root, as
# pg_virtualenv runs it, and the server as postgres; or as the user who owns
# the server when not root), a Unix socket in that directory only, a free
# port, shared_preload_libraries = naboom, naboom.writer_database = the test
# database, fsync = on, synchronous_commit = on, full_page_writes = on: a
# COMMIT that returned is on disk.  Nothing of the calling cluster is used.
#
# The load (moderate: the machines have 2 cores and others test too):
#   * NABOOM_FAULTS_CLIENTS (3) clients, each a reporter and a responder of
#     the community: psql scripts of rounds of incidents, each incident in
#     nine transactions as a gateway makes them (SET ROLE naboom_user, the
#     caller in request.jwt.claims): report_incident (client_ref), then by
#     the responder acknowledge_incident, transition_incident to verified,
#     dispatched (self-assignment), en_route, add_note, on_scene, resolved
#     (with a note), and by the reporter closed; 10 ms between transactions.
#     Around each transaction the script prints "TRY ..." before BEGIN and
#     "ACK ..." only after COMMIT returned (\warn, unbuffered; psql runs
#     with ON_ERROR_STOP, so a failed or lost COMMIT prints nothing).  A
#     client whose connection is lost waits for the server and starts a new
#     round with new incidents;
#   * one sealer: naboom.seal_audit() every 0.3 s, each seal id it got back
#     acknowledged the same way.
# NABOOM_FAULTS_KILLS (4) times, after NABOOM_FAULTS_LOAD_S (6) seconds of
# load, the postmaster is killed with SIGKILL: at odd kills alone (its
# children finish what they are doing, up to the end of their client's
# session, and must exit by themselves within 30 s), at even kills together
# with every process of the server at once (backends mid-transaction or
# mid-commit, the naboom writer, the checkpointer: nothing finishes).  Then
# a new postmaster runs crash recovery.  Before the second kill a seal_audit
# is left in progress on purpose: a session seals, keeps its transaction
# open and sleeps, so the crash rolls the seal back and its seal_id is never
# used (issue 14 item 3: 0.5.0's verify_audit followed seal ids and called
# such a hole chain_broken; every crash also makes the identity skip ids).
# After the last restart the load runs once more, then stops.
#
# The checks (exact; no timing is asserted), after the publisher and the
# audit writer have caught up:
#   * every acknowledged report is there with the reference it returned;
#     every acknowledged transition is in its incident's timeline, and each
#     incident's status is its last acknowledged one, or the one whose
#     COMMIT was in flight at a crash; every acknowledged acknowledgement and
#     note is in the timeline;
#   * every incident's timeline is whole: seq 1..n, "reported" first, the
#     status changes chained from "reported" to the incident's status;
#   * every incident and timeline row has its audit rows (one INSERT of the
#     incident, one UPDATE per version after 1, one INSERT per timeline
#     row), and no audit row describes a change that is not there;
#   * every incident has its events (one incident.created, one
#     incident.status_changed per status change, one incident.acknowledged
#     per acknowledgement), no event names a missing incident, every
#     committed event is published, and the stream ids are 1..n;
#   * every acknowledged seal is there; the seal in progress at the crash is
#     not, and the next seal chains over its id; after a final seal_audit,
#     verify_audit says verified; and 0.5.0's verify_audit (taken from the
#     frozen upgrade script) says chain_broken on the same log: the fault
#     this test exists to catch;
#   * no client request failed with an ERROR (only lost connections).
#
# Output is TAP: the plan first, one "ok N - ..." / "not ok N - ..." line per
# assertion, "#" lines with the details of a failure, last the comment
# "# faults: N passed, N failed".  Exit status 0 iff every assertion passed.
# About 80 s on 2 cores (setup 10 s, five load periods with four restarts
# 45 s, checks 20 s); every wait is bounded, and scripts/test.sh runs
# it under timeout (NABOOM_FAULTS_TIMEOUT).  The cluster is stopped and its
# directory removed on exit (NABOOM_FAULTS_KEEP=1 keeps the directory, with
# the server log and the clients' logs, and prints where it is).
#
# Environment: PG_CONFIG (pg_config), NABOOM_FAULTS_CLIENTS (3),
#              NABOOM_FAULTS_KILLS (4), NABOOM_FAULTS_LOAD_S (6),
#              NABOOM_FAULTS_KEEP (0).
# shellcheck disable=SC2016  # verdict's DIAG is code for eval
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BINDIR="$("${PG_CONFIG:-pg_config}" --bindir)"
CLIENTS="${NABOOM_FAULTS_CLIENTS:-3}"
KILLS="${NABOOM_FAULTS_KILLS:-4}"
LOAD_S="${NABOOM_FAULTS_LOAD_S:-6}"
HELD_AT=$((KILLS >= 2 ? 2 : 1))   # the kill with a seal in progress
PER_ROUND=4                       # incidents per client round
DB=naboom_faults
SLUG=faults
PLAN=$((1 + KILLS + 13))

unset PGOPTIONS PGDATABASE PGAPPNAME PGSERVICE PGPASSWORD
W="$(cd "$(mktemp -d /tmp/naboom-faults.XXXXXX)" && pwd -P)"
PGDATA="$W/data"
CLIENT_PIDS=()

as_server() { (cd "$W" && if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi); }
[ "$(id -u)" -eq 0 ] && chown postgres: "$W"
chmod 755 "$W"

# a free port (the socket is in $W, so only TCP listeners elsewhere and the
# sockets of the usual directories could clash)
PORT=""
for p in $(shuf -i 20000-29999 -n 50); do
    if ! ss -ltnH 2>/dev/null | grep -q ":$p\b" && [ ! -e "/tmp/.s.PGSQL.$p" ] &&
       [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ]; then PORT=$p; break; fi
done
export PGHOST="$W" PGPORT="${PORT:-25432}" PGUSER=postgres

postmaster_pid() { head -1 "$PGDATA/postmaster.pid" 2>/dev/null; }
# the processes of the cluster: the postmaster and its children work in the
# data directory
server_pids() {
    local d
    for d in /proc/[0-9]*; do
        [ "$d/cwd" -ef "$PGDATA" ] 2>/dev/null && echo "${d#/proc/}"
    done
}

cleanup() {
    local pid pm
    touch "$W/stop" 2>/dev/null
    for pid in "${CLIENT_PIDS[@]}"; do
        pkill -TERM -P "$pid" 2>/dev/null
        kill "$pid" 2>/dev/null
    done
    if [ -f "$PGDATA/postmaster.pid" ]; then
        as_server "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1
        pm="$(postmaster_pid)"
        [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null && kill -9 "$pm" 2>/dev/null
    fi
    wait 2>/dev/null
    if [ "${NABOOM_FAULTS_KEEP:-0}" = 1 ]; then
        echo "# kept: $W (server.log, c*.log, sealer.log)"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------- TAP
N=0; PASSED=0; FAILED=0
ok()     { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
diag()   { head -n 40 | sed 's/^/#   /'; }
# { CONDITION; }; verdict DESC $? [DIAG]: one assertion; when it failed, the
# output of the shell code DIAG is shown as "#" lines
verdict() {
    if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1"; [ -n "${3:-}" ] && eval "$3" 2>&1 | diag; fi
    return 0
}
finish() {
    while [ "$N" -lt "$PLAN" ]; do not_ok "not run: $1"; done
    echo "# faults: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$N" -eq "$PLAN" ]
    exit $?
}
echo "1..$PLAN"

# sql [PSQL ARGS...] (script on stdin): one session, tuples only, bounded
sql() { timeout -k 2 "${SQL_TIMEOUT:-60}" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# check DESC QUERY: an assertion that QUERY (its rows are the violations)
# returns nothing; the first violations are shown
check() {
    local out rc
    out="$(sql -F ' | ' -c "$2" 2>&1)"; rc=$?
    { [ "$rc" -eq 0 ] && [ -z "$out" ]; }
    verdict "$1" $? 'echo "$out" | head -n 20'
}
claims() { echo "SELECT pg_catalog.set_config('request.jwt.claims', '{\"sub\":\"$1\"}', true) \\g /dev/null"; }
server_up() { "$BINDIR/pg_isready" -q -d "$DB" >/dev/null 2>&1; }

# start_server: the postmaster as a child of this script (through runuser,
# which waits for it), not through pg_ctl: a postmaster pg_ctl started is
# handed to PID 1 when pg_ctl exits, and once killed it stays a zombie with
# its pid until PID 1 reaps it, which may take seconds; a new postmaster
# refuses to start while the pid in postmaster.pid exists.  Here it is
# reaped the moment it dies.  Waits (120 s at most) until the server accepts
# connections, which after a crash is after recovery.
PM_PARENT=""
start_server() {
    local end=$((SECONDS + 120))
    as_server "$BINDIR/postgres" -D "$PGDATA" >>"$W/server.log" 2>&1 &
    PM_PARENT=$!
    while [ "$SECONDS" -lt "$end" ]; do
        server_up && return 0
        kill -0 "$PM_PARENT" 2>/dev/null || { echo "the postmaster exited: $(tail -n 3 "$W/server.log")"; return 1; }
        sleep 0.2
    done
    echo "not accepting connections after 120 s"
    return 1
}

# ---------------------------------------------------------------- cluster
setup_log="$W/setup.log"
{
    [ -n "$PORT" ] &&
    as_server "$BINDIR/initdb" -D "$PGDATA" -U postgres --auth=trust --locale=C.UTF-8 --encoding=UTF8 &&
    cat >>"$PGDATA/postgresql.conf" <<CONF &&
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'naboom'
naboom.writer_database = '$DB'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 30
shared_buffers = 32MB
checkpoint_timeout = 30s
timezone = UTC
log_line_prefix = '%m [%p] %a: '
CONF
    start_server &&
    "$BINDIR/createdb" "$DB" &&
    sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION naboom CASCADE" &&
    sql <<SQL
SELECT 1 FROM naboom_api.create_community('$SLUG', 'Fault Town',
	'{"type":"Polygon","coordinates":[[[28.60,-24.60],[28.85,-24.60],[28.85,-24.40],[28.60,-24.40],[28.60,-24.60]]]}',
	admin_ref => 'f-admin', admin_name => 'Fault Admin') \g /dev/null
-- a client reports and adds notes a few a second: the limits out of reach
-- (as bench/load.sql)
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [1000000000, 60], "note": [1000000000, 60]}}' WHERE slug = '$SLUG';
BEGIN;
$(claims f-admin)
SELECT 1 FROM naboom_api.upsert_category('$SLUG', 'theft', 'Theft', 'Diefstal', 'medium') \g /dev/null
SELECT 1 FROM naboom_api.upsert_category('$SLUG', 'fire', 'Veld fire', 'Veldbrand', 'high') \g /dev/null
COMMIT;
$(for k in $(seq "$CLIENTS"); do cat <<MEMBERS
BEGIN;
$(claims "f-res-$k")
SELECT 1 FROM naboom_api.join_community('$SLUG', 'Resident $k') \g /dev/null
SELECT 1 FROM naboom_api.subscribe('$SLUG', -24.50, 28.72, 5000) \g /dev/null
$(claims "f-resp-$k")
SELECT 1 FROM naboom_api.join_community('$SLUG', 'Responder $k') \g /dev/null
$(claims f-admin)
SELECT 1 FROM naboom_api.set_member_role('$SLUG', 'f-resp-$k', 'responder') \g /dev/null
COMMIT;
BEGIN;
$(claims "f-resp-$k")
SELECT 1 FROM naboom_api.update_position(-24.50 + $k * 0.002, 28.72, true, 10) \g /dev/null
COMMIT;
MEMBERS
done)
SELECT naboom.events_wait(30000);
SQL
} >"$setup_log" 2>&1
{ [ -n "$PORT" ] && server_up && [ "$(tail -1 "$setup_log")" = t ]; }
verdict "setup: own cluster on port $PGPORT (fsync, synchronous_commit on; naboom preloaded, writer on $DB), community $SLUG with $CLIENTS reporters and responders through the API" $? \
    'cat "$setup_log"; tail -n 20 "$W/server.log"'
[ "$N" -eq "$PASSED" ] || finish "setup failed"

# ---------------------------------------------------------------- clients
# round K R: the psql script of client K's round R.  Built with printf
# only, no subshell or here-document per line: forks are slow on these
# machines, and a client busy writing its next script is not loading the
# server.
round() {
    local k=$1 r=$2 i ref s who extra
    local res="SELECT pg_catalog.set_config('request.jwt.claims', '{\"sub\":\"f-res-$k\"}', true) \\g /dev/null"
    local resp="SELECT pg_catalog.set_config('request.jwt.claims', '{\"sub\":\"f-resp-$k\"}', true) \\g /dev/null"
    local cats=(fire theft)
    # 10 ms between transactions: a moderate load (these machines have two
    # cores, and others test on them too), still a few hundred writes a second
    local pace="SELECT pg_catalog.pg_sleep(0.01) \\g /dev/null"
    printf '%s\n' "SET ROLE naboom_user;"
    for ((i = 1; i <= PER_ROUND; i++)); do
        ref="f-$k-$r-$i"
        printf '%s\n' "\\warn TRY report $ref" "BEGIN;" "$res" \
            "SELECT reference AS ref FROM naboom_api.report_incident('$SLUG', '${cats[i % 2]}', -24.50 + ($RANDOM - 16384) / 400000.0, 28.72 + ($RANDOM - 16384) / 400000.0, 'Fault test report $ref: gate forced, two people seen', client_ref => '$ref') \\gset" \
            "COMMIT;" "\\warn ACK report $ref :ref" "$pace" \
            "\\warn TRY ack $ref" "BEGIN;" "$resp" \
            "SELECT 1 FROM naboom_api.acknowledge_incident(:'ref') \\g /dev/null" \
            "COMMIT;" "\\warn ACK ack $ref" "$pace"
        for s in verified dispatched en_route note on_scene resolved closed; do
            if [ "$s" = note ]; then
                printf '%s\n' "\\warn TRY note $ref" "BEGIN;" "$resp" \
                    "SELECT seq AS nseq FROM naboom_api.add_note(:'ref', 'On the way, five minutes out', false) \\gset" \
                    "COMMIT;" "\\warn ACK note $ref :nseq" "$pace"
                continue
            fi
            who="$resp"; extra=""
            [ "$s" = closed ] && who="$res"
            [ "$s" = resolved ] && extra=", note => 'Handled, suspects gone'"
            printf '%s\n' "\\warn TRY status $ref $s" "BEGIN;" "$who" \
                "SELECT 1 FROM naboom_api.transition_incident(:'ref', '$s'$extra) \\g /dev/null" \
                "COMMIT;" "\\warn ACK status $ref $s" "$pace"
        done
    done
}

# wait_server: until the server accepts connections or the run stops
wait_server() {
    while [ ! -e "$W/stop" ] && ! server_up; do sleep 0.2; done
}

client() {
    local k=$1 r=0
    while [ ! -e "$W/stop" ]; do
        r=$((r + 1))
        round "$k" "$r" >"$W/c$k.sql"
        PGAPPNAME="faults-client-$k" "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" \
            -f "$W/c$k.sql" >>"$W/c$k.log" 2>&1 || wait_server
    done
}

sealer() {
    while [ ! -e "$W/stop" ]; do
        for _ in $(seq 20); do
            echo "SELECT coalesce(s.seal_id::text, '-') AS sid FROM naboom.seal_audit() s \\gset"
            echo "\\warn SEAL :sid"
            echo "SELECT pg_sleep(0.3) \\g /dev/null"
        done >"$W/sealer.sql"
        PGAPPNAME=faults-sealer "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" \
            -f "$W/sealer.sql" >>"$W/sealer.log" 2>&1 || wait_server
    done
}

acks() { cat "$W"/c*.log 2>/dev/null | grep -c '^ACK '; }

for k in $(seq "$CLIENTS"); do client "$k" & CLIENT_PIDS+=($!); done
sealer & CLIENT_PIDS+=($!)

# ---------------------------------------------------------------- held seal
# A seal_audit whose transaction stays open: returns once a session holds an
# uncommitted seal (its id in $W/held.id) and sleeps, or fails after 10 s.
HELD_PID=""
hold_seal() {
    local end=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$end" ]; do
        PGAPPNAME=faults-held-seal "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" >"$W/held.out" 2>"$W/held.err" <<SQL &
BEGIN;
SELECT s.seal_id IS NOT NULL AS sealed, coalesce(s.seal_id, 0) AS held FROM naboom.seal_audit() s \\gset
\\if :sealed
SELECT :held \\g $W/held.id
SELECT pg_sleep(300);
\\endif
ROLLBACK;
SQL
        HELD_PID=$!
        CLIENT_PIDS+=("$HELD_PID")
        local until=$((SECONDS + 3))
        while [ "$SECONDS" -lt "$until" ] && kill -0 "$HELD_PID" 2>/dev/null; do
            if [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'faults-held-seal'
                    AND state = 'active' AND query LIKE 'SELECT pg_sleep(300)%'" 2>/dev/null)" = 1 ]; then
                return 0
            fi
            sleep 0.1
        done
        wait "$HELD_PID" 2>/dev/null
    done
    return 1
}

# ---------------------------------------------------------------- kills
HELD_ID=""
for kill_no in $(seq "$KILLS"); do
    before=$(acks); t_load=$SECONDS
    sleep "$LOAD_S"
    held_note=""
    if [ "$kill_no" -eq "$HELD_AT" ]; then
        hold_seal && HELD_ID="$(cat "$W/held.id" 2>/dev/null)"
        held_note=", seal ${HELD_ID:-(none)} in progress"
    fi
    during=$(($(acks) - before)); t_load=$((SECONDS - t_load))
    pm="$(postmaster_pid)"
    mapfile -t kids < <(server_pids | grep -vx "$pm")
    t0=$SECONDS
    stragglers=""
    if [ $((kill_no % 2)) -eq 0 ]; then
        # the whole server at once, so nothing gets to finish; then whatever
        # was forked since the scan (the postmaster is dead: nothing after)
        kill -9 "$pm" "${kids[@]}" 2>/dev/null
        mapfile -t alive < <(server_pids)
        [ "${#alive[@]}" -gt 0 ] && kill -9 "${alive[@]}" 2>/dev/null
        how="and at once its ${#kids[@]} children (backends mid-transaction, the naboom writer, the checkpointer)"
    else
        kill -9 "$pm"
        how="alone; its ${#kids[@]} children exited by themselves"
    fi
    # every process of the server has the data directory as its working
    # directory: that finds the children forked up to the kill too
    while { [ -n "$(server_pids)" ] || kill -0 "$pm" 2>/dev/null; } && [ $((SECONDS - t0)) -lt 30 ]; do sleep 0.2; done
    wait "$PM_PARENT" 2>/dev/null
    mapfile -t alive < <(server_pids)
    if [ "${#alive[@]}" -gt 0 ]; then
        stragglers="$(ps -o pid=,args= -p "$(IFS=,; echo "${alive[*]}")" 2>/dev/null)"
        kill -9 "${alive[@]}" 2>/dev/null
        sleep 1
    fi
    gone_s=$((SECONDS - t0))
    lines_before=$(wc -l <"$W/server.log")
    start_server >"$W/start-$kill_no.log" 2>&1
    start_rc=$?
    recovered=$(tail -n +"$((lines_before + 1))" "$W/server.log" | grep -c 'not properly shut down; automatic recovery in progress')
    { [ "$during" -gt 0 ] && [ -z "$stragglers" ] && [ "$start_rc" -eq 0 ] && [ "$recovered" -ge 1 ] && server_up; }
    verdict "kill $kill_no: kill -9 of the postmaster $how (${gone_s} s), with $CLIENTS clients and the sealer at work ($during writes acknowledged in the $t_load s before$held_note); restarted with crash recovery" $? \
        'echo "children still alive after 30 s:"; echo "$stragglers"; cat "$W/start-$kill_no.log"; tail -n 30 "$W/server.log"'
done

# the load once more after the last restart, then stop it
sleep "$LOAD_S"
touch "$W/stop"
end=$((SECONDS + 60))
for pid in "${CLIENT_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.2; done
done
for pid in "${CLIENT_PIDS[@]}"; do pkill -TERM -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
wait "${CLIENT_PIDS[@]}" 2>/dev/null

# ---------------------------------------------------------------- checks
# What the clients were told, as rows: client, line, verb, kind, ref, value.
for k in $(seq "$CLIENTS"); do
    awk -v k="$k" -v OFS='\t' '/^(TRY|ACK) / { print k, NR, $1, $2, $3, ($4 == "" ? "\\N" : $4) }' "$W/c$k.log"
done >"$W/acks.tsv" 2>/dev/null
awk -v OFS='\t' '/^SEAL [0-9]+$/ { print 0, NR, "ACK", "seal", "-", $2 }' "$W/sealer.log" >>"$W/acks.tsv" 2>/dev/null

n_lines=$(wc -l <"$W/acks.tsv")
n_report=$(awk -F'\t' '$3 == "ACK" && $4 == "report"' "$W/acks.tsv" | wc -l)
n_status=$(awk -F'\t' '$3 == "ACK" && $4 == "status"' "$W/acks.tsv" | wc -l)
n_other=$(awk -F'\t' '$3 == "ACK" && ($4 == "ack" || $4 == "note")' "$W/acks.tsv" | wc -l)
n_seal=$(awk -F'\t' '$4 == "seal"' "$W/acks.tsv" | wc -l)
errors="$(cat "$W"/c*.log "$W/sealer.log" 2>/dev/null | grep -E '^(psql:[^ ]* )?ERROR:' | sort | uniq -c | sort -rn)"
{ [ "$n_report" -gt 0 ] && [ "$n_status" -gt 0 ] && [ "$n_seal" -gt 0 ] && [ -z "$errors" ]; }
verdict "load: $n_report reports, $n_status transitions, $n_other acknowledgements and notes, $n_seal seals acknowledged; no request failed with an ERROR, only with the lost connections" $? \
    'echo "$errors"'

{ [ -n "$HELD_ID" ] && [ "$HELD_ID" -gt 0 ] 2>/dev/null && grep -q "faults-held-seal: LOG:  naboom audit seal $HELD_ID:" "$W/server.log"; }
verdict "kill $HELD_AT: a seal_audit was in progress (seal ${HELD_ID:-none} written and logged, its transaction open)" $? \
    'cat "$W/held.out" "$W/held.err"; grep "naboom audit seal" "$W/server.log" | tail -n 5'

caught_up="$(sql -c "SELECT naboom.events_wait(60000), naboom.audit_queue_wait(60000)" 2>&1)"
sql >"$W/load-acks.log" 2>&1 <<SQL
CREATE SCHEMA faults_check;
CREATE TABLE faults_check.ack (client int, line int, verb text, kind text, ref text, val text);
\\copy faults_check.ack FROM '$W/acks.tsv'
CREATE INDEX ON faults_check.ack (ref);
ANALYZE faults_check.ack;
SQL
[ "$caught_up" = "t|t" ] || echo "# events_wait / audit_queue_wait: $caught_up"

# Not an assertion: the requests whose COMMIT was in flight at a kill (a TRY
# without its ACK), and how many of them committed all the same.
inflight="$(sql -F ' ' 2>&1 <<'SQL'
WITH t AS (
	SELECT a.* FROM faults_check.ack a WHERE a.verb = 'TRY' AND NOT EXISTS (
		SELECT 1 FROM faults_check.ack b WHERE b.verb = 'ACK' AND b.client = a.client AND b.ref = a.ref
			AND b.kind = a.kind AND (a.kind <> 'status' OR b.val = a.val)))
SELECT count(*), count(*) FILTER (WHERE CASE t.kind
		WHEN 'report' THEN i.incident_id IS NOT NULL
		WHEN 'ack' THEN i.acknowledged_by IS NOT NULL
		WHEN 'status' THEN EXISTS (SELECT 1 FROM naboom.incident_timeline x WHERE x.incident_id = i.incident_id
			AND x.entry_kind = 'status_changed' AND x.to_status = t.val)
		ELSE EXISTS (SELECT 1 FROM naboom.incident_timeline x WHERE x.incident_id = i.incident_id AND x.entry_kind = 'note') END)
FROM t LEFT JOIN naboom.incident i ON i.client_ref = t.ref
SQL
)"
read -r n_inflight n_inflight_committed <<<"$inflight"
echo "# ${n_inflight:-?} requests were in flight at a kill (no ACK); ${n_inflight_committed:-?} of them had committed all the same"

# the incidents of the test's community, as a FROM item named i
I="(SELECT x.* FROM naboom.incident x JOIN naboom.community c ON c.community_id = x.community_id WHERE c.slug = '$SLUG') i"
check "every acknowledged report is there, with the reference it returned" "
SELECT a.ref, a.val, i.reference FROM faults_check.ack a LEFT JOIN naboom.incident i ON i.client_ref = a.ref
WHERE a.verb = 'ACK' AND a.kind = 'report' AND i.reference IS DISTINCT FROM a.val
UNION ALL
SELECT 'acknowledgements loaded', count(*)::text, '$n_lines' FROM faults_check.ack HAVING count(*) <> $n_lines"

check "every acknowledged transition is in its incident's timeline; each incident's status is its last acknowledged one or the one in flight at a crash" "
WITH last AS (
	SELECT a.ref,
		coalesce((SELECT b.val FROM faults_check.ack b WHERE b.ref = a.ref AND b.verb = 'ACK' AND b.kind = 'status'
			ORDER BY b.line DESC LIMIT 1), 'reported') AS acked,
		(SELECT b.val FROM faults_check.ack b WHERE b.ref = a.ref AND b.verb = 'TRY' AND b.kind = 'status'
			ORDER BY b.line DESC LIMIT 1) AS tried
	FROM faults_check.ack a WHERE a.verb = 'ACK' AND a.kind = 'report')
SELECT 'status', l.ref, i.status, l.acked, l.tried FROM last l JOIN naboom.incident i ON i.client_ref = l.ref
WHERE i.status <> l.acked AND i.status IS DISTINCT FROM l.tried
UNION ALL
SELECT 'not in the timeline', a.ref, a.val, NULL, NULL FROM faults_check.ack a
WHERE a.verb = 'ACK' AND a.kind = 'status' AND NOT EXISTS (
	SELECT 1 FROM naboom.incident i JOIN naboom.incident_timeline t
		ON t.community_id = i.community_id AND t.incident_id = i.incident_id
	WHERE i.client_ref = a.ref AND t.entry_kind = 'status_changed' AND t.to_status = a.val)"

check "every acknowledged acknowledgement and note is in the timeline" "
SELECT a.kind, a.ref, a.val FROM faults_check.ack a
WHERE a.verb = 'ACK' AND a.kind IN ('ack', 'note') AND NOT EXISTS (
	SELECT 1 FROM naboom.incident i JOIN naboom.incident_timeline t
		ON t.community_id = i.community_id AND t.incident_id = i.incident_id
	WHERE i.client_ref = a.ref AND i.acknowledged_by IS NOT NULL
		AND CASE a.kind WHEN 'ack' THEN t.entry_kind = 'acknowledged'
			ELSE t.entry_kind = 'note' AND t.seq = a.val::int END)"

check "every incident's timeline is whole: seq 1..n, 'reported' first, status changes chained from it to the incident's status" "
WITH s AS (
	SELECT t.*, lag(t.to_status) OVER w AS prev, row_number() OVER w AS n, count(*) OVER (PARTITION BY t.incident_id) AS total,
		last_value(t.to_status) OVER (PARTITION BY t.incident_id ORDER BY t.seq
			ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS final
	FROM naboom.incident_timeline t JOIN $I USING (community_id, incident_id)
	WHERE t.entry_kind IN ('reported', 'status_changed')
	WINDOW w AS (PARTITION BY t.incident_id ORDER BY t.seq))
SELECT 'chain', s.incident_id, s.seq, s.entry_kind, s.from_status, s.prev FROM s
WHERE (s.n = 1) <> (s.entry_kind = 'reported' AND s.seq = 1) OR (s.n > 1 AND s.from_status IS DISTINCT FROM s.prev)
UNION ALL
SELECT 'status', i.incident_id, NULL, i.status, NULL, (SELECT max(s.final) FROM s WHERE s.incident_id = i.incident_id) FROM $I
WHERE i.status IS DISTINCT FROM (SELECT max(s.final) FROM s WHERE s.incident_id = i.incident_id)
UNION ALL
SELECT 'seq', t.incident_id, max(t.seq), NULL, NULL, count(*)::text
FROM naboom.incident_timeline t JOIN $I USING (community_id, incident_id)
GROUP BY t.incident_id HAVING max(t.seq) <> count(*) OR min(t.seq) <> 1"

check "every change has its audit rows (the incident's INSERT, an UPDATE per version after 1, an INSERT per timeline row) and no audit row describes a change that is not there" "
WITH au AS (
	SELECT a.incident_id, a.action, a.table_name, a.row_key FROM naboom.audit_log a
	JOIN naboom.community c ON c.community_id = a.community_id AND c.slug = '$SLUG'
	WHERE a.table_name IN ('naboom.incident', 'naboom.incident_timeline') AND a.action IN ('INSERT', 'UPDATE', 'DELETE'))
SELECT 'incident', i.incident_id, i.version::text,
	(SELECT count(*) FROM au WHERE au.incident_id = i.incident_id AND au.table_name = 'naboom.incident' AND au.action = 'INSERT')
		|| ' inserts, ' ||
	(SELECT count(*) FROM au WHERE au.incident_id = i.incident_id AND au.table_name = 'naboom.incident' AND au.action = 'UPDATE')
		|| ' updates'
FROM $I
WHERE (SELECT count(*) FROM au WHERE au.incident_id = i.incident_id AND au.table_name = 'naboom.incident' AND au.action = 'INSERT') <> 1
	OR (SELECT count(*) FROM au WHERE au.incident_id = i.incident_id AND au.table_name = 'naboom.incident' AND au.action = 'UPDATE') <> i.version - 1
UNION ALL
SELECT 'timeline row without its INSERT', t.incident_id, t.seq::text, t.entry_kind
FROM naboom.incident_timeline t JOIN $I USING (community_id, incident_id)
WHERE NOT EXISTS (SELECT 1 FROM au WHERE au.table_name = 'naboom.incident_timeline' AND au.action = 'INSERT'
	AND au.row_key = jsonb_build_object('community_id', t.community_id, 'incident_id', t.incident_id, 'seq', t.seq))
UNION ALL
SELECT 'audit row of a missing row', au.incident_id, au.action, au.row_key::text FROM au
WHERE au.action <> 'DELETE' AND CASE au.table_name
	WHEN 'naboom.incident' THEN NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.incident_id = au.incident_id)
	ELSE NOT EXISTS (SELECT 1 FROM naboom.incident_timeline t WHERE t.incident_id = au.incident_id
		AND t.seq = (au.row_key->>'seq')::int) END"

check "every incident has its events (one incident.created, an incident.status_changed per status change, an incident.acknowledged per acknowledgement) and no event names a missing incident" "
WITH ev AS (
	SELECT e.incident_id, e.topic, count(*) AS n FROM naboom.event e
	JOIN naboom.community c ON c.community_id = e.community_id AND c.slug = '$SLUG'
	WHERE e.incident_id IS NOT NULL GROUP BY 1, 2),
tl AS (
	SELECT t.incident_id, count(*) FILTER (WHERE t.entry_kind = 'status_changed') AS changes,
		count(*) FILTER (WHERE t.entry_kind = 'acknowledged') AS acks
	FROM naboom.incident_timeline t JOIN $I USING (community_id, incident_id) GROUP BY 1)
SELECT 'events', i.incident_id, coalesce(cr.n, 0), coalesce(sc.n, 0), tl.changes, coalesce(ak.n, 0), tl.acks
FROM $I JOIN tl USING (incident_id)
LEFT JOIN ev cr ON cr.incident_id = i.incident_id AND cr.topic = 'incident.created'
LEFT JOIN ev sc ON sc.incident_id = i.incident_id AND sc.topic = 'incident.status_changed'
LEFT JOIN ev ak ON ak.incident_id = i.incident_id AND ak.topic = 'incident.acknowledged'
WHERE coalesce(cr.n, 0) <> 1 OR coalesce(sc.n, 0) <> tl.changes OR coalesce(ak.n, 0) <> tl.acks
UNION ALL
SELECT 'event of a missing incident', ev.incident_id, ev.n, NULL, NULL, NULL, NULL FROM ev
WHERE NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.incident_id = ev.incident_id)"

check "the event stream has no gap: every committed event published (publisher caught up: $caught_up), stream ids 1..n" "
SELECT count(*) FILTER (WHERE seq IS NULL) AS unpublished, count(*) AS events, min(seq), max(seq)
FROM naboom.event HAVING count(*) FILTER (WHERE seq IS NULL) > 0 OR min(seq) <> 1 OR max(seq) <> count(*)
	OR '$caught_up' <> 't|t'"

check "every acknowledged seal is there" "
SELECT a.val FROM faults_check.ack a WHERE a.kind = 'seal' AND NOT EXISTS (
	SELECT 1 FROM naboom.audit_seal s WHERE s.seal_id = a.val::bigint)"

held="${HELD_ID:-0}"
check "the seal in progress at kill $HELD_AT (${HELD_ID:-none}) is gone; the next seal chains over its id to the one before" "
SELECT 'no seal was held' WHERE $held = 0
UNION ALL
SELECT 'seal $held is there' FROM naboom.audit_seal s WHERE s.seal_id = $held
UNION ALL
SELECT format('next seal %s, the one before %s', n.seal_id, p.seal_id) FROM (SELECT 1) x
LEFT JOIN LATERAL (SELECT * FROM naboom.audit_seal s WHERE s.seal_id > $held ORDER BY s.seal_id LIMIT 1) n ON true
LEFT JOIN LATERAL (SELECT * FROM naboom.audit_seal s WHERE s.seal_id < $held ORDER BY s.seal_id DESC LIMIT 1) p ON true
WHERE n.seal_id IS NULL OR p.seal_id IS NULL OR n.prev_hash <> p.seal_hash OR n.xid_from <> p.xid_to"

verify="$(sql -F ' | ' <<'SQL' 2>&1
SELECT (naboom.seal_audit()).seal_id IS NOT NULL \g /dev/null
SELECT problem, seal_id, audit_id, detail FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day');
SQL
)"
summary="$(echo "$verify" | tail -1 | cut -d'|' -f4 | sed 's/^ *//')"
{ [ "$(echo "$verify" | wc -l)" -eq 1 ] && [[ "$verify" == "verified | "* ]]; }
verdict "after a final seal_audit, verify_audit says verified ($summary)" $? \
    'echo "$verify"'

# 0.5.0's verify_audit, as released (frozen in its upgrade script), run on
# the same log as pg_temp.verify_audit_050: it wanted seal ids without holes.
old_fn="$(awk '/^CREATE OR REPLACE FUNCTION naboom\.verify_audit\(/ { on = 1 } on { print } on && /^\$\$;$/ { exit }' \
    "$ROOT/extension/upgrade/naboom--0.4.0--0.5.0.sql" | sed '1s/naboom\.verify_audit(/pg_temp.verify_audit_050(/')"
old="$(sql -F ' | ' 2>&1 <<SQL
$old_fn
SELECT problem, seal_id FROM pg_temp.verify_audit_050(now() - interval '1 day', now() + interval '1 day')
WHERE problem <> 'verified';
SQL
)"
holes="$(echo "$old" | grep -c '^chain_broken')"
{ [ -n "$old_fn" ] && [ -n "$HELD_ID" ] && echo "$old" | grep -qE "^chain_broken \| [0-9]+$" &&
  ! echo "$old" | grep -qvE '^(chain_broken \| [0-9]+|broken \| )$'; }
verdict "0.5.0's verify_audit (it followed seal ids) says chain_broken on the same log: the fault this test catches ($holes holes)" $? \
    'echo "$old"'

sql -c "DROP SCHEMA faults_check CASCADE" >/dev/null 2>&1
finish "the run stopped early"
