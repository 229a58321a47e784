-- bench/load.sql: the data set of design.md section 9, loaded in bulk.
--
-- Run by bench/run.sh as the superuser, in a fresh database:
--   psql -v incidents=1000000 -v members=1000 -v responders=250 -v pool=20000 \
--        -v subscriptions=1000 -f bench/load.sql
-- (members, responders and subscriptions are per community; SCALE=small
-- divides by 100).
--
-- Speed: every table is filled by INSERT ... SELECT from generate_series
-- with session_replication_role = replica, so naboom's triggers (the workflow
-- guard makes SPI calls per row and routes every new incident; the alert
-- trigger would fan out alerts for two years of history) and the FK
-- triggers do not fire.  CHECK and NOT NULL constraints still hold; the
-- foreign keys are made true by construction (explicit ids) and proved by
-- the checks at the end, and a sample of incidents is routed through the
-- real trigger and must land in the area the load gave it.  The positions
-- and subscriptions (small tables; their only naboom trigger is the audit
-- trigger) are loaded after that, in normal mode, so their foreign keys are
-- checked as they go in.
--
-- Audit: naboom's audit trigger is ENABLE ALWAYS, so replica mode does not
-- stop it; loaded as it is, the data set would write one audit row (with
-- the whole row as JSON) per incident, timeline entry, position and
-- subscription, millions of them, and the benchmark would start with a log
-- it never measures.  The load runs as the superuser, so it switches
-- auditing off for its own session (naboom.audit = off, which only a
-- superuser may set) and checks at the end that the log is still empty.
-- Events likewise: the triggers that append to naboom.event (journal and
-- alert fan-out) do not fire in replica mode, and the sample routed through
-- them below is rolled back, but the stream must start empty whatever a
-- later version fires: the benchmark's event figures count only what the
-- runs write, and a million loaded events would sit in front of every
-- events_since page.  So the load also sets naboom.events = off (also
-- superuser-only) and checks at the end that naboom.event is empty.
--
-- The data:
--   10 communities: South African towns, each a 0.2 x 0.2 degree box (about
--      20 x 22 km) around its real coordinates; boundaries have about 400
--      vertices, like a digitised municipal boundary;
--   100 areas per community: a 10 x 10 grid of patrol sectors (about 160
--      vertices each) that tiles the boundary;
--   :members members per community (user_ref member-N, community (N-1)%10+1,
--      k = (N-1)/10 its number inside the community): k = 0 the moderator,
--      k = 1..:responders responders (on duty unless k is a multiple of 5,
--      so 200 of 250 at full scale), some verified, the rest residents;
--   8 categories per community plus panic; the report rate limit raised
--      out of reach (settings->'rate_limits', see below);
--   :incidents incidents over two years, incident_id = g, community
--      (g-1)%10+1, with a realistic mix: older ones mostly closed (some
--      rejected, duplicate, cancelled, and a 3.5 % tail left open half way
--      through the workflow and forgotten), the last 4 days still moving
--      through it; 1.2 % of the closed/resolved ones are panics;
--   the timeline of each incident: the 'reported' entry and one entry per
--      step of its path to its status (about 5 per incident);
--   bench.floor_incident: a copy of naboom.incident, same columns, defaults
--      and indexes, no triggers, FKs or RLS: the floor the API is measured
--      against;
--   bench.pool: :pool open reports (id p lives in community (p-1)%10+1),
--      in the five states of the loop the transition benchmark drives them
--      round (verified, dispatched, en_route, on_scene, resolved) in about
--      equal numbers, so the mix of steps is steady from the first second;
--      its references are what nearest_responders is asked about;
--   naboom.responder_position: one row per responder; on-duty ones at a
--      random point of their community (accuracy 5-50 m), off-duty ones
--      without a position (as update_position leaves them).  bench/run.sh
--      makes reported_at fresh again before every measured run;
--   bench.floor_position: a copy of it (same columns, indexes, fillfactor
--      50; no RLS, no FK): the floor of update_position;
--   naboom.subscription: :subscriptions alert areas per community, each of
--      a random member: a circle around a random point of the community,
--      radius log-uniform from 500 m to 5 km, 30 % for some categories only,
--      min_priority 50 % low, 25 % medium, 20 % high, 5 % critical; reach
--      set as naboom_api.subscribe sets it.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;		-- a bulk load; the benchmark itself commits synchronously
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';

SELECT pg_catalog.set_config('bench.incidents', :'incidents', false),
	pg_catalog.set_config('bench.pool', :'pool', false) \g /dev/null

-- Before CREATE EXTENSION: bench/run.sh preloads naboom, so the settings
-- exist already; nothing this session writes is audited or becomes an
-- event (see above).
SET naboom.audit = off;
SET naboom.events = off;
CREATE EXTENSION naboom CASCADE;
SELECT pg_catalog.setseed(0.1902) \g /dev/null
SET session_replication_role = replica;

CREATE SCHEMA bench;

------------------------------------------------------------------------------
-- Communities and areas
------------------------------------------------------------------------------
-- lat0/lon0: south-west corner of the 0.2 degree box.
CREATE TABLE bench.town (
	community_id bigint PRIMARY KEY,
	slug text NOT NULL,
	name text NOT NULL,
	lat0 double precision NOT NULL,
	lon0 double precision NOT NULL
);
INSERT INTO bench.town VALUES
	(1,  'mookgophong',   'Mookgophong / Naboomspruit', -24.62, 28.61),
	(2,  'polokwane',     'Polokwane',                  -24.00, 29.35),
	(3,  'mbombela',      'Mbombela / Nelspruit',       -25.57, 30.87),
	(4,  'bethlehem',     'Bethlehem',                  -28.33, 28.21),
	(5,  'kroonstad',     'Kroonstad',                  -27.75, 27.13),
	(6,  'upington',      'Upington',                   -28.55, 21.15),
	(7,  'beaufort-wes',  'Beaufort-Wes',               -32.45, 22.48),
	(8,  'george',        'George',                     -34.06, 22.36),
	(9,  'kokstad',       'Kokstad',                    -30.65, 29.32),
	(10, 'graaff-reinet', 'Graaff-Reinet',              -32.35, 24.43);

-- Rate limits: report_incident.pgbench has each member report far faster
-- than a person does (SCALE=small: 100 members share 100s of reports a
-- second, so the default 30 per 60 s refuses most of a run with PT429).
-- The limit is raised out of reach, not removed: every report still
-- upserts its counter row, so its cost stays in the measured path.
INSERT INTO naboom.community (community_id, slug, name, boundary, created_at, settings) OVERRIDING SYSTEM VALUE
SELECT t.community_id, t.slug, t.name,
	ST_Multi(ST_Segmentize(ST_MakeEnvelope(t.lon0, t.lat0, t.lon0 + 0.2, t.lat0 + 0.2, 4326), 0.002)),
	now() - interval '800 days',
	'{"rate_limits": {"report": [1000000000, 60]}}'
FROM bench.town t;

-- Sector (i, j): row i from the south, column j from the west, 0.02 degrees
-- square; area_id = (community_id - 1) * 100 + i * 10 + j + 1, so the
-- benchmark scripts can compute a point's area without a lookup.
INSERT INTO naboom.area (community_id, area_id, code, name_en, name_af, kind, boundary, area_m2, updated_at)
OVERRIDING SYSTEM VALUE
SELECT t.community_id, (t.community_id - 1) * 100 + i * 10 + j + 1,
	format('sector-%s%s', chr(97 + i), j), format('%s sector %s%s', t.name, chr(65 + i), j),
	format('%s sektor %s%s', t.name, chr(65 + i), j), 'patrol_sector', b.g, ST_Area(b.g::geography),
	now() - interval '800 days'
FROM bench.town t, generate_series(0, 9) i, generate_series(0, 9) j,
	LATERAL (SELECT ST_Multi(ST_Segmentize(ST_MakeEnvelope(t.lon0 + j * 0.02, t.lat0 + i * 0.02,
		t.lon0 + (j + 1) * 0.02, t.lat0 + (i + 1) * 0.02, 4326), 0.0005)) AS g) b;

------------------------------------------------------------------------------
-- Categories and members
------------------------------------------------------------------------------
CREATE TABLE bench.cat (
	n integer PRIMARY KEY,
	code text NOT NULL,
	name_en text NOT NULL,
	name_af text NOT NULL,
	prio naboom.priority NOT NULL,
	sensitive boolean NOT NULL
);
INSERT INTO bench.cat VALUES
	(1, 'stock_theft',       'Stock theft',        'Veediefstal',            'high',     false),
	(2, 'burglary',          'Burglary',           'Inbraak',                'high',     false),
	(3, 'suspicious_person', 'Suspicious person',  'Verdagte persoon',       'medium',   false),
	(4, 'fire',              'Fire',               'Brand',                  'critical', false),
	(5, 'road_accident',     'Road accident',      'Padongeluk',             'high',     false),
	(6, 'power_outage',      'Power outage',       'Kragonderbreking',       'low',      false),
	(7, 'water_leak',        'Water leak',         'Waterlek',               'low',      false),
	(8, 'domestic_violence', 'Domestic violence',  'Huishoudelike geweld',   'high',     true);

INSERT INTO naboom.category (community_id, code, name_en, name_af, default_priority, is_sensitive,
	ack_target, resolve_target, duplicate_radius_m, duplicate_window)
SELECT t.community_id, c.code, c.name_en, c.name_af, c.prio, c.sensitive,
	interval '15 minutes', interval '24 hours', 250, interval '2 hours'
FROM bench.town t, bench.cat c
UNION ALL
SELECT t.community_id, 'panic', 'Panic / SOS', 'Paniek / Nood', 'critical', false,
	interval '2 minutes', interval '2 hours', 100, interval '10 minutes'
FROM bench.town t;

INSERT INTO naboom.member (community_id, user_ref, display_name, phone, language, role, on_duty,
	joined_at, last_active_at)
SELECT (n - 1) % 10 + 1, 'member-' || n, 'Member ' || n,
	CASE WHEN n % 3 = 0 THEN '+27 82 ' || lpad((n % 10000000)::text, 7, '0') END,
	CASE WHEN n % 4 = 0 THEN 'af' ELSE 'en' END,
	CASE WHEN k = 0 THEN 'moderator'
		WHEN k <= :responders THEN 'responder'
		WHEN k % 7 = 0 THEN 'verified'
		ELSE 'resident' END::naboom.member_role,
	k BETWEEN 1 AND :responders AND k % 5 <> 0,
	now() - interval '800 days' + (n % 60) * interval '1 day',
	now() - (n % 30) * interval '1 day'
FROM generate_series(1, 10 * :members) n, LATERAL (SELECT (n - 1) / 10 AS k) x;

------------------------------------------------------------------------------
-- Incident paths: the workflow steps after 'reported' that lead to each
-- final status, with their offset from created_at (minutes, scaled by a
-- per-incident factor f in [0.5, 1.5)) and who made them.
------------------------------------------------------------------------------
CREATE UNLOGGED TABLE bench.path (
	path text NOT NULL,				-- final status, or panic_<status>
	step integer NOT NULL,			-- timeline seq is step + 1
	entry_kind text NOT NULL,
	from_status text,
	to_status text,
	minutes double precision NOT NULL,
	actor text NOT NULL CHECK (actor IN ('moderator', 'assignee', 'reporter', 'service')),
	note text,
	PRIMARY KEY (path, step)
);
INSERT INTO bench.path VALUES
	('verified',   1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('dispatched', 1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('dispatched', 2, 'status_changed', 'verified',   'dispatched', 15, 'moderator', NULL),
	('en_route',   1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('en_route',   2, 'status_changed', 'verified',   'dispatched', 15, 'moderator', NULL),
	('en_route',   3, 'status_changed', 'dispatched', 'en_route',   20, 'assignee',  NULL),
	('on_scene',   1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('on_scene',   2, 'status_changed', 'verified',   'dispatched', 15, 'moderator', NULL),
	('on_scene',   3, 'status_changed', 'dispatched', 'en_route',   20, 'assignee',  NULL),
	('on_scene',   4, 'status_changed', 'en_route',   'on_scene',   40, 'assignee',  NULL),
	('resolved',   1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('resolved',   2, 'status_changed', 'verified',   'dispatched', 15, 'moderator', NULL),
	('resolved',   3, 'status_changed', 'dispatched', 'on_scene',   40, 'assignee',  NULL),
	('resolved',   4, 'status_changed', 'on_scene',   'resolved',  180, 'assignee',  'Sorted out; all quiet now'),
	('closed',     1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('closed',     2, 'status_changed', 'verified',   'dispatched', 15, 'moderator', NULL),
	('closed',     3, 'status_changed', 'dispatched', 'on_scene',   40, 'assignee',  NULL),
	('closed',     4, 'status_changed', 'on_scene',   'resolved',  180, 'assignee',  'Sorted out; all quiet now'),
	('closed',     5, 'status_changed', 'resolved',   'closed',   4500, 'service',   NULL),
	('rejected',   1, 'status_changed', 'reported',   'rejected',   30, 'moderator', 'Not an incident'),
	('duplicate',  1, 'status_changed', 'reported',   'verified',   10, 'moderator', NULL),
	('duplicate',  2, 'status_changed', 'verified',   'duplicate',  20, 'moderator', NULL),
	('cancelled',  1, 'status_changed', 'reported',   'cancelled',  25, 'reporter',  NULL),
	('panic_resolved', 1, 'acknowledged',   NULL,         NULL,          2, 'assignee',  NULL),
	('panic_resolved', 2, 'status_changed', 'reported',   'dispatched',  3, 'assignee',  NULL),
	('panic_resolved', 3, 'status_changed', 'dispatched', 'on_scene',   15, 'assignee',  NULL),
	('panic_resolved', 4, 'status_changed', 'on_scene',   'resolved',   60, 'assignee',  'False alarm, all safe'),
	('panic_closed',   1, 'acknowledged',   NULL,         NULL,          2, 'assignee',  NULL),
	('panic_closed',   2, 'status_changed', 'reported',   'dispatched',  3, 'assignee',  NULL),
	('panic_closed',   3, 'status_changed', 'dispatched', 'on_scene',   15, 'assignee',  NULL),
	('panic_closed',   4, 'status_changed', 'on_scene',   'resolved',   60, 'assignee',  'False alarm, all safe'),
	('panic_closed',   5, 'status_changed', 'resolved',   'closed',   4380, 'service',   NULL);

-- One row per path: what the incident row looks like at the end of it.
CREATE UNLOGGED TABLE bench.path_end AS
SELECT p.path, count(*)::integer AS steps,
	max(p.minutes) FILTER (WHERE p.to_status = 'dispatched') AS dispatched_min,
	max(p.minutes) FILTER (WHERE p.to_status = 'en_route') AS en_route_min,
	max(p.minutes) FILTER (WHERE p.to_status = 'on_scene') AS on_scene_min,
	max(p.minutes) FILTER (WHERE p.to_status = 'resolved') AS resolved_min,
	max(p.minutes) FILTER (WHERE p.to_status IN ('closed', 'rejected', 'duplicate', 'cancelled')) AS closed_min,
	max(p.minutes) FILTER (WHERE p.entry_kind = 'acknowledged') AS ack_min,
	max(p.minutes) AS last_min,
	(array_agg(p.actor ORDER BY p.step DESC))[1] AS last_actor,
	(array_agg(p.note ORDER BY p.step DESC) FILTER (WHERE p.to_status IS NOT NULL))[1] AS last_note,
	bool_or(p.to_status = 'dispatched') AS assigned
FROM bench.path p GROUP BY p.path
UNION ALL
SELECT 'reported', 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'reporter', NULL, false;

------------------------------------------------------------------------------
-- Incidents
------------------------------------------------------------------------------
-- References: random, so draw a few more than needed and drop the handful of
-- collisions (35 bits: about 15 expected among a million).
CREATE UNLOGGED TABLE bench.ref AS
SELECT row_number() OVER () AS g, r
FROM (SELECT DISTINCT naboom.new_reference() COLLATE "C" AS r
	  FROM generate_series(1, :incidents + 1000)) s;
DO $$
BEGIN
	IF (SELECT count(*) FROM bench.ref) < current_setting('bench.incidents')::bigint THEN
		RAISE EXCEPTION 'not enough distinct references';
	END IF;
END
$$;
CREATE UNIQUE INDEX ON bench.ref (g);

-- One row per incident with its random choices.  created_at rises with g
-- over two years (about 63 s apart at full scale).
CREATE UNLOGGED TABLE bench.gen AS
SELECT g, c, created_at, f, dx, dy, cat, reporter_n, assignee_n, client, private,
	CASE WHEN panic THEN 'panic_' || status ELSE status END AS path, status, panic
FROM (
	SELECT g, c, created_at, f, dx, dy, cat, reporter_n, assignee_n, client, private, status,
		status IN ('resolved', 'closed') AND rp < 0.012 AS panic
	FROM (
		SELECT g, (g - 1) % 10 + 1 AS c, created_at,
			0.5 + random() AS f,
			floor(random() * 10000)::integer AS dx,
			floor(random() * 10000)::integer AS dy,
			1 + floor(random() * 8)::integer AS cat,
			floor(random() * :members)::integer * 10 + (g - 1) % 10 + 1 AS reporter_n,
			(1 + floor(random() * :responders)::integer) * 10 + (g - 1) % 10 + 1 AS assignee_n,
			random() < 0.6 AS client,
			random() < 0.08 AS private,
			random() AS rp,
			CASE WHEN created_at > now() - interval '4 days' THEN
				CASE WHEN u < 0.12 THEN 'reported' WHEN u < 0.25 THEN 'verified'
					WHEN u < 0.42 THEN 'dispatched' WHEN u < 0.50 THEN 'en_route'
					WHEN u < 0.58 THEN 'on_scene' WHEN u < 0.62 THEN 'rejected'
					WHEN u < 0.65 THEN 'cancelled' ELSE 'resolved' END
			ELSE
				CASE WHEN u < 0.005 THEN 'reported'
					WHEN u < 0.040 THEN (ARRAY['verified', 'dispatched', 'en_route', 'on_scene',
						'resolved'])[1 + floor(random() * 5)::integer]
					WHEN u < 0.080 THEN 'rejected'
					WHEN u < 0.110 AND g > 10 THEN 'duplicate' WHEN u < 0.140 THEN 'cancelled'
					ELSE 'closed' END
			END AS status
		FROM (
			SELECT g, random() AS u,
				now() - ((:incidents - g) * (730.0 * 86400 / :incidents) + 60 + random() * 50)
					* interval '1 second' AS created_at
			FROM generate_series(1, :incidents) g
		) s0
	) s1
) s2;

-- ts(m): created_at + m minutes scaled by f, never in the future.
INSERT INTO naboom.incident (community_id, incident_id, reference, category_code, kind, title,
	description, location, accuracy_m, address, area_id, outside_boundary, priority, status,
	status_note, reporter_ref, assignee_ref, duplicate_of, is_public, client_ref, version,
	created_at, updated_at, updated_by, acknowledged_at, acknowledged_by, dispatched_at,
	en_route_at, on_scene_at, resolved_at, closed_at, escalation_level, next_escalation_at)
OVERRIDING SYSTEM VALUE
SELECT x.c, x.g, r.r,
	CASE WHEN x.panic THEN 'panic' ELSE k.code END,
	CASE WHEN x.panic THEN 'panic' ELSE 'report' END::naboom.incident_kind,
	CASE WHEN x.panic THEN 'Panic / SOS' ELSE k.name_en END,
	CASE WHEN x.panic THEN NULL
		ELSE (ARRAY['Seen near the main road, two people, left in a white bakkie.',
					'Neighbour called it in; please send someone to have a look.',
					'Happened about an hour ago behind the co-op, gate was open.',
					'Third time this month on this farm road. Photos to follow.'])[1 + x.g % 4] END,
	ST_SetSRID(ST_MakePoint(t.lon0 + (x.dx + 0.5) * 0.00002, t.lat0 + (x.dy + 0.5) * 0.00002), 4326),
	5 + (x.g % 50), CASE WHEN x.g % 5 = 0 THEN 'Plot ' || (x.g % 300) || ', ' || t.name END,
	(x.c - 1) * 100 + (x.dy / 1000) * 10 + x.dx / 1000 + 1, false,
	CASE WHEN x.panic THEN 'critical' ELSE k.prio END,
	x.status, e.last_note,
	'member-' || x.reporter_n,
	CASE WHEN e.assigned THEN 'member-' || x.assignee_n END,
	CASE WHEN x.status = 'duplicate' THEN x.g - 10 END,
	NOT (x.panic OR x.private),
	CASE WHEN x.client THEN 'seed-' || x.g END,
	1 + e.steps,
	x.created_at,
	least(x.created_at + e.last_min * x.f * interval '1 minute', now()),
	CASE e.last_actor WHEN 'moderator' THEN 'member-' || x.c WHEN 'assignee' THEN 'member-' || x.assignee_n
		WHEN 'reporter' THEN 'member-' || x.reporter_n END,
	least(x.created_at + e.ack_min * x.f * interval '1 minute', now()),
	CASE WHEN e.ack_min IS NOT NULL THEN 'member-' || x.assignee_n END,
	least(x.created_at + e.dispatched_min * x.f * interval '1 minute', now()),
	least(x.created_at + e.en_route_min * x.f * interval '1 minute', now()),
	least(x.created_at + e.on_scene_min * x.f * interval '1 minute', now()),
	least(x.created_at + e.resolved_min * x.f * interval '1 minute', now()),
	least(x.created_at + e.closed_min * x.f * interval '1 minute', now()),
	0, NULL
FROM bench.gen x
JOIN bench.ref r ON r.g = x.g
JOIN bench.town t ON t.community_id = x.c
JOIN bench.cat k ON k.n = x.cat
JOIN bench.path_end e ON e.path = x.path;

-- The queue's due time (queue_due_at, 0.7.0), which the workflow trigger
-- stamps and replica mode skipped: the live incidents get it as
-- naboom.restamp_queue_due computes it (the same statement as the 0.7.0
-- upgrade's backfill; the rest stay NULL).
SELECT naboom.restamp_queue_due(NULL, NULL) \g /dev/null

SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('naboom.incident', 'incident_id'), :incidents),
	pg_catalog.setval(pg_catalog.pg_get_serial_sequence('naboom.area', 'area_id'), 1000),
	pg_catalog.setval(pg_catalog.pg_get_serial_sequence('naboom.community', 'community_id'), 10) \g /dev/null

-- The timeline: 'reported' (seq 1), then the steps of the incident's path.
INSERT INTO naboom.incident_timeline (community_id, incident_id, seq, at, actor_ref, entry_kind,
	from_status, to_status, note, is_public, detail)
SELECT x.c, x.g, 1, x.created_at, 'member-' || x.reporter_n, 'reported', NULL, 'reported', NULL, true, NULL
FROM bench.gen x
UNION ALL
SELECT x.c, x.g, p.step + 1,
	least(x.created_at + p.minutes * x.f * interval '1 minute', now()),
	CASE p.actor WHEN 'moderator' THEN 'member-' || x.c WHEN 'assignee' THEN 'member-' || x.assignee_n
		WHEN 'reporter' THEN 'member-' || x.reporter_n END,
	p.entry_kind, p.from_status, p.to_status, p.note, true,
	CASE WHEN p.to_status = 'dispatched' THEN jsonb_build_object('assignee', 'member-' || x.assignee_n) END
FROM bench.gen x JOIN bench.path p ON p.path = x.path;

------------------------------------------------------------------------------
-- The floor table, and the pool of incidents the transition benchmark cycles
------------------------------------------------------------------------------
CREATE TABLE bench.floor_incident
	(LIKE naboom.incident INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES);
COMMENT ON TABLE bench.floor_incident IS
	'Floor for the benchmark: naboom.incident''s columns, defaults and indexes, without triggers, foreign keys, CHECKs or RLS';
INSERT INTO bench.floor_incident OVERRIDING SYSTEM VALUE SELECT * FROM naboom.incident;
SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('bench.floor_incident', 'incident_id'), :incidents) \g /dev/null

CREATE TABLE bench.pool (
	id integer PRIMARY KEY,			-- community (id - 1) % 10 + 1
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	reference text NOT NULL
);
INSERT INTO bench.pool
SELECT (s.rn - 1) * 10 + s.community_id, s.community_id, s.incident_id, s.reference
FROM (SELECT i.community_id, i.incident_id, i.reference,
		row_number() OVER (PARTITION BY i.community_id ORDER BY hashint8(i.incident_id)) AS rn
	  FROM naboom.incident i
	  WHERE i.status IN ('verified', 'dispatched', 'en_route', 'on_scene', 'resolved') AND i.kind = 'report') s
WHERE s.rn <= :pool / 10;
DO $$
BEGIN
	IF (SELECT count(*) FROM bench.pool) <> current_setting('bench.pool')::integer THEN
		RAISE EXCEPTION 'pool: only % open incidents, wanted %',
			(SELECT count(*) FROM bench.pool), current_setting('bench.pool');
	END IF;
END
$$;

DROP TABLE bench.gen, bench.ref, bench.path, bench.path_end;
RESET session_replication_role;

------------------------------------------------------------------------------
-- Consistency: the foreign keys the replica-mode load did not check
------------------------------------------------------------------------------
DO $$
DECLARE
	bad bigint;
BEGIN
	SELECT count(*) INTO bad FROM naboom.incident i
	WHERE NOT EXISTS (SELECT 1 FROM naboom.category c WHERE c.community_id = i.community_id AND c.code = i.category_code)
		OR NOT EXISTS (SELECT 1 FROM naboom.area a WHERE a.community_id = i.community_id AND a.area_id = i.area_id)
		OR NOT EXISTS (SELECT 1 FROM naboom.member m WHERE m.community_id = i.community_id AND m.user_ref = i.reporter_ref)
		OR (i.assignee_ref IS NOT NULL AND NOT EXISTS (SELECT 1 FROM naboom.member m
				WHERE m.community_id = i.community_id AND m.user_ref = i.assignee_ref AND m.role >= 'responder'))
		OR (i.duplicate_of IS NOT NULL AND NOT EXISTS (SELECT 1 FROM naboom.incident d
				WHERE d.community_id = i.community_id AND d.incident_id = i.duplicate_of))
		OR NOT EXISTS (SELECT 1 FROM naboom.status s WHERE s.status = i.status);
	IF bad > 0 THEN
		RAISE EXCEPTION '% incidents break a foreign key', bad;
	END IF;
	-- The scripts compute a point's area like this file does; check that
	-- naboom routes a sample the same way: file copies of them through the
	-- real triggers (as the service, on behalf of their reporters), compare
	-- the area the workflow trigger chose, and roll the copies back.
	BEGIN
		WITH s AS (
			SELECT i.incident_id, i.community_id, i.category_code, i.kind, i.title, i.location,
				i.priority, i.reporter_ref, i.area_id
			FROM naboom.incident i WHERE i.incident_id % 997 = 0),
		ins AS (
			INSERT INTO naboom.incident (community_id, category_code, kind, title, location, priority,
				reporter_ref, client_ref)
			SELECT s.community_id, s.category_code, s.kind, s.title, s.location, s.priority,
				s.reporter_ref, 'routing-check-' || s.incident_id
			FROM s
			RETURNING client_ref, area_id)
		SELECT count(*) FILTER (WHERE ins.area_id IS DISTINCT FROM s.area_id) INTO bad
		FROM s JOIN ins ON ins.client_ref = 'routing-check-' || s.incident_id;
		RAISE EXCEPTION 'undo the routing check' USING ERRCODE = 'NBCHK';
	EXCEPTION WHEN SQLSTATE 'NBCHK' THEN
		NULL;
	END;
	IF bad > 0 THEN
		RAISE EXCEPTION '% sampled incidents are not in the area naboom routes them to', bad;
	END IF;
	SELECT count(*) INTO bad FROM naboom.incident i
	JOIN naboom.category c ON c.community_id = i.community_id AND c.code = i.category_code
	JOIN naboom.status s ON s.status = i.status
	WHERE i.queue_due_at IS DISTINCT FROM CASE WHEN s.status_type = 'open'
		THEN naboom.sla_due(i.created_at, i.acknowledged_at, c.ack_target, c.resolve_target) END;
	IF bad > 0 THEN
		RAISE EXCEPTION '% incidents without the queue''s due time naboom would stamp', bad;
	END IF;
	SELECT count(*) INTO bad FROM naboom.incident_timeline t
	WHERE NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.community_id = t.community_id AND i.incident_id = t.incident_id);
	IF bad > 0 THEN
		RAISE EXCEPTION '% timeline entries without their incident', bad;
	END IF;
END
$$;

------------------------------------------------------------------------------
-- Responder positions and alert subscriptions (design.md section 9: 2,000
-- on-duty responders, 10,000 subscriptions).  Normal mode: the foreign keys
-- to naboom.member are checked row by row.
------------------------------------------------------------------------------
SELECT pg_catalog.setseed(0.2607) \g /dev/null

INSERT INTO naboom.responder_position (community_id, user_ref, position, accuracy_m, reported_at)
SELECT m.community_id, m.user_ref,
	CASE WHEN m.on_duty THEN ST_SetSRID(ST_MakePoint(t.lon0 + 0.2 * random(), t.lat0 + 0.2 * random()), 4326) END,
	CASE WHEN m.on_duty THEN 5 + floor(random() * 46) END,
	now()
FROM naboom.member m JOIN bench.town t ON t.community_id = m.community_id
WHERE m.role = 'responder'
ORDER BY m.community_id, m.user_ref;

-- The floor of update_position: the same shape, the same rows.
CREATE TABLE bench.floor_position
	(LIKE naboom.responder_position INCLUDING DEFAULTS INCLUDING INDEXES) WITH (fillfactor = 50);
COMMENT ON TABLE bench.floor_position IS
	'Floor for the benchmark: naboom.responder_position''s columns, defaults, indexes and fillfactor, without RLS or foreign keys';
INSERT INTO bench.floor_position SELECT * FROM naboom.responder_position ORDER BY community_id, user_ref;

-- reach as naboom_api.subscribe sets it: the envelope of naboom.search_box.
INSERT INTO naboom.subscription (community_id, user_ref, label, centre, radius_m, reach, categories,
	min_priority, created_at)
SELECT s.c, 'member-' || s.n, s.label, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.radius,
	ST_MakeEnvelope(b.box[1], b.box[2], b.box[3], b.box[4], 4326),
	CASE s.topic
		WHEN 0 THEN ARRAY['stock_theft']
		WHEN 1 THEN ARRAY['burglary', 'suspicious_person']
		WHEN 2 THEN ARRAY['fire']
		WHEN 3 THEN ARRAY['road_accident']
		WHEN 4 THEN ARRAY['power_outage', 'water_leak']
		WHEN 5 THEN ARRAY['burglary', 'stock_theft', 'suspicious_person']
		WHEN 6 THEN ARRAY['fire', 'road_accident']
	END,
	CASE WHEN s.u < 0.50 THEN 'low' WHEN s.u < 0.75 THEN 'medium' WHEN s.u < 0.95 THEN 'high'
		ELSE 'critical' END::naboom.priority,
	s.created_at
FROM (
	SELECT (g - 1) % 10 + 1 AS c,
		floor(random() * :members)::integer * 10 + (g - 1) % 10 + 1 AS n,
		(ARRAY['Home', 'Farm', 'Work', 'School', NULL])[1 + floor(random() * 5)::integer] AS label,
		t.lat0 + 0.2 * random() AS lat,
		t.lon0 + 0.2 * random() AS lon,
		500 * power(10, random()) AS radius,
		-- 30 % for some categories only (topics 0..6), the rest for all
		CASE WHEN random() < 0.3 THEN floor(random() * 7)::integer END AS topic,
		random() AS u,
		now() - random() * interval '700 days' AS created_at
	FROM generate_series(1, 10 * :subscriptions) g
	JOIN bench.town t ON t.community_id = (g - 1) % 10 + 1
) s
CROSS JOIN LATERAL (SELECT naboom.search_box(s.lat, s.lon, s.radius) AS box) b;

DO $$
DECLARE
	worst bigint;
BEGIN
	SELECT max(n) INTO worst FROM (SELECT count(*) AS n FROM naboom.subscription
		GROUP BY community_id, user_ref) x;
	IF worst > 20 THEN
		RAISE EXCEPTION 'a member has % subscriptions in one community; subscribe allows 20', worst;
	END IF;
END
$$;

-- The same-work floors' copies (issue 17): timeline, alerts, events, audit,
-- and the subscriptions and members as loaded (so after the subscriptions).
\ir samework_prepare.sql

------------------------------------------------------------------------------
-- The audit log is empty: the benchmark's audit figures count only what the
-- runs write.  The count goes to bench/out/load.log.
------------------------------------------------------------------------------
SELECT count(*) AS audit_rows_after_load FROM naboom.audit_log;
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM naboom.audit_log) THEN
		RAISE EXCEPTION 'the load wrote % audit rows; naboom.audit = off should have stopped them',
			(SELECT count(*) FROM naboom.audit_log);
	END IF;
END
$$;

------------------------------------------------------------------------------
-- The event stream is empty too: the benchmark's event figures (events per
-- transaction, commit-to-publication latency, the events_since read) count
-- only what the runs write.  The count goes to bench/out/load.log.
------------------------------------------------------------------------------
SELECT count(*) AS events_after_load FROM naboom.event;
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM naboom.event) THEN
		RAISE EXCEPTION 'the load wrote % events; naboom.events = off should have stopped them',
			(SELECT count(*) FROM naboom.event);
	END IF;
END
$$;
