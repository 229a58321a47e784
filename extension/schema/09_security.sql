-- @@ from naboom--0.1.0.sql
GRANT USAGE ON SCHEMA naboom TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0.sql
GRANT USAGE ON SCHEMA naboom_api TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.status', 'WHERE NOT builtin');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.transition', 'WHERE NOT builtin');

-- @@ from naboom--0.1.0.sql
-- The domain tables' rows belong to the installation, not the extension.
SELECT pg_catalog.pg_extension_config_dump('naboom.community', '');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.area', '');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.member', '');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.category', '');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.incident', '');

-- @@ from naboom--0.1.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.incident_timeline', '');

-- @@ from naboom--0.1.0.sql
------------------------------------------------------------------------------
-- Row-level security.  The API functions are SECURITY DEFINER and apply the
-- same rules explicitly (naboom.find_incident); these policies hold for anyone
-- reading the tables directly.  Personal columns (reporter, exact location,
-- address, phone, client_ref) are not granted to the API roles at all.
------------------------------------------------------------------------------
ALTER TABLE naboom.community ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
ALTER TABLE naboom.area ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
ALTER TABLE naboom.category ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
ALTER TABLE naboom.member ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
ALTER TABLE naboom.incident ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
ALTER TABLE naboom.incident_timeline ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0.sql
-- Communities, their areas and categories are public reference data.
CREATE POLICY community_read ON naboom.community FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
CREATE POLICY area_read ON naboom.area FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
CREATE POLICY category_read ON naboom.category FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
-- Members see the members of their own communities only.
CREATE POLICY member_read ON naboom.member FOR SELECT TO naboom_user
	USING (community_id = ANY ((SELECT naboom.my_community_ids())::bigint[]));

-- @@ from naboom--0.1.0.sql
CREATE POLICY member_service ON naboom.member FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
-- Incidents: public ones to everyone; private ones to their reporter and to
-- the responders, moderators and admins of their community.
CREATE POLICY incident_public ON naboom.incident FOR SELECT TO naboom_anon
	USING (is_public);

-- @@ from naboom--0.1.0.sql
CREATE POLICY incident_member ON naboom.incident FOR SELECT TO naboom_user
	USING (is_public
		OR reporter_ref = (SELECT naboom.current_actor())
		OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]));

-- @@ from naboom--0.1.0.sql
CREATE POLICY incident_service ON naboom.incident FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
-- Timeline: entries of incidents one may see; internal notes to staff only.
CREATE POLICY timeline_member ON naboom.incident_timeline FOR SELECT TO naboom_user
	USING ((is_public OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]))
		AND EXISTS (SELECT 1 FROM naboom.incident i
			WHERE i.community_id = incident_timeline.community_id
				AND i.incident_id = incident_timeline.incident_id));

-- @@ from naboom--0.1.0.sql
CREATE POLICY timeline_service ON naboom.incident_timeline FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0.sql
------------------------------------------------------------------------------
-- Privileges: least privilege for each role
------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA naboom FROM PUBLIC;

-- @@ from naboom--0.1.0.sql
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom FROM PUBLIC;

-- @@ from naboom--0.1.0.sql
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom_api FROM PUBLIC;

-- @@ from naboom--0.1.0.sql
GRANT SELECT ON naboom.community, naboom.area, naboom.category, naboom.status, naboom.transition
	TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0.sql
GRANT SELECT (community_id, user_ref, display_name, language, role, on_duty, joined_at)
	ON naboom.member TO naboom_user;

-- @@ from naboom--0.1.0.sql
GRANT SELECT (community_id, incident_id, reference, category_code, kind, title, description, area_id,
		outside_boundary, priority, status, status_note, duplicate_of, is_public, version, created_at,
		updated_at, acknowledged_at, dispatched_at, en_route_at, on_scene_at, resolved_at, closed_at,
		escalation_level)
	ON naboom.incident TO naboom_anon, naboom_user;

-- @@ from naboom--0.1.0.sql
GRANT SELECT (community_id, incident_id, seq, at, entry_kind, from_status, to_status, note, is_public)
	ON naboom.incident_timeline TO naboom_user;

-- @@ from naboom--0.1.0.sql
GRANT SELECT ON naboom.member, naboom.incident, naboom.incident_timeline TO naboom_service;

-- @@ from naboom--0.1.0.sql
-- Functions row-level security policies call run as the reader.
GRANT EXECUTE ON FUNCTION naboom.current_actor(), naboom.my_community_ids(),
	naboom.my_staff_community_ids() TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0.sql
-- Pure functions, also used by the CHECK on incident.reference.
GRANT EXECUTE ON FUNCTION naboom.reference_valid(text), naboom.normalize_reference(text) TO PUBLIC;

-- @@ from naboom--0.1.0.sql
GRANT EXECUTE ON FUNCTION naboom_api.get_incident(text) TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0.sql
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

-- @@ from naboom--0.1.0.sql
GRANT EXECUTE ON FUNCTION naboom_api.create_community(text, text, text, text, text, text, boolean) TO naboom_service;

-- @@ from naboom--0.1.0.sql
------------------------------------------------------------------------------
-- Pin search_path on every API and every SECURITY DEFINER function:
-- pg_catalog, then the schema PostGIS lives in (its functions and operators
-- are called by name), then pg_temp last.  naboom's own objects are always
-- schema-qualified.  The internal helpers in schema naboom are executable by
-- their owner only and run inside a pinned caller, whose path they inherit
-- (a SET clause on each would cost a GUC save/restore per call).
------------------------------------------------------------------------------
DO $pin$
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
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, postgis_schema);
	END LOOP;
END
$pin$;

-- @@ from naboom--0.1.0.sql
-- Tell PostgREST to reload its schema cache.
NOTIFY pgrst, 'reload schema';

-- @@ from naboom--0.1.0--0.2.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.responder_position', '');

-- @@ from naboom--0.1.0--0.2.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.subscription', '');

-- @@ from naboom--0.1.0--0.2.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.alert', '');

-- @@ from naboom--0.1.0--0.2.0.sql
------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

-- Pin search_path on every API and SECURITY DEFINER function (see the end of
-- naboom--0.1.0.sql); every upgrade script calls it after replacing functions.
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

-- @@ from naboom--0.1.0--0.2.0.sql
COMMENT ON FUNCTION naboom.pin_search_paths() IS
	'Set search_path = pg_catalog, <PostGIS schema>, pg_temp on every naboom_api function and every SECURITY DEFINER function of naboom; run by the install and upgrade scripts';

-- @@ from naboom--0.1.0--0.2.0.sql
------------------------------------------------------------------------------
-- Row-level security and privileges for the new tables and functions
------------------------------------------------------------------------------
ALTER TABLE naboom.responder_position ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0--0.2.0.sql
ALTER TABLE naboom.subscription ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0--0.2.0.sql
ALTER TABLE naboom.alert ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.1.0--0.2.0.sql
-- Members read their own subscriptions and alerts; positions are personal
-- data read through nearest_responders only.
CREATE POLICY subscription_own ON naboom.subscription FOR SELECT TO naboom_user
	USING (user_ref = (SELECT naboom.current_actor()));

-- @@ from naboom--0.1.0--0.2.0.sql
CREATE POLICY subscription_service ON naboom.subscription FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0--0.2.0.sql
CREATE POLICY alert_own ON naboom.alert FOR SELECT TO naboom_user
	USING (user_ref = (SELECT naboom.current_actor()));

-- @@ from naboom--0.1.0--0.2.0.sql
CREATE POLICY alert_service ON naboom.alert FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0--0.2.0.sql
CREATE POLICY position_service ON naboom.responder_position FOR SELECT TO naboom_service USING (true);

-- @@ from naboom--0.1.0--0.2.0.sql
REVOKE ALL ON naboom.responder_position, naboom.subscription, naboom.alert FROM PUBLIC;

-- @@ from naboom--0.1.0--0.2.0.sql
GRANT SELECT ON naboom.subscription, naboom.alert TO naboom_user;

-- @@ from naboom--0.1.0--0.2.0.sql
GRANT SELECT ON naboom.responder_position, naboom.subscription, naboom.alert TO naboom_service;

-- @@ from naboom--0.1.0--0.2.0.sql
GRANT SELECT (poor_accuracy) ON naboom.incident TO naboom_anon, naboom_user;

-- @@ from naboom--0.1.0--0.2.0.sql
REVOKE ALL ON FUNCTION naboom.search_box(double precision, double precision, double precision),
	naboom.duplicate_search(bigint, text, double precision, double precision, bigint),
	naboom.lock_duplicate_place(bigint, text, double precision, double precision),
	naboom.responder_search(bigint, double precision, double precision, integer, double precision, text),
	naboom.alert_incident(bigint, bigint, integer, double precision, integer),
	naboom.incident_alert(), naboom.pin_search_paths(), naboom.check_count(text, integer, integer),
	naboom.check_accuracy(double precision), naboom.check_priority(text),
	naboom.check_categories(naboom.community, text[]),
	naboom.duplicate_rows(naboom.community, text, double precision, double precision, text, naboom.member_role, bigint),
	naboom.check_radius(text, double precision), naboom.subscription_out(naboom.subscription),
	naboom.map_rows(naboom.community, text), naboom.xml_text(text)
	FROM PUBLIC;

-- @@ from naboom--0.1.0--0.2.0.sql
REVOKE ALL ON FUNCTION
	naboom_api.duplicate_candidates(text, text, double precision, double precision),
	naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer),
	naboom_api.nearest_responders(text, integer, double precision),
	naboom_api.update_position(double precision, double precision, boolean, double precision),
	naboom_api.subscribe(text, double precision, double precision, double precision, text[], text, text),
	naboom_api.unsubscribe(bigint), naboom_api.my_subscriptions(), naboom_api.my_alerts(bigint, integer),
	naboom_api.community_map_geojson(text), naboom_api.community_map_svg(text, integer)
	FROM PUBLIC;

-- @@ from naboom--0.1.0--0.2.0.sql
-- The public may look at the live map and nearby public incidents.
GRANT EXECUTE ON FUNCTION
	naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer),
	naboom_api.community_map_geojson(text), naboom_api.community_map_svg(text, integer)
	TO naboom_anon, naboom_user, naboom_service;

-- @@ from naboom--0.1.0--0.2.0.sql
GRANT EXECUTE ON FUNCTION
	naboom_api.duplicate_candidates(text, text, double precision, double precision),
	naboom_api.nearest_responders(text, integer, double precision),
	naboom_api.update_position(double precision, double precision, boolean, double precision),
	naboom_api.subscribe(text, double precision, double precision, double precision, text[], text, text),
	naboom_api.unsubscribe(bigint), naboom_api.my_subscriptions(), naboom_api.my_alerts(bigint, integer)
	TO naboom_user, naboom_service;

-- @@ from naboom--0.2.0--0.3.0.sql
SELECT naboom.audit_table(t) FROM unnest(ARRAY['naboom.community', 'naboom.area', 'naboom.member',
	'naboom.category', 'naboom.status', 'naboom.transition', 'naboom.incident', 'naboom.incident_timeline',
	'naboom.responder_position', 'naboom.subscription']::regclass[]) t;

-- @@ from naboom--0.2.0--0.3.0.sql
-- Alert fan-out writes dozens of rows per report: one entry per statement.
SELECT naboom.audit_table('naboom.alert', per_statement => true);

-- @@ from naboom--0.2.0--0.3.0.sql
------------------------------------------------------------------------------
-- Privileges: nobody but the extension owner touches the log directly
------------------------------------------------------------------------------
REVOKE ALL ON naboom.audit_log, naboom.audit_log_default, naboom.audit_seal FROM PUBLIC;

-- @@ from naboom--0.2.0--0.3.0.sql
REVOKE ALL ON SEQUENCE naboom.audit_log_id_seq FROM PUBLIC;

-- @@ from naboom--0.2.0--0.3.0.sql
ALTER TABLE naboom.audit_log ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.2.0--0.3.0.sql
ALTER TABLE naboom.audit_seal ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.2.0--0.3.0.sql
REVOKE ALL ON FUNCTION
	naboom.audit_trigger(), naboom.audit_guard(), naboom.audit_ddl(),
	naboom.audit_access(bigint, bigint, text, jsonb), naboom.audit_refusal(text, text, text),
	naboom.audit_queue_stats(), naboom.audit_queue_wait(integer), naboom.audit_row_text(naboom.audit_log),
	naboom.seal_audit(integer), naboom.verify_audit(timestamptz, timestamptz),
	naboom.audit_seal_hash(bytea, xid8, xid8, bigint[], bytea),
	naboom.audit_insert_queued(jsonb), naboom.audit_maintain(integer), naboom.audit_move_default(date, text),
	naboom.audit_table(regclass, boolean), naboom.audited_tables(),
	naboom.audit_rows(bigint, bigint, bigint, integer),
	naboom_api.incident_audit(text, bigint, integer), naboom_api.community_audit(text, bigint, integer)
	FROM PUBLIC;

-- @@ from naboom--0.2.0--0.3.0.sql
GRANT EXECUTE ON FUNCTION naboom_api.incident_audit(text, bigint, integer), naboom_api.community_audit(text, bigint, integer)
	TO naboom_user, naboom_service;

-- @@ from naboom--0.3.0--0.4.0.sql
------------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------------
REVOKE ALL ON naboom.event, naboom.rate_counter FROM PUBLIC;

-- @@ from naboom--0.3.0--0.4.0.sql
REVOKE ALL ON SEQUENCE naboom.event_id_seq FROM PUBLIC;

-- @@ from naboom--0.3.0--0.4.0.sql
ALTER TABLE naboom.event ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.3.0--0.4.0.sql
ALTER TABLE naboom.rate_counter ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.3.0--0.4.0.sql
REVOKE ALL ON FUNCTION
	naboom.publish_events(integer), naboom.events_wait(integer),
	naboom.run_escalation(integer), naboom.rate_limit(bigint, text, text), naboom.schedule_jobs(),
	naboom.rate_limit_incident(), naboom.rate_limit_subscription(), naboom.escalation_start(),
	naboom_api.events_since(bigint, integer), naboom_api.sla_report(text, timestamptz, timestamptz)
	FROM PUBLIC;

-- @@ from naboom--0.3.0--0.4.0.sql
GRANT EXECUTE ON FUNCTION naboom_api.events_since(bigint, integer), naboom_api.sla_report(text, timestamptz, timestamptz)
	TO naboom_user, naboom_service;

-- @@ from naboom--0.4.0--0.5.0.sql
------------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------------
SELECT naboom.audit_table('naboom.retention_policy');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT naboom.audit_table('naboom.community_retention');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT naboom.audit_table('naboom.legal_hold');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT naboom.audit_table('naboom.deleted_note');

-- @@ from naboom--0.4.0--0.5.0.sql
REVOKE ALL ON naboom.retention_policy, naboom.community_retention, naboom.retention_effective, naboom.legal_hold,
	naboom.deleted_note, naboom.retention_run, naboom.retention_result, naboom.retention_state,
	naboom.audit_expiry, naboom.audit_seal_expired FROM PUBLIC;

-- @@ from naboom--0.4.0--0.5.0.sql
ALTER TABLE naboom.community_retention ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.4.0--0.5.0.sql
ALTER TABLE naboom.legal_hold ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.4.0--0.5.0.sql
ALTER TABLE naboom.deleted_note ENABLE ROW LEVEL SECURITY;

-- @@ from naboom--0.4.0--0.5.0.sql
REVOKE ALL ON PROCEDURE naboom.run_retention(boolean, timestamptz, bigint, jsonb) FROM PUBLIC;

-- @@ from naboom--0.4.0--0.5.0.sql
REVOKE ALL ON FUNCTION
	naboom.erase_member(text, timestamptz), naboom.retention_report(bigint), naboom.retention_active(),
	naboom.touch_member(bigint, text), naboom.set_legal_hold(text, text, boolean),
	naboom.audit_redact_json(jsonb), naboom.audit_personal_digest(naboom.audit_log), naboom.audit_row_hash(naboom.audit_log),
	naboom_api.retention_policies(text), naboom_api.set_retention(text, text, interval),
	naboom_api.place_legal_hold(text, text), naboom_api.lift_legal_hold(text, text),
	naboom_api.delete_note(text, integer), naboom_api.export_my_data(), naboom_api.erase_my_data()
	FROM PUBLIC;

-- @@ from naboom--0.4.0--0.5.0.sql
GRANT EXECUTE ON FUNCTION
	naboom_api.retention_policies(text), naboom_api.set_retention(text, text, interval),
	naboom_api.place_legal_hold(text, text), naboom_api.lift_legal_hold(text, text),
	naboom_api.delete_note(text, integer), naboom_api.export_my_data(), naboom_api.erase_my_data()
	TO naboom_user, naboom_service;

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.community_retention', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.legal_hold', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.deleted_note', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_run', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_result', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_expiry', '');

-- @@ from naboom--0.4.0--0.5.0.sql
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal_expired', '');

-- @@ from naboom--0.2.0--0.3.0.sql
SELECT naboom.audit_maintain(3);

