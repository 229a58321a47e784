#!/usr/bin/env bash
# test/forwarder.sh: tools/naboom-forwarder against an authority that fails,
# times out and succeeds on purpose.
#
#   bash test/forwarder.sh       (make installcheck-forwarder; scripts/test.sh)
#
# Needs a running cluster with naboom installed (PGHOST/PGPORT/PGUSER as
# pg_virtualenv sets them, the user a superuser) and tools/naboom-forwarder
# built (make -C tools; the make target builds it).  It makes a database of
# its own (dropped on exit) and starts test/authority_server.pl, a stand-in
# authority on a free 127.0.0.1 port: for a quarter of the forwardings the
# first attempt is a 503, for another quarter it does not answer within the
# worker's 1 s HTTP timeout (and then accepts it anyway), the rest succeed.
#
# 24 stock thefts are reported (a rule forwards each to SAPS at report);
# 8 of them are forwarded again by a moderator's request, 4 a third time.
# One worker starts, is killed with SIGKILL after a few deliveries (its
# claimed rows come back when their 2 s lease ends), then two workers run at
# once, and their database connections are terminated once.  Then:
#   1. every forwarding is delivered, and the workers keep going: they
#      delivered more after their connections were terminated;
#   2. every forwarding reached the authority with a 2xx answer at least once;
#   3. every request's Idempotency-Key header is the body's idempotency_key,
#      and one forwarding always came with one key (duplicates carry the same
#      key), and there were duplicates (the timeouts and the kill made some);
#   4. in order per incident: no forwarding of an incident reached the
#      authority before the one before it had been answered 2xx;
#   5. the external id the authority answered is recorded on each;
#   6. failures were retried: some forwardings took 2 or more attempts, with
#      the 503 and the timeout as their last errors;
#   7. a worker stops with status 0 on SIGTERM.
#
# Output is TAP (plan first).  Environment: NABOOM_FORWARDER_BIN (default
# tools/naboom-forwarder).  Every wait is bounded; about 20 s.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BIN="${NABOOM_FORWARDER_BIN:-$ROOT/tools/naboom-forwarder}"
DB="naboom_forwarder_$$"
PLAN=9
W="$(mktemp -d)"
SPID=""
declare -a WPIDS=()
n=0
failed=0

unset PGOPTIONS PGDATABASE PGAPPNAME

cleanup() {
	local p
	for p in "${WPIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	sleep 0.2
	for p in "${WPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
ok() { # ok CONDITION-EXIT-STATUS DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}
wait_for() { # wait_for SECONDS SQL-RETURNING-t
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		[ "$(q "$2")" = t ] && return 0
		sleep 0.2
	done
	return 1
}
start_worker() { # start_worker NAME
	"$BIN" --authority saps --batch 3 --lease 2 --http-timeout 1 --poll-ms 100 --role naboom_service \
		"dbname=$DB" 2>>"$W/$1.log" &
	WPIDS+=($!)
}

echo "1..$PLAN"
if [ ! -x "$BIN" ]; then
	echo "# $BIN is not built (make -C tools)"
	exit 1
fi

psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null || exit 1
perl "$ROOT/test/authority_server.pl" "$W" &
SPID=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
PORT=$(cat "$W/port" 2>/dev/null) || { echo "# the authority server did not start"; exit 1; }

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || { echo "# set-up failed"; exit 1; }
CREATE EXTENSION postgis;
CREATE EXTENSION naboom CASCADE;
ALTER DATABASE $DB SET naboom.forwarding_backoff = '200ms';
ALTER DATABASE $DB SET naboom.forwarding_max_attempts = 20;
SELECT naboom_api.create_community('fwd-test', 'Forwarding test', admin_ref => 'fw-admin');
SELECT naboom_api.upsert_category('fwd-test', 'stock_theft', 'Stock theft', 'Veediefstal', 'high');
SELECT naboom_api.upsert_authority('fwd-test', 'saps', 'SAPS', 'SAPD', 'police', 'http://127.0.0.1:$PORT/intake');
SELECT naboom_api.upsert_forwarding_rule('fwd-test', 'stock', 'saps', '{stock_theft}');
SELECT set_config('request.jwt.claims', '{"sub": "fw-res"}', false);
SELECT naboom_api.join_community('fwd-test', 'Resident');
SELECT naboom_api.report_incident('fwd-test', 'stock_theft', -24.52, 28.71, 'Cattle ' || g) FROM generate_series(1, 24) g;
SELECT set_config('request.jwt.claims', '', false);
SELECT naboom_api.forward_incident(i.reference, 'saps', 'again') FROM (SELECT reference FROM naboom.incident ORDER BY incident_id LIMIT 8) i;
SELECT naboom_api.forward_incident(i.reference, 'saps', 'and again') FROM (SELECT reference FROM naboom.incident ORDER BY incident_id LIMIT 4) i;
SQL
TOTAL=$(q "SELECT count(*) FROM naboom.forwarding")
echo "# $TOTAL forwardings, authority on 127.0.0.1:$PORT"

# One worker, killed with SIGKILL after a few deliveries.
start_worker w1
wait_for 20 "SELECT count(*) >= 5 FROM naboom.forwarding WHERE state = 'delivered'"
kill -9 "${WPIDS[0]}" 2>/dev/null
echo "# killed the first worker at $(q "SELECT count(*) FROM naboom.forwarding WHERE state = 'delivered'") delivered"
# Two workers at once; their connections terminated once on the way.
start_worker w2
start_worker w3
wait_for 20 "SELECT count(*) >= 12 FROM naboom.forwarding WHERE state = 'delivered'"
AT_KILL=$(q "SELECT count(*) FROM naboom.forwarding WHERE state = 'delivered'")
q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'naboom-forwarder' AND datname = '$DB'" >/dev/null
echo "# terminated the workers' connections at $AT_KILL delivered"
wait_for 60 "SELECT count(*) = $TOTAL FROM naboom.forwarding WHERE state = 'delivered'"
DONE=$(q "SELECT count(*) FROM naboom.forwarding WHERE state = 'delivered'")
ok $(( DONE == TOTAL && DONE > AT_KILL ? 0 : 1 )) "every forwarding delivered ($DONE of $TOTAL), $((DONE - AT_KILL)) after the connections were terminated" \
	"$(q "SELECT state, count(*) FROM naboom.forwarding GROUP BY 1"; tail -5 "$W"/w2.log)"
# The workers reconnected (and were not restarted).
grep -q 'connection lost' "$W/w2.log" "$W/w3.log" && [ "$(grep -c '^naboom-forwarder: connected' "$W/w2.log")" -ge 2 ] \
	&& [ "$(grep -c '^naboom-forwarder: connected' "$W/w3.log")" -ge 2 ]
ok $? "both workers reconnected after losing their connections" "$(grep -h 'connect' "$W"/w*.log | head)"

# What the authority saw.
REQ="$W/requests"
q "SELECT idempotency_key FROM naboom.forwarding" | sort >"$W/keys"
awk '$3 == "200" || $3 == "late-200" { print $4 }' "$REQ" | sort -u >"$W/answered"
missing=$(comm -23 "$W/keys" "$W/answered")
ok $([ -z "$missing" ]; echo $?) "every forwarding reached the authority with a 2xx answer at least once" "missing: $missing"

bad=$(awk '$4 != $5' "$REQ")
mixed=$(awk '{ print $8, $4 }' "$REQ" | sort -u | awk '{ c[$1]++ } END { for (i in c) if (c[i] > 1) print i }')
ok $([ -z "$bad$mixed" ]; echo $?) "every request carried its forwarding's own key in the Idempotency-Key header, one key per forwarding" "$bad $mixed"
dups=$(awk '{ c[$4]++ } END { for (k in c) if (c[k] > 1) n++; print n + 0 }' "$REQ")
ok $([ "$dups" -gt 0 ]; echo $?) "repeats happened ($dups forwardings arrived more than once) and carried the same key"

# Order: a forwarding's first arrival comes after the 2xx answer to the one
# before it (same reference, seq - 1).
order=$(awk '
	{ ref = $6; seq = $7 + 0
	  if (!((ref, seq) in first) || $1 < first[ref, seq]) first[ref, seq] = $1
	  if (($3 == "200" || $3 == "late-200") && (!((ref, seq) in ok) || $2 < ok[ref, seq])) ok[ref, seq] = $2 }
	END { for (k in first) { split(k, p, SUBSEP); if (p[2] > 1) {
		prev = p[1] SUBSEP (p[2] - 1)
		if (!(prev in ok) || first[k] < ok[prev]) print p[1], p[2], first[k], ok[prev] } } }' "$REQ")
ok $([ -z "$order" ]; echo $?) "in order per incident: no forwarding arrived before the one before it was answered" "$order"

wrong=$(q "SELECT count(*) FROM naboom.forwarding WHERE external_id IS DISTINCT FROM 'CAS-' || forwarding_id")
ok $([ "$wrong" = 0 ]; echo $?) "the authority's external id is recorded on every forwarding" "$wrong wrong"

retried=$(q "SELECT count(*) FILTER (WHERE last_error LIKE 'HTTP 503%') > 0 AND count(*) FILTER (WHERE last_error ILIKE '%timed out%') > 0
	FROM naboom.forwarding WHERE attempts >= 2")
ok $([ "$retried" = t ]; echo $?) "503s and timeouts were retried (last errors recorded)" \
	"$(q "SELECT attempts, last_error FROM naboom.forwarding WHERE attempts >= 2 LIMIT 5")"

kill -TERM "${WPIDS[1]}"
rc=0
for _ in $(seq 50); do kill -0 "${WPIDS[1]}" 2>/dev/null || break; sleep 0.1; done
wait "${WPIDS[1]}"; rc=$?
ok "$rc" "a worker stops with status 0 on SIGTERM" "exit $rc"

echo "# forwarder: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
