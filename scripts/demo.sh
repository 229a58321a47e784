#!/usr/bin/env bash
# naboom demo: from a fresh Debian 12 machine to a living town in one command.
#
#   sudo bash scripts/demo.sh          (or `bash scripts/demo.sh` as root)
#
# What it does
#   1. scripts/setup-debian.sh: PostgreSQL 15, PostGIS 3, pg_cron, pgTAP;
#      builds and installs naboom from this tree (idempotent; its output goes
#      to demo/out/setup.log and is shown only if something fails).
#   2. a throw-away cluster "naboom_demo" on port 5499 (Debian's
#      pg_createcluster; dropped and recreated on every run), with pg_cron and
#      naboom preloaded (naboom's audit writer records refused attempts in
#      naboom.writer_database = naboom_demo) and the time zone
#      Africa/Johannesburg; database naboom_demo with CREATE EXTENSION naboom
#      CASCADE, CREATE EXTENSION pg_cron and naboom.schedule_jobs(), which
#      registers naboom's pg_cron jobs: naboom-escalation and
#      naboom-seal-audit every minute (run_escalation, seal_audit),
#      naboom-publish-events (a fallback publisher), the daily
#      naboom-audit-partitions and the nightly naboom-retention.
#   3. demo/helpers.sql (schema demo: tiny helpers for pretty output) and
#      demo/town.sql: Mookgophong (Naboomspruit), Limpopo, with its areas,
#      bilingual categories, people and earlier incidents, all made through
#      the naboom_api functions by the person who would make them.
#   4. demo/story.sql: a day and a night in Mookgophong, told through the
#      API: responders on duty, alert areas, a report routed to its area and
#      its alerts, the workflow, duplicates, incidents near the town centre,
#      a poor-accuracy report, one refused outside the boundary, a panic and
#      the nearest responders, a panic nobody answers escalating step by step
#      (and a rate-limited panic button) until a responder acknowledges it,
#      the public view, the map, the SLA report of the day, the audit trail
#      of the stock theft, the audit log sealed and verified, a legal hold,
#      a resident's export and erasure of her data, a ten-year retention dry
#      run and the retention job run by pg_cron for real; then a morning in
#      the control room: an app syncing with incident_changes, the moderator's
#      incident_queue with an overdue burglary on top, a responder's
#      my_assignments, a resident's my_incidents, health(), and one Open311
#      GeoReport v2 answer (open311_requests).  Beside the
#      story runs tools/naboom-listen (built if missing), naboom's event
#      stream client, as the naboom service; it writes every event the moment
#      it is published to demo/out/events.log, and the story reads the panic
#      and escalation lines back from it.  It is stopped after the story.
#   5. writes the live map of Mookgophong, drawn by the admin's call of
#      naboom_api.community_map_svg / community_map_geojson, to
#      demo/out/mookgophong-map.svg and demo/out/mookgophong-map.geojson
#      (demo/out/ is git-ignored; open the SVG in a browser).
#   6. tells you how to connect and explore.  The cluster stays up; drop it
#      with: sudo pg_dropcluster --stop 15 naboom_demo
#
# Exit status is non-zero if anything unexpected fails (including naboom
# accepting something the story expects it to refuse).
#
# Environment knobs:
#   NABOOM_SKIP_SETUP=1   don't run setup-debian.sh (already built+installed)
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER=naboom_demo
PORT=5499
DB=naboom_demo
TZ_DEMO=Africa/Johannesburg
OUT="$NABOOM_ROOT/demo/out"

if [ "$(id -u)" -ne 0 ]; then
    die "run the demo as root: sudo bash scripts/demo.sh"
fi

mkdir -p "$OUT"

# run_logged LOG CMD...: run quietly; on failure show the end of the log.
run_logged() {
    local logfile="$1"
    shift
    if ! "$@" >"$logfile" 2>&1; then
        echo "------------------------------------------------------------------" >&2
        tail -n 40 "$logfile" >&2
        echo "------------------------------------------------------------------" >&2
        die "failed: $* (full log: $logfile)"
    fi
}

echo
echo "naboom demo: community incident reporting and emergency response inside PostgreSQL"
echo

# ---------------------------------------------------------------- 1. setup
if [ "${NABOOM_SKIP_SETUP:-0}" != 1 ]; then
    log "1/5  installing PostgreSQL 15, PostGIS, pg_cron and pgTAP; building naboom (log: demo/out/setup.log)"
    run_logged "$OUT/setup.log" bash "$NABOOM_ROOT/scripts/setup-debian.sh"
else
    log "1/5  setup skipped (NABOOM_SKIP_SETUP=1): using the naboom already installed"
fi

# ---------------------------------------------------------------- 2. cluster
cluster_exists() {
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$PG_MAJOR" -v c="$CLUSTER" \
        '$1 == v && $2 == c { found = 1 } END { exit !found }'
}

log "2/5  starting a throw-away cluster $PG_MAJOR/$CLUSTER on port $PORT (log: demo/out/cluster.log)"
: >"$OUT/cluster.log"
if cluster_exists; then
    run_logged "$OUT/cluster.log" pg_dropcluster --stop "$PG_MAJOR" "$CLUSTER"
fi
other=$(pg_lsclusters --no-header 2>/dev/null | awk -v p="$PORT" '$3 == p { print $1 "/" $2 }')
if [ -n "$other" ]; then
    die "port $PORT is taken by cluster $other; stop it first (pg_ctlcluster ${other/\// } stop)"
fi

run_logged "$OUT/cluster.log" pg_createcluster "$PG_MAJOR" "$CLUSTER" --port "$PORT" \
    --start-conf=manual -- --locale=C.UTF-8
# naboom is preloaded for its audit writer, which writes the refused attempts
# (their own transaction rolls back) into naboom.audit_log of $DB.  pg_cron
# runs its jobs over the Unix socket, where postgres logs in by peer
# authentication (over TCP, the default, it would need a password).
for setting in "shared_preload_libraries=pg_cron,naboom" "naboom.writer_database=$DB" \
               "cron.database_name=$DB" "cron.host=/var/run/postgresql" \
               "timezone=$TZ_DEMO" "log_timezone=$TZ_DEMO"; do
    run_logged "$OUT/cluster.log" pg_conftool "$PG_MAJOR" "$CLUSTER" set "${setting%%=*}" "${setting#*=}"
done
run_logged "$OUT/cluster.log" pg_ctlcluster "$PG_MAJOR" "$CLUSTER" start

# The server runs as postgres, which cannot read this tree: copy the SQL files
# (and the story's helper demo/listener-line.sh) to a directory it can read,
# and run psql from there.
WORK=$(mktemp -d /tmp/naboom-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$NABOOM_ROOT"/demo/*.sql "$NABOOM_ROOT"/demo/listener-line.sh "$WORK/"
chmod 755 "$WORK"
chmod 644 "$WORK"/*.sql "$WORK"/listener-line.sh
cd "$WORK"

# psql as postgres on the demo cluster: quiet, no ~/.psqlrc, stop on error.
demo_psql() {
    runuser -u postgres -- env PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"
}

run_logged "$OUT/cluster.log" demo_psql -d postgres -c "CREATE DATABASE $DB"
run_logged "$OUT/cluster.log" demo_psql -d "$DB" \
    -c "CREATE EXTENSION naboom CASCADE" \
    -c "CREATE EXTENSION pg_cron" \
    -c "SELECT job FROM naboom.schedule_jobs()"
versions=$(demo_psql -d "$DB" -At -c "SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'")
echo "     database $DB: $versions"

# ---------------------------------------------------------------- 3. town
log "3/5  loading the town of Mookgophong (demo/town.sql)"
demo_psql -d "$DB" -f helpers.sql || die "demo/helpers.sql failed"
demo_psql -d "$DB" -f town.sql || die "demo/town.sql failed"

# ---------------------------------------------------------------- 4. story
log "4/5  a day and a night in Mookgophong, told through the API (demo/story.sql)"
# naboom-listen follows the event stream beside the story, as the naboom
# service (postgres, a superuser, over the Unix socket).  Like the SQL files,
# the binary is copied where postgres can run it.  Its lines go to
# demo/out/events.log, and to a copy in $WORK that the story (psql, running as
# postgres) reads back; its diagnostics to demo/out/listen.log.
LISTEN_BIN="$NABOOM_ROOT/tools/naboom-listen"
if [ ! -x "$LISTEN_BIN" ]; then
    run_logged "$OUT/listen-build.log" make -C "$NABOOM_ROOT/tools"
fi
cp "$LISTEN_BIN" "$WORK/naboom-listen"
chmod 755 "$WORK/naboom-listen"
EVENTS_LOG="$OUT/events.log"
: >"$EVENTS_LOG"
: >"$WORK/events.log"
chmod 644 "$WORK/events.log"
# setpriv (util-linux, like runuser) execs the listener itself as postgres,
# so $! is the listener and SIGTERM reaches it directly.
HOME=/var/lib/postgresql setpriv --reuid=postgres --regid=postgres --init-groups \
    "$WORK/naboom-listen" "port=$PORT dbname=$DB" \
    2>"$OUT/listen.log" > >(tee "$WORK/events.log" >"$EVENTS_LOG") &
LISTEN_PID=$!
stop_listener() {
    if [ -n "${LISTEN_PID:-}" ]; then
        kill -TERM "$LISTEN_PID" 2>/dev/null || true
        wait "$LISTEN_PID" 2>/dev/null || true
        LISTEN_PID=
    fi
}
trap 'stop_listener; rm -rf "$WORK"' EXIT
echo "     naboom-listen follows the event stream beside the story (log: demo/out/events.log)"

demo_psql -d "$DB" -v events_log="$WORK/events.log" -f story.sql || die "demo/story.sql failed"

# Every event of the story is published by now (the story waited for the
# last); give the listener a moment to print it, then stop it.
sleep 0.5
stop_listener

# ---------------------------------------------------------------- 5. map
# As the admin (who may see every live incident, unblurred); psql prints the
# value alone (-At), and this shell writes the file, so the server's user
# needs no access to the tree.
MAP_SVG="$OUT/mookgophong-map.svg"
MAP_JSON="$OUT/mookgophong-map.geojson"
map_as_admin() {
    demo_psql -d "$DB" -At -v query="$1" <<'SQL'
\o /dev/null
SELECT demo.act_as('annelie.steyn');
\o
:query
SQL
}
log "5/5  drawing the live map of Mookgophong as the admin (naboom_api.community_map_svg)"
map_as_admin "SELECT naboom_api.community_map_svg('mookgophong', 900);" >"$MAP_SVG" \
    || die "could not write $MAP_SVG"
map_as_admin "SELECT jsonb_pretty(naboom_api.community_map_geojson('mookgophong'));" >"$MAP_JSON" \
    || die "could not write $MAP_JSON"
grep -q '</svg>' "$MAP_SVG" || die "$MAP_SVG is not a complete SVG"
if [ -n "${SUDO_UID:-}" ] && [ -n "${SUDO_GID:-}" ]; then
    # run with sudo: leave demo/out/ to the person who ran it
    chown -R "$SUDO_UID:$SUDO_GID" "$OUT" 2>/dev/null || true
fi
echo "     map (SVG, open it in a browser): $MAP_SVG"
echo "     the same incidents as GeoJSON:   $MAP_JSON"
echo "     the event stream as naboom-listen printed it: $EVENTS_LOG"
echo "       ($(wc -l <"$EVENTS_LOG") events, $(grep -c '^PANIC' "$EVENTS_LOG" || true) of them panics; diagnostics in $OUT/listen.log)"

# ---------------------------------------------------------------- 6. explore
ref=$(demo_psql -d "$DB" -At -c "SELECT reference FROM naboom.incident WHERE client_ref = 'hv-cattle-1'")
panic=$(demo_psql -d "$DB" -At -c "SELECT reference FROM naboom.incident WHERE client_ref = 'edp-sos-1'")

cat <<EOF

==> The demo cluster is still running.  Explore it:

    sudo -u postgres psql -p $PORT $DB

    -- be someone (this is what PostgREST does for each request), then look:
    SELECT set_config('request.jwt.claims', '{"sub":"gerrit.pretorius"}', false);
    SELECT reference, status_en, status_af, assignee_name, version
      FROM naboom_api.get_incident('$ref');
    SELECT jsonb_pretty(timeline) FROM naboom_api.get_incident('$panic');

    -- a neighbour sees the stock theft too, but not the private panic (PT404):
    SELECT set_config('request.jwt.claims', '{"sub":"mpho.sebola"}', false);
    SELECT reference, reporter_name, status_af FROM naboom_api.get_incident('$ref');
    SELECT * FROM naboom_api.get_incident('$panic');

    -- the public (not logged in) sees public incidents, nobody named:
    SET ROLE naboom_anon; RESET request.jwt.claims;
    SELECT reference, category_af, status_af, reporter_name FROM naboom_api.get_incident('$ref');
    RESET ROLE;

    -- the live incidents within 500 m of the town centre, and Koos's alerts:
    SELECT reference, category, status, area, distance_m
      FROM naboom_api.incidents_near(-24.5200, 28.7100, 500);
    SELECT set_config('request.jwt.claims', '{"sub":"koos.vdmerwe"}', false);
    SELECT id, reference, category, reason, distance_m FROM naboom_api.my_alerts();

    -- report something yourself, as Sarah in town:
    SELECT set_config('request.jwt.claims', '{"sub":"sarah.thompson"}', false);
    SELECT reference, area, priority, status_af, jsonb_pretty(duplicate_candidates)
      FROM naboom_api.report_incident('mookgophong', 'power_outage', -24.5200, 28.7100,
                                      'Streetlights out on Kerkstraat');

    -- the audit trail of the stock theft, as the moderator, newest first:
    SELECT set_config('request.jwt.claims', '{"sub":"mahlatse.ledwaba"}', false);
    SELECT logged_at, action, table_name, actor, client_addr, old_values, new_values, detail
      FROM naboom_api.incident_audit('$ref', max_count => 20);

    -- the moderator's SLA report of the last day (p50/p90 to acknowledge and resolve):
    SELECT * FROM naboom_api.sla_report('mookgophong', now() - interval '1 day', now());

    -- as the DBA (no claims): the seals (pg_cron job naboom-seal-audit), a check
    RESET request.jwt.claims;
    SELECT seal_id, sealed_at, row_count FROM naboom.audit_seal ORDER BY seal_id;
    SELECT * FROM naboom.verify_audit(now() - interval '1 day', now());

    -- your own data, as Sarah (the rights of access and erasure; erasing is for real):
    SELECT set_config('request.jwt.claims', '{"sub":"sarah.thompson"}', false);
    SELECT jsonb_pretty(data) FROM naboom_api.export_my_data();
    SELECT * FROM naboom_api.retention_policies('mookgophong');

    -- as the DBA: what retention would do in eight years, and what it did
    RESET request.jwt.claims;
    CALL naboom.run_retention(dry_run => true, as_of => now() + interval '8 years');
    SELECT * FROM naboom.retention_report();

    -- as the DBA: the API, the workflow table, the demo's helpers
    SELECT proname FROM pg_proc WHERE pronamespace = 'naboom_api'::regnamespace ORDER BY 1;
    SELECT from_status, to_status, allowed FROM naboom.transition ORDER BY 1, 2;
    \\df demo.*
    SELECT jobname, schedule, command FROM cron.job;   -- naboom.schedule_jobs() made them

    Follow the event stream live as the naboom service (Ctrl-C to stop), in another
    terminal (postgres must be able to run the binary; else: sudo make -C tools install):

    sudo -u postgres $LISTEN_BIN 'port=$PORT dbname=$DB'

    People (sub): annelie.steyn (admin), mahlatse.ledwaba (moderator),
    gerrit.pretorius, tshepo.kekana, lerato.mphahlele, johan.smit (responders),
    koos.vdmerwe, mpho.sebola (verified), hennie.venter, elsabe.duplessis,
    kgomotso.maake, sarah.thompson, grace.mabotja, willem.nel (residents).

    The map: $MAP_SVG
    (and $MAP_JSON)

==> When you are done:

    sudo pg_dropcluster --stop $PG_MAJOR $CLUSTER

    (the cluster does not start at boot; after a reboot: sudo pg_ctlcluster $PG_MAJOR $CLUSTER start)
EOF
