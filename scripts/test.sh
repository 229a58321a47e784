#!/usr/bin/env bash
# naboom: the one command that runs every test.   bash scripts/test.sh
#
# What it does
#   1. scripts/setup-debian.sh  (packages if missing, `make`, `make install`)
#   2. inside ONE throw-away PostgreSQL 15 cluster made by pg_virtualenv
#      (shared_preload_libraries=pg_cron,naboom, cron.database_name and
#      naboom.writer_database=contrib_regression,
#      max_connections=100, timezone=UTC, locale C.UTF-8, encoding UTF8),
#      one make target per suite (the Makefile's "tests" section; each can
#      be run by hand the same way against any cluster):
#        a. make installcheck-regress      pg_regress over sql/*.sql,
#           database contrib_regression, created fresh by pg_regress, with
#           `--load-extension=postgis --load-extension=naboom` already done.
#           Every file stands alone: it includes from test/include/ what it
#           needs (a fresh naboom, the helpers, the test town), so any file
#           runs by itself (make installcheck-regress REGRESS=08_spatial)
#           and in any order.
#        b. make installcheck-isolation    isolation specs over specs/*.spec,
#           database isolation_regression, same extensions loaded.
#           (a and b are two make calls so a failure in a still runs b.)
#        c. make installcheck-listen       test/listen.sh (tools/naboom-listen
#           is built first when missing or older than its source): the event
#           stream seen by a real LISTEN client and a raw psql LISTEN, in the
#           background writer's database, where it installs naboom afresh
#           (it needs nothing from a or b): events only after commit, none
#           for a rollback, panics on naboom_panic, catch-up after
#           pg_terminate_backend, ids once and increasing.  Under `timeout`
#           (NABOOM_LISTEN_TIMEOUT).
#        c2. make installcheck-forwarder  test/forwarder.sh (TAP; tools/
#           naboom-forwarder is built first), under `timeout`
#           (NABOOM_FORWARDER_TIMEOUT): in a database of its own, the
#           reference forwarding worker against test/authority_server.pl, a
#           stand-in authority on 127.0.0.1 that fails, times out and
#           succeeds on purpose; a worker killed and connections terminated
#           on the way; every forwarding delivered at least once, in order per
#           incident, repeats with the same Idempotency-Key.  About 20 s.
#        d. make installcheck-fingerprint  test/fingerprint.sh (TAP), under
#           `timeout` (NABOOM_FINGERPRINT_TIMEOUT); skipped, with a message
#           and not counted, while the file does not exist.
#        e. make installcheck-restore      test/restore.sh (TAP), under `timeout`
#           (NABOOM_RESTORE_TIMEOUT): a database with every kind of row,
#           pg_dump -Fc | pg_restore and pg_dump | psql into new databases,
#           every table, sequence and API answer compared, verify_audit.
#        f. make installcheck-faults       test/faults.sh (TAP), under `timeout`
#           (NABOOM_FAULTS_TIMEOUT): in a cluster of its own (fsync and
#           synchronous_commit on), the write API under load while the
#           postmaster is killed with SIGKILL four times; afterwards every
#           acknowledged report, transition, note, timeline row, audit row,
#           event and seal is there, the stream has no gap, verify_audit
#           says verified.  About 80 s.  Skipped, not counted, without the file.
#        g. make installcheck-auditring  test/audit_ring.sh (TAP), in a cluster
#           of its own with a 16-entry audit ring (initdb as postgres in a
#           mktemp dir, free port, stopped on exit), under `timeout`
#           (NABOOM_AUDITRING_TIMEOUT): no READ of a private incident is
#           lost when the ring is full.
#        h. make installcheck-standby  test/standby.sh (TAP): a primary and a
#           hot standby of its own (pg_basebackup -R, mktemp dir, free
#           ports, stopped on exit), under `timeout` (NABOOM_STANDBY_TIMEOUT):
#           every STABLE naboom_api function answers on the standby as a
#           gateway calls it, nothing writes, reads are audited in its log.
#        h1. make installcheck-citus  test/citus.sh (TAP), under `timeout`
#           (NABOOM_CITUS_TIMEOUT): a Citus 13.2 coordinator and two workers
#           of its own (Citus built by ../shared/citus/install.sh when it is
#           missing, about 3 minutes), naboom distributed by community, the
#           whole story, the daily surfaces and the rest of the API through
#           the coordinator, reports/s beside a single node, a third worker
#           and a rebalance under load.  About 4 min.
#           Skipped, with a message and not counted, when Citus is missing
#           and the build script is not beside the repository.
#        h2. make installcheck-postgrest  test/postgrest.sh (TAP), under `timeout`
#           (NABOOM_POSTGREST_TIMEOUT): in a database of its own, as an
#           authenticator role, every request replayed as PostgREST 12 runs
#           it (test/postgrest_replay.pm, Perl DBD::Pg): a whole story, the
#           mistakes a user can make (4xx, never 500), Open311's paths, and
#           every naboom_api function (from pg_proc) called with its method.
#        i. make installcheck-graphile  test/graphile.sh (TAP): npm ci of
#           tools/postgraphile from its lock file (cached; skipped when
#           node_modules is from the same lock), a real PostGraphile 4 on a
#           free 127.0.0.1 port as the login role graphile_authenticator
#           against a database of its own (both dropped on exit), under `timeout`
#           (NABOOM_GRAPHILE_TIMEOUT): the incident story over HTTP with
#           signed JWTs, and naboomEvents over a WebSocket.
#        j. make installcheck-tap          pgTAP over test/sql/*.sql (test/tap.sh),
#           twice: TAP_PASSES=1 and TAP_PASSES=2 (see the contract below).
#   3. prints regression.diffs / output_iso/regression.diffs on failure, a
#      breakdown, and as the very last line `N passed, N failed`.
#      Exit 0 iff nothing failed and something passed.
#
# Counting: each pg_regress test and each isolation spec is one test; each
# pgTAP assertion (`ok N` / `not ok N` line) in each pass is one test, and so
# is each assertion of test/listen.sh, test/fingerprint.sh, test/restore.sh, test/faults.sh,
# test/graphile.sh and test/postgrest.sh (TAP too:
# plan `1..N` first, `ok N` / `not ok N` lines).  A test program that dies
# without reporting (bad plan, SQL error, crash, timeout, extension that
# fails to load) counts as one more failure; a pg_regress test that never got
# to run counts as failed too, and so does each listen, fingerprint or faults
# assertion of the plan that was never reported.  A naboom-listen that is
# missing and cannot be built is one failure (listen prints no plan).
#
# pgTAP contract (test/sql/*.sql, run by test/tap.sh with pg_prove, one
# pg_prove per file, psql ON_ERROR_STOP=1):
#   * Before EACH pass the database naboom_tap is dropped and recreated with
#       CREATE EXTENSION naboom CASCADE;          -- naboom + postgis
#       CREATE SCHEMA tap; CREATE EXTENSION pgtap SCHEMA tap;
#       GRANT USAGE ON SCHEMA tap TO PUBLIC;      -- so non-superusers can assert
#     Files of one pass share that database and run in name order: wrap each
#     file in BEGIN; ... SELECT * FROM finish(); ROLLBACK; so nothing leaks
#     (roles are cluster-wide: create them inside that transaction too).
#     Shared set-up is in test/include/ (\ir ../include/...): as_user.psql
#     (pgTAP under an empty search_path, error_of, message_of) and
#     fixtures.psql (communities and members made through the API).
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
# installcheck-isolation.log, listen.log, fingerprint.log, restore.log, faults.log, graphile.log, postgrest.log, pgtap-pass1.log,
# pgtap-pass2.log, postgresql.log.
#
# Environment knobs:
#   NABOOM_SKIP_SETUP=1       don't run setup-debian.sh (already built+installed)
#   NABOOM_STEP_TIMEOUT=1800  seconds for each make installcheck-regress/-isolation
#   NABOOM_FILE_TIMEOUT=600   seconds for each pgTAP file
#   NABOOM_LISTEN_TIMEOUT=180 seconds for make installcheck-listen
#   NABOOM_FORWARDER_TIMEOUT=180 seconds for make installcheck-forwarder
#   NABOOM_FINGERPRINT_TIMEOUT=600  seconds for make installcheck-fingerprint
#   NABOOM_RESTORE_TIMEOUT=600      seconds for make installcheck-restore
#   NABOOM_FAULTS_TIMEOUT=300 seconds for make installcheck-faults
#   NABOOM_AUDITRING_TIMEOUT=120    seconds for make installcheck-auditring
#   NABOOM_STANDBY_TIMEOUT=120      seconds for make installcheck-standby
#   NABOOM_CITUS_TIMEOUT=1500       seconds for make installcheck-citus (the Citus build included)
#   NABOOM_POSTGREST_TIMEOUT=120    seconds for make installcheck-postgrest
#   NABOOM_GRAPHILE_TIMEOUT=300     seconds for make installcheck-graphile (npm ci included)
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$NABOOM_ROOT" || exit 1

RESULTS_DIR="$NABOOM_ROOT/test/results"
COUNTS_FILE="$RESULTS_DIR/counts"
STEP_TIMEOUT="${NABOOM_STEP_TIMEOUT:-1800}"
FILE_TIMEOUT="${NABOOM_FILE_TIMEOUT:-600}"
LISTEN_TIMEOUT="${NABOOM_LISTEN_TIMEOUT:-180}"
FINGERPRINT_TIMEOUT="${NABOOM_FINGERPRINT_TIMEOUT:-600}"
RESTORE_TIMEOUT="${NABOOM_RESTORE_TIMEOUT:-600}"
FAULTS_TIMEOUT="${NABOOM_FAULTS_TIMEOUT:-300}"
AUDITRING_TIMEOUT="${NABOOM_AUDITRING_TIMEOUT:-120}"
CITUS_TIMEOUT="${NABOOM_CITUS_TIMEOUT:-1500}"
STANDBY_TIMEOUT="${NABOOM_STANDBY_TIMEOUT:-120}"
POSTGREST_TIMEOUT="${NABOOM_POSTGREST_TIMEOUT:-120}"
GRAPHILE_TIMEOUT="${NABOOM_GRAPHILE_TIMEOUT:-300}"
FORWARDER_TIMEOUT="${NABOOM_FORWARDER_TIMEOUT:-180}"
DIFF_MAX_LINES=3000

# ---------------------------------------------------------------- helpers

# record STEP PASSED FAILED: the step's counts, and the seconds since its
# start (STEP_START, set by step_start)
STEP_START=$SECONDS
step_start() { STEP_START=$SECONDS; }
record() { printf '%s %d %d %d\n' "$1" "$2" "$3" $((SECONDS - STEP_START)) >>"$COUNTS_FILE"; }

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

# run_installcheck STEP LOG EXPECTED_COUNT DIFFS TARGET
# Runs make TARGET, tees its output to LOG, parses pg_regress 15's
# per-test lines:  `test NAME   ... ok   12 ms`  (or `     NAME ... ok` inside
# parallel groups), `... FAILED ...`, `... failed (ignored) ...`.
run_installcheck() {
    local step="$1" logf="$2" expected="$3" diffs="$4" target="$5"
    local rc ok bad missing extra=0
    step_start
    echo
    log "$step: make $target ($expected tests)"
    timeout -k 30 "$STEP_TIMEOUT" make "$target" PG_CONFIG="$PG_CONFIG" 2>&1 | tee "$logf"
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
        echo "!! $step: make $target exited $rc without a failing test line (counted as 1 failure)"
        extra=1
    fi
    if [ "$rc" -ne 0 ] || [ "$bad" -gt 0 ]; then
        show_diffs "$diffs"
    fi
    record "$step" "$ok" $((bad + missing + extra))
}

# run_pgtap_pass N: make installcheck-tap TAP_PASSES=N (test/tap.sh), output
# to test/results/pgtap-passN.log.  test/tap.sh frames each file's pg_prove
# output with `# pgtap pass N: file F exit RC`; a file's `ok N` lines are
# passes, its `not ok N` lines failures (`not ok ... # TODO` is an expected
# failure in TAP: a pass), and a file that exited non-zero without a failing
# assertion (died, bad plan, SQL error, timeout) is one failure.
run_pgtap_pass() {
    local pass="$1" step="pgtap-pass$1" logf="$RESULTS_DIR/pgtap-pass$1.log"
    local rc counts passed failed files
    step_start
    echo
    log "$step: make installcheck-tap TAP_PASSES=$pass"
    NABOOM_FILE_TIMEOUT="$FILE_TIMEOUT" make -s installcheck-tap TAP_PASSES="$pass" \
        PG_CONFIG="$PG_CONFIG" 2>&1 | tee "$logf"
    rc=${PIPESTATUS[0]}
    counts=$(awk '
        /^ok [0-9]+/                     { p++ }
        /^not ok [0-9]+/                 { if ($0 ~ /# TODO/) p++; else { n++; fn++ } }
        /^# pgtap pass [0-9]+: file .* exit [0-9]+$/ {
            files++
            if ($NF != 0 && fn == 0) { n++; print "!! pgtap: " $6 " exited " $NF " without a failing assertion (died, bad plan, SQL error or timeout) - counted as 1 failure" > "/dev/stderr" }
            fn = 0
        }
        END { printf "%d %d %d\n", p, n, files }' "$logf")
    read -r passed failed files <<<"$counts"
    if [ "$files" -eq 0 ]; then
        echo "!! $step: no pgTAP file ran (make exit $rc: pg_prove missing, or database naboom_tap with naboom + pgtap could not be made) - counted as 1 failure"
        failed=$((failed + 1))
    fi
    log "$step: $passed assertions ok, $failed failed ($files files)"
    record "$step" "$passed" "$failed"
}

# run_tap_program STEP TIMEOUT TARGET: make -s TARGET under timeout, output
# to test/results/STEP.log; the output is TAP: the plan `1..N`, then `ok N` /
# `not ok N` per assertion.  No plan is one failure, each assertion of the
# plan never reported is one, and a non-zero exit without a failing
# assertion is one.
run_tap_program() {
    local step="$1" limit="$2" target="$3" logf="$RESULTS_DIR/$1.log"
    local rc plan ok bad missing=0 extra=0
    step_start
    echo
    log "$step: make $target"
    timeout -k 5 "$limit" make -s "$target" PG_CONFIG="$PG_CONFIG" 2>&1 | tee "$logf"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "!! $step: timed out after ${limit}s" | tee -a "$logf"
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$logf" | cut -d. -f3)
    ok=$(grep -cE '^ok [0-9]+' "$logf")
    bad=$(grep -cE '^not ok [0-9]+' "$logf")
    if [ -z "$plan" ]; then
        echo "!! $step: make $target printed no plan (exit $rc; for listen: tools/naboom-listen could not be built?) - counted as 1 failure" | tee -a "$logf"
        extra=1
    elif [ $((plan - ok - bad)) -gt 0 ]; then
        missing=$((plan - ok - bad))
        echo "!! $step: $missing of $plan assertions never reported (exit $rc; died or timed out) - counted as failed" | tee -a "$logf"
    elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "!! $step: make $target exited $rc without a failing assertion - counted as 1 failure" | tee -a "$logf"
        extra=1
    fi
    log "$step: $ok assertions ok, $((bad + missing + extra)) failed"
    record "$step" "$ok" $((bad + missing + extra))
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
            "${#regress[@]}" regression.diffs installcheck-regress
    else
        echo; log "pg_regress: no sql/*.sql yet - skipped"
    fi
    if [ "${#specs[@]}" -gt 0 ]; then
        run_installcheck isolation "$RESULTS_DIR/installcheck-isolation.log" \
            "${#specs[@]}" output_iso/regression.diffs installcheck-isolation
    else
        echo; log "isolation: no specs/*.spec yet - skipped"
    fi

    # needs nothing from pg_regress: it installs naboom afresh in the
    # writer's database
    if [ -e test/listen.sh ]; then
        run_tap_program listen "$LISTEN_TIMEOUT" installcheck-listen
    else
        echo; log "listen: no test/listen.sh - skipped"
    fi

    # a database of its own in this cluster, and a stand-in authority
    if [ -e test/forwarder.sh ]; then
        run_tap_program forwarder "$FORWARDER_TIMEOUT" installcheck-forwarder
    else
        echo; log "forwarder: no test/forwarder.sh - skipped (not counted)"
    fi

    if [ -e test/fingerprint.sh ]; then
        run_tap_program fingerprint "$FINGERPRINT_TIMEOUT" installcheck-fingerprint
    else
        echo; log "fingerprint: no test/fingerprint.sh yet - skipped (not counted)"
    fi

    # needs nothing from the steps before: its own databases
    if [ -e test/restore.sh ]; then
        run_tap_program restore "$RESTORE_TIMEOUT" installcheck-restore
    else
        echo; log "restore: no test/restore.sh yet - skipped (not counted)"
    fi
    # its own cluster (kill -9 of the postmaster under load): needs nothing
    # of this one
    if [ -e test/faults.sh ]; then
        run_tap_program faults "$FAULTS_TIMEOUT" installcheck-faults
    else
        echo; log "faults: no test/faults.sh - skipped (not counted)"
    fi

    # a cluster of its own (a 16-entry audit ring): needs only the install
    if [ -e test/audit_ring.sh ]; then
        run_tap_program auditring "$AUDITRING_TIMEOUT" installcheck-auditring
    else
        echo; log "auditring: no test/audit_ring.sh - skipped (not counted)"
    fi

    # a primary and a hot standby of its own: needs only the install
    if [ -e test/standby.sh ]; then
        run_tap_program standby "$STANDBY_TIMEOUT" installcheck-standby
    else
        echo; log "standby: no test/standby.sh - skipped (not counted)"
    fi

    # a Citus coordinator and two workers of their own (Citus built from
    # ../shared/citus/install.sh when missing, about 3 min): needs only the
    # install.  Without Citus and without that script: skipped, loudly.
    if [ -e test/citus.sh ]; then
        if [ -f "$(pg_config --pkglibdir)/citus.so" ] ||
           [ -f "${NABOOM_CITUS_INSTALL:-$NABOOM_ROOT/../shared/citus/install.sh}" ]; then
            run_tap_program citus "$CITUS_TIMEOUT" installcheck-citus
        else
            echo; log "citus: !! no Citus installed and no ../shared/citus/install.sh to build it - skipped (not counted)"
        fi
    fi

    # a database of its own (naboom_postgrest) and the authenticator role
    if [ -e test/postgrest.sh ]; then
        run_tap_program postgrest "$POSTGREST_TIMEOUT" installcheck-postgrest
    else
        echo; log "postgrest: no test/postgrest.sh - skipped (not counted)"
    fi

    # PostGraphile against a database of its own: needs only the install
    if [ -e test/graphile.sh ]; then
        run_tap_program graphile "$GRAPHILE_TIMEOUT" installcheck-graphile
    else
        echo; log "graphile: no test/graphile.sh - skipped (not counted)"
    fi

    if [ "${#taps[@]}" -eq 0 ]; then
        echo; log "pgTAP: no test/sql/*.sql yet - skipped"
    else
        run_pgtap_pass 1
        run_pgtap_pass 2
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
    -o naboom.writer_database=contrib_regression \
    -o cron.database_name=contrib_regression \
    -o cron.host=/var/run/postgresql \
    -o max_connections=100 \
    -o timezone=UTC \
    bash "$NABOOM_ROOT/scripts/test.sh" --inside-virtualenv </dev/null
venv_rc=$?

passed=0; failed=0
echo
log "summary"
while read -r step p f secs; do
    printf '    %-14s ok=%-6d failed=%-4d %4ss\n' "$step" "$p" "$f" "${secs:-?}"
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
