-- pgTAP: roles and least privilege (design.md section 4, style.md "SQL
-- habits" 2).  The API roles reach data only through the SECURITY DEFINER
-- functions of naboom_api, plus SELECT on the non-personal columns that the
-- row-level security policies filter.
--
-- Runs twice (scripts/test.sh): with search_path = tap, public and with
-- search_path = tap only, so every naboom name is qualified.
BEGIN;
SELECT plan(115);

------------------------------------------------------------------------------
-- The three roles
------------------------------------------------------------------------------
SELECT has_role('naboom_anon', 'role naboom_anon exists');
SELECT has_role('naboom_user', 'role naboom_user exists');
SELECT has_role('naboom_service', 'role naboom_service exists');

SELECT is((SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = 'naboom_anon'), false, 'naboom_anon is NOLOGIN');
SELECT is((SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = 'naboom_user'), false, 'naboom_user is NOLOGIN');
SELECT is((SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = 'naboom_service'), false, 'naboom_service is NOLOGIN');

SELECT is_empty($$
	SELECT r.rolname::text FROM pg_catalog.pg_roles r
	WHERE r.rolname IN ('naboom_anon', 'naboom_user', 'naboom_service')
		AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication)
$$, 'no naboom role is superuser, bypasses RLS or may create roles or databases');

------------------------------------------------------------------------------
-- PUBLIC gets nothing
------------------------------------------------------------------------------
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
			WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
$$, 'PUBLIC has no EXECUTE on any naboom_api function');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom'::regnamespace
		AND p.oid NOT IN ('naboom.reference_valid(text)'::regprocedure, 'naboom.normalize_reference(text)'::regprocedure)
		AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
			WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
$$, 'PUBLIC has no EXECUTE on any naboom function but the pure reference helpers');

SELECT is_empty($$
	SELECT c.relname::text FROM pg_catalog.pg_class c
	WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
		AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee = 0)
	UNION ALL
	SELECT c.relname || '.' || att.attname FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_attribute att ON att.attrelid = c.oid
	WHERE c.relnamespace = 'naboom'::regnamespace
		AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(att.attacl) a WHERE a.grantee = 0)
$$, 'PUBLIC has no privilege on any naboom table, sequence or column');

SELECT is_empty($$
	SELECT r.rolname || ' on ' || s.nsp FROM pg_catalog.pg_roles r,
		(VALUES ('naboom'), ('naboom_api')) s(nsp)
	WHERE r.rolname IN ('naboom_anon', 'naboom_user', 'naboom_service')
		AND pg_catalog.has_schema_privilege(r.rolname, s.nsp, 'CREATE')
$$, 'no naboom role may CREATE in schema naboom or naboom_api');

------------------------------------------------------------------------------
-- EXECUTE
------------------------------------------------------------------------------
-- naboom_anon: get_incident, the public map and nearby list, the reference
-- helpers, and the identity and naboom.my_* helpers that row-level security
-- calls as the reader.
SELECT set_eq($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace IN ('naboom'::regnamespace, 'naboom_api'::regnamespace)
		AND pg_catalog.has_function_privilege('naboom_anon', p.oid, 'EXECUTE')
		AND NOT (p.pronamespace = 'naboom'::regnamespace AND p.proname LIKE 'my\_%')
$$, ARRAY['naboom_api.get_incident(text)', 'naboom.reference_valid(text)',
	'naboom.normalize_reference(text)', 'naboom.current_actor()',
	'naboom_api.incidents_near(double precision,double precision,double precision,text[],text,timestamp with time zone,boolean,integer)',
	'naboom_api.community_map_geojson(text,double precision,double precision,double precision,double precision,integer)',
	'naboom_api.community_map_svg(text,integer,double precision,double precision,double precision,double precision,integer)',
	'naboom_api.community_incidents(text,text[],text,text,timestamp with time zone,timestamp with time zone,text,text,integer)',
	'naboom_api.incident_changes(text,integer,text)',
	-- directory (issue 13): the public pickers and health()
	'naboom_api.communities()', 'naboom_api.categories(text)', 'naboom_api.areas(text,boolean)',
	'naboom_api.statuses()', 'naboom_api.health()',
	-- Open311 (issue 15): the public documents
	'naboom_api.open311_services(text,text)', 'naboom_api.open311_requests(text,text,text,text,text,text,text)',
	'naboom_api.open311_request(text,text,text)'],
	'naboom_anon may execute only get_incident, incidents_near, the maps, the feed, incident_changes, the public pickers, health(), the Open311 documents and the reference, identity and my_* helpers');
-- Open311 (issue 15): posting a request is for people (and the service).
SELECT function_privs_are('naboom_api', 'open311_post_request',
	ARRAY['text', 'text', 'double precision', 'double precision', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute open311_post_request');
SELECT function_privs_are('naboom_api', 'open311_post_request',
	ARRAY['text', 'text', 'double precision', 'double precision', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute open311_post_request');
SELECT set_eq($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom'::regnamespace
		AND pg_catalog.has_function_privilege('naboom_user', p.oid, 'EXECUTE')
		AND p.proname NOT LIKE 'my\_%'
$$, ARRAY['naboom.reference_valid(text)', 'naboom.normalize_reference(text)', 'naboom.current_actor()'],
	'naboom_user may execute no internal naboom function but the reference, identity and my_* helpers');

SELECT function_privs_are('naboom_api', 'get_incident', ARRAY['text'], 'naboom_anon', ARRAY['EXECUTE'],
	'naboom_anon may execute get_incident');
-- Issue 13, lists: the public reads the feed (public incidents only), not
-- the queue.
SELECT function_privs_are('naboom_api', 'community_incidents',
	ARRAY['text', 'text[]', 'text', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'integer'],
	'naboom_anon', ARRAY['EXECUTE'], 'naboom_anon may execute community_incidents');
SELECT function_privs_are('naboom_api', 'incident_queue',
	ARRAY['text', 'text[]', 'text[]', 'text', 'text', 'text', 'boolean', 'text', 'integer'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute incident_queue');
SELECT function_privs_are('naboom_api', 'report_incident',
	ARRAY['text', 'text', 'double precision', 'double precision', 'text', 'text', 'text', 'double precision', 'boolean', 'text'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute report_incident');
SELECT function_privs_are('naboom_api', 'transition_incident', ARRAY['text', 'text', 'text', 'text', 'integer'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute transition_incident');
SELECT function_privs_are('naboom_api', 'join_community', ARRAY['text', 'text', 'text', 'text'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute join_community');
SELECT function_privs_are('naboom_api', 'create_community',
	ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute create_community');

SELECT function_privs_are('naboom_api', 'create_community',
	ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
	'naboom_user', ARRAY[]::text[], 'naboom_user may not execute create_community');
SELECT function_privs_are('naboom_api', 'create_community',
	ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'boolean'],
	'naboom_service', ARRAY['EXECUTE'], 'naboom_service may execute create_community');
SELECT function_privs_are('naboom_api', 'report_incident',
	ARRAY['text', 'text', 'double precision', 'double precision', 'text', 'text', 'text', 'double precision', 'boolean', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute report_incident');
SELECT function_privs_are('naboom_api', 'raise_panic',
	ARRAY['text', 'double precision', 'double precision', 'double precision', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute raise_panic');
SELECT function_privs_are('naboom_api', 'transition_incident', ARRAY['text', 'text', 'text', 'text', 'integer'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute transition_incident');
SELECT function_privs_are('naboom_api', 'assign_incident', ARRAY['text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute assign_incident');
SELECT function_privs_are('naboom_api', 'acknowledge_incident', ARRAY['text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute acknowledge_incident');
SELECT function_privs_are('naboom_api', 'add_note', ARRAY['text', 'text', 'boolean'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute add_note');
SELECT function_privs_are('naboom_api', 'get_incident', ARRAY['text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute get_incident');
SELECT function_privs_are('naboom_api', 'join_community', ARRAY['text', 'text', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute join_community');
SELECT function_privs_are('naboom_api', 'set_member_role', ARRAY['text', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute set_member_role (the member row decides)');
-- Issue 16, evidence: people attach (the member row decides who may);
-- the public does not.
SELECT function_privs_are('naboom_api', 'add_attachment',
	ARRAY['text', 'text', 'text', 'bigint', 'text', 'text', 'timestamp with time zone'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute add_attachment');
SELECT function_privs_are('naboom_api', 'add_attachment',
	ARRAY['text', 'text', 'text', 'bigint', 'text', 'text', 'timestamp with time zone'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute add_attachment');
SELECT function_privs_are('naboom_api', 'hide_attachment', ARRAY['text', 'bigint', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute hide_attachment (moderators, the member row decides)');
SELECT function_privs_are('naboom_api', 'upsert_area', ARRAY['text', 'text', 'text', 'text', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute upsert_area (the member row decides)');
SELECT function_privs_are('naboom_api', 'upsert_category',
	ARRAY['text', 'text', 'text', 'text', 'text', 'boolean', 'interval', 'interval', 'double precision', 'interval', 'boolean'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute upsert_category (the member row decides)');

-- Issue 13, alerts: people only, never the public.
-- Issue 16, forwarding: moderators forward (the member row decides);
-- delivery and the authority's updates are the service's alone.
SELECT function_privs_are('naboom_api', 'forward_incident', ARRAY['text', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute forward_incident (the member row decides)');
SELECT function_privs_are('naboom_api', 'claim_forwardings', ARRAY['text', 'integer', 'interval'],
	'naboom_user', ARRAY[]::text[], 'naboom_user may not execute claim_forwardings');
SELECT function_privs_are('naboom_api', 'forwarding_delivered', ARRAY['bigint', 'text'],
	'naboom_user', ARRAY[]::text[], 'naboom_user may not execute forwarding_delivered');
SELECT function_privs_are('naboom_api', 'forwarding_failed', ARRAY['bigint', 'text', 'interval'],
	'naboom_user', ARRAY[]::text[], 'naboom_user may not execute forwarding_failed');
SELECT function_privs_are('naboom_api', 'authority_update', ARRAY['text', 'text', 'text', 'text', 'timestamp with time zone', 'text'],
	'naboom_user', ARRAY[]::text[], 'naboom_user may not execute authority_update');
SELECT function_privs_are('naboom_api', 'subscribe_area', ARRAY['text', 'text', 'text[]', 'text', 'text'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute subscribe_area');
SELECT function_privs_are('naboom_api', 'mark_alerts_seen', ARRAY['bigint'],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute mark_alerts_seen');
SELECT function_privs_are('naboom_api', 'unread_alert_count', ARRAY[]::text[],
	'naboom_anon', ARRAY[]::text[], 'naboom_anon may not execute unread_alert_count');
SELECT function_privs_are('naboom_api', 'subscribe_area', ARRAY['text', 'text', 'text[]', 'text', 'text'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute subscribe_area');
SELECT function_privs_are('naboom_api', 'mark_alerts_seen', ARRAY['bigint'],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute mark_alerts_seen');
SELECT function_privs_are('naboom_api', 'unread_alert_count', ARRAY[]::text[],
	'naboom_user', ARRAY['EXECUTE'], 'naboom_user may execute unread_alert_count');

-- Every other API function, present and future, follows the same rule.
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname NOT IN ('create_community', 'claim_forwardings', 'forwarding_delivered', 'forwarding_failed', 'authority_update')
		AND NOT pg_catalog.has_function_privilege('naboom_user', p.oid, 'EXECUTE')
$$, 'naboom_user may execute every naboom_api function but create_community and the forwarding service functions');
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND NOT pg_catalog.has_function_privilege('naboom_service', p.oid, 'EXECUTE')
$$, 'naboom_service may execute every naboom_api function');

------------------------------------------------------------------------------
-- Tables: read-only, and only what row-level security filters
------------------------------------------------------------------------------
SELECT is_empty($$
	SELECT r.rolname || ' ' || pr.p || ' on ' || c.relname
	FROM pg_catalog.pg_class c,
		(VALUES ('naboom_anon'), ('naboom_user')) r(rolname),
		(VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) pr(p)
	WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		AND (pg_catalog.has_table_privilege(r.rolname, c.oid, pr.p)
			OR (pr.p IN ('INSERT', 'UPDATE', 'REFERENCES')
				AND pg_catalog.has_any_column_privilege(r.rolname, c.oid, pr.p)))
$$, 'naboom_user and naboom_anon have no INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER on any naboom table');

SELECT is_empty($$
	SELECT r.rolname || ' on ' || c.relname
	FROM pg_catalog.pg_class c, (VALUES ('naboom_anon'), ('naboom_user'), ('naboom_service')) r(rolname)
	WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind IN ('r', 'p')
		AND pg_catalog.has_any_column_privilege(r.rolname, c.oid, 'SELECT')
		AND NOT c.relrowsecurity
		AND c.relname NOT IN ('status', 'transition')
$$, 'every naboom table the API roles may read has row-level security enabled (the workflow tables are public)');

SELECT table_privs_are('naboom', 'community', 'naboom_anon', ARRAY['SELECT'], 'naboom_anon: community SELECT only');
SELECT table_privs_are('naboom', 'area', 'naboom_anon', ARRAY['SELECT'], 'naboom_anon: area SELECT only');
SELECT table_privs_are('naboom', 'category', 'naboom_anon', ARRAY['SELECT'], 'naboom_anon: category SELECT only');
SELECT table_privs_are('naboom', 'status', 'naboom_anon', ARRAY['SELECT'], 'naboom_anon: status SELECT only');
SELECT table_privs_are('naboom', 'transition', 'naboom_anon', ARRAY['SELECT'], 'naboom_anon: transition SELECT only');
SELECT table_privs_are('naboom', 'member', 'naboom_anon', ARRAY[]::text[], 'naboom_anon: no privilege on member');
SELECT table_privs_are('naboom', 'incident', 'naboom_anon', ARRAY[]::text[], 'naboom_anon: no table privilege on incident (some columns only)');
SELECT table_privs_are('naboom', 'incident_timeline', 'naboom_anon', ARRAY[]::text[], 'naboom_anon: no privilege on incident_timeline');

SELECT table_privs_are('naboom', 'community', 'naboom_user', ARRAY['SELECT'], 'naboom_user: community SELECT only');
SELECT table_privs_are('naboom', 'area', 'naboom_user', ARRAY['SELECT'], 'naboom_user: area SELECT only');
SELECT table_privs_are('naboom', 'category', 'naboom_user', ARRAY['SELECT'], 'naboom_user: category SELECT only');
SELECT table_privs_are('naboom', 'status', 'naboom_user', ARRAY['SELECT'], 'naboom_user: status SELECT only');
SELECT table_privs_are('naboom', 'transition', 'naboom_user', ARRAY['SELECT'], 'naboom_user: transition SELECT only');
SELECT table_privs_are('naboom', 'member', 'naboom_user', ARRAY[]::text[], 'naboom_user: no table privilege on member (some columns only)');
SELECT table_privs_are('naboom', 'incident', 'naboom_user', ARRAY[]::text[], 'naboom_user: no table privilege on incident (some columns only)');
SELECT table_privs_are('naboom', 'incident_timeline', 'naboom_user', ARRAY[]::text[], 'naboom_user: no table privilege on incident_timeline (some columns only)');

SELECT table_privs_are('naboom', 'community', 'naboom_service', ARRAY['SELECT'], 'naboom_service: community SELECT only');
SELECT table_privs_are('naboom', 'area', 'naboom_service', ARRAY['SELECT'], 'naboom_service: area SELECT only');
SELECT table_privs_are('naboom', 'category', 'naboom_service', ARRAY['SELECT'], 'naboom_service: category SELECT only');
SELECT table_privs_are('naboom', 'status', 'naboom_service', ARRAY['SELECT'], 'naboom_service: status SELECT only');
SELECT table_privs_are('naboom', 'transition', 'naboom_service', ARRAY['SELECT'], 'naboom_service: transition SELECT only');
SELECT table_privs_are('naboom', 'member', 'naboom_service', ARRAY['SELECT'], 'naboom_service: member SELECT only');
SELECT table_privs_are('naboom', 'incident', 'naboom_service', ARRAY['SELECT'], 'naboom_service: incident SELECT only');
SELECT table_privs_are('naboom', 'incident_timeline', 'naboom_service', ARRAY['SELECT'], 'naboom_service: incident_timeline SELECT only');

------------------------------------------------------------------------------
-- Personal columns are not granted to naboom_user or naboom_anon
------------------------------------------------------------------------------
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_user', 'naboom.incident', 'reporter_ref', 'SELECT'), 'naboom_user cannot SELECT incident.reporter_ref');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_user', 'naboom.incident', 'location', 'SELECT'), 'naboom_user cannot SELECT incident.location');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_user', 'naboom.incident', 'address', 'SELECT'), 'naboom_user cannot SELECT incident.address');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_user', 'naboom.incident', 'client_ref', 'SELECT'), 'naboom_user cannot SELECT incident.client_ref');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_user', 'naboom.member', 'phone', 'SELECT'), 'naboom_user cannot SELECT member.phone');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_anon', 'naboom.incident', 'reporter_ref', 'SELECT'), 'naboom_anon cannot SELECT incident.reporter_ref');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_anon', 'naboom.incident', 'location', 'SELECT'), 'naboom_anon cannot SELECT incident.location');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_anon', 'naboom.incident', 'address', 'SELECT'), 'naboom_anon cannot SELECT incident.address');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_anon', 'naboom.incident', 'client_ref', 'SELECT'), 'naboom_anon cannot SELECT incident.client_ref');
SELECT ok(NOT pg_catalog.has_column_privilege('naboom_anon', 'naboom.member', 'phone', 'SELECT'), 'naboom_anon cannot SELECT member.phone');
SELECT ok(pg_catalog.has_column_privilege('naboom_user', 'naboom.incident', 'reference', 'SELECT')
	AND pg_catalog.has_column_privilege('naboom_anon', 'naboom.incident', 'reference', 'SELECT'),
	'naboom_user and naboom_anon can SELECT incident.reference (the checks above are not vacuous)');

-- The same, as the roles themselves.
SET LOCAL ROLE naboom_user;
SELECT throws_ok('SELECT i.reporter_ref FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_user: SELECT incident.reporter_ref is refused');
SELECT throws_ok('SELECT i.location FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_user: SELECT incident.location is refused');
SELECT throws_ok('SELECT i.address FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_user: SELECT incident.address is refused');
SELECT throws_ok('SELECT i.client_ref FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_user: SELECT incident.client_ref is refused');
SELECT throws_ok('SELECT * FROM naboom.incident', '42501', 'permission denied for table incident',
	'as naboom_user: SELECT * FROM incident is refused');
SELECT throws_ok('SELECT m.phone FROM naboom.member m', '42501', 'permission denied for table member',
	'as naboom_user: SELECT member.phone is refused');
SELECT throws_ok('SELECT t.actor_ref FROM naboom.incident_timeline t', '42501', 'permission denied for table incident_timeline',
	'as naboom_user: SELECT incident_timeline.actor_ref is refused');
SELECT lives_ok('SELECT i.reference, i.status, i.is_public FROM naboom.incident i',
	'as naboom_user: SELECT of the granted incident columns works');
SELECT lives_ok('SELECT m.user_ref, m.display_name, m.role FROM naboom.member m',
	'as naboom_user: SELECT of the granted member columns works');
SELECT throws_ok($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority)
		VALUES (1, 'panic', 'x', NULL, 'low')$$, '42501', 'permission denied for table incident',
	'as naboom_user: INSERT INTO incident is refused');
SELECT throws_ok('DELETE FROM naboom.incident_timeline', '42501', 'permission denied for table incident_timeline',
	'as naboom_user: DELETE FROM incident_timeline is refused');
SELECT throws_ok('TRUNCATE naboom.incident', '42501', 'permission denied for table incident',
	'as naboom_user: TRUNCATE incident is refused');
SELECT throws_ok($$UPDATE naboom.member SET role = 'admin'$$, '42501', 'permission denied for table member',
	'as naboom_user: UPDATE member (promoting oneself) is refused');
SELECT throws_ok($$SELECT naboom.fail('P0001', 'k', 'm', 'd', 'h')$$, '42501', 'permission denied for function fail',
	'as naboom_user: internal helpers such as naboom.fail are not executable');
SELECT throws_ok($$SELECT * FROM naboom_api.create_community('tap-nope', 'Nope')$$, '42501',
	'permission denied for function create_community',
	'as naboom_user: create_community is refused');
RESET ROLE;

SET LOCAL ROLE naboom_anon;
SELECT throws_ok('SELECT i.reporter_ref FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_anon: SELECT incident.reporter_ref is refused');
SELECT throws_ok('SELECT i.location FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_anon: SELECT incident.location is refused');
SELECT throws_ok('SELECT i.address FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_anon: SELECT incident.address is refused');
SELECT throws_ok('SELECT i.client_ref FROM naboom.incident i', '42501', 'permission denied for table incident',
	'as naboom_anon: SELECT incident.client_ref is refused');
SELECT throws_ok('SELECT m.phone FROM naboom.member m', '42501', 'permission denied for table member',
	'as naboom_anon: SELECT member.phone is refused');
SELECT throws_ok('SELECT m.user_ref FROM naboom.member m', '42501', 'permission denied for table member',
	'as naboom_anon: the member list is refused');
SELECT throws_ok('SELECT t.note FROM naboom.incident_timeline t', '42501', 'permission denied for table incident_timeline',
	'as naboom_anon: the timeline table is refused');
SELECT lives_ok('SELECT i.reference, i.status FROM naboom.incident i',
	'as naboom_anon: SELECT of the granted incident columns works');
SELECT throws_ok($$SELECT * FROM naboom_api.report_incident('x', 'y', -24.5, 28.7, 'z')$$, '42501',
	'permission denied for function report_incident',
	'as naboom_anon: report_incident is refused');
RESET ROLE;

-- naboom_service, without claims, is the naboom service: it creates communities.
SET LOCAL ROLE naboom_service;
SELECT is((SELECT c.slug FROM naboom_api.create_community('tap-service', 'Service-made community',
		admin_ref => 'tap-admin', admin_name => 'Tap Admin') c),
	'tap-service', 'as naboom_service without claims: create_community works');
SELECT is(pg_catalog.current_setting('response.status', true), '201', 'create_community sets response.status 201');
RESET ROLE;
SELECT is((SELECT m.role::text FROM naboom.member m JOIN naboom.community c USING (community_id)
		WHERE c.slug = 'tap-service' AND m.user_ref = 'tap-admin'),
	'admin', 'the admin_ref of create_community became the community''s admin');

SELECT * FROM finish();
ROLLBACK;
