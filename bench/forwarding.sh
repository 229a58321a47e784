#!/usr/bin/env bash
# bench/forwarding.sh: the forwarding outbox's throughput and its cost on
# report_incident (issue 16), each beside its floor, in one run.
#
#   bash bench/forwarding.sh     (inside a cluster: PGHOST/PGPORT/PGUSER set,
#                                 naboom installed; e.g. under pg_virtualenv)
#
# 1. report_incident cost: 4 clients, back to back in one run, a report of a
#    category no rule matches (the rule lookup only), a report a rule
#    forwards (lookup + outbox row + event), and the same reports with the
#    three outbox triggers disabled (the floor: no outbox at all).
# 2. delivery: FWD_ROWS forwardings pending; 4 workers each loop
#    claim_forwardings(10) + forwarding_delivered for every row claimed;
#    beside the floor: the same claim (SKIP LOCKED, ordering check) and
#    update as bare SQL on a trigger-free copy of the table.
# Environment: SECS (per run, default 15), FWD_ROWS (default 100000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DB=naboom_fwbench
SECS="${SECS:-15}"
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
-- Members enough that the rate limit (30 reports a minute each) never bites.
SELECT set_config('request.jwt.claims', json_build_object('sub', 'm' || g)::text, false),
	naboom_api.join_community('bench-fw', 'Member ' || g) FROM generate_series(1, 2000) g;
SQL

cat >"$W/report.pgbench" <<'EOF2'
\set m random(1, 2000)
\set lat random(-2450000, -2445000)
\set lon random(2865000, 2880000)
SELECT set_config('request.jwt.claims', '{"sub": "m' || :m || '"}', false);
SELECT reference FROM naboom_api.report_incident('bench-fw', :'cat', :lat / 100000.0, :lon / 100000.0, 'bench');
EOF2
run_report() { # run_report LABEL CATEGORY
	pgbench -n -M prepared -c 4 -j 4 -T "$SECS" -D cat="$2" -f "$W/report.pgbench" "$DB" 2>&1 \
		| awk -v l="$1" '/^tps/ { printf "%-40s %10.1f tps\n", l, $3 }'
}
ROUNDS="${ROUNDS:-3}"
outbox() { # outbox ENABLE|DISABLE: the three forwarding triggers on naboom.incident
	q "ALTER TABLE naboom.incident $1 TRIGGER incident_needs_authority, $1 TRIGGER incident_outbox, $1 TRIGGER incident_outbox_verified"
}
echo "== report_incident, 4 clients, ${SECS} s each, $ROUNDS rounds (floor and outbox alternate, so drift hits both)"
: >"$W/all"
for r in $(seq "$ROUNDS"); do
	outbox DISABLE
	run_report "r$r floor: no outbox triggers (water leak)" water_leak | tee -a "$W/all"
	run_report "r$r floor: no outbox triggers (stock theft)" stock_theft | tee -a "$W/all"
	outbox ENABLE
	run_report "r$r outbox, no matching rule (water leak)" water_leak | tee -a "$W/all"
	run_report "r$r outbox, matching rule (stock theft)" stock_theft | tee -a "$W/all"
done
awk '{ v = $(NF-1) } /floor: .*water/ { fw += v } /floor: .*stock/ { fs += v }
	/no matching rule/ { ow += v } / matching rule \(stock/ { os += v }
	END {
		printf "mean of %d rounds: floor %.1f / %.1f tps, outbox %.1f / %.1f tps (water leak / stock theft)\n", NR / 4, fw * 4 / NR, fs * 4 / NR, ow * 4 / NR, os * 4 / NR
		printf "cost of the outbox, no matching rule: %+.1f %%   (target: at most 5 %%)\n", (fw / ow - 1) * 100
		printf "cost of the outbox, matching rule:    %+.1f %%   (target: at most 5 %%)\n", (fs / os - 1) * 100 }' "$W/all"
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
INSERT INTO public.floor_forwarding OVERRIDING SYSTEM VALUE SELECT * FROM naboom.forwarding;
VACUUM ANALYZE naboom.forwarding, public.floor_forwarding;
SQL
cat >"$W/deliver.pgbench" <<'EOF2'
SELECT count(d.*) FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c,
	naboom_api.forwarding_delivered(c.id, 'CAS-' || c.id) d;
EOF2
cat >"$W/floor.pgbench" <<'EOF2'
WITH due AS (
	SELECT f.forwarding_id FROM public.floor_forwarding f
	WHERE f.state IN ('pending', 'in_flight', 'failed') AND f.next_attempt_at <= now()
		AND NOT EXISTS (SELECT 1 FROM public.floor_forwarding e WHERE e.community_id = f.community_id
			AND e.incident_id = f.incident_id AND e.authority_id = f.authority_id AND e.seq < f.seq
			AND e.state IN ('pending', 'in_flight', 'failed'))
	ORDER BY f.next_attempt_at, f.forwarding_id LIMIT 10 FOR UPDATE SKIP LOCKED)
UPDATE public.floor_forwarding f SET state = 'in_flight', attempts = f.attempts + 1,
	lease_until = now() + interval '1 minute', next_attempt_at = now() + interval '1 minute'
FROM due WHERE f.forwarding_id = due.forwarding_id;
UPDATE public.floor_forwarding f SET state = 'delivered', delivered_at = now(), external_id = 'CAS-' || f.forwarding_id
WHERE f.state = 'in_flight' AND f.lease_until > now() AND f.forwarding_id IN (
	SELECT x.forwarding_id FROM public.floor_forwarding x WHERE x.state = 'in_flight' ORDER BY x.forwarding_id LIMIT 10
	FOR UPDATE SKIP LOCKED);
EOF2
run_deliver() { # run_deliver LABEL SCRIPT TABLE
	local before after t0 t1
	before=$(q "SELECT count(*) FROM $3 WHERE state = 'delivered'")
	t0=$(date +%s.%N)
	pgbench -n -M prepared -c 4 -j 4 -T "$SECS" -f "$2" "$DB" >/dev/null 2>&1
	t1=$(date +%s.%N)
	after=$(q "SELECT count(*) FROM $3 WHERE state = 'delivered'")
	awk -v l="$1" -v n=$((after - before)) -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%-40s %10.0f forwardings/s (%d in %.1f s)\n", l, n / (t1 - t0), n, t1 - t0 }'
}
run_deliver "floor: bare SQL claim + update" "$W/floor.pgbench" public.floor_forwarding
run_deliver "claim_forwardings + forwarding_delivered" "$W/deliver.pgbench" naboom.forwarding
echo "   (target: at least 2,000 forwardings/s with 4 workers)"
