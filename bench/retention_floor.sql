-- bench/retention_floor.sql: the floor of the retention figures, on the
-- copies bench/retention_prepare.sql made (bench.ret_*: the same columns,
-- rows and indexes as naboom's tables; no triggers, FKs, CHECKs or RLS).
--
-- Run by bench/run.sh as the superuser right before naboom.run_retention:
--   psql -f bench/retention_floor.sql
--
-- Each class is one bare set-based statement that makes the same change to
-- the same rows as run_retention does with the default policies (no
-- community overrides), committed on its own (psql's autocommit), timed
-- from before the statement to after its commit:
--   emergency_record  DELETE the incidents closed more than 10 years ago
--                     and their timeline entries;
--   personal_data     for the members last active more than 7 years ago:
--                     UPDATE their reports as naboom anonymises them
--                     (reporter, title from the category, description,
--                     address, client_ref, accuracy, status note, location
--                     snapped to the grid, anonymised_at), UPDATE their
--                     timeline entries (actor, note), DELETE their alert
--                     areas, alerts and rate counters and the memberships;
--   audit_log         UPDATE the audit rows logged more than 6 months ago
--                     as naboom anonymises them (the SET list of
--                     NABOOM_AUDIT_REDACT_SET in src/retention.h: the
--                     digest of the personal fields, the JSON redacted,
--                     the personal columns nulled);
--   audit month       DROP TABLE of the copy of the month partition
--                     (bench.ret_month: its rows and indexes).
-- Leaves one row per class in bench.retention_floor (class, rows, seconds)
-- and prints them, space-separated.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET work_mem = '256MB';
CREATE TABLE bench.retention_floor (class text PRIMARY KEY, rows bigint NOT NULL, seconds double precision NOT NULL);

SELECT pg_catalog.clock_timestamp() AS t0 \gset
WITH i AS (
	DELETE FROM bench.ret_incident x WHERE x.closed_at <= now() - interval '10 years'
	RETURNING x.community_id, x.incident_id),
t AS (
	DELETE FROM bench.ret_timeline x USING i
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id RETURNING 1)
SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM t) AS n \gset
INSERT INTO bench.retention_floor
VALUES ('emergency_record', :n, extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz));

SELECT pg_catalog.clock_timestamp() AS t0 \gset
WITH m AS (
	SELECT x.community_id, x.user_ref FROM bench.ret_member x WHERE x.last_active_at <= now() - interval '7 years'),
i AS (
	UPDATE bench.ret_incident x SET reporter_ref = NULL, title = c.name_en, description = NULL, address = NULL,
		client_ref = NULL, accuracy_m = NULL,
		location = ST_SnapToGrid(x.location, CASE WHEN x.kind = 'panic' OR c.is_sensitive THEN 0.01 ELSE 0.001 END),
		status_note = NULL, updated_by = CASE WHEN x.updated_by = x.reporter_ref THEN NULL ELSE x.updated_by END,
		anonymised_at = now()
	FROM m, naboom.category c
	WHERE x.community_id = m.community_id AND x.reporter_ref = m.user_ref
		AND c.community_id = x.community_id AND c.code = x.category_code
	RETURNING 1),
t AS (
	UPDATE bench.ret_timeline x SET actor_ref = NULL, note = NULL FROM m
	WHERE x.community_id = m.community_id AND x.actor_ref = m.user_ref RETURNING 1),
s AS (DELETE FROM bench.ret_subscription x USING m WHERE x.community_id = m.community_id AND x.user_ref = m.user_ref RETURNING 1),
a AS (DELETE FROM bench.ret_alert x USING m WHERE x.community_id = m.community_id AND x.user_ref = m.user_ref RETURNING 1),
r AS (DELETE FROM bench.ret_rate_counter x USING m WHERE x.community_id = m.community_id AND x.user_ref = m.user_ref RETURNING 1),
d AS (DELETE FROM bench.ret_member x USING m WHERE x.community_id = m.community_id AND x.user_ref = m.user_ref RETURNING 1)
SELECT (SELECT count(*) FROM i) + (SELECT count(*) FROM t) + (SELECT count(*) FROM s) + (SELECT count(*) FROM a)
	+ (SELECT count(*) FROM r) + (SELECT count(*) FROM d) AS n \gset
INSERT INTO bench.retention_floor
VALUES ('personal_data', :n, extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz));

SELECT pg_catalog.clock_timestamp() AS t0 \gset
UPDATE bench.ret_audit a SET
	personal_digest = naboom.audit_personal_digest(ROW(a.*)::naboom.audit_log),
	row_key = naboom.audit_redact_json(a.row_key),
	old_values = naboom.audit_redact_json(a.old_values),
	new_values = naboom.audit_redact_json(a.new_values),
	detail = naboom.audit_redact_json(a.detail),
	actor = NULL, client_addr = NULL, user_agent = NULL, request_id = NULL
WHERE a.logged_at <= now() - interval '6 months' AND a.personal_digest IS NULL
	AND a.id NOT IN (SELECT m.id FROM bench.ret_month m);	-- run_retention drops that month first
INSERT INTO bench.retention_floor
VALUES ('audit_anonymise', :ROW_COUNT, extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz));

SELECT count(*) AS n FROM bench.ret_month \gset
SELECT pg_catalog.clock_timestamp() AS t0 \gset
DROP TABLE bench.ret_month;
INSERT INTO bench.retention_floor
VALUES ('audit_month', :n, extract(epoch FROM pg_catalog.clock_timestamp() - :'t0'::timestamptz));

\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
SELECT class, rows, round(seconds::numeric, 4) FROM bench.retention_floor ORDER BY class;
