#!/usr/bin/env bash
# bench/forwarding.sh: the forwarding outbox's throughput and its cost on
# report_incident (issue 16), each beside its floor, in one run.
#
#   bash bench/forwarding.sh     (inside a cluster: PGHOST/PGPORT/PGUSER set,
#                                 naboom installed; e.g. under pg_virtualenv)
#
# 1. report_incident cost: CLIENTS clients, a report of a category no rule
#    matches (the rule lookup only) and a report a rule forwards (lookup +
#    outbox row + its audit row + event), each right after the same reports
#    with the three outbox triggers disabled (the floor: no outbox at all);
#    ROUNDS rounds of such adjacent pairs, the median pair is the figure.
# 2. delivery: FWD_ROWS forwardings pending; 4 workers each loop
#    claim_forwardings(10) + forwarding_delivered for every row claimed;
#    beside the floor: the same claim (SKIP LOCKED, ordering check) and
#    updates as bare SQL on a trigger-free copy of the table, in one
#    transaction as naboom's claim and deliveries are; DROUNDS
#    alternating rounds of DSECS seconds each, medians.
# Environment: CLIENTS (2), RSECS (4 s per report run), ROUNDS (10),
# DSECS (5 s per delivery run), DROUNDS (5), FWD_ROWS (100000).
# About 4 minutes.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DB=naboom_fwbench
RSECS="${RSECS:-4}"
DSECS="${DSECS:-5}"
DROUNDS="${DROUNDS:-5}"
CLIENTS="${CLIENTS:-2}"
ROWS="${FWD_ROWS:-100000}"
W="$(mktemp -d)"
trap 'rm -rf "$W"; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
CREATE EXTENSION postgis;
CREATE EXTENSION naboom CASCADE;
SELECT naboom_api.create_community('bench-fw', 'Bench forwarding',
	'{"type":"Polygon","coordinates":[[[28.60,-24.60],[28.85,-24.60],[28.85,-24.40],[28.60,-24.40],[28.60,-24.60]]]}',
	admin_ref => 'admin', admin_name => 'Admin');
SELECT set_config('request.jwt.claims', '{"sub": "admin"}', false);
SELECT naboom_api.upsert_category('bench-fw', 'stock_theft', 'Stock theft', 'Veediefstal', 'high', duplicate_radius_m => 1);
SELECT naboom_api.upsert_category('bench-fw', 'water_leak', 'Water leak', 'Waterlek', 'low', duplicate_radius_m => 1);
SELECT naboom_api.upsert_authority('bench-fw', 'saps', 'SAPS', 'SAPD', 'police', 'http://127.0.0.1:1/x');
SELECT naboom_api.upsert_forwarding_rule('bench-fw', 'stock', 'saps', '{stock_theft}');
-- The report rate limit (30 a minute per member) raised out of reach as
-- bench/load.sql does: the counter is still upserted by every report.
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [1000000000, 60]}}';
SELECT set_config('request.jwt.claims', json_build_object('sub', 'm' || g)::text, false),
	naboom_api.join_community('bench-fw', 'Member ' || g) FROM generate_series(1, 2000) g;
SQL

cat >"$W/report.pgbench" <<'EOF2'
\set m random(1, 2000)
\set lat random(-2450000, -2445000)
\set lon random(2865000, 2880000)
SELECT set_config('request.jwt.claims', '{"sub": "m' || :m || '"}', false);
SELECT reference FROM naboom_api.report_incident('bench-fw', :cat, :lat / 100000.0, :lon / 100000.0, 'bench');
EOF2
run_report() { # run_report LABEL CATEGORY
	pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$RSECS" -D cat="$2" -f "$W/report.pgbench" "$DB" 2>&1 \
		| awk -v l="$1" '/^tps/ { printf "%-40s %10.1f tps\n", l, $3 }'
}
ROUNDS="${ROUNDS:-10}"
outbox() { # outbox ENABLE|DISABLE: the three forwarding triggers on naboom.incident
	q "ALTER TABLE naboom.incident $1 TRIGGER incident_needs_authority, $1 TRIGGER incident_outbox, $1 TRIGGER incident_outbox_verified"
}
# Each round measures, for each category, the floor and then the outbox right
# after it: the cost is the median over rounds of floor/outbox - 1 of these
# adjacent pairs, so a burst of other load on the machine spoils one pair,
# not the figure.
echo "== report_incident, $CLIENTS clients, ${RSECS} s per run, $ROUNDS rounds of adjacent floor/outbox pairs"
outbox ENABLE
run_report "warm-up (not counted)" stock_theft >/dev/null
: >"$W/pairs"
for r in $(seq "$ROUNDS"); do
	for cat in water_leak stock_theft; do
		outbox DISABLE
		f=$(run_report "r$r floor  $cat" $cat | tee /dev/stderr | awk '{ print $(NF-1) }')
		outbox ENABLE
		o=$(run_report "r$r outbox $cat" $cat | tee /dev/stderr | awk '{ print $(NF-1) }')
		echo "$cat $f $o" >>"$W/pairs"
	done
done 2>&1
for cat in water_leak stock_theft; do
	label=$([ $cat = water_leak ] && echo "no matching rule (water leak)" || echo "matching rule (stock theft)  ")
	awk -v c=$cat '$1 == c { print $2, $3, ($2 / $3 - 1) * 100 }' "$W/pairs" | sort -k3 -g | awk -v l="$label" '
		{ f[NR] = $1; o[NR] = $2; x[NR] = $3; sf += $1; so += $2 }
		END { m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
			printf "cost of the outbox, %s: median %+.1f %% of %d pairs (range %+.1f … %+.1f %%; mean floor %.0f tps, outbox %.0f tps)   (target: at most 5 %%)\n",
				l, m, NR, x[1], x[NR], sf / NR, so / NR }'
done
q "SELECT 'forwardings written by the matching-rule run: ' || count(*) FROM naboom.forwarding"

echo "== delivery, 4 workers, $ROWS forwardings"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
SET naboom.audit = off;
SET naboom.events = off;
DELETE FROM naboom.forwarding;
-- One forwarding per incident reported above, then further ones (seq 2, 3...)
-- of the same incidents until there are $ROWS: the ordering check matters.
INSERT INTO naboom.forwarding (community_id, incident_id, authority_id, seq, reason, incident_version, idempotency_key)
SELECT i.community_id, i.incident_id, a.authority_id, s, 'request', 1, i.reference || '.saps.' || s
FROM (SELECT * FROM naboom.incident ORDER BY incident_id) i
CROSS JOIN naboom.authority a
CROSS JOIN generate_series(1, greatest(1, ceil($ROWS::numeric / (SELECT count(*) FROM naboom.incident))::int)) s
ORDER BY s, i.incident_id LIMIT $ROWS;
CREATE TABLE public.floor_forwarding (LIKE naboom.forwarding INCLUDING DEFAULTS INCLUDING INDEXES);
-- Every run starts from these rows (a run delivers up to a few tens of
-- thousands of them; the bare floor would empty the table otherwise).
CREATE TABLE public.fwd_initial AS SELECT * FROM naboom.forwarding;
SQL
cat >"$W/deliver.pgbench" <<'EOF2'
SELECT count(d.*) FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c,
	naboom_api.forwarding_delivered(c.id, 'CAS-' || c.id) d;
EOF2
cat >"$W/floor.pgbench" <<'EOF2'
BEGIN;
WITH due AS (
	SELECT f.forwarding_id FROM public.floor_forwarding f
	WHERE f.state IN ('pending', 'in_flight', 'failed') AND f.next_attempt_at <= now()
		AND NOT EXISTS (SELECT 1 FROM public.floor_forwarding e WHERE e.community_id = f.community_id
			AND e.incident_id = f.incident_id AND e.authority_id = f.authority_id AND e.seq < f.seq
			AND e.state IN ('pending', 'in_flight', 'failed'))
	ORDER BY f.next_attempt_at, f.forwarding_id LIMIT 10 FOR UPDATE SKIP LOCKED),
claimed AS (
	UPDATE public.floor_forwarding f SET state = 'in_flight', attempts = f.attempts + 1,
		lease_until = now() + interval '1 minute', next_attempt_at = now() + interval '1 minute'
	FROM due WHERE f.forwarding_id = due.forwarding_id
	RETURNING f.forwarding_id)
SELECT coalesce(array_agg(forwarding_id), '{}') AS ids FROM claimed \gset
UPDATE public.floor_forwarding f SET state = 'delivered', delivered_at = now(), lease_until = NULL,
	external_id = 'CAS-' || f.forwarding_id
WHERE f.forwarding_id = ANY (:ids::bigint[]);
COMMIT;
EOF2
reset_forwardings() { # reset_forwardings TABLE: back to the initial pending rows, vacuumed
	psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL2
SET naboom.audit = off;
SET naboom.events = off;
DELETE FROM $1;
INSERT INTO $1 OVERRIDING SYSTEM VALUE SELECT * FROM public.fwd_initial;
VACUUM ANALYZE $1;
SQL2
}
run_deliver() { # run_deliver SCRIPT TABLE: prints forwardings/s
	local before after t0 t1
	reset_forwardings "$2"
	before=$(q "SELECT count(*) FROM $2 WHERE state = 'delivered'")
	t0=$(date +%s.%N)
	pgbench -n -M prepared -c 4 -j 4 -T "$DSECS" -f "$1" "$DB" >/dev/null 2>&1
	t1=$(date +%s.%N)
	after=$(q "SELECT count(*) FROM $2 WHERE state = 'delivered'")
	awk -v n=$((after - before)) -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f\n", n / (t1 - t0) }'
}
: >"$W/dpairs"
for r in $(seq "$DROUNDS"); do
	f=$(run_deliver "$W/floor.pgbench" public.floor_forwarding)
	o=$(run_deliver "$W/deliver.pgbench" naboom.forwarding)
	printf 'r%d floor: bare SQL claim + update %6d forwardings/s   claim_forwardings + forwarding_delivered %6d forwardings/s\n' "$r" "$f" "$o"
	echo "$f $o" >>"$W/dpairs"
done
med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mf=$(awk '{ print $1 }' "$W/dpairs" | med)
mo=$(awk '{ print $2 }' "$W/dpairs" | med)
awk -v f="$mf" -v o="$mo" 'BEGIN { printf "delivery, 4 workers: median %.0f forwardings/s, the floor median %.0f (%.2fx the floor)\n", o, f, o / f }'
echo "   (target: at least 2,000 forwardings/s with 4 workers)"
