#!/usr/bin/env bash
# test/citus.sh: naboom on a real Citus 13.2 cluster (issue 18).
#
#   bash test/citus.sh            (make installcheck-citus; part of scripts/test.sh)
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
#   7. the caller on the shards (the audited actor on the worker, also after
#      SET LOCAL ROLE; the control with nothing carried sees the service)
#   8. each community's shards on its own worker, its rows there
#   9. report, resubmit, duplicate candidates, alert in both communities
#  10. verify, dispatch, en route; a panic acknowledged; escalation
#  11. forwarding, Open311, subscribe_area, delete_note, hide_attachment
#  12. the queue, the feeds, my lists, offline sync of one community
#  13. the event stream per community (1..n, every topic, events_since,
#      naboom-listen --community)
#  14. the audit by community (positions, each community's chain, verify,
#      a row changed on a worker found, community/incident audit, cron)
#  15. a retention dry run
#  16. export and erasure (the shard, every node's audit log)
#  17. reports/s through the coordinator beside a single node (figures only)
#  18. a third worker and citus_rebalance_start() under load: nothing lost
#  19. a report after the move (the workers' sequences in ranges of their own),
#      each community's audit log on its new node, complete, verified
#  20. a real retention run (members anonymised community by community, the
#      workers' shards of the audit log by runs of their own, the audit months
#      dropped everywhere, each community's sync horizon)
#
# Output is TAP (also in test/results/citus.out; the nodes' server logs go to
# test/results/citus.*.log).  Exit status 0 iff every assertion passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_CONFIG="${PG_CONFIG:-pg_config}"
BINDIR="$($PG_CONFIG --bindir)"
LIBDIR="$($PG_CONFIG --pkglibdir)"
CITUS_INSTALL="${NABOOM_CITUS_INSTALL:-$ROOT/../shared/citus/install.sh}"
PLAN=20

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
# nothing changes.  The naboom it distributes has an audit log sealed on the
# single node (rows without a community among them): every row is still
# there afterwards, and that chain still verifies (step 14)
( on coord -c "INSERT INTO naboom.audit_log (action, table_name, db_role, detail) SELECT 'DDL', 'naboom.incident', current_user, jsonb_build_object('command', 'test ' || k) FROM generate_series(1, 2) k" &&
  sleep 1 && on coord -c "SELECT (naboom.seal_audit()).seal_id IS NOT NULL" | grep -qx t &&
  logged=$(on coord -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE community_id IS NULL) || ' ' || max(id) FROM naboom.audit_log") &&
  on coord -c "SET client_min_messages = warning" -c "SELECT table_name || ' ' || distribution FROM naboom.distribute()" >"$W/dist1.out" &&
  set -- $logged &&
  kept=$(on coord -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE community_id = 0) FROM naboom.audit_log WHERE id <= $3") &&
  echo "audit rows before distribute() (all, without a community, highest id): $logged; after (all, under community 0): $kept" &&
  [ "$kept" = "$1 $2" ] && [ "$2" -ge 2 ] &&
  on coord -c "SET client_min_messages = warning" -c "SELECT table_name || ' ' || distribution FROM naboom.distribute()" >"$W/dist2.out" &&
  diff "$W/dist1.out" "$W/dist2.out" &&
  grep -qx 'naboom.community reference' "$W/dist1.out" && grep -qx 'naboom.status reference' "$W/dist1.out" &&
  grep -qx 'naboom.incident by community_id' "$W/dist1.out" && grep -qx 'naboom.incident_reference by reference' "$W/dist1.out" &&
  [ "$(on coord -c "SELECT count(DISTINCT colocationid) FROM pg_dist_partition p WHERE p.logicalrelid::regclass::text LIKE 'naboom.%' AND p.partmethod = 'h' AND p.logicalrelid <> 'naboom.incident_reference'::regclass")" = 1 ] ) >"$W/dist.log" 2>&1
rc=$?  # (before the verdict's words: a command substitution there would reset $?)
verdict "naboom.distribute() twice: $(wc -l <"$W/dist1.out") tables, the same both times; domain tables co-located with incident" $rc 'cat "$W/dist.log" "$W/dist1.out"'

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
# logs the gateway's subject as the actor, also for a client that switched
# to naboom_user with SET LOCAL ROLE (which Citus must not repeat on the
# workers: naboom's functions would run as naboom_user there); with
# naboom.distributed off for one transaction (nothing carried) the same
# write is logged as the service's role there (what this test would catch:
# a shard that sees no claims); and for a client in autocommit with its
# claims set for the session (Citus repeats SET LOCAL only in what it takes
# for a multi-statement transaction, and reads without a block: naboom makes
# the transaction a coordinated one)
actor_on() { # actor_on PORT TABLE COMMUNITY USER_REF_COLUMN VALUE: the audited actor of the row's INSERT on that node
    timeout 60 "$BINDIR/psql" -X -q -At -h "$W" -p "$1" -U postgres -d postgres -c "SELECT string_agg(actor, ',') FROM naboom.audit_log WHERE action = 'INSERT' AND table_name LIKE 'naboom.$2%' AND community_id = $3 AND new_values->>'$4' = '$5'"
}
( for T in $A $B; do
    as "admin-$T" -c "SELECT code FROM naboom_api.upsert_category('town-$T', 'burglary', 'Burglary', 'Inbraak', 'high')" &&
    as "res-$T" -c "SELECT role FROM naboom_api.join_community('town-$T', 'Resident $T')" || exit 1
  done &&
  as "res-x" -c "SET LOCAL naboom.distributed = off" -c "SELECT role FROM naboom_api.join_community('town-$A', 'Resident X')" &&
  sleep 2 &&
  a1=$(actor_on "$PA" category "$A" code burglary) && a2=$(actor_on "$PA" member "$A" user_ref "res-$A") &&
  b1=$(actor_on "$PB" category "$B" code burglary) && b2=$(actor_on "$PB" member "$B" user_ref "res-$B") &&
  on coord -c "SET client_min_messages = warning" -c "BEGIN" -c "SET LOCAL ROLE naboom_user" \
      -c "SELECT set_config('request.jwt.claims', '{\"sub\":\"res-y\"}', true)" \
      -c "SELECT role FROM naboom_api.join_community('town-$A', 'Resident Y')" -c "COMMIT" &&
  on coord -c "SET client_min_messages = warning" -c "SET ROLE naboom_user" \
      -c "SELECT set_config('request.jwt.claims', '{\"sub\":\"res-z\"}', false)" \
      -c "SELECT role FROM naboom_api.join_community('town-$A', 'Resident Z')" &&
  sleep 2 &&
  x=$(actor_on "$PA" member "$A" user_ref "res-x") && y=$(actor_on "$PA" member "$A" user_ref "res-y") &&
  z=$(actor_on "$PA" member "$A" user_ref "res-z") &&
  echo "$a1 $a2 $b1 $b2 $x $y $z" &&
  [ "$a1 $a2 $b1 $b2 $x $y $z" = "admin-$A res-$A admin-$B res-$B postgres res-y res-z" ] ) >"$W/ident.log" 2>&1
verdict "the caller on the shards: audited actors on the workers are the gateway's subjects, also after SET LOCAL ROLE and in autocommit (with nothing carried: the service)" $? 'cat "$W/ident.log"; grep -h ERROR "$W"/*.log | tail -5'

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

# 10. the rest of the story through the coordinator, in both communities:
# a moderator verifies the report and dispatches the responder, who is en
# route; a panic alerts the responder, who acknowledges it; an unanswered
# panic is escalated by naboom.run_escalation() on the coordinator
svc() { on coord -c "SET client_min_messages = warning" "$@"; }
( for T in $A $B; do
    lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
    r1=$(svc -c "SELECT i.reference FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND i.client_ref = 'c-1'") &&
    s1=$(as "admin-$T" -c "SELECT status FROM naboom_api.transition_incident('$r1', 'verified', 'seen by the camera')") &&
    s2=$(as "admin-$T" -c "SELECT status FROM naboom_api.assign_incident('$r1', 'resp-$T')") &&
    s3=$(as "resp-$T" -c "SELECT status FROM naboom_api.transition_incident('$r1', 'en_route')") &&
    echo "town-$T $r1: $s1 $s2 $s3" && [ "$s1 $s2 $s3" = "verified dispatched en_route" ] &&
    p=$(as "res-$T" -c "SELECT reference FROM naboom_api.raise_panic('town-$T', -24.5, $lon, note => 'help')") &&
    [ "$(svc -c "SELECT count(*) FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = '$p' AND a.user_ref = 'resp-$T'")" = 1 ] &&
    ack=$(as "resp-$T" -c "SELECT acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident('$p')") &&
    echo "town-$T panic $p: responder alerted, acknowledged $ack" && [ "$ack" = t ] &&
    p2=$(as "res-$T" -c "SELECT reference FROM naboom_api.raise_panic('town-$T', -24.5, $lon, note => 'again')") &&
    svc -c "UPDATE naboom.incident SET next_escalation_at = now() - interval '1 second' WHERE reference = '$p2'" &&
    echo "$T $p2" >>"$W/panics" || exit 1
  done &&
  n=$(svc -c "SELECT naboom.run_escalation()") && echo "run_escalation(): $n" && [ "$n" -ge 2 ] &&
  while read -r T p2; do
      lvl=$(svc -c "SELECT escalation_level || ' ' || (next_escalation_at > now()) FROM naboom.incident WHERE reference = '$p2'")
      echo "town-$T unanswered panic $p2: level, next step later: $lvl" && [ "$lvl" = "1 true" ] || exit 1
  done <"$W/panics" ) >"$W/story2.log" 2>&1
verdict "through the coordinator: verify, dispatch, en route; a panic alerts the responder, who acknowledges; an unanswered panic escalated by run_escalation()" $? 'cat "$W/story2.log"; grep -h ERROR "$W"/*.log | tail -4'

# 11. the daily surfaces through the coordinator, in both communities:
# forwarding (a rule forwards a report, a moderator forwards it again, the
# service claims across both communities, delivers, fails, and an authority
# update comes back by case number), Open311 (services, the list, one
# request, a request posted), an alert area that is a ward (subscribe_area,
# my_subscriptions), a note deleted by its author, an attachment hidden by a
# moderator and the public not seeing it
( for T in $A $B; do
    lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
    as "admin-$T" -c "SELECT code FROM naboom_api.upsert_authority('town-$T', 'saps', 'SAPS $T', 'SAPD $T', 'police', 'http://127.0.0.1:1/saps')" >/dev/null &&
    as "admin-$T" -c "SELECT code FROM naboom_api.upsert_forwarding_rule('town-$T', 'break_ins', 'saps', '{burglary}')" >/dev/null &&
    rf=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'the shop was broken into', client_ref => 'fw-1')") &&
    as "admin-$T" -c "SELECT seq FROM naboom_api.forward_incident('$rf', 'saps', 'the owner has CCTV')" >/dev/null &&
    fw=$(as "admin-$T" -c "SELECT string_agg(seq || ':' || reason || ':' || state, ' ' ORDER BY seq) FROM naboom_api.incident_forwardings('$rf')") &&
    echo "town-$T $rf forwardings: $fw" && [ "$fw" = "1:report:pending 2:request:pending" ] &&
    echo "$T $rf" >>"$W/forwarded" || exit 1
  done &&
  svc -c "SELECT c.id || ' ' || c.community || ' ' || c.seq || ' ' || (c.payload->'incident'->>'reference' = c.reference) FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c ORDER BY c.community" >"$W/claim1" &&
  echo "first claim (id community seq payload-of-its-incident):" && cat "$W/claim1" &&
  [ "$(awk '{print $2 ":" $3 ":" $4}' "$W/claim1" | xargs)" = "town-$A:1:true town-$B:1:true" ] &&
  while read -r id comm seq ok; do
      [ "$(svc -c "SELECT state FROM naboom_api.forwarding_delivered($id, 'CAS-$comm')")" = delivered ] || exit 1
  done <"$W/claim1" &&
  svc -c "SELECT c.id || ' ' || c.community || ' ' || c.seq FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c ORDER BY c.community" >"$W/claim2" &&
  echo "second claim (id community seq):" && cat "$W/claim2" &&
  [ "$(awk '{print $2 ":" $3}' "$W/claim2" | xargs)" = "town-$A:2 town-$B:2" ] &&
  while read -r id comm seq; do
      [ "$(svc -c "SELECT state FROM naboom_api.forwarding_failed($id, 'HTTP 503')")" = failed ] || exit 1
  done <"$W/claim2" &&
  while read -r T rf; do
      up=$(svc -c "SELECT reference || ' ' || repeated FROM naboom_api.authority_update('saps', 'CAS-town-$T', note => 'docket opened', update_id => 'u-1')") &&
      up2=$(svc -c "SELECT repeated::text FROM naboom_api.authority_update('saps', 'CAS-town-$T', note => 'docket opened', update_id => 'u-1')") &&
      fw=$(as "admin-$T" -c "SELECT string_agg(seq || ':' || state, ' ' ORDER BY seq) FROM naboom_api.incident_forwardings('$rf')") &&
      tl=$(as "admin-$T" -c "SELECT count(*) FROM naboom.incident_timeline t JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = '$rf' AND t.entry_kind = 'authority_update'") &&
      echo "town-$T $rf: authority update (reference, repeated) $up, again $up2; forwardings $fw; authority entries on the timeline $tl" &&
      [ "$up $up2" = "$rf false true" ] && [ "$fw" = "1:delivered 2:failed" ] && [ "$tl" = 1 ] || exit 1
  done <"$W/forwarded" &&
  for T in $A $B; do
      lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
      w0=$(awk -v t=$T 'BEGIN{print 27.05 + t * 0.3}'); w1=$(awk -v t=$T 'BEGIN{print 27.2 + t * 0.3}')
      rf=$(awk -v t=$T '$1 == t {print $2}' "$W/forwarded")
      o1=$(on coord -c "SELECT (naboom_api.open311_services('town-$T')::jsonb @> '[{\"service_code\":\"burglary\"}]') || ' ' || (naboom_api.open311_requests('town-$T')::jsonb @> '[{\"service_request_id\":\"$rf\"}]') || ' ' || (naboom_api.open311_request('town-$T', '$rf')::jsonb->0->>'service_request_id')") &&
      po=$(as "res-$T" -c "SELECT naboom_api.open311_post_request('town-$T', 'burglary', -24.5, $lon, description => 'posted through Open311')::jsonb->0->>'service_request_id'") &&
      o2=$(on coord -c "SELECT naboom_api.open311_request('town-$T', '$po')::jsonb->0->>'description'") &&
      echo "town-$T Open311: services, the list, the request: $o1; posted $po: $o2" &&
      [ "$o1" = "true true $rf" ] && [ "$o2" = "posted through Open311" ] &&
      as "admin-$T" -c "SELECT code FROM naboom_api.upsert_area('town-$T', 'ward-1', 'Ward 1', '{\"type\":\"Polygon\",\"coordinates\":[[[$w0,-24.55],[$w1,-24.55],[$w1,-24.45],[$w0,-24.45],[$w0,-24.55]]]}')" >/dev/null &&
      sa=$(as "res-$T" -c "SELECT area FROM naboom_api.subscribe_area('town-$T', 'ward-1', label => 'home')") &&
      ms=$(as "res-$T" -c "SELECT string_agg(community || ':' || coalesce(area, '-'), ' ') FROM naboom_api.my_subscriptions()") &&
      echo "town-$T subscribe_area: $sa; my_subscriptions: $ms" && [ "$sa" = ward-1 ] && [ "$ms" = "town-$T:ward-1" ] &&
      ns=$(as "res-$T" -c "SELECT seq FROM naboom_api.add_note('$rf', 'wrong shop, sorry')") &&
      dn=$(as "res-$T" -c "SELECT kind FROM naboom_api.delete_note('$rf', $ns)") &&
      kept=$(svc -c "SELECT count(*) FROM naboom.deleted_note d JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = '$rf' AND d.note = 'wrong shop, sorry'") &&
      echo "town-$T note $ns: $dn, its text kept in deleted_note: $kept" && [ "$dn" = note_deleted ] && [ "$kept" = 1 ] &&
      at=$(as "res-$T" -c "SELECT id FROM naboom_api.add_attachment('$rf', 'town-$T/$rf/1.jpg', 'image/jpeg', 1000, repeat('ab', 32))") &&
      hd=$(as "admin-$T" -c "SELECT hidden || ' ' || uploader_name FROM naboom_api.hide_attachment('$rf', $at, 'shows a bystander')") &&
      pub=$(on coord -c "SET ROLE naboom_anon" -c "SELECT jsonb_array_length(attachments) FROM naboom_api.get_incident('$rf')") &&
      echo "town-$T attachment $at hidden (hidden, uploader): $hd; the public sees $pub attachments" &&
      [ "$hd" = "true Resident $T" ] && [ "$pub" = 0 ] || exit 1
  done ) >"$W/daily.log" 2>&1
verdict "through the coordinator: forwarding (rule, request, claims across both communities, delivered, failed, an authority update), Open311, subscribe_area, delete_note, hide_attachment" $? 'cat "$W/daily.log"; grep -h ERROR "$W"/*.log | tail -4'

[ "${NABOOM_CITUS_UPTO:-99}" -le 11 ] && { echo "# stopped after step 11"; exit 0; }

# 12. the control room's lists and offline sync through the coordinator:
# incident_queue holds the community's live incidents and nothing else;
# community_incidents pages by cursor (two pages, the whole list, no
# repeat); the public's feed has only public incidents; my_incidents of a
# resident who reported in both communities (on two workers), newest first;
# my_assignments of the responder; incident_changes of one community (its
# incidents, paged, a cursor refused with another community, none without
# one on a cluster); then every other API function not called yet, in
# autocommit with the claims set for the session
( as "res-$A" -c "SELECT role FROM naboom_api.join_community('town-$B', 'Resident $A')" >/dev/null &&
  lonb=$(awk -v t=$B 'BEGIN{print 27.1 + t * 0.3}') &&
  as "res-$A" -c "SELECT reference FROM naboom_api.report_incident('town-$B', 'burglary', -24.5, $lonb, 'visiting: my car was broken into', client_ref => 'away-1')" >/dev/null &&
  mine=$(as "res-$A" -c "SELECT string_agg(community, ' ') FROM naboom_api.my_incidents()") &&
  total=$(svc -c "SELECT count(*) FROM naboom.incident WHERE reporter_ref = 'res-$A'") &&
  echo "my_incidents of res-$A (communities, newest first): $mine; reported: $total" &&
  set -- $mine && [ "$#" = "$total" ] && [ "$1" = "town-$B" ] && case " $mine " in *" town-$A "*) ;; *) exit 1 ;; esac &&
  for T in $A $B; do
      live=$(svc -c "SELECT count(*) FROM naboom.incident i JOIN naboom.community c USING (community_id) JOIN naboom.status s ON s.status = i.status WHERE c.slug = 'town-$T' AND s.status_type = 'open'")
      q=$(as "admin-$T" -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE community = 'town-$T') FROM naboom_api.incident_queue('town-$T')")
      all=$(svc -c "SELECT count(*) FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T'")
      cur=$(as "admin-$T" -c "SELECT cursor FROM naboom_api.community_incidents('town-$T', max_count => 2) OFFSET 1")
      f=$(as "admin-$T" -c "SELECT count(*) || ' ' || count(DISTINCT reference) FROM (SELECT reference FROM naboom_api.community_incidents('town-$T', max_count => 2) UNION ALL SELECT reference FROM naboom_api.community_incidents('town-$T', after => '$cur')) x")
      pub=$(svc -c "SELECT count(*) FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND i.is_public")
      anon=$(on coord -c "SET ROLE naboom_anon" -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE is_public) FROM naboom_api.community_incidents('town-$T')")
      asg=$(as "resp-$T" -c "SELECT count(*) FROM naboom_api.my_assignments() WHERE assignee = 'resp-$T'")
      s1=$(as "admin-$T" -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE community = 'town-$T') FROM naboom_api.incident_changes(NULL, 100, 'town-$T')")
      sc=$(as "admin-$T" -c "SELECT cursor FROM naboom_api.incident_changes(NULL, 2, 'town-$T') OFFSET 1")
      s2=$(as "admin-$T" -c "SELECT count(DISTINCT reference) FROM (SELECT reference FROM naboom_api.incident_changes(NULL, 2, 'town-$T') UNION ALL SELECT reference FROM naboom_api.incident_changes('$sc', 100, 'town-$T')) x")
      echo "town-$T: live $live, queue (rows, of the community) $q; incidents $all, two feed pages (rows, distinct) $f; public $pub, the public's feed (rows, public) $anon; the responder's assignments $asg; sync (rows, of the community) $s1, paged: $s2"
      [ "$q" = "$live $live" ] && [ "$f" = "$all $all" ] && [ "$anon" = "$pub $pub" ] && [ "$asg" -ge 1 ] &&
      [ "$s1" = "$all $all" ] && [ "$s2" = "$all" ] || exit 1
      echo "$T $sc" >>"$W/sync_cursors"
  done &&
  read -r T1 c1 <"$W/sync_cursors" &&
  ! as "admin-$T1" -c "SELECT count(*) FROM naboom_api.incident_changes('$c1', 10, 'town-$B')" >"$W/sync_other.out" 2>&1 &&
  grep -q 'the cursor belongs to another sync' "$W/sync_other.out" &&
  ! as "admin-$A" -c "SELECT count(*) FROM naboom_api.incident_changes(NULL, 10)" >"$W/sync_none.out" 2>&1 &&
  grep -q 'incident_changes needs a community' "$W/sync_none.out" &&
  for T in $A $B; do
      r1=$(svc -c "SELECT i.reference FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND i.client_ref = 'c-1'")
      lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
      # the rest of the API, in autocommit with the claims set for the session
      on coord -v ON_ERROR_STOP=1 >"$W/api-$T.out" 2>&1 <<SQL || { cat "$W/api-$T.out"; exit 1; }
SET client_min_messages = warning;
SELECT set_config('request.jwt.claims', '{"sub":"admin-$T"}', false) IS NOT NULL;
SELECT 'nearest_responders', count(*) FROM naboom_api.nearest_responders('$r1');
SELECT 'duplicate_candidates', count(*) FROM naboom_api.duplicate_candidates('town-$T', 'burglary', -24.5, $lon);
SELECT 'incidents_near', count(*) FROM naboom_api.incidents_near(-24.5, $lon, 5000);
SELECT 'maps', length(naboom_api.community_map_geojson('town-$T')::text) > 0 AND length(naboom_api.community_map_svg('town-$T')::text) > 0;
SELECT 'sla_report', count(*) FROM naboom_api.sla_report('town-$T', now() - interval '1 day', now() + interval '1 hour');
SELECT 'directory', (SELECT count(*) FROM naboom_api.communities()), (SELECT count(*) FROM naboom_api.categories('town-$T')),
	(SELECT count(*) FROM naboom_api.areas('town-$T', true)), (SELECT count(*) FROM naboom_api.statuses()),
	(SELECT count(*) FROM naboom_api.my_memberships()), (SELECT count(*) FROM naboom_api.members('town-$T', search => 'Res'));
SELECT 'retention_policies', count(*) FROM naboom_api.retention_policies('town-$T');
SELECT 'legal hold', (naboom_api.place_legal_hold('$r1', 'court order')).reference = '$r1';
SELECT (naboom_api.lift_legal_hold('$r1', 'lifted')).reference = '$r1';
SELECT 'upsert_category', (naboom_api.upsert_category('town-$T', 'noise', 'Noise', 'Geraas', 'low')).code;
SELECT 'health', count(*) FROM naboom_api.health();
SELECT set_config('request.jwt.claims', '{"sub":"resp-$T"}', false) IS NOT NULL;
SELECT 'alerts', (SELECT count(*) FROM naboom_api.my_alerts()), (naboom_api.unread_alert_count()).unread, (naboom_api.mark_alerts_seen(0)).unread;
SELECT 'profile', (naboom_api.update_my_profile('town-$T', display_name => 'Responder $T')).display_name;
SELECT 'subscribe', (naboom_api.unsubscribe((naboom_api.subscribe('town-$T', -24.5, $lon, 500)).id)).radius_m;
SQL
      echo "town-$T, the rest of the API in autocommit:"; grep '|' "$W/api-$T.out"
      [ "$(grep -c '|' "$W/api-$T.out")" = 13 ] && grep -q '^nearest_responders|1$' "$W/api-$T.out" || exit 1
  done ) >"$W/lists.log" 2>&1
verdict "through the coordinator: the queue, the feed paged, the public's feed, my_incidents across two workers, my_assignments, incident_changes of one community (paged; another community's cursor and no community refused); the rest of the API in autocommit" $? 'cat "$W/lists.log" "$W/sync_other.out" "$W/sync_none.out" 2>/dev/null; grep -h ERROR "$W"/*.log | tail -4'

# 13. the event stream, per community: every event of the story numbered by
# the coordinator's publisher, 1, 2, 3 ... within each community (no gap, in
# commit order), the caller's community's events through events_since with
# community =>; without a community the cluster says naboom.community_required
( for T in $A $B; do
    ok=
    for i in $(seq 1 50); do
        [ "$(svc -c "SELECT count(*) FROM naboom.event e JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND e.seq IS NULL")" = 0 ] && { ok=1; break; }
        sleep 0.2
    done
    [ -n "$ok" ] || { echo "town-$T: events left unpublished"; exit 1; }
    got=$(svc -c "SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM naboom_api.events_since(0, 1000, 'town-$T')")
    topics=$(svc -c "SELECT string_agg(DISTINCT topic, ',' ORDER BY topic) FROM naboom_api.events_since(0, 1000, 'town-$T')")
    mine=$(as "res-$T" -c "SELECT count(*) FROM naboom_api.events_since(0, 1000, 'town-$T') WHERE community = 'town-$T'")
    echo "town-$T: events (count min max) $got; topics $topics; the resident sees $mine"
    set -- $got
    [ "$1" -gt 5 ] && [ "$2" = 1 ] && [ "$3" = "$1" ] && [ "$mine" -gt 0 ] &&
    for t in incident.created alert.created incident.status_changed incident.assigned panic.raised incident.acknowledged incident.escalated; do
        case ",$topics," in *",$t,"*) ;; *) echo "missing $t"; exit 1 ;; esac
    done || exit 1
  done &&
  ! as "res-$A" -c "SELECT count(*) FROM naboom_api.events_since(0, 10)" >"$W/nocommunity.out" 2>&1 &&
  grep -q 'events_since needs a community' "$W/nocommunity.out" &&
  { [ -x "$ROOT/tools/naboom-listen" ] || make -s -C "$ROOT/tools" PG_CONFIG="$PG_CONFIG" >/dev/null; } &&
  n=$(svc -c "SELECT count(*) FROM naboom_api.events_since(0, 1000, 'town-$A')") &&
  timeout -k 2 40 "$ROOT/tools/naboom-listen" --community "town-$A" --count "$n" --timeout 15 --quiet-catchup \
      "host=$W port=${PORT[coord]} user=postgres dbname=postgres" >"$W/listen-A.out" 2>"$W/listen-A.err" &&
  got=$(sed "s/^PANIC$(printf '\t')//" "$W/listen-A.out" | cut -f1 | paste -sd ' ') &&
  echo "naboom-listen --community town-$A through the coordinator: $got" &&
  [ "$got" = "$(seq -s ' ' 1 "$n")" ] ) >"$W/events.log" 2>&1
verdict "the event stream per community: every event of the story numbered 1..n in its community, events_since(community =>) and naboom-listen --community; without one: naboom.community_required" $? 'cat "$W/events.log" "$W/nocommunity.out"; grep -h ERROR "$W"/*.log | tail -4'

# 14. the audit, distributed by community: pg_cron's seal job (on the
# coordinator) seals each community's chain; every row has its position, a
# community's 1..n with no gap, its rows on its worker; verify_audit on the
# coordinator verifies every chain, and finds a row changed on a worker's
# shard (then verifies again once it is put back); a worker refuses to seal,
# verify or partition it; community_audit and incident_audit read the
# community's log by position, paged without a gap
atport() { local p="$1"; shift; timeout -k 2 120 "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$p" -U postgres -d postgres "$@"; }
( svc -c "SET citus.enable_ddl_propagation = off" -c "CREATE EXTENSION IF NOT EXISTS pg_cron" -c "SELECT count(*) FROM naboom.schedule_jobs()" >/dev/null &&
  [ "$(svc -c "SELECT command FROM cron.job WHERE jobname = 'naboom-seal-audit'")" = 'SELECT naboom.seal_audit()' ] &&
  sleep 1 && svc -c "SELECT naboom.seal_audit()" >/dev/null &&
  svc -c "SELECT community_id || ' ' || count(*) || ' ' || min(seq) || ' ' || max(seq) || ' ' || count(DISTINCT seq) FROM naboom.audit_log WHERE seq IS NOT NULL GROUP BY community_id ORDER BY community_id" >"$W/positions" &&
  echo "positions (community rows min max distinct):" && cat "$W/positions" &&
  awk '$3 != 1 || $2 != $4 || $2 != $5 {bad = 1} END {exit bad}' "$W/positions" &&
  chains=$(svc -c "SELECT count(DISTINCT community_id) FROM naboom.audit_seal WHERE community_id IS NOT NULL") &&
  echo "chains of seals: $chains" && [ "$chains" -ge 3 ] &&
  for T in $A $B; do
      c=$(svc -c "SELECT community_id FROM naboom.community WHERE slug = 'town-$T'") &&
      p=$(awk -v t="$T" '$1 == t {print $2}' "$W/nodes") &&
      shard=$(svc -c "SELECT shard_name('naboom.audit_log', get_shard_id_for_distribution_column('naboom.audit_log', $c))") &&
      total=$(svc -c "SELECT count(*) FROM naboom.audit_log WHERE community_id = $c") &&
      here=$(atport "$p" -c "SELECT count(*) FROM $shard WHERE community_id = $c") &&
      echo "town-$T: $total audit rows, $here of them in $shard on its worker (port $p)" &&
      [ "$total" -gt 10 ] && [ "$here" = "$total" ] || exit 1
  done &&
  svc -c "SELECT problem || ' ' || detail FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 minute')" >"$W/verify.out" &&
  cat "$W/verify.out" && [ "$(wc -l <"$W/verify.out")" = 1 ] && grep -q '^verified .* 0 problems' "$W/verify.out" &&
  # a worker refuses to seal, verify or partition the log (55000 naboom.coordinator_only)
  for q in "SELECT naboom.seal_audit()" "SELECT count(*) FROM naboom.verify_audit(now() - interval '1 day', now())" "SELECT naboom.audit_maintain(1)"; do
      atport "$PA" -c '\set VERBOSITY verbose' -c "$q" >/dev/null 2>"$W/worker-refused.err"
      echo "on a worker, $q: $(grep -c '^ERROR:  55000:' "$W/worker-refused.err") x 55000, $(grep -c '^DETAIL:  naboom.coordinator_only:' "$W/worker-refused.err") x naboom.coordinator_only"
  done >"$W/worker-refused.out" &&
  cat "$W/worker-refused.out" && [ "$(grep -c ': 1 x 55000, 1 x naboom.coordinator_only$' "$W/worker-refused.out")" = 3 ] &&
  single=$(svc -c "SELECT count(*) FROM naboom.audit_seal WHERE community_id IS NULL") &&
  echo "seals made on the single node before distribute(), verified by their rows' ids: $single" && [ "$single" -ge 1 ] &&
  # a superuser on town A's worker changes a sealed row behind the guard's back
  c=$(svc -c "SELECT community_id FROM naboom.community WHERE slug = 'town-$A'") &&
  shard=$(svc -c "SELECT shard_name('naboom.audit_log', get_shard_id_for_distribution_column('naboom.audit_log', $c))") &&
  tamper() {
      atport "$PA" -c "BEGIN" -c "ALTER EVENT TRIGGER naboom_audit_ddl DISABLE" \
        -c "DO \$\$ DECLARE t record; BEGIN FOR t IN SELECT x.tgrelid::regclass AS rel, x.tgname FROM pg_trigger x WHERE x.tgname LIKE 'audit_append_only%' AND x.tgparentid = 0 AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = x.tgrelid) LOOP EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', t.rel, t.tgname); END LOOP; END \$\$" \
        -c "UPDATE $shard SET db_role = $1 WHERE community_id = $c AND seq = 2" \
        -c "DO \$\$ DECLARE t record; BEGIN FOR t IN SELECT x.tgrelid::regclass AS rel, x.tgname FROM pg_trigger x WHERE x.tgname LIKE 'audit_append_only%' AND x.tgparentid = 0 AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = x.tgrelid) LOOP EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.rel, t.tgname); END LOOP; END \$\$" \
        -c "ALTER EVENT TRIGGER naboom_audit_ddl ENABLE ALWAYS" -c "COMMIT"
  } &&
  was=$(atport "$PA" -c "SELECT db_role FROM $shard WHERE community_id = $c AND seq = 2") &&
  tamper "'forged'" &&
  svc -c "SELECT problem || ' ' || coalesce(audit_id::text, '-') FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 minute')" >"$W/verify2.out" &&
  tamper "'$was'" &&
  svc -c "SELECT problem FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 minute')" >"$W/verify3.out" &&
  echo "after a change on the worker: $(xargs <"$W/verify2.out"); put back: $(xargs <"$W/verify3.out")" &&
  [ "$(awk '{print $1}' "$W/verify2.out" | xargs)" = "changed broken" ] && [ "$(xargs <"$W/verify3.out")" = verified ] &&
  for T in $A $B; do
      r1=$(svc -c "SELECT i.reference FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T' AND i.client_ref = 'c-1'")
      ca=$(as "admin-$T" -c "SELECT count(*) FILTER (WHERE actor = 'resp-$T' AND table_name LIKE 'naboom.incident%') || ' ' || count(*) FROM naboom_api.community_audit('town-$T', max_count => 1000)")
      ia=$(as "admin-$T" -c "SELECT count(*) FILTER (WHERE reference = '$r1') || ' ' || count(*) FILTER (WHERE actor = 'resp-$T') FROM naboom_api.incident_audit('$r1')")
      p1=$(as "admin-$T" -c "SELECT string_agg(id::text, ' ' ORDER BY id DESC) FROM naboom_api.community_audit('town-$T', max_count => 5)")
      last=${p1##* }
      p2=$(as "admin-$T" -c "SELECT string_agg(id::text, ' ' ORDER BY id DESC) FROM naboom_api.community_audit('town-$T', before_id => $last, max_count => 5)")
      top=${p1%% *}
      want=$(seq "$top" -1 $((top - 9)) | xargs)
      echo "town-$T: community_audit (the responder's incident writes, all) $ca; incident_audit of $r1 (named, by the responder) $ia; two pages by position: $p1 | $p2"
      set -- $ca $ia
      [ "$1" -ge 1 ] && [ "$2" -gt 5 ] && [ "$3" -ge 3 ] && [ "$4" -ge 1 ] && [ "$p1 $p2" = "$want" ] || exit 1
  done &&
  svc -c "SELECT cron.unschedule(jobname) FROM cron.job WHERE jobname LIKE 'naboom-%'" >/dev/null ) >"$W/audit.log" 2>&1
verdict "the audit by community: each community's rows on its worker, numbered 1..n, its own chain sealed by pg_cron's job on the coordinator; verify_audit finds a row changed on a worker; a worker refuses to seal, verify or partition it; community_audit and incident_audit paged by position" $? 'cat "$W/audit.log"; grep -h ERROR "$W"/*.log | tail -4'

# 15. retention dry run on the coordinator: a run that finds what is due
# (as of 20 years on) and changes nothing
( before=$(svc -c "SELECT count(*) || ' ' || count(reporter_ref) FROM naboom.incident") &&
  svc -c "CALL naboom.run_retention(true, now() + interval '20 years')" >"$W/retention.out" &&
  run=$(svc -c "SELECT dry_run || ' ' || outcome FROM naboom.retention_run ORDER BY run_id DESC LIMIT 1") &&
  due=$(svc -c "SELECT coalesce(sum(x.rows), 0) FROM naboom.retention_result x WHERE x.run_id = (SELECT max(run_id) FROM naboom.retention_run)") &&
  after=$(svc -c "SELECT count(*) || ' ' || count(reporter_ref) FROM naboom.incident") &&
  echo "dry run: $run, rows due $due; incidents (all, with a reporter) before $before, after $after" &&
  [ "$run" = "true done" ] && [ "$due" -gt 0 ] && [ "$before" = "$after" ] ) >"$W/retention.log" 2>&1
verdict "a retention dry run through the coordinator finds what is due and changes nothing" $? 'cat "$W/retention.log" "$W/retention.out"; grep -h ERROR "$W"/*.log | tail -4'

# 16. export and erasure through the coordinator: a resident of each
# community reports and reads an incident, exports (the report, and audit
# rows from the worker's log), then erases: the report anonymised on its
# shard, the membership gone, no audit row on any node names them; another
# leaves the community (leave_community: the same anonymisation, one community)
( for T in $A $B; do
    lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
    u="leaver-$T"
    as "$u" -c "SELECT role FROM naboom_api.join_community('town-$T', 'Leaver $T', phone => '+27820000000')" >/dev/null &&
    r=$(as "$u" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'my gate was forced', client_ref => 'leave-1')") &&
    ex=$(as "$u" -c "SELECT (data->'reports' @> '[{\"reference\":\"$r\"}]') || ' ' || jsonb_array_length(data->'audit') || ' ' || (SELECT count(*) FROM jsonb_array_elements(data->'audit') a WHERE a->>'table' LIKE 'naboom.incident%') FROM naboom_api.export_my_data()") &&
    echo "town-$T $u: export (report there, audit rows, of them on incident shards) $ex" &&
    set -- $ex && [ "$1" = true ] && [ "$2" -ge 2 ] && [ "$3" -ge 1 ] &&
    er=$(as "$u" -c "SELECT (erased->>'memberships') || ' ' || (erased->>'reports_anonymised') || ' ' || (erased->>'audit_entries_anonymised') FROM naboom_api.erase_my_data()") &&
    echo "town-$T $u: erased (memberships, reports, audit rows) $er" && set -- $er && [ "$1" = 1 ] && [ "$2" = 1 ] && [ "$3" -ge 2 ] &&
    left=$(svc -c "SELECT count(*) FILTER (WHERE reporter_ref IS NOT NULL OR description IS NOT NULL) || ' ' || count(*) FROM naboom.incident WHERE reference = '$r'") &&
    member=$(svc -c "SELECT count(*) FROM naboom.member WHERE user_ref = '$u'") &&
    named=$(svc -c "SELECT count(*) FROM naboom.audit_log WHERE actor = '$u' OR row_key->>'user_ref' = '$u'") &&
    echo "town-$T $u: report still naming them / there: $left; memberships: $member; audit rows naming them (every community's log): $named" &&
    [ "$left" = "0 1" ] && [ "$member" = 0 ] && [ "$named" = 0 ] &&
    q="quitter-$T" &&
    as "$q" -c "SELECT role FROM naboom_api.join_community('town-$T', 'Quitter $T')" >/dev/null &&
    rq=$(as "$q" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'never mind', client_ref => 'quit-1')") &&
    as "$q" -c "SELECT status FROM naboom_api.transition_incident('$rq', 'cancelled')" >/dev/null &&
    lv=$(as "$q" -c "SELECT (erased->>'memberships') || ' ' || (erased->>'reports_anonymised') FROM naboom_api.leave_community('town-$T')") &&
    gone=$(svc -c "SELECT (SELECT count(*) FROM naboom.member WHERE user_ref = '$q') || ' ' || (SELECT count(*) FROM naboom.incident WHERE reference = '$rq' AND reporter_ref IS NULL AND description IS NULL)") &&
    echo "town-$T $q: left (memberships, reports anonymised) $lv; membership left / report anonymised: $gone" &&
    [ "$lv" = "1 1" ] && [ "$gone" = "0 1" ] || exit 1
  done ) >"$W/erase.log" 2>&1
verdict "export, erasure and leaving through the coordinator: the export has the report and the workers' audit rows; erasure anonymises on the shard and in every community's audit log; leave_community on the shard" $? 'cat "$W/erase.log"; grep -h ERROR "$W"/*.log | tail -4'


# 17. reports per second: two pgbench clients, one per community, through the
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
# What the reference directory costs a report: the claim alone, as
# file_incident makes it (one row into naboom.incident_reference, routed to
# the reference's shard), through the coordinator by the same two clients,
# beside the reports of the same run; the claims are removed afterwards.
cat >"$W/claim.sql" <<SQL
BEGIN;
INSERT INTO naboom.incident_reference (reference, community_id) VALUES ('BENCH-' || md5(random()::text || clock_timestamp()::text), 0);
COMMIT;
SQL
chmod 644 "$W/claim.sql"
tclaim=$(asp "$BINDIR/pgbench" -n -h "$W" -p "${PORT[coord]}" -U postgres -T "$SECS" -c 2 -j 2 -f "$W/claim.sql" postgres 2>&1 |
    tee -a "$W/bench.log" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
on coord -c "DELETE FROM naboom.incident_reference WHERE reference LIKE 'BENCH-%'" >/dev/null 2>&1
echo "# the directory claim alone, 2 clients: $tclaim claims/s, i.e. $(awk -v c="$tclaim" -v r="$tc" 'BEGIN { if (c > 0 && r > 0) printf "%.1f ms of a client per claim against %.1f ms per report (%.0f %%)", 2000 / c, 2000 / r, 100 * r / c; else print "n/a" }')"
[ -n "$tc" ] && [ -n "$tc2" ] && [ "$((after - before))" -gt 0 ] && grep -q 'number of failed transactions: 0' "$W/bench.log"
verdict "reports/s through the coordinator beside a single node (figures above), every report committed" $? 'cat "$W/bench.setup"; grep -v "^progress" "$W/bench.log" | head -20'

# 18. a third worker and citus_rebalance_start() while reports keep coming
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

# 19. after the move, a report and its resubmit in each community: the
# moved community's new node makes ids in its own range (distribute() run
# again after citus_add_node gave the new worker's sequences theirs), so
# none collides with the rows that moved (README, "Rebalancing").
( for T in $A $B; do
      lon=$(awk -v t=$T 'BEGIN{print 27.1 + t * 0.3}')
      r1=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'after the move', client_ref => 'c-move')") &&
      r2=$(as "res-$T" -c "SELECT reference FROM naboom_api.report_incident('town-$T', 'burglary', -24.5, $lon, 'after the move', client_ref => 'c-move')") &&
      echo "town-$T: $r1 $r2" && [ -n "$r1" ] && [ "$r1" = "$r2" ] || exit 1
  done &&
  # the audit moved with its communities: each community's log complete on
  # the node that now holds it, its positions still 1..n, one INSERT entry
  # per incident (the rows Citus copied were not audited again), every
  # chain verified
  sleep 1 && svc -c "SELECT (naboom.seal_audit()).seal_id" >/dev/null &&
  for T in $A $B; do
      c=$(svc -c "SELECT community_id FROM naboom.community WHERE slug = 'town-$T'") &&
      shard=$(svc -c "SELECT shard_name('naboom.audit_log', get_shard_id_for_distribution_column('naboom.audit_log', $c))") &&
      p=$(svc -c "SELECT n.nodeport FROM pg_dist_placement pl JOIN pg_dist_node n USING (groupid) WHERE pl.shardid = get_shard_id_for_distribution_column('naboom.audit_log', $c)") &&
      total=$(svc -c "SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || coalesce(max(seq), 0) FROM naboom.audit_log WHERE community_id = $c") &&
      here=$(atport "$p" -c "SELECT count(*) FROM $shard WHERE community_id = $c") &&
      ins=$(svc -c "SELECT (SELECT count(*) FROM naboom.audit_log WHERE community_id = $c AND table_name = 'naboom.incident' AND action = 'INSERT') || ' ' || (SELECT count(*) FROM naboom.incident WHERE community_id = $c)") &&
      echo "town-$T after the move: audit rows, positions, highest $total; on its node (port $p) $here; incident INSERT entries / incidents $ins" &&
      set -- $total $ins && [ "$1" = "$here" ] && [ "$1" = "$2" ] && [ "$1" = "$3" ] && [ "$4" = "$5" ] || exit 1
  done &&
  svc -c "SELECT problem || ' ' || detail FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 minute')" >"$W/verify-moved.out" &&
  cat "$W/verify-moved.out" && [ "$(wc -l <"$W/verify-moved.out")" = 1 ] && grep -q '^verified .* 0 problems' "$W/verify-moved.out" ) >"$W/after-move.log" 2>&1
verdict "after the move: a report and its resubmit in each community (the workers' sequences in ranges of their own); each community's audit log complete on its node, numbered 1..n, every chain verified" $? 'cat "$W/after-move.log"'

# 20. a real retention run through the coordinator, as of 20 years on (so
# everything is due; last, since it anonymises the test's people): its
# batches claim rows community by community (Citus refuses a FOR UPDATE over
# every shard), members are anonymised on their communities' nodes, each
# worker's shards of the audit log are anonymised by a run of its own the
# coordinator starts, the audit months are dropped on the coordinator and
# their shells on the workers (the chains still verify, those rows expired);
# the closed incidents' events go, and each community's sync horizon on the
# coordinator moves past step 12's cursor (incident_changes: cursor_expired)
( before=$(on coord -c "SELECT count(*) FROM naboom.member") &&
  t0=$(on coord -c "SELECT now()") &&
  on coord -c "SET client_min_messages = warning" -c "CALL naboom.run_retention(false, now() + interval '20 years')" >"$W/retention-real.out" &&
  run=$(on coord -c "SELECT dry_run || ' ' || outcome FROM naboom.retention_run ORDER BY run_id DESC LIMIT 1") &&
  done_rows=$(on coord -c "SELECT coalesce(sum(x.rows), 0) FROM naboom.retention_result x WHERE x.run_id = (SELECT max(run_id) FROM naboom.retention_run) AND x.data_class = 'personal_data' AND x.target = 'naboom.member'") &&
  after=$(on coord -c "SELECT count(*) FROM naboom.member") &&
  workers=$(on coord -c "SELECT rows FROM naboom.retention_result WHERE run_id = (SELECT max(run_id) FROM naboom.retention_run) AND target LIKE 'the workers%'") &&
  w_runs=$(for d in w1 w2 w3; do [ -n "${PORT[$d]:-}" ] && on "$d" -c "SELECT outcome || '/' || count(*) FILTER (WHERE x.data_class = 'audit_log') || '/' || count(*) FROM naboom.retention_run r LEFT JOIN naboom.retention_result x USING (run_id) WHERE r.run_id = (SELECT max(run_id) FROM naboom.retention_run) GROUP BY outcome"; done | sort | uniq -c | awk '{print $1 "x" $2}') &&
  named=$(on coord -c "SELECT count(*) FROM naboom.audit_log WHERE personal_digest IS NULL AND actor IS NOT NULL AND logged_at < '$t0'") &&
  echo "retention: $run; members anonymised $done_rows; members before $before, after $after; workers' audit runs $workers ($w_runs: outcome/audit steps/steps); audit rows still naming someone: $named" &&
  [ "$run" = "false done" ] && [ "$done_rows" -gt 0 ] && [ "$after" -lt "$before" ] &&
  [ "$workers" = 3 ] && [ "$w_runs" = "3xdone/1/1" ] && [ "$named" = 0 ] &&
  # every month was due: dropped on the coordinator, their shells gone from
  # every worker too, and the chains verify with those rows expired
  months=$(for d in coord w1 w2 w3; do on "$d" -c "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'naboom.audit_log'::regclass AND c.relname ~ '^audit_log_[0-9]{6}$'"; done | xargs) &&
  svc -c "SELECT problem || ' ' || detail FROM naboom.verify_audit('-infinity', 'infinity')" >"$W/verify-expired.out" &&
  echo "monthly partitions left (coordinator, workers): $months; $(cat "$W/verify-expired.out")" &&
  [ "$months" = "0 0 0 0" ] && [ "$(wc -l <"$W/verify-expired.out")" = 1 ] &&
  grep -q '^verified .* 0 problems; .* rows expired with their month' "$W/verify-expired.out" &&
  for T in $A $B; do
      dt=$(on coord -c "SELECT coalesce(max(p.deleted_through), 0) FROM naboom.event_position p JOIN naboom.community c USING (community_id) WHERE c.slug = 'town-$T'")
      sc=$(awk -v t=$T '$1 == t {print $2}' "$W/sync_cursors")
      ! svc -c "SELECT count(*) FROM naboom_api.incident_changes('$sc', 10, 'town-$T')" >"$W/expired-$T.out" 2>&1 &&
      fresh=$(svc -c "SELECT count(*) FROM naboom_api.incident_changes(NULL, 5, 'town-$T')") &&
      echo "town-$T: sync horizon (the highest stream number retention deleted) $dt; step 12's cursor: $(grep -o 'sync cursor expired' "$W/expired-$T.out"); a sync from scratch: $fresh rows" &&
      [ "$dt" -gt 0 ] && grep -q 'sync cursor expired' "$W/expired-$T.out" && [ "$fresh" = 5 ] || exit 1
  done ) >"$W/retention-real.log" 2>&1
verdict "a real retention run through the coordinator: members anonymised community by community, every worker's shards of the audit log by a run of its own, the audit months dropped everywhere (the chains verify, those rows expired); each community's sync horizon moved (an older cursor expired)" $? 'cat "$W/retention-real.log" "$W/retention-real.out"; grep -h ERROR "$W"/*.log | tail -4'

finish "done"
