#!/usr/bin/env bash
# bench/panic.sh: the emergency path under load (issue 17), each figure
# beside its floor, in one run.
#
#   bash bench/panic.sh     (inside a cluster with naboom preloaded: PGHOST/
#                            PGPORT/PGUSER a superuser; the database is the
#                            background writer's, naboom.writer_database,
#                            made and given naboom if missing; bench/run.sh
#                            SECTIONS=panic runs it in its bench database)
#
# A community of its own (bench-pn: 2,000 members, 200 responders on duty
# with a position, 500 alert areas, rate limits out of reach) in that
# database, then:
# 1. ROUNDS rounds, each of three adjacent runs of RSECS seconds while
#    LOAD_CLIENTS (6) pgbench clients file report_incident flat out:
#      floor      a bare INSERT + pg_notify in one statement, RATE a second
#                 (the floor: what one row and one NOTIFY cost at that load)
#      panic_on   raise_panic, RATE a second, naboom.panic_publish on
#      panic_off  the same with naboom.panic_publish off (the publisher)
#    A LISTEN client (perl DBD::Pg, on naboom_panic and the floor's channel)
#    stamps every notification with its receive time.  Figures per run
#    kind, over all rounds: the request's latency (pgbench -l, less the
#    --rate schedule lag; the claims statement before it included),
#    request -> delivery (receive time - the transaction's now()), commit ->
#    delivery (receive time - pg_xact_commit_timestamp, when
#    track_commit_timestamp is on), p50/p95/max, and the load average.
#    The first WARM (6) requests of each run (a new connection) are not
#    counted.
# 2. the same three alone (no report load), one run each.
# 3. ordinary events: ORD_CLIENTS (8) report_incident clients for RSECS
#    seconds, the listener on naboom_events: commit -> delivery of every
#    event published in the run (needs track_commit_timestamp).
# Environment: ROUNDS (3), RSECS (8), RATE (5 panics a second), WARM (6),
# LOAD_CLIENTS (6), ORD_CLIENTS (8), PANIC_DB (the writer's database).
# About 2.5 minutes.  Output: the figures on stdout; the samples stay in
# table pnbench.sample of that database.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-}"
ROUNDS="${ROUNDS:-3}"
RSECS="${RSECS:-8}"
RATE="${RATE:-5}"
LOAD_CLIENTS="${LOAD_CLIENTS:-6}"
ORD_CLIENTS="${ORD_CLIENTS:-8}"
# the first WARM requests of each run's new connection are not counted:
# PL/pgSQL compiles and plans afresh in a new backend (900 ms for the first
# raise_panic under load), which a gateway's pooled connection is past
WARM="${WARM:-6}"
DB="${PANIC_DB:-$(psql -X -At -d postgres -c "SELECT coalesce(nullif(current_setting('naboom.writer_database', true), ''), 'postgres')")}"
W="$(mktemp -d)"
LPID=
trap '[ -z "$LPID" ] || kill "$LPID" 2>/dev/null; rm -rf "$W"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

if [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
	psql -X -q -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
fi
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS naboom CASCADE;
DROP SCHEMA IF EXISTS pnbench CASCADE;
CREATE SCHEMA pnbench;
CREATE TABLE pnbench.floor (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text);
-- kind: latency (the request), request (-> delivery), commit (-> delivery)
CREATE TABLE pnbench.sample (run text, round int, kind text, ms double precision);
CREATE TABLE pnbench.load (run text, round int, before numeric, after numeric);
SELECT set_config('request.jwt.claims', '', false);
SELECT naboom_api.create_community('bench-pn', 'Bench panic',
	'{"type":"Polygon","coordinates":[[[28.60,-24.60],[28.85,-24.60],[28.85,-24.40],[28.60,-24.40],[28.60,-24.60]]]}',
	admin_ref => 'pn-admin', admin_name => 'Admin')
WHERE NOT EXISTS (SELECT FROM naboom.community WHERE slug = 'bench-pn');
SELECT set_config('request.jwt.claims', '{"sub": "pn-admin"}', false);
SELECT naboom_api.upsert_category('bench-pn', 'theft', 'Theft', 'Diefstal', 'medium', duplicate_radius_m => 1);
UPDATE naboom.community SET settings = settings
	|| '{"rate_limits": {"report": [1000000000, 60], "panic": [1000000000, 60], "subscription": [1000000000, 60], "profile": [1000000000, 60], "setup": [1000000000, 60]}}'
WHERE slug = 'bench-pn';
SELECT set_config('request.jwt.claims', json_build_object('sub', 'pn-m' || g)::text, false),
	naboom_api.join_community('bench-pn', 'Member ' || g) FROM generate_series(1, 2000) g;
SELECT set_config('request.jwt.claims', '{"sub": "pn-admin"}', false);
SELECT naboom_api.set_member_role('bench-pn', 'pn-m' || g, 'responder') FROM generate_series(1, 200) g;
SELECT set_config('request.jwt.claims', json_build_object('sub', 'pn-m' || g)::text, false),
	naboom_api.update_position(-24.60 + random() * 0.2, 28.60 + random() * 0.25, true) FROM generate_series(1, 200) g;
SELECT set_config('request.jwt.claims', json_build_object('sub', 'pn-m' || g)::text, false),
	naboom_api.subscribe('bench-pn', -24.60 + random() * 0.2, 28.60 + random() * 0.25, 1000) FROM generate_series(201, 700) g;
SQL
q "SELECT naboom.events_wait(30000)" >/dev/null
TRACK=$(q "SELECT current_setting('track_commit_timestamp')")

cat >"$W/report.pgbench" <<'EOS'
\set m random(201, 2000)
\set lat random(-2459000, -2441000)
\set lon random(2861000, 2884000)
SELECT set_config('request.jwt.claims', '{"sub": "pn-m' || :m || '"}', false);
SELECT reference FROM naboom_api.report_incident('bench-pn', 'theft', :lat / 100000.0, :lon / 100000.0, 'bench report');
EOS
cat >"$W/panic.pgbench" <<'EOS'
\set m random(1001, 2000)
\set lat random(-2459000, -2441000)
\set lon random(2861000, 2884000)
SELECT set_config('request.jwt.claims', '{"sub": "pn-m' || :m || '"}', false);
SELECT reference FROM naboom_api.raise_panic('bench-pn', :lat / 100000.0, :lon / 100000.0, note => 'bench panic');
EOS
cat >"$W/floor.pgbench" <<'EOS'
\set m random(1001, 2000)
SELECT set_config('request.jwt.claims', '{"sub": "pn-m' || :m || '"}', false);
WITH i AS (INSERT INTO pnbench.floor (note) VALUES ('bench floor') RETURNING at)
SELECT pg_catalog.pg_notify('pn_floor', extract(epoch FROM i.at)::text) FROM i;
EOS
cat >"$W/listen.pl" <<'EOS'
use strict; use warnings;
use DBI; use Time::HiRes qw(time);
my ($db, @channels) = @ARGV;
my $dbh = DBI->connect("dbi:Pg:dbname=$db", undef, undef, { AutoCommit => 1, RaiseError => 1, PrintError => 0 });
$dbh->do("LISTEN $_") for @channels;
$| = 1;
print STDERR "listening\n";
my $fd = $dbh->{pg_socket};
my $stop = 0;
$SIG{TERM} = sub { $stop = 1 };
while (!$stop) {
	my $rin = ''; vec($rin, $fd, 1) = 1;
	select(my $rout = $rin, undef, undef, 0.5);
	while (my $n = $dbh->pg_notifies) {
		my $t = time;
		my ($name, $pid, $payload) = @$n;
		my $key = $payload;
		if ($payload =~ /"reference":"([^"]+)"/ && $name eq 'naboom_panic') { $key = $1 }
		elsif ($payload =~ /^\{"id":(\d+)/) { $key = $1 }
		printf "%.6f\t%s\t%s\n", $t, $name, $key;
	}
}
EOS

# listen_start CHANNEL...: the perl listener to $W/listen.txt, once it LISTENs
listen_start() {
	rm -f "$W/listen.txt" "$W/listen.err"
	perl "$W/listen.pl" "$DB" "$@" >"$W/listen.txt" 2>"$W/listen.err" &
	LPID=$!
	for _ in $(seq 100); do grep -q listening "$W/listen.err" 2>/dev/null && return 0; sleep 0.05; done
	echo "the listener did not start: $(cat "$W/listen.err")" >&2; exit 1
}
listen_stop() { sleep 1; kill "$LPID" 2>/dev/null || true; wait "$LPID" 2>/dev/null || true; LPID=; }

# run KIND ROUND LOADCLIENTS: one run (floor, panic_on, panic_off) beside
# LOADCLIENTS report clients; its samples into pnbench.sample
run() {
	local kind=$1 round=$2 load=$3 script opts= lp= l0
	case "$kind" in
		floor) script=floor ;;
		panic_on) script=panic ;;
		panic_off) script=panic; opts="-c naboom.panic_publish=off" ;;
	esac
	q 'CHECKPOINT'
	listen_start naboom_panic pn_floor
	l0=$(cut -d ' ' -f 1 /proc/loadavg)
	if [ "$load" -gt 0 ]; then
		pgbench -n -M prepared -c "$load" -j "$load" -T $((RSECS + 2)) -f "$W/report.pgbench" "$DB" >"$W/load.out" 2>&1 &
		lp=$!
		sleep 1
	fi
	rm -f "$W"/tx.*
	PGOPTIONS="$opts" pgbench -n -M prepared -c 1 -j 1 -T "$RSECS" --rate="$RATE" -l --log-prefix="$W/tx" \
		-f "$W/$script.pgbench" "$DB" >"$W/run.out" 2>&1 || { cat "$W/run.out" >&2; exit 1; }
	[ -z "$lp" ] || wait "$lp"
	q "SELECT naboom.events_wait(10000)" >/dev/null
	listen_stop
	psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
INSERT INTO pnbench.load VALUES ('$kind', $round, $l0, $(cut -d ' ' -f 1 /proc/loadavg));
CREATE TEMP TABLE tx (c int, n int, lat bigint, s int, e bigint, us bigint, lag bigint);
\copy tx FROM PROGRAM 'cat $W/tx.*' WITH (DELIMITER ' ')
INSERT INTO pnbench.sample SELECT '$kind', $round, 'latency', (lat - lag) / 1000.0
FROM (SELECT tx.*, row_number() OVER (ORDER BY e, us) AS rn FROM tx) t WHERE t.rn > $WARM;
CREATE TEMP TABLE got (at double precision, channel text, k text);
\copy got FROM '$W/listen.txt'
INSERT INTO pnbench.sample
SELECT '$kind', $round, 'request', ms FROM (
	SELECT 1000 * (g.at - extract(epoch FROM f.at)) AS ms, row_number() OVER (ORDER BY f.at) AS n
	FROM got g JOIN pnbench.floor f ON g.channel = 'pn_floor' AND extract(epoch FROM f.at)::text = g.k) y
WHERE y.n > $WARM;
INSERT INTO pnbench.sample
SELECT '$kind', $round, x.kind, x.ms FROM (
	SELECT g.at, i.created_at, e.xid, row_number() OVER (ORDER BY i.created_at) AS n
	FROM got g JOIN naboom.incident i ON g.channel = 'naboom_panic' AND i.reference = g.k
	JOIN naboom.event e ON e.community_id = i.community_id AND e.incident_id = i.incident_id AND e.topic = 'panic.raised') y,
	LATERAL (VALUES ('request', 1000 * (y.at - extract(epoch FROM y.created_at))),
		('commit', CASE WHEN '$TRACK' = 'on' THEN 1000 * (y.at - extract(epoch FROM pg_catalog.pg_xact_commit_timestamp(y.xid::xid))) END)) x(kind, ms)
WHERE x.ms IS NOT NULL AND y.n > $WARM;
SQL
}

echo "== panic path: $ROUNDS rounds of adjacent runs (floor, panic_on, panic_off), ${RSECS} s each, $RATE requests/s, beside $LOAD_CLIENTS report_incident clients; database $DB; track_commit_timestamp $TRACK; $(nproc) CPUs"
for r in $(seq "$ROUNDS"); do
	for k in floor panic_on panic_off; do run "$k" "$r" "$LOAD_CLIENTS"; done
done
for k in floor panic_on panic_off; do run "$k" 0 0; done

echo "== ordinary events: commit -> delivery on naboom_events, $ORD_CLIENTS report_incident clients, ${RSECS} s"
if [ "$TRACK" = on ]; then
	q 'CHECKPOINT'
	first=$(q "SELECT coalesce(max(seq), 0) FROM naboom.event")
	listen_start naboom_events
	l0=$(cut -d ' ' -f 1 /proc/loadavg)
	pgbench -n -M prepared -c "$ORD_CLIENTS" -j "$ORD_CLIENTS" -T "$RSECS" -f "$W/report.pgbench" "$DB" >"$W/load.out" 2>&1
	q "SELECT naboom.events_wait(10000)" >/dev/null
	listen_stop
	psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
INSERT INTO pnbench.load VALUES ('ordinary', 0, $l0, $(cut -d ' ' -f 1 /proc/loadavg));
CREATE TEMP TABLE got (at double precision, channel text, k text);
\copy got FROM '$W/listen.txt'
INSERT INTO pnbench.sample
SELECT 'ordinary', 0, 'commit', 1000 * (g.at - extract(epoch FROM pg_catalog.pg_xact_commit_timestamp(e.xid::xid)))
FROM got g JOIN naboom.event e ON e.seq = g.k::bigint WHERE e.seq > $first;
SQL
else
	echo "   not measured: track_commit_timestamp is off"
fi

psql -X -q -At -d "$DB" <<'SQL'
SELECT format('%-10s %-8s %-9s %5s %8s %8s %8s   load avg %s', 'run', 'load', 'measure', 'n', 'p50 ms', 'p95 ms', 'max ms', 'before/after (1 min)');
WITH s AS (
	SELECT s.run, CASE WHEN s.round = 0 AND s.run <> 'ordinary' THEN 'alone' ELSE 'loaded' END AS load, s.kind, count(*) AS n,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY s.ms) AS p50,
		percentile_disc(0.95) WITHIN GROUP (ORDER BY s.ms) AS p95, max(s.ms) AS mx
	FROM pnbench.sample s GROUP BY 1, 2, 3),
l AS (SELECT x.run, CASE WHEN x.round = 0 AND x.run <> 'ordinary' THEN 'alone' ELSE 'loaded' END AS load,
		string_agg(x.before || '/' || x.after, ' ' ORDER BY x.round) AS loads
	FROM pnbench.load x GROUP BY 1, 2)
SELECT format('%-10s %-8s %-9s %5s %8s %8s %8s   %s', s.run, s.load, s.kind, s.n, round(s.p50::numeric, 1),
	round(s.p95::numeric, 1), round(s.mx::numeric, 1), l.loads)
FROM s LEFT JOIN l USING (run, load)
ORDER BY s.load DESC, array_position(ARRAY['floor', 'panic_on', 'panic_off', 'ordinary'], s.run),
	array_position(ARRAY['latency', 'request', 'commit'], s.kind);
SELECT format('per round, loaded, p95 ms of request -> delivery: %s', string_agg(x, '; ' ORDER BY r))
FROM (SELECT s.round AS r, format('round %s: %s', s.round, string_agg(s.run || ' ' ||
		round(s.p95::numeric, 1), ', ' ORDER BY array_position(ARRAY['floor', 'panic_on', 'panic_off'], s.run))) AS x
	FROM (SELECT run, round, percentile_disc(0.95) WITHIN GROUP (ORDER BY ms) AS p95 FROM pnbench.sample
		WHERE kind = 'request' AND round > 0 GROUP BY 1, 2) s GROUP BY s.round) y;
SQL
psql -X -q -At -d "$DB" <<'SQL'
-- the targets (design.md section 9), on the loaded runs: PASS, FAIL, or
-- "not measured"
WITH p AS (
	SELECT s.run, s.kind, percentile_disc(0.95) WITHIN GROUP (ORDER BY s.ms) AS p95, max(s.ms) AS mx
	FROM pnbench.sample s WHERE s.round > 0 OR s.run = 'ordinary' GROUP BY 1, 2),
t AS (
	SELECT 1 AS n, 'raise_panic p95 <= 15 ms' AS target,
		(SELECT p.p95 <= 15 FROM p WHERE p.run = 'panic_on' AND p.kind = 'latency') AS ok
	UNION ALL
	SELECT 2, 'request -> delivery p95 <= 30 ms, max <= 100 ms',
		(SELECT p.p95 <= 30 AND p.mx <= 100 FROM p WHERE p.run = 'panic_on' AND p.kind = 'request')
	UNION ALL
	SELECT 3, 'ordinary commit -> delivery p95 <= 15 ms',
		(SELECT p.p95 <= 15 FROM p WHERE p.run = 'ordinary' AND p.kind = 'commit'))
SELECT 'targets (loaded, panic_on): ' || string_agg(t.target || ': '
	|| CASE WHEN t.ok THEN 'PASS' WHEN NOT t.ok THEN 'FAIL' ELSE 'not measured' END, '; ' ORDER BY t.n)
FROM t;
SQL
