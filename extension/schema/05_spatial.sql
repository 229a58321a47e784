------------------------------------------------------------------------------
-- Spatial matching through PostGIS (planned queries, GiST indexes): routing
-- to areas, duplicate candidates, responders' positions and the nearest of
-- them, alert areas and the alerts an incident fans out to, maps.
------------------------------------------------------------------------------

CREATE FUNCTION naboom.blur_point(p geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE AS $$
	SELECT ST_SetSRID(ST_MakePoint(
		round((floor(ST_X(p) * 1000) / 1000 + 0.0005)::numeric, 4)::double precision,
		round((floor(ST_Y(p) * 1000) / 1000 + 0.0005)::numeric, 4)::double precision), 4326)
$$;

COMMENT ON FUNCTION naboom.blur_point(geometry) IS
	'The centre of the 0.001 degree grid cell (about 110 m x 100 m here) holding the point: all points of a cell show the same place, so only the cell is revealed';

------------------------------------------------------------------------------
-- C functions (src/spatial.c, src/alerts.c)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.search_box(lat double precision, lon double precision, radius_m double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'naboom_search_box' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.search_box(double precision, double precision, double precision) IS
	'{xmin, ymin, xmax, ymax}: a longitude/latitude box holding every point within radius_m (on the WGS84 spheroid) of the centre; every longitude near a pole or across the antimeridian';

CREATE FUNCTION naboom.check_radius(name text, radius_m double precision) RETURNS double precision
AS 'MODULE_PATHNAME', 'naboom_check_radius' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_radius(text, double precision) IS
	'radius_m if it is more than 0 and at most the naboom.max_radius_m setting, else naboom.invalid_radius (22023)';

CREATE FUNCTION naboom.duplicate_search(community_id bigint, category text, lat double precision,
	lon double precision, exclude_id bigint,
	OUT incident_id bigint, OUT distance_m double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'naboom_duplicate_search' LANGUAGE C STABLE ROWS 20;

COMMENT ON FUNCTION naboom.duplicate_search(bigint, text, double precision, double precision, bigint) IS
	'Live incidents of the category within its duplicate radius and window of the point, nearest first (at most 20)';

CREATE FUNCTION naboom.lock_duplicate_place(community_id bigint, category text, lat double precision,
	lon double precision, incident_id bigint) RETURNS void
AS 'MODULE_PATHNAME', 'naboom_lock_duplicate_place' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.lock_duplicate_place(bigint, text, double precision, double precision, bigint) IS
	'Claim the place of the report incident_id (just inserted) until the transaction ends, and wait for the reports in progress within the category''s duplicate radius that claimed theirs first, so that of two concurrent reports there the later sees the earlier; reports further apart never wait. Call it as its own statement before searching';

CREATE FUNCTION naboom.responder_search(community_id bigint, lat double precision, lon double precision,
	max_count integer, radius_m double precision, exclude_ref text,
	OUT user_ref text, OUT distance_m double precision, OUT reported_at timestamptz, OUT accuracy_m double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'naboom_responder_search' LANGUAGE C STABLE ROWS 10;

COMMENT ON FUNCTION naboom.responder_search(bigint, double precision, double precision, integer, double precision, text) IS
	'On-duty responders of the community with a position fresher than naboom.position_max_age within radius_m, nearest first';

CREATE FUNCTION naboom.alert_incident(community_id bigint, incident_id bigint, responders integer,
	radius_m double precision, escalation_level integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_alert_incident' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.alert_incident(bigint, bigint, integer, double precision, integer) IS
	'Fan out one ring of alerts for an incident (subscribers on the report, then the nearest responders not yet alerted); NULL responders/radius: the community''s defaults. Returns how many members were alerted';

CREATE FUNCTION naboom.incident_alert() RETURNS trigger
AS 'MODULE_PATHNAME', 'naboom_incident_alert' LANGUAGE C;

COMMENT ON FUNCTION naboom.incident_alert() IS 'AFTER INSERT trigger on naboom.incident: the new incident''s alerts, in the same transaction';

CREATE TABLE naboom.responder_position (
	community_id bigint NOT NULL,
	user_ref text NOT NULL,
	position geometry(Point, 4326),
	accuracy_m double precision CHECK (accuracy_m >= 0 AND accuracy_m <= 100000),
	reported_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, user_ref),
	FOREIGN KEY (community_id, user_ref) REFERENCES naboom.member ON DELETE CASCADE
) WITH (fillfactor = 50);

COMMENT ON TABLE naboom.responder_position IS 'The last known position of each responder, per community they respond in. Update-heavy by design: no index on the position and half-empty pages, so an update is a HOT update that touches no index';

COMMENT ON COLUMN naboom.responder_position.position IS 'Where the responder was at reported_at; NULL while off duty (naboom does not track people off duty)';

CREATE INDEX responder_position_user_idx ON naboom.responder_position (user_ref);

CREATE TABLE naboom.subscription (
	community_id bigint NOT NULL,
	subscription_id bigint GENERATED ALWAYS AS IDENTITY,
	user_ref text NOT NULL,
	label text CHECK (length(label) <= 80),
	centre geometry(Point, 4326),
	radius_m double precision CHECK (radius_m > 0 AND radius_m <= 1000000),
	reach geometry(Polygon, 4326),
	categories text[] CHECK (cardinality(categories) BETWEEN 1 AND 100),
	min_priority naboom.priority NOT NULL DEFAULT 'low',
	created_at timestamptz NOT NULL DEFAULT now(),
	area_id bigint,
	PRIMARY KEY (community_id, subscription_id),
	FOREIGN KEY (community_id, user_ref) REFERENCES naboom.member ON DELETE CASCADE,
	CONSTRAINT subscription_area_fkey FOREIGN KEY (community_id, area_id) REFERENCES naboom.area ON DELETE CASCADE,
	CONSTRAINT subscription_circle_or_area CHECK (CASE WHEN area_id IS NULL
		THEN centre IS NOT NULL AND radius_m IS NOT NULL AND reach IS NOT NULL
		ELSE centre IS NULL AND radius_m IS NULL AND reach IS NULL END)
);

COMMENT ON TABLE naboom.subscription IS 'A member''s alert area: a circle (centre, radius) or one of the community''s areas (area_id), optionally some categories only, at or above a priority';

COMMENT ON COLUMN naboom.subscription.area_id IS 'An area subscription: every incident whose point the area covers (nested areas included: not only incidents routed to this area) alerts the member; centre, radius_m and reach are then NULL';

COMMENT ON COLUMN naboom.subscription.reach IS 'A box holding the whole circle (naboom.search_box), GiST-indexed, so fan-out finds the covering subscriptions by index before the exact distance test';

COMMENT ON COLUMN naboom.subscription.categories IS 'Category codes to be alerted about; NULL for all';

CREATE INDEX subscription_reach_idx ON naboom.subscription USING gist (reach);

CREATE INDEX subscription_user_idx ON naboom.subscription (user_ref);

-- Area subscriptions only: the fan-out asks it first whether the community
-- has any (an empty probe when none), then which areas they are on.
CREATE INDEX subscription_area_idx ON naboom.subscription (community_id, area_id) WHERE area_id IS NOT NULL;

CREATE TABLE naboom.alert (
	community_id bigint NOT NULL,
	alert_id bigint GENERATED ALWAYS AS IDENTITY,
	incident_id bigint NOT NULL,
	user_ref text NOT NULL,
	reason text NOT NULL CHECK (reason IN ('subscription', 'responder', 'moderator', 'forwarding')),
	distance_m double precision,
	subscription_id bigint,
	escalation_level integer NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	seen_at timestamptz,
	PRIMARY KEY (community_id, alert_id),
	CONSTRAINT alert_once UNIQUE (community_id, incident_id, user_ref)
);

COMMENT ON TABLE naboom.alert IS 'A targeted notification of an incident to one member (a subscriber, or a nearby on-duty responder), written in the transaction that reported or escalated the incident; at most one per member per incident. Written only by naboom, so it has no foreign keys (their share locks would make a MultiXact on every alerted member under concurrent reports)';

COMMENT ON COLUMN naboom.alert.reason IS
	'subscription: the member''s alert area covers it; responder: the member is among the nearest on-duty responders; moderator: the last escalation step; forwarding: a forwarding of it to an authority gave up (moderators and admins)';

COMMENT ON COLUMN naboom.alert.distance_m IS 'From the subscription centre or the responder''s position to the incident, metres on the WGS84 spheroid';

CREATE INDEX alert_user_idx ON naboom.alert (user_ref, alert_id);

CREATE INDEX alert_created_idx ON naboom.alert USING brin (created_at);

COMMENT ON COLUMN naboom.alert.escalation_level IS '0 for the alerts of the report itself; n for those of escalation step n';

COMMENT ON COLUMN naboom.alert.seen_at IS 'When the member marked it seen (mark_alerts_seen); NULL: unread';

-- Unread alerts only: unread_alert_count and mark_alerts_seen cost what is
-- unread, not a member's whole history.
CREATE INDEX alert_unseen_idx ON naboom.alert (user_ref, alert_id) WHERE seen_at IS NULL;

-- Fires after incident_journal (trigger order is by name; see 03_workflow).
CREATE TRIGGER incident_reach AFTER INSERT ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.incident_alert();

------------------------------------------------------------------------------
-- API types
------------------------------------------------------------------------------
CREATE TYPE naboom_api.duplicate_candidate AS (
	reference text,
	category text,
	title text,
	status text,
	priority text,
	distance_m double precision,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	is_mine boolean,
	created_at timestamptz
);

COMMENT ON TYPE naboom_api.duplicate_candidate IS
	'A live incident that may be the same as a new report. For a blurred location, distance_m is to the shown point and rounded to 100 m';

CREATE TYPE naboom_api.nearby_incident AS (
	reference text,
	community text,
	category text,
	category_en text,
	category_af text,
	kind text,
	title text,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	distance_m double precision,
	area text,
	priority text,
	status text,
	status_type text,
	status_en text,
	status_af text,
	is_mine boolean,
	created_at timestamptz,
	updated_at timestamptz
);

COMMENT ON TYPE naboom_api.nearby_incident IS
	'An incident near a point: distance in metres on the WGS84 spheroid, to the location the caller is shown (the blurred one for sensitive categories)';

CREATE TYPE naboom_api.responder AS (
	user_ref text,
	display_name text,
	distance_m double precision,
	accuracy_m double precision,
	position_at timestamptz,
	is_assignee boolean
);

COMMENT ON TYPE naboom_api.responder IS 'An on-duty responder near an incident, with the distance (metres, WGS84 spheroid) from their last position';

CREATE TYPE naboom_api.position AS (
	communities text[],
	lat double precision,
	lon double precision,
	accuracy_m double precision,
	on_duty boolean,
	reported_at timestamptz
);

COMMENT ON TYPE naboom_api.position IS 'A responder''s own position and duty state, and the communities it applies to';

CREATE TYPE naboom_api.subscription AS (
	id bigint,
	community text,
	label text,
	lat double precision,
	lon double precision,
	radius_m double precision,
	categories text[],
	min_priority text,
	created_at timestamptz,
	area text
);

COMMENT ON TYPE naboom_api.subscription IS E'@name AlertSubscription\nAn alert area of the caller: a circle (lat, lon, radius_m) or one of the community''s areas (area: its code; lat, lon and radius_m NULL), optionally some categories, at or above a priority';

CREATE TYPE naboom_api.alert AS (
	id bigint,
	community text,
	reference text,
	kind text,
	category text,
	category_en text,
	category_af text,
	title text,
	priority text,
	status text,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	reason text,
	distance_m double precision,
	escalation_level integer,
	created_at timestamptz,
	seen_at timestamptz,
	can_acknowledge boolean,
	subscription_id bigint,
	subscription_area text
);

COMMENT ON TYPE naboom_api.alert IS 'An alert to the caller about an incident near them or their alert area; id orders the alerts and is the my_alerts cursor. seen_at: when the caller marked it seen (mark_alerts_seen), NULL while unread. can_acknowledge: the caller may acknowledge the incident now (a responder or moderator of its community, the incident live and not yet acknowledged): call acknowledge_incident(reference). subscription_id and subscription_area: the caller''s alert area that matched (subscription alerts; the area code for an area subscription, whose distance_m is NULL)';

CREATE TYPE naboom_api.alert_state AS (
	unread integer,
	marked integer,
	last_id bigint
);

COMMENT ON TYPE naboom_api.alert_state IS 'The caller''s alert read state: unread alerts (in every community), how many the call marked seen (NULL for unread_alert_count), and the id of the caller''s newest alert (NULL: none), to pass to mark_alerts_seen';

CREATE FUNCTION naboom.duplicate_rows(c naboom.community, category text, lat double precision,
	lon double precision, actor text, my_role naboom.member_role, exclude_id bigint)
RETURNS SETOF naboom_api.duplicate_candidate
LANGUAGE plpgsql STABLE
-- Generic: a custom plan, chosen for the parameters' values, was planned
-- afresh on every report for the same plan (issue 17).
SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_variable
DECLARE
	staff boolean := (actor IS NULL AND naboom.is_service()) OR coalesce(my_role >= 'responder', false);
	ids bigint[];
	dists double precision[];
BEGIN
	-- The search first, on its own: in a query on naboom.incident, Citus
	-- would run it on the shard's node, where its own query may not run.
	SELECT array_agg(x.incident_id), array_agg(x.distance_m) INTO ids, dists
	FROM naboom.duplicate_search(c.community_id, category, lat, lon, exclude_id) x;
	IF ids IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	-- A blurred incident's distance is measured to the point shown and
	-- rounded to 100 m, and the list is ordered by what is shown: neither
	-- may tell a caller more about the true place than the blurred point.
	SELECT d.reference, d.category_code, d.title, d.status, d.priority::text, w.distance_m,
		ST_Y(v.shown), ST_X(v.shown), v.blur, d.reporter_ref IS NOT DISTINCT FROM actor, d.created_at
	FROM naboom.incident d
	CROSS JOIN LATERAL (SELECT dists[pg_catalog.array_position(ids, d.incident_id)] AS distance_m) s
	JOIN naboom.category cat ON cat.community_id = d.community_id AND cat.code = d.category_code
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND d.reporter_ref IS DISTINCT FROM actor AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur,
		CASE WHEN b.blur THEN naboom.blur_point(d.location) ELSE d.location END AS shown) v
	CROSS JOIN LATERAL (SELECT CASE WHEN v.blur
		THEN round(ST_Distance(v.shown::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) / 100) * 100
		ELSE round(s.distance_m::numeric, 1)::double precision END AS distance_m) w
	WHERE d.community_id = c.community_id AND d.incident_id = ANY (ids)
		AND (d.is_public OR staff OR d.reporter_ref = actor)
	ORDER BY w.distance_m, d.reference;
END
$$;

COMMENT ON FUNCTION naboom.duplicate_rows(naboom.community, text, double precision, double precision, text, naboom.member_role, bigint) IS
	'The duplicate candidates of a place as the actor may see them (private ones only for their reporter and staff; sensitive ones blurred)';

------------------------------------------------------------------------------
-- API: spatial
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.duplicate_candidates(community text, category text, lat double precision, lon double precision)
RETURNS SETOF naboom_api.duplicate_candidate
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	my_role naboom.member_role := naboom.require_role(c, actor, 'resident');
	v_cat text := lower(category);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM naboom.category x WHERE x.community_id = c.community_id AND x.code = v_cat) THEN
		PERFORM naboom.check_categories(c, ARRAY[category]);
	END IF;
	RETURN QUERY SELECT * FROM naboom.duplicate_rows(c, v_cat, lat, lon, actor, my_role, NULL);
END
$$;

COMMENT ON FUNCTION naboom_api.duplicate_candidates(text, text, double precision, double precision) IS
	E'@simpleCollections only\nLive incidents of the category within the category''s duplicate radius and time window of the point, nearest first, with distance in metres (WGS84 spheroid); members of the community';

CREATE FUNCTION naboom_api.incidents_near(lat double precision, lon double precision, radius_m double precision DEFAULT 500,
	statuses text[] DEFAULT NULL, category text DEFAULT NULL, since timestamptz DEFAULT NULL,
	newest_first boolean DEFAULT false, max_count integer DEFAULT 200)
RETURNS SETOF naboom_api.nearby_incident
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	-- Blurred points move up to ~80 m: search 150 m wider, then filter on
	-- the distance to the point shown, so a blurred incident cannot be
	-- located by moving the circle.
	ok boolean := naboom.check_point(lat, lon);
	r double precision := naboom.check_radius('radius_m', radius_m);
	box double precision[] := naboom.search_box(lat, lon, r + 150);
	n integer := naboom.check_count('max_count', max_count, 5000);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	staff_of bigint[] := CASE WHEN actor IS NULL THEN '{}' ELSE naboom.my_staff_community_ids() END;
	pt geography := ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
	unknown text;
	hit record;
	read_c bigint[] := '{}';
	read_i bigint[] := '{}';
	read_args jsonb[] := '{}';
BEGIN
	SELECT s INTO unknown FROM unnest(statuses) s
	WHERE s IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.status x WHERE x.status = s) LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_status', format('unknown status "%s"', left(coalesce(unknown, ''), 40)),
			'Statuses: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order) FROM naboom.status x) || '.',
			'Leave statuses out for the live ones.');
	END IF;
	FOR hit IN
	SELECT (i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text, i.title,
		ST_Y(v.shown), ST_X(v.shown), v.blur,
		CASE WHEN v.blur THEN round(v.dist / 100) * 100 ELSE round(v.dist::numeric, 1)::double precision END,
		a.code, i.priority::text, i.status, st.status_type::text, st.label_en, st.label_af,
		actor IS NOT NULL AND i.reporter_ref = actor, i.created_at, i.updated_at)::naboom_api.nearby_incident AS out,
		i.is_public, i.community_id, i.incident_id
	FROM naboom.incident i
	JOIN naboom.community c ON c.community_id = i.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT service AND NOT (i.community_id = ANY (staff_of))
		AND i.reporter_ref IS DISTINCT FROM actor AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur, s.shown, ST_Distance(s.shown::geography, pt) AS dist
		FROM (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) s) v
	WHERE i.location && ST_MakeEnvelope(box[1], box[2], box[3], box[4], 4326)
		AND ST_DWithin(v.shown::geography, pt, radius_m)
		AND (i.status = ANY (statuses) OR statuses IS NULL AND st.status_type = 'open')
		AND (category IS NULL OR i.category_code = lower(category))
		AND (since IS NULL OR i.created_at >= since)
		AND (i.is_public OR service OR i.community_id = ANY (staff_of) OR i.reporter_ref = actor)
	ORDER BY CASE WHEN newest_first THEN i.created_at END DESC, v.dist, i.reference
	LIMIT n
	LOOP
		IF NOT hit.is_public THEN
			read_c := read_c || hit.community_id;
			read_i := read_i || hit.incident_id;
			read_args := read_args || jsonb_build_object('reference', (hit.out).reference);
		END IF;
		RETURN NEXT hit.out;
	END LOOP;
	-- Private incidents are emergency data: who saw them is recorded, all
	-- in one go, before any row reaches the caller (RETURN NEXT only
	-- collects them); a read that cannot be recorded fails instead.
	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('incidents_near', read_c, read_i, read_args);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer) IS
	E'@simpleCollections only\nIncidents the caller may see within radius_m metres (WGS84 spheroid) of a point, nearest first (or newest first), live ones unless statuses are given. Sensitive locations are blurred and measured from the blurred point. A gateway pages the result';

CREATE FUNCTION naboom_api.nearest_responders(reference text, max_count integer DEFAULT 5,
	max_radius_m double precision DEFAULT 10000)
RETURNS SETOF naboom_api.responder
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 100);
	r double precision := naboom.check_radius('max_radius_m', max_radius_m);
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
	refs text[];
	dists double precision[];
	ats timestamptz[];
	accs double precision[];
BEGIN
	IF NOT (actor IS NULL AND naboom.is_service()) AND coalesce(f.actor_role < 'responder', true) THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role', 'only responders and moderators see where responders are',
			format('You are %s of this incident''s community.', coalesce('a ' || f.actor_role::text, 'not a member')),
			'Ask a responder or moderator of the community.');
	END IF;
	PERFORM naboom.audit_access(i.community_id, i.incident_id, 'nearest_responders',
		jsonb_build_object('reference', i.reference, 'max_count', n, 'max_radius_m', r));
	-- The search first, on its own (as duplicate_rows): in a query on
	-- naboom.member, Citus would run it on the shard's node, where its own
	-- query may not run.
	SELECT array_agg(x.user_ref), array_agg(x.distance_m), array_agg(x.reported_at), array_agg(x.accuracy_m)
	INTO refs, dists, ats, accs
	FROM naboom.responder_search(i.community_id, ST_Y(i.location), ST_X(i.location), n, max_radius_m,
		i.reporter_ref) x;
	IF refs IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT r.user_ref, m.display_name, round(r.distance_m::numeric, 1)::double precision, r.accuracy_m,
		r.reported_at, r.user_ref IS NOT DISTINCT FROM i.assignee_ref
	FROM unnest(refs, dists, ats, accs) AS r(user_ref, distance_m, reported_at, accuracy_m)
	JOIN naboom.member m ON m.community_id = i.community_id AND m.user_ref = r.user_ref
	ORDER BY r.distance_m, r.user_ref;
END
$$;

COMMENT ON FUNCTION naboom_api.nearest_responders(text, integer, double precision) IS
	E'@simpleCollections only\nOn-duty responders of the incident''s community with a position fresher than naboom.position_max_age, nearest first, within max_radius_m (metres, WGS84 spheroid), never the reporter. For responders, moderators and the service';

CREATE FUNCTION naboom_api.update_position(lat double precision, lon double precision, on_duty boolean DEFAULT true,
	accuracy_m double precision DEFAULT NULL)
RETURNS naboom_api.position
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	v_accuracy double precision := naboom.check_accuracy(accuracy_m);
	actor text := naboom.require_actor();
	v_duty boolean := coalesce(on_duty, true);
	-- Off duty, naboom keeps no position.
	pt geometry := CASE WHEN v_duty THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END;
	slugs text[];
	updated integer;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a position belongs to a person',
			'The naboom service has no position.', 'Call with the responder''s JWT claims.');
	END IF;
	-- The hot path: one HOT update per community the person responds in.
	UPDATE naboom.responder_position p SET position = pt, accuracy_m = v_accuracy, reported_at = now()
	WHERE p.user_ref = actor;
	GET DIAGNOSTICS updated = ROW_COUNT;
	-- Duty changes are rare: write the member rows only when it changes.
	UPDATE naboom.member m SET on_duty = v_duty
	WHERE m.user_ref = actor AND m.on_duty IS DISTINCT FROM v_duty AND m.role >= 'responder';
	SELECT array_agg(c.slug ORDER BY c.slug) INTO slugs
	FROM naboom.member m JOIN naboom.community c ON c.community_id = m.community_id
	WHERE m.user_ref = actor AND m.role >= 'responder';
	IF slugs IS NULL THEN
		-- Positions left from a role one no longer has are never used.
		PERFORM naboom.fail('42501', 'naboom.not_a_responder', 'only responders share their position',
			format('"%s" is not a responder in any community.', actor), 'Ask a moderator to make you a responder.');
	END IF;
	IF updated <> cardinality(slugs) THEN
		-- First position in some community.
		INSERT INTO naboom.responder_position (community_id, user_ref, position, accuracy_m)
		SELECT m.community_id, m.user_ref, pt, v_accuracy FROM naboom.member m
		WHERE m.user_ref = actor AND m.role >= 'responder'
		ON CONFLICT ON CONSTRAINT responder_position_pkey DO NOTHING;
	END IF;
	RETURN (slugs, CASE WHEN v_duty THEN lat END, CASE WHEN v_duty THEN lon END,
		CASE WHEN v_duty THEN v_accuracy END, v_duty, now())::naboom_api.position;
END
$$;

COMMENT ON FUNCTION naboom_api.update_position(double precision, double precision, boolean, double precision) IS
	'A responder''s position and duty state, for every community they respond in. Off duty, the position is not kept. Cheap by design: a HOT update of one small row per community';

------------------------------------------------------------------------------
-- API: alert subscriptions and alerts
------------------------------------------------------------------------------
CREATE FUNCTION naboom.subscription_out(s naboom.subscription) RETURNS naboom_api.subscription
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r naboom_api.subscription;
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus")
	SELECT s.subscription_id, c.slug, s.label, ST_Y(s.centre), ST_X(s.centre), s.radius_m, s.categories,
		s.min_priority::text, s.created_at, a.code
	INTO r
	FROM naboom.community c
	LEFT JOIN naboom.area a ON a.community_id = s.community_id AND a.area_id = s.area_id
	WHERE c.community_id = s.community_id;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.subscription_out(naboom.subscription) IS 'A subscription as the API returns it';

CREATE FUNCTION naboom_api.subscribe(community text, lat double precision, lon double precision,
	radius_m double precision DEFAULT 1000, categories text[] DEFAULT NULL, min_priority text DEFAULT 'low',
	label text DEFAULT NULL)
RETURNS naboom_api.subscription
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	v_label text := naboom.clean_text('label', label, false, 80);
	v_priority naboom.priority := naboom.check_priority(min_priority);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	box double precision[];
	s naboom.subscription;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a subscription belongs to a person',
			'The naboom service cannot subscribe.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	box := naboom.search_box(lat, lon, naboom.check_radius('radius_m', radius_m));
	-- One member's subscriptions are serialised by their member row.
	PERFORM 1 FROM naboom.member m WHERE m.community_id = c.community_id AND m.user_ref = actor FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM naboom.subscription x WHERE x.community_id = c.community_id AND x.user_ref = actor) >= 20 THEN
		PERFORM naboom.fail('PT409', 'naboom.subscription_limit', 'you have 20 alert areas in this community already',
			'A member may have at most 20 alert areas per community.', 'Remove one with unsubscribe first.');
	END IF;
	INSERT INTO naboom.subscription (community_id, user_ref, label, centre, radius_m, reach, categories, min_priority)
	VALUES (c.community_id, actor, v_label, ST_SetSRID(ST_MakePoint(lon, lat), 4326), radius_m,
		ST_MakeEnvelope(box[1], box[2], box[3], box[4], 4326), naboom.check_categories(c, categories), v_priority)
	RETURNING * INTO s;
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.subscription_out(s);
END
$$;

COMMENT ON FUNCTION naboom_api.subscribe(text, double precision, double precision, double precision, text[], text, text) IS
	'Add an alert area: incidents of the given categories (NULL: all) at or above min_priority within radius_m metres of the point alert the caller. At most 20 per member per community. 201';

CREATE FUNCTION naboom_api.unsubscribe(id bigint)
RETURNS naboom_api.subscription
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	s naboom.subscription;
BEGIN
	DELETE FROM naboom.subscription x WHERE x.subscription_id = id AND x.user_ref = actor
	RETURNING * INTO s;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_subscription', format('no subscription %s', id),
			'You have no alert area with that id.', 'List yours with my_subscriptions.');
	END IF;
	RETURN naboom.subscription_out(s);
END
$$;

CREATE FUNCTION naboom_api.subscribe_area(community text, area text, categories text[] DEFAULT NULL,
	min_priority text DEFAULT 'low', label text DEFAULT NULL)
RETURNS naboom_api.subscription
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_label text := naboom.clean_text('label', label, false, 80);
	v_priority naboom.priority := naboom.check_priority(min_priority);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	v_area bigint;
	s naboom.subscription;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a subscription belongs to a person',
			'The naboom service cannot subscribe.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	SELECT a.area_id INTO v_area FROM naboom.area a WHERE a.community_id = c.community_id AND a.code = lower(area);
	IF v_area IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_area',
			format('community "%s" has no area "%s"', c.slug, left(coalesce(area, ''), 63)),
			coalesce('Its areas: ' || (SELECT string_agg(a.code, ', ' ORDER BY a.code) FROM naboom.area a
				WHERE a.community_id = c.community_id) || '.', 'It has no areas yet.'),
			'Pick one of the community''s area codes, or subscribe to a circle with subscribe.');
	END IF;
	-- As subscribe: one member's subscriptions are serialised by their
	-- member row, and circles and areas share the limit.
	PERFORM 1 FROM naboom.member m WHERE m.community_id = c.community_id AND m.user_ref = actor FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM naboom.subscription x WHERE x.community_id = c.community_id AND x.user_ref = actor) >= 20 THEN
		PERFORM naboom.fail('PT409', 'naboom.subscription_limit', 'you have 20 alert areas in this community already',
			'A member may have at most 20 alert areas per community.', 'Remove one with unsubscribe first.');
	END IF;
	INSERT INTO naboom.subscription (community_id, user_ref, label, area_id, categories, min_priority)
	VALUES (c.community_id, actor, v_label, v_area, naboom.check_categories(c, categories), v_priority)
	RETURNING * INTO s;
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.subscription_out(s);
END
$$;

COMMENT ON FUNCTION naboom_api.subscribe_area(text, text, text[], text, text) IS
	'Add an alert area that is one of the community''s areas (a ward, a farm block): incidents of the given categories (NULL: all) at or above min_priority whose point the area covers alert the caller, also those routed to a smaller area nested inside it. Shares subscribe''s limit (20 per member per community) and rate limit. 201';

COMMENT ON FUNCTION naboom_api.unsubscribe(bigint) IS 'Remove one of the caller''s alert areas; returns it';

CREATE FUNCTION naboom_api.my_subscriptions()
RETURNS SETOF naboom_api.subscription
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
	s naboom.subscription;
BEGIN
	-- Row by row: on a cluster a query on naboom.subscription that called
	-- subscription_out would run it on the workers, with the shard's row type.
	FOR s IN SELECT x.* FROM naboom.subscription x WHERE x.user_ref = actor ORDER BY x.subscription_id LOOP
		RETURN NEXT naboom.subscription_out(s);
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom_api.my_subscriptions() IS E'@simpleCollections only\nThe caller''s alert areas, in every community';

CREATE FUNCTION naboom_api.my_alerts(after_id bigint DEFAULT 0, max_count integer DEFAULT 100)
RETURNS SETOF naboom_api.alert
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	n integer := naboom.check_count('max_count', max_count, 1000);
BEGIN
	RETURN QUERY
	SELECT al.alert_id, c.slug, i.reference, i.kind::text, i.category_code, cat.name_en, cat.name_af, i.title,
		i.priority::text, i.status, ST_Y(v.shown), ST_X(v.shown), b.blur, al.reason,
		-- Blurred: from the alert area's centre to the point shown, rounded
		-- to 100 m (the stored distance is to the true place); unknown once
		-- the alert area is gone.
		CASE WHEN NOT b.blur THEN round(al.distance_m::numeric, 1)::double precision
			ELSE round(ST_Distance(v.shown::geography, sub.centre::geography) / 100) * 100 END,
		al.escalation_level, al.created_at, al.seen_at,
		-- What acknowledge_incident would accept from the caller now.
		coalesce(m.role >= 'responder', false) AND i.acknowledged_by IS NULL AND st.status_type = 'open',
		al.subscription_id, sa.code
	FROM naboom.alert al
	LEFT JOIN naboom.subscription sub ON sub.community_id = al.community_id
		AND sub.subscription_id = al.subscription_id
	LEFT JOIN naboom.area sa ON sa.community_id = sub.community_id AND sa.area_id = sub.area_id
	JOIN naboom.incident i ON i.community_id = al.community_id AND i.incident_id = al.incident_id
	JOIN naboom.status st ON st.status = i.status
	JOIN naboom.community c ON c.community_id = al.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	LEFT JOIN naboom.member m ON m.community_id = al.community_id AND m.user_ref = al.user_ref
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND coalesce(m.role < 'responder', true) AS blur) b
	CROSS JOIN LATERAL (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
	WHERE al.user_ref = actor AND al.alert_id > coalesce(after_id, 0)
	ORDER BY al.alert_id
	LIMIT n;
END
$$;

COMMENT ON FUNCTION naboom_api.my_alerts(bigint, integer) IS
	E'@simpleCollections only\nThe caller''s alerts with id greater than after_id, oldest first: pass the last id seen to get only new ones. Each says whether it was seen (seen_at) and whether the caller may acknowledge its incident now (can_acknowledge: call acknowledge_incident(reference))';

CREATE FUNCTION naboom.check_alert_id(up_to_id bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF up_to_id IS NULL OR up_to_id < 0 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_alert_id', 'up_to_id must be an alert id (0 or more)',
			format('It is %s.', coalesce(up_to_id::text, 'NULL')),
			'Pass the id of the newest alert the person has seen (my_alerts, or last_id of unread_alert_count).');
	END IF;
	RETURN up_to_id;
END
$$;

COMMENT ON FUNCTION naboom.check_alert_id(bigint) IS 'up_to_id if it is 0 or more, else naboom.invalid_alert_id (22023)';

CREATE FUNCTION naboom.alert_state(actor text, marked integer) RETURNS naboom_api.alert_state
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r naboom_api.alert_state;
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus")
	SELECT (SELECT count(*) FROM naboom.alert a WHERE a.user_ref = actor AND a.seen_at IS NULL)::integer, marked,
		(SELECT max(a.alert_id) FROM naboom.alert a WHERE a.user_ref = actor)
	INTO r;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.alert_state(text, integer) IS 'The alert read state of a person (unread through the partial index of unread alerts)';

CREATE FUNCTION naboom_api.mark_alerts_seen(up_to_id bigint)
RETURNS naboom_api.alert_state
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_up_to bigint := naboom.check_alert_id(up_to_id);
	actor text := naboom.require_actor();
	n integer;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'alerts belong to a person',
			'The naboom service has no alerts.', 'Call with the person''s JWT claims.');
	END IF;
	-- Only what is still unread: seen_at keeps the first time, and of two
	-- devices marking at once each alert is counted by one of them (the
	-- second re-reads the row after the first commits).  An alert that
	-- commits after this call with a smaller id stays unread.
	UPDATE naboom.alert a SET seen_at = now()
	WHERE a.user_ref = actor AND a.alert_id <= v_up_to AND a.seen_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN naboom.alert_state(actor, n);
END
$$;

COMMENT ON FUNCTION naboom_api.mark_alerts_seen(bigint) IS
	'Mark the caller''s unread alerts with id up to up_to_id seen (in every community); returns how many it marked, what is still unread and the newest alert''s id. An alert seen before keeps its seen_at';

CREATE FUNCTION naboom_api.unread_alert_count()
RETURNS naboom_api.alert_state
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
BEGIN
	RETURN naboom.alert_state(actor, NULL);
END
$$;

COMMENT ON FUNCTION naboom_api.unread_alert_count() IS
	'How many of the caller''s alerts are unread (in every community; cheap: a badge may poll it), and the newest alert''s id (pass it to mark_alerts_seen to mark them all seen)';

------------------------------------------------------------------------------
-- API: maps
------------------------------------------------------------------------------
CREATE FUNCTION naboom.check_map_features(max_features integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_map_features' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_map_features(integer) IS
	'How many incidents a map may show: max_features, or the naboom.max_map_features setting when NULL; else naboom.invalid_count (22023)';

CREATE FUNCTION naboom.map_box(min_lat double precision, min_lon double precision,
	max_lat double precision, max_lon double precision) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF min_lat IS NULL AND min_lon IS NULL AND max_lat IS NULL AND max_lon IS NULL THEN
		RETURN NULL;
	END IF;
	IF min_lat IS NULL OR min_lon IS NULL OR max_lat IS NULL OR max_lon IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_bbox', 'a bounding box needs min_lat, min_lon, max_lat and max_lon',
			'Some of the four are missing.', 'Give all four, or none for the whole community.');
	END IF;
	IF NOT (min_lat BETWEEN -90 AND 90 AND max_lat BETWEEN -90 AND 90
		AND min_lon BETWEEN -180 AND 180 AND max_lon BETWEEN -180 AND 180) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_coordinates',
			'min_lat and max_lat must be between -90 and 90, min_lon and max_lon between -180 and 180',
			format('The box is %s, %s to %s, %s.', min_lat, min_lon, max_lat, max_lon),
			'Send WGS84 decimal degrees: the south-west corner, then the north-east one.');
	END IF;
	IF min_lat > max_lat THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_bbox', 'min_lat must not be more than max_lat',
			format('min_lat is %s, max_lat %s.', min_lat, max_lat), 'Give the southern edge as min_lat.');
	END IF;
	-- West of east, or across the antimeridian (min_lon > max_lon).
	IF min_lon <= max_lon THEN
		RETURN ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326);
	END IF;
	RETURN ST_Collect(ST_MakeEnvelope(min_lon, min_lat, 180, max_lat, 4326),
		ST_MakeEnvelope(-180, min_lat, max_lon, max_lat, 4326));
END
$$;

COMMENT ON FUNCTION naboom.map_box(double precision, double precision, double precision, double precision) IS
	'The bounding box of a map as a geometry (two boxes when min_lon > max_lon: across the antimeridian); NULL when all four edges are NULL; else naboom.invalid_bbox or naboom.invalid_coordinates (22023)';

CREATE FUNCTION naboom.map_rows(c naboom.community, actor text, box geometry, max_rows integer)
RETURNS TABLE (reference text, category text, category_en text, category_af text, kind text, title text,
	priority text, status text, created_at timestamptz, blurred boolean, shown geometry, total bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	service boolean := actor IS NULL AND naboom.is_service();
	my_role naboom.member_role := naboom.role_in(c.community_id, actor);
	staff boolean := service OR coalesce(my_role >= 'responder', false);
BEGIN
	-- The box is tested against the point shown (a blurred point for
	-- sensitive categories), so a small box cannot locate the true place;
	-- the index filter in front of it is the box widened by a blur cell.
	-- Over max_rows, the most urgent and newest are kept.
	RETURN QUERY
	SELECT k.reference, k.category_code, k.name_en, k.name_af, k.kind, k.title, k.priority::text, k.status,
		k.created_at, k.blur, k.shown, k.total
	FROM (
		SELECT i.reference, i.category_code, cat.name_en, cat.name_af, i.kind::text AS kind, i.title, i.priority,
			i.status, i.created_at, b.blur, v.shown, count(*) OVER () AS total
		FROM naboom.incident i
		JOIN naboom.status st ON st.status = i.status AND st.status_type = 'open'
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND i.reporter_ref IS DISTINCT FROM actor AS blur) b
		CROSS JOIN LATERAL (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
		WHERE i.community_id = c.community_id
			AND (i.is_public OR staff OR (actor IS NOT NULL AND i.reporter_ref = actor))
			AND (box IS NULL OR (i.location && ST_Expand(box, 0.001) AND ST_Intersects(v.shown, box)))
		ORDER BY i.priority DESC, i.created_at DESC, i.reference
		LIMIT max_rows) k
	ORDER BY k.created_at, k.reference;
END
$$;

COMMENT ON FUNCTION naboom.map_rows(naboom.community, text, geometry, integer) IS
	'The live incidents of a community as the actor may see them, with the point to show, whose shown point lies in box (NULL: anywhere); at most max_rows (the most urgent, then the newest), oldest first; total is how many there are in all';

CREATE FUNCTION naboom_api.community_map_geojson(community text, min_lat double precision DEFAULT NULL,
	min_lon double precision DEFAULT NULL, max_lat double precision DEFAULT NULL,
	max_lon double precision DEFAULT NULL, max_features integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_map_features(max_features);
	box geometry := naboom.map_box(min_lat, min_lon, max_lat, max_lon);
	c naboom.community := naboom.community_by_slug(community);
	features jsonb;
	shown bigint;
	total bigint;
BEGIN
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'type', 'Feature',
			'id', r.reference,
			'geometry', ST_AsGeoJSON(r.shown, 6)::jsonb,
			'properties', jsonb_build_object('reference', r.reference, 'category', r.category,
				'category_en', r.category_en, 'category_af', r.category_af, 'kind', r.kind, 'title', r.title,
				'priority', r.priority, 'status', r.status, 'created_at', r.created_at,
				'location_blurred', r.blurred)) ORDER BY r.created_at, r.reference), '[]'::jsonb),
		count(*), coalesce(max(r.total), 0)
	INTO features, shown, total
	FROM naboom.map_rows(c, naboom.current_actor(), box, n) r;
	-- Foreign members say whether the map was cut and how many there are;
	-- bbox (RFC 7946) is the box asked for.
	RETURN jsonb_build_object('type', 'FeatureCollection', 'features', features,
		'truncated', total > shown, 'total', total)
		|| CASE WHEN box IS NULL THEN '{}'::jsonb
			ELSE jsonb_build_object('bbox', jsonb_build_array(min_lon, min_lat, max_lon, max_lat)) END;
END
$$;

COMMENT ON FUNCTION naboom_api.community_map_geojson(text, double precision, double precision, double precision, double precision, integer) IS
	'The community''s live incidents the caller may see, as a GeoJSON FeatureCollection (WGS84); sensitive locations blurred as everywhere. Optionally only those shown within a bounding box (min_lon > max_lon: across the antimeridian). At most max_features (default and limit: the naboom.max_map_features setting), the most urgent and newest; "truncated" says whether some were left out and "total" how many there are';

CREATE FUNCTION naboom_api.community_map_svg(community text, width integer DEFAULT 800,
	min_lat double precision DEFAULT NULL, min_lon double precision DEFAULT NULL,
	max_lat double precision DEFAULT NULL, max_lon double precision DEFAULT NULL,
	max_features integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	w integer := naboom.check_count('width', width, 4000);
	n integer := naboom.check_map_features(max_features);
	box geometry := naboom.map_box(min_lat, min_lon, max_lat, max_lon);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.current_actor();
	ext box2d;
	kx double precision;		-- longitude scale: equirectangular at the centre latitude
	vb_w double precision;
	vb_h double precision;
	dot double precision;
	circles text;
	shown bigint;
	total bigint;
	body text;
BEGIN
	-- The extent: the box asked for, else boundary, else areas, else
	-- incidents, else the point 0,0.
	ext := coalesce(box::box2d, c.boundary::box2d,
		(SELECT ST_Extent(a.boundary) FROM naboom.area a WHERE a.community_id = c.community_id),
		(SELECT ST_Extent(r.shown) FROM naboom.map_rows(c, actor, box, n) r),
		ST_MakeBox2D(ST_MakePoint(-0.01, -0.01), ST_MakePoint(0.01, 0.01)));
	ext := ST_Expand(ext, greatest(ST_XMax(ext) - ST_XMin(ext), ST_YMax(ext) - ST_YMin(ext), 0.002) * 0.04);
	kx := cos(radians((ST_YMin(ext) + ST_YMax(ext)) / 2));
	vb_w := (ST_XMax(ext) - ST_XMin(ext)) * kx;
	vb_h := ST_YMax(ext) - ST_YMin(ext);
	dot := greatest(vb_w, vb_h) / 120;

	SELECT string_agg(format('<g class="incident %s"><title>%s</title><circle %s r="%s"/></g>',
			r.priority, naboom.xml_text(r.reference || ' ' || r.category_en || ' (' || r.priority || ', ' || r.status || ')'),
			ST_AsSVG(ST_Scale(r.shown, kx, 1), 0, 6), round(dot::numeric, 6)), E'\n' ORDER BY r.created_at, r.reference),
		count(*), coalesce(max(r.total), 0)
	INTO circles, shown, total
	FROM naboom.map_rows(c, actor, box, n) r;

	SELECT string_agg(part, E'\n' ORDER BY ord) INTO body FROM (
		SELECT 1 AS ord, format('<path class="boundary" d="%s"/>', ST_AsSVG(ST_Scale(c.boundary, kx, 1), 0, 6)) AS part
		WHERE c.boundary IS NOT NULL
		UNION ALL
		SELECT 2, format('<g class="area"><title>%s</title><path d="%s"/></g>',
			naboom.xml_text(a.name_en || ' / ' || a.name_af), ST_AsSVG(ST_Scale(a.boundary, kx, 1), 0, 6))
		FROM naboom.area a WHERE a.community_id = c.community_id AND (box IS NULL OR a.boundary && box)
		UNION ALL
		SELECT 3, circles WHERE circles IS NOT NULL
	) parts;

	-- Strokes and text are in map units (degrees), so every SVG renderer
	-- draws them the same; a legend sits in the top-left corner, and says
	-- so when incidents were left out (data-total: how many there are).
	RETURN format(
		'<svg xmlns="http://www.w3.org/2000/svg" width="%1$s" height="%2$s" viewBox="%3$s %4$s %5$s %6$s" data-incidents="%13$s" data-total="%14$s" data-truncated="%15$s">' || E'\n' ||
		'<title>%7$s</title>' || E'\n' ||
		'<style>.boundary{fill:#f4f1e8;stroke:#333;stroke-width:%8$s}'
		'.area path{fill:#dfe9d8;fill-opacity:.5;stroke:#6b8f5e;stroke-width:%9$s}'
		'.incident circle,.legend circle{stroke:#fff;stroke-width:%10$s}.low circle{fill:#2e7d32}.medium circle{fill:#f9a825}'
		'.high circle{fill:#ef6c00}.critical circle{fill:#c62828}'
		'text{font-family:sans-serif;font-size:12px;fill:#333}</style>' || E'\n' ||
		'<rect x="%3$s" y="%4$s" width="%5$s" height="%6$s" fill="#fbfaf6"/>' || E'\n%11$s\n%12$s\n</svg>',
		w, round(w * vb_h / vb_w), round((ST_XMin(ext) * kx)::numeric, 6), round((-ST_YMax(ext))::numeric, 6),
		round(vb_w::numeric, 6), round(vb_h::numeric, 6),
		naboom.xml_text(c.name || ': live incidents'),
		round((dot / 3)::numeric, 6), round((dot / 8)::numeric, 6), round((dot / 4)::numeric, 6),
		coalesce(body, ''),
		-- Text is drawn at 12 px and scaled into map units (some renderers
		-- ignore sub-pixel font sizes).
		(SELECT string_agg(format('<g class="legend %s"><circle cx="%s" cy="%s" r="%s"/><text transform="translate(%s %s) scale(%s)">%s</text></g>',
				p.priority, round((ST_XMin(ext) * kx + dot * 2)::numeric, 6),
				round((-ST_YMax(ext) + dot * (2 + 3 * p.n))::numeric, 6), round(dot::numeric, 6),
				round((ST_XMin(ext) * kx + dot * 4)::numeric, 6),
				round((-ST_YMax(ext) + dot * (2.6 + 3 * p.n))::numeric, 6), round((dot * 1.6 / 12)::numeric, 8),
				p.priority), E'\n' ORDER BY p.n)
			FROM unnest(ARRAY['critical', 'high', 'medium', 'low']) WITH ORDINALITY AS p(priority, n))
		|| CASE WHEN total > shown THEN E'\n' || format('<text class="truncated" transform="translate(%s %s) scale(%s)">%s of %s live incidents shown</text>',
				round((ST_XMin(ext) * kx + dot)::numeric, 6), round((-ST_YMax(ext) + dot * 17.6)::numeric, 6),
				round((dot * 1.6 / 12)::numeric, 8), shown, total)
			ELSE '' END,
		shown, total, CASE WHEN total > shown THEN 'true' ELSE 'false' END);
END
$$;

COMMENT ON FUNCTION naboom_api.community_map_svg(text, integer, double precision, double precision, double precision, double precision, integer) IS
	'An SVG picture of the community, drawn by PostGIS: boundary, areas, and the live incidents the caller may see coloured by priority (low green, medium amber, high orange, critical red, with a legend), sensitive ones blurred. Optionally only a bounding box (its extent) and at most max_features incidents (default and limit: naboom.max_map_features), the most urgent and newest; data-total and data-truncated on the svg element, and a line in the legend, say when some were left out';

CREATE FUNCTION naboom.xml_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

COMMENT ON FUNCTION naboom.xml_text(text) IS 'Text escaped for XML content and attributes';
