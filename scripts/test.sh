#!/usr/bin/env bash
# naboom: the one command that runs every test.   bash scripts/test.sh
#
# What it does
#   1. scripts/setup-debian.sh  (packages if missing, `make`, `make install`)
#   2. inside ONE throw-away PostgreSQL 15 cluster made by pg_virtualenv
#      (shared_preload_libraries=pg_cron,naboom, cron.database_name and
#      naboom.audit_database=contrib_regression,
#      max_connections=100, timezone=UTC, locale C.UTF-8, encoding UTF8):
#        a. pg_regress   over sql/*.sql    (make installcheck ISOLATION=)
#           database contrib_regression, created fresh by pg_regress, with
#           `--load-extension=postgis --load-extension=naboom` already done.
#        b. isolation    over specs/*.spec (make installcheck REGRESS=)
#           database isolation_regression, same extensions loaded.
#           (a and b are two make calls so a failure in a still runs b.)
#        c. listen       test/listen.sh: the event stream seen by a real
#           LISTEN client (tools/naboom-listen, built with `make -C tools`
#           first if it is missing or older than its source) and a raw psql
#           LISTEN, in contrib_regression (the background writer's database;
#           naboom 0.4.0 as a's last file left it), with a community of its
#           own: events only after commit, none for a rollback, panics on
#           naboom_panic, catch-up after pg_terminate_backend, ids once and
#           increasing.  Run under `timeout` (NABOOM_LISTEN_TIMEOUT).
#        d. pgTAP        over test/sql/*.sql, twice (see the contract below).
#   3. prints regression.diffs / output_iso/regression.diffs on failure, a
#      breakdown, and as the very last line `N passed, N failed`.
#      Exit 0 iff nothing failed and something passed.
#
# Counting: each pg_regress test and each isolation spec is one test; each
# pgTAP assertion (`ok N` / `not ok N` line) in each pass is one test, and so
# is each assertion of test/listen.sh (TAP too: plan `1..N` first, `ok N` /
# `not ok N` lines).  A test program that dies without reporting (bad plan,
# SQL error, crash, timeout, extension that fails to load) counts as one more
# failure; a pg_regress test that never got to run counts as failed too, and
# so does each listen assertion of the plan that was never reported.  A
# naboom-listen that is missing and cannot be built is one failure.
#
# pgTAP contract (test/sql/*.sql, run with pg_prove, psql ON_ERROR_STOP=1):
#   * Before EACH pass the database naboom_tap is dropped and recreated with
#       CREATE EXTENSION naboom CASCADE;          -- naboom + postgis
#       CREATE SCHEMA tap; CREATE EXTENSION pgtap SCHEMA tap;
#       GRANT USAGE ON SCHEMA tap TO PUBLIC;      -- so non-superusers can assert
#     Files of one pass share that database and run in name order: wrap each
#     file in BEGIN; ... SELECT * FROM finish(); ROLLBACK; so nothing leaks
#     (roles are cluster-wide: create them inside that transaction too).
#   * Pass 1: PGOPTIONS="-c search_path=tap,public"
#   * Pass 2: PGOPTIONS="-c search_path=tap"
#     i.e. nothing of naboom, public or postgis is on the path: every naboom
#     (and postgis) object must be referenced schema-qualified in test files,
#     and naboom itself must work with an empty/unrelated search_path.  pgTAP
#     functions stay reachable unqualified (plan(), ok(), is(), finish()...).
#   * Test files switch into non-superuser roles themselves (SET ROLE / SET
#     SESSION AUTHORIZATION) where they test privileges.
#   * The connecting user is the superuser `postgres`; PGHOST/PGPORT/PGUSER/
#     PGPASSWORD come from pg_virtualenv.  pg_cron can only be created in
#     database contrib_regression (cron.database_name), not in naboom_tap.
#
# Logs (gitignored) are in test/results/: installcheck-regress.log,
# installcheck-isolation.log, listen.log, pgtap-pass1.log, pgtap-pass2.log,
# postgresql.log.
#
# Environment knobs:
#   NABOOM_SKIP_SETUP=1       don't run setup-debian.sh (already built+installed)
#   NABOOM_STEP_TIMEOUT=1800  seconds for each make installcheck call
#   NABOOM_FILE_TIMEOUT=600   seconds for each pgTAP file
#   NABOOM_LISTEN_TIMEOUT=60  seconds for test/listen.sh
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$NABOOM_ROOT" || exit 1

RESULTS_DIR="$NABOOM_ROOT/test/results"
COUNTS_FILE="$RESULTS_DIR/counts"
TAP_DB=naboom_tap
STEP_TIMEOUT="${NABOOM_STEP_TIMEOUT:-1800}"
FILE_TIMEOUT="${NABOOM_FILE_TIMEOUT:-600}"
LISTEN_TIMEOUT="${NABOOM_LISTEN_TIMEOUT:-60}"
DIFF_MAX_LINES=3000

# ---------------------------------------------------------------- helpers

# record STEP PASSED FAILED
record() { printf '%s %d %d\n' "$1" "$2" "$3" >>"$COUNTS_FILE"; }

show_diffs() { # show_diffs FILE
    local f="$1" n
    [ -s "$f" ] || return 0
    n=$(wc -l <"$f")
    echo "------------------------------------------------------------------"
    echo "---- $f ($n lines)"
    echo "------------------------------------------------------------------"
    head -n "$DIFF_MAX_LINES" "$f"
    [ "$n" -le "$DIFF_MAX_LINES" ] || echo "... (truncated; full file: $f)"
    echo "------------------------------------------------------------------"
}

# run_installcheck STEP LOG EXPECTED_COUNT DIFFS MAKE_ARGS...
# Runs make installcheck, tees its output to LOG, parses pg_regress 15's
# per-test lines:  `test NAME   ... ok   12 ms`  (or `     NAME ... ok` inside
# parallel groups), `... FAILED ...`, `... failed (ignored) ...`.
run_installcheck() {
    local step="$1" logf="$2" expected="$3" diffs="$4"; shift 4
    local rc ok bad missing extra=0
    echo
    log "$step: make installcheck $* ($expected tests)"
    timeout -k 30 "$STEP_TIMEOUT" make installcheck PG_CONFIG="$PG_CONFIG" "$@" 2>&1 | tee "$logf"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "!! $step: timed out after ${STEP_TIMEOUT}s"
    ok=$(grep -cE '^(test +| +)[^ ]+ +\.\.\. ok( |$)' "$logf")
    bad=$(grep -cE '^(test +| +)[^ ]+ +\.\.\. (FAILED|failed \(ignored\))' "$logf")
    missing=$((expected - ok - bad))
    if [ "$missing" -gt 0 ]; then
        echo "!! $step: $missing of $expected tests did not run (counted as failed)"
    else
        missing=0
    fi
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && [ "$missing" -eq 0 ]; then
        echo "!! $step: make installcheck exited $rc without a failing test line (counted as 1 failure)"
        extra=1
    fi
    if [ "$rc" -ne 0 ] || [ "$bad" -gt 0 ]; then
        show_diffs "$diffs"
    fi
    record "$step" "$ok" $((bad + missing + extra))
}

setup_tap_db() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres \
        -c "DROP DATABASE IF EXISTS $TAP_DB" -c "CREATE DATABASE $TAP_DB" &&
    psql -X -q -v ON_ERROR_STOP=1 -d "$TAP_DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
CREATE SCHEMA tap;
CREATE EXTENSION pgtap SCHEMA tap;
GRANT USAGE ON SCHEMA tap TO PUBLIC;
SQL
}

# run_pgtap_pass N SEARCH_PATH FILES...
run_pgtap_pass() {
    local pass="$1" sp="$2"; shift 2
    local step="pgtap-pass$pass" logf="$RESULTS_DIR/pgtap-pass$pass.log"
    local f out rc p n todo passed=0 failed=0
    echo
    log "$step: pg_prove over $# files with PGOPTIONS='-c search_path=$sp' (database $TAP_DB)"
    : >"$logf"
    if ! setup_tap_db >>"$logf" 2>&1; then
        cat "$logf"
        echo "!! $step: could not create database $TAP_DB with naboom + pgtap (counted as 1 failure)"
        record "$step" 0 1
        return
    fi
    for f in "$@"; do
        out=$(PGOPTIONS="-c search_path=$sp" timeout -k 10 "$FILE_TIMEOUT" \
              pg_prove --norc --nocolor --verbose --merge -d "$TAP_DB" "$f" 2>&1)
        rc=$?
        printf '%s\n' "$out" | tee -a "$logf"
        p=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+')
        n=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+')
        # `not ok N ... # TODO` is an expected failure in TAP: not a failure
        todo=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+.*# TODO')
        p=$((p + todo)); n=$((n - todo))
        if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
            [ "$rc" -eq 124 ] && echo "!! $f: timed out after ${FILE_TIMEOUT}s" | tee -a "$logf"
            echo "!! $step: $f failed without a failing assertion (pg_prove exit $rc; died, bad plan or SQL error) - counted as 1 failure" | tee -a "$logf"
            n=1
        fi
        passed=$((passed + p)); failed=$((failed + n))
    done
    log "$step: $passed assertions ok, $failed failed"
    record "$step" "$passed" "$failed"
}

# run_listen: test/listen.sh in contrib_regression, with tools/naboom-listen
# (built first when it is missing or older than its source).  Its output is
# TAP: the plan `1..N`, then `ok N` / `not ok N` per assertion.
run_listen() {
    local logf="$RESULTS_DIR/listen.log" bin="$NABOOM_ROOT/tools/naboom-listen"
    local rc plan ok bad missing=0 extra=0
    echo
    log "listen: test/listen.sh (naboom-listen + raw LISTEN, database contrib_regression)"
    : >"$logf"
    if [ ! -x "$bin" ] || [ "$NABOOM_ROOT/tools/naboom_listen.c" -nt "$bin" ]; then
        log "listen: building tools/naboom-listen (make -C tools)"
        if ! make -C "$NABOOM_ROOT/tools" PG_CONFIG="$PG_CONFIG" >>"$logf" 2>&1 || [ ! -x "$bin" ]; then
            cat "$logf"
            echo "!! listen: \`make -C tools\` failed: tools/naboom-listen is missing or older than its source (needs libpq-dev and cc; see above) - counted as 1 failure" | tee -a "$logf"
            record listen 0 1
            return
        fi
    fi
    timeout -k 5 "$LISTEN_TIMEOUT" bash "$NABOOM_ROOT/test/listen.sh" 2>&1 | tee -a "$logf"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "!! listen: timed out after ${LISTEN_TIMEOUT}s" | tee -a "$logf"
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$logf" | cut -d. -f3)
    ok=$(grep -cE '^ok [0-9]+' "$logf")
    bad=$(grep -cE '^not ok [0-9]+' "$logf")
    if [ -z "$plan" ]; then
        echo "!! listen: test/listen.sh printed no plan (exit $rc) - counted as 1 failure" | tee -a "$logf"
        extra=1
    elif [ $((plan - ok - bad)) -gt 0 ]; then
        missing=$((plan - ok - bad))
        echo "!! listen: $missing of $plan assertions never reported (exit $rc; died or timed out) - counted as failed" | tee -a "$logf"
    elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "!! listen: test/listen.sh exited $rc without a failing assertion - counted as 1 failure" | tee -a "$logf"
        extra=1
    fi
    log "listen: $ok assertions ok, $((bad + missing + extra)) failed"
    record listen "$ok" $((bad + missing + extra))
}

# ---------------------------------------------------------------- inside
# Runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER, PGPASSWORD are set).
inside() {
    unset PGOPTIONS
    local regress=() specs=() taps=() f
    for f in sql/*.sql;       do [ -e "$f" ] && regress+=("$f"); done
    for f in specs/*.spec;    do [ -e "$f" ] && specs+=("$f"); done
    for f in test/sql/*.sql;  do [ -e "$f" ] && taps+=("$f"); done

    log "cluster: $(psql -X -Atc 'SELECT version()' -d postgres)"

    # stale outputs must not be mistaken for this run's
    rm -rf results output_iso regression.diffs regression.out

    if [ "${#regress[@]}" -gt 0 ]; then
        run_installcheck pg_regress "$RESULTS_DIR/installcheck-regress.log" \
            "${#regress[@]}" regression.diffs ISOLATION=
    else
        echo; log "pg_regress: no sql/*.sql yet - skipped"
    fi
    if [ "${#specs[@]}" -gt 0 ]; then
        run_installcheck isolation "$RESULTS_DIR/installcheck-isolation.log" \
            "${#specs[@]}" output_iso/regression.diffs REGRESS=
    else
        echo; log "isolation: no specs/*.spec yet - skipped"
    fi

    # after pg_regress: contrib_regression is the background writer's
    # database, and pg_regress leaves it with naboom 0.4.0 installed
    if [ -e test/listen.sh ]; then
        run_listen
    else
        echo; log "listen: no test/listen.sh - skipped"
    fi

    if [ "${#taps[@]}" -eq 0 ]; then
        echo; log "pgTAP: no test/sql/*.sql yet - skipped"
    elif ! command -v pg_prove >/dev/null 2>&1; then
        echo "!! pgTAP: pg_prove not found (counted as 1 failure)"
        record pgtap 0 1
    else
        run_pgtap_pass 1 "tap,public" "${taps[@]}"
        run_pgtap_pass 2 "tap" "${taps[@]}"
    fi

    # keep the server log (pg_virtualenv -t deletes its work dir on exit)
    if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ]; then
        cat "$(dirname "$PG_CLUSTER_CONF_ROOT")"/log/*.log >"$RESULTS_DIR/postgresql.log" 2>/dev/null || true
    fi

    # non-zero makes pg_virtualenv print the server log tail (crash hints)
    awk '{ f += $3 } END { exit (f > 0) }' "$COUNTS_FILE"
}

if [ "${1:-}" = "--inside-virtualenv" ]; then
    inside
    exit $?
fi

# ---------------------------------------------------------------- outside
mkdir -p "$RESULTS_DIR"
: >"$COUNTS_FILE"

if [ "${NABOOM_SKIP_SETUP:-0}" != 1 ]; then
    if ! bash "$NABOOM_ROOT/scripts/setup-debian.sh"; then
        echo "!! setup-debian.sh failed (packages, build or install): nothing was tested"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

# -t: keep the temporary cluster (data, config, socket-independent log) in a
# fresh mktemp dir owned by postgres, even as root, instead of /etc/postgresql
# /15/regress, so a killed run leaves nothing that blocks the next one and the
# server never needs to read the repository.  The command below runs as the
# calling user (root) in the current directory; only the server is postgres.
echo
log "starting a throw-away PostgreSQL $PG_MAJOR cluster (pg_virtualenv)"
pg_virtualenv -t -v "$PG_MAJOR" \
    -c "--locale=C.UTF-8 --encoding=UTF8" \
    -o shared_preload_libraries=pg_cron,naboom \
    -o naboom.audit_database=contrib_regression \
    -o cron.database_name=contrib_regression \
    -o cron.host=/var/run/postgresql \
    -o max_connections=100 \
    -o timezone=UTC \
    bash "$NABOOM_ROOT/scripts/test.sh" --inside-virtualenv </dev/null
venv_rc=$?

passed=0; failed=0
echo
log "summary"
while read -r step p f; do
    printf '    %-14s ok=%-6d failed=%d\n' "$step" "$p" "$f"
    passed=$((passed + p)); failed=$((failed + f))
done <"$COUNTS_FILE"

if [ "$venv_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "!! pg_virtualenv exited $venv_rc (cluster could not be created or the test driver died) - counted as 1 failure"
    failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "!! no test ran at all: that is a failure"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
