------------------------------------------------------------------------------
-- Security and wiring: what applies across every concern, run last when
-- every table and function exists.
--   1. what pg_dump keeps of the extension's tables;
--   2. row-level security: no query reveals a row of another community;
--   3. privileges: least privilege for each role;
--   4. which tables are audited, and the audit log's first partitions;
--   5. search_path pinned on every API and SECURITY DEFINER function;
--   6. PostgREST told to reload its schema cache.
------------------------------------------------------------------------------
------------------------------------------------------------------------------
-- 1. pg_dump and restore (README "Backup and restore").  Every row of every
-- naboom table belongs to the installation, not the extension, so a dump
-- keeps them all, and every sequence's position, so ids continue.
--
-- While a restore loads them (naboom.restoring: a superuser session with
-- pg_dump's settings running COPY, see src/restore.c), naboom's triggers let
-- the rows in as they were: no workflow check, no timeline entry, alert,
-- event, rate count or audit row of their own.
------------------------------------------------------------------------------
CREATE FUNCTION naboom.restoring() RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_restoring'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.restoring() IS
	'True while a pg_dump script or pg_restore loads rows: a COPY in a session whose session user is a superuser and which has pg_dump''s settings (row_security and check_function_bodies off). naboom''s triggers then load rows as they were';

-- The seeded rows (statuses, transitions, retention policies and state) are
-- dumped whole, changes included.  CREATE EXTENSION in the new database
-- seeds them again, so while a restore loads them a dumped row replaces the
-- seeded row of the same key instead of clashing with it.  (A seeded row a
-- DBA deleted comes back with the restore: change it instead of deleting.)
CREATE FUNCTION naboom.restore_seed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	keys text[] := TG_ARGV;
	cols text;
	n integer;
BEGIN
	IF NOT naboom.restoring() THEN
		RETURN NEW;
	END IF;
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (keys);
	EXECUTE pg_catalog.format('UPDATE %s AS t SET (%s) = (SELECT %s FROM (SELECT ($1).*) r) WHERE (%s) = (SELECT %s FROM (SELECT ($1).*) r)',
		TG_RELID::regclass, cols, cols,
		(SELECT pg_catalog.string_agg('t.' || pg_catalog.quote_ident(k), ', ') FROM unnest(keys) k),
		(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k), ', ') FROM unnest(keys) k))
		USING NEW;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN CASE WHEN n = 0 THEN NEW END;
END
$$;

COMMENT ON FUNCTION naboom.restore_seed() IS
	'BEFORE INSERT on the seeded tables (arguments: the key columns): while a restore loads rows, a row whose key the install script seeded replaces the seeded row';

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.status
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('status');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.transition
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('from_status', 'to_status');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.retention_policy
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('data_class');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.retention_state
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('name');

SELECT pg_catalog.pg_extension_config_dump('naboom.status', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.transition', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_policy', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_state', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.community', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.area', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.member', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.category', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.incident', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.incident_timeline', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.responder_position', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.subscription', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.alert', '');
-- Issue 13, queue, feed, my reports and assignments: the feed is public
-- (public incidents for the public); the rest need a person or the service.
GRANT EXECUTE ON FUNCTION
	naboom_api.community_incidents(text, text[], text, text, timestamptz, timestamptz, text, text, integer)
	TO naboom_anon, naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.incident_queue(text, text[], text[], text, text, text, boolean, text, integer),
	naboom_api.my_incidents(text[], text, integer), naboom_api.my_assignments()
	TO naboom_user, naboom_service;

-- 0.7.0, issue 13, the directory (11_directory.sql): the pickers and
-- health() are public; the profile, leaving, my memberships and the member
-- list are for people (the member row decides) and the service.
REVOKE ALL ON FUNCTION naboom.leave_member(bigint, text, timestamptz), naboom.health_probe(),
	naboom.health_problems(naboom_api.health), naboom.health_warnings(naboom_api.health) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	naboom_api.communities(), naboom_api.categories(text), naboom_api.areas(text, boolean),
	naboom_api.statuses(), naboom_api.health()
	TO naboom_anon, naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.my_memberships(), naboom_api.update_my_profile(text, text, text, text),
	naboom_api.leave_community(text), naboom_api.members(text, text, text, text, integer)
	TO naboom_user, naboom_service;

-- 0.7.0, issue 15, Open311 GeoReport v2 (13_open311.sql): the documents
-- are public (public, non-sensitive reports only); posting a request is
-- report_incident, for people (and the service, which report_incident
-- refuses without a person).
GRANT EXECUTE ON FUNCTION
	naboom_api.open311_services(text, text),
	naboom_api.open311_requests(text, text, text, text, text, text, text),
	naboom_api.open311_request(text, text, text)
	TO naboom_anon, naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.open311_post_request(text, text, double precision, double precision, text, text, text, text,
		text, text, text, text, text, text, text, text, text)
	TO naboom_user, naboom_service;

SELECT pg_catalog.pg_extension_config_dump('naboom.community_retention', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.legal_hold', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.deleted_note', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_run', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_result', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_expiry', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal_expired', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.event', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.rate_counter', '');

-- Every sequence, the identity sequences included, so ids continue.
-- (One call per statement: each call updates the pg_extension row.)
DO $sequences$
DECLARE
	s regclass;
BEGIN
	FOR s IN
		SELECT c.oid::regclass FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind = 'S'
		ORDER BY c.relname
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(s, '');
	END LOOP;
END
$sequences$;

-- The audit log.  Its monthly partitions are members of the extension
-- (naboom.audit_maintain adds those it makes later), so pg_dump does not
-- dump their definitions (CREATE EXTENSION makes the months it needs, and
-- a month made twice would clash); pg_dump dumps only leaf partitions'
-- rows, under the leaf's name, which the new database may not have.  So
-- every audit row is dumped as a row of the default partition: the filter
-- selects none of its own and appends all of the log's.
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_log_default',
	'WHERE false UNION ALL SELECT * FROM naboom.audit_log');

-- Loaded back into the default partition, a row whose month has a
-- partition goes there (a partition is named by its UTC month, as
-- audit_maintain names them); the others wait in the default partition
-- until audit_maintain makes their month and moves them, as it does for
-- any row logged before its month had a partition.
CREATE FUNCTION naboom.audit_default_route() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	month regclass := pg_catalog.to_regclass('naboom.audit_log_'
		|| pg_catalog.to_char(NEW.logged_at AT TIME ZONE 'UTC', 'YYYYMM'));
BEGIN
	-- (on a Citus worker it fires on a shard of the distributed default
	-- partition, where a month is a shard of its own: the row stays)
	IF month IS NULL OR TG_TABLE_NAME <> 'audit_log_default' THEN
		RETURN NEW;
	END IF;
	EXECUTE pg_catalog.format('INSERT INTO %s SELECT ($1).*', month) USING NEW;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.audit_default_route() IS
	'BEFORE INSERT on naboom.audit_log_default: a row written straight into the default partition (a restore loads every audit row there) whose month has a partition goes to that partition, unchanged';

CREATE TRIGGER audit_default_route BEFORE INSERT ON naboom.audit_log_default
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_default_route();

ALTER TABLE naboom.audit_log_default ENABLE ALWAYS TRIGGER audit_default_route;

------------------------------------------------------------------------------
-- 2. Row-level security.  The API functions are SECURITY DEFINER and apply the
-- same rules explicitly (naboom.find_incident); these policies hold for anyone
-- reading the tables directly.  Personal columns (reporter, exact location,
-- address, phone, client_ref) are not granted to the API roles at all.
------------------------------------------------------------------------------
ALTER TABLE naboom.community ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.area ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.category ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.member ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.incident ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.incident_timeline ENABLE ROW LEVEL SECURITY;

-- Communities, their areas and categories are public reference data.
CREATE POLICY community_read ON naboom.community FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

CREATE POLICY area_read ON naboom.area FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

CREATE POLICY category_read ON naboom.category FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

-- Members see the members of their own communities only.
CREATE POLICY member_read ON naboom.member FOR SELECT TO naboom_user
	USING (community_id = ANY ((SELECT naboom.my_community_ids())::bigint[]));

CREATE POLICY member_service ON naboom.member FOR SELECT TO naboom_service USING (true);

-- Incidents: public ones to everyone; private ones to their reporter and to
-- the responders, moderators and admins of their community.
CREATE POLICY incident_public ON naboom.incident FOR SELECT TO naboom_anon
	USING (is_public);

CREATE POLICY incident_member ON naboom.incident FOR SELECT TO naboom_user
	USING (is_public
		OR reporter_ref = (SELECT naboom.current_actor())
		OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]));

CREATE POLICY incident_service ON naboom.incident FOR SELECT TO naboom_service USING (true);

-- Timeline: entries of incidents one may see; internal notes to staff only.
CREATE POLICY timeline_member ON naboom.incident_timeline FOR SELECT TO naboom_user
	USING ((is_public OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]))
		AND EXISTS (SELECT 1 FROM naboom.incident i
			WHERE i.community_id = incident_timeline.community_id
				AND i.incident_id = incident_timeline.incident_id));

CREATE POLICY timeline_service ON naboom.incident_timeline FOR SELECT TO naboom_service USING (true);

ALTER TABLE naboom.responder_position ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.subscription ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.alert ENABLE ROW LEVEL SECURITY;

-- Members read their own subscriptions and alerts; positions are personal
-- data read through nearest_responders only.
CREATE POLICY subscription_own ON naboom.subscription FOR SELECT TO naboom_user
	USING (user_ref = (SELECT naboom.current_actor()));

CREATE POLICY subscription_service ON naboom.subscription FOR SELECT TO naboom_service USING (true);

CREATE POLICY alert_own ON naboom.alert FOR SELECT TO naboom_user
	USING (user_ref = (SELECT naboom.current_actor()));

CREATE POLICY alert_service ON naboom.alert FOR SELECT TO naboom_service USING (true);

CREATE POLICY position_service ON naboom.responder_position FOR SELECT TO naboom_service USING (true);

-- The audit log and its seals are read through the API only (incident_audit,
-- community_audit); no policy, so no direct reader sees a row.
ALTER TABLE naboom.audit_log ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.audit_seal ENABLE ROW LEVEL SECURITY;

-- The event stream is read through events_since; rate counters by naboom.
ALTER TABLE naboom.event ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.rate_counter ENABLE ROW LEVEL SECURITY;

-- Retention: overrides, holds and deleted notes are read through the API.
ALTER TABLE naboom.community_retention ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.legal_hold ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.deleted_note ENABLE ROW LEVEL SECURITY;

------------------------------------------------------------------------------
-- 3. Privileges: least privilege for each role.  Nothing is granted to
-- PUBLIC but the pure reference functions; every table and function of the
-- extension starts with its owner's rights only.
------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA naboom TO naboom_anon, naboom_user, naboom_service;

GRANT USAGE ON SCHEMA naboom_api TO naboom_anon, naboom_user, naboom_service;

REVOKE ALL ON ALL TABLES IN SCHEMA naboom FROM PUBLIC;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom FROM PUBLIC;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom_api FROM PUBLIC;

-- ALL FUNCTIONS leaves out procedures, and sequences are not tables.
REVOKE ALL ON PROCEDURE naboom.run_retention(boolean, timestamptz, bigint, jsonb) FROM PUBLIC;

REVOKE ALL ON SEQUENCE naboom.audit_log_id_seq, naboom.event_id_seq FROM PUBLIC;

GRANT SELECT ON naboom.community, naboom.area, naboom.category, naboom.status, naboom.transition
	TO naboom_anon, naboom_user, naboom_service;

GRANT SELECT (community_id, user_ref, display_name, language, role, on_duty, joined_at)
	ON naboom.member TO naboom_user;

GRANT SELECT (community_id, incident_id, reference, category_code, kind, title, description, area_id,
		outside_boundary, priority, status, status_note, duplicate_of, is_public, version, created_at,
		updated_at, acknowledged_at, dispatched_at, en_route_at, on_scene_at, resolved_at, closed_at,
		escalation_level)
	ON naboom.incident TO naboom_anon, naboom_user;

GRANT SELECT (community_id, incident_id, seq, at, entry_kind, from_status, to_status, note, is_public)
	ON naboom.incident_timeline TO naboom_user;

GRANT SELECT ON naboom.member, naboom.incident, naboom.incident_timeline TO naboom_service;

-- Functions row-level security policies call run as the reader.
GRANT EXECUTE ON FUNCTION naboom.current_actor(), naboom.my_community_ids(),
	naboom.my_staff_community_ids() TO naboom_anon, naboom_user, naboom_service;

-- Pure functions, also used by the CHECK on incident.reference.
GRANT EXECUTE ON FUNCTION naboom.reference_valid(text), naboom.normalize_reference(text) TO PUBLIC;

GRANT EXECUTE ON FUNCTION naboom_api.get_incident(text) TO naboom_anon, naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.report_incident(text, text, double precision, double precision, text, text, text, double precision, boolean, text),
	naboom_api.raise_panic(text, double precision, double precision, double precision, text, text),
	naboom_api.transition_incident(text, text, text, text, integer),
	naboom_api.assign_incident(text, text),
	naboom_api.acknowledge_incident(text),
	naboom_api.add_note(text, text, boolean),
	naboom_api.join_community(text, text, text, text),
	naboom_api.upsert_area(text, text, text, text, text, text),
	naboom_api.upsert_category(text, text, text, text, text, boolean, interval, interval, double precision, interval, boolean),
	naboom_api.set_member_role(text, text, text)
	TO naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION naboom_api.create_community(text, text, text, text, text, text, boolean) TO naboom_service;

GRANT SELECT ON naboom.subscription, naboom.alert TO naboom_user;

GRANT SELECT ON naboom.responder_position, naboom.subscription, naboom.alert TO naboom_service;

GRANT SELECT (poor_accuracy) ON naboom.incident TO naboom_anon, naboom_user;

-- The public may look at the live map and nearby public incidents.
GRANT EXECUTE ON FUNCTION
	naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer),
	naboom_api.community_map_geojson(text, double precision, double precision, double precision, double precision, integer),
	naboom_api.community_map_svg(text, integer, double precision, double precision, double precision, double precision, integer)
	TO naboom_anon, naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.duplicate_candidates(text, text, double precision, double precision),
	naboom_api.nearest_responders(text, integer, double precision),
	naboom_api.update_position(double precision, double precision, boolean, double precision),
	naboom_api.subscribe(text, double precision, double precision, double precision, text[], text, text),
	naboom_api.unsubscribe(bigint), naboom_api.my_subscriptions(), naboom_api.my_alerts(bigint, integer)
	TO naboom_user, naboom_service;

-- Issue 13, alerts: read state and area subscriptions.
GRANT EXECUTE ON FUNCTION
	naboom_api.subscribe_area(text, text, text[], text, text),
	naboom_api.mark_alerts_seen(bigint), naboom_api.unread_alert_count()
	TO naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION naboom_api.incident_audit(text, bigint, integer), naboom_api.community_audit(text, bigint, integer)
	TO naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION naboom_api.events_since(bigint, integer, text), naboom_api.sla_report(text, timestamptz, timestamptz)
	TO naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.retention_policies(text), naboom_api.set_retention(text, text, interval),
	naboom_api.place_legal_hold(text, text), naboom_api.lift_legal_hold(text, text),
	naboom_api.delete_note(text, integer), naboom_api.export_my_data(), naboom_api.erase_my_data()
	TO naboom_user, naboom_service;

SELECT pg_catalog.pg_extension_config_dump('naboom.community_retention', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.legal_hold', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.deleted_note', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.retention_run', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.retention_result', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.audit_expiry', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal_expired', '');

-- Issue 13, offline sync (12_sync.sql): anyone may sync (the public sees
-- public incidents); the event horizon is naboom's own, dumped whole like
-- the other seeded state.
ALTER TABLE naboom.event_horizon ENABLE ROW LEVEL SECURITY;

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.event_horizon
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('id');

SELECT pg_catalog.pg_extension_config_dump('naboom.event_horizon', '');

GRANT EXECUTE ON FUNCTION naboom_api.incident_changes(text, integer, text)
	TO naboom_anon, naboom_user, naboom_service;

-- Issue 16, evidence (13_evidence.sql): attachment rows are dumped and
-- audited like the other domain tables.  Read through get_incident; read
-- directly, a person sees only the attachments they added and those of the
-- communities where they are a responder, moderator or admin, never a
-- hidden one (row-level security keeps every other community out).
SELECT pg_catalog.pg_extension_config_dump('naboom.attachment', '');

ALTER TABLE naboom.attachment ENABLE ROW LEVEL SECURITY;

CREATE POLICY attachment_member ON naboom.attachment FOR SELECT TO naboom_user
	USING (hidden_at IS NULL
		AND (uploader_ref = (SELECT naboom.current_actor())
			OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[])));

CREATE POLICY attachment_service ON naboom.attachment FOR SELECT TO naboom_service USING (true);

GRANT SELECT (community_id, attachment_id, incident_id, object_key, content_type, bytes, sha256, caption,
		taken_at, created_at)
	ON naboom.attachment TO naboom_user;

GRANT SELECT ON naboom.attachment TO naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.add_attachment(text, text, text, bigint, text, text, timestamptz),
	naboom_api.hide_attachment(text, bigint, text)
	TO naboom_user, naboom_service;

SELECT naboom.audit_table('naboom.attachment');

------------------------------------------------------------------------------
-- 4. Auditing: every domain table is audited by the C trigger
-- naboom.audit_trigger (triggers audit_changes / audit_inserts /
-- audit_deletes, see naboom.audit_table), and the audit log gets its
-- partitions for this month and the next three.
------------------------------------------------------------------------------
SELECT naboom.audit_table(t) FROM unnest(ARRAY['naboom.community', 'naboom.area', 'naboom.member',
	'naboom.category', 'naboom.status', 'naboom.transition', 'naboom.incident', 'naboom.incident_timeline',
	'naboom.responder_position', 'naboom.subscription']::regclass[]) t;

-- Alert fan-out writes dozens of rows per report: one entry per statement.
SELECT naboom.audit_table('naboom.alert', per_statement => true);

SELECT naboom.audit_table('naboom.retention_policy');

SELECT naboom.audit_table('naboom.community_retention');

SELECT naboom.audit_table('naboom.legal_hold');

SELECT naboom.audit_table('naboom.deleted_note');

SELECT naboom.audit_maintain(3);

-- 0.7.0, issue 16, forwarding to authorities (13_forwarding.sql): the
-- tables are naboom's (read through the API: no policy, no grant), dumped
-- whole and audited row by row, so every forwarding, delivery attempt and
-- authority update is in the log.  Admins set up authorities and rules;
-- moderators forward; delivery and updates back are the service's.
ALTER TABLE naboom.authority ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.forwarding_rule ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.forwarding ENABLE ROW LEVEL SECURITY;

ALTER TABLE naboom.authority_update ENABLE ROW LEVEL SECURITY;

SELECT pg_catalog.pg_extension_config_dump('naboom.authority', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding_rule', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding', '');

SELECT pg_catalog.pg_extension_config_dump('naboom.authority_update', '');

SELECT naboom.audit_table(t) FROM unnest(ARRAY['naboom.authority', 'naboom.forwarding_rule', 'naboom.forwarding',
	'naboom.authority_update']::regclass[]) t;

GRANT EXECUTE ON FUNCTION
	naboom_api.upsert_authority(text, text, text, text, text, text, boolean),
	naboom_api.upsert_forwarding_rule(text, text, text, text[], text, text[], text[], boolean),
	naboom_api.forward_incident(text, text, text), naboom_api.incident_forwardings(text)
	TO naboom_user, naboom_service;

GRANT EXECUTE ON FUNCTION
	naboom_api.claim_forwardings(text, integer, interval), naboom_api.forwarding_delivered(bigint, text),
	naboom_api.forwarding_failed(bigint, text, interval),
	naboom_api.authority_update(text, text, text, text, timestamptz, text)
	TO naboom_service;

------------------------------------------------------------------------------
-- 5. Pin search_path on every API and every SECURITY DEFINER function:
-- pg_catalog, then the schema PostGIS lives in (its functions and operators
-- are called by name), then pg_temp last.  naboom's own objects are always
-- schema-qualified.  The internal helpers in schema naboom are executable by
-- their owner only and run inside a pinned caller, whose path they inherit
-- (a SET clause on each would cost a GUC save/restore per call).  Every
-- upgrade script calls it again after replacing functions.
------------------------------------------------------------------------------
CREATE FUNCTION naboom.pin_search_paths() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	postgis_schema name := (SELECT n.nspname FROM pg_catalog.pg_extension e
		JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis');
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		WHERE l.lanname IN ('sql', 'plpgsql')
			AND (n.nspname = 'naboom_api' OR (n.nspname = 'naboom' AND p.prosecdef))
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, postgis_schema);
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom.pin_search_paths() IS
	'Set search_path = pg_catalog, <PostGIS schema>, pg_temp on every naboom_api function and every SECURITY DEFINER function of naboom; run by the install and upgrade scripts';

REVOKE ALL ON FUNCTION naboom.pin_search_paths() FROM PUBLIC;

SELECT naboom.pin_search_paths();

-- 6. Tell PostgREST to reload its schema cache, except in a Citus worker
-- running this script for its coordinator (CREATE/ALTER EXTENSION propagated
-- in a two-phase commit: a transaction that has sent a NOTIFY cannot be
-- prepared).  PostgREST listens on the coordinator, which still sends it.
DO $pgrst$
BEGIN
	IF pg_catalog.current_setting('application_name') NOT LIKE 'citus\_internal gpid=%' THEN
		PERFORM pg_catalog.pg_notify('pgrst', 'reload schema');
	END IF;
END
$pgrst$;
