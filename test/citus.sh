#!/usr/bin/env bash
# test/citus.sh: naboom on a real Citus 13.2 cluster (issue 18).
#
#   bash test/citus.sh            (make installcheck-citus; not in scripts/test.sh)
#
# Citus is not packaged in Debian 12: when citus.so is missing this runs
# ../shared/citus/install.sh (Citus 13.2.2 built from its release source,
# about 3 minutes on 2 cores, idempotent; it needs root for apt-get and the
# install dir).  The path is the project's sibling folder `shared`, as the
# issue gives it; NABOOM_CITUS_INSTALL overrides it.  Without it and without
# Citus the test fails at its first assertion, saying so.
#
# It makes a coordinator and two workers of its own, as the postgres user in
# a mktemp dir, on free ports (TCP on 127.0.0.1: Citus's nodes reach each
# other by host and port), each with shared_preload_libraries = 'citus,...'
# (citus first; pg_cron on the coordinator only, where Citus expects jobs),
# max_prepared_transactions for Citus's two-phase commits, and naboom's
# background writer in database postgres.  All three are stopped and removed
# on exit.  Needs naboom and PostGIS installed (make install).
#
# Asserted (the README's "Citus" section says more):
#   1. Citus is installed (install.sh run when missing)
#   2. the three nodes start, citus created on each, the workers added
#   3. CREATE EXTENSION naboom CASCADE on the coordinator with DDL propagation
#      on: naboom and postgis on every worker (no NOTIFY in a prepared
#      transaction); a LISTEN pgrst session on the coordinator got the reload
#   4. naboom.distribute() twice, the same result, domain tables co-located
#   5. distribute() refused to a non-superuser and without Citus
#   6. two communities on different workers
#   7. the caller on the shards (the audited actor on the worker; the control
#      without Citus's SET propagation sees the service)
#   8. each community's shards on its own worker, its rows there
#   9. report, resubmit, duplicate candidates, alert in both communities
#  10. reports/s through the coordinator beside a single node (figures only)
#  11. a third worker and citus_rebalance_start() under load: nothing lost
#  12. a report after the move (the workers' sequences in ranges of their own)
#
# Output is TAP (also in test/results/citus.out; the nodes' server logs go to
# test/results/citus.*.log).  Exit status 0 iff every assertion passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
BINDIR="$($PG_CONFIG --bindir)"
LIBDIR="$($PG_CONFIG --pkglibdir)"
CITUS_INSTALL="${NABOOM_CITUS_INSTALL:-$ROOT/../shared/citus/install.sh}"
PLAN=12

unset PGOPTIONS PGDATABASE PGSERVICE PGHOST PGPORT PGUSER PGPASSWORD
mkdir -p "$ROOT/test/results" && exec > >(tee "$ROOT/test/results/citus.out")
W="$(mktemp -d /tmp/naboom-citus.XXXXXX)"
chmod 755 "$W"
NODES="coord w1 w2"
cleanup() {
    local d
    if [ -n "${NABOOM_CITUS_KEEP:-}" ]; then echo "# kept: $W (ports ${PORT[*]})"; return; fi
    for d in $NODES w3; do
        [ -f "$W/$d/postmaster.pid" ] && asp "$BINDIR/pg_ctl" -D "$W/$d" -m fast -w stop >/dev/null 2>&1
        cp "$W/$d.log" "$ROOT/test/results/citus.$d.log" 2>/dev/null
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

DIAG_LINES=16
# shellcheck source=test/include/tap.bash
. "$ROOT/test/include/tap.bash"
echo "1..$PLAN"

# 1. Citus
if [ ! -f "$LIBDIR/citus.so" ]; then
    if [ -f "$CITUS_INSTALL" ]; then
        bash "$CITUS_INSTALL" >"$W/citus-install.log" 2>&1
    else
        echo "no Citus and no $CITUS_INSTALL" >"$W/citus-install.log"
    fi
fi
[ -f "$LIBDIR/citus.so" ]
verdict "Citus is installed into $LIBDIR" $? 'cat "$W/citus-install.log"'
[ "$FAILED" -gt 0 ] && finish "no Citus"

chown postgres "$W"
declare -A PORT
for d in $NODES; do
    PORT[$d]="$(free_port)"
done
# on NODE [PSQL ARGS...]: psql as postgres to database postgres of NODE
on() { local d="$1"; shift; timeout -k 2 120 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "${PORT[$d]}" -U postgres -d postgres "$@"; }

# start_node NODE PRELOAD: initdb, configure and start NODE
start_node() {
    local d="$1" preload="$2"
    asp "$BINDIR/initdb" -D "$W/$d" --auth=trust --locale=C.UTF-8 --encoding=UTF8 >/dev/null &&
    cat >>"$W/$d/postgresql.conf" <<CONF
port = ${PORT[$d]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W'
shared_preload_libraries = '$preload'
naboom.writer_database = 'postgres'
cron.database_name = 'postgres'
cron.host = '$W'
max_connections = 100
max_prepared_transactions = 100
max_worker_processes = 24
citus.max_background_task_executors_per_node = 2
fsync = off
synchronous_commit = off
timezone = 'UTC'
log_line_prefix = '%m [%p] $d '
CONF
    asp "$BINDIR/pg_ctl" -D "$W/$d" -l "$W/$d.log" -w start >/dev/null
}

# 2. the cluster
( start_node coord 'citus,pg_cron,naboom' &&
  start_node w1 'citus,naboom' &&
  start_node w2 'citus,naboom' &&
  for d in $NODES; do on "$d" -c "CREATE EXTENSION citus" || exit 1; done &&
  on coord -c "SELECT citus_set_coordinator_host('127.0.0.1', ${PORT[coord]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${PORT[w1]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${PORT[w2]})" &&
  [ "$(on coord -c "SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary'")" = 3 ] ) >"$W/setup.log" 2>&1
verdict "a coordinator (port ${PORT[coord]}) and two workers (${PORT[w1]}, ${PORT[w2]}) with Citus" $? 'cat "$W/setup.log"; tail -5 "$W"/*.log'
[ "$FAILED" -gt 0 ] && finish "no cluster"

# 3. CREATE EXTENSION naboom, propagated to the workers in a 2PC; PostgREST
# (a LISTEN pgrst session on the coordinator) is still told to reload
( on coord -c "SHOW citus.enable_ddl_propagation" | grep -qx on &&
  on coord -c "SET client_min_messages = warning" -c "LISTEN pgrst" -c "CREATE EXTENSION naboom CASCADE" -c "SELECT 1" >"$W/listen.out" 2>&1 &&
  grep -q 'Asynchronous notification "pgrst" with payload "reload schema"' "$W/listen.out" &&
  for d in w1 w2; do
      [ "$(on "$d" -c "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname IN ('naboom', 'postgis')")" = naboom,postgis ] || exit 1
  done ) >"$W/create.log" 2>&1
verdict "CREATE EXTENSION naboom on the coordinator (DDL propagated to both workers; PostgREST told to reload)" $? 'cat "$W/create.log" "$W/listen.out"; grep -h ERROR "$W"/*.log'


# 4. naboom.distribute(): reference tables, the domain tables by community_id
# in incident's co-location group, incident_reference by reference; again:
# nothing changes
( on coord -c "SET client_min_messages = warning" -c "SELECT table_name || ' ' || distribution FROM naboom.distribute()" >"$W/dist1.out" &&
  on coord -c "SET client_min_messages = warning" -c "SELECT table_name || ' ' || distribution FROM naboom.distribute()" >"$W/dist2.out" &&
  diff "$W/dist1.out" "$W/dist2.out" &&
  grep -qx 'naboom.community reference' "$W/dist1.out" && grep -qx 'naboom.status reference' "$W/dist1.out" &&
  grep -qx 'naboom.incident by community_id' "$W/dist1.out" && grep -qx 'naboom.incident_reference by reference' "$W/dist1.out" &&
  [ "$(on coord -c "SELECT count(DISTINCT colocationid) FROM pg_dist_partition p WHERE p.logicalrelid::regclass::text LIKE 'naboom.%' AND p.partmethod = 'h' AND p.logicalrelid <> 'naboom.incident_reference'::regclass")" = 1 ] ) >"$W/dist.log" 2>&1
verdict "naboom.distribute() twice: $(wc -l <"$W/dist1.out") tables, the same both times; domain tables co-located with incident" $? 'cat "$W/dist.log" "$W/dist1.out"'

# 5. refused: a non-superuser; a database without Citus (naboom.citus_missing)
( on coord -c "CREATE ROLE citus_nobody" &&
  ! on coord -c "SET ROLE citus_nobody" -c "SELECT naboom.distribute()" >"$W/refuse.log" 2>&1 &&
  grep -q 'permission denied' "$W/refuse.log" &&
  on coord -c "CREATE DATABASE plain" &&
  timeout 60 "$BINDIR/psql" -X -q -At -h "$W" -p "${PORT[coord]}" -U postgres -d plain -c "SET client_min_messages = warning" -c "CREATE EXTENSION naboom CASCADE" &&
  ! timeout 60 "$BINDIR/psql" -X -q -At -v VERBOSITY=verbose -h "$W" -p "${PORT[coord]}" -U postgres -d plain -c "SELECT naboom.distribute()" >>"$W/refuse.log" 2>&1 &&
  grep -q 'naboom.citus_missing' "$W/refuse.log" ) >"$W/refuse.out" 2>&1
verdict "distribute() refused to a non-superuser and without Citus (naboom.citus_missing)" $? 'cat "$W/refuse.out" "$W/refuse.log"'

# 6. two communities on different workers (communities are made until two
# hash to different nodes)
node_of() { on coord -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = get_shard_id_for_distribution_column('naboom.incident', $1)"; }
( on coord >"$W/town.log" 2>&1 <<'SQL'
SET client_min_messages = warning;
DO $$
DECLARE k int;
BEGIN
	FOR k IN 1..8 LOOP
		PERFORM naboom_api.create_community('town-' || k, 'Town ' || k,
			format('{"type":"Polygon","coordinates":[[[%s,-24.60],[%s,-24.60],[%s,-24.40],[%s,-24.40],[%s,-24.60]]]}',
				27 + k * 0.3, 27.25 + k * 0.3, 27.25 + k * 0.3, 27 + k * 0.3, 27 + k * 0.3)::text,
			admin_ref => 'admin-' || k, admin_name => 'Admin ' || k);
	END LOOP;
END
$$;
SQL
) && for k in 1 2 3 4 5 6 7 8; do echo "$k $(node_of "(SELECT community_id FROM naboom.community WHERE slug = 'town-$k')")"; done >"$W/nodes"
A=1; PA=$(awk 'NR==1{print $2}' "$W/nodes")
B=$(awk -v a="$PA" '$2 != a {print $1; exit}' "$W/nodes"); PB=$(awk -v b="$B" '$1 == b {print $2}' "$W/nodes")
[ -n "$PA" ] && [ -n "$PB" ] && [ "$PA" != "$PB" ] && [ "$PA" != "${PORT[coord]}" ] && [ "$PB" != "${PORT[coord]}" ]
verdict "two communities on different workers: town-$A (port $PA), town-$B (port $PB)" $? 'cat "$W/town.log" "$W/nodes"'

# as USER in a transaction, SQL through the coordinator (a gateway: claims by set_config(..., true))
as() { local u="$1"; shift; on coord -c "SET client_min_messages = warning" -c "BEGIN" -c "DO \$\$ BEGIN PERFORM set_config('request.jwt.claims', '{\"sub\":\"$u\"}', true); END \$\$" "$@" -c "COMMIT"; }

# 7. the caller on the shards: a category and a membership written through
# the coordinator run their audit triggers on the community's worker, which
# logs the gateway's subject as the actor; with Citus's SET LOCAL propagation
# off for one transaction the same write is logged as the service's role
# there (what this test would catch: a shard that sees no claims)
actor_on() { # actor_on PORT TABLE COMMUNITY USER_REF_COLUMN VALUE: the audited actor of the row's INSERT on that node
    timeout 60 "$BINDIR/psql" -X -q -At -h "$W" -p "$1" -U postgres -d postgres -c "SELECT string_agg(actor, ',') FROM naboom.audit_log WHERE action = 'INSERT' AND table_name LIKE 'naboom.$2%' AND community_id = $3 AND new_values->>'$4' = '$5'"
}
( for T in $A $B; do
    as "admin-$T" -c "SELECT code FROM naboom_api.upsert_category('town-$T', 'burglary', 'Burglary', 'Inbraak', 'high')" &&
    as "res-$T" -c "SELECT role FROM naboom_api.join_community('town-$T', 'Resident $T')" || exit 1
  done &&
  as "res-x" -c "SET LOCAL citus.propagate_set_commands = none" -c "SELECT role FROM naboom_api.join_community('town-$A', 'Resident X')" &&
  sleep 2 &&
  a1=$(actor_on "$PA" category "$A" code burglary) && a2=$(actor_on "$PA" member "$A" user_ref "res-$A") &&
  b1=$(actor_on "$PB" category "$B" code burglary) && b2=$(actor_on "$PB" member "$B" user_ref "res-$B") &&
  x=$(actor_on "$PA" member "$A" user_ref "res-x") &&
  echo "$a1 $a2 $b1 $b2 $x" &&
  [ "$a1 $a2 $b1 $b2 $x" = "admin-$A res-$A admin-$B res-$B postgres" ] ) >"$W/ident.log" 2>&1
verdict "the caller on the shards: audited actors on the workers are the gateway's subjects (without propagation: the service)" $? 'cat "$W/ident.log"; grep -h ERROR "$W"/*.log | tail -5'

# 8. each community's rows sit on one node: every domain table's shard for
# town-A is on A's worker, for town-B on B's; and the rows written are there
( for T in "$A:$PA" "$B:$PB"; do
    c=${T%%:*}; p=${T##*:}
    cid=$(on coord -c "SELECT community_id FROM naboom.community WHERE slug = 'town-$c'")
    nodes=$(on coord -c "SELECT string_agg(DISTINCT n.nodeport::text, ',') FROM pg_dist_partition t
        JOIN pg_dist_placement pl ON pl.shardid = get_shard_id_for_distribution_column(t.logicalrelid, $cid)
        JOIN pg_dist_node n USING (groupid)
        WHERE t.partmethod = 'h' AND t.logicalrelid <> 'naboom.incident_reference'::regclass") &&
    echo "town-$c: shards on $nodes" && [ "$nodes" = "$p" ] &&
    shard=$(on coord -c "SELECT shard_name('naboom.member', get_shard_id_for_distribution_column('naboom.member', $cid))") &&
    rows=$(timeout 60 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$p" -U postgres -d postgres \
        -c "SELECT count(*) FROM $shard WHERE community_id = $cid") &&
    echo "town-$c: $rows members in $shard on $p" && [ "$rows" -ge 2 ] || exit 1
  done ) >"$W/colo.log" 2>&1
verdict "each community's shards of every domain table sit on its own worker" $? 'cat "$W/colo.log"'

# 9. the story through the coordinator, as the gateway calls it: a resident
# of each community reports with a client_ref and resubmits (one incident,
# the same reference, the resident its reporter on the shard, the reference
# in the directory); a responder on duty nearby is alerted
( for T in $A $B; do
    lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
    as "admin-$T" -c "SELECT role FROM naboom_api.set_member_role('town-$T', 'res-$T', 'resident')" >/dev/null &&
    as "resp-$T" -c "SELECT role FROM naboom_api.join_community('town-$T', 'Responder $T')" &&
    as "admin-$T" -c "SELECT role FROM naboom_api.set_member_role('town-$T', 'resp-$T', 'responder')" &&
    as "resp-$T" -c "SELECT 1 FROM naboom_api.update_position(-24.501, $lon)" &&
    r1=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'a break-in', client_ref => 'c-1')") &&
    r2=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'a break-in', client_ref => 'c-1')") &&
    echo "town-$T: $r1 $r2" && [ -n "$r1" ] && [ "$r1" = "$r2" ] &&
    [ "$(on coord -c "SELECT count(*) || ' ' || min(reporter_ref) FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND i.client_ref = 'c-1'")" = "1 res-$T" ] &&
    [ "$(on coord -c "SELECT count(*) FROM naboom.incident_reference WHERE reference = '$r1'")" = 1 ] &&
    [ "$(on coord -c "SELECT count(*) FROM naboom.alert a JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND a.user_ref = 'resp-$T'")" = 1 ] || exit 1
  done ) >"$W/story.log" 2>&1
verdict "through the coordinator: a report and its resubmit in each community (one incident, its reporter, the reference directory), the responder alerted" $? 'cat "$W/story.log"; grep -h ERROR "$W"/*.log | tail -4'
# (NABOOM_CITUS_UPTO=9 NABOOM_CITUS_KEEP=1: stop here and keep the cluster, to try things by hand)
[ "${NABOOM_CITUS_UPTO:-99}" -le 9 ] && { echo "# stopped after step 9"; exit 0; }

# 10. reports per second: two pgbench clients, one per community, through the
# coordinator, then the same against a single-node naboom in database plain
# of the coordinator's instance (same machine, same run; each client its
# own community); adjacent runs of NABOOM_CITUS_BENCH_SECS (default 10) s.
# Figures only: asserted is that every report of the cluster run committed.
SECS="${NABOOM_CITUS_BENCH_SECS:-10}"
bench_town() { # bench_town DB: the two towns' members, categories, rate limits
    timeout 120 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "${PORT[coord]}" -U postgres -d "$1" <<SQL
SET client_min_messages = warning;
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM naboom.community WHERE slug = 'town-$A') THEN
		PERFORM naboom_api.create_community('town-' || k, 'Town ' || k,
			format('{"type":"Polygon","coordinates":[[[%s,-24.60],[%s,-24.60],[%s,-24.40],[%s,-24.40],[%s,-24.60]]]}',
				27 + k * 0.3, 27.25 + k * 0.3, 27.25 + k * 0.3, 27 + k * 0.3, 27 + k * 0.3)::text,
			admin_ref => 'admin-' || k, admin_name => 'Admin ' || k) FROM unnest(ARRAY[$A, $B]) k;
		PERFORM set_config('request.jwt.claims', json_build_object('sub', 'admin-' || k)::text, true),
			naboom_api.upsert_category('town-' || k, 'burglary', 'Burglary', 'Inbraak', 'high') FROM unnest(ARRAY[$A, $B]) k;
		PERFORM set_config('request.jwt.claims', json_build_object('sub', 'res-' || k)::text, true),
			naboom_api.join_community('town-' || k, 'Resident ' || k) FROM unnest(ARRAY[$A, $B]) k;
	END IF;
END
\$\$;
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [1000000000, 60]}}' WHERE slug IN ('town-$A', 'town-$B');
SQL
}
for T in $A $B; do
    lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
    cat >"$W/bench-$T.sql" <<SQL
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"res-$T"}', true);
SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.45 - random() * 0.1, $lon + random() * 0.1, 'bench', is_public => true);
COMMIT;
SQL
done
chmod 644 "$W"/bench-*.sql
bench() { # bench DB: reports/s of two clients, one per community
    asp "$BINDIR/pgbench" -n -h "$W" -p "${PORT[coord]}" -U postgres -T "$SECS" -c 2 -j 2 -f "$W/bench-$A.sql" -f "$W/bench-$B.sql" "$1" 2>&1 |
        tee -a "$W/bench.log" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
count_reports() { timeout 60 "$BINDIR/psql" -X -q -At -h "$W" -p "${PORT[coord]}" -U postgres -d "$1" -c "SELECT count(*) FROM naboom.incident WHERE description = 'bench'"; }
( bench_town postgres && bench_town plain ) >"$W/bench.setup" 2>&1
before=$(count_reports postgres)
tc=$(bench postgres); ts=$(bench plain); tc2=$(bench postgres); ts2=$(bench plain)
after=$(count_reports postgres)
failed=$(grep -h 'number of failed transactions' "$W/bench.log" | awk '{s += $5} END {print s + 0}')
echo "# reports/s, 2 clients ($SECS s each, alternating): Citus coordinator + 2 workers $tc, $tc2; single node (same instance, database plain) $ts, $ts2"
echo "# Citus reports committed: $((after - before)); failed transactions (all runs): $failed"
[ -n "$tc" ] && [ -n "$tc2" ] && [ "$((after - before))" -gt 0 ] && grep -q 'number of failed transactions: 0' "$W/bench.log"
verdict "reports/s through the coordinator beside a single node (figures above), every report committed" $? 'cat "$W/bench.setup"; grep -v "^progress" "$W/bench.log" | head -20'

# 11. a third worker and citus_rebalance_start() while reports keep coming
# (pgbench as in 10, NABOOM_CITUS_MOVE_SECS, default 40 s): every report
# pgbench counted is in naboom.incident afterwards, each moved community's
# rows are all on its new node, and a report and its resubmit still pass.
MOVE_SECS="${NABOOM_CITUS_MOVE_SECS:-40}"
PORT[w3]="$(free_port)"
( start_node w3 'citus,naboom' && on w3 -c "CREATE EXTENSION citus" &&
  on coord -c "SELECT citus_add_node('127.0.0.1', ${PORT[w3]})" &&
  on coord -c "SET client_min_messages = warning" -c "SELECT count(*) FROM naboom.distribute()" ) >"$W/w3-setup.log" 2>&1
before=$(count_reports postgres)
asp "$BINDIR/pgbench" -n -h "$W" -p "${PORT[coord]}" -U postgres -T "$MOVE_SECS" -c 2 -j 2 \
    -f "$W/bench-$A.sql" -f "$W/bench-$B.sql" postgres >"$W/move-bench.log" 2>&1 &
BENCH_PID=$!
sleep 5
on coord -c "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" -c "SELECT citus_rebalance_wait()" >"$W/rebalance.log" 2>&1
rebalance_rc=$?
wait "$BENCH_PID"
after=$(count_reports postgres)
done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$W/move-bench.log")
moved=$(on coord -c "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE n.nodeport = ${PORT[w3]}")
echo "# rebalancing under load: rc $rebalance_rc, $moved shard placements on the third worker, $done_tx reports committed by pgbench, $((after - before)) new in naboom.incident"
( [ "$rebalance_rc" -eq 0 ] && [ "${moved:-0}" -gt 0 ] && [ -n "$done_tx" ] && [ "$done_tx" -gt 0 ] && [ "$((after - before))" -eq "$done_tx" ] &&
  for T in $A $B; do
      cid=$(on coord -c "SELECT community_id FROM naboom.community WHERE slug = 'town-$T'")
      p=$(node_of "$cid")
      shard=$(on coord -c "SELECT shard_name('naboom.incident', get_shard_id_for_distribution_column('naboom.incident', $cid))")
      here=$(timeout 60 "$BINDIR/psql" -X -q -At -h "$W" -p "$p" -U postgres -d postgres -c "SELECT count(*) FROM $shard WHERE community_id = $cid")
      all=$(on coord -c "SELECT count(*) FROM naboom.incident WHERE community_id = $cid")
      echo "town-$T on $p: $here of $all incidents in $shard" && [ "$here" = "$all" ] || exit 1
  done ) >"$W/move.log" 2>&1
verdict "a third worker and citus_rebalance_start() under load: every report pgbench committed is there, each community complete on its node" $? 'cat "$W/w3-setup.log" "$W/rebalance.log" "$W/move.log"; grep -v "^progress" "$W/move-bench.log" | tail -8; grep -h ERROR "$W"/*.log | tail -4'

# 12. after the move, a report and its resubmit in each community: the
# moved community's new node makes ids in its own range (distribute() run
# again after citus_add_node gave the new worker's sequences theirs), so
# none collides with the rows that moved (README, "Rebalancing").
( for T in $A $B; do
      lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
      r1=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'after the move', client_ref => 'c-move')") &&
      r2=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'after the move', client_ref => 'c-move')") &&
      echo "town-$T: $r1 $r2" && [ -n "$r1" ] && [ "$r1" = "$r2" ] || exit 1
  done ) >"$W/after-move.log" 2>&1
verdict "after the move: a report and its resubmit in each community (the workers' sequences in ranges of their own)" $? 'cat "$W/after-move.log"'

finish "done"
