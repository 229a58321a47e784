
------------------------------------------------------------------------------
-- Offline sync (0.7.0): what changed since an app last synced.
--
-- The event stream is the clock.  Every change of an incident writes an
-- event in its own transaction (src/timeline.c: a change that no other topic
-- announces is announced as incident.updated with its version), and the
-- single publisher numbers committed events in commit order (seq, see
-- 07_events.sql and src/events.c).  An incident's position is the seq of its
-- newest published event; naboom_api.incident_changes returns the incidents
-- whose position is past the caller's cursor, in position order, each once
-- and as it is now.  A change that commits late gets a later seq, so it is
-- never behind a cursor already handed out: nothing is skipped.  An
-- incident whose newest event is not yet published is returned (as it is
-- now) at its previous position, and again once its event is numbered.
--
-- Retention deletes old events.  naboom.event_horizon keeps the highest
-- position ever deleted: a cursor behind it may have lost changes and is
-- refused (naboom.cursor_expired, PT410); the app syncs again from scratch.
-- A sync from scratch first pages through the incidents with no retained
-- event after the horizon (the base, in key order), then the stream.
------------------------------------------------------------------------------

CREATE TABLE naboom.event_horizon (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	deleted_through bigint NOT NULL DEFAULT 0 CHECK (deleted_through >= 0)
);

INSERT INTO naboom.event_horizon (id, deleted_through) VALUES (true, 0);

COMMENT ON TABLE naboom.event_horizon IS
	'One row: deleted_through, the highest stream position (event seq) ever deleted (by retention). A sync cursor behind it may have missed changes (naboom_api.incident_changes refuses it with naboom.cursor_expired)';

CREATE FUNCTION naboom.event_horizon_advance() RETURNS trigger
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

CREATE TRIGGER event_horizon AFTER DELETE ON naboom.event
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.event_horizon_advance();

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

CREATE FUNCTION naboom_api.incident_changes(after text DEFAULT NULL, max_count integer DEFAULT NULL,
	community text DEFAULT NULL)
RETURNS SETOF naboom_api.incident_change
LANGUAGE plpgsql STABLE SECURITY DEFINER
-- Planned as the lists are (10_lists.sql): generic plans (custom plans cost
-- about 17 ms of planning a call at design scale, a one-row page's whole
-- time), without sorts (so the stream is read by event_seq_key in order
-- and each incident probed by index, never a hash of the whole stream),
-- without JIT (a page reads about a page: compiling never pays).
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	key text[] := naboom.page_cursor_parts('incident_changes', after, 5);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	v_comm bigint;			-- one community's sync, or NULL: every community's
	gone bigint;
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
	-- On a Citus cluster each community's stream is numbered on its own (as
	-- events_since's): a position says nothing about another community's,
	-- so a sync is one community's, and its horizon is that community's
	-- (kept on the coordinator by retention, naboom.event_position).  On a
	-- single node a sync may be one community's or every one's, and the
	-- horizon is the stream's.
	IF community IS NOT NULL THEN
		v_comm := (naboom.community_by_slug(community)).community_id;
	ELSIF naboom.is_distributed() THEN
		PERFORM naboom.fail('22023', 'naboom.community_required', 'incident_changes needs a community on a distributed naboom',
			'On a Citus cluster each community has its own stream, numbered on its own: a sync position says nothing about another community''s.',
			'Pass community => the slug, and keep one cursor per community.');
	END IF;
	IF naboom.is_distributed() THEN
		gone := coalesce((SELECT p.deleted_through FROM naboom.event_position p WHERE p.community_id = v_comm), 0);
	ELSE
		gone := (SELECT h.deleted_through FROM naboom.event_horizon h WHERE h.id);
	END IF;
	IF key IS NULL THEN
		base := gone;
	ELSIF NOT (key[1] ~ '^[0-9]{1,19}$' AND key[2] ~ '^[0-9]{1,19}$'
		AND key[3] ~ '^-?[0-9]{1,19}$' AND key[4] ~ '^-?[0-9]{1,19}$' AND key[5] ~ '^[0-9]{1,19}$') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'invalid page cursor',
			'The cursor does not hold a sync position.',
			'Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page.');
	ELSIF key[5]::bigint IS DISTINCT FROM coalesce(v_comm, 0) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'the cursor belongs to another sync',
			CASE WHEN key[5] = '0' THEN 'It is a cursor of a sync of every community.'
				ELSE 'It is a cursor of another community''s sync, or of one community''s and this call has none.' END,
			'Pass each cursor back with the community it came with.');
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
			ARRAY[q.pos::text, base::text, q.community_id::text, q.incident_id::text, coalesce(v_comm, 0)::text]) AS cursor
		FROM (
			-- (ROW(i.*): on a cluster the worker's whole row would be of its shard's type)
			(SELECT 0::bigint AS pos, i.community_id, i.incident_id, ROW(i.*)::naboom.incident AS inc, i.updated_at AS changed_at,
				true AS visible
			FROM naboom.incident i
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
			WHERE in_base AND (i.community_id, i.incident_id) > (after_c, after_i)
				AND (v_comm IS NULL OR i.community_id = v_comm)
				AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, service)
				AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.seq > base)
			ORDER BY i.community_id, i.incident_id
			LIMIT n)
			UNION ALL
			(SELECT e.seq, e.community_id, e.incident_id, ROW(i.*)::naboom.incident, e.created_at, v.visible
			FROM naboom.event e
			JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
			CROSS JOIN LATERAL (SELECT coalesce(naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, service),
				false) AS visible) v
			-- (a probe per hidden row, not a hash of every public event)
			LEFT JOIN LATERAL (SELECT true AS was FROM naboom.event x
				WHERE NOT v.visible AND x.community_id = e.community_id AND x.incident_id = e.incident_id
					AND x.is_public LIMIT 1) pub ON true
			WHERE e.seq > CASE WHEN pos = 0 THEN base ELSE pos END
				AND (v_comm IS NULL OR e.community_id = v_comm AND i.community_id = v_comm)
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
	IF naboom.is_distributed() THEN
		items := ARRAY(SELECT it FROM naboom.incident_items_routed(actor, page.shown, page.shown_cursors) it);
	ELSE
		items := ARRAY(SELECT it FROM naboom.incident_items(actor, page.shown, page.shown_cursors) it);
	END IF;
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

COMMENT ON FUNCTION naboom_api.incident_changes(text, integer, text) IS
	E'@simpleCollections only\nOffline sync: every incident the caller may see (of one community, or of every one; one community on a Citus cluster) that changed after the cursor, each once and as it is now (get_incident''s view), in commit-safe stream order (a change that commits late is not skipped); a tombstone (removed) for one the caller could see once and may no longer. Without after: a sync from scratch. Page with the cursor of the last row; naboom.cursor_expired (PT410) when retention deleted changes past it. max_count up to naboom.max_page_size';
