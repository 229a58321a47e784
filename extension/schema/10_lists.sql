
------------------------------------------------------------------------------
-- The lists people work from (0.7.0): the control room's queue, the
-- community's feed, my reports and assignments, offline sync.  Every list
-- is STABLE (a gateway runs it as a GET in a READ ONLY transaction), returns
-- SETOF a named type, shows each row exactly as get_incident would to the
-- same caller, and pages by keyset: `after` is the opaque cursor of the last
-- row seen, `max_count` the page size (naboom.max_page_size at most).
------------------------------------------------------------------------------

CREATE FUNCTION naboom.check_page_size(max_count integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_page_size' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_page_size(integer) IS
	'The rows a page of a list holds: max_count, or naboom.default_page_size when NULL; naboom.invalid_count outside 1 .. naboom.max_page_size';

CREATE FUNCTION naboom.page_cursor(kind text, parts text[]) RETURNS text
AS 'MODULE_PATHNAME', 'naboom_page_cursor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor(text, text[]) IS
	'The opaque keyset cursor of one row of the list kind, whose sort key is parts (src/page.c)';

CREATE FUNCTION naboom.page_cursor_parts(kind text, cursor text, nparts integer) RETURNS text[]
AS 'MODULE_PATHNAME', 'naboom_page_cursor_parts' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor_parts(text, text, integer) IS
	'The sort key a cursor of the list kind carries (nparts parts), NULL for no cursor; naboom.invalid_cursor for anything else';

------------------------------------------------------------------------------
-- One row of a list, and the caller's view of a page of incidents
------------------------------------------------------------------------------
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

CREATE FUNCTION naboom.incident_visible(is_public boolean, reporter_ref text, actor text,
	my_role naboom.member_role) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT is_public OR (actor IS NULL AND naboom.is_service())
		OR reporter_ref = actor OR coalesce(my_role >= 'responder', false)
$$;

COMMENT ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role) IS
	'Whether the actor (whose role in the incident''s community is my_role) may see an incident: find_incident''s rule and the row-level security policy''s, as an expression a list''s query inlines';

CREATE FUNCTION naboom.incident_items(actor text, page naboom.incident[], cursors text[])
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
