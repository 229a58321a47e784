#!/usr/bin/env bash
# naboom benchmark (design.md section 9): the API's write paths and spatial
# reads, each beside its floor measured in the same run.
#
#   bash bench/run.sh              # measure, then print the report
#   bash bench/run.sh --report     # print the report again from
#                                  # bench/out/results.dump (or the dump given)
#
# This script only orchestrates.  Every measurement goes into the bench.run_*
# tables of the bench database (bench/results.sql); bench/report.sql computes
# every figure, ratio and verdict from them.  At the end the tables are
# dumped to bench/out/results.dump, so the report can be printed again later.
#
# What it does
#   1. scripts/setup-debian.sh (packages if missing, make, make install)
#      unless NABOOM_SKIP_SETUP=1;
#   2. a throw-away PostgreSQL 15 cluster (pg_virtualenv -t) with
#      shared_buffers=2GB, max_connections=50, checkpoint_timeout=15min,
#      max_wal_size=8GB, fsync=on and synchronous_commit=on (the default;
#      pg_virtualenv would otherwise turn fsync off), track_commit_timestamp=on
#      (for the commit-to-publication latency of events), and naboom
#      preloaded as in production (shared_preload_libraries=naboom: its
#      audit writer runs and publishes the event stream,
#      naboom.writer_database=naboom_bench);
#   3. bench/load.sql: 10 communities, 1,000 areas, 10,000 members (2,500
#      responders, 2,000 of them on duty with a position), 1,000,000
#      incidents over two years and their timeline, 10,000 alert
#      subscriptions, bench.floor_incident and bench.floor_position (copies
#      with the same indexes and no triggers), with auditing and events off
#      (the audit log and the event stream are empty after it), then
#      bench/helpers.sql (role naboom_bench, bench.next_step, VACUUM
#      ANALYZE) and bench/results.sql (the results tables);
#   4. pgbench as naboom_bench (-M prepared), at 1 and 8 clients, each pair
#      run back to back, each run after making the positions fresh and a
#      CHECKPOINT.  First the spatial reads and positions, on the loaded
#      data (before the write runs add 100,000s of fresh live reports):
#        floor_nearest.pgbench      vs  nearest_responders.pgbench
#        floor_duplicates.pgbench   vs  duplicate_candidates.pgbench
#        floor_near.pgbench         vs  incidents_near.pgbench
#        floor_position.pgbench     vs  update_position.pgbench
#      then bench/explain.sql (plans of the spatial statements, to
#      bench/out/explain-reads.txt), then the write paths, each also right
#      after with events off for naboom_bench (ALTER ROLE ... SET
#      naboom.events = off, reset after; audited), then with auditing off
#      (naboom.audit = off; events on):
#        floor_report.pgbench       vs  report_incident.pgbench
#                                       and report_incident_noevents
#                                       and report_incident_noaudit
#        floor_transition.pgbench   vs  transition_incident.pgbench
#                                       and transition_incident_noevents
#                                       and transition_incident_noaudit
#      then report_incident once more at the largest client count with
#      tools/naboom-listen following the stream (report_incident_listen:
#      commit-to-delivery latency), and bench/explain.sql again
#      (bench/out/explain-writes.txt, with the reports they added in the
#      duplicate window).  Each run is a row of bench.run_result (with
#      pgbench's output), its counters before and after in bench.run_counter
#      (WAL, audit rows, last event id, alerts, HOT updates), its
#      transactions (-l logs, \copy) in bench.run_tx, its events with their
#      commit-to-publication latency in bench.run_event;
#   4b. the lists (bench/README.md, "Lists"), after the spatial reads and
#      before the write paths: bench/lists_prepare.sql, then each list's
#      first page (and page 101 of the feed) beside its bare-SQL floor at
#      each client count:
#        floor_list_queue.pgbench     vs  list_queue.pgbench
#        floor_list_feed.pgbench      vs  list_feed.pgbench
#        floor_list_feed_anon.pgbench vs  list_feed_anon.pgbench
#        floor_list_mine.pgbench      vs  list_mine.pgbench
#        floor_list_deep.pgbench      vs  list_deep.pgbench
#      then changes filed through the API in community 1
#      (list_changes_report, list_changes_transition; pgbench -t) and
#      incident_changes catching up with them (list_changes.pgbench vs
#      floor_list_changes.pgbench, pgbench -t <pages>; bench/lists_changes.sql
#      counts the pages), then bench/explain_lists.sql (the plans, to
#      bench/out/explain-lists.txt) and bench/lists_plans.sql (their shape);
#   5. reads the whole event stream as the service with
#      events_since(after, 1000), a page per transaction (bench/
#      read_events.pgbench), timed by pgbench;
#   6. seals the whole audit log (naboom.seal_audit(100000) until NULL) and
#      checks it with one naboom.verify_audit, both timed (bench.run_step,
#      bench.run_verify);
#   7. retention, last because it changes the data set (bench/
#      retention_prepare.sql, retention_floor.sql): expired data made inside
#      the data set (a tenth of the incidents closed 11 years ago, members
#      inactive for 7.5 years, an old audit month and audit rows past six
#      months), the same changes as bare statements on copies of the tables
#      (the floor, bench.retention_floor), then CALL
#      naboom.run_retention(false) as a top-level command, timed
#      (bench.run_retention, run_retention_step); then report_incident idle
#      and again beside a retention run over expired data made for it
#      (report_incident_idle, report_incident_retention), at each client
#      count;
#   8. bench/report.sql prints the report (bench/out/report.txt), and the
#      results tables are dumped to bench/out/results.dump.
#
# Environment
#   SCALE=full|small      full: the data set above; small: 1/100 of it
#   SECTIONS=all          the sections to measure, of: reads (4: the spatial
#                         reads and positions), lists (4b), writes (4: the
#                         write paths), stream (5), audit (6), panic (6b:
#                         bench/panic.sh, the emergency path under load, in
#                         a community of its own; its figures in
#                         bench/out/panic.txt and the report), samework
#                         (6c: bench/samework.sh, report and transition
#                         beside their same-work floors, audit on/off, the
#                         per-alert fit), retention (7);
#                         always in that order, after the load
#   DURATION=20           seconds per pgbench run (37 runs; SCALE=small: 3)
#   WARMUP=5              seconds of each script at 8 clients before measuring
#                         (SCALE=small: 1)
#   CLIENTS="1 8"         client counts
#   PROFILE=1             also load pg_stat_statements (track=all, with
#                         planning) and write the top statements of each run
#                         to bench/out/statements-*.txt; it slows the API
#                         path more than the floor, so figures are not
#                         comparable with normal runs
#   BENCH_SUBSCRIPTIONS="5000 1000 0"
#                         subscriptions per community of samework's
#                         per-alert fit (10 communities: 50k, 10k, 0;
#                         SCALE=small: "50 10 0"); with
#                         samework the load makes the largest of them (the
#                         other sections then see that many: run
#                         SECTIONS=samework on its own); samework's main
#                         comparisons run at MAIN_SUBS (1000: design scale)
#   NABOOM_SKIP_SETUP=1   skip scripts/setup-debian.sh
#   NABOOM_BENCH_TIMEOUT  seconds before the whole run is killed (default 3600)
#
# Outputs (gitignored) in bench/out/: report.txt, results.dump, load.log,
# pgbench-*.txt (pgbench's own output, with per-command latencies), log/
# (per-transaction logs), explain-reads.txt, explain-writes.txt,
# verify-audit.txt (what naboom.verify_audit returned), listen.txt and
# listen.err (what naboom-listen received, with the receive time, and its
# diagnostics), pgbench-read_events.txt, retention-* (the retention
# section's steps and diagnostics, see retention below), postgresql.log.
#
# Exit status: 0 all targets met, 2 a target missed, 1 the benchmark failed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/lib.sh
. "$BENCH_DIR/../scripts/lib.sh"

SCALE="${SCALE:-full}"
if [ "$SCALE" = small ]; then
    DURATION="${DURATION:-3}"
    WARMUP="${WARMUP:-1}"
else
    DURATION="${DURATION:-20}"
    WARMUP="${WARMUP:-5}"
fi
CLIENTS="${CLIENTS:-1 8}"
PROFILE="${PROFILE:-0}"
# The sections, in the order they run (whatever order SECTIONS names them
# in); the load always runs.
ALL_SECTIONS="reads lists writes stream audit panic samework retention"
SECTIONS="${SECTIONS:-all}"
SECTIONS=$(tr ',' ' ' <<<"$SECTIONS" | xargs)
[ "$SECTIONS" != all ] || SECTIONS=$ALL_SECTIONS
for _s in $SECTIONS; do
    [[ " $ALL_SECTIONS " == *" $_s "* ]] || die "SECTIONS: unknown section '$_s' (sections: all $ALL_SECTIONS)"
done
[ -n "$SECTIONS" ] || die "SECTIONS is empty (sections: all $ALL_SECTIONS)"
# in run order
SECTIONS=$(for _s in $ALL_SECTIONS; do [[ " $SECTIONS " != *" $_s "* ]] || printf '%s ' "$_s"; done | xargs)
# section NAME: whether this run measures the section NAME
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
OUT="$BENCH_DIR/out"
DB=naboom_bench

# Per community: MEMBERS members, RESPONDERS responders (on duty unless
# their number is a multiple of 5: ONDUTY of them), SUBSCRIPTIONS alert
# areas.
case "$SCALE" in
    full)  INCIDENTS=1000000 MEMBERS=1000 RESPONDERS=250 POOL=20000 SUBSCRIPTIONS=1000 ;;
    small) INCIDENTS=10000   MEMBERS=10   RESPONDERS=2   POOL=200   SUBSCRIPTIONS=10 ;;
    *) die "SCALE must be full or small, not '$SCALE'" ;;
esac
# samework's per-alert fit (BENCH_SUBSCRIPTIONS, per community): the load
# makes the largest level; the main comparisons run at the design's count.
MAIN_SUBS=$SUBSCRIPTIONS
BENCH_SUBSCRIPTIONS="${BENCH_SUBSCRIPTIONS-$((SUBSCRIPTIONS * 5)) $SUBSCRIPTIONS 0}"
if section samework; then
    for _s in $BENCH_SUBSCRIPTIONS; do [ "$_s" -le "$SUBSCRIPTIONS" ] || SUBSCRIPTIONS=$_s; done
fi
ONDUTY=$((RESPONDERS - RESPONDERS / 5))

# The targets are bench/report.sql's; the runs and their floors are here.
declare -A FLOOR_OF=([report_incident]=floor_report [transition_incident]=floor_transition
                     [update_position]=floor_position [nearest_responders]=floor_nearest
                     [duplicate_candidates]=floor_duplicates [incidents_near]=floor_near)
WRITES="report_incident transition_incident"
# the client count of the run with naboom-listen: the largest of CLIENTS
LISTEN_CLIENTS=$(tr ' ' '\n' <<<"$CLIENTS" | sort -n | tail -n 1)
READS="nearest_responders duplicate_candidates incidents_near"
# Retention (after every other section): expired emergency records made
# inside the loaded data set (a tenth of the incidents), old audit rows (as
# many in a month past the audit period, and as many again past
# anonymise_after).
RET_EXPIRE=$((INCIDENTS / 10))
RET_AUDIT_ROWS=$((INCIDENTS / 10))

# ---------------------------------------------------------------- helpers
now_s() { date +%s.%N; }

# sql TEXT...: runs each TEXT as the superuser in the bench database, stops
# at the first error, prints the values unaligned
sql() {
    local a=()
    for s in "$@"; do a+=(-c "$s"); done
    psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" "${a[@]}"
}

# step NAME CLIENTS ERROR: records a step that failed or was not measured
step_error() {
    sql "INSERT INTO bench.run_step (step, clients, error) VALUES ('$1', ${2:-NULL}, \$e\$$3\$e\$)"
}

# listen_start: starts tools/naboom-listen in the background as the
# superuser (the naboom service), after the last published event, with
# each line it prints stamped with its wall-clock receive time (perl,
# Time::HiRes: microseconds, the clock PostgreSQL's commit timestamps
# use), "receive_epoch id" in $OUT/listen.txt; waits until it has LISTENed
# and caught up.  Sets LISTEN_PID, or leaves it empty (and the reason in
# bench.run_step, step listen) when the listener cannot be used.
LISTEN_PID=
listen_start() {
    local after
    LISTEN_PID=
    rm -f "$OUT/listen.txt" "$OUT/listen.err"
    if [ -z "${LISTEN_BIN:-}" ] || [ ! -x "$LISTEN_BIN" ]; then
        step_error listen "$1" "naboom-listen was not built (make -C tools)"; return 0
    fi
    if ! perl -MTime::HiRes -e 1 2>/dev/null; then
        step_error listen "$1" "perl with Time::HiRes is missing"; return 0
    fi
    after=$(sql 'SELECT naboom.events_wait(10000)' 'SELECT coalesce(max(seq), 0) FROM naboom.event' | tail -n 1)
    # --timeout: should this script die before listen_stop, the listener
    # (which reconnects for ever) ends on its own once the events stop.
    "$LISTEN_BIN" --after "$after" --timeout 30 "dbname=$DB" 2>"$OUT/listen.err" > >(perl -MTime::HiRes=time -ne '
        BEGIN { $| = 1 }
        my @f = split /\t/;
        shift @f if $f[0] eq "PANIC";
        printf "%.6f %s\n", time, $f[0];' >"$OUT/listen.txt") &
    LISTEN_PID=$!
    for _ in $(seq 100); do
        grep -q 'caught up' "$OUT/listen.err" 2>/dev/null && return 0
        kill -0 "$LISTEN_PID" 2>/dev/null || break
        sleep 0.1
    done
    step_error listen "$1" "naboom-listen did not connect and catch up within 10 s (see bench/out/listen.err)"
    kill "$LISTEN_PID" 2>/dev/null || true
    wait "$LISTEN_PID" 2>/dev/null || true
    LISTEN_PID=
}

# listen_stop RUN CLIENTS: once the run's events are published (run_finish
# waited for them), waits (up to 10 s) until the listener has printed the
# last of them, stops it (SIGTERM), and loads its receive times into
# bench.run_event (deliver_ms: the writer's commit to the line reaching the
# pipe).
listen_stop() {
    local last
    [ -n "$LISTEN_PID" ] || return 0
    last=$(sql "SELECT coalesce(max(seq), 0) FROM bench.run_event WHERE run_id = $1")
    for _ in $(seq 100); do
        [ "$(tail -n 1 "$OUT/listen.txt" 2>/dev/null | cut -d ' ' -f 2)" = "$last" ] && break
        sleep 0.1
    done
    kill "$LISTEN_PID" 2>/dev/null || true
    wait "$LISTEN_PID" 2>/dev/null || true
    LISTEN_PID=
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" 2>>"$OUT/listen.err" <<SQL
CREATE TEMP TABLE received (at_epoch double precision, seq bigint);
\copy received FROM '$OUT/listen.txt' WITH (DELIMITER ' ')
UPDATE bench.run_event e
SET deliver_ms = 1000 * (r.at_epoch - extract(epoch FROM pg_catalog.pg_xact_commit_timestamp(x.xid::xid)))
FROM received r, naboom.event x
WHERE e.run_id = $1 AND e.seq = r.seq AND x.event_id = e.event_id;
INSERT INTO bench.run_step (step, clients) VALUES ('listen', $2);
SQL
    then
        step_error listen "$2" "joining the listener's output to naboom.event failed (see bench/out/listen.err)"
    fi
}

# fresh_positions: every known position reported now, so that none is older
# than naboom.position_max_age (600 s) during the next run; in the API's
# table and in the floor's copy alike.  Not audited: it is the benchmark's
# bookkeeping, not the workload (2,000 audit rows per run otherwise).
fresh_positions() {
    psql -X -q -d "$DB" -c 'SET naboom.audit = off' \
        -c "UPDATE naboom.responder_position SET reported_at = now() WHERE position IS NOT NULL" \
        -c "UPDATE bench.floor_position SET reported_at = now() WHERE position IS NOT NULL"
}

# run_pgbench NAME SCRIPT CLIENTS SECONDS [TRANSACTIONS]: runs pgbench (for
# SECONDS, or TRANSACTIONS per client when given) after making the
# positions fresh and a CHECKPOINT, between bench.run_start and
# bench.run_finish (a bench.run_result row, the counters before and after,
# the run's events), then loads its per-transaction logs into bench.run_tx.
# A NAME ending in _noaudit runs with naboom.audit = off for naboom_bench,
# one ending in _noevents with naboom.events = off (set on the role, so
# pgbench's new connections pick it up; reset after).  During a run named
# ..._listen tools/naboom-listen follows the stream (listen_start,
# listen_stop); during one named ..._retention naboom.run_retention runs
# beside pgbench (retention_bg_start, retention_bg_stop).
run_pgbench() {
    local name=$1 script=$2 c=$3 secs=$4 logdir out table=NULL id t0 t1 rc=0 setting= limit load0
    # a 5th argument: that many transactions per client (-t) instead of
    # SECONDS (recorded as 0 seconds)
    if [ -n "${5:-}" ]; then limit=(-t "$5"); secs=0; else limit=(-T "$secs"); fi
    logdir="$OUT/log/$name-c$c"
    out="$OUT/pgbench-$name-c$c.txt"
    rm -rf "$logdir"; mkdir -p "$logdir"
    case "$name" in
        *_noaudit) setting=naboom.audit ;;
        *_noevents) setting=naboom.events ;;
    esac
    [ -z "$setting" ] || sql "ALTER ROLE naboom_bench SET $setting = off"
    fresh_positions
    sql 'CHECKPOINT'
    [ "$PROFILE" != 1 ] || sql 'SELECT pg_stat_statements_reset()' >/dev/null
    case "$name" in
        update_position) table="'naboom.responder_position'" ;;
        floor_position) table="'bench.floor_position'" ;;
    esac
    # the statistics of the last run's backends are flushed as they exit
    [ "$table" = NULL ] || sleep 1
    id=$(sql "SELECT bench.run_start('$name', '$script', $c, $secs, $table)")
    # the machine's load average before and after (the CPUs are shared)
    load0=$(cut -d ' ' -f 1-3 /proc/loadavg)
    case "$name" in *_listen) listen_start "$c" ;; *_retention) retention_bg_start "$c" ;; esac
    t0=$(now_s)
    # the floor of incident_changes reads naboom.event and naboom.incident
    # as the superuser (no RLS, as inside the API's SECURITY DEFINER function)
    local user=naboom_bench
    [ "$name" != floor_list_changes ] || user=$PGUSER
    PGUSER=$user pgbench -n -M prepared -c "$c" -j "$c" "${limit[@]}" -r \
        -l --log-prefix="$logdir/tx" \
        "${PGBENCH_VARS[@]}" -D clients="$c" \
        -f "$BENCH_DIR/$script" "$DB" >"$out" 2>&1 || rc=$?
    t1=$(now_s)
    [ "$table" = NULL ] || sleep 1
    log "$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v id="$id" -v rc="$rc" -v t0="$t0" -v t1="$t1" <<SQL
\set output \`cat '$out'\`
SELECT bench.run_finish(:id, :t0, :t1, :rc, :'output');
CREATE TEMP TABLE tx (client_id text, tx_no text, latency text, script_no text, epoch text, epoch_us text);
\copy tx FROM PROGRAM 'cat $logdir/tx.* 2>/dev/null; true' WITH (DELIMITER ' ')
INSERT INTO bench.run_tx SELECT :id, latency::bigint, pg_catalog.to_timestamp(epoch::bigint + epoch_us::bigint / 1e6)
FROM tx WHERE latency ~ '^[0-9]+$';
SQL
)"
    sql "INSERT INTO bench.run_step (step, clients, result, detail, figures) VALUES ('loadavg', $c, '$name',
        'before $load0, after $(cut -d ' ' -f 1-3 /proc/loadavg)', jsonb_build_object('run_id', $id,
        'before', $(cut -d ' ' -f 1 <<<"$load0"), 'after', $(cut -d ' ' -f 1 /proc/loadavg)))"
    case "$name" in *_listen) listen_stop "$id" "$c" ;; *_retention) retention_bg_stop "$c" ;; esac
    [ -z "$setting" ] || sql "ALTER ROLE naboom_bench RESET $setting"
    if [ "$PROFILE" = 1 ]; then
        psql -X -d "$DB" -c "
        SELECT calls, plans, round(total_exec_time::numeric, 1) AS exec_ms,
               round(mean_exec_time::numeric, 4) AS mean_exec_ms, round(mean_plan_time::numeric, 4) AS mean_plan_ms,
               left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
        FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 40" \
        >"$OUT/statements-$name-c$c.txt"
    fi
    if [ "$rc" -ne 0 ] || grep -q 'aborted\|^number of failed transactions: [1-9]' "$out"; then
        warn "pgbench $name at $c clients failed (exit $rc); see $out:"
        grep -m 5 -i 'error\|abort\|fatal' "$out" >&2 || true
    fi
}

# warmup OP...: WARMUP seconds of each operation and its floor at 8 clients
warmup() {
    local op s
    [ "$WARMUP" -gt 0 ] || return 0
    log "warming up (${WARMUP}s per script at 8 clients): $*"
    for op in "$@"; do
        for s in "${FLOOR_OF[$op]}" "$op"; do
            run_pgbench "warmup-$s" "$s.pgbench" 8 "$WARMUP" >/dev/null
        done
    done
}

# explain FILE: bench/explain.sql on a pool incident and a point of
# community 1, as a responder and a member of that community, to $OUT/FILE
explain() {
    local ref out="$OUT/$1"
    fresh_positions
    ref=$(sql "SELECT reference FROM bench.pool WHERE id = 1")
    # community 1 (member-1 is its moderator; member-11 its first
    # responder, on duty; member-<MEMBERS*10-9> a resident), at the centre
    # of its box
    psql -X -v ON_ERROR_STOP=1 -v ref="$ref" -v responder=member-11 -v member="member-$((MEMBERS * 10 - 9))" \
        -v slug=mookgophong -v cat=burglary -v lat=-24.52 -v lon=28.71 \
        -f "$BENCH_DIR/explain.sql" >"$out" 2>&1 \
        || warn "bench/explain.sql failed; see $out"
}

# read_stream: after all runs, the naboom service (the superuser) reads the
# whole stream with events_since(after, 1000) from 0, a page per
# transaction (bench/read_events.pgbench, one client, -M prepared, exactly
# the pages the stream fills), once every event is published: a
# bench.run_result row named read_events, and a bench.run_step row with the
# events published and the largest seq (the report checks it has no gaps).
read_stream() {
    local n maxseq pages id t0 t1 rc=0 out="$OUT/pgbench-read_events.txt"
    read -r n maxseq <<<"$(sql 'SELECT naboom.events_wait(10000)' \
        'SELECT count(*), coalesce(max(seq), 0) FROM naboom.event WHERE seq IS NOT NULL' | tail -n 1)"
    pages=$(((n + 999) / 1000))
    sql "INSERT INTO bench.run_step (step, rows, figures) VALUES ('read_events', $n,
        jsonb_build_object('max_seq', $maxseq, 'pages', $pages))"
    [ "$n" -gt 0 ] || return 0
    log "reading the event stream: $n events, $pages pages of events_since(after, 1000)"
    id=$(sql "SELECT bench.run_start('read_events', 'read_events.pgbench', 1, 0)")
    t0=$(now_s)
    pgbench -n -M prepared -c 1 -j 1 -t "$pages" -D last_id=0 \
        -f "$BENCH_DIR/read_events.pgbench" "$DB" >"$out" 2>&1 || rc=$?
    t1=$(now_s)
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v id="$id" -v rc="$rc" -v t0="$t0" -v t1="$t1" >/dev/null <<SQL
\set output \`cat '$out'\`
SELECT bench.run_finish(:id, :t0, :t1, :rc, :'output');
SQL
    [ "$rc" -eq 0 ] || warn "reading the event stream failed (exit $rc); see $out"
}

# seal_and_verify: after all runs, seal the whole audit log as the pg_cron
# job does, naboom.seal_audit(100000) until it returns NULL (one psql call
# each), timed by the wall clock (step seal), then check every seal and row
# with one naboom.verify_audit over a range that holds every row, timed
# around it (step verify; what it returned in bench.run_verify and
# $OUT/verify-audit.txt).  Then the audit writer's counters (step
# audit_writer).
seal_and_verify() {
    local t0 t1 n rows=0 seals=0 total
    total=$(sql 'SELECT naboom.audit_queue_wait(5000)' 'SELECT count(*) FROM naboom.audit_log' | tail -n 1)
    log "sealing the audit log: $total rows"
    t0=$(now_s)
    while :; do
        if ! n=$(sql 'SELECT row_count FROM naboom.seal_audit(100000)'); then
            step_error seal "" "naboom.seal_audit failed"
            return 0
        fi
        [ -n "$n" ] || break
        rows=$((rows + n)); seals=$((seals + 1))
    done
    t1=$(now_s)
    sql "INSERT INTO bench.run_step (step, started_at, ended_at, seconds, rows, figures)
        VALUES ('seal', to_timestamp($t0), to_timestamp($t1), $t1 - $t0, $rows, jsonb_build_object('seals', $seals))"
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null 2>&1 <<SQL
SELECT pg_catalog.clock_timestamp() AS t0 \gset
INSERT INTO bench.run_verify SELECT 'verify', v.ordinality, v.problem, v.detail
FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day') WITH ORDINALITY v;
INSERT INTO bench.run_step (step, started_at, ended_at, seconds, rows)
VALUES ('verify', :'t0', pg_catalog.clock_timestamp(),
    extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz), $total);
SQL
    then
        step_error verify "" "naboom.verify_audit failed"
    fi
    psql -X -At -F '|' -d "$DB" -c "SELECT problem, detail FROM bench.run_verify WHERE step = 'verify' ORDER BY ord" \
        >"$OUT/verify-audit.txt"
    sql "INSERT INTO bench.run_step (step, figures) SELECT 'audit_writer', to_jsonb(s) FROM naboom.audit_queue_stats() s"
    log "sealed $rows rows in $seals seals; verify_audit: $(tail -n 1 "$OUT/verify-audit.txt")"
}

# ---------------------------------------------------------------- lists
# The lists section (bench/README.md, "Lists"): each list's first page (and
# a page 100 deep) beside its floor, the plans, and incident_changes
# catching up with changes filed through the API.  Its files in $OUT:
# lists-prepare.txt (what bench/lists_prepare.sql found and walked),
# explain-lists.txt (the plans), lists-changes.txt (the changes filed and
# the catch-up's walk), lists.log (diagnostics).  Its figures go to
# bench.run_result (the runs list_* and floor_list_*) and bench.run_step
# (lists_prepare, list_changes, list_plan; lists: errors of the section).

# the list runs, each beside its floor (FLOOR_OF)
LIST_OPS="list_queue list_feed list_feed_anon list_mine list_deep"
FLOOR_OF+=([list_queue]=floor_list_queue [list_feed]=floor_list_feed [list_feed_anon]=floor_list_feed_anon
           [list_mine]=floor_list_mine [list_deep]=floor_list_deep)
# the deep page: page LIST_DEEP_PAGE + 1 of the feed (default page size;
# SCALE=small has 1,000 incidents per community: 20 pages)
LIST_DEEP_PAGE=100
[ "$SCALE" != small ] || LIST_DEEP_PAGE=10
# incident_changes: reports and transitions filed in community 1 through the
# API, then read back a page of LIST_CHANGES_PAGE at a time
case "$SCALE" in
    full)  LIST_CHANGE_REPORTS=10000 LIST_CHANGE_TRANSITIONS=2000 ;;
    small) LIST_CHANGE_REPORTS=1000  LIST_CHANGE_TRANSITIONS=200 ;;
esac
LIST_CHANGES_PAGE=500
# transactions of one-row pages each catch-up connection starts with, not
# counted: PL/pgSQL plans a statement afresh for its first 5 executions
LIST_CHANGES_WARMUPS=6

lists_failed() {
    warn "lists: $1"
    step_error lists "" "$1 (see bench/out/lists.log)"
}

lists() {
    local c op mines reporters transitions
    rm -f "$OUT"/lists-* "$OUT/lists.log"
    log "lists: the residents with the most reports, and the cursor of page $LIST_DEEP_PAGE of each community's feed"
    if ! psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v members="$MEMBERS" -v responders="$RESPONDERS" \
            -v deep_pages="$LIST_DEEP_PAGE" -f "$BENCH_DIR/lists_prepare.sql" >"$OUT/lists-prepare.txt" 2>>"$OUT/lists.log"; then
        lists_failed "bench/lists_prepare.sql failed"; return 0
    fi
    log "lists: $(tr '\n' ' ' <"$OUT/lists-prepare.txt")"
    mines=$(sql "SELECT array_agg(user_ref ORDER BY community_id)::text FROM bench.list_mine")
    PGBENCH_VARS+=(-D mines="$mines" -D deep_pages="$LIST_DEEP_PAGE")

    warmup $LIST_OPS
    for c in $CLIENTS; do
        for op in $LIST_OPS; do
            run_pgbench "${FLOOR_OF[$op]}" "${FLOOR_OF[$op]}.pgbench" "$c" "$DURATION"
            run_pgbench "$op" "$op.pgbench" "$c" "$DURATION"
        done
    done

    # incident_changes: changes filed through the API (reports by residents
    # of community 1 at 8 clients, transitions of community 1's pool by its
    # moderator at 8 clients: each client its own slice), every event
    # published, then read back from the start.
    reporters=$(( (LIST_CHANGE_REPORTS + 7) / 8 ))
    transitions=$(( (LIST_CHANGE_TRANSITIONS + 7) / 8 ))
    log "lists: filing $((reporters * 8)) reports and $((transitions * 8)) transitions in community 1 through the API"
    run_pgbench list_changes_report list_changes_report.pgbench 8 0 "$reporters"
    run_pgbench list_changes_transition list_changes_transition.pgbench 8 0 "$transitions"
    lists_changes
    # the plans last: incident_changes's with the changes filed
    lists_explain
}

# lists_explain: the plans of every list's statements (auto_explain,
# ANALYZE, BUFFERS) and of their floors to $OUT/explain-lists.txt, and the
# same plans as JSON, whose shape (index scans, sorts, rows read) goes to
# bench.run_step (list_plan) for the report.
lists_explain() {
    local out="$OUT/explain-lists.txt"
    if ! psql -X -v ON_ERROR_STOP=1 -d "$DB" -v format=text -v mines="$mines" \
            -f "$BENCH_DIR/explain_lists.sql" >"$out" 2>&1; then
        lists_failed "bench/explain_lists.sql failed (see bench/out/explain-lists.txt)"; return 0
    fi
    # JSON: the server log lines of auto_explain to this client (stderr)
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v format=json -v mines="$mines" \
            -f "$BENCH_DIR/explain_lists.sql" >"$OUT/lists-plans.json" 2>&1; then
        lists_failed "bench/explain_lists.sql (JSON) failed (see bench/out/lists-plans.json)"; return 0
    fi
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v file="$OUT/lists-plans.json" \
            -f "$BENCH_DIR/lists_plans.sql" >>"$OUT/lists.log" 2>&1; then
        lists_failed "bench/lists_plans.sql failed"
    fi
}

# lists_changes: every change published, a walk through incident_changes
# as the catching-up member (unmeasured: it counts the rows and pages and
# fills the caches), then the same walk timed by pgbench (one page a
# transaction, after LIST_CHANGES_WARMUPS one-row warm-ups, not counted),
# then its floor likewise.
lists_changes() {
    local rows pages frows fpages
    if ! sql 'SELECT naboom.events_wait(30000)' >/dev/null; then
        lists_failed "naboom.events_wait failed"; return 0
    fi
    if ! psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" -v page="$LIST_CHANGES_PAGE" -v members="$MEMBERS" \
            -f "$BENCH_DIR/lists_changes.sql" >"$OUT/lists-changes.txt" 2>>"$OUT/lists.log"; then
        lists_failed "bench/lists_changes.sql failed"; return 0
    fi
    read -r rows pages frows fpages <<<"$(tail -n 1 "$OUT/lists-changes.txt")"
    log "lists: incident_changes from the start: $rows rows in $pages pages (floor: $frows rows in $fpages pages)"
    PGBENCH_VARS+=(-D changes_page="$LIST_CHANGES_PAGE" -D catcher="$(sql "SELECT user_ref FROM bench.list_catcher")"
                   -D ch_cursor=start -D flast=0 -D page=0 -D warmups="$LIST_CHANGES_WARMUPS")
    # the connection's warm-ups first (not counted)
    run_pgbench list_changes list_changes.pgbench 1 0 "$((LIST_CHANGES_WARMUPS + pages))"
    run_pgbench floor_list_changes floor_list_changes.pgbench 1 0 "$((LIST_CHANGES_WARMUPS + fpages))"
}

# ---------------------------------------------------------------- retention
# The retention section (bench/README.md, "Retention"), after every other
# one.  Its files in $OUT: retention-prepared (what
# bench/retention_prepare.sql made), retention-floor (class rows seconds of
# bench/retention_floor.sql), retention-steps.txt (the run's
# naboom.retention_result rows), retention-verify.txt (verify_audit after
# it), retention.log (diagnostics).  Its figures go to bench.run_step
# (retention_prepare, retention_fill), bench.retention_floor,
# bench.run_retention and run_retention_step, bench.run_verify
# (retention_verify).

# retention_failed REASON: records why the section stopped (the report
# prints it as an ERROR).
retention_failed() {
    warn "retention: $1"
    step_error retention "" "$1 (see bench/out/retention.log)"
}

# retention_seal: seals every audit row not sealed yet, as the pg_cron job
# does (naboom.seal_audit(100000) until it returns NULL); fails if a seal
# does.
retention_seal() {
    local n
    while n=$(sql 'SELECT row_count FROM naboom.seal_audit(100000)' 2>>"$OUT/retention.log"); do
        [ -n "$n" ] || return 0
    done
    return 1
}

# retention_vacuum [TABLE...]: VACUUM (ANALYZE) of what the preparation
# changed and of the given tables (the floor's copies), then a CHECKPOINT:
# both sides start clean (hint bits, visibility map, statistics), and
# autovacuum has little to do during the measurements.
retention_vacuum() {
    local extra=
    [ "$#" -eq 0 ] || { extra=", $(printf '%s, ' "$@")"; extra=${extra%, }; }
    sql "VACUUM (ANALYZE) naboom.incident, naboom.incident_timeline, naboom.member,
        naboom.subscription, naboom.alert, naboom.rate_counter, naboom.event, naboom.audit_log, naboom.audit_seal$extra" \
        'CHECKPOINT' 2>>"$OUT/retention.log"
}

# retention_bg_start C: just before pgbench (after the CHECKPOINT), starts
# CALL naboom.run_retention(false) in the background as a top-level psql
# command (its batches commit), as the superuser like the pg_cron job, and
# waits until the run has begun (its retention_run row is committed).
RET_BG_PID= RET_BG_PREV=
retention_bg_start() {
    RET_BG_PREV=$(sql 'SELECT coalesce(max(run_id), 0) FROM naboom.retention_run')
    psql -X -At -d "$DB" -c 'CALL naboom.run_retention(false)' >"$OUT/retention-bg-call-c$1.txt" 2>>"$OUT/retention.log" &
    RET_BG_PID=$!
    for _ in $(seq 200); do
        [ "$(sql "SELECT count(*) FROM naboom.retention_run WHERE run_id > $RET_BG_PREV")" = 0 ] || break
        sleep 0.05
    done
}

# retention_bg_stop C: right after pgbench, waits for the run to end and
# records it (bench.retention_record, step retention_bg at C clients).
retention_bg_stop() {
    local rc=0
    wait "$RET_BG_PID" || rc=$?
    RET_BG_PID=
    [ "$rc" -eq 0 ] || warn "retention: the run beside pgbench at $1 clients failed (exit $rc); see $OUT/retention.log"
    log "retention beside pgbench at $1 clients: run $(sql "SELECT bench.retention_record('retention_bg', $1, $RET_BG_PREV)")"
}

# retention: the retention figures.
#   1. bench/retention_prepare.sql: expired data inside the data set and the
#      floor's copies; the new audit rows sealed; VACUUM (ANALYZE), CHECKPOINT;
#   2. bench/retention_floor.sql: the floor, on the copies; CHECKPOINT;
#   3. CALL naboom.run_retention(false) as a top-level psql command (each
#      batch commits), timed by the wall clock; its steps from
#      naboom.retention_result (bench.retention_record);
#   4. naboom.verify_audit over the old rows (logged before now() - 6
#      months: the seals of the rows step 1 made): the anonymised rows must
#      still verify, the dropped month's rows count as expired;
#   5. the inactive members back (bench.retention_restore: report_incident
#      reports as any member), then for each client count: expired data for
#      the run beside pgbench (bench.retention_clone, retention_audit_add;
#      the audit rows are not sealed: anonymising does not look at seals,
#      and sealing is slow), VACUUM (ANALYZE), then report_incident_idle
#      and, right after, report_incident_retention (retention_bg_start,
#      retention_bg_stop).
retention() {
    local t0 t1 prev rid n_inc n_audit c
    rm -f "$OUT"/retention-*
    log "retention: expired data inside the data set ($RET_EXPIRE incidents closed 11 years ago, inactive members," \
        "2 x $RET_AUDIT_ROWS old audit rows) and the floor's copies"
    if ! psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -v incidents="$INCIDENTS" -v responders="$RESPONDERS" \
            -v expire="$RET_EXPIRE" -v audit_rows="$RET_AUDIT_ROWS" \
            -f "$BENCH_DIR/retention_prepare.sql" >"$OUT/retention-prepared" 2>>"$OUT/retention.log"; then
        retention_failed "bench/retention_prepare.sql failed"; return 0
    fi
    if ! retention_seal; then retention_failed "naboom.seal_audit failed"; return 0; fi
    if ! retention_vacuum bench.ret_incident bench.ret_timeline bench.ret_member bench.ret_subscription bench.ret_alert \
            bench.ret_rate_counter bench.ret_audit bench.ret_month; then
        retention_failed "VACUUM failed"; return 0
    fi
    log "retention: prepared $(cat "$OUT/retention-prepared") (inactive members, their reports and timeline entries," \
        "expired incidents and their timeline entries, audit rows in the old month and 7-10 months ago, the month)"

    if ! psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -f "$BENCH_DIR/retention_floor.sql" >"$OUT/retention-floor" 2>>"$OUT/retention.log"; then
        retention_failed "bench/retention_floor.sql failed"; return 0
    fi
    sql 'CHECKPOINT'
    log "retention: floor $(tr '\n' ' ' <"$OUT/retention-floor")"

    prev=$(sql 'SELECT coalesce(max(run_id), 0) FROM naboom.retention_run')
    t0=$(now_s)
    if ! psql -X -At -d "$DB" -c 'CALL naboom.run_retention(false)' >/dev/null 2>>"$OUT/retention.log"; then
        retention_failed "CALL naboom.run_retention(false) failed"; return 0
    fi
    t1=$(now_s)
    rid=$(sql "SELECT bench.retention_record('retention', NULL, $prev, $t0, $t1)")
    psql -X -At -F '|' -d "$DB" -c "SELECT step, data_class, target, action, rows, held, batches, round(seconds::numeric, 3)
        FROM bench.run_retention_step WHERE run_id = $rid ORDER BY step" >"$OUT/retention-steps.txt"
    log "retention: run $rid in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
    if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" 2>>"$OUT/retention.log" <<'SQL'
INSERT INTO bench.run_verify SELECT 'retention_verify', v.ordinality, v.problem, v.detail
FROM naboom.verify_audit(now() - interval '3 years', now() - interval '6 months') WITH ORDINALITY v;
SQL
    then
        sql "INSERT INTO bench.run_verify VALUES ('retention_verify', 1, '-', 'verify_audit failed')"
    fi
    psql -X -At -F '|' -d "$DB" -c "SELECT problem, detail FROM bench.run_verify WHERE step = 'retention_verify' ORDER BY ord" \
        >"$OUT/retention-verify.txt"
    log "retention: verify_audit after the run: $(tail -n 1 "$OUT/retention-verify.txt")"

    # The run beside report_incident: enough expired data that it outlasts
    # pgbench.  At the rates just measured (alone), emergency records for
    # half a run and audit rows to anonymise for a whole one more; beside 1
    # or 8 clients on these CPUs it goes slower.
    read -r n_inc n_audit <<<"$(sql "
        SELECT greatest(1000, coalesce(trunc(sum(rows) FILTER (WHERE target = 'naboom.incident')
                / nullif(max(seconds) FILTER (WHERE data_class = 'emergency_record'), 0) * ($DURATION + 2) * 0.5), $RET_EXPIRE)),
            greatest(1000, coalesce(trunc(sum(rows) FILTER (WHERE target = 'naboom.audit_log')
                / nullif(max(seconds) FILTER (WHERE target = 'naboom.audit_log'), 0) * ($DURATION + 2)), $RET_AUDIT_ROWS))
        FROM bench.run_retention_step WHERE run_id = $rid")"
    if ! sql 'SELECT bench.retention_restore()' >/dev/null 2>>"$OUT/retention.log"; then
        retention_failed "bench.retention_restore() failed"; return 0
    fi
    for c in $CLIENTS; do
        log "retention: $n_inc expired emergency records and $n_audit audit rows to anonymise, for a run beside report_incident at $c clients"
        if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null 2>>"$OUT/retention.log" <<SQL
INSERT INTO bench.run_step (step, clients, figures)
SELECT 'retention_fill', $c, jsonb_build_object('incidents', f.incidents, 'timeline', f.timeline, 'audit_rows', $n_audit)
FROM bench.retention_clone($n_inc, $INCIDENTS) f;
CALL bench.retention_audit_add(NULL, now() - interval '6 months' - interval '1 second', $n_audit);
SQL
        then
            retention_failed "making expired data for the run beside report_incident failed"; return 0
        fi
        if ! retention_vacuum; then retention_failed "VACUUM failed"; return 0; fi
        run_pgbench report_incident_idle report_incident.pgbench "$c" "$DURATION"
        run_pgbench report_incident_retention report_incident.pgbench "$c" "$DURATION"
    done
}

# ---------------------------------------------------------------- inside
# Runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER=postgres, PGPASSWORD set).
inside() {
    unset PGOPTIONS
    export PGDATABASE=$DB
    log "cluster: $(psql -X -Atc 'SELECT version()' -d postgres)"
    log "settings: $(psql -X -Atc "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name)
        FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'fsync', 'synchronous_commit',
        'checkpoint_timeout', 'max_wal_size', 'wal_level', 'full_page_writes', 'shared_preload_libraries',
        'naboom.writer_database', 'track_commit_timestamp')" -d postgres)"
    # a listener left behind by a failure would reconnect until --timeout
    trap '[ -z "$LISTEN_PID" ] || kill "$LISTEN_PID" 2>/dev/null || true' EXIT
    createdb -T template0 "$DB"

    log "loading SCALE=$SCALE: $INCIDENTS incidents, $((MEMBERS * 10)) members, $((SUBSCRIPTIONS * 10)) subscriptions"
    local t0 t1 started
    started=$(now_s)
    t0=$started
    psql -X -q -v ON_ERROR_STOP=1 -v incidents="$INCIDENTS" -v members="$MEMBERS" \
        -v responders="$RESPONDERS" -v pool="$POOL" -v subscriptions="$SUBSCRIPTIONS" \
        -f "$BENCH_DIR/load.sql" >"$OUT/load.log" 2>&1 \
        || { cat "$OUT/load.log" >&2; die "load failed"; }
    psql -X -q -v ON_ERROR_STOP=1 -v pw="$PGPASSWORD" -f "$BENCH_DIR/helpers.sql" >>"$OUT/load.log" 2>&1 \
        || { cat "$OUT/load.log" >&2; die "helpers failed"; }
    if [ "$PROFILE" = 1 ]; then
        psql -X -q -c 'CREATE EXTENSION pg_stat_statements'
    fi
    t1=$(now_s)
    psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_DIR/results.sql" >>"$OUT/load.log" 2>&1 \
        || { cat "$OUT/load.log" >&2; die "results.sql failed"; }
    sql "INSERT INTO bench.run_info VALUES (to_timestamp($started), NULL, $(nproc), '$SCALE', $DURATION, $WARMUP,
            '{$(tr -s ' ' ',' <<<"$CLIENTS")}', $LISTEN_CLIENTS, $([ "$PROFILE" = 1 ] && echo true || echo false),
            $INCIDENTS, $((MEMBERS * 10)), $((ONDUTY * 10)), $((SUBSCRIPTIONS * 10)))" \
        "INSERT INTO bench.run_step (step, started_at, ended_at, seconds)
            VALUES ('load', to_timestamp($t0), to_timestamp($t1), $t1 - $t0)"
    log "loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')s: $(psql -X -Atc "SELECT format('%s incidents, %s timeline entries, %s areas, %s members (%s responders, %s on duty with a position), %s subscriptions, database %s',
        (SELECT count(*) FROM naboom.incident), (SELECT count(*) FROM naboom.incident_timeline),
        (SELECT count(*) FROM naboom.area), (SELECT count(*) FROM naboom.member),
        (SELECT count(*) FROM naboom.member WHERE role = 'responder'),
        (SELECT count(*) FROM naboom.member m JOIN naboom.responder_position p USING (community_id, user_ref)
            WHERE m.on_duty AND p.position IS NOT NULL),
        (SELECT count(*) FROM naboom.subscription),
        pg_size_pretty(pg_database_size(current_database())))")"

    # The scripts' constants come from the loaded data, passed as -D.
    local vars
    vars=$(psql -X -At -F ' ' -c "
        SELECT 'slugs=' || array_agg(t.slug ORDER BY t.community_id)::text,
               'lat0s=' || array_agg(t.lat0 ORDER BY t.community_id)::text,
               'lon0s=' || array_agg(t.lon0 ORDER BY t.community_id)::text,
               (SELECT 'cats=' || array_agg(k.code ORDER BY k.n)::text FROM bench.cat k),
               (SELECT 'prios=' || array_agg(k.prio ORDER BY k.n)::text FROM bench.cat k),
               (SELECT 'lives=' || array_agg(s.status ORDER BY s.sort_order)::text FROM naboom.status s
                WHERE s.status_type = 'open')
        FROM bench.town t")
    local catnames
    catnames=$(psql -X -At -c "SELECT array_agg(k.name_en ORDER BY k.n)::text FROM bench.cat k")
    PGBENCH_VARS=(-D members="$MEMBERS" -D responders="$RESPONDERS" -D onduty="$ONDUTY" -D pool="$POOL"
                  -D catnames="$catnames")
    local v
    for v in $vars; do PGBENCH_VARS+=(-D "$v"); done

    local c op
    sql "INSERT INTO bench.run_step (step, result) VALUES ('sections', '$SECTIONS')"
    log "sections: $SECTIONS"
    # Spatial reads and positions first, on the data set as loaded: the
    # write runs add 100,000s of fresh live reports, more than the data set
    # has live, all within the last duplicate window.
    if section reads; then
        warmup $READS update_position
        for c in $CLIENTS; do
            for op in $READS update_position; do
                run_pgbench "${FLOOR_OF[$op]}" "${FLOOR_OF[$op]}.pgbench" "$c" "$DURATION"
                run_pgbench "$op" "$op.pgbench" "$c" "$DURATION"
            done
        done
        explain explain-reads.txt
    fi
    # The lists, on the data set as loaded too; they file the changes the
    # incident_changes figure catches up with (bench/README.md, "Lists").
    if section lists; then lists; fi
    if section writes; then writes; fi
    if section stream; then read_stream; fi
    if section audit; then seal_and_verify; fi
    if section panic; then panic_section; fi
    # The same-work floors (issue 17): deletes subscriptions for its fit.
    if section samework; then
        CLIENTS="$CLIENTS" SECS="$DURATION" BENCH_DB="$DB" OUT="$OUT/samework" \
            BENCH_SUBSCRIPTIONS="$BENCH_SUBSCRIPTIONS" MAIN_SUBS="$MAIN_SUBS" \
            bash "$BENCH_DIR/samework.sh" | tee "$OUT/samework.txt" || warn "bench/samework.sh failed"
    fi
    # Last: it changes the data set (old data made, then expired).
    if section retention; then retention; fi

    psql -X -Atc "SELECT format('after the runs: %s incidents, %s timeline entries',
        (SELECT count(*) FROM naboom.incident), (SELECT count(*) FROM naboom.incident_timeline))"
    sql 'UPDATE bench.run_info SET ended_at = now()'
    pg_dump -Fc -t 'bench.run_*' -t bench.retention_floor -f "$OUT/results.dump" "$DB" \
        || warn "could not dump the results tables to $OUT/results.dump"
    psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_DIR/report.sql" >"$OUT/report.txt" || die "bench/report.sql failed"
    if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
        cat "$(dirname "$PG_CLUSTER_CONF_ROOT")"/log/*.log >"$OUT/postgresql.log" 2>/dev/null || true
    fi
}

# panic_section: bench/panic.sh (the emergency path under a report load,
# issue 17) in the bench database, which the background writer serves; its
# figures to $OUT/panic.txt and, for the report, bench.run_step (panic).
panic_section() {
    log "panic: bench/panic.sh (raise_panic and delivery beside a report load, and the floor)"
    if PANIC_DB=$DB bash "$BENCH_DIR/panic.sh" >"$OUT/panic.txt" 2>"$OUT/panic.log"; then
        psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v text="$(cat "$OUT/panic.txt")" >/dev/null <<'SQL' \
            || step_error panic "" "recording bench/panic.sh's figures failed"
INSERT INTO bench.run_step (step, detail) VALUES ('panic', :'text');
SQL
    else
        step_error panic "" "bench/panic.sh failed (see bench/out/panic.log)"
    fi
}

# writes: the write paths, each beside its floor and, right after, with
# events off and with auditing off; report_incident with a listener; the
# plans again.
writes() {
    local c op
    warmup $WRITES
    # Each write path also runs with events off and then with auditing off,
    # right after its run with both on: the event and audit figures compare
    # runs on (almost) the same data.
    for c in $CLIENTS; do
        for op in $WRITES; do
            run_pgbench "${FLOOR_OF[$op]}" "${FLOOR_OF[$op]}.pgbench" "$c" "$DURATION"
            run_pgbench "$op" "$op.pgbench" "$c" "$DURATION"
            run_pgbench "${op}_noevents" "$op.pgbench" "$c" "$DURATION"
            run_pgbench "${op}_noaudit" "$op.pgbench" "$c" "$DURATION"
        done
    done
    # Delivery to a consumer: report_incident once more, with naboom-listen
    # following the stream (its fetches load the machine too, so this run
    # is not one of the compared ones).
    run_pgbench report_incident_listen report_incident.pgbench "$LISTEN_CLIENTS" "$DURATION"
    explain explain-writes.txt
}

# report_again DUMP: inside pg_virtualenv, restores the results tables of a
# run and prints its report again to $OUT/report.txt.
report_again() {
    createdb -T template0 "$DB"
    psql -X -q -d "$DB" -c 'CREATE SCHEMA bench'
    pg_restore --no-owner -d "$DB" "$1" || die "could not restore $1"
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$BENCH_DIR/report.sql" >"$OUT/report.txt" || die "bench/report.sql failed"
}

case "${1:-}" in
    --inside-virtualenv) inside; exit $? ;;
    --report-inside) report_again "$2"; exit $? ;;
esac

# ---------------------------------------------------------------- outside
command -v pgbench >/dev/null 2>&1 || PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"
mkdir -p "$OUT"

# finish: prints the report and exits with the status its last line gives
# (0 all targets met, 2 a target missed, 1 the benchmark failed).
finish() {
    local rc
    echo
    cat "$OUT/report.txt"
    rc=$(sed -n 's/^exit status: \([0-9]\).*/\1/p' "$OUT/report.txt" | tail -n 1)
    exit "${rc:-1}"
}

if [ "${1:-}" = --report ]; then
    dump=$(realpath "${2:-$OUT/results.dump}")
    [ -s "$dump" ] || die "no results to report: $dump"
    timeout 600 pg_virtualenv -t -v "$PG_MAJOR" -o timezone=UTC \
        env PATH="$PATH" bash "$BENCH_DIR/run.sh" --report-inside "$dump" </dev/null || die "re-printing the report failed"
    finish
fi

rm -rf "$OUT/log" "$OUT"/pgbench-*.txt "$OUT"/statements-*.txt "$OUT/report.txt" "$OUT/results.dump" \
    "$OUT"/explain-*.txt "$OUT/verify-audit.txt" "$OUT"/listen* "$OUT"/retention-* "$OUT"/lists-* "$OUT/lists.log" \
    "$OUT"/panic.*

if [ "${NABOOM_SKIP_SETUP:-0}" != 1 ]; then
    bash "$NABOOM_ROOT/scripts/setup-debian.sh" || die "setup-debian.sh failed"
fi

# The listener of the delivery figure; without it that figure is reported
# as not measured.
LISTEN_BIN="$NABOOM_ROOT/tools/naboom-listen"
if ! make -s -C "$NABOOM_ROOT/tools" >/dev/null; then
    warn "could not build tools/naboom-listen: the commit-to-delivery latency will not be measured"
    LISTEN_BIN=
fi

# naboom is preloaded as in production: the audit writer (refused attempts
# and reads in read-only transactions) exists only then.
PRELOAD=naboom
PROFILE_OPTS=()
if [ "$PROFILE" = 1 ]; then
    PRELOAD=naboom,pg_stat_statements
    PROFILE_OPTS=(-o pg_stat_statements.track=all -o pg_stat_statements.track_planning=on)
fi

log "starting a throw-away PostgreSQL $PG_MAJOR cluster (pg_virtualenv)"
started=$(now_s)
# -t: cluster in a mktemp dir, dropped when the command exits (also on
# timeout: pg_virtualenv traps TERM).
rc=0
timeout "${NABOOM_BENCH_TIMEOUT:-3600}" pg_virtualenv -t -v "$PG_MAJOR" \
    -c "--locale=C.UTF-8 --encoding=UTF8" \
    -o shared_buffers=2GB \
    -o max_connections=50 \
    -o checkpoint_timeout=15min \
    -o max_wal_size=8GB \
    -o fsync=on \
    -o synchronous_commit=on \
    -o track_commit_timestamp=on \
    -o timezone=UTC \
    -o shared_preload_libraries="$PRELOAD" \
    -o naboom.writer_database="$DB" \
    "${PROFILE_OPTS[@]}" \
    env SCALE="$SCALE" DURATION="$DURATION" WARMUP="$WARMUP" CLIENTS="$CLIENTS" PROFILE="$PROFILE" PATH="$PATH" \
    SECTIONS="$SECTIONS" BENCH_SUBSCRIPTIONS="$BENCH_SUBSCRIPTIONS" \
    LISTEN_BIN="$LISTEN_BIN" \
    bash "$BENCH_DIR/run.sh" --inside-virtualenv </dev/null || rc=$?
[ "$rc" -eq 0 ] || die "benchmark failed (exit $rc)"
log "total $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }')s; report in $OUT/report.txt"
finish
