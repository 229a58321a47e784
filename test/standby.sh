#!/usr/bin/env bash
# test/standby.sh: a hot standby serves naboom's reads (issue 14, "a hot
# standby serves the reads").
#
#   bash test/standby.sh          (make installcheck-standby; scripts/test.sh)
#
# It makes a pair of clusters of its own, as the postgres user in a mktemp
# dir, on free ports: a primary with naboom preloaded (the writer serving
# database postgres, where naboom and a small town are installed), and a
# streaming replica of it made with `pg_basebackup -R`, started as a hot
# standby.  Both are stopped and removed on exit.  Needs naboom and PostGIS
# installed (make install); runs as root or as postgres.
#
# Then it calls every STABLE function of naboom_api (listed from pg_proc,
# so a new reader is covered without editing this file) on the standby as
# PostgREST would for a GET: a READ ONLY transaction, SET LOCAL ROLE to each
# API role the function is granted to (naboom_user with an admin's claims,
# naboom_anon, naboom_service without claims), request.jwt.claims and
# request.headers set for the transaction, then the call; and the same on
# the primary.  Asserted:
#   a. every naboom_user call answers on the standby without error, and
#      every call answers there as it does on the primary (rows, or the same
#      SQLSTATE and key: e.g. export_my_data is for a person, not the
#      service);
#   b. nothing tries to write on the standby (no 25006 read-only error in
#      any call or in its server log; touch_member records activity only
#      where it can write);
#   c. each read of a private incident (get_incident, nearest_responders,
#      incidents_near, export_my_data) left its READ entry in the standby's
#      server log as a LOG line "naboom audit: {...}", one per private
#      incident shown, with the request id of the call.
#
# Output is TAP (also in test/results/standby.out; the standby's server log
# goes to test/results/standby.server.log).  Exit status 0 iff every
# assertion passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
BINDIR="$($PG_CONFIG --bindir)"
PLAN=10

unset PGOPTIONS PGDATABASE PGSERVICE PGHOST PGPORT PGUSER PGPASSWORD
mkdir -p "$ROOT/test/results" && exec > >(tee "$ROOT/test/results/standby.out")
W="$(mktemp -d /tmp/naboom-standby.XXXXXX)"
chmod 755 "$W"
cleanup() {
    local d
    for d in standby primary; do
        [ -f "$W/$d/postmaster.pid" ] && asp "$BINDIR/pg_ctl" -D "$W/$d" -m fast -w stop >/dev/null 2>&1
    done
    cp "$W/standby.log" "$ROOT/test/results/standby.server.log" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

DIAG_LINES=12
# shellcheck source=test/include/tap.bash
. "$ROOT/test/include/tap.bash"
echo "1..$PLAN"

P1="$(free_port)"; P2="$(free_port)"
while [ "$P2" = "$P1" ]; do P2="$(free_port)"; done
chown postgres "$W"
# on PORT [PSQL ARGS...]: psql as postgres to the primary ($P1) or standby ($P2)
on() { local p="$1"; shift; timeout -k 2 60 "$BINDIR/psql" -X -q -At -h "$W" -p "$p" -U postgres -d postgres "$@"; }

{ asp "$BINDIR/initdb" -D "$W/primary" --auth=trust --locale=C.UTF-8 --encoding=UTF8 &&
  cat >>"$W/primary/postgresql.conf" <<CONF
port = $P1
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'naboom'
naboom.writer_database = 'postgres'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
timezone = 'UTC'
log_line_prefix = '%m [%p] '
CONF
  asp "$BINDIR/pg_ctl" -D "$W/primary" -l "$W/primary.log" -w start; } >"$W/setup.log" 2>&1
verdict "a primary of its own on port $P1 with naboom preloaded" $? 'cat "$W/setup.log" "$W/primary.log"'
[ "$FAILED" -gt 0 ] && finish "no primary"

# The town: a community with an admin, a responder on duty nearby, a
# resident who reported three private and two public incidents.
on "$P1" -v ON_ERROR_STOP=1 >"$W/town.log" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
SELECT slug FROM naboom_api.create_community('sb', 'Standby Town',
	'{"type":"Polygon","coordinates":[[[28.60,-24.60],[28.85,-24.60],[28.85,-24.40],[28.60,-24.40],[28.60,-24.60]]]}',
	admin_ref => 'sb-admin', admin_name => 'Standby Admin') \g /dev/null
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"sb-admin"}', true) \g /dev/null
SELECT code FROM naboom_api.upsert_category('sb', 'burglary', 'Burglary', 'Inbraak', 'high') \g /dev/null
SELECT set_config('request.jwt.claims', '{"sub":"sb-resp"}', true) \g /dev/null
SELECT role FROM naboom_api.join_community('sb', 'Standby Responder') \g /dev/null
SELECT set_config('request.jwt.claims', '{"sub":"sb-admin"}', true) \g /dev/null
SELECT role FROM naboom_api.set_member_role('sb', 'sb-resp', 'responder') \g /dev/null
SELECT set_config('request.jwt.claims', '{"sub":"sb-resp"}', true) \g /dev/null
SELECT 1 FROM naboom_api.update_position(-24.501, 28.701) \g /dev/null
SELECT set_config('request.jwt.claims', '{"sub":"sb-res"}', true) \g /dev/null
SELECT role FROM naboom_api.join_community('sb', 'Standby Resident') \g /dev/null
COMMIT;
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [1000, 60]}}' WHERE slug = 'sb';
DO $$
BEGIN
	FOR k IN 1..5 LOOP
		PERFORM set_config('request.jwt.claims', '{"sub":"sb-res"}', true);
		PERFORM naboom_api.report_incident('sb', 'burglary', -24.500 - k * 0.001, 28.700 + k * 0.001,
			'standby ' || k, is_public => k > 3);
	END LOOP;
END
$$;
SELECT count(*) FILTER (WHERE NOT is_public) || ' ' || count(*) FILTER (WHERE is_public) FROM naboom.incident;
SQL
{ [ "$(tail -1 "$W/town.log")" = "3 2" ]; }
verdict "naboom and a town (3 private, 2 public incidents) on the primary" $? 'cat "$W/town.log"'
[ "$FAILED" -gt 0 ] && finish "no town"
PRIV="$(on "$P1" -c "SELECT reference FROM naboom.incident WHERE NOT is_public ORDER BY incident_id LIMIT 1")"
PUB="$(on "$P1" -c "SELECT reference FROM naboom.incident WHERE is_public ORDER BY incident_id LIMIT 1")"

# The standby: a base backup with -R (standby.signal and primary_conninfo),
# on its own port, started as a hot standby; then wait until it has
# replayed everything the primary wrote.
{ asp "$BINDIR/pg_basebackup" -h "$W" -p "$P1" -U postgres -D "$W/standby" -R -X stream -c fast &&
  echo "port = $P2" >>"$W/standby/postgresql.conf" &&
  asp "$BINDIR/pg_ctl" -D "$W/standby" -l "$W/standby.log" -w start; } >"$W/standby-setup.log" 2>&1
LSN="$(on "$P1" -c "SELECT pg_current_wal_lsn()")"
for _ in $(seq 100); do
    [ "$(on "$P2" -c "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$LSN'" 2>/dev/null)" = t ] && break
    sleep 0.1
done
{ [ "$(on "$P2" -c "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '$LSN'")" = t ] &&
  [ "$(on "$P2" -c "SELECT count(*) FROM naboom.incident")" = 5 ]; }
verdict "a hot standby (pg_basebackup -R) on port $P2 replays the primary" $? \
    'cat "$W/standby-setup.log"; tail -5 "$W/standby.log"'
[ "$FAILED" -gt 0 ] && finish "no standby"

# ---------------------------------------------------------------- the calls
# Every STABLE function of naboom_api, with each API role it is granted to,
# and named arguments for its parameters without defaults.  A parameter
# this test has no value for fails the test (add one below).
on "$P1" >"$W/calls.txt" 2>&1 <<'SQL'
SELECT p.proname || '|' || r.rolname || '|' || coalesce((
	SELECT string_agg(format('%s => :%s', a.name, a.name), ', ' ORDER BY a.n)
	FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, n)
	WHERE coalesce(a.mode, 'i') IN ('i', 'b') AND a.n <= p.pronargs - p.pronargdefaults), '')
FROM pg_proc p
CROSS JOIN (VALUES ('naboom_user'), ('naboom_anon'), ('naboom_service')) r(rolname)
WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.provolatile = 's'
	AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
ORDER BY 1;
SQL
FUNCS="$(cut -d'|' -f1 "$W/calls.txt" | sort -u | wc -l)"

# call PORT ID ROLE ARGS FUNC: a GET as PostgREST makes it; $W/ID.out gets
# the row count, $W/ID.err the error (SQLSTATE and key)
call() {
    local port="$1" id="$2" role="$3" fn="$5" args="$4" claims="" ref="$PRIV"
    case "$role" in
        naboom_user) claims='{"sub":"sb-admin","role":"naboom_user"}' ;;
        naboom_anon) claims='{"role":"naboom_anon"}'; ref="$PUB" ;;
        naboom_service) claims='{"role":"naboom_service"}' ;;
    esac
    on "$port" -v reference="$ref" -v community=sb -v category=burglary -v lat=-24.502 -v lon=28.701 \
        -v from_time="$(date -u -d '-1 day' +%FT%TZ)" -v to_time="$(date -u +%FT%TZ)" \
        >"$W/$id.out" 2>"$W/$id.err" <<SQL
\set VERBOSITY verbose
\set ON_ERROR_STOP 1
BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
SET LOCAL ROLE $role;
SELECT set_config('request.jwt.claims', '$claims', true),
	set_config('request.headers', '{"x-request-id":"$id","user-agent":"standby-test"}', true) \g /dev/null
SELECT count(*) FROM naboom_api.$fn($(echo "$args" | sed "s/:\([a-z_]*\)/:'\1'/g"));
COMMIT;
SQL
}
# outcome ID: "rows" or "SQLSTATE key"
outcome() {
    if [ -s "$W/$1.err" ]; then
        sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' "$W/$1.err" | head -1 | tr '\n' ' '
        grep -o 'naboom\.[a-z_]*:' "$W/$1.err" | head -1
    else echo rows; fi
}

: >"$W/results"
while IFS='|' read -r fn role args; do
    [ -n "$fn" ] || continue
    call "$P2" "sb-$fn-$role" "$role" "$args" "$fn"
    call "$P1" "pr-$fn-$role" "$role" "$args" "$fn"
    echo "$fn $role standby=[$(outcome "sb-$fn-$role")] primary=[$(outcome "pr-$fn-$role")]" >>"$W/results"
done <"$W/calls.txt"
sed 's/^/# /' "$W/results"

BAD_USER="$(grep ' naboom_user ' "$W/results" | grep -v 'standby=\[rows\]')"
{ [ "$FUNCS" -ge 10 ] && [ -z "$BAD_USER" ]; }
verdict "a: every STABLE naboom_api function ($FUNCS) answers on the standby for naboom_user, in a READ ONLY transaction" $? \
    'cat "$W/calls.txt" | head -3; echo "$BAD_USER"; for f in $(echo "$BAD_USER" | cut -d" " -f1); do cat "$W/sb-$f-naboom_user.err"; done'
DIFF="$(awk '{ s = $3; p = $4; sub(/^standby=/, "", s); sub(/^primary=/, "", p); if (s != p) print }' "$W/results")"
{ [ -s "$W/results" ] && [ -z "$DIFF" ]; }
verdict "a: every call ($(wc -l <"$W/results") function x role) answers on the standby as on the primary" $? \
    'echo "$DIFF"'

{ ! grep -q '25006' "$W"/sb-*.err && ! grep -q 'read-only transaction' "$W/standby.log"; }
verdict "b: nothing tries to write on the standby (no read-only transaction error)" $? \
    'grep -l 25006 "$W"/sb-*.err; grep "read-only transaction" "$W/standby.log"'

# ---------------------------------------------------------------- c
# READ lines of the standby's log for a request id, and their incidents
reads() { grep "naboom audit: {\"action\":\"READ\".*\"request_id\":\"$1\"" "$W/standby.log"; }
ids() { reads "$1" | grep -o '"incident_id":[0-9]*' | cut -d: -f2 | sort -n | paste -sd' '; }
PRIV_ID="$(on "$P1" -c "SELECT incident_id FROM naboom.incident WHERE reference = '$PRIV'")"
ALL_PRIV="$(on "$P1" -c "SELECT string_agg(incident_id::text, ' ' ORDER BY incident_id) FROM naboom.incident WHERE NOT is_public")"

{ [ "$(reads sb-get_incident-naboom_user | wc -l)" -eq 1 ] && [ "$(ids sb-get_incident-naboom_user)" = "$PRIV_ID" ]; }
verdict "c: get_incident of a private incident on the standby: one READ line in its server log" $? \
    'reads sb-get_incident-naboom_user; grep "naboom audit" "$W/standby.log" | head -3'
{ [ "$(reads sb-nearest_responders-naboom_user | wc -l)" -eq 1 ] && [ "$(ids sb-nearest_responders-naboom_user)" = "$PRIV_ID" ]; }
verdict "c: nearest_responders on the standby: one READ line" $? 'reads sb-nearest_responders-naboom_user'
{ [ "$(ids sb-incidents_near-naboom_user)" = "$ALL_PRIV" ] && [ "$(reads sb-incidents_near-naboom_user | wc -l)" -eq 3 ] &&
  [ "$(reads sb-incidents_near-naboom_anon | wc -l)" -eq 0 ]; }
verdict "c: incidents_near on the standby: one READ line per private incident shown ($ALL_PRIV), none for the public ones an anonymous caller sees" $? \
    'reads sb-incidents_near-naboom_user; echo "anon:"; reads sb-incidents_near-naboom_anon'
{ [ "$(reads sb-export_my_data-naboom_user | wc -l)" -eq 1 ]; }
verdict "c: export_my_data on the standby: one READ line" $? 'reads sb-export_my_data-naboom_user'
finish "the script died"
