#!/usr/bin/env bash
# tools/selftest.sh: naboom-listen against a throw-away PostgreSQL 15 cluster
# (pg_virtualenv, port 5481) with a fake naboom server side: the event table,
# naboom_api.events_since with the identity rules, and NOTIFY at commit.
#
#   bash tools/selftest.sh          (as root; builds the tool first)
#
# Prints one "ok" / "not ok" line per check and exits non-zero if any failed.
set -uo pipefail

TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
BIN="$TOOLS/naboom-listen"

if [ -z "${NABOOM_SELFTEST_INSIDE:-}" ]; then
    make -s -C "$TOOLS" || exit 1
    export PGPORT=5481 NABOOM_SELFTEST_INSIDE=1
    exec pg_virtualenv -t -v 15 bash "$TOOLS/selftest.sh"
fi

WORK="$(mktemp -d)"
BG=""
trap '[ -n "$BG" ] && kill "$BG" 2>/dev/null; rm -rf "$WORK"' EXIT
FAILS=0
PASSES=0

ok()     { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
checke() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }   # checke WHAT 'SHELL EXPR'
strip()  { sed $'s/^PANIC\t//' "$1"; }                           # lines without the prefix
sql()    { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# wait_for FILE REGEX [COUNT]: until COUNT lines of FILE match (15 s at most)
wait_for() {
    local i
    for i in $(seq 150); do
        [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
        sleep 0.1
    done
    echo "# timed out waiting for /$2/ x${3:-1} in $(basename "$1")"
    return 1
}

# emit TOPIC COMMUNITY [REFERENCE] [NOTIFY] [PANIC_CHANNEL]: one committed event
emit() {
    sql "SELECT naboom_api.emit('$1', '$2', ${3:-NULL}, ${4:-true}, ${5:-NULL})" >/dev/null
}

# --- the fake server side ----------------------------------------------------
sql "
CREATE ROLE naboom_service;
CREATE ROLE svc LOGIN PASSWORD 'svc' IN ROLE naboom_service;
CREATE ROLE member1 LOGIN PASSWORD 'member1';
CREATE SCHEMA naboom_api;
GRANT USAGE ON SCHEMA naboom_api TO PUBLIC;
CREATE TYPE naboom_api.event AS (id bigint, topic text, community text,
    reference text, at timestamptz, payload jsonb);
CREATE SEQUENCE naboom_api.event_seq;
CREATE TABLE naboom_api.event_log (
    id bigint PRIMARY KEY DEFAULT nextval('naboom_api.event_seq'),
    topic text NOT NULL, community text NOT NULL, reference text,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    payload jsonb NOT NULL,
    on_panic_channel boolean NOT NULL);
CREATE TABLE naboom_api.member (user_ref text, community text);
CREATE TABLE naboom_api.fake_delay (seconds float8 NOT NULL);   -- slows events_since
INSERT INTO naboom_api.fake_delay VALUES (0);
GRANT SELECT ON naboom_api.fake_delay TO PUBLIC;
INSERT INTO naboom_api.member VALUES ('alice', 'mookgophong');

CREATE FUNCTION naboom_api.events_since(after_id bigint DEFAULT 0,
                                        max_count integer DEFAULT 100)
RETURNS SETOF naboom_api.event LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS \$\$
DECLARE
    claims text := nullif(current_setting('request.jwt.claims', true), '');
    who text := claims::jsonb ->> 'sub';
BEGIN
    IF who IS NULL AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
       AND NOT pg_has_role(session_user, 'naboom_service', 'MEMBER') THEN
        RAISE EXCEPTION 'missing identity' USING ERRCODE = '42501',
            DETAIL = 'naboom.missing_identity', HINT = 'Set request.jwt.claims.';
    END IF;
    PERFORM pg_sleep((SELECT d.seconds FROM naboom_api.fake_delay d));
    RETURN QUERY
        SELECT e.id, e.topic, e.community, e.reference, e.at, e.payload
          FROM naboom_api.event_log e
         WHERE e.id > after_id
           AND (who IS NULL OR e.community IN
                (SELECT m.community FROM naboom_api.member m WHERE m.user_ref = who))
         ORDER BY e.id LIMIT max_count;
END \$\$;

-- one event, announced at commit like the real sequencer does
CREATE FUNCTION naboom_api.emit(p_topic text, p_community text, p_reference text,
                                p_notify boolean, p_panic boolean)
RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE
    v_id bigint;
    v_panic boolean := coalesce(p_panic, p_topic LIKE 'panic.%');
BEGIN
    INSERT INTO naboom_api.event_log (topic, community, reference, payload, on_panic_channel)
    VALUES (p_topic, p_community, p_reference,
            jsonb_build_object('n', currval('naboom_api.event_seq'), 'note', 'a \"b\" c'),
            v_panic AND p_notify)
    RETURNING id INTO v_id;
    IF p_notify THEN
        PERFORM pg_notify('naboom_events', json_build_object('id', v_id, 'topic', p_topic,
                          'community', p_community, 'reference', p_reference)::text);
        IF v_panic THEN
            PERFORM pg_notify('naboom_panic', json_build_object('id', v_id, 'topic', p_topic,
                              'community', p_community, 'reference', p_reference)::text);
        END IF;
    END IF;
    RETURN v_id;
END \$\$;
" || { echo "not ok - fake server side"; exit 1; }

# 1203 events before the listener starts: three catch-up pages
sql "SELECT count(naboom_api.emit(
        CASE WHEN g % 100 = 0 THEN 'panic.raised' ELSE 'incident.created' END,
        CASE WHEN g % 3 = 0 THEN 'mookgophong' ELSE 'bela-bela' END,
        CASE WHEN g % 7 = 0 THEN NULL WHEN g = 5 THEN E'NB-TAB\tBED' ELSE 'NB-7K3Q-9XW9' END,
        true, NULL)) FROM generate_series(1, 1203) g" >/dev/null

# --- 1. the main run: catch-up, live events, rollback, panic, reconnects ------
"$BIN" --timeout 60 >"$WORK/out" 2>"$WORK/err" &
BG=$!
check "initial catch-up of 1203 events in pages of 500" \
    wait_for "$WORK/err" '^naboom-listen: caught up 1203 events, last id 1203$'

emit incident.status_changed bela-bela "'NB-7K3Q-9XW9'"
check "a committed event is printed live" wait_for "$WORK/out" $'^1204\t'

sql "BEGIN; SELECT naboom_api.emit('incident.rolled_back', 'bela-bela', NULL, true, true); ROLLBACK;" >/dev/null
emit panic.raised mookgophong "'NB-PANC-0001'"
check "panic.raised printed with the PANIC prefix" \
    wait_for "$WORK/out" $'^PANIC\t1206\t.*\tpanic.raised\tmookgophong\tNB-PANC-0001\t'

emit incident.escalated mookgophong "'NB-PANC-0001'" true true
check "an id announced on naboom_panic gets the PANIC prefix" \
    wait_for "$WORK/out" $'^PANIC\t1207\t.*\tincident.escalated\t'

emit incident.assigned bela-bela NULL false        # never announced
emit incident.acknowledged bela-bela NULL
check "an unannounced event is caught up by the next notification" \
    wait_for "$WORK/out" $'^1209\t'
check "  ... and printed before it" grep -qE $'^1208\t[^\t]*\tincident.assigned\t' "$WORK/out"

killed=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'naboom-listen'")
check "terminated the listener's backend" [ "$killed" = 1 ]
# three events in one commit while the listener is away (0.5 s backoff)
wait_for "$WORK/err" '^naboom-listen: connection lost' >/dev/null
sql "SELECT naboom_api.emit(t, 'bela-bela', NULL, true, NULL)
       FROM unnest(ARRAY['incident.created', 'alert.created', 'incident.status_changed']) t" >/dev/null
check "reconnects after pg_terminate_backend" wait_for "$WORK/err" '^naboom-listen: connected to database' 2
check "  ... and catches up the 3 events of the gap" wait_for "$WORK/err" '^naboom-listen: caught up 3 events, last id 1212$'
emit incident.created bela-bela
check "  ... and listens again" wait_for "$WORK/out" $'^1213\t'

# the connection dies while the fetch that a notification started is running
sql "UPDATE naboom_api.fake_delay SET seconds = 3" >/dev/null
emit incident.created bela-bela "'NB-SLOW-0001'"
for i in $(seq 100); do
    busy=$(sql "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'naboom-listen' AND query LIKE '%events_since%'
                   AND wait_event = 'PgSleep'")
    [ "$busy" = 1 ] && break
    sleep 0.1
done
sql "UPDATE naboom_api.fake_delay SET seconds = 0" >/dev/null
killed=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'naboom-listen'")
check "terminated the listener's backend in the middle of a fetch" [ "$busy$killed" = 11 ]
check "  ... the failed fetch counts as a lost connection" \
    wait_for "$WORK/err" '^naboom-listen: connection lost: FATAL:  terminating connection due to administrator command$'
check "  ... and the event is printed after the reconnect" wait_for "$WORK/out" $'\tNB-SLOW-0001\t'

pg_ctlcluster "$PGVERSION" regress stop -m fast
check "retries while the server is down" wait_for "$WORK/err" '^naboom-listen: could not connect' 2
pg_ctlcluster "$PGVERSION" regress start
emit alert.created mookgophong
check "reconnects once the server is back" wait_for "$WORK/err" '^naboom-listen: connected to database' 4
check "  ... and prints the first event after the outage" wait_for "$WORK/out" $'\talert.created\tmookgophong\t'
emit panic.raised mookgophong "'NB-PANC-0002'"
check "  ... and listens again" wait_for "$WORK/out" $'^PANIC\t.*\tNB-PANC-0002\t'

kill -TERM "$BG"
wait "$BG"; rc=$?; BG=""
check "SIGTERM exits 0" [ "$rc" = 0 ]
check "  ... saying why" grep -q '^naboom-listen: stopping on SIGTERM$' "$WORK/err"
[ -n "${NABOOM_SELFTEST_VERBOSE:-}" ] && sed 's/^/# /' "$WORK/err"

# every committed event exactly once, in id order, formatted exactly
sql "SELECT CASE WHEN topic LIKE 'panic.%' OR on_panic_channel THEN E'PANIC\t' ELSE '' END
            || id || E'\t' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
            || E'\t' || topic || E'\t' || community
            || E'\t' || translate(coalesce(reference, ''), E'\t\n\r', '   ')
            || E'\t' || payload::text
       FROM naboom_api.event_log ORDER BY id" >"$WORK/expected"
check "output is every committed event once, in id order, byte for byte ($(wc -l <"$WORK/expected") events)" \
    cmp -s "$WORK/expected" "$WORK/out"
cmp -s "$WORK/expected" "$WORK/out" || diff "$WORK/expected" "$WORK/out" | head -20
checke "nothing of the rolled-back transaction" '! grep -q rolled_back "$WORK/out"'
checke "ids strictly increasing" 'strip "$WORK/out" | cut -f1 | sort -c -n -u'
checke "<at> is UTC with microseconds" \
    '! strip "$WORK/out" | cut -f2 | grep -qvE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"'
checke "a TAB inside a field is printed as a space" 'grep -q $'"'"'^5\t.*\tNB-TAB BED\t'"'"' "$WORK/out"'
checke "one PANIC line per panic event" \
    '[ "$(grep -c ^PANIC "$WORK/out")" = "$(sql "SELECT count(*) FROM naboom_api.event_log WHERE topic LIKE '"'panic.%'"' OR on_panic_channel")" ]' 

# --- 2. options and exit codes ------------------------------------------------
"$BIN" --after 10 --count 5 >"$WORK/out2" 2>"$WORK/err2"; rc=$?
ids=$(cut -f1 "$WORK/out2" | tr '\n' ' ')
checke "--after 10 --count 5 prints ids 11..15 and exits 0" \
    '[ "$rc" = 0 ] && [ "$ids" = "11 12 13 14 15 " ]'

last=$(sql "SELECT max(id) FROM naboom_api.event_log")
start=$(date +%s)
"$BIN" --after "$last" --timeout 1 >"$WORK/out3" 2>"$WORK/err3"; rc=$?
checke "--timeout 1 with no event exits 3 after about a second" \
    '[ "$rc" = 3 ] && [ ! -s "$WORK/out3" ] && [ $(( $(date +%s) - start )) -le 3 ]'


PGUSER=member1 PGPASSWORD=member1 "$BIN" --timeout 10 >"$WORK/out4" 2>"$WORK/err4"; rc=$?
check "a member without --sub: server error, exit 2, not retried" [ "$rc" = 2 ]
check "  ... printed with SQLSTATE and message" \
    grep -qx 'naboom-listen: ERROR 42501: missing identity' "$WORK/err4"
check "  ... detail" grep -qx 'naboom-listen: DETAIL: naboom.missing_identity' "$WORK/err4"
check "  ... and hint" grep -qx 'naboom-listen: HINT: Set request.jwt.claims.' "$WORK/err4"

want=$(sql "SELECT count(*) FROM naboom_api.event_log WHERE community = 'mookgophong'")
PGUSER=member1 PGPASSWORD=member1 "$BIN" --sub alice --count "$want" --timeout 10 \
    --quiet-catchup >"$WORK/out5" 2>"$WORK/err5"; rc=$?
checke "--sub alice sees her community's $want events and exits 0" \
    '[ "$rc" = 0 ] && [ "$(wc -l <"$WORK/out5")" = "$want" ] &&
     [ "$(strip "$WORK/out5" | cut -f4 | sort -u)" = mookgophong ]'
checke "--quiet-catchup hides the catch-up report" '! grep -q "caught up" "$WORK/err5"'


PGUSER=svc PGPASSWORD=svc "$BIN" "dbname=postgres application_name=svc-test" --count 1 >"$WORK/out6" 2>/dev/null; rc=$?
checke "a naboom_service member without claims, CONNINFO given" '[ "$rc" = 0 ] && grep -q $'"'"'^1\t'"'"' "$WORK/out6"'


"$BIN" "host=localhost port=1" >/dev/null 2>"$WORK/err7" &
BG=$!
wait_for "$WORK/err7" '^naboom-listen: reconnecting in 1.0 s$' >/dev/null
kill -INT "$BG"; wait "$BG"; rc=$?; BG=""
check "SIGINT during the reconnect backoff exits 0 at once" [ "$rc" = 0 ]
check "  ... saying why" grep -q '^naboom-listen: stopping on SIGINT$' "$WORK/err7"

"$BIN" "host=localhost port=1" --timeout 1.5 >/dev/null 2>&1; rc=$?
check "--timeout also fires while the server is unreachable" [ "$rc" = 3 ]

"$BIN" "port=5481 nonsense=1" >/dev/null 2>"$WORK/err8"; rc=$?
checke "an invalid CONNINFO is a usage error (exit 1)" '[ "$rc" = 1 ] && grep -q "invalid CONNINFO" "$WORK/err8"'

"$BIN" --count 0 >/dev/null 2>&1; rc=$?
check "--count 0 is a usage error (exit 1)" [ "$rc" = 1 ]

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ] && [ "$PASSES" -gt 0 ]
