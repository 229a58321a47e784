#!/usr/bin/env bash
# test/restore.sh: a backup of a naboom database restores whole.
#
#   bash test/restore.sh          (make installcheck-restore; scripts/test.sh)
#
# Needs a running cluster with naboom and PostGIS installed (PGHOST/PGPORT/
# PGUSER as pg_virtualenv sets them; the user a superuser, as a DBA's
# pg_dump and pg_restore are).  It builds database naboom_restore_src with
# every kind of row, through the API as people would make them: the demo
# town (demo/helpers.sql, demo/town.sql), then responders on duty, an alert
# area with its alerts, a panic acknowledged, notes (one internal, one
# deleted), a legal hold, a builtin status relabelled, a status and
# transitions an admin added, a changed retention policy, retention runs,
# rate counters, published events, sealed audit rows and rows not sealed
# yet, audit partitions made after the install (as pg_cron's daily
# naboom.audit_maintain makes them), and a table of the DBA's own audited
# with naboom.audit_table (its trigger DDL made again by the restore).  Then, as a DBA would, with no option:
#   pg_dump -Fc | pg_restore -d naboom_restore_custom   (custom format)
#   pg_dump | psql -d naboom_restore_plain               (plain format)
# and asserts for each copy: the restore reports no error; every table of
# schema naboom (the audit log whole) holds exactly the rows of the
# original; every sequence of naboom stands where the original's does; the
# API answers the same (incident_audit, get_incident of every incident,
# incidents_near, events_since); naboom.verify_audit says verified; a new
# report works (next ids, timeline entry, alerts, audit row, event numbered
# next), and after sealing it verify_audit still says verified.  And that
# the restore mode is not a way around the workflow or the audit: a
# superuser's COPY without pg_dump's settings is judged, and a COPY by a
# member's session that reaches the API through a trigger is judged and
# audited.
#
# Output is TAP: the plan "1..N" first, one "ok N - ..." / "not ok N - ..."
# line per assertion ("# ..." lines explain failures).  Exit status 0 iff
# every assertion passed.  The databases are dropped at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SRC=naboom_restore_src
DBS="naboom_restore_custom naboom_restore_plain"
PLAN=19
unset PGOPTIONS PGDATABASE
W="$(mktemp -d)"
psql="psql -X -q -v ON_ERROR_STOP=1"
n=0
failed=0

cleanup() {
	for db in $SRC $DBS; do
		$psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	$psql -d postgres -c "DROP ROLE IF EXISTS naboom_restore_member" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { # fail DESCRIPTION [FILE]: the file's first lines as the diagnosis
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && [ -s "$2" ] && head -n 40 "$2" | sed 's/^/# /'
	return 0
}
check() { # check DESCRIPTION COMMAND...: ok when it exits 0
	local d="$1"; shift
	if "$@" >"$W/out" 2>&1; then pass "$d"; else fail "$d" "$W/out"; fi
}

echo "1..$PLAN"

# ------------------------------------------------------------ the original
cat >"$W/extras.sql" <<'SQL'
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\o /dev/null
-- Responders on duty and an alert area.
SELECT demo.act_as('tshepo.kekana') \gset
SELECT naboom_api.update_position(-24.5150, 28.7110, true, 10);
SELECT demo.act_as('lerato.mphahlele') \gset
SELECT naboom_api.update_position(-24.5180, 28.7150, true, 10);
SELECT demo.act_as('sarah.thompson') \gset
SELECT naboom_api.subscribe('mookgophong', -24.5160, 28.7100, 3000, label => 'Home');
-- A report that alerts her and the responders, and a panic, acknowledged.
SELECT demo.act_as('elsabe.duplessis') \gset
SELECT reference AS burglary FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5165, 28.7105,
	'Back door forced during the night.', 'Burglary on Voortrekker street', client_ref => 'restore-1') \gset
SELECT demo.act_as('grace.mabotja') \gset
SELECT reference AS panic FROM naboom_api.raise_panic('mookgophong', -24.5170, 28.7120, 12, 'Intruder in the yard') \gset
SELECT demo.act_as('tshepo.kekana') \gset
SELECT naboom_api.acknowledge_incident(:'panic');
SELECT naboom_api.add_note(:'panic', 'On my way, two minutes.', false);
SELECT seq AS wrong FROM naboom_api.add_note(:'panic', 'Wrong incident, ignore.', true) \gset
SELECT naboom_api.delete_note(:'panic', :wrong);
SELECT demo.act_as('annelie.steyn') \gset
SELECT naboom_api.place_legal_hold(:'panic', 'Case 123/07/2026 at Mookgophong SAPS');
-- Evidence: the reporter's photo, a responder's video, hidden by the admin.
SELECT demo.act_as('elsabe.duplessis') \gset
SELECT naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/door.jpg', 'image/jpeg', 2400000,
	repeat('ab', 32), 'The back door', '2026-07-01 02:10+02');
SELECT demo.act_as('tshepo.kekana') \gset
SELECT id AS video FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/street.mp4', 'video/mp4',
	52000000, repeat('cd', 32), 'Car in the street') \gset
SELECT demo.act_as('annelie.steyn') \gset
SELECT naboom_api.hide_attachment(:'burglary', :video, 'Shows a neighbour''s number plate');
-- The DBA changes the workflow: a builtin label, a new status, its
-- transitions, and a builtin transition now needing a note; and a
-- retention policy.  (The service: no claims.)
RESET request.jwt.claims;
UPDATE naboom.status SET label_af = 'Aangemeld (nuut)' WHERE status = 'reported';
INSERT INTO naboom.status (status, status_type, label_en, label_af, sort_order)
	VALUES ('awaiting_info', 'open', 'Awaiting information', 'Wag op inligting', 25);
INSERT INTO naboom.transition (from_status, to_status, allowed, requires_note)
	VALUES ('verified', 'awaiting_info', '{}', true), ('awaiting_info', 'verified', '{}', false);
UPDATE naboom.transition SET requires_note = true WHERE from_status = 'reported' AND to_status = 'verified';
UPDATE naboom.retention_policy SET keep = '6 years' WHERE data_class = 'personal_data';
SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT naboom_api.transition_incident(:'burglary', 'verified', 'Neighbour confirms.');
SELECT naboom_api.transition_incident(:'burglary', 'awaiting_info', 'Which window?');
RESET request.jwt.claims;
CALL naboom.run_retention(true);
CALL naboom.run_retention();
-- Events numbered, audit rows sealed, then more of both not yet.
SELECT naboom.publish_events();
SELECT naboom.seal_audit();
SELECT demo.act_as('tshepo.kekana') \gset
SELECT naboom_api.add_note(:'burglary', 'Patrol passed twice, all quiet.', true);
RESET request.jwt.claims;
SELECT naboom.publish_events();
-- Partitions made after the install, as the daily pg_cron job makes them.
SELECT naboom.audit_maintain(6);
-- A table of the DBA's own, audited.
CREATE TABLE public.patrol_log (id integer PRIMARY KEY, note text);
SELECT naboom.audit_table('public.patrol_log');
INSERT INTO public.patrol_log VALUES (1, 'Night patrol, sector 1');
SQL

build() {
	$psql -d postgres -c "DROP DATABASE IF EXISTS $SRC" -c "CREATE DATABASE $SRC" &&
	$psql -d "$SRC" -c "SET client_min_messages = warning" -c "CREATE EXTENSION naboom CASCADE" &&
	$psql -d "$SRC" -f "$ROOT/demo/helpers.sql" -f "$ROOT/demo/town.sql" >/dev/null &&
	$psql -d "$SRC" -f "$W/extras.sql" &&
	psql -XAt -d "$SRC" -c "SELECT 'incidents: ' || count(*) FROM naboom.incident" &&
	[ "$(psql -XAt -d "$SRC" -c "SELECT count(*) FROM naboom.incident")" -ge 13 ]
}

# Every table of schema naboom, row by row: name, rows, md5 of the sorted
# rows' text.  The audit log is compared whole: a restore in a later month
# has other empty partitions ahead, made by audit_maintain as usual.
tables() { # tables DB
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT pg_catalog.format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, E''\n'' ORDER BY x::text), '''')) FROM %s x',
	c.oid::regclass::text, c.oid::regclass)
FROM pg_catalog.pg_class c WHERE c.relnamespace = 'naboom'::regnamespace
	AND (c.relkind = 'p' OR (c.relkind = 'r' AND NOT c.relispartition)) ORDER BY 1 \gexec
SQL
}

sequences() { # sequences DB
	psql -XAtq -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT pg_catalog.format('SELECT %L, last_value, is_called FROM %s', c.oid::regclass::text, c.oid::regclass)
FROM pg_catalog.pg_class c WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind = 'S' ORDER BY 1 \gexec
SQL
}

# What the API answers, as a moderator and as the service.  incident_audit
# first and only up to the last row of the original (every call below logs
# a READ of its own).
api() { # api DB MAX_AUDIT_ID
	psql -XAtq -v ON_ERROR_STOP=1 -v maxid="$2" -d "$1" <<'SQL'
SET client_min_messages = warning;
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"mahlatse.ledwaba"}', false) \g /dev/null
SELECT i.reference, a::text FROM naboom.incident i, naboom_api.incident_audit(i.reference, NULL, 1000) a
WHERE a.id <= :maxid ORDER BY i.reference, a.id;
SELECT g::text FROM naboom.incident i, naboom_api.get_incident(i.reference) g ORDER BY i.reference;
SELECT x::text FROM naboom_api.incidents_near(-24.5160, 28.7100, 50000) x;
SELECT pg_catalog.set_config('request.jwt.claims', '', false) \g /dev/null
SELECT e::text FROM naboom_api.events_since(0, 1000) e;
SQL
}

verified() { # verified DB: verify_audit's summary is 'verified'
	local r
	r=$(psql -XAt -v ON_ERROR_STOP=1 -d "$1" -c "SELECT problem || ': ' || detail FROM naboom.verify_audit('-infinity', 'infinity')" 2>&1)
	echo "$r"
	[ "$(echo "$r" | tail -n 1 | cut -d: -f1)" = verified ]
}

# A new report on the restored copy: the next incident id, its timeline
# entry, its alerts, its audit row after the original's, its event numbered
# right after the original's; then sealed and still verified.
new_report() { # new_report DB
	$psql -d "$1" <<'SQL'
SET client_min_messages = warning;
\o /dev/null
CREATE TEMP TABLE before AS SELECT (SELECT max(incident_id) FROM naboom.incident) AS max_incident,
	(SELECT max(id) FROM naboom.audit_log) AS max_audit, (SELECT max(seq) FROM naboom.event) AS max_seq,
	(SELECT max(alert_id) FROM naboom.alert) AS max_alert;
SELECT demo.act_as('koos.vdmerwe') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5163, 28.7108,
	'Someone tried the gate after the restore.', 'Gate tried', client_ref => 'after-restore') \gset
CREATE TEMP TABLE new AS SELECT incident_id AS id FROM naboom.incident WHERE reference = :'ref';
RESET request.jwt.claims;
SELECT naboom.publish_events();
\o
DO $$
DECLARE
	b record := (SELECT b FROM pg_temp.before b);
	new_id bigint := (SELECT n.id FROM pg_temp.new n);
BEGIN
	IF new_id IS DISTINCT FROM b.max_incident + 1 THEN
		RAISE EXCEPTION 'incident id % is not the next one after %', new_id, b.max_incident;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM naboom.incident_timeline t WHERE t.incident_id = new_id AND t.entry_kind = 'reported') THEN
		RAISE EXCEPTION 'no timeline entry';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM naboom.alert a WHERE a.incident_id = new_id AND a.alert_id > b.max_alert) THEN
		RAISE EXCEPTION 'no alert after the original''s';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM naboom.audit_log a WHERE a.incident_id = new_id AND a.action = 'INSERT'
			AND a.table_name = 'naboom.incident' AND a.id > b.max_audit) THEN
		RAISE EXCEPTION 'no audit row after the original''s';
	END IF;
	IF (SELECT e.seq FROM naboom.event e WHERE e.incident_id = new_id AND e.topic = 'incident.created')
			IS DISTINCT FROM b.max_seq + 1 THEN
		RAISE EXCEPTION 'the event is not numbered next';
	END IF;
END
$$;
SELECT (naboom.seal_audit()).seal_id IS NOT NULL AS sealed \gset
\if :sealed
\else
SELECT 1/0 AS seal_audit_sealed_nothing;
\endif
SQL
}

# A superuser's COPY without pg_dump's settings is held to the workflow.
judged_copy() { # judged_copy DB
	local out
	out=$($psql -d "$1" 2>&1 <<'SQL'
\copy (SELECT community_id, naboom.new_reference(), 'burglary', 'Loaded closed', location, 'medium', 'closed' FROM naboom.incident LIMIT 1) TO pstdout
SQL
	)
	echo "$out" >"$W/row.copy"
	out=$($psql -d "$1" -c "\\copy naboom.incident (community_id, reference, category_code, title, location, priority, status) FROM '$W/row.copy'" 2>&1)
	echo "$out"
	echo "$out" | grep -q 'a new incident must start as reported'
}

# A member's session with pg_dump's settings, whose COPY into a table of its
# own calls the API from a trigger: the API's SECURITY DEFINER runs as the
# superuser, but the session is not a restore.  The report is judged (rate
# limit counted) and gets its timeline entry, alerts and audit row.
member_copy() { # member_copy DB
	$psql -d "$1" <<'SQL'
SET client_min_messages = warning;
\o /dev/null
DROP ROLE IF EXISTS naboom_restore_member;
CREATE ROLE naboom_restore_member LOGIN IN ROLE naboom_user;
CREATE SCHEMA mine AUTHORIZATION naboom_restore_member;
CREATE TEMP TABLE counted_before AS SELECT coalesce(sum(hits), 0) AS hits FROM naboom.rate_counter WHERE user_ref = 'koos.vdmerwe';
SET SESSION AUTHORIZATION naboom_restore_member;
SET row_security = off;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE mine.inbox (title text);
CREATE FUNCTION mine.file() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"koos.vdmerwe"}', true);
	PERFORM naboom_api.report_incident('mookgophong', 'burglary', -24.5163, 28.7108, 'From the inbox.', NEW.title);
	RETURN NEW;
END
$f$;
CREATE TRIGGER file BEFORE INSERT ON mine.inbox FOR EACH ROW EXECUTE FUNCTION mine.file();
COPY mine.inbox FROM stdin;
Loaded through a member's COPY
\.
RESET SESSION AUTHORIZATION;
\o
DO $$
DECLARE
	i naboom.incident;
BEGIN
	SELECT * INTO i FROM naboom.incident WHERE title = 'Loaded through a member''s COPY';
	IF NOT FOUND THEN RAISE EXCEPTION 'not reported'; END IF;
	IF NOT EXISTS (SELECT 1 FROM naboom.incident_timeline t WHERE t.incident_id = i.incident_id) THEN
		RAISE EXCEPTION 'no timeline entry: the workflow was skipped';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM naboom.audit_log a WHERE a.incident_id = i.incident_id AND a.action = 'INSERT') THEN
		RAISE EXCEPTION 'no audit row: the audit was skipped';
	END IF;
	IF (SELECT coalesce(sum(hits), 0) FROM naboom.rate_counter WHERE user_ref = 'koos.vdmerwe')
		<= (SELECT hits FROM counted_before) THEN
		RAISE EXCEPTION 'not counted against the rate limit';
	END IF;
END
$$;
DROP SCHEMA mine CASCADE;
DROP OWNED BY naboom_restore_member;
DROP ROLE naboom_restore_member;
SQL
}

if build >"$W/build.log" 2>&1; then
	pass "the original: the demo town and every other kind of row, made through the API"
else
	tail -n 30 "$W/build.log" >"$W/build.tail"
	fail "the original could not be built" "$W/build.tail"
	# nothing else can be checked
	while [ "$n" -lt "$PLAN" ]; do fail "skipped: no original"; done
	exit 1
fi
tables "$SRC" >"$W/src.tables" 2>&1
sequences "$SRC" >"$W/src.sequences" 2>&1
maxid=$(psql -XAt -d "$SRC" -c "SELECT max(id) FROM naboom.audit_log")

check "pg_dump -Fc" pg_dump -Fc -d "$SRC" -f "$W/naboom.dump"
check "pg_dump (plain)" pg_dump -d "$SRC" -f "$W/naboom.sql"
api "$SRC" "$maxid" >"$W/src.api" 2>&1

for db in $DBS; do
	$psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
	if [ "$db" = naboom_restore_custom ]; then
		how="pg_restore -d $db"
		pg_restore -d "$db" "$W/naboom.dump" >"$W/$db.log" 2>&1
	else
		how="psql -d $db -f dump.sql"
		psql -X -q -d "$db" -f "$W/naboom.sql" >"$W/$db.log" 2>&1
	fi
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -qiE 'error|warning' "$W/$db.log"; then
		pass "$how: no error"
	else
		echo "exit $rc" >>"$W/$db.log"
		fail "$how: errors" "$W/$db.log"
	fi
	tables "$db" >"$W/$db.tables" 2>&1
	if diff -u "$W/src.tables" "$W/$db.tables" >"$W/diff"; then
		pass "$how: every naboom table holds the original's rows ($(wc -l <"$W/src.tables") tables)"
	else
		fail "$how: tables differ (- original, + restored: table, rows, md5)" "$W/diff"
	fi
	sequences "$db" >"$W/$db.sequences" 2>&1
	if diff -u "$W/src.sequences" "$W/$db.sequences" >"$W/diff"; then
		pass "$how: every naboom sequence continues from the original's ($(wc -l <"$W/src.sequences") sequences)"
	else
		fail "$how: sequences differ (- original, + restored)" "$W/diff"
	fi
	api "$db" "$maxid" >"$W/$db.api" 2>&1
	if [ -s "$W/src.api" ] && diff -u "$W/src.api" "$W/$db.api" >"$W/diff"; then
		pass "$how: the API answers as the original ($(wc -l <"$W/src.api") lines)"
	else
		fail "$how: the API answers differently (- original, + restored)" "$W/diff"
	fi
	check "$how: verify_audit says verified" verified "$db"
	check "$how: a new report gets the next ids, its timeline, alerts, audit row and event" new_report "$db"
	check "$how: after sealing the new rows verify_audit still says verified" verified "$db"
done

db=naboom_restore_custom
check "outside a restore a superuser's COPY is held to the workflow" judged_copy "$db"
check "a member's COPY with pg_dump's settings reaching the API is judged and audited" member_copy "$db"
exit $((failed > 0))
