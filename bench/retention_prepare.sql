-- bench/retention_prepare.sql: expired data inside the loaded data set, for
-- the retention figures, and the floor's copies of the tables.
--
-- Run by bench/run.sh as the superuser after every other section (the runs
-- before it see the data set as loaded):
--   psql -v incidents=1000000 -v responders=250 -v expire=100000 \
--        -v audit_rows=100000 -f bench/retention_prepare.sql
-- (incidents: how many the load made; responders: per community, as for
-- load.sql; SCALE=small divides all by 100).
--
-- Like bench/load.sql, every change here is the benchmark's bookkeeping, not
-- the workload: naboom.audit = off and naboom.events = off (superuser-only
-- settings; the audit triggers are ENABLE ALWAYS and can't be disabled) and
-- session_replication_role = replica (the workflow guard would refuse moving
-- an incident's timestamps; no FK column changes).  The helper functions set
-- all three for themselves, so bench/run.sh can call them again later
-- (bench.retention_restore, bench.retention_clone,
-- bench.retention_audit_add, for the run beside report_incident).
--
-- What it makes:
--   inactive members (bench.retention_member): the residents and verified
--      members whose number k in their community is k > responders and
--      k % 10 = 3 (7.5 % of the
--      members at full scale, 75 per community; 1 per community at
--      SCALE=small), each with everything they ever did moved 7.5 years
--      back: their reports (the loaded ones and those the runs filed), the
--      timeline of those reports (they act on no other incident: checked), their
--      alert areas, joined_at and last_active_at.  The personal_data period
--      (7 years from the last activity) has passed for them, the
--      emergency_record period (10 years from closing) not for any of their
--      reports: retention anonymises the reports and deletes the
--      memberships, alert areas, alerts and rate counters.  Their member and
--      subscription rows are kept in bench.retention_member /
--      bench.retention_subscription, so bench.retention_restore() can bring
--      them back (report_incident.pgbench reports as any member);
--   expired emergency records: :expire loaded incidents (10 % at full
--      scale), closed or rejected, not reported by an inactive member and
--      with no duplicate pointing at them (retention never deletes an
--      incident a duplicate refers to), moved 11 years back with their
--      timeline (bench.retention_expire).  The loaded incidents have no
--      alerts or events, so retention deletes the incidents and their
--      timeline entries;
--   old audit rows: :audit_rows copies of the log's rows (cycled, with
--      their contents) spread over the calendar month (UTC) that holds
--      now() - 15 months, and as many spread over now() - 10 months to
--      now() - 7 months, in transactions of at most 100,000 rows (so the
--      seals bench/run.sh makes next are of the usual size), by
--      bench.retention_audit_add: one row per month first, then
--      naboom.audit_maintain makes the months' partitions (moving that row
--      out of the default partition), then the rest.  The
--      first month is past the audit_log period (1 year): retention drops
--      it; all of them are past anonymise_after (6 months): retention
--      anonymises them first;
--   the floor's copies, made last (bench.ret_*): naboom.incident,
--      incident_timeline, member, subscription, alert and rate_counter,
--      the whole log (bench.ret_audit) and the old month
--      (bench.ret_month), each LIKE the original INCLUDING DEFAULTS
--      INCLUDING INDEXES: the same columns, rows and indexes, no triggers,
--      FKs, CHECKs or RLS.
-- What it made goes to bench/out/retention-prepared (the last line) and to
-- bench.run_step (step retention_prepare).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET naboom.audit = off;
SET naboom.events = off;
SET session_replication_role = replica;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';

------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------
-- The incidents to move back in time: (community_id, incident_id).
CREATE UNLOGGED TABLE bench.retention_aging (
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	PRIMARY KEY (community_id, incident_id)
);

-- retention_age(by): moves every incident of bench.retention_aging, every
-- time stamp of it and of its timeline, by back in time, and empties the
-- list.  Returns "incidents timeline_entries".
CREATE FUNCTION bench.retention_age(by interval, OUT incidents bigint, OUT timeline bigint)
LANGUAGE plpgsql
SET naboom.audit = off SET naboom.events = off SET session_replication_role = replica AS $$
BEGIN
	UPDATE naboom.incident i SET created_at = i.created_at - by, updated_at = i.updated_at - by,
		acknowledged_at = i.acknowledged_at - by, dispatched_at = i.dispatched_at - by,
		en_route_at = i.en_route_at - by, on_scene_at = i.on_scene_at - by, resolved_at = i.resolved_at - by,
		closed_at = i.closed_at - by, next_escalation_at = i.next_escalation_at - by
	FROM bench.retention_aging a
	WHERE i.community_id = a.community_id AND i.incident_id = a.incident_id;
	GET DIAGNOSTICS incidents = ROW_COUNT;
	UPDATE naboom.incident_timeline t SET at = t.at - by
	FROM bench.retention_aging a
	WHERE t.community_id = a.community_id AND t.incident_id = a.incident_id;
	GET DIAGNOSTICS timeline = ROW_COUNT;
	TRUNCATE bench.retention_aging;
END
$$;

-- retention_expire(n, loaded): n more of the loaded incidents (incident_id
-- up to loaded), closed or rejected, not moved before, not reported by an
-- inactive member, with no duplicate pointing at them, moved 11 years back
-- (closed_at more than 10 years ago: past the emergency_record period).  Chosen by hashint8(incident_id), so
-- spread over every community and the two years.  Returns what it moved
-- (fewer incidents than n when no more qualify).
CREATE FUNCTION bench.retention_expire(n bigint, loaded bigint, OUT incidents bigint, OUT timeline bigint)
LANGUAGE plpgsql
SET naboom.audit = off SET naboom.events = off SET session_replication_role = replica AS $$
BEGIN
	INSERT INTO bench.retention_aging
	SELECT i.community_id, i.incident_id FROM naboom.incident i
	WHERE i.incident_id <= loaded
		AND i.status IN ('closed', 'rejected') AND NOT i.legal_hold
		AND i.created_at > now() - interval '3 years'
		AND NOT EXISTS (SELECT 1 FROM bench.retention_member m
			WHERE m.community_id = i.community_id AND m.user_ref = i.reporter_ref)
		AND NOT EXISTS (SELECT 1 FROM naboom.incident d
			WHERE d.community_id = i.community_id AND d.duplicate_of = i.incident_id)
	ORDER BY hashint8(i.incident_id)
	LIMIT n;
	SELECT a.incidents, a.timeline INTO incidents, timeline FROM bench.retention_age(interval '11 years') a;
END
$$;

-- retention_clone(n, loaded): n new incidents, each a copy of one of the
-- loaded closed or rejected incidents (cycled, in hashint8 order; not the
-- inactive members' reports) with its timeline, under a new id and
-- reference and without client_ref, 11 years old: expired emergency records
-- added to the data set, as many as wanted at any scale (the run with
-- report_incident beside a retention run needs more than the loaded
-- incidents hold at SCALE=small).  Returns what it added.
CREATE FUNCTION bench.retention_clone(n bigint, loaded bigint, OUT incidents bigint, OUT timeline bigint)
LANGUAGE plpgsql
SET naboom.audit = off SET naboom.events = off SET session_replication_role = replica AS $$
DECLARE
	nsrc bigint;
	age constant interval := interval '11 years';
BEGIN
	CREATE TEMP TABLE clone_src ON COMMIT DROP AS
	SELECT row_number() OVER (ORDER BY hashint8(i.incident_id)) AS rn, i.community_id, i.incident_id
	FROM naboom.incident i
	WHERE i.incident_id <= loaded AND i.status IN ('closed', 'rejected') AND NOT i.legal_hold
		AND i.created_at > now() - interval '3 years'
		AND NOT EXISTS (SELECT 1 FROM bench.retention_member m
			WHERE m.community_id = i.community_id AND m.user_ref = i.reporter_ref);
	nsrc := (SELECT count(*) FROM clone_src);
	CREATE TEMP TABLE clone_ref ON COMMIT DROP AS
	SELECT row_number() OVER () AS g, s.r
	FROM (SELECT DISTINCT naboom.new_reference() COLLATE "C" AS r FROM generate_series(1, n + n / 100 + 100)) s
	WHERE NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.reference = s.r);
	IF (SELECT count(*) FROM clone_ref) < n THEN
		RAISE EXCEPTION 'not enough distinct references';
	END IF;
	CREATE TEMP TABLE clone_map ON COMMIT DROP AS
	SELECT s.community_id, s.incident_id AS src_id,
		nextval(pg_get_serial_sequence('naboom.incident', 'incident_id')) AS new_id, r.r AS reference
	FROM generate_series(1, n) x(g)
	JOIN clone_src s ON s.rn = (x.g - 1) % nsrc + 1
	JOIN clone_ref r ON r.g = x.g;
	INSERT INTO naboom.incident (community_id, incident_id, reference, category_code, kind, title,
		description, location, accuracy_m, address, area_id, outside_boundary, priority, status,
		status_note, reporter_ref, assignee_ref, duplicate_of, is_public, client_ref, version,
		created_at, updated_at, updated_by, acknowledged_at, acknowledged_by, dispatched_at,
		en_route_at, on_scene_at, resolved_at, closed_at, escalation_level, next_escalation_at)
	OVERRIDING SYSTEM VALUE
	SELECT m.community_id, m.new_id, m.reference, i.category_code, i.kind, i.title,
		i.description, i.location, i.accuracy_m, i.address, i.area_id, i.outside_boundary, i.priority, i.status,
		i.status_note, i.reporter_ref, i.assignee_ref, NULL, i.is_public, NULL, i.version,
		i.created_at - age, i.updated_at - age, i.updated_by, i.acknowledged_at - age, i.acknowledged_by,
		i.dispatched_at - age, i.en_route_at - age, i.on_scene_at - age, i.resolved_at - age, i.closed_at - age,
		i.escalation_level, i.next_escalation_at - age
	FROM clone_map m JOIN naboom.incident i ON i.community_id = m.community_id AND i.incident_id = m.src_id
	ORDER BY m.new_id;
	GET DIAGNOSTICS incidents = ROW_COUNT;
	INSERT INTO naboom.incident_timeline (community_id, incident_id, seq, at, actor_ref, entry_kind,
		from_status, to_status, note, is_public, detail)
	SELECT t.community_id, m.new_id, t.seq, t.at - age, t.actor_ref, t.entry_kind,
		t.from_status, t.to_status, t.note, t.is_public, t.detail
	FROM clone_map m JOIN naboom.incident_timeline t ON t.community_id = m.community_id AND t.incident_id = m.src_id
	ORDER BY m.new_id, t.seq;
	GET DIAGNOSTICS timeline = ROW_COUNT;
END
$$;

-- retention_restore(): the inactive members and their alert areas again, as
-- they were before retention (active now), so that report_incident.pgbench,
-- which reports as any member, runs as before.  Returns the members restored.
CREATE FUNCTION bench.retention_restore() RETURNS bigint
LANGUAGE plpgsql
SET naboom.audit = off SET naboom.events = off SET session_replication_role = replica AS $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO naboom.member (community_id, user_ref, display_name, phone, language, role, on_duty, joined_at,
		last_active_at)
	SELECT m.community_id, m.user_ref, m.display_name, m.phone, m.language, m.role, m.on_duty, now(), now()
	FROM bench.retention_member m
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO naboom.subscription (community_id, subscription_id, user_ref, label, centre, radius_m, reach,
		categories, min_priority, created_at) OVERRIDING SYSTEM VALUE
	SELECT s.community_id, s.subscription_id, s.user_ref, s.label, s.centre, s.radius_m, s.reach, s.categories,
		s.min_priority, now()
	FROM bench.retention_subscription s
	ON CONFLICT DO NOTHING;
	RETURN n;
END
$$;

------------------------------------------------------------------------------
-- Inactive members: everything they did, 7.5 years back
------------------------------------------------------------------------------
CREATE TABLE bench.retention_member AS
SELECT m.* FROM naboom.member m
CROSS JOIN LATERAL (SELECT (substr(m.user_ref, 8)::integer - 1) / 10 AS k) x
WHERE m.user_ref ~ '^member-[0-9]+$' AND m.role IN ('resident', 'verified')
	AND x.k > :responders AND x.k % 10 = 3;
ALTER TABLE bench.retention_member ADD PRIMARY KEY (community_id, user_ref);
CREATE TABLE bench.retention_subscription AS
SELECT s.* FROM naboom.subscription s
JOIN bench.retention_member m ON m.community_id = s.community_id AND m.user_ref = s.user_ref;

-- Residents act only on their own reports (the 'reported' entry, and a
-- cancellation), so moving their reports' timelines moves every entry of
-- theirs; the entries of the moderators and responders on those reports
-- move too (they have plenty of recent ones).
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM naboom.incident_timeline t JOIN bench.retention_member m
			ON m.community_id = t.community_id AND m.user_ref = t.actor_ref
		JOIN naboom.incident i ON i.community_id = t.community_id AND i.incident_id = t.incident_id
		WHERE i.reporter_ref IS DISTINCT FROM t.actor_ref)
		OR EXISTS (SELECT 1 FROM naboom.incident i
			WHERE (i.community_id, i.assignee_ref) IN (SELECT m.community_id, m.user_ref FROM bench.retention_member m)
				OR (i.community_id, i.acknowledged_by) IN (SELECT m.community_id, m.user_ref FROM bench.retention_member m)
				OR ((i.community_id, i.updated_by) IN (SELECT m.community_id, m.user_ref FROM bench.retention_member m)
					AND i.updated_by IS DISTINCT FROM i.reporter_ref))
		OR EXISTS (SELECT 1 FROM naboom.responder_position p JOIN bench.retention_member m
			ON m.community_id = p.community_id AND m.user_ref = p.user_ref) THEN
		RAISE EXCEPTION 'an inactive member acted on an incident they did not report, or has a position';
	END IF;
END
$$;

SELECT count(*) AS inactive_members FROM bench.retention_member \gset
INSERT INTO bench.retention_aging
SELECT i.community_id, i.incident_id FROM naboom.incident i
JOIN bench.retention_member m ON m.community_id = i.community_id AND m.user_ref = i.reporter_ref;
SELECT a.incidents AS inactive_incidents, a.timeline AS inactive_timeline
FROM bench.retention_age(interval '7 years 6 months') a \gset
-- A member with an alert area is still using naboom (it alerts them), so
-- the inactive ones removed theirs long ago.
DELETE FROM naboom.subscription s
USING bench.retention_member m WHERE m.community_id = s.community_id AND m.user_ref = s.user_ref;
UPDATE naboom.member x SET joined_at = x.joined_at - interval '7 years 6 months',
	last_active_at = x.last_active_at - interval '7 years 6 months'
FROM bench.retention_member m WHERE m.community_id = x.community_id AND m.user_ref = x.user_ref;

------------------------------------------------------------------------------
-- Expired emergency records
------------------------------------------------------------------------------
SELECT a.incidents AS expired_incidents, a.timeline AS expired_timeline FROM bench.retention_expire(:expire, :incidents) a \gset

------------------------------------------------------------------------------
-- Old audit rows: a month past keep, and three months past anonymise_after
------------------------------------------------------------------------------
-- The source: every row the runs wrote (all sealed by now), in id order.
CREATE UNLOGGED TABLE bench.retention_audit_src AS
SELECT row_number() OVER (ORDER BY a.id) AS rn, a.community_id, a.incident_id, a.action, a.table_name,
	a.row_key, a.old_values, a.new_values, a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id,
	a.success, a.detail
FROM naboom.audit_log a WHERE a.personal_digest IS NULL;
CREATE UNIQUE INDEX ON bench.retention_audit_src (rn);

-- retention_audit_add(t0, t1, n): n copies of the source rows (cycled)
-- spread evenly over [t0, t1) (t0 NULL: from the anonymisation watermark,
-- naboom.retention_state's audit_anonymised_before, so the next run has
-- them to anonymise).  The first row of each month goes in first, then
-- naboom.audit_maintain makes the partitions of months that have none
-- (moving that row out of the default partition), then the rest, at most
-- 100,000 rows per transaction.  A procedure: it commits as it goes, so
-- CALL it at top level.
CREATE PROCEDURE bench.retention_audit_add(t0 timestamptz, t1 timestamptz, n bigint)
LANGUAGE plpgsql AS $$
DECLARE
	nsrc bigint := (SELECT count(*) FROM bench.retention_audit_src);
	lo bigint;
	pass integer;
BEGIN
	t0 := coalesce(t0, (SELECT s.at FROM naboom.retention_state s WHERE s.name = 'audit_anonymised_before'));
	CREATE TEMP TABLE audit_new AS
	SELECT x.g, x.logged_at,
		x.g = min(x.g) OVER (PARTITION BY date_trunc('month', x.logged_at, 'UTC')) AS first
	FROM (SELECT g, t0 + (g - 0.5) / n * (t1 - t0) AS logged_at FROM generate_series(1, n) g) x;
	CREATE INDEX ON audit_new (g);
	FOR pass IN 1..2 LOOP
		lo := 0;
		WHILE lo < n LOOP
			INSERT INTO naboom.audit_log (logged_at, community_id, incident_id, action, table_name, row_key,
				old_values, new_values, actor, db_role, client_addr, user_agent, request_id, success, detail)
			SELECT a.logged_at, s.community_id, s.incident_id, s.action, s.table_name, s.row_key,
				s.old_values, s.new_values, s.actor, s.db_role, s.client_addr, s.user_agent, s.request_id,
				s.success, s.detail
			FROM audit_new a
			JOIN bench.retention_audit_src s ON s.rn = (a.g - 1) % nsrc + 1
			WHERE a.g > lo AND a.g <= lo + 100000 AND a.first = (pass = 1)
			ORDER BY a.g;
			lo := lo + 100000;
			COMMIT;
		END LOOP;
		IF pass = 1 THEN
			PERFORM naboom.audit_maintain(3);
			COMMIT;
		END IF;
	END LOOP;
	DROP TABLE audit_new;
END
$$;
CALL bench.retention_audit_add(date_trunc('month', now() - interval '15 months', 'UTC'),
	date_trunc('month', now() - interval '15 months', 'UTC') + interval '1 month', :audit_rows);
CALL bench.retention_audit_add(now() - interval '10 months', now() - interval '7 months', :audit_rows);
SELECT :audit_rows AS audit_month_rows, :audit_rows AS audit_window_rows \gset
-- The month retention drops, for the floor's copy and the report.
SELECT 'audit_log_' || to_char((now() - interval '15 months') AT TIME ZONE 'UTC', 'YYYYMM') AS month \gset

------------------------------------------------------------------------------
-- The floor's copies
------------------------------------------------------------------------------
CREATE TABLE bench.ret_incident (LIKE naboom.incident INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_incident SELECT * FROM naboom.incident;
CREATE TABLE bench.ret_timeline (LIKE naboom.incident_timeline INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_timeline SELECT * FROM naboom.incident_timeline;
CREATE TABLE bench.ret_member (LIKE naboom.member INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_member SELECT * FROM naboom.member;
CREATE TABLE bench.ret_subscription (LIKE naboom.subscription INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_subscription SELECT * FROM naboom.subscription;
CREATE TABLE bench.ret_alert (LIKE naboom.alert INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_alert SELECT * FROM naboom.alert;
CREATE TABLE bench.ret_rate_counter (LIKE naboom.rate_counter INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_rate_counter SELECT * FROM naboom.rate_counter;
CREATE TABLE bench.ret_audit (LIKE naboom.audit_log INCLUDING DEFAULTS INCLUDING INDEXES);
INSERT INTO bench.ret_audit SELECT * FROM naboom.audit_log;
SELECT format('CREATE TABLE bench.ret_month (LIKE naboom.%I INCLUDING DEFAULTS INCLUDING INDEXES)', :'month') \gexec
SELECT format('INSERT INTO bench.ret_month SELECT * FROM naboom.%I', :'month') \gexec

------------------------------------------------------------------------------
-- What was made, for bench/run.sh: one line
--   inactive_members their_incidents their_timeline expired_incidents
--   expired_timeline audit_month_rows audit_window_rows month_partition
------------------------------------------------------------------------------
\echo :inactive_members :inactive_incidents :inactive_timeline :expired_incidents :expired_timeline :audit_month_rows :audit_window_rows :month
-- and the same for the report (bench/report.sql), in bench.run_step
INSERT INTO bench.run_step (step, figures)
VALUES ('retention_prepare', jsonb_build_object('inactive_members', :inactive_members,
	'inactive_incidents', :inactive_incidents, 'inactive_timeline', :inactive_timeline,
	'expired_incidents', :expired_incidents, 'expired_timeline', :expired_timeline,
	'audit_month_rows', :audit_month_rows, 'audit_window_rows', :audit_window_rows, 'month', :'month'));
