#!/usr/bin/env bash
# naboom benchmark (design.md section 9): the API's write paths and spatial
# reads, each beside its floor measured in the same run.
#
#   bash bench/run.sh
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
#      naboom.audit_database=naboom_bench);
#   3. bench/load.sql: 10 communities, 1,000 areas, 10,000 members (2,500
#      responders, 2,000 of them on duty with a position), 1,000,000
#      incidents over two years and their timeline, 10,000 alert
#      subscriptions, bench.floor_incident and bench.floor_position (copies
#      with the same indexes and no triggers), with auditing and events off
#      (the audit log and the event stream are empty after it), then
#      bench/helpers.sql (role naboom_bench, bench.next_step, VACUUM
#      ANALYZE);
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
#      duplicate window);
#      TPS from pgbench; p50/p95 from its per-transaction logs (-l); alerts
#      per report from naboom.alert; audit rows per transaction from
#      naboom.audit_log; events per transaction and commit-to-publication
#      latency (published_at - pg_xact_commit_timestamp) from naboom.event;
#      HOT updates from pg_stat_user_tables;
#   5. reads the whole event stream as the service with
#      events_since(after, 1000), a page per transaction (bench/
#      read_events.pgbench), timed by pgbench;
#   6. seals the whole audit log (naboom.seal_audit(100000) until NULL) and
#      checks it with one naboom.verify_audit, both timed;
#   7. retention, last because it changes the data set (bench/
#      retention_prepare.sql, retention_floor.sql): expired data made inside
#      the data set (a tenth of the incidents closed 11 years ago, members
#      inactive for 7.5 years, an old audit month and audit rows past six
#      months), the same changes as bare statements on copies of the tables
#      (the floor), then CALL naboom.run_retention(false) as a top-level
#      command, timed; then report_incident idle and again beside a
#      retention run over expired data made for it (report_incident_idle,
#      report_incident_retention), at each client count;
#   8. prints the report and writes it to bench/out/report.txt.
#
# Environment
#   SCALE=full|small      full: the data set above; small: 1/100 of it
#   DURATION=20           seconds per pgbench run (37 runs; SCALE=small: 3)
#   WARMUP=5              seconds of each script at 8 clients before measuring
#                         (SCALE=small: 1)
#   CLIENTS="1 8"         client counts
#   PROFILE=1             also load pg_stat_statements (track=all, with
#                         planning) and write the top statements of each run
#                         to bench/out/statements-*.txt; it slows the API
#                         path more than the floor, so figures are not
#                         comparable with normal runs
#   NABOOM_SKIP_SETUP=1   skip scripts/setup-debian.sh
#   NABOOM_BENCH_TIMEOUT  seconds before the whole run is killed (default 3600)
#
# Outputs (gitignored) in bench/out/: report.txt, load.log, pgbench-*.txt
# (pgbench's own output, with per-command latencies), log/ (per-transaction
# logs), explain-reads.txt, explain-writes.txt, verify-audit.txt (what
# naboom.verify_audit returned), listen.txt and listen.err (what
# naboom-listen received, with the receive time, and its diagnostics),
# pgbench-read_events.txt, retention-* (the retention section's figures,
# steps and diagnostics, see retention below), postgresql.log.
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
ONDUTY=$((RESPONDERS - RESPONDERS / 5))

# Targets (design.md section 9): minimum ratio to the floor, maximum p95 (ms).
declare -A MIN_RATIO=([report_incident]=0.5 [transition_incident]=0.65)
declare -A MAX_P95=([report_incident]=5 [transition_incident]=3
                    [nearest_responders]=1 [duplicate_candidates]=1 [incidents_near]=5)
# Audit (design target): TPS with auditing on >= this times TPS with it off,
# for each write path at every client count.
declare -A MIN_AUDIT_RATIO=([report_incident]=0.8 [transition_incident]=0.8)
# Events (design target): TPS with events on >= this times TPS with them
# off (auditing on in both), for each write path at every client count.
declare -A MIN_EVENTS_RATIO=([report_incident]=0.85 [transition_incident]=0.85)
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
# anonymise_after), and the target: rows deleted and anonymised per second.
RET_EXPIRE=$((INCIDENTS / 10))
RET_AUDIT_ROWS=$((INCIDENTS / 10))
MIN_RETENTION_RATE=100000

# ---------------------------------------------------------------- helpers
now_s() { date +%s.%N; }

# percentiles FILE...: "p50 p95" in ms of the latency column of pgbench logs
percentiles() {
    cat "$@" | awk '{ print $3 }' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- -"; exit }
            i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
            i95 = int(NR * 0.95); if (i95 < NR * 0.95) i95++
            printf "%.3f %.3f\n", v[i50] / 1000, v[i95] / 1000
        }'
}

# stmt_ms FILE: mean latency (ms) of the third SQL command of a pgbench
# script (the measured statement after BEGIN and set_config), from -r
stmt_ms() {
    awk '/statement latencies/ { on = 1; next }
        on && $3 !~ /^\\/ { if (++n == 3) { print $1; found = 1; exit } }
        END { if (!found) print "-" }' "$1"
}

# wal: "bytes fpi" written by the cluster so far
wal() { psql -X -At -F ' ' -d "$DB" -c 'SELECT wal_bytes, wal_fpi FROM pg_stat_wal'; }

# updates TABLE: "n_tup_upd n_tup_hot_upd" of a table so far.  Backends
# flush their statistics when they exit, a moment after pgbench returns.
updates() {
    psql -X -At -F ' ' -d "$DB" -c "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
        WHERE relid = '$1'::regclass"
}

# alerts: "all subscription responder" alerts written so far
alerts() {
    psql -X -At -F ' ' -d "$DB" -c "SELECT count(*), count(*) FILTER (WHERE reason = 'subscription'),
        count(*) FILTER (WHERE reason = 'responder') FROM naboom.alert"
}

# audit_rows: rows in naboom.audit_log so far, after the audit writer has
# committed what was queued (refusals reach the log through it, after
# their transaction rolled back)
audit_rows() {
    psql -X -At -d "$DB" -c 'SELECT naboom.audit_queue_wait(5000)' -c 'SELECT count(*) FROM naboom.audit_log' \
        | tail -n 1
}

# last_event: the largest event_id so far (0: none).  Only pgbench writes
# events between two calls around a run, so the run's events are those
# above the first call's value (ids of rolled-back inserts are skipped,
# hence counted, not subtracted).
last_event() {
    psql -X -At -d "$DB" -c 'SELECT coalesce(max(event_id), 0) FROM naboom.event'
}

# event_stats AFTER: "events unpublished without_commit_ts p50 p95 max" of
# the events with event_id > AFTER, once the background writer has
# published every committed event (naboom.events_wait, up to 10 s); the
# latencies in ms are published_at - pg_xact_commit_timestamp(xid): commit
# of the writer's transaction to publication (numbered, NOTIFY queued; the
# publisher commits right after).  Nearest-rank percentiles, "-" when none.
event_stats() {
    psql -X -At -F ' ' -d "$DB" -c 'SELECT naboom.events_wait(10000)' -c "
        SELECT count(*), count(*) FILTER (WHERE e.published_at IS NULL), count(*) FILTER (WHERE c.ts IS NULL),
            coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY m.ms)::numeric, 3)::text, '-'),
            coalesce(round(percentile_disc(0.95) WITHIN GROUP (ORDER BY m.ms)::numeric, 3)::text, '-'),
            coalesce(round(max(m.ms)::numeric, 3)::text, '-')
        FROM naboom.event e
        CROSS JOIN LATERAL (SELECT pg_catalog.pg_xact_commit_timestamp(e.xid::xid) AS ts) c
        CROSS JOIN LATERAL (SELECT 1000 * extract(epoch FROM e.published_at - c.ts) AS ms) m
        WHERE e.event_id > $1" | tail -n 1
}

# listen_start: starts tools/naboom-listen in the background as the
# superuser (the naboom service), after the last published event, with
# each line it prints stamped with its wall-clock receive time (perl,
# Time::HiRes: microseconds, the clock PostgreSQL's commit timestamps
# use), "receive_epoch id" in $OUT/listen.txt; waits until it has LISTENed
# and caught up.  Sets LISTEN_PID, or leaves it empty (and the reason in
# $OUT/listen-status) when the listener cannot be used.
LISTEN_PID=
listen_start() {
    local after
    LISTEN_PID=
    rm -f "$OUT/listen.txt" "$OUT/listen.err" "$OUT/listen-status"
    if [ -z "${LISTEN_BIN:-}" ] || [ ! -x "$LISTEN_BIN" ]; then
        echo "naboom-listen was not built (make -C tools)" >"$OUT/listen-status"; return 0
    fi
    if ! perl -MTime::HiRes -e 1 2>/dev/null; then
        echo "perl with Time::HiRes is missing" >"$OUT/listen-status"; return 0
    fi
    after=$(psql -X -At -d "$DB" -c 'SELECT naboom.events_wait(10000)' \
        -c 'SELECT coalesce(max(seq), 0) FROM naboom.event' | tail -n 1)
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
    echo "naboom-listen did not connect and catch up within 10 s (see bench/out/listen.err)" >"$OUT/listen-status"
    kill "$LISTEN_PID" 2>/dev/null || true
    wait "$LISTEN_PID" 2>/dev/null || true
    LISTEN_PID=
}

# listen_stop AFTER: once every event with event_id > AFTER is published,
# waits (up to 10 s) until the listener has printed the last of them, stops
# it (SIGTERM), and joins what it received to the commit timestamps: leaves
# "published received p50 p95 max" (ms from the writer's commit to the
# line reaching the pipe) in $OUT/listen-result, or the reason it could not
# in $OUT/listen-status.
listen_stop() {
    local last
    [ -n "$LISTEN_PID" ] || return 0
    last=$(psql -X -At -d "$DB" -c 'SELECT naboom.events_wait(10000)' \
        -c "SELECT coalesce(max(seq), 0) FROM naboom.event WHERE event_id > $1" | tail -n 1)
    for _ in $(seq 100); do
        [ "$(tail -n 1 "$OUT/listen.txt" 2>/dev/null | cut -d ' ' -f 2)" = "$last" ] && break
        sleep 0.1
    done
    kill "$LISTEN_PID" 2>/dev/null || true
    wait "$LISTEN_PID" 2>/dev/null || true
    LISTEN_PID=
    if ! psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" >"$OUT/listen-result" 2>>"$OUT/listen.err" <<SQL
CREATE TEMP TABLE received (at_epoch double precision, seq bigint);
\copy received FROM '$OUT/listen.txt' WITH (DELIMITER ' ')
SELECT (SELECT count(*) FROM naboom.event e WHERE e.event_id > $1),
    count(*),
    coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY m.ms)::numeric, 3)::text, '-'),
    coalesce(round(percentile_disc(0.95) WITHIN GROUP (ORDER BY m.ms)::numeric, 3)::text, '-'),
    coalesce(round(max(m.ms)::numeric, 3)::text, '-')
FROM received r
JOIN naboom.event e ON e.seq = r.seq AND e.event_id > $1
CROSS JOIN LATERAL (SELECT 1000 * (r.at_epoch
    - extract(epoch FROM pg_catalog.pg_xact_commit_timestamp(e.xid::xid))) AS ms) m;
SQL
    then
        echo "joining the listener's output to naboom.event failed (see bench/out/listen.err)" >"$OUT/listen-status"
        rm -f "$OUT/listen-result"
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

# run_pgbench NAME SCRIPT CLIENTS SECONDS: runs pgbench after making the
# positions fresh and a CHECKPOINT, leaves "tps p50 p95 ok transactions
# wal_bytes/tx fpi/tx statement_ms audit_rows" in $OUT/result-NAME-cCLIENTS
# (audit_rows: written to naboom.audit_log during the run), and "events
# unpublished without_commit_ts p50 p95 max" of the events it wrote in
# $OUT/events-NAME-cCLIENTS (event_stats); for the position updates also
# "updates hot_updates" of their table during the run in
# $OUT/hot-NAME-cCLIENTS, for report_incident "alerts subscription
# responder" written during the run in $OUT/alerts-NAME-cCLIENTS.  A NAME
# ending in _noaudit runs with naboom.audit = off for naboom_bench, one
# ending in _noevents with naboom.events = off (set on the role, so
# pgbench's new connections pick it up; reset after).  During a run named
# ..._listen tools/naboom-listen follows the stream (listen_start,
# listen_stop); during one named ..._retention naboom.run_retention runs
# beside pgbench (retention_bg_start, retention_bg_stop).
run_pgbench() {
    local name=$1 script=$2 c=$3 secs=$4 logdir tps pct ok=1 rc=0 tx b0 f0 b1 f1 walx table= u0 h0 u1 h1 a0 s0 r0 a1 s1 r1
    local l0 l1 noaudit=0 noevents=0 e0 ev
    logdir="$OUT/log/$name-c$c"
    rm -rf "$logdir"; mkdir -p "$logdir"
    case "$name" in
        *_noaudit)
            noaudit=1
            psql -X -q -d "$DB" -c 'ALTER ROLE naboom_bench SET naboom.audit = off'
            ;;
        *_noevents)
            noevents=1
            psql -X -q -d "$DB" -c 'ALTER ROLE naboom_bench SET naboom.events = off'
            ;;
    esac
    fresh_positions
    psql -X -q -d "$DB" -c 'CHECKPOINT'
    if [ "$PROFILE" = 1 ]; then
        psql -X -q -d "$DB" -c 'SELECT pg_stat_statements_reset()' >/dev/null
    fi
    case "$name" in
        update_position) table=naboom.responder_position ;;
        floor_position) table=bench.floor_position ;;
    esac
    if [ -n "$table" ]; then sleep 1; read -r u0 h0 <<<"$(updates "$table")"; fi
    if [ "$name" = report_incident ]; then read -r a0 s0 r0 <<<"$(alerts)"; fi
    l0=$(audit_rows)
    e0=$(last_event)
    case "$name" in *_listen) listen_start ;; *_retention) retention_bg_start "$c" ;; esac
    read -r b0 f0 <<<"$(wal)"
    PGUSER=naboom_bench pgbench -n -M prepared -c "$c" -j "$c" -T "$secs" -r \
        -l --log-prefix="$logdir/tx" \
        "${PGBENCH_VARS[@]}" -D clients="$c" \
        -f "$BENCH_DIR/$script" "$DB" >"$OUT/pgbench-$name-c$c.txt" 2>&1 || rc=$?
    read -r b1 f1 <<<"$(wal)"
    case "$name" in *_listen) listen_stop "$e0" ;; *_retention) retention_bg_stop "$c" "$logdir" ;; esac
    l1=$(audit_rows)
    ev=$(event_stats "$e0")
    echo "$ev" >"$OUT/events-$name-c$c"
    if [ "$noaudit" = 1 ]; then
        psql -X -q -d "$DB" -c 'ALTER ROLE naboom_bench RESET naboom.audit'
    fi
    if [ "$noevents" = 1 ]; then
        psql -X -q -d "$DB" -c 'ALTER ROLE naboom_bench RESET naboom.events'
    fi
    if [ -n "$table" ]; then
        sleep 1; read -r u1 h1 <<<"$(updates "$table")"
        echo "$((u1 - u0)) $((h1 - h0))" >"$OUT/hot-$name-c$c"
    fi
    if [ "$name" = report_incident ]; then
        read -r a1 s1 r1 <<<"$(alerts)"
        echo "$((a1 - a0)) $((s1 - s0)) $((r1 - r0))" >"$OUT/alerts-$name-c$c"
    fi
    if [ "$PROFILE" = 1 ]; then
        psql -X -d "$DB" -c "
        SELECT calls, plans, round(total_exec_time::numeric, 1) AS exec_ms,
               round(mean_exec_time::numeric, 4) AS mean_exec_ms, round(mean_plan_time::numeric, 4) AS mean_plan_ms,
               left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
        FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 40" \
        >"$OUT/statements-$name-c$c.txt"
    fi
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$OUT/pgbench-$name-c$c.txt")
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$OUT/pgbench-$name-c$c.txt")
    walx=$(awk -v n="${tx:-0}" -v b=$((b1 - b0)) -v f=$((f1 - f0)) \
        'BEGIN { if (n > 0) printf "%.0f %.2f", b / n, f / n; else print "0 0" }')
    if [ "$rc" -ne 0 ] || [ -z "$tps" ] || grep -q 'aborted\|^number of failed transactions: [1-9]' "$OUT/pgbench-$name-c$c.txt"; then
        ok=0
        warn "pgbench $name at $c clients failed (exit $rc); see $OUT/pgbench-$name-c$c.txt:"
        grep -m 5 -i 'error\|abort\|fatal' "$OUT/pgbench-$name-c$c.txt" >&2 || true
    fi
    if [ "$noaudit" = 1 ] && [ "$((l1 - l0))" -ne 0 ]; then
        # naboom.audit = off did not reach the sessions: not an unaudited run
        ok=0
        warn "$name at $c clients wrote $((l1 - l0)) audit rows with naboom.audit = off for naboom_bench"
    fi
    if [ "$noevents" = 1 ] && [ "${ev%% *}" != 0 ]; then
        # naboom.events = off did not reach the sessions
        ok=0
        warn "$name at $c clients wrote ${ev%% *} events with naboom.events = off for naboom_bench"
    fi
    pct=$(percentiles "$logdir"/tx.*)
    echo "${tps:-0} $pct $ok ${tx:-0} $walx $(stmt_ms "$OUT/pgbench-$name-c$c.txt") $((l1 - l0))" >"$OUT/result-$name-c$c"
    log "$(printf '%-28s c=%-2s tps=%-8.0f p50/p95 ms=%-12s WAL B/tx=%-6s audit rows/tx=%-5s events/tx=%s' "$name" "$c" "${tps:-0}" "$pct" \
        "${walx%% *}" "$(awk -v n="${tx:-0}" -v a=$((l1 - l0)) 'BEGIN { if (n > 0) printf "%.2f", a / n; else print "-" }')" \
        "$(awk -v n="${tx:-0}" -v e="${ev%% *}" 'BEGIN { if (n > 0) printf "%.2f", e / n; else print "-" }')")"
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
    ref=$(psql -X -At -c "SELECT reference FROM bench.pool WHERE id = 1")
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
# the pages the stream fills), once every event is published.  Leaves
# "events pages seconds ok" in $OUT/stream-read (seconds: pages / pgbench's
# TPS without connection time; ok 0 when pgbench failed, e.g. a page that
# did not advance, or when seq is not 1..events without gaps).
read_stream() {
    local n maxseq pages tps ok=1 rc=0
    read -r n maxseq <<<"$(psql -X -At -F ' ' -d "$DB" -c 'SELECT naboom.events_wait(10000)' \
        -c 'SELECT count(*), coalesce(max(seq), 0) FROM naboom.event WHERE seq IS NOT NULL' | tail -n 1)"
    if [ "$n" -eq 0 ]; then
        echo "0 0 - 0" >"$OUT/stream-read"; return 0
    fi
    [ "$n" = "$maxseq" ] || { ok=0; warn "the stream's seq is not gap-free: $n published events, largest seq $maxseq"; }
    pages=$(((n + 999) / 1000))
    log "reading the event stream: $n events, $pages pages of events_since(after, 1000)"
    pgbench -n -M prepared -c 1 -j 1 -t "$pages" -D last_id=0 \
        -f "$BENCH_DIR/read_events.pgbench" "$DB" >"$OUT/pgbench-read_events.txt" 2>&1 || rc=$?
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$OUT/pgbench-read_events.txt")
    if [ "$rc" -ne 0 ] || [ -z "$tps" ] || grep -q 'aborted\|^number of failed transactions: [1-9]' "$OUT/pgbench-read_events.txt"; then
        ok=0
        warn "reading the event stream failed (exit $rc); see $OUT/pgbench-read_events.txt:"
        grep -m 5 -i 'error\|abort\|fatal' "$OUT/pgbench-read_events.txt" >&2 || true
    fi
    echo "$n $pages $(awk -v p="$pages" -v t="${tps:-0}" 'BEGIN { if (t > 0) printf "%.3f", p / t; else print "-" }') $ok" \
        >"$OUT/stream-read"
}

# seal_and_verify: after all runs, seal the whole audit log as the pg_cron
# job does, naboom.seal_audit(100000) until it returns NULL (one psql call
# each), then check every seal and row with one naboom.verify_audit over a
# range that holds every row.  Both timed by the wall clock.  Leaves "rows
# seals seconds" in $OUT/audit-seal, "result sealed_rows log_rows problems
# seconds" in $OUT/audit-verify, the summary's detail text in
# $OUT/audit-verify-detail and all that verify_audit returned in
# $OUT/verify-audit.txt; "-" for what failed.
seal_and_verify() {
    local t0 t1 n rows=0 seals=0 total summary problems
    total=$(audit_rows)
    log "sealing the audit log: $total rows"
    t0=$(now_s)
    while :; do
        if ! n=$(psql -X -At -c 'SELECT row_count FROM naboom.seal_audit(100000)'); then
            warn "naboom.seal_audit failed"
            echo "- - -" >"$OUT/audit-seal"
            echo "- - - - -" >"$OUT/audit-verify"
            return 0
        fi
        [ -n "$n" ] || break
        rows=$((rows + n)); seals=$((seals + 1))
    done
    t1=$(now_s)
    echo "$rows $seals $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >"$OUT/audit-seal"

    t0=$(now_s)
    if ! psql -X -At -F '|' -c "SELECT problem, detail FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day')" \
            >"$OUT/verify-audit.txt" 2>&1; then
        warn "naboom.verify_audit failed; see $OUT/verify-audit.txt"
        echo "- - - - -" >"$OUT/audit-verify"
        return 0
    fi
    t1=$(now_s)
    # the summary is the last row: verified|<n> sealed rows in <k> seals checked, ...
    summary=$(tail -n 1 "$OUT/verify-audit.txt")
    problems=$(($(wc -l <"$OUT/verify-audit.txt") - 1))
    echo "${summary#*|}" >"$OUT/audit-verify-detail"
    echo "${summary%%|*} $(sed -n 's/^\([0-9]*\) sealed rows.*/\1/p' <<<"${summary#*|}") $total $problems" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >"$OUT/audit-verify"
    log "sealed $rows rows in $seals seals; verify_audit: $summary"
}

# ---------------------------------------------------------------- retention
# The retention section (bench/README.md, "Retention"), after every other
# one.  Its files in $OUT: retention-prepared (what
# bench/retention_prepare.sql made), retention-floor (class rows seconds of
# bench/retention_floor.sql), retention-api (the run's summary, see
# retention_run), retention-steps.txt (its naboom.retention_result rows),
# retention-verify.txt (verify_audit after it), retention-fill-cC,
# retention-bg-cC and retention-phases-cC (the run beside report_incident at
# C clients), retention.log (diagnostics), retention-status (what failed).

# retention_failed REASON: records why the section stopped (the report
# prints it as an ERROR).
retention_failed() {
    warn "retention: $1"
    echo "$1 (see bench/out/retention.log)" >"$OUT/retention-status"
}

# retention_seal: seals every audit row not sealed yet, as the pg_cron job
# does (naboom.seal_audit(100000) until it returns NULL); prints the rows
# sealed, fails if a seal does.
retention_seal() {
    local n rows=0
    while n=$(psql -X -At -c 'SELECT row_count FROM naboom.seal_audit(100000)' 2>>"$OUT/retention.log"); do
        if [ -z "$n" ]; then echo "$rows"; return 0; fi
        rows=$((rows + n))
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
    psql -X -q -v ON_ERROR_STOP=1 -c "VACUUM (ANALYZE) naboom.incident, naboom.incident_timeline, naboom.member,
        naboom.subscription, naboom.alert, naboom.rate_counter, naboom.event, naboom.audit_log, naboom.audit_seal$extra" \
        -c 'CHECKPOINT' 2>>"$OUT/retention.log"
}

# percentiles_between FROM TO DIR: "transactions p50 p95" (ms, nearest
# rank) of the transactions of the pgbench logs in DIR that ended at or
# after FROM and before TO (Unix epoch seconds; the logs' 5th and 6th
# columns), "0 - -" when none.
percentiles_between() {
    cat "$3"/tx.* 2>/dev/null | awk -v a="$1" -v b="$2" '{ t = $5 + $6 / 1000000; if (t >= a && t < b) print $3 }' \
        | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "0 - -"; exit }
            i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
            i95 = int(NR * 0.95); if (i95 < NR * 0.95) i95++
            printf "%d %.3f %.3f\n", NR, v[i50] / 1000, v[i95] / 1000
        }'
}

# retention_bg_start C: just before pgbench (after the CHECKPOINT), starts
# CALL naboom.run_retention(false) in the background as a top-level psql
# command (its batches commit), as the superuser like the pg_cron job, and
# waits until the run has begun (its retention_run row is committed).
# Leaves "previous_run_id start_epoch" in $OUT/retention-bg-start-cC.
RET_BG_PID=
retention_bg_start() {
    local before
    before=$(psql -X -At -c 'SELECT coalesce(max(run_id), 0) FROM naboom.retention_run')
    psql -X -At -c 'CALL naboom.run_retention(false)' >"$OUT/retention-bg-call-c$1.txt" 2>>"$OUT/retention.log" &
    RET_BG_PID=$!
    for _ in $(seq 200); do
        [ "$(psql -X -At -c "SELECT count(*) FROM naboom.retention_run WHERE run_id > $before")" = 0 ] || break
        sleep 0.05
    done
    echo "$before $(now_s)" >"$OUT/retention-bg-start-c$1"
}

# retention_bg_stop C LOGDIR: right after pgbench, waits for the run to end
# and leaves "run_id outcome incidents emergency_rows emergency_seconds
# audit_rows audit_seconds started finished pgbench_start pgbench_end" (epoch
# seconds) in $OUT/retention-bg-cC, and "transactions p50 p95" of pgbench's
# transactions (LOGDIR) that ended while it deleted emergency records, while
# it did the rest (anonymising audit rows), and after it ended, one line
# each, in $OUT/retention-phases-cC.
retention_bg_stop() {
    local t_end before t_start line rid started esecs finished rc=0
    t_end=$(now_s)
    wait "$RET_BG_PID" || rc=$?
    RET_BG_PID=
    [ "$rc" -eq 0 ] || warn "retention: the run beside pgbench at $1 clients failed (exit $rc); see $OUT/retention.log"
    read -r before t_start <"$OUT/retention-bg-start-c$1"
    line=$(psql -X -At -F ' ' -c "
        SELECT r.run_id, r.outcome,
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'emergency_record' AND x.target = 'naboom.incident'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'emergency_record'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.data_class = 'emergency_record'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.target = 'naboom.audit_log'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.target = 'naboom.audit_log'), 0),
            extract(epoch FROM r.started_at), coalesce(extract(epoch FROM r.finished_at), 0)
        FROM naboom.retention_run r LEFT JOIN naboom.retention_result x ON x.run_id = r.run_id
        WHERE r.run_id > $before GROUP BY r.run_id, r.outcome ORDER BY r.run_id LIMIT 1")
    [ -n "$line" ] || line="- none 0 0 0 0 0 0 0"
    echo "$line $t_start $t_end" >"$OUT/retention-bg-c$1"
    read -r rid _ _ _ esecs _ _ started finished <<<"$line"
    {
        percentiles_between 0 "$(awk -v a="$started" -v s="$esecs" 'BEGIN { printf "%.6f", a + s }')" "$2"
        percentiles_between "$(awk -v a="$started" -v s="$esecs" 'BEGIN { printf "%.6f", a + s }')" "$finished" "$2"
        percentiles_between "$finished" 9999999999 "$2"
    } >"$OUT/retention-phases-c$1"
    log "retention beside pgbench at $1 clients: run $rid, $(awk -v a="$t_start" -v b="$t_end" -v f="$finished" \
        'BEGIN { printf "ended %.1f s %s pgbench", (f > b ? f - b : b - f), (f > b ? "after" : "BEFORE") }')"
}

# retention: the retention figures.
#   1. bench/retention_prepare.sql: expired data inside the data set and the
#      floor's copies; the new audit rows sealed; VACUUM (ANALYZE), CHECKPOINT;
#   2. bench/retention_floor.sql: the floor, on the copies; CHECKPOINT;
#   3. CALL naboom.run_retention(false) as a top-level psql command (each
#      batch commits), timed by the wall clock; its steps from
#      naboom.retention_result;
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
    local t0 t1 line rid n_inc n_audit c w inc esecs arows asecs
    rm -f "$OUT"/retention-*
    log "retention: expired data inside the data set ($RET_EXPIRE incidents closed 11 years ago, inactive members," \
        "2 x $RET_AUDIT_ROWS old audit rows) and the floor's copies"
    if ! psql -X -q -At -v ON_ERROR_STOP=1 -v incidents="$INCIDENTS" -v responders="$RESPONDERS" \
            -v expire="$RET_EXPIRE" -v audit_rows="$RET_AUDIT_ROWS" \
            -f "$BENCH_DIR/retention_prepare.sql" >"$OUT/retention-prepared" 2>>"$OUT/retention.log"; then
        retention_failed "bench/retention_prepare.sql failed"; return 0
    fi
    if ! retention_seal >/dev/null; then retention_failed "naboom.seal_audit failed"; return 0; fi
    if ! retention_vacuum bench.ret_incident bench.ret_timeline bench.ret_member bench.ret_subscription bench.ret_alert \
            bench.ret_rate_counter bench.ret_audit bench.ret_month; then
        retention_failed "VACUUM failed"; return 0
    fi
    log "retention: prepared $(cat "$OUT/retention-prepared") (inactive members, their reports and timeline entries," \
        "expired incidents and their timeline entries, audit rows in the old month and 7-10 months ago, the month)"

    if ! psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_DIR/retention_floor.sql" >"$OUT/retention-floor" 2>>"$OUT/retention.log"; then
        retention_failed "bench/retention_floor.sql failed"; return 0
    fi
    psql -X -q -c 'CHECKPOINT'
    log "retention: floor $(tr '\n' ' ' <"$OUT/retention-floor")"

    t0=$(now_s)
    if ! line=$(psql -X -At -c 'CALL naboom.run_retention(false)' 2>>"$OUT/retention.log"); then
        retention_failed "CALL naboom.run_retention(false) failed"; return 0
    fi
    t1=$(now_s)
    rid=${line%%|*}
    psql -X -At -F '|' -c "SELECT step, data_class, target, action, rows, held, batches, round(seconds::numeric, 3)
        FROM naboom.retention_result WHERE run_id = $rid ORDER BY step" >"$OUT/retention-steps.txt"
    # outcome incidents emergency_rows emergency_s members personal_rows
    # personal_s audit_anonymised audit_s months month_rows month_s
    # rows_not_dropped wall_s
    psql -X -At -F ' ' -c "
        SELECT r.outcome,
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'emergency_record' AND x.target = 'naboom.incident'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'emergency_record'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.data_class = 'emergency_record'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'personal_data' AND x.target = 'naboom.member'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.data_class = 'personal_data'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.data_class = 'personal_data'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.target = 'naboom.audit_log'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.target = 'naboom.audit_log'), 0),
            coalesce(sum(x.batches) FILTER (WHERE x.target LIKE '% audit month partitions'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.target LIKE '% audit month partitions'), 0),
            coalesce(max(x.seconds) FILTER (WHERE x.target LIKE '% audit month partitions'), 0),
            coalesce(sum(x.rows) FILTER (WHERE x.target NOT LIKE '% audit month partitions'), 0),
            $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        FROM naboom.retention_run r LEFT JOIN naboom.retention_result x ON x.run_id = r.run_id
        WHERE r.run_id = $rid GROUP BY r.outcome" >"$OUT/retention-api"
    log "retention: run $rid: $(cat "$OUT/retention-api")"
    if ! psql -X -At -F '|' -c "SELECT problem, detail FROM naboom.verify_audit(now() - interval '3 years', now() - interval '6 months')" \
            >"$OUT/retention-verify.txt" 2>>"$OUT/retention.log"; then
        echo "-|verify_audit failed" >>"$OUT/retention-verify.txt"
    fi
    log "retention: verify_audit after the run: $(tail -n 1 "$OUT/retention-verify.txt")"

    # The run beside report_incident: enough expired data that it outlasts
    # pgbench.  At the rates just measured (alone), emergency records for
    # half a run and audit rows to anonymise for a whole one more; beside 1
    # or 8 clients on these CPUs it goes slower.
    read -r _ inc _ esecs _ _ _ arows asecs _ <"$OUT/retention-api"
    w=$((DURATION + 2))
    n_inc=$(awk -v n="$inc" -v s="$esecs" -v w="$w" -v d="$RET_EXPIRE" \
        'BEGIN { x = (n > 0 && s > 0) ? n / s * w * 0.5 : d; printf "%d", (x < 1000 ? 1000 : x) }')
    n_audit=$(awk -v n="$arows" -v s="$asecs" -v w="$w" -v d="$RET_AUDIT_ROWS" \
        'BEGIN { x = (n > 0 && s > 0) ? n / s * w : d; printf "%d", (x < 1000 ? 1000 : x) }')
    if ! psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT bench.retention_restore()' >/dev/null 2>>"$OUT/retention.log"; then
        retention_failed "bench.retention_restore() failed"; return 0
    fi
    for c in $CLIENTS; do
        log "retention: $n_inc expired emergency records and $n_audit audit rows to anonymise, for a run beside report_incident at $c clients"
        if ! psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -c "SELECT * FROM bench.retention_clone($n_inc, $INCIDENTS)" \
                -c "CALL bench.retention_audit_add(NULL, now() - interval '6 months' - interval '1 second', $n_audit)" \
                >"$OUT/retention-fill-c$c" 2>>"$OUT/retention.log"; then
            retention_failed "making expired data for the run beside report_incident failed"; return 0
        fi
        line=$(cat "$OUT/retention-fill-c$c")
        echo "$line $n_audit" >"$OUT/retention-fill-c$c"
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
        'naboom.audit_database', 'track_commit_timestamp')" -d postgres)"
    # a listener left behind by a failure would reconnect until --timeout
    trap '[ -z "$LISTEN_PID" ] || kill "$LISTEN_PID" 2>/dev/null || true' EXIT
    createdb -T template0 "$DB"

    log "loading SCALE=$SCALE: $INCIDENTS incidents, $((MEMBERS * 10)) members, $((SUBSCRIPTIONS * 10)) subscriptions"
    local t0 t1
    t0=$(now_s)
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
    LOAD_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
    log "loaded in ${LOAD_SECONDS}s: $(psql -X -Atc "SELECT format('%s incidents, %s timeline entries, %s areas, %s members (%s responders, %s on duty with a position), %s subscriptions, database %s',
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
    # Spatial reads and positions first, on the data set as loaded: the
    # write runs add 100,000s of fresh live reports, more than the data set
    # has live, all within the last duplicate window.
    warmup $READS update_position
    for c in $CLIENTS; do
        for op in $READS update_position; do
            run_pgbench "${FLOOR_OF[$op]}" "${FLOOR_OF[$op]}.pgbench" "$c" "$DURATION"
            run_pgbench "$op" "$op.pgbench" "$c" "$DURATION"
        done
    done
    explain explain-reads.txt

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
    read_stream
    seal_and_verify
    psql -X -At -F ' ' -c 'SELECT preloaded, written, dropped_full, dropped_other_db FROM naboom.audit_queue_stats()' \
        >"$OUT/audit-queue"
    # Last: it changes the data set (old data made, then expired).
    retention

    psql -X -Atc "SELECT format('after the runs: %s incidents, %s timeline entries',
        (SELECT count(*) FROM naboom.incident), (SELECT count(*) FROM naboom.incident_timeline))"
    echo "$LOAD_SECONDS" >"$OUT/load-seconds"
    if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
        cat "$(dirname "$PG_CLUSTER_CONF_ROOT")"/log/*.log >"$OUT/postgresql.log" 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------- report
# retention_report: the retention part of the report.  Called by report;
# raises its status (bash locals are dynamically scoped): 1 for an ERROR,
# 2 for a missed target.
retention_report() {
    local rmem rminc rmtl rexp rextl rmonth rwindow rpart outcome inc erows esecs mem prows psecs arows asecs
    local parts drows dsecs allrows wall fer fes fpr fps far fas fmr fms verdict summary errors= c
    local tps p50 p95 ok btps bp50 bp95 bok rid bout binc berows besecs barows basecs bstart bfin tstart tend
    local finc ftl faud n1 a1 b1 n2 a2 b2 n3 a3 b3 step class target action rows held batches secs
    echo "retention: CALL naboom.run_retention(false) as a top-level command, as the superuser (as the pg_cron job), auditing and"
    echo "events on; each batch of naboom.retention_batch_size (default 10000) commits on its own"
    if [ ! -s "$OUT/retention-api" ]; then
        echo "ERROR: $(cat "$OUT/retention-status" 2>/dev/null || echo "not run")"; status=1; return 0
    fi
    read -r rmem rminc rmtl rexp rextl rmonth rwindow rpart <"$OUT/retention-prepared"
    read -r outcome inc erows esecs mem prows psecs arows asecs parts drows dsecs allrows wall <"$OUT/retention-api"
    read -r _ fer fes <<<"$(grep '^emergency_record ' "$OUT/retention-floor")"
    read -r _ fpr fps <<<"$(grep '^personal_data ' "$OUT/retention-floor")"
    read -r _ far fas <<<"$(grep '^audit_anonymise ' "$OUT/retention-floor")"
    read -r _ fmr fms <<<"$(grep '^audit_month ' "$OUT/retention-floor")"
    echo "expired data inside the loaded data set: $rexp closed or rejected incidents moved 11 years back (with $rextl timeline entries);"
    echo "$rmem inactive members, everything of theirs moved 7.5 years back ($rminc reports, $rmtl timeline entries); audit: $rmonth rows in"
    echo "$rpart (past the 1-year audit period), $rwindow more logged 10 to 7 months ago (past anonymise_after, 6 months)"
    echo "floor: the same change to the same rows as one bare statement per class on copies of the tables (same columns, rows and indexes;"
    echo "no triggers, FKs, CHECKs, RLS), committed; ratio of rows/s"
    printf '%-30s %8s %8s %8s %10s %8s %9s %6s  %-15s %s\n' \
        class rows seconds rows/s 'floor rows' 'floor s' 'floor r/s' ratio target result
    # ret_row NAME ROWS SECONDS FLOOR_ROWS FLOOR_SECONDS [TARGET VERDICT]
    ret_row() {
        awk -v name="$1" -v n="$2" -v s="$3" -v fn="$4" -v fs="$5" -v t="${6:-}" -v v="${7:-}" 'BEGIN {
            r = (s > 0 ? n / s : 0); fr = (fs > 0 ? fn / fs : 0)
            printf "%-30s %8d %8.3f %8.0f %10d %8.3f %9.0f %6s  %-15s %s\n", name, n, s, r, fn, fs, fr,
                (fr > 0 ? sprintf("%.2f", r / fr) : "-"), t, v }'
    }
    ret_row "emergency_record (deleted)" "$erows" "$esecs" "$fer" "$fes"
    ret_row "personal_data (anonymised)" "$prows" "$psecs" "$fpr" "$fps"
    if awk -v n=$((erows + prows)) -v s="$esecs" -v t="$psecs" -v m="$MIN_RETENTION_RATE" \
            'BEGIN { exit !(s + t > 0 && n / (s + t) >= m) }'; then
        verdict=PASS
    else
        verdict=FAIL; [ "$status" -eq 0 ] && status=2
    fi
    ret_row "both" $((erows + prows)) "$(awk -v a="$esecs" -v b="$psecs" 'BEGIN { print a + b }')" \
        $((fer + fpr)) "$(awk -v a="$fes" -v b="$fps" 'BEGIN { print a + b }')" ">=$MIN_RETENTION_RATE rows/s" "$verdict"
    ret_row "audit_log (anonymised)" "$arows" "$asecs" "$far" "$fas"
    ret_row "audit month dropped" "$drows" "$dsecs" "$fmr" "$fms"
    echo "the whole run: $allrows rows deleted or anonymised, and $drows dropped with $parts audit month partition(s), in $wall s" \
        "(wall time of the CALL), $(awk -v n="$allrows" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }') rows/s" \
        "without the dropped ones; outcome $outcome"
    [ "$outcome" = done ] || errors+="; the run ended '$outcome'"
    [ "$inc" = "$rexp" ] || errors+="; it deleted $inc incidents of the $rexp expired"
    [ "$mem" = "$rmem" ] || errors+="; it anonymised $mem members of the $rmem inactive"
    { [ "$parts" = 1 ] && [ "$drows" = "$rmonth" ]; } || errors+="; it dropped $parts months with $drows rows, not 1 with $rmonth"
    # The expired month is dropped first; its rows are not anonymised.
    [ "$arows" -ge "$rwindow" ] || errors+="; it anonymised $arows audit rows, fewer than the $rwindow old ones"
    [ "$fer" = "$erows" ] && [ "$fpr" = "$prows" ] && [ "$far" = "$arows" ] && [ "$fmr" = "$drows" ] \
        || errors+="; the floor changed other rows than the run"
    if [ -n "$errors" ]; then
        echo "ERROR: ${errors#; }"; status=1
    else
        echo "checks: every expired incident deleted, every inactive member anonymised, the month dropped, every old audit row anonymised;" \
            "the floor changed as many rows"
    fi
    summary=$(tail -n 1 "$OUT/retention-verify.txt")
    [ "${summary%%|*}" = verified ] || { status=1; summary="ERROR: ${summary%%|*} (see bench/out/retention-verify.txt)|${summary#*|}"; }
    echo "verify_audit(now() - 3 years, now() - 6 months) after the run (the seals of the old rows made here): ${summary%%|*}; ${summary#*|}"
    echo "its steps (naboom.retention_result; seconds of a class from its start, so its steps' seconds overlap):"
    printf '  %4s %-16s %-66s %-10s %8s %5s %7s %8s\n' step class target action rows held batches seconds
    while IFS='|' read -r step class target action rows held batches secs; do
        printf '  %4s %-16s %-66s %-10s %8s %5s %7s %8s\n' "$step" "$class" "$target" "$action" "$rows" "$held" "$batches" "$secs"
    done <"$OUT/retention-steps.txt"

    echo
    echo "report_incident beside a retention run: report_incident.pgbench for ${DURATION}s idle (report_incident_idle), then right after with"
    echo "CALL naboom.run_retention(false) started just before it (report_incident_retention), over expired data made for it: emergency records"
    echo "(copies of loaded ones, 11 years old) for about half a run and audit rows just past 6 months for a whole run more, at the rates above;"
    echo "p50/p95 of the whole transaction; x: with the run / idle"
    printf '%3s %8s %8s %8s %8s %8s %8s %6s %6s  %s\n' clients 'TPS idle' 'p50 idle' 'p95 idle' 'TPS run' 'p50 run' 'p95 run' 'TPS x' 'p95 x' \
        'the run beside it'
    for c in $CLIENTS; do
        if [ ! -s "$OUT/result-report_incident_retention-c$c" ] || [ ! -s "$OUT/retention-bg-c$c" ]; then
            printf '%3s  ERROR: not measured (%s)\n' "$c" "$(cat "$OUT/retention-status" 2>/dev/null || echo "no result")"; status=1
            continue
        fi
        read -r tps p50 p95 ok _ <"$OUT/result-report_incident_idle-c$c"
        read -r btps bp50 bp95 bok _ <"$OUT/result-report_incident_retention-c$c"
        read -r rid bout binc berows besecs barows basecs bstart bfin tstart tend <"$OUT/retention-bg-c$c"
        read -r finc ftl faud <"$OUT/retention-fill-c$c"
        verdict=$(awk -v e="$berows" -v es="$besecs" -v a="$barows" -v as="$basecs" -v s="$bstart" -v f="$bfin" \
            -v t0="$tstart" -v t1="$tend" 'BEGIN {
            cov = ((f < t1 ? f : t1) - (s > t0 ? s : t0)) / (t1 - t0); if (cov < 0) cov = 0
            printf "deleted %d rows at %.0f rows/s, anonymised %d audit rows at %.0f rows/s; running for %.0f %% of the run%s",
                e, (es > 0 ? e / es : 0), a, (as > 0 ? a / as : 0), 100 * cov,
                (f < t1 ? sprintf(" (ended %.1f s before pgbench)", t1 - f) : sprintf(" (ended %.1f s after pgbench)", f - t1)) }')
        if [ "$ok" != 1 ] || [ "$bok" != 1 ] || [ "$bout" != done ] || [ "$binc" != "$finc" ]; then
            verdict="ERROR (pgbench failed, or the run ended '$bout', or deleted $binc of the $finc expired incidents): $verdict"; status=1
        fi
        printf '%3s %8.0f %8s %8s %8.0f %8s %8s %6s %6s  %s\n' "$c" "$tps" "$p50" "$p95" "$btps" "$bp50" "$bp95" \
            "$(awk -v a="$btps" -v b="$tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
            "$(awk -v a="$bp95" -v b="$p95" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" "$verdict"
        { read -r n1 a1 b1; read -r n2 a2 b2; read -r n3 a3 b3; } <"$OUT/retention-phases-c$c"
        echo "    by what the run was doing when a transaction ended: deleting emergency records $n1 tx, p50 $a1, p95 $b1;" \
            "anonymising audit rows $n2 tx, p50 $a2, p95 $b2; after the run $n3 tx, p50 $a3, p95 $b3"
    done
    if [ -s "$OUT/retention-status" ]; then
        echo "ERROR: $(cat "$OUT/retention-status")"; status=1
    fi
}

report() {
    local c op name verdict tps p50 p95 ok ftps fp50 fp95 fok ratio tx wb fpi status=0 line
    local n nsub nresp upd hot fupd fhot atps aok ast arows otps ook ost names
    local rows seals secs result vrows lrows problems vsecs preloaded written dfull dother
    local ev eunpub enots ep50 ep95 emax published received dp50 dp95 dmax pages
    {
        echo "naboom benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, SCALE=$SCALE, DURATION=${DURATION}s per run$([ "$PROFILE" = 1 ] && echo ", PROFILE=1 (pg_stat_statements on: not comparable)")"
        echo "data: $INCIDENTS incidents, $((MEMBERS * 10)) members, $((ONDUTY * 10)) on-duty responders with positions, $((SUBSCRIPTIONS * 10)) subscriptions; load $(cat "$OUT/load-seconds")s"
        echo "cluster: shared_buffers=2GB max_connections=50 fsync=on synchronous_commit=on checkpoint_timeout=15min max_wal_size=8GB track_commit_timestamp=on shared_preload_libraries=naboom"
        echo "pgbench -M prepared as a non-superuser; one transaction = BEGIN; set_config(request.jwt.claims); <statement>; COMMIT"
        echo
        echo "write paths, audited; floor: the same row as one bare INSERT/UPDATE on a copy of the table (same columns and indexes; no triggers, FKs, CHECKs, RLS)"
        printf '%-20s %3s %7s %7s %7s %9s %9s %6s  %-19s %s\n' \
            operation clients TPS 'p50 ms' 'p95 ms' 'floor TPS' 'floor p95' ratio target result
        for op in $WRITES update_position; do
            for c in $CLIENTS; do
                read -r tps p50 p95 ok _ <"$OUT/result-$op-c$c"
                read -r ftps _ fp95 fok _ <"$OUT/result-${FLOOR_OF[$op]}-c$c"
                ratio=$(awk -v a="$tps" -v b="$ftps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }')
                if [ "$ok" != 1 ] || [ "$fok" != 1 ]; then
                    verdict=ERROR; status=1
                elif [ -z "${MIN_RATIO[$op]:-}" ]; then
                    verdict=-
                elif awk -v r="$ratio" -v m="${MIN_RATIO[$op]}" -v p="$p95" -v x="${MAX_P95[$op]}" \
                        'BEGIN { exit !(r >= m && p <= x) }'; then
                    verdict=PASS
                else
                    verdict=FAIL; [ "$status" -eq 0 ] && status=2
                fi
                printf '%-20s %3s %7.0f %7s %7s %9.0f %9s %6s  %-19s %s\n' \
                    "$op" "$c" "$tps" "$p50" "$p95" "$ftps" "$fp95" "$ratio" \
                    "$([ -n "${MIN_RATIO[$op]:-}" ] && echo ">=${MIN_RATIO[$op]}x p95<=${MAX_P95[$op]}ms" || echo "(none)")" "$verdict"
            done
        done
        echo
        line="report_incident fan-out, alerts written per report:"
        for c in $CLIENTS; do
            read -r n nsub nresp <"$OUT/alerts-report_incident-c$c"
            read -r _ _ _ _ tx _ <"$OUT/result-report_incident-c$c"
            line+=$(awk -v c="$c" -v n="$n" -v s="$nsub" -v r="$nresp" -v t="$tx" 'BEGIN {
                if (t > 0) printf " %s client(s) %.2f (%.2f subscription, %.2f responder);", c, n / t, s / t, r / t }')
        done
        echo "${line%;}"
        line="HOT updates during the position runs (n_tup_hot_upd / n_tup_upd):"
        for c in $CLIENTS; do
            read -r upd hot <"$OUT/hot-update_position-c$c"
            read -r fupd fhot <"$OUT/hot-floor_position-c$c"
            line+=$(awk -v c="$c" -v u="$upd" -v h="$hot" -v fu="$fupd" -v fh="$fhot" 'BEGIN {
                printf " %s client(s) naboom.responder_position %.1f %% of %d, floor %.1f %% of %d;", c,
                    (u > 0 ? 100 * h / u : 0), u, (fu > 0 ? 100 * fh / fu : 0), fu }')
        done
        echo "${line%;}"
        echo
        echo "spatial reads; floor: the same question as one bare SQL statement on the copies (no identity, visibility, projection); ratio of TPS;"
        echo "p50/p95 of the whole transaction (4 round trips), stmt: mean of the call itself (pgbench -r)"
        printf '%-20s %3s %7s %7s %7s %7s %9s %9s %9s %9s %6s  %-11s %s\n' \
            operation clients TPS 'p50 ms' 'p95 ms' 'stmt ms' 'floor TPS' 'floor p50' 'floor p95' 'floor stm' ratio target result
        for op in $READS; do
            for c in $CLIENTS; do
                read -r tps p50 p95 ok _ _ _ st _ <"$OUT/result-$op-c$c"
                read -r ftps fp50 fp95 fok _ _ _ fst _ <"$OUT/result-${FLOOR_OF[$op]}-c$c"
                ratio=$(awk -v a="$tps" -v b="$ftps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }')
                if [ "$ok" != 1 ] || [ "$fok" != 1 ]; then
                    verdict=ERROR; status=1
                elif [ "$c" != 1 ]; then
                    # 8 clients on 2 CPUs queue for a core: latency there is
                    # the machine's, not the call's (see bench/README.md)
                    verdict=-
                elif awk -v p="$p95" -v x="${MAX_P95[$op]}" 'BEGIN { exit !(p <= x) }'; then
                    verdict=PASS
                else
                    verdict=FAIL; [ "$status" -eq 0 ] && status=2
                fi
                printf '%-20s %3s %7.0f %7s %7s %7s %9.0f %9s %9s %9s %6s  %-11s %s\n' \
                    "$op" "$c" "$tps" "$p50" "$p95" "$st" "$ftps" "$fp50" "$fp95" "$fst" "$ratio" "p95<=${MAX_P95[$op]}ms" "$verdict"
            done
        done
        echo
        echo "audit log; each write path with auditing on (as above) and, right after, off for naboom_bench"
        echo "(ALTER ROLE naboom_bench SET naboom.audit = off; it wrote no audit rows, or ERROR); ratio of TPS;"
        echo "stmt: mean of the call itself in ms (pgbench -r); rows/tx: audit rows written per transaction with auditing on"
        printf '%-20s %3s %7s %7s %7s %8s %7s %6s  %-7s %s\n' \
            operation clients 'TPS on' 'TPS off' 'stmt on' 'stmt off' rows/tx ratio target result
        for op in $WRITES; do
            for c in $CLIENTS; do
                read -r atps _ _ aok tx _ _ ast arows <"$OUT/result-$op-c$c"
                read -r otps _ _ ook _ _ _ ost _ <"$OUT/result-${op}_noaudit-c$c"
                ratio=$(awk -v a="$atps" -v b="$otps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }')
                if [ "$aok" != 1 ] || [ "$ook" != 1 ]; then
                    verdict=ERROR; status=1
                elif awk -v r="$ratio" -v m="${MIN_AUDIT_RATIO[$op]}" 'BEGIN { exit !(r >= m) }'; then
                    verdict=PASS
                else
                    verdict=FAIL; [ "$status" -eq 0 ] && status=2
                fi
                printf '%-20s %3s %7.0f %7.0f %7s %8s %7s %6s  %-7s %s\n' \
                    "$op" "$c" "$atps" "$otps" "$ast" "$ost" \
                    "$(awk -v t="$tx" -v a="$arows" 'BEGIN { if (t > 0) printf "%.2f", a / t; else print "-" }')" \
                    "$ratio" ">=${MIN_AUDIT_RATIO[$op]}x" "$verdict"
            done
        done
        line="audit cost per row at 1 client, (stmt on - stmt off) / audit rows per transaction:"
        if [[ " $CLIENTS " == *" 1 "* ]]; then
            for op in $WRITES; do
                read -r _ _ _ _ tx _ _ ast arows <"$OUT/result-$op-c1"
                read -r _ _ _ _ _ _ _ ost _ <"$OUT/result-${op}_noaudit-c1"
                line+=$(awk -v o="$op" -v t="$tx" -v a="$arows" -v s1="$ast" -v s0="$ost" 'BEGIN {
                    if (t > 0 && a > 0 && s1 != "-" && s0 != "-")
                        printf " %s %.1f us (%.3f - %.3f ms, %.2f rows);", o, 1000 * (s1 - s0) / (a / t), s1, s0, a / t
                    else
                        printf " %s - (no audit rows or no statement latency);", o }')
            done
        else
            line+=" - (no 1-client runs in CLIENTS);"
        fi
        echo "${line%;}"
        read -r rows seals secs <"$OUT/audit-seal"
        read -r result vrows lrows problems vsecs <"$OUT/audit-verify"
        if [ "$rows" = - ]; then
            echo "sealing: ERROR, naboom.seal_audit failed"; status=1
        else
            echo "sealing after all runs, naboom.seal_audit(100000) until NULL: $rows rows in $seals seals, ${secs} s," \
                "$(awk -v n="$rows" -v t="$secs" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "-" }') rows/s"
        fi
        if [ "$result" = - ]; then
            echo "verify_audit: ERROR, it failed (see bench/out/verify-audit.txt)"; status=1
        else
            [ "$result" = verified ] || status=1
            echo "verify_audit(now() - 1 day, now() + 1 day), once over all ${lrows} rows of the log: $result$([ "$result" = verified ] || echo " (ERROR: $problems problem rows in bench/out/verify-audit.txt)"), ${vsecs} s," \
                "$(awk -v n="$vrows" -v t="$vsecs" 'BEGIN { if (t > 0 && n != "") printf "%.0f", n / t; else print "-" }') sealed rows verified/s"
            echo "  $(cat "$OUT/audit-verify-detail")"
        fi
        read -r preloaded written dfull dother <"$OUT/audit-queue"
        echo "audit writer ($([ "$preloaded" = t ] && echo "naboom preloaded" || echo "naboom NOT preloaded")): $written entries written," \
            "$dfull dropped (queue full), $dother dropped (other database)"
        echo
        echo "event stream; each write path with events on (as above, audited) and, right after, off for naboom_bench"
        echo "(ALTER ROLE naboom_bench SET naboom.events = off, auditing on; it wrote no events, or ERROR); ratio of TPS;"
        echo "stmt: mean of the call itself in ms (pgbench -r); events/tx: events written per transaction with events on"
        printf '%-20s %3s %7s %7s %7s %8s %9s %6s  %-7s %s\n' \
            operation clients 'TPS on' 'TPS off' 'stmt on' 'stmt off' events/tx ratio target result
        for op in $WRITES; do
            for c in $CLIENTS; do
                read -r atps _ _ aok tx _ _ ast _ <"$OUT/result-$op-c$c"
                read -r otps _ _ ook _ _ _ ost _ <"$OUT/result-${op}_noevents-c$c"
                read -r ev _ <"$OUT/events-$op-c$c"
                ratio=$(awk -v a="$atps" -v b="$otps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }')
                if [ "$aok" != 1 ] || [ "$ook" != 1 ]; then
                    verdict=ERROR; status=1
                elif awk -v r="$ratio" -v m="${MIN_EVENTS_RATIO[$op]}" 'BEGIN { exit !(r >= m) }'; then
                    verdict=PASS
                else
                    verdict=FAIL; [ "$status" -eq 0 ] && status=2
                fi
                printf '%-20s %3s %7.0f %7.0f %7s %8s %9s %6s  %-7s %s\n' \
                    "$op" "$c" "$atps" "$otps" "$ast" "$ost" \
                    "$(awk -v t="$tx" -v e="$ev" 'BEGIN { if (t > 0) printf "%.2f", e / t; else print "-" }')" \
                    "$ratio" ">=${MIN_EVENTS_RATIO[$op]}x" "$verdict"
            done
        done
        echo "commit -> publication, ms: published_at - pg_xact_commit_timestamp(xid) of every event the run wrote (commit timestamp:"
        echo "taken as the commit record is written, before its WAL flush; the NOTIFY is delivered when the publisher commits, right after)"
        printf '%-28s %3s %8s %8s %8s %8s\n' run clients events 'p50 ms' 'p95 ms' 'max ms'
        for c in $CLIENTS; do
            names=
            for op in $WRITES; do names+=" $op ${op}_noaudit"; done
            [ "$c" != "$LISTEN_CLIENTS" ] || names+=" report_incident_listen"
            for name in $names; do
                read -r ev eunpub enots ep50 ep95 emax <"$OUT/events-$name-c$c"
                line=
                if [ "$eunpub" != 0 ] || [ "$enots" != 0 ]; then
                    line="  ERROR: $eunpub not published 10 s after the run, $enots without a commit timestamp"; status=1
                fi
                printf '%-28s %3s %8s %8s %8s %8s%s\n' "$name" "$c" "$ev" "$ep50" "$ep95" "$emax" "$line"
            done
        done
        read -r tps _ _ ok tx _ <"$OUT/result-report_incident_listen-c$LISTEN_CLIENTS"
        read -r atps _ <"$OUT/result-report_incident-c$LISTEN_CLIENTS"
        if [ "$ok" != 1 ]; then
            echo "commit -> delivery: ERROR, the run report_incident_listen failed (see bench/out/pgbench-report_incident_listen-c$LISTEN_CLIENTS.txt)"
            status=1
        elif [ -s "$OUT/listen-result" ] && [ ! -s "$OUT/listen-status" ]; then
            read -r published received dp50 dp95 dmax <"$OUT/listen-result"
            echo "commit -> delivery, ms: tools/naboom-listen's receive time (perl Time::HiRes, as its line arrives) - pg_xact_commit_timestamp(xid),"
            echo "  report_incident_listen at $LISTEN_CLIENTS clients: $received of $published events received$([ "$received" = "$published" ] || echo " (MISSING events: see bench/out/listen.err)"), p50 $dp50, p95 $dp95, max $dmax;" \
                "TPS $(printf '%.0f' "$tps") with the listener (report_incident at $LISTEN_CLIENTS clients: $(printf '%.0f' "$atps"))"
        else
            echo "commit -> delivery: not measured ($(cat "$OUT/listen-status" 2>/dev/null || echo "no result"))"
        fi
        read -r n pages secs ok <"$OUT/stream-read"
        if [ "$ok" != 1 ]; then
            echo "events_since read: ERROR (see bench/out/pgbench-read_events.txt)"; status=1
        else
            echo "events_since(after, 1000) as the service, the whole stream from 0, a page per transaction: $n events in $pages pages, ${secs} s," \
                "$(awk -v n="$n" -v t="$secs" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "-" }') events/s" \
                "($(awk -v p="$pages" -v t="$secs" 'BEGIN { if (p > 0 && t > 0) printf "%.2f", 1000 * t / p; else print "-" }') ms per page)"
        fi
        echo
        retention_report
        echo
        echo "every run (after fresh positions and a CHECKPOINT; WAL per transaction from pg_stat_wal, audit rows from naboom.audit_log, events from naboom.event):"
        printf '%-28s %3s %8s %7s %7s %7s %7s %9s %7s %8s %9s\n' run clients transactions TPS 'p50 ms' 'p95 ms' 'stmt ms' 'WAL B/tx' 'FPI/tx' 'audit/tx' 'events/tx'
        for c in $CLIENTS; do
            for op in $READS update_position $WRITES; do
                names="${FLOOR_OF[$op]} $op"
                [ -z "${MIN_EVENTS_RATIO[$op]:-}" ] || names+=" ${op}_noevents"
                [ -z "${MIN_AUDIT_RATIO[$op]:-}" ] || names+=" ${op}_noaudit"
                [ "$op" != report_incident ] || [ "$c" != "$LISTEN_CLIENTS" ] || names+=" report_incident_listen"
                for name in $names; do
                    read -r tps p50 p95 ok tx wb fpi st arows <"$OUT/result-$name-c$c"
                    read -r ev _ <"$OUT/events-$name-c$c"
                    printf '%-28s %3s %8s %7.0f %7s %7s %7s %9s %7s %8s %9s\n' "$name" "$c" "$tx" "$tps" "$p50" "$p95" "$st" "$wb" "$fpi" \
                        "$(awk -v t="$tx" -v a="$arows" 'BEGIN { if (t > 0) printf "%.2f", a / t; else print "-" }')" \
                        "$(awk -v t="$tx" -v e="$ev" 'BEGIN { if (t > 0) printf "%.2f", e / t; else print "-" }')"
                done
            done
        done
    } >"$OUT/report.txt"
    echo
    cat "$OUT/report.txt"
    return "$status"
}

if [ "${1:-}" = "--inside-virtualenv" ]; then
    inside
    exit $?
fi

# ---------------------------------------------------------------- outside
command -v pgbench >/dev/null 2>&1 || PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"
mkdir -p "$OUT"
rm -rf "$OUT/log" "$OUT"/result-* "$OUT"/hot-* "$OUT"/alerts-* "$OUT"/pgbench-*.txt "$OUT"/statements-*.txt \
    "$OUT/load-seconds" "$OUT/report.txt" "$OUT"/explain-*.txt "$OUT"/audit-* "$OUT/verify-audit.txt" \
    "$OUT"/events-* "$OUT"/listen* "$OUT/stream-read" "$OUT"/retention-*

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
    -o naboom.audit_database="$DB" \
    "${PROFILE_OPTS[@]}" \
    env SCALE="$SCALE" DURATION="$DURATION" WARMUP="$WARMUP" CLIENTS="$CLIENTS" PROFILE="$PROFILE" PATH="$PATH" \
    LISTEN_BIN="$LISTEN_BIN" \
    bash "$BENCH_DIR/run.sh" --inside-virtualenv </dev/null || rc=$?
[ "$rc" -eq 0 ] || die "benchmark failed (exit $rc)"

report || rc=$?
log "total $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }')s; report in $OUT/report.txt"
exit "$rc"
