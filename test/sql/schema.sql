-- pgTAP: naboom's schema and API conventions (design.md sections 2-4,
-- style.md "SQL habits").
--
-- Runs twice (scripts/test.sh): with search_path = tap, public and with
-- search_path = tap only, so every naboom and PostGIS name is qualified.
-- Catalog checks are written as "the list of offenders is empty" so that a
-- failure names the offending objects, and each is paired with a check that
-- the list it filters is not empty (a test that cannot fail is a defect).
BEGIN;
SELECT plan(95);

------------------------------------------------------------------------------
-- Schemas and the extension
------------------------------------------------------------------------------
SELECT has_schema('naboom', 'schema naboom exists');
SELECT has_schema('naboom_api', 'schema naboom_api exists');

SELECT is((SELECT e.extrelocatable FROM pg_catalog.pg_extension e WHERE e.extname = 'naboom'),
	false, 'the naboom extension is not relocatable');
SELECT is((SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e WHERE e.extname = 'naboom'),
	'naboom', 'the naboom extension lives in schema naboom');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
		JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_catalog.pg_extension'::regclass
		WHERE e.extname = 'naboom' AND d.classid = 'pg_catalog.pg_namespace'::regclass
			AND d.objid = 'naboom_api'::regnamespace AND d.deptype = 'e'),
	'schema naboom_api belongs to the extension (dropped with it)');

------------------------------------------------------------------------------
-- Domain tables, their key columns and primary keys
------------------------------------------------------------------------------
SELECT has_table('naboom', 'community', 'table naboom.community exists');
SELECT has_table('naboom', 'area', 'table naboom.area exists');
SELECT has_table('naboom', 'member', 'table naboom.member exists');
SELECT has_table('naboom', 'category', 'table naboom.category exists');
SELECT has_table('naboom', 'status', 'table naboom.status exists');
SELECT has_table('naboom', 'transition', 'table naboom.transition exists');
SELECT has_table('naboom', 'incident', 'table naboom.incident exists');
SELECT has_table('naboom', 'incident_timeline', 'table naboom.incident_timeline exists');

SELECT col_is_pk('naboom', 'community', ARRAY['community_id'], 'community: primary key (community_id)');
SELECT col_is_pk('naboom', 'area', ARRAY['community_id', 'area_id'], 'area: primary key (community_id, area_id)');
SELECT col_is_pk('naboom', 'member', ARRAY['community_id', 'user_ref'], 'member: primary key (community_id, user_ref)');
SELECT col_is_pk('naboom', 'category', ARRAY['community_id', 'code'], 'category: primary key (community_id, code)');
SELECT col_is_pk('naboom', 'status', ARRAY['status'], 'status: primary key (status)');
SELECT col_is_pk('naboom', 'transition', ARRAY['from_status', 'to_status'], 'transition: primary key (from_status, to_status)');
SELECT col_is_pk('naboom', 'incident', ARRAY['community_id', 'incident_id'], 'incident: primary key (community_id, incident_id)');
SELECT col_is_pk('naboom', 'incident_timeline', ARRAY['community_id', 'incident_id', 'seq'],
	'incident_timeline: primary key (community_id, incident_id, seq)');

-- Every per-community table carries a NOT NULL community_id.
SELECT is_empty($$
	SELECT t.relname FROM pg_catalog.pg_class t
	WHERE t.relnamespace = 'naboom'::regnamespace
		AND t.relname IN ('area', 'member', 'category', 'incident', 'incident_timeline')
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
			WHERE a.attrelid = t.oid AND a.attname = 'community_id' AND a.attnotnull AND NOT a.attisdropped)
$$, 'area, member, category, incident and incident_timeline have a NOT NULL community_id');

SELECT has_column('naboom', 'community', 'slug', 'community.slug exists');
SELECT col_is_unique('naboom', 'community', ARRAY['slug'], 'community.slug is unique');
SELECT has_column('naboom', 'community', 'boundary', 'community.boundary exists');
SELECT col_is_unique('naboom', 'area', ARRAY['community_id', 'code'], 'area codes are unique per community');
SELECT has_column('naboom', 'member', 'role', 'member.role exists');
SELECT col_type_is('naboom', 'member', 'role', 'naboom', 'member_role', 'member.role is a naboom.member_role');
SELECT has_column('naboom', 'category', 'is_sensitive', 'category.is_sensitive exists');
SELECT has_column('naboom', 'incident', 'reference', 'incident.reference exists');
SELECT col_not_null('naboom', 'incident', 'reference', 'incident.reference is NOT NULL');
SELECT col_is_unique('naboom', 'incident', ARRAY['reference'], 'incident.reference is unique');
SELECT col_type_is('naboom', 'incident', 'location', 'public', 'geometry(Point,4326)',
	'incident.location is a WGS84 point');
SELECT has_column('naboom', 'incident', 'status', 'incident.status exists');
-- incident.status has no foreign key (its share locks serialised writers);
-- the workflow trigger refuses unknown statuses and status_in_use keeps a
-- status in use from being deleted.
SELECT has_trigger('naboom', 'status', 'status_in_use', 'naboom.status guards statuses still in use');
SELECT fk_ok('naboom', 'incident', ARRAY['community_id', 'category_code'], 'naboom', 'category', ARRAY['community_id', 'code'],
	'incident (community_id, category_code) references its community''s category');
SELECT has_column('naboom', 'incident', 'client_ref', 'incident.client_ref exists');
SELECT has_column('naboom', 'incident', 'version', 'incident.version exists');
SELECT has_column('naboom', 'incident', 'is_public', 'incident.is_public exists');
SELECT has_column('naboom', 'incident_timeline', 'seq', 'incident_timeline.seq exists');
SELECT has_column('naboom', 'incident_timeline', 'is_public', 'incident_timeline.is_public exists');
SELECT has_index('naboom', 'incident', 'incident_client_ref_key', 'the idempotency index on client_ref exists');
SELECT index_is_unique('naboom', 'incident', 'incident_client_ref_key',
	'client_ref is unique per community and reporter');

------------------------------------------------------------------------------
-- Comments (style.md: COMMENT ON every table and function)
------------------------------------------------------------------------------
SELECT is((SELECT count(*)::integer FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'naboom'::regnamespace
			AND c.relname IN ('community', 'area', 'member', 'category', 'status', 'transition', 'incident', 'incident_timeline')
			AND pg_catalog.obj_description(c.oid, 'pg_class') IS NOT NULL),
	8, 'all eight domain tables have a comment');
SELECT is_empty($$
	SELECT c.relname FROM pg_catalog.pg_class c
	WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		AND NOT c.relispartition
		AND pg_catalog.obj_description(c.oid, 'pg_class') IS NULL
$$, 'no table or view in schema naboom lacks a comment');

------------------------------------------------------------------------------
-- Triggers on naboom.incident
------------------------------------------------------------------------------
SELECT has_trigger('naboom', 'incident', 'incident_guard', 'incident has the incident_guard trigger');
SELECT has_trigger('naboom', 'incident', 'incident_journal', 'incident has the incident_journal trigger');
SELECT trigger_is('naboom', 'incident', 'incident_guard', 'naboom', 'incident_guard',
	'incident_guard calls naboom.incident_guard()');
SELECT trigger_is('naboom', 'incident', 'incident_journal', 'naboom', 'incident_journal',
	'incident_journal calls naboom.incident_journal()');
SELECT matches((SELECT pg_catalog.pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t
		WHERE t.tgrelid = 'naboom.incident'::regclass AND t.tgname = 'incident_guard'),
	'BEFORE INSERT OR UPDATE ON naboom\.incident FOR EACH ROW',
	'incident_guard fires BEFORE INSERT OR UPDATE, FOR EACH ROW');
SELECT matches((SELECT pg_catalog.pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t
		WHERE t.tgrelid = 'naboom.incident'::regclass AND t.tgname = 'incident_journal'),
	'AFTER INSERT OR UPDATE ON naboom\.incident FOR EACH ROW',
	'incident_journal fires AFTER INSERT OR UPDATE, FOR EACH ROW');
SELECT is((SELECT t.tgenabled::text FROM pg_catalog.pg_trigger t
		WHERE t.tgrelid = 'naboom.incident'::regclass AND t.tgname = 'incident_guard'),
	'O', 'incident_guard is enabled');

------------------------------------------------------------------------------
-- The seeded workflow of design.md section 3
------------------------------------------------------------------------------
SELECT results_eq($$
	SELECT s.status, s.status_type::text FROM naboom.status s ORDER BY s.sort_order
$$, $$
	VALUES ('reported'::text, 'open'::text), ('verified', 'open'), ('dispatched', 'open'),
		('en_route', 'open'), ('on_scene', 'open'), ('resolved', 'fixed'), ('closed', 'closed'),
		('rejected', 'closed'), ('duplicate', 'closed'), ('cancelled', 'closed')
$$, 'naboom.status holds the ten statuses of design.md with their Open311 types');

SELECT results_eq($$
	SELECT t.from_status, t.to_status, t.allowed::text[], t.requires_note, t.requires_assignee,
		t.requires_duplicate_of
	FROM naboom.transition t ORDER BY t.from_status, t.to_status
$$, $$
	SELECT * FROM (VALUES
		('reported'::text, 'verified'::text, '{verifier}'::text[], false, false, false),
		('reported',   'dispatched', '{self_assign}',       false, true,  false),
		('verified',   'dispatched', '{self_assign}',       false, true,  false),
		('dispatched', 'dispatched', '{}',                  false, true,  false),
		('dispatched', 'en_route',   '{assignee}',          false, false, false),
		('dispatched', 'on_scene',   '{assignee}',          false, false, false),
		('en_route',   'on_scene',   '{assignee}',          false, false, false),
		('reported',   'resolved',   '{assignee}',          true,  false, false),
		('verified',   'resolved',   '{assignee}',          true,  false, false),
		('dispatched', 'resolved',   '{assignee}',          true,  false, false),
		('en_route',   'resolved',   '{assignee}',          true,  false, false),
		('on_scene',   'resolved',   '{assignee}',          true,  false, false),
		('resolved',   'closed',     '{reporter,service}',  false, false, false),
		('resolved',   'verified',   '{reporter_reopen}',   true,  false, false),
		('reported',   'rejected',   '{}',                  true,  false, false),
		('verified',   'rejected',   '{}',                  true,  false, false),
		('reported',   'duplicate',  '{}',                  false, false, true),
		('verified',   'duplicate',  '{}',                  false, false, true),
		('dispatched', 'duplicate',  '{}',                  false, false, true),
		('reported',   'cancelled',  '{reporter}',          false, false, false),
		('verified',   'cancelled',  '{reporter}',          false, false, false)
	) AS v(from_status, to_status, allowed, requires_note, requires_assignee, requires_duplicate_of)
	ORDER BY 1, 2
$$, 'naboom.transition holds exactly the 21 rules of design.md section 3');
SELECT is((SELECT count(*)::integer FROM naboom.transition t WHERE t.builtin), 21,
	'the 21 seeded transitions are marked builtin');

------------------------------------------------------------------------------
-- API conventions (design.md section 4), for every function in naboom_api
------------------------------------------------------------------------------
SELECT has_function('naboom_api', 'create_community',
	ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'boolean'], 'naboom_api.create_community exists');
SELECT has_function('naboom_api', 'upsert_area', ARRAY['text', 'text', 'text', 'text', 'text', 'text'],
	'naboom_api.upsert_area exists');
SELECT has_function('naboom_api', 'upsert_category',
	ARRAY['text', 'text', 'text', 'text', 'text', 'boolean', 'interval', 'interval', 'double precision', 'interval', 'boolean'],
	'naboom_api.upsert_category exists');
SELECT has_function('naboom_api', 'join_community', ARRAY['text', 'text', 'text', 'text'],
	'naboom_api.join_community exists');
SELECT has_function('naboom_api', 'set_member_role', ARRAY['text', 'text', 'text'],
	'naboom_api.set_member_role exists');

-- Parameter names are the contract (design.md section 4).
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'report_incident'),
	ARRAY['community', 'category', 'lat', 'lon', 'description', 'title', 'address', 'accuracy_m', 'is_public', 'client_ref'],
	'report_incident has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'raise_panic'),
	ARRAY['community', 'lat', 'lon', 'accuracy_m', 'note', 'client_ref'],
	'raise_panic has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'transition_incident'),
	ARRAY['reference', 'status', 'note', 'duplicate_of', 'expected_version'],
	'transition_incident has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'assign_incident'),
	ARRAY['reference', 'responder'], 'assign_incident has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'acknowledge_incident'),
	ARRAY['reference'], 'acknowledge_incident has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'add_note'),
	ARRAY['reference', 'note', 'is_public'], 'add_note has the parameter names of the contract');
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'get_incident'),
	ARRAY['reference'], 'get_incident has the parameter names of the contract');

SELECT cmp_ok((SELECT count(*)::integer FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'naboom_api'::regnamespace),
	'>=', 12, 'naboom_api has at least the 12 functions of release 0.1.0 (the checks below are not vacuous)');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
			WHERE c ~ '^search_path=pg_catalog(, [^,]+)*, pg_temp$')
$$, 'every naboom_api function pins search_path = pg_catalog, ..., pg_temp');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace AND NOT p.prosecdef
$$, 'every naboom_api function is SECURITY DEFINER');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace IN ('naboom'::regnamespace, 'naboom_api'::regnamespace) AND p.prosecdef
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
			WHERE c ~ '^search_path=pg_catalog(, [^,]+)*, pg_temp$')
$$, 'every SECURITY DEFINER function in naboom and naboom_api pins search_path (pg_catalog first, pg_temp last)');

SELECT is_empty($$
	SELECT p.proname::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
	GROUP BY p.proname HAVING count(*) > 1
$$, 'no naboom_api function is overloaded');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND (p.provariadic <> 0 OR 'v' = ANY (p.proargmodes))
$$, 'no naboom_api function is VARIADIC');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text || ': ' || n FROM pg_catalog.pg_proc p, pg_catalog.unnest(p.proargnames) n
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND n IN ('select', 'columns', 'order', 'limit', 'offset', 'and', 'or', 'on_conflict')
$$, 'no naboom_api parameter is named select, columns, order, limit, offset, and, or or on_conflict');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text || ': ' || n FROM pg_catalog.pg_proc p, pg_catalog.unnest(p.proargnames) n
	WHERE p.pronamespace = 'naboom_api'::regnamespace AND n !~ '^[a-z][a-z0-9_]*$'
$$, 'every naboom_api parameter name is snake_case');

-- Issue 13, alerts.
SELECT has_function('naboom_api', 'subscribe_area', ARRAY['text', 'text', 'text[]', 'text', 'text'],
	'naboom_api.subscribe_area exists');
SELECT volatility_is('naboom_api', 'unread_alert_count', ARRAY[]::text[], 'stable', 'unread_alert_count is STABLE (a badge polls it with GET)');
SELECT volatility_is('naboom_api', 'mark_alerts_seen', ARRAY['bigint'], 'volatile', 'mark_alerts_seen is VOLATILE');
SELECT col_type_is('naboom', 'alert', 'seen_at', 'timestamp with time zone', 'naboom.alert.seen_at is a timestamptz');

-- Issue 16, evidence.
SELECT is((SELECT p.proargnames FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proname = 'add_attachment'),
	ARRAY['reference', 'object_key', 'content_type', 'bytes', 'sha256', 'caption', 'taken_at'],
	'add_attachment has the parameter names of the contract');
SELECT volatility_is('naboom_api', 'add_attachment', ARRAY['text', 'text', 'text', 'bigint', 'text', 'text', 'timestamp with time zone'],
	'volatile', 'add_attachment is VOLATILE');
SELECT volatility_is('naboom_api', 'hide_attachment', ARRAY['text', 'bigint', 'text'], 'volatile', 'hide_attachment is VOLATILE');
SELECT col_type_is('naboom_api', 'incident', 'attachments', 'jsonb', 'naboom_api.incident.attachments is jsonb (filled by get_incident)');

SELECT volatility_is('naboom_api', 'get_incident', ARRAY['text'], 'stable', 'get_incident is STABLE (HTTP GET works)');
SELECT volatility_is('naboom_api', 'report_incident',
	ARRAY['text', 'text', 'double precision', 'double precision', 'text', 'text', 'text', 'double precision', 'boolean', 'text'],
	'volatile', 'report_incident is VOLATILE');

-- Readers are the design's read-only functions; everything else writes.
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND p.proname IN ('get_incident', 'incidents_near', 'duplicate_candidates', 'nearest_responders',
			'my_alerts', 'my_subscriptions', 'community_map_geojson', 'community_map_svg',
			'events_since', 'export_my_data', 'sla_report', 'incident_audit', 'community_audit',
			'retention_policies', 'incident_changes',
			'incident_queue', 'community_incidents', 'my_incidents', 'my_assignments',
			-- alerts (issue 13)
			'unread_alert_count',
			-- directory (issue 13)
			'communities', 'categories', 'areas', 'statuses', 'my_memberships', 'members', 'health',
			-- Open311 (issue 15)
			'open311_services', 'open311_requests', 'open311_request')
		AND p.provolatile <> 's'
$$, 'every naboom_api reader is STABLE');
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND p.proname NOT IN ('get_incident', 'incidents_near', 'duplicate_candidates', 'nearest_responders',
			'my_alerts', 'my_subscriptions', 'community_map_geojson', 'community_map_svg',
			'events_since', 'export_my_data', 'sla_report', 'incident_audit', 'community_audit',
			'retention_policies', 'incident_changes',
			'incident_queue', 'community_incidents', 'my_incidents', 'my_assignments',
			-- alerts (issue 13)
			'unread_alert_count',
			-- directory (issue 13)
			'communities', 'categories', 'areas', 'statuses', 'my_memberships', 'members', 'health',
			-- Open311 (issue 15)
			'open311_services', 'open311_requests', 'open311_request')
		AND p.provolatile <> 'v'
$$, 'every naboom_api writer is VOLATILE');

-- The maps are documents, not rows: GeoJSON (jsonb) and SVG (text).
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	JOIN pg_catalog.pg_type t ON t.oid = p.prorettype
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND NOT (p.proname = 'community_map_geojson' AND p.prorettype = 'pg_catalog.jsonb'::regtype)
		AND NOT (p.proname = 'community_map_svg' AND p.prorettype = 'pg_catalog.text'::regtype)
		AND NOT (p.proname LIKE 'open311\_%' AND p.prorettype = 'naboom_api."*/*"'::regtype)
		AND (p.prorettype = 'pg_catalog.record'::regtype OR t.typtype <> 'c'
			OR 'o' = ANY (p.proargmodes) OR 'b' = ANY (p.proargmodes) OR 't' = ANY (p.proargmodes))
$$, 'every naboom_api function returns a named composite type (not record, no OUT/TABLE parameters); the maps and the Open311 documents are documents');

-- Open311 (issue 15): documents of the domain naboom_api."*/*" over text,
-- PostgREST 12's "any" media type handler, named cleanly for PostGraphile.
SELECT is(
	(SELECT t.typtype::text || ' ' || t.typbasetype::regtype::text FROM pg_catalog.pg_type t
	 WHERE t.oid = 'naboom_api."*/*"'::regtype),
	'd text', 'naboom_api."*/*" is a domain over text (PostgREST 12''s any media type handler)');
SELECT matches(pg_catalog.obj_description('naboom_api."*/*"'::regtype, 'pg_type'), '^@name Open311Document\n',
	'the document domain has the smart comment @name Open311Document');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.prokind <> 'f'
$$, 'naboom_api holds functions only (no procedures or aggregates)');

SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace
		AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every naboom_api function has a comment');

SELECT is_empty($$
	SELECT t.typname::text FROM pg_catalog.pg_type t
	WHERE t.typnamespace = 'naboom_api'::regnamespace AND t.typtype = 'c'
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
		AND pg_catalog.obj_description(t.oid, 'pg_type') IS NULL
$$, 'every composite type in naboom_api has a comment');

-- PostGraphile's smart comments (README "PostGraphile"): every SETOF function
-- is a plain list (its own paging, no Relay connection whose `after` would
-- clash with the lists'), and no API type takes a name GraphQL reserves or
-- PostGraphile mangles.  Tags are read from the start of the comment.
SELECT is_empty($$
	SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'naboom_api'::regnamespace AND p.proretset
		AND pg_catalog.obj_description(p.oid, 'pg_proc') COLLATE "C" NOT LIKE E'@simpleCollections only\n%'
$$, 'every SETOF naboom_api function is tagged @simpleCollections only');

SELECT is((SELECT pg_catalog.string_agg(t.typname::text || ': '
			|| pg_catalog.split_part(pg_catalog.obj_description(t.oid, 'pg_type'), E'\n', 1), ', ' ORDER BY t.typname) COLLATE "C"
		FROM pg_catalog.pg_type t
		WHERE t.typnamespace = 'naboom_api'::regnamespace AND t.typname IN ('subscription', 'my_data')),
	'my_data: @name MyDataExport, subscription: @name AlertSubscription',
	'the types subscription and my_data are renamed for GraphQL (Subscription is its root type, my_data would be MyDatum)');

SELECT * FROM finish();
ROLLBACK;
