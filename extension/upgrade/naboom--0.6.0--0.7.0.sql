-- naboom 0.6.0 -> 0.7.0
--
-- 0.7.0 makes naboom operated day to day (issue 13): the lists people work
-- from (the control room's queue, the community feed, my reports and
-- assignments, offline sync), alert read state and area subscriptions, the
-- pickers and profile, and health().
--
-- Hand-written DDL first (each block under its own heading, written to work
-- on a 0.6.0 database that has data); then the functions, regenerated from
-- extension/schema/ between the BEGIN and END lines below.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.7.0'" to load this file. \quit

-- functions: naboom.audit_maintain
-- functions: naboom.check_page_size naboom.page_cursor naboom.page_cursor_parts
-- Issue 13, lists: the row every list returns.
CREATE TYPE naboom_api.incident_item AS (
	reference text,
	community text,
	category text,
	category_en text,
	category_af text,
	kind text,
	title text,
	description text,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	accuracy_m double precision,
	address text,
	area text,
	outside_boundary boolean,
	priority text,
	status text,
	status_type text,
	status_en text,
	status_af text,
	status_note text,
	reporter_name text,
	is_mine boolean,
	assignee text,
	assignee_name text,
	acknowledged boolean,
	duplicate_of text,
	duplicate_count integer,
	is_public boolean,
	version integer,
	escalation_level integer,
	created_at timestamptz,
	acknowledged_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	updated_at timestamptz,
	ack_due_at timestamptz,
	resolve_due_at timestamptz,
	overdue boolean,
	cursor text
);

COMMENT ON TYPE naboom_api.incident_item IS
	'One incident of a list, exactly as get_incident shows it to the same caller (blurred location, reporter hidden from the public), without the timeline; with its SLA deadlines (acknowledge by, resolve by, from the category''s targets), whether a live incident is past one of them, the number of reports merged into it as duplicates, and the opaque cursor to pass as `after` for the rows that follow it';

-- functions: naboom.incident_visible naboom.incident_items
-- Issue 13, offline sync: the event horizon (the highest stream position
-- retention deleted) and the row incident_changes returns.  Stream
-- positions are handed out without gaps (one publisher, max + 1), so what a
-- 0.6.0 retention deleted shows as gaps: the horizon starts at the highest
-- missing position below the highest retained one.
CREATE TABLE naboom.event_horizon (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	deleted_through bigint NOT NULL DEFAULT 0 CHECK (deleted_through >= 0)
);

INSERT INTO naboom.event_horizon (id, deleted_through)
SELECT true, coalesce(max(g.seq - 1), 0)
FROM (SELECT e.seq, lag(e.seq) OVER (ORDER BY e.seq) AS prev FROM naboom.event e WHERE e.seq IS NOT NULL) g
WHERE g.seq > 1 AND g.prev IS DISTINCT FROM g.seq - 1;

COMMENT ON TABLE naboom.event_horizon IS
	'One row: deleted_through, the highest stream position (event seq) ever deleted (by retention). A sync cursor behind it may have missed changes (naboom_api.incident_changes refuses it with naboom.cursor_expired)';

CREATE TYPE naboom_api.incident_change AS (
	reference text,
	community text,
	category text,
	category_en text,
	category_af text,
	kind text,
	title text,
	description text,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	accuracy_m double precision,
	address text,
	area text,
	outside_boundary boolean,
	priority text,
	status text,
	status_type text,
	status_en text,
	status_af text,
	status_note text,
	reporter_name text,
	is_mine boolean,
	assignee text,
	assignee_name text,
	acknowledged boolean,
	duplicate_of text,
	duplicate_count integer,
	is_public boolean,
	version integer,
	escalation_level integer,
	created_at timestamptz,
	acknowledged_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	updated_at timestamptz,
	ack_due_at timestamptz,
	resolve_due_at timestamptz,
	overdue boolean,
	cursor text,
	changed_at timestamptz,
	removed boolean
);

COMMENT ON TYPE naboom_api.incident_change IS
	'One changed incident for offline sync: the incident_item columns exactly as get_incident shows it to the caller now, when it last changed, and removed = true (a tombstone: only reference, community, cursor and changed_at filled) for an incident the caller could see once and no longer may (it was made private)';

-- functions: naboom.event_horizon_advance naboom_api.incident_changes
-- BEGIN replaced functions

CREATE OR REPLACE FUNCTION naboom.audit_maintain(months_ahead integer DEFAULT 3) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	m date;
	-- Months are calendar months in UTC.
	this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
	name text;
	made text[] := '{}';
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'months_ahead must be between 0 and 120',
			format('It is %s.', coalesce(months_ahead::text, 'NULL')), 'Use e.g. 3.');
	END IF;
	-- Months that already have rows in the default partition come first.
	FOR m IN
		SELECT DISTINCT date_trunc('month', d.logged_at AT TIME ZONE 'UTC')::date FROM naboom.audit_log_default d
		UNION
		SELECT (this_month + make_interval(months => k))::date FROM generate_series(0, months_ahead) k
		ORDER BY 1
	LOOP
		name := 'audit_log_' || to_char(m, 'YYYYMM');
		CONTINUE WHEN to_regclass('naboom.' || name) IS NOT NULL;
		IF EXISTS (SELECT 1 FROM naboom.audit_log_default d
				WHERE d.logged_at >= m::timestamp AT TIME ZONE 'UTC'
					AND d.logged_at < (m + interval '1 month')::timestamp AT TIME ZONE 'UTC') THEN
			-- Rows logged before their month had a partition: the new
			-- partition may not overlap the default's rows, so they move.
			PERFORM naboom.audit_move_default(m, name);
		ELSE
			EXECUTE format('CREATE TABLE naboom.%I PARTITION OF naboom.audit_log FOR VALUES FROM (%L) TO (%L)',
				name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
		END IF;
		EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.%I
			FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard()', name);
		EXECUTE format('ALTER TABLE naboom.%I ENABLE ALWAYS TRIGGER audit_no_truncate', name);
		-- Every partition belongs to the extension, as those of the install
		-- script do: pg_dump then leaves their definitions to CREATE
		-- EXTENSION and dumps their rows with the default partition's (see
		-- 99_security), so a restore in another month finds no clash.
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
					AND d.objid = ('naboom.' || pg_catalog.quote_ident(name))::pg_catalog.regclass
					AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e') THEN
			EXECUTE format('ALTER EXTENSION naboom ADD TABLE naboom.%I', name);
		END IF;
		made := made || name;
	END LOOP;
	RETURN made;
END
$$;

COMMENT ON FUNCTION naboom.audit_maintain(integer) IS
	'Create the monthly partitions of naboom.audit_log from this month to months_ahead months ahead (and for any month whose rows are in the default partition); returns the partitions made, each a member of the extension so that pg_dump dumps its rows with the default partition''s. Run daily by pg_cron';

CREATE OR REPLACE FUNCTION naboom.check_page_size(max_count integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_page_size' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_page_size(integer) IS
	'The rows a page of a list holds: max_count, or naboom.default_page_size when NULL; naboom.invalid_count outside 1 .. naboom.max_page_size';

CREATE OR REPLACE FUNCTION naboom.page_cursor(kind text, parts text[]) RETURNS text
AS 'MODULE_PATHNAME', 'naboom_page_cursor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor(text, text[]) IS
	'The opaque keyset cursor of one row of the list kind, whose sort key is parts (src/page.c)';

CREATE OR REPLACE FUNCTION naboom.page_cursor_parts(kind text, cursor text, nparts integer) RETURNS text[]
AS 'MODULE_PATHNAME', 'naboom_page_cursor_parts' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor_parts(text, text, integer) IS
	'The sort key a cursor of the list kind carries (nparts parts), NULL for no cursor; naboom.invalid_cursor for anything else';

CREATE OR REPLACE FUNCTION naboom.incident_visible(is_public boolean, reporter_ref text, actor text,
	my_role naboom.member_role) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT is_public OR (actor IS NULL AND naboom.is_service())
		OR reporter_ref = actor OR coalesce(my_role >= 'responder', false)
$$;

COMMENT ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role) IS
	'Whether the actor (whose role in the incident''s community is my_role) may see an incident: find_incident''s rule and the row-level security policy''s, as an expression a list''s query inlines';

CREATE OR REPLACE FUNCTION naboom.incident_items(actor text, page naboom.incident[], cursors text[])
RETURNS SETOF naboom_api.incident_item
LANGUAGE sql STABLE AS $$
	-- The rows of one page, in the page's order, each as incident_out shows
	-- it to the actor; the caller has already kept only visible incidents.
	SELECT i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text,
		i.title, i.description,
		ST_Y(v.shown), ST_X(v.shown), v.blur,
		CASE WHEN v.blur THEN greatest(coalesce(i.accuracy_m, 0), 100) ELSE i.accuracy_m END,
		CASE WHEN v.blur THEN NULL ELSE i.address END,
		a.code, i.outside_boundary, i.priority::text, i.status, st.status_type::text,
		st.label_en, st.label_af, i.status_note,
		CASE WHEN w.mine OR w.moderator OR (NOT cat.is_sensitive AND me.role IS NOT NULL)
			THEN rep.display_name END,
		w.mine,
		CASE WHEN w.member THEN i.assignee_ref END,
		CASE WHEN w.member THEN asg.display_name END,
		i.acknowledged_at IS NOT NULL,
		dup.reference,
		(SELECT count(*)::integer FROM naboom.incident d
			WHERE d.community_id = i.community_id AND d.duplicate_of = i.incident_id),
		i.is_public, i.version, i.escalation_level,
		i.created_at, i.acknowledged_at, i.resolved_at, i.closed_at, i.updated_at,
		i.created_at + cat.ack_target, i.created_at + cat.resolve_target,
		st.status_type = 'open' AND (i.acknowledged_at IS NULL AND now() > i.created_at + cat.ack_target
			OR now() > i.created_at + cat.resolve_target),
		p.cursor
	FROM unnest(page, cursors) WITH ORDINALITY AS p(inc, cursor, ord)
	CROSS JOIN LATERAL (SELECT (p.inc).*) i
	JOIN naboom.community c ON c.community_id = i.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = actor
	CROSS JOIN LATERAL (SELECT actor IS NULL AND naboom.is_service() AS service,
		actor IS NOT NULL AND i.reporter_ref IS NOT DISTINCT FROM actor AS mine) s
	CROSS JOIN LATERAL (SELECT s.mine, s.service OR me.role IS NOT NULL AS member,
		s.service OR coalesce(me.role >= 'responder', false) AS staff,
		s.service OR coalesce(me.role >= 'moderator', false) AS moderator) w
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT w.staff AND NOT w.mine AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur,
		CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
	LEFT JOIN naboom.member rep ON rep.community_id = i.community_id AND rep.user_ref = i.reporter_ref
	LEFT JOIN naboom.member asg ON asg.community_id = i.community_id AND asg.user_ref = i.assignee_ref
	LEFT JOIN naboom.incident dup ON dup.community_id = i.community_id AND dup.incident_id = i.duplicate_of
	ORDER BY p.ord
$$;

COMMENT ON FUNCTION naboom.incident_items(text, naboom.incident[], text[]) IS
	'A page of a list: the incidents (already filtered to those the actor may see) as incident_out shows them to the actor, in the page''s order, each with its cursor';

CREATE OR REPLACE FUNCTION naboom.event_horizon_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE naboom.event_horizon h
	SET deleted_through = g.top
	FROM (SELECT pg_catalog.max(o.seq) AS top FROM gone o) g
	WHERE h.id AND g.top > h.deleted_through;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.event_horizon_advance() IS
	'AFTER DELETE statement trigger on naboom.event: moves naboom.event_horizon up to the highest position deleted';

CREATE OR REPLACE FUNCTION naboom_api.incident_changes(after text DEFAULT NULL, max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_change
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	key text[] := naboom.page_cursor_parts('incident_changes', after, 4);
	actor text := naboom.current_actor();
	gone bigint := (SELECT h.deleted_through FROM naboom.event_horizon h WHERE h.id);
	pos bigint := 0;		-- the cursor's position; 0 in the base
	base bigint;			-- the horizon the sync started from
	after_c bigint := -1;	-- the base's key (community, incident)
	after_i bigint := -1;
	in_base boolean;
	page record;
	items naboom_api.incident_item[];
	shown naboom_api.incident_item[];
	j integer := 0;
BEGIN
	IF key IS NULL THEN
		base := gone;
	ELSIF NOT (key[1] ~ '^[0-9]{1,19}$' AND key[2] ~ '^[0-9]{1,19}$'
		AND key[3] ~ '^-?[0-9]{1,19}$' AND key[4] ~ '^-?[0-9]{1,19}$') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'invalid page cursor',
			'The cursor does not hold a sync position.',
			'Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page.');
	ELSE
		pos := key[1]::bigint;
		base := key[2]::bigint;
		after_c := key[3]::bigint;
		after_i := key[4]::bigint;
	END IF;
	-- Expired: retention deleted an event past the cursor (or, in the base,
	-- any event since the base was taken), so a change may be missing.
	IF pos > 0 AND gone > pos OR pos = 0 AND gone <> base THEN
		PERFORM naboom.fail('PT410', 'naboom.cursor_expired', 'sync cursor expired',
			format('Retention deleted the event stream up to position %s; the cursor is at %s.', gone,
				CASE WHEN pos > 0 THEN pos ELSE base END),
			'Sync again from scratch: call incident_changes without after and replace what the app holds with what it returns.');
	END IF;
	-- The base (a sync from scratch, when retention has deleted events):
	-- incidents with no published event after the horizon, in key order;
	-- then the stream, in position order.  An incident's row is its newest
	-- published event; one the caller may no longer see comes back as a
	-- tombstone if it was public once (a public event), so a caller who
	-- never saw it learns nothing.
	in_base := pos = 0 AND base > 0;
	SELECT array_agg(p.cursor ORDER BY p.pos, p.community_id, p.incident_id) AS cursors,
		array_agg(p.changed_at ORDER BY p.pos, p.community_id, p.incident_id) AS changed,
		array_agg(NOT p.visible ORDER BY p.pos, p.community_id, p.incident_id) AS removed,
		array_agg((p.inc).reference ORDER BY p.pos, p.community_id, p.incident_id) AS refs,
		array_agg(p.community_id ORDER BY p.pos, p.community_id, p.incident_id) AS comms,
		bool_or(NOT p.visible) AS tombstones,
		array_agg(p.inc ORDER BY p.pos, p.community_id, p.incident_id) FILTER (WHERE p.visible) AS shown,
		array_agg(p.cursor ORDER BY p.pos, p.community_id, p.incident_id) FILTER (WHERE p.visible) AS shown_cursors,
		coalesce(array_agg(p.community_id) FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_c,
		coalesce(array_agg(p.incident_id) FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_i,
		coalesce(array_agg(jsonb_build_object('reference', (p.inc).reference))
			FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_args
	INTO page
	FROM (
		SELECT q.*, naboom.page_cursor('incident_changes',
			ARRAY[q.pos::text, base::text, q.community_id::text, q.incident_id::text]) AS cursor
		FROM (
			(SELECT 0::bigint AS pos, i.community_id, i.incident_id, i AS inc, i.updated_at AS changed_at,
				true AS visible
			FROM naboom.incident i
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = actor
			WHERE in_base AND (i.community_id, i.incident_id) > (after_c, after_i)
				AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role)
				AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.seq > base)
			ORDER BY i.community_id, i.incident_id
			LIMIT n)
			UNION ALL
			(SELECT e.seq, e.community_id, e.incident_id, i, e.created_at, v.visible
			FROM naboom.event e
			JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = actor
			CROSS JOIN LATERAL (SELECT coalesce(naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role),
				false) AS visible) v
			-- (a probe per hidden row, not a hash of every public event)
			LEFT JOIN LATERAL (SELECT true AS was FROM naboom.event x
				WHERE NOT v.visible AND x.community_id = e.community_id AND x.incident_id = e.incident_id
					AND x.is_public LIMIT 1) pub ON true
			WHERE e.seq > CASE WHEN pos = 0 THEN base ELSE pos END
				AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.seq > e.seq)
				AND (v.visible OR pub.was)
			ORDER BY e.seq
			LIMIT n)
			ORDER BY 1, 2, 3
			LIMIT n) q
	) p;
	IF page.cursors IS NULL THEN
		RETURN;
	END IF;
	-- Private incidents are emergency data: who read them is recorded
	-- before any row reaches the caller (as incidents_near does).
	IF cardinality(page.read_i) > 0 THEN
		PERFORM naboom.audit_reads('incident_changes', page.read_c, page.read_i, page.read_args);
	END IF;
	-- The rows in the page's order: incident_items keeps the order of the
	-- incidents it is given; a tombstone takes its place among them.
	items := ARRAY(SELECT it FROM naboom.incident_items(actor, page.shown, page.shown_cursors) it);
	IF page.tombstones THEN
		shown := items;
		items := '{}';
		FOR k IN 1 .. cardinality(page.cursors) LOOP
			IF page.removed[k] THEN
				items := items || jsonb_populate_record(NULL::naboom_api.incident_item, jsonb_build_object(
					'reference', page.refs[k], 'cursor', page.cursors[k],
					'community', (SELECT c.slug FROM naboom.community c WHERE c.community_id = page.comms[k])));
			ELSE
				j := j + 1;
				items := items || shown[j];
			END IF;
		END LOOP;
	END IF;
	-- (unnest of a composite array expands its columns: the item's, then
	-- changed_at and removed, as incident_change has them)
	RETURN QUERY SELECT * FROM unnest(items, page.changed, page.removed);
END
$$;

COMMENT ON FUNCTION naboom_api.incident_changes(text, integer) IS
	'Offline sync: every incident the caller may see that changed after the cursor, each once and as it is now (get_incident''s view), in commit-safe stream order (a change that commits late is not skipped); a tombstone (removed) for one the caller could see once and may no longer. Without after: a sync from scratch. Page with the cursor of the last row; naboom.cursor_expired (PT410) when retention deleted changes past it. max_count up to naboom.max_page_size';

-- END replaced functions

-- Grants and pinned search paths for what is new (list below, one block per
-- feature, as in 99_security.sql).
REVOKE ALL ON FUNCTION naboom.check_page_size(integer), naboom.page_cursor(text, text[]),
	naboom.page_cursor_parts(text, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role),
	naboom.incident_items(text, naboom.incident[], text[]) FROM PUBLIC;

-- Issue 13, offline sync (as in 99_security.sql): the horizon follows
-- every deletion of events; anyone may sync.
CREATE TRIGGER event_horizon AFTER DELETE ON naboom.event
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.event_horizon_advance();
ALTER TABLE naboom.event_horizon ENABLE ROW LEVEL SECURITY;
CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.event_horizon
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('id');
SELECT pg_catalog.pg_extension_config_dump('naboom.event_horizon', '');
REVOKE ALL ON naboom.event_horizon FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.event_horizon_advance(), naboom_api.incident_changes(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION naboom_api.incident_changes(text, integer)
	TO naboom_anon, naboom_user, naboom_service;

SELECT naboom.pin_search_paths();

NOTIFY pgrst, 'reload schema';
