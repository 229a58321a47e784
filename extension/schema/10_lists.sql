
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
	my_role naboom.member_role, service boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	-- (service: actor IS NULL AND naboom.is_service(), which the caller
	-- works out once: on a Citus cluster this runs on the worker, inside a
	-- query Citus only pushes down with immutable functions)
	SELECT is_public OR service OR reporter_ref = actor OR coalesce(my_role >= 'responder', false)
$$;

COMMENT ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role, boolean) IS
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
	-- (unnest of a composite array expands its columns: i has the
	-- incident's; a multi-argument unnest would rename them.)
	FROM unnest(page) WITH ORDINALITY AS i
	LEFT JOIN unnest(cursors) WITH ORDINALITY AS p(cursor, ord) ON p.ord = i.ordinality
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
	ORDER BY i.ordinality
$$;

COMMENT ON FUNCTION naboom.incident_items(text, naboom.incident[], text[]) IS
	'A page of a list: the incidents (already filtered to those the actor may see) as incident_out shows them to the actor, in the page''s order, each with its cursor';

CREATE FUNCTION naboom.incident_items_routed(actor text, page naboom.incident[], cursors text[])
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE AS $$
-- naboom.incident_items for a Citus cluster, the same rows.  PL/pgSQL:
-- Citus plans no SQL function's parameters against distributed tables.
-- (On a single node the SQL function, which the planner inlines into the
-- list's query, is about 9 % faster a page: both are kept.)  One statement
-- per run of the page's rows in one community (the runs keep the page's
-- order; a page is usually one community's, one run), its rows filtered by
-- that community: the planner
-- carries the constant to every table joined on community_id, so Citus
-- sends the statement whole to the community's node (the subquery, which
-- it cannot carry to, is filtered itself).  Whether the caller is the
-- service is worked out here, on the coordinator.
DECLARE
	service boolean := actor IS NULL AND naboom.is_service();
	total integer := coalesce(cardinality(page), 0);
	v_comm bigint;
	k integer := 1;
	j integer;
BEGIN
	WHILE k <= total LOOP
		v_comm := (page[k]).community_id;
		j := k;
		WHILE j < total AND (page[j + 1]).community_id = v_comm LOOP
			j := j + 1;
		END LOOP;
		RETURN QUERY
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
				WHERE d.community_id = i.community_id AND d.duplicate_of = i.incident_id
					AND d.community_id = v_comm),
			i.is_public, i.version, i.escalation_level,
			i.created_at, i.acknowledged_at, i.resolved_at, i.closed_at, i.updated_at,
			i.created_at + cat.ack_target, i.created_at + cat.resolve_target,
			st.status_type = 'open' AND (i.acknowledged_at IS NULL AND now() > i.created_at + cat.ack_target
				OR now() > i.created_at + cat.resolve_target),
			p.cursor
		-- (unnest of a composite array expands its columns: i has the
		-- incident's; a multi-argument unnest would rename them.)
		FROM unnest(page[k:j]) WITH ORDINALITY AS i
		LEFT JOIN unnest(cursors[k:j]) WITH ORDINALITY AS p(cursor, ord) ON p.ord = i.ordinality
		JOIN naboom.community c ON c.community_id = i.community_id
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
		CROSS JOIN LATERAL (SELECT service AS service,
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
		WHERE i.community_id = v_comm
		ORDER BY i.ordinality;
		k := j + 1;
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom.incident_items_routed(text, naboom.incident[], text[]) IS
	'naboom.incident_items on a Citus cluster: the same rows, read one community at a time so that Citus routes each statement to its node';

------------------------------------------------------------------------------
-- The queue, the feed, my reports and my assignments (issue 13, items 1-3)
--
-- Each reader picks one page of naboom.incident rows with a keyset
-- condition on an index, records who read the private ones
-- (naboom.audit_reads, as incidents_near does), and hands the page to
-- naboom.incident_items, so a row shows exactly what get_incident would
-- show the same caller.  Cursor parts are text: times travel as integer
-- microseconds since the epoch (exact, and independent of the session's
-- DateStyle and TimeZone), ids as integers.
--
-- Plans: each reader runs with plan_cache_mode = force_generic_plan.  Its
-- page query is one keyset condition on an index, whatever the arguments,
-- so a generic plan is as good as a custom one; left to choose, PL/pgSQL
-- kept planning custom plans for the page query and incident_items' joins
-- on every call, which cost most of a first page (bench/: 5.6 ms a call
-- against 2.3 ms generic at SCALE=small).  A feed search is the exception
-- (community_incidents switches back to custom plans for it).
--
-- And the queue, the feed and my reports run with enable_sort = off: their
-- page query must read its index in the list's order and stop at the
-- page.  A generic plan knows neither the LIMIT (it takes a parameter for
-- 10% of the rows) nor how much the filters keep (it guessed one row of
-- the queue's segment), and then preferred a bitmap scan and a sort of
-- every row that matched (bench/ at SCALE=small: the feed sorted 1,900
-- rows for a page of 50).  Without a sort, reading the index in order is
-- the only plan left.  (incident_items' ORDER BY still sorts its page:
-- there is no other way to do it, so the setting changes nothing there.)
--
-- And every list runs with jit = off.  The same generic plan is costed as
-- if it read the whole community (the LIMIT unknown, the filters guessed
-- to keep one row), above jit_above_cost, so PostgreSQL compiled it on
-- every call: 165 ms of JIT for a 0.35 ms feed page at design scale
-- (bench/, 1M incidents).  A page reads about a page: compiling never pays.
------------------------------------------------------------------------------
-- (STABLE, as what they call on timestamptz is: so they inline into the
-- queries that use them, which an IMMUTABLE label would prevent.)
CREATE FUNCTION naboom.cursor_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT (extract(epoch FROM t) * 1000000)::bigint::text
$$;

COMMENT ON FUNCTION naboom.cursor_time(timestamptz) IS
	'A time as a cursor part: integer microseconds since 1970-01-01 UTC';

CREATE FUNCTION naboom.cursor_invalid() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'invalid page cursor',
		'The cursor''s sort key is not one this list makes.',
		'Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page.');
END
$$;

COMMENT ON FUNCTION naboom.cursor_invalid() IS
	'Raise naboom.invalid_cursor (22023) for a cursor whose checksum is right but whose sort key no list makes (one made by hand)';

CREATE FUNCTION naboom.cursor_bigint(part text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF part !~ '^-?[0-9]{1,18}$' THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	RETURN part::bigint;
END
$$;

COMMENT ON FUNCTION naboom.cursor_bigint(text) IS
	'An integer cursor part (an id, or a time in microseconds), NULL for NULL (no cursor); naboom.invalid_cursor (22023) for anything else';

CREATE FUNCTION naboom.cursor_timestamp(part text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT 'epoch'::timestamptz + naboom.cursor_bigint(part) * interval '1 microsecond'
$$;

COMMENT ON FUNCTION naboom.cursor_timestamp(text) IS
	'The time a cursor part made by naboom.cursor_time carries, NULL for NULL (no cursor); naboom.invalid_cursor (22023) for anything else';

CREATE FUNCTION naboom.check_statuses(statuses text[], live_only boolean) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	unknown text;
BEGIN
	IF statuses IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT s INTO unknown FROM unnest(statuses) s
	WHERE s IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.status x WHERE x.status = s) LIMIT 1;
	IF FOUND OR cardinality(statuses) = 0 THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_status', format('unknown status "%s"', left(coalesce(unknown, ''), 40)),
			'Statuses: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order) FROM naboom.status x) || '.',
			'Leave statuses out for all of them.');
	END IF;
	SELECT s INTO unknown FROM unnest(statuses) s JOIN naboom.status x ON x.status = s
	WHERE live_only AND x.status_type <> 'open' LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.status_not_live', format('status "%s" is not a live status', unknown),
			'The queue holds live incidents only: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order)
				FROM naboom.status x WHERE x.status_type = 'open') || '.',
			'Use community_incidents for incidents that are no longer live.');
	END IF;
	RETURN statuses;
END
$$;

COMMENT ON FUNCTION naboom.check_statuses(text[], boolean) IS
	'The statuses if every one is known (and live, when live_only); NULL for all; else naboom.unknown_status or naboom.status_not_live (22023)';

CREATE FUNCTION naboom.check_area(c naboom.community, area text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	IF area IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT a.area_id INTO id FROM naboom.area a WHERE a.community_id = c.community_id AND a.code = lower(area);
	IF NOT FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_area',
			format('unknown area "%s" in community "%s"', left(area, 40), c.slug),
			'Known areas: ' || (SELECT coalesce(string_agg(a.code, ', ' ORDER BY a.code), 'none')
				FROM naboom.area a WHERE a.community_id = c.community_id) || '.',
			'Pick a known area, or leave area out for all.');
	END IF;
	RETURN id;
END
$$;

COMMENT ON FUNCTION naboom.check_area(naboom.community, text) IS
	'The id of the community''s area with this code; NULL for none; else naboom.unknown_area (22023)';

-- The SLA time of a live incident that falls due first: acknowledge-by
-- (or resolve-by, if that is sooner) while unacknowledged, else resolve-by.
-- It is overdue once now() passes it: the rule of incident_items' overdue.
CREATE FUNCTION naboom.sla_due(created_at timestamptz, acknowledged_at timestamptz,
	ack_target interval, resolve_target interval) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN acknowledged_at IS NULL
		THEN least(created_at + ack_target, created_at + resolve_target)
		ELSE created_at + resolve_target END
$$;

COMMENT ON FUNCTION naboom.sla_due(timestamptz, timestamptz, interval, interval) IS
	'When a live incident''s next SLA falls due: the earlier of acknowledge-by and resolve-by while unacknowledged, else resolve-by; past it, the incident is overdue';

-- Priority as the queue sorts it: critical first.
CREATE FUNCTION naboom.priority_rank(p naboom.priority) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
$$;

COMMENT ON FUNCTION naboom.priority_rank(naboom.priority) IS 'The queue''s order of priorities: 0 for critical .. 3 for low';

-- The queue's order from an index: the due time of each live incident
-- (naboom.sla_due of its category's targets), stamped by the workflow
-- trigger on every change of status, acknowledgement or category, and by
-- naboom.restamp_queue_due when a category's targets change; NULL when the
-- incident is not live.  Overdue is due < now(), so for one priority the
-- overdue incidents are one range of the index and the rest the next.
ALTER TABLE naboom.incident ADD COLUMN queue_due_at timestamptz;

COMMENT ON COLUMN naboom.incident.queue_due_at IS
	'Live incidents: when the next SLA falls due (naboom.sla_due: acknowledge-by while unacknowledged, if sooner than resolve-by; else resolve-by), the key of the queue''s index; NULL when not live. Set by the workflow trigger and naboom.restamp_queue_due';

CREATE INDEX incident_queue_idx ON naboom.incident (community_id, priority, queue_due_at, created_at, incident_id)
	WHERE queue_due_at IS NOT NULL;

CREATE FUNCTION naboom.restamp_queue_due(community_id bigint, category_code text) RETURNS bigint
AS 'MODULE_PATHNAME', 'naboom_restamp_queue_due' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.restamp_queue_due(bigint, text) IS
	'Stamp queue_due_at again on the live incidents of a category (both NULL: of every incident) after its SLA targets changed, without a new version, timeline entry, event or audit row per incident; returns the rows changed';

CREATE FUNCTION naboom.category_targets_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM naboom.restamp_queue_due(NEW.community_id, NEW.code);
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.category_targets_changed() IS
	'AFTER UPDATE of a category''s SLA targets: its live incidents'' queue_due_at follows (naboom.restamp_queue_due)';

CREATE TRIGGER category_targets_changed AFTER UPDATE OF ack_target, resolve_target ON naboom.category
	FOR EACH ROW WHEN (OLD.ack_target IS DISTINCT FROM NEW.ack_target OR OLD.resolve_target IS DISTINCT FROM NEW.resolve_target)
	EXECUTE FUNCTION naboom.category_targets_changed();

-- Statuses are data: an admin who makes a status live, or no longer live,
-- changes which incidents are in the queue (rare; every incident is
-- checked, and only those whose due time changes are written).
CREATE FUNCTION naboom.status_types_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM naboom.restamp_queue_due(NULL, NULL);
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.status_types_changed() IS
	'AFTER UPDATE of naboom.status.status_type: every incident''s queue_due_at follows (naboom.restamp_queue_due)';

CREATE TRIGGER status_types_changed AFTER UPDATE OF status_type ON naboom.status
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.status_types_changed();

-- The feed pages newest first; my_incidents per reporter, newest first.
CREATE INDEX incident_feed_idx ON naboom.incident (community_id, created_at DESC, incident_id DESC);

CREATE INDEX incident_mine_idx ON naboom.incident (reporter_ref, created_at DESC, incident_id DESC)
	WHERE reporter_ref IS NOT NULL;

-- The feed's search: full-text search with the 'simple' configuration
-- (lower-cased words, no stemming, no stop words), which treats English and
-- Afrikaans alike; PostgreSQL ships no Afrikaans dictionary.
CREATE INDEX incident_search_idx ON naboom.incident USING gin
	(to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, '') || ' ' || coalesce(address, '')));

------------------------------------------------------------------------------
-- API: the control room's queue
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.incident_queue(community text, statuses text[] DEFAULT NULL,
	priorities text[] DEFAULT NULL, category text DEFAULT NULL, area text DEFAULT NULL,
	assignee text DEFAULT NULL, overdue_only boolean DEFAULT false, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	-- Sort key of the last row seen: the first page's clock, priority,
	-- due time, creation time, id.
	cur text[] := naboom.page_cursor_parts('queue', after, 5);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	my_role naboom.member_role := naboom.require_role(c, actor, 'responder');
	service boolean := actor IS NULL AND naboom.is_service();
	v_statuses text[] := naboom.check_statuses(statuses, true);
	v_categories text[] := naboom.check_categories(c, CASE WHEN category IS NOT NULL THEN ARRAY[category] END);
	v_area bigint := naboom.check_area(c, area);
	v_priorities naboom.priority[];
	live text[] := ARRAY(SELECT x.status FROM naboom.status x WHERE x.status_type = 'open');
	-- Overdue depends on the clock: every page of one walk sorts by the
	-- clock of its first page, which the cursor carries.
	t0 timestamptz := coalesce(naboom.cursor_timestamp(cur[1]), now());
	c_seg integer := -1;
	c_due timestamptz := naboom.cursor_timestamp(cur[3]);
	c_created timestamptz := naboom.cursor_timestamp(cur[4]);
	c_id bigint := naboom.cursor_bigint(cur[5]);
	-- The queue's segments in order: overdue critical, high, medium, low,
	-- then the same four not yet overdue.
	ranks naboom.priority[] := ARRAY['critical', 'high', 'medium', 'low']::naboom.priority[];
	seg integer;
	p naboom.priority;
	lo_due timestamptz;
	lo_created timestamptz;
	lo_id bigint;
	hi_due timestamptz;
	page naboom.incident[] := '{}';
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF priorities IS NOT NULL THEN
		v_priorities := ARRAY(SELECT naboom.check_priority(lower(x)) FROM unnest(priorities) x);
		IF cardinality(v_priorities) = 0 THEN
			PERFORM naboom.check_priority(NULL);
		END IF;
	END IF;
	IF assignee IS NOT NULL AND NOT EXISTS (SELECT 1 FROM naboom.member m
			WHERE m.community_id = c.community_id AND m.user_ref = assignee) THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_assignee',
			format('"%s" is not a member of community "%s"', left(assignee, 40), c.slug),
			'Only members of the community are assigned its incidents.', 'Filter by the user_ref of a responder of the community.');
	END IF;
	IF cur IS NOT NULL THEN
		IF array_position(cur, NULL) IS NOT NULL OR cur[2] NOT IN ('low', 'medium', 'high', 'critical') THEN
			PERFORM naboom.cursor_invalid();
		END IF;
		c_seg := CASE WHEN c_due < t0 THEN 0 ELSE 4 END + naboom.priority_rank(cur[2]::naboom.priority);
	END IF;

	-- The order is (overdue, priority, due time, age), and overdue is
	-- queue_due_at < t0: each segment (overdue or not, one priority) is one
	-- range of incident_queue_idx in the queue's order, so a page reads
	-- the segments in turn, each by an index scan that stops at the rows
	-- the page still needs: about a page, never the whole community.  The
	-- cursor's segment starts after the cursor's row, the ones before it
	-- are skipped.  (One query per segment rather than a UNION ALL: only
	-- an ORDER BY guarantees an order, and the executor would sort them.)
	FOR seg IN GREATEST(c_seg, 0) .. 7 LOOP
		p := ranks[seg % 4 + 1];
		CONTINUE WHEN v_priorities IS NOT NULL AND NOT p = ANY (v_priorities);
		EXIT WHEN coalesce(overdue_only, false) AND seg >= 4;
		IF seg = c_seg THEN
			lo_due := c_due;
			lo_created := c_created;
			lo_id := c_id;
		ELSE
			-- (a row comparison strictly after (t0, -infinity, 0) is due >= t0)
			lo_due := CASE WHEN seg < 4 THEN '-infinity' ELSE t0 END;
			lo_created := '-infinity';
			lo_id := 0;
		END IF;
		hi_due := CASE WHEN seg < 4 THEN t0 ELSE 'infinity' END;
		-- (ROW(i.*): on a cluster the worker's whole row would be of its shard's type)
		page := page || ARRAY(
			SELECT ROW(i.*)::naboom.incident FROM naboom.incident i
			WHERE i.community_id = c.community_id
				AND i.priority = p
				AND i.queue_due_at IS NOT NULL
				-- (no OR here: one row comparison and one bound, index
				-- conditions in every plan, generic or not)
				AND (i.queue_due_at, i.created_at, i.incident_id) > (lo_due, lo_created, lo_id)
				AND i.queue_due_at < hi_due
				AND i.status = ANY (live)
				AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
				AND (v_categories IS NULL OR i.category_code = ANY (v_categories))
				AND (v_area IS NULL OR i.area_id = v_area)
				AND (assignee IS NULL OR i.assignee_ref = assignee)
				AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, my_role, service)
			ORDER BY i.queue_due_at, i.created_at, i.incident_id
			LIMIT n - cardinality(page));
		EXIT WHEN cardinality(page) >= n;
	END LOOP;

	SELECT array_agg(naboom.page_cursor('queue', ARRAY[naboom.cursor_time(t0), q.priority::text,
				naboom.cursor_time(q.queue_due_at), naboom.cursor_time(q.created_at), q.incident_id::text])
			ORDER BY q.ordinality),
		array_agg(q.community_id) FILTER (WHERE NOT q.is_public),
		array_agg(q.incident_id) FILTER (WHERE NOT q.is_public),
		array_agg(jsonb_build_object('reference', q.reference)) FILTER (WHERE NOT q.is_public)
	INTO cursors, read_c, read_i, read_args
	FROM unnest(page) WITH ORDINALITY AS q;

	-- Private incidents are emergency data: who saw them is recorded, all
	-- in one go, before any row reaches the caller.
	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('incident_queue', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.incident_queue(text, text[], text[], text, text, text, boolean, text, integer) IS
	E'@simpleCollections only\nThe control room''s queue: the community''s live incidents, most urgent first (overdue, then critical before high before medium before low, then the SLA that falls due first, then the oldest). One walk through the pages sorts by the clock of its first page (the cursor carries it); each row''s overdue is as of now. For responders, moderators, admins and the service';

------------------------------------------------------------------------------
-- API: the community's feed
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.community_incidents(community text, statuses text[] DEFAULT NULL,
	category text DEFAULT NULL, area text DEFAULT NULL, since timestamptz DEFAULT NULL,
	until timestamptz DEFAULT NULL, search text DEFAULT NULL, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	cur text[] := naboom.page_cursor_parts('feed', after, 2);
	c_created timestamptz := naboom.cursor_timestamp(cur[1]);
	c_id bigint := naboom.cursor_bigint(cur[2]);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	my_role naboom.member_role := CASE WHEN actor IS NOT NULL THEN naboom.role_in(c.community_id, actor) END;
	staff boolean := service OR coalesce(my_role >= 'responder', false);
	v_statuses text[] := naboom.check_statuses(statuses, false);
	v_categories text[] := naboom.check_categories(c, CASE WHEN category IS NOT NULL THEN ARRAY[category] END);
	v_area bigint := naboom.check_area(c, area);
	v_search text := CASE WHEN search IS NOT NULL THEN naboom.clean_text('search', search, true, 200) END;
	q tsquery;
	page naboom.incident[];
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF array_position(cur, NULL) IS NOT NULL THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	IF since > until THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'since must not be after until',
			format('The range is [%s, %s).', since, until), 'Give since before until, or leave one out.');
	END IF;
	IF v_search IS NOT NULL THEN
		q := websearch_to_tsquery('simple', v_search);
		IF numnode(q) = 0 THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_search', 'search has no words to look for',
				format('"%s" holds only punctuation or operators.', left(v_search, 40)),
				'Search for words of the title, description or address.');
		END IF;
		-- A search is planned for its words (the GIN index and a sort of
		-- what it finds for a rare word, the feed's index for a common
		-- one); the function's SET clauses restore the generic mode and
		-- enable_sort when it returns.
		PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
		PERFORM set_config('enable_sort', 'on', true);
	END IF;

	SELECT array_agg(f.i ORDER BY f.ord), array_agg(f.cursor ORDER BY f.ord),
		array_agg((f.i).community_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg((f.i).incident_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg(jsonb_build_object('reference', (f.i).reference)) FILTER (WHERE NOT (f.i).is_public)
	INTO page, cursors, read_c, read_i, read_args
	FROM (
		SELECT ROW(i.*)::naboom.incident AS i,
			naboom.page_cursor('feed', ARRAY[naboom.cursor_time(i.created_at), i.incident_id::text]) AS cursor,
			row_number() OVER (ORDER BY i.created_at DESC, i.incident_id DESC) AS ord
		FROM naboom.incident i
		WHERE i.community_id = c.community_id
			-- (no OR here: one row comparison, an index condition in
			-- every plan, generic or not; the first page starts at infinity)
			AND (i.created_at, i.incident_id) < (coalesce(c_created, 'infinity'), coalesce(c_id, 0))
			AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
			AND (v_categories IS NULL OR i.category_code = ANY (v_categories))
			AND (v_area IS NULL OR i.area_id = v_area)
			AND (since IS NULL OR i.created_at >= since)
			AND (until IS NULL OR i.created_at < until)
			AND (i.is_public OR service OR i.reporter_ref = actor OR staff)
			-- The address of an incident shown blurred is hidden, so it is
			-- not searched either: it would give the place away.
			AND (q IS NULL OR to_tsvector('simple'::regconfig, i.title || ' ' || coalesce(i.description, '')
					|| ' ' || coalesce(i.address, '')) @@ q
				AND (staff OR i.reporter_ref IS NOT DISTINCT FROM actor AND actor IS NOT NULL
					OR NOT (SELECT cat.is_sensitive FROM naboom.category cat
						WHERE cat.community_id = i.community_id AND cat.code = i.category_code)
					OR to_tsvector('simple'::regconfig, i.title || ' ' || coalesce(i.description, '')) @@ q))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT n) f;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('community_incidents', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.community_incidents(text, text[], text, text, timestamptz, timestamptz, text, text, integer) IS
	E'@simpleCollections only\nThe community''s feed, newest first, every status unless statuses are given: public incidents for everyone, private ones for their reporter, responders, moderators and the service. search: words of the title, description or address (full-text search, ''simple'' configuration; the address only where the caller sees it). Paging is stable for what had committed before the first page; see the README on late commits';

------------------------------------------------------------------------------
-- API: my reports and my assignments
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.my_incidents(statuses text[] DEFAULT NULL, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	cur text[] := naboom.page_cursor_parts('mine', after, 2);
	c_created timestamptz := naboom.cursor_timestamp(cur[1]);
	c_id bigint := naboom.cursor_bigint(cur[2]);
	actor text := naboom.require_actor();
	v_statuses text[] := naboom.check_statuses(statuses, false);
	page naboom.incident[];
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF array_position(cur, NULL) IS NOT NULL THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'my incidents are a person''s',
			'The naboom service reports nothing of its own.', 'Call with the person''s JWT claims.');
	END IF;
	-- (ordered by the sort key itself, not a window function: on a
	-- cluster the inner query runs on every node, the rest here)
	SELECT array_agg(f.i ORDER BY f.created_at DESC, f.incident_id DESC),
		array_agg(f.cursor ORDER BY f.created_at DESC, f.incident_id DESC),
		array_agg((f.i).community_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg((f.i).incident_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg(jsonb_build_object('reference', (f.i).reference)) FILTER (WHERE NOT (f.i).is_public)
	INTO page, cursors, read_c, read_i, read_args
	FROM (
		SELECT ROW(i.*)::naboom.incident AS i, i.created_at, i.incident_id,
			naboom.page_cursor('mine', ARRAY[naboom.cursor_time(i.created_at), i.incident_id::text]) AS cursor
		FROM naboom.incident i
		WHERE i.reporter_ref = actor
			-- (no OR here: one row comparison, an index condition in
			-- every plan, generic or not; the first page starts at infinity)
			AND (i.created_at, i.incident_id) < (coalesce(c_created, 'infinity'), coalesce(c_id, 0))
			AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT n) f;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('my_incidents', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.my_incidents(text[], text, integer) IS
	E'@simpleCollections only\nWhat the caller reported, in every community, newest first (every status unless statuses are given)';

CREATE FUNCTION naboom_api.my_assignments()
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();	-- (C: loads the library, which defines the setting)
	n integer := current_setting('naboom.max_page_size')::integer;
	live text[] := ARRAY(SELECT x.status FROM naboom.status x WHERE x.status_type = 'open');
	t timestamptz := now();
	page naboom.incident[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'assignments are a person''s',
			'The naboom service is assigned nothing.', 'Call with the responder''s JWT claims.');
	END IF;
	-- (ordered by the sort key itself, not a window function: on a
	-- cluster the inner query runs on every node, the rest here)
	SELECT array_agg(a.i ORDER BY a.overdue DESC, a.rank, a.due, a.created_at, a.incident_id),
		array_agg((a.i).community_id) FILTER (WHERE NOT (a.i).is_public),
		array_agg((a.i).incident_id) FILTER (WHERE NOT (a.i).is_public),
		array_agg(jsonb_build_object('reference', (a.i).reference)) FILTER (WHERE NOT (a.i).is_public)
	INTO page, read_c, read_i, read_args
	FROM (
		-- (queue_due_at: the next SLA of a live incident, naboom.sla_due of
		-- its category's targets, stamped by the workflow)
		SELECT ROW(i.*)::naboom.incident AS i, i.queue_due_at < t AS overdue, naboom.priority_rank(i.priority) AS rank,
			i.queue_due_at AS due, i.created_at, i.incident_id
		FROM naboom.incident i
		LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
		WHERE i.assignee_ref = actor
			AND i.status = ANY (live)
			AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, false)
		ORDER BY i.queue_due_at < t DESC, naboom.priority_rank(i.priority), i.queue_due_at, i.created_at, i.incident_id
		LIMIT n) a;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('my_assignments', read_c, read_i, read_args);
	END IF;
	-- No cursors: unnest pads the empty array with NULLs.
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, '{}'::text[]);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, '{}'::text[]);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.my_assignments() IS
	E'@simpleCollections only\nThe caller''s live assigned incidents, in every community, most urgent first as in incident_queue; at most naboom.max_page_size rows, no paging (cursor is NULL)';
