-- pgTAP: the 0.2.0 spatial API as a gateway calls it -- a login-less,
-- non-superuser role that is a member of naboom_user (what a gateway's
-- authenticator switches to), identity in request.jwt.claims, and an EMPTY
-- search_path -- plus naboom_anon for the public readers.  Routing to the
-- smallest nested area, poor_accuracy, duplicate candidates with spheroid
-- distances, incidents_near and blurring, responder positions and the
-- nearest responders, subscriptions, the alert fan-out of report_incident
-- (in its transaction) with cross-community isolation, row-level security
-- and privileges of the new tables, and the maps.
--
-- Reference distances (metres, WGS84 spheroid, Vincenty; see
-- sql/08_spatial.sql) from A = (-24.52, 28.71):
--   (-24.5209, 28.71) 99.69   (-24.52, 28.713) 304.02   (-24.5245, 28.71) 498.45
--   (-24.52, 28.73) 2026.77
--
-- As in api_as_user.sql: with search_path = '' nothing is found
-- unqualified, pgTAP included, so the pgTAP entry points used here get their
-- own search_path inside this (rolled back) transaction; their arguments --
-- the naboom calls under test -- are evaluated by this session with
-- search_path = ''.  pg_temp.error_of runs its SQL in the caller's
-- search_path and returns "SQLSTATE key" (the key that starts the DETAIL).
BEGIN;
SELECT tap.plan(60);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

-- The gateway's role for signed-in people: no login, no superuser, a member
-- of naboom_user (its privileges and row-level security policies).
CREATE ROLE tap_spatial_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

------------------------------------------------------------------------------
-- Fixtures: two overlapping communities by the naboom service (superuser, no
-- claims); everything else by people, through the gateway role.
--   tap-sp    (Mookgophong)  areas district > town > sector, nested
--   tap-sp-b  (overlaps tap-sp around the town centre A)
------------------------------------------------------------------------------
SELECT pg_temp.tap_community('tap-sp', 'Tap Spatial (Mookgophong)', 'sp-admin', 'SP Admin') AS sp \gset
SELECT pg_temp.tap_community('tap-sp-b', 'Tap Spatial B (overlapping)', 'spb-admin', 'SPB Admin',
	'{"type":"Polygon","coordinates":[[[28.65,-24.55],[28.80,-24.55],[28.80,-24.45],[28.65,-24.45],[28.65,-24.55]]]}') AS spb \gset

SET LOCAL ROLE tap_spatial_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-sp', 'sp-res1', 'SP Resident One');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-res2', 'SP Resident Two');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-res3', 'SP Resident Three');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-r1', 'SP Responder One', 'responder', 'sp-admin');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-r2', 'SP Responder Two', 'responder', 'sp-admin');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-r3', 'SP Responder Three', 'responder', 'sp-admin');
	PERFORM pg_temp.tap_join('tap-sp', 'sp-r4', 'SP Responder Four', 'responder', 'sp-admin');
	PERFORM pg_temp.tap_join('tap-sp-b', 'spb-res', 'SPB Resident');

	PERFORM pg_temp.tap_category('tap-sp', 'sp-admin', 'fire', 'Veld fire', 'Veldbrand', 'high', duplicate_radius_m => 300);
	PERFORM pg_temp.tap_category('tap-sp', 'sp-admin', 'gbv', 'Gender-based violence', 'Geslagsgebaseerde geweld',
		'medium', is_sensitive => true);
	PERFORM pg_temp.tap_category('tap-sp', 'sp-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
	-- (tap_category leaves the claims at sp-admin: the areas below are hers)
	-- Nested areas, the largest first (lowest area_id): routing must pick
	-- the smallest area holding the point, not the first one created.
	PERFORM naboom_api.upsert_area('tap-sp', 'district', 'District',
		'{"type":"Polygon","coordinates":[[[28.62,-24.58],[28.80,-24.58],[28.80,-24.45],[28.62,-24.45],[28.62,-24.58]]]}',
		'Distrik', 'farm_block');
	PERFORM naboom_api.upsert_area('tap-sp', 'town', 'Town centre',
		'{"type":"Polygon","coordinates":[[[28.69,-24.535],[28.73,-24.535],[28.73,-24.50],[28.69,-24.50],[28.69,-24.535]]]}',
		'Dorp', 'suburb');
	PERFORM naboom_api.upsert_area('tap-sp', 'sector', 'Central patrol sector',
		'{"type":"Polygon","coordinates":[[[28.705,-24.525],[28.715,-24.525],[28.715,-24.515],[28.705,-24.515],[28.705,-24.525]]]}',
		'Sentrale sektor', 'patrol_sector');

	PERFORM pg_temp.tap_category('tap-sp-b', 'spb-admin', 'fire', 'Veld fire', 'Veldbrand', 'high');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolcanlogin AND NOT r.rolbypassrls
			FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
		AND pg_catalog.pg_has_role(CURRENT_USER, 'naboom_user', 'MEMBER')
		AND NOT pg_catalog.pg_has_role(CURRENT_USER, 'naboom_service', 'MEMBER'),
	'... as tap_spatial_gw: login-less, not a superuser, no BYPASSRLS, a member of naboom_user (not naboom_service)');

------------------------------------------------------------------------------
-- Routing: the smallest nested area; poor accuracy kept and flagged
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT tap.is((SELECT i.area FROM naboom_api.report_incident('tap-sp', 'pothole', -24.52, 28.71, 'In the sector') i),
	'sector', 'routing: a point in all three nested areas goes to the smallest (sector)');
SELECT tap.is((SELECT i.area FROM naboom_api.report_incident('tap-sp', 'pothole', -24.505, 28.695, 'In town') i),
	'town', 'routing: a point in the town but not the sector goes to town');
SELECT tap.is((SELECT i.area FROM naboom_api.report_incident('tap-sp', 'pothole', -24.56, 28.65, 'On a farm') i),
	'district', 'routing: a point only in the district goes to the district');
SELECT tap.is((SELECT COALESCE(i.area, '(none)') || ' ' || i.outside_boundary
		FROM naboom_api.report_incident('tap-sp', 'pothole', -24.42, 28.83, 'In no area') i),
	'(none) false', 'routing: a point inside the community but in no area has no area and is not outside');
SELECT i.reference AS ref_poor, i.area || ' ' || i.accuracy_m || ' ' || i.poor_accuracy AS poor_row
FROM naboom_api.report_incident('tap-sp', 'pothole', -24.52, 28.71, 'Roughly here', accuracy_m => 2000) i \gset
SELECT tap.is(:'poor_row'::text, 'sector 2000 true', 'accuracy 2000 m: kept, routed, poor_accuracy true');
SELECT tap.is((SELECT i.poor_accuracy FROM naboom_api.report_incident('tap-sp', 'pothole', -24.52, 28.71, 'Exactly here',
		accuracy_m => 10) i), false, 'accuracy 10 m: poor_accuracy false');
SELECT tap.is((SELECT i.poor_accuracy FROM naboom.incident i WHERE i.reference = :'ref_poor'), true,
	'direct SELECT on naboom.incident: the gateway role may read poor_accuracy');

------------------------------------------------------------------------------
-- Duplicate candidates (fire: 300 m radius)
------------------------------------------------------------------------------
SELECT i.reference AS fire1, pg_catalog.jsonb_array_length(i.duplicate_candidates) AS fire1_candidates
FROM naboom_api.report_incident('tap-sp', 'fire', -24.52, 28.71, 'Smoke behind the school') i \gset
SELECT tap.is(:fire1_candidates, 0, 'report_incident: the first fire has no duplicate candidates');

SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT i.reference AS fire2, i.duplicate_candidates AS fire2_candidates
FROM naboom_api.report_incident('tap-sp', 'fire', -24.5209, 28.71, 'Fire near the school') i \gset
SELECT tap.is(pg_catalog.jsonb_array_length(:'fire2_candidates'::jsonb), 1,
	'report_incident 99.7 m away: one duplicate candidate');
SELECT tap.is((:'fire2_candidates'::jsonb)->0->>'reference', :'fire1', '... the first fire');
SELECT tap.ok(pg_catalog.abs(((:'fire2_candidates'::jsonb)->0->>'distance_m')::double precision - 99.7) < 0.1,
	'... at 99.7 m (WGS84 spheroid)');
SELECT i.reference AS fire3, pg_catalog.jsonb_array_length(i.duplicate_candidates) AS fire3_candidates
FROM naboom_api.report_incident('tap-sp', 'fire', -24.52, 28.713, 'Flames east of the school') i \gset
SELECT tap.is(:fire3_candidates, 0, 'report_incident 304 m and 320 m away: beyond the 300 m radius, no candidates');

SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT tap.is((SELECT pg_catalog.string_agg(CASE d.reference WHEN :'fire1' THEN 'fire1' WHEN :'fire2' THEN 'fire2'
			WHEN :'fire3' THEN 'fire3' ELSE d.reference END || ':' || d.is_mine, ',' ORDER BY d.ordinality)
		FROM naboom_api.duplicate_candidates('tap-sp', 'fire', -24.52, 28.71) WITH ORDINALITY d),
	'fire1:true,fire2:false', 'duplicate_candidates: nearest first, within the radius only, is_mine for the caller''s own');
SELECT tap.ok((SELECT pg_catalog.abs(d.distance_m - 99.7) < 0.1
		FROM naboom_api.duplicate_candidates('tap-sp', 'fire', -24.52, 28.71) d WHERE d.reference = :'fire2'),
	'duplicate_candidates: the second fire at 99.7 m');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.duplicate_candidates('tap-sp', 'gbv', -24.52, 28.71) d),
	0, 'duplicate_candidates: another category at the same place has none');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.duplicate_candidates('tap-sp', 'volcano', -24.52, 28.71)$$),
	'22023 naboom.unknown_category', 'duplicate_candidates: an unknown category is 22023 naboom.unknown_category');
SET LOCAL request.jwt.claims = '{"sub":"spb-res"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.duplicate_candidates('tap-sp', 'fire', -24.52, 28.71)$$),
	'42501 naboom.not_a_member', 'duplicate_candidates: a member of another community is 42501 naboom.not_a_member');

------------------------------------------------------------------------------
-- incidents_near: what a resident, the reporter, a responder and the public
-- see.  A sensitive incident at (-24.52137, 28.71163) shows at its grid-cell
-- centre (-24.5215, 28.7115) to others; a private one of sp-res1 nearby.
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT i.reference AS sens FROM naboom_api.report_incident('tap-sp', 'gbv', -24.52137, 28.71163, 'Neighbour being beaten') i \gset
SELECT i.reference AS priv FROM naboom_api.report_incident('tap-sp', 'pothole', -24.521, 28.711, 'Hole in my driveway',
	is_public => false) i \gset
SELECT tap.is((SELECT n.is_mine FROM naboom_api.incidents_near(-24.52, 28.71, 500) n WHERE n.reference = :'priv'), true,
	'incidents_near, the reporter: their own private incident, is_mine');

SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.incidents_near(-24.52, 28.71, 500) n
		WHERE n.reference IN (:'fire1', :'fire2', :'priv')),
	2, 'incidents_near, another resident: the public fires, not sp-res1''s private incident');
SELECT tap.ok((SELECT pg_catalog.abs(n.distance_m - 99.7) < 0.1 FROM naboom_api.incidents_near(-24.52, 28.71, 500) n
		WHERE n.reference = :'fire2'), 'incidents_near: distance 99.7 m to the second fire');
SELECT tap.is((SELECT n.location_blurred::text || ' ' || n.lat || ' ' || n.lon
		FROM naboom_api.incidents_near(-24.52, 28.71, 500) n WHERE n.reference = :'sens'),
	'true -24.5215 28.7115', 'incidents_near, another resident: the sensitive incident blurred to its cell centre');

SET LOCAL request.jwt.claims = '{"sub":"sp-r1"}';
SELECT tap.is((SELECT n.location_blurred::text || ' ' || n.lat || ' ' || n.lon
		FROM naboom_api.incidents_near(-24.52, 28.71, 500) n WHERE n.reference = :'sens'),
	'false -24.52137 28.71163', 'incidents_near, a responder: the sensitive incident at its exact point');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.incidents_near(-24.52, 28.71, 500) n
		WHERE n.reference = :'priv'), 1, 'incidents_near, a responder: private incidents of their community too');

RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is((SELECT pg_catalog.string_agg(x.label, ',' ORDER BY x.label)
		FROM (SELECT CASE n.reference WHEN :'fire1' THEN 'fire1' WHEN :'fire2' THEN 'fire2'
				WHEN :'sens' THEN 'sens' WHEN :'priv' THEN 'priv' END AS label
			FROM naboom_api.incidents_near(-24.52, 28.71, 500) n) x WHERE x.label IS NOT NULL),
	'fire1,fire2,sens', 'incidents_near, naboom_anon: the public incidents, not the private one');
SELECT tap.ok((SELECT pg_catalog.bool_and(NOT n.is_mine) FROM naboom_api.incidents_near(-24.52, 28.71, 500) n),
	'incidents_near, naboom_anon: nothing is is_mine');
SELECT tap.is((SELECT n.location_blurred::text || ' ' || n.lat || ' ' || n.lon
		FROM naboom_api.incidents_near(-24.52, 28.71, 500) n WHERE n.reference = :'sens'),
	'true -24.5215 28.7115', 'incidents_near, naboom_anon: the sensitive incident blurred');
SELECT tap.throws_ok('SELECT a.alert_id FROM naboom.alert a', '42501', 'permission denied for table alert',
	'naboom_anon: no SELECT on naboom.alert');
RESET ROLE;

------------------------------------------------------------------------------
-- Positions and the nearest responders (never the reporter; on duty, fresh)
------------------------------------------------------------------------------
SET LOCAL ROLE tap_spatial_gw;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"sp-r1"}';
SELECT tap.is((SELECT p.communities::text || ' ' || p.lat || ' ' || p.lon || ' ' || p.on_duty
		FROM naboom_api.update_position(-24.5245, 28.71, true, 8) p),
	'{tap-sp} -24.5245 28.71 true', 'update_position: a responder''s position, for the community they respond in');
SET LOCAL request.jwt.claims = '{"sub":"sp-r2"}';
SELECT p.on_duty AS r2_on FROM naboom_api.update_position(-24.52, 28.73) p \gset
SET LOCAL request.jwt.claims = '{"sub":"sp-r3"}';
SELECT tap.is((SELECT (p.lat IS NULL)::text || ' ' || p.on_duty FROM naboom_api.update_position(-24.5209, 28.71, false) p),
	'true false', 'update_position off duty: no position is returned (nor kept)');
SET LOCAL request.jwt.claims = '{"sub":"sp-r4"}';
SELECT p.on_duty AS r4_on FROM naboom_api.update_position(-24.5201, 28.7101) p \gset
-- sp-r4 reports, standing next to the spot.
SELECT i.reference AS by_r4 FROM naboom_api.report_incident('tap-sp', 'pothole', -24.52, 28.71, 'Hole at the school gate') i \gset

SET LOCAL request.jwt.claims = '{"sub":"sp-r1"}';
SELECT tap.is((SELECT pg_catalog.string_agg(r.user_ref, ',' ORDER BY r.ordinality)
		FROM naboom_api.nearest_responders(:'fire1') WITH ORDINALITY r),
	'sp-r4,sp-r1,sp-r2', 'nearest_responders: on-duty responders nearest first; not the off-duty one');
SELECT tap.ok((SELECT pg_catalog.abs(r.distance_m - 498.45) < 0.1 FROM naboom_api.nearest_responders(:'fire1') r
		WHERE r.user_ref = 'sp-r1'), 'nearest_responders: sp-r1 at 498.4 m');
SELECT tap.is((SELECT pg_catalog.string_agg(r.user_ref, ',' ORDER BY r.ordinality)
		FROM naboom_api.nearest_responders(:'by_r4') WITH ORDINALITY r),
	'sp-r1,sp-r2', 'nearest_responders: the reporter (the nearest responder) is left out of their own incident');

SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.nearest_responders(%L)', :'fire1')),
	'42501 naboom.insufficient_role', 'nearest_responders, a resident (the reporter): 42501 naboom.insufficient_role');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.update_position(-24.52, 28.71)'),
	'42501 naboom.not_a_responder', 'update_position, a resident: 42501 naboom.not_a_responder');

------------------------------------------------------------------------------
-- Subscriptions
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res3"}';
SELECT s.id AS sub_home FROM naboom_api.subscribe('tap-sp', -24.52, 28.71, 1000, '{FIRE}', label => 'Home') s \gset
-- A second alert area covering the same place: still one alert per incident.
SELECT s.id AS sub_work FROM naboom_api.subscribe('tap-sp', -24.5209, 28.71, 500, NULL, 'high') s \gset
SELECT tap.is((SELECT pg_catalog.string_agg(s.community || ':' || COALESCE(s.label, '-') || ':' || s.radius_m || ':'
			|| COALESCE(s.categories::text, 'all') || ':' || s.min_priority, ' ' ORDER BY s.id)
		FROM naboom_api.my_subscriptions() s),
	'tap-sp:Home:1000:{fire}:low tap-sp:-:500:all:high', 'my_subscriptions: both alert areas, categories lower-cased');

SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
-- The reporter-to-be covers the place too.
SELECT s.id AS sub_res1 FROM naboom_api.subscribe('tap-sp', -24.52, 28.71, 2000) s \gset
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.unsubscribe(%s)', :sub_home)),
	'PT404 naboom.unknown_subscription', 'unsubscribe of someone else''s alert area: PT404 naboom.unknown_subscription');

SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT s.id AS sub_res2 FROM naboom_api.subscribe('tap-sp', -24.52, 28.71, 3000, label => 'Temporary') s \gset
SELECT tap.is((SELECT s.id FROM naboom_api.unsubscribe(:sub_res2) s), :sub_res2::bigint, 'unsubscribe: one''s own, returned');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_subscriptions() s), 0,
	'my_subscriptions after unsubscribe: none left');

SET LOCAL request.jwt.claims = '{"sub":"spb-res"}';
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.subscribe(''tap-sp'', -24.52, 28.71, 500)'),
	'42501 naboom.not_a_member', 'subscribe in a community one is not a member of: 42501 naboom.not_a_member');
-- In their own community, over the very same point (the communities overlap).
SELECT s.id AS sub_b FROM naboom_api.subscribe('tap-sp-b', -24.52, 28.71, 5000) s \gset

------------------------------------------------------------------------------
-- Fan-out: sp-res1 reports a fire at A; the alerts are written in that
-- transaction (this one).
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT i.reference AS fan FROM naboom_api.report_incident('tap-sp', 'fire', -24.52, 28.71, 'Big fire at the school') i \gset

SET LOCAL request.jwt.claims = '{"sub":"sp-res3"}';
SELECT tap.is((SELECT pg_catalog.string_agg(CASE a.reference WHEN :'fan' THEN 'fan' ELSE a.reference END || ' ' || a.reason
			|| ' ' || a.distance_m, ',') FROM naboom_api.my_alerts() a),
	'fan subscription 0', 'fan-out, the subscriber (two covering alert areas): exactly one alert, via the nearer area');
SELECT tap.is((SELECT pg_catalog.string_agg((a.subscription_id = :sub_home)::text, ',') FROM naboom.alert a),
	'true', 'fan-out, the subscriber, direct SELECT on naboom.alert: their one alert row, naming the Home area');

SET LOCAL request.jwt.claims = '{"sub":"sp-res1"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0,
	'fan-out, the reporter (whose alert area covers it): no alert');
SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0,
	'fan-out, a resident who unsubscribed: no alert');
SET LOCAL request.jwt.claims = '{"sub":"spb-res"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0,
	'fan-out, a member of ANOTHER community whose alert area covers the point: no alert');

SET LOCAL request.jwt.claims = '{"sub":"sp-r1"}';
SELECT tap.ok((SELECT a.reason = 'responder' AND pg_catalog.abs(a.distance_m - 498.45) < 0.1
		FROM naboom_api.my_alerts() a WHERE a.reference = :'fan'),
	'fan-out, a high-priority fire: a nearby on-duty responder is alerted with their distance');
SET LOCAL request.jwt.claims = '{"sub":"sp-r3"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0,
	'fan-out: the off-duty responder is not alerted');

-- Non-vacuous isolation: the same subscription of B does fire for B.
SET LOCAL request.jwt.claims = '{"sub":"spb-admin"}';
SELECT i.reference AS fan_b FROM naboom_api.report_incident('tap-sp-b', 'fire', -24.52, 28.71, 'Fire seen from B') i \gset
SET LOCAL request.jwt.claims = '{"sub":"spb-res"}';
SELECT tap.is((SELECT pg_catalog.string_agg(a.community || ' ' || (a.reference = :'fan_b') || ' ' || a.reason, ',')
		FROM naboom_api.my_alerts() a),
	'tap-sp-b true subscription', '... while a fire in their own community alerts them, once');

------------------------------------------------------------------------------
-- Row-level security and privileges of the new tables, direct SQL as the
-- gateway role
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.alert a WHERE a.user_ref = 'sp-res3'), 0,
	'RLS: a resident sees none of another member''s alerts in naboom.alert');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.subscription s WHERE s.user_ref = 'sp-res3'), 0,
	'RLS: a resident sees none of another member''s subscriptions in naboom.subscription');
SET LOCAL request.jwt.claims = '{"sub":"sp-res3"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.subscription s WHERE s.user_ref = 'sp-res3'), 2,
	'RLS: ... while the owner sees both of theirs (the checks above are not vacuous)');
SET LOCAL request.jwt.claims = '{"sub":"sp-r1"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.alert a WHERE a.user_ref <> 'sp-r1'), 0,
	'RLS: a responder sees only their own alerts, no one else''s');
SELECT tap.throws_ok('SELECT p.user_ref FROM naboom.responder_position p', '42501',
	'permission denied for table responder_position', 'naboom_user may not SELECT naboom.responder_position at all');
SELECT tap.throws_ok($$INSERT INTO naboom.alert (community_id, incident_id, user_ref, reason)
		SELECT a.community_id, a.incident_id, 'sp-res2', 'subscription' FROM naboom.alert a LIMIT 1$$,
	'42501', 'permission denied for table alert', 'naboom_user may not INSERT into naboom.alert');
SELECT tap.throws_ok('DELETE FROM naboom.subscription', '42501', 'permission denied for table subscription',
	'naboom_user may not DELETE from naboom.subscription (only unsubscribe)');

------------------------------------------------------------------------------
-- Maps
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sp-res2"}';
SELECT naboom_api.community_map_geojson('tap-sp') AS map_res2 \gset
SELECT tap.is((:'map_res2'::jsonb)->>'type', 'FeatureCollection', 'community_map_geojson: a FeatureCollection');
SELECT tap.ok((:'map_res2'::jsonb)->'features' @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', :'fan'))
		AND NOT (:'map_res2'::jsonb)->'features' @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', :'priv')),
	'community_map_geojson, a resident: the public fire, not another resident''s private incident');
SELECT tap.is((SELECT f->'properties'->>'location_blurred' || ' ' || (f->'geometry'->'coordinates')::text
		FROM pg_catalog.jsonb_array_elements((:'map_res2'::jsonb)->'features') f WHERE f->>'id' = :'sens'),
	'true [28.7115, -24.5215]', 'community_map_geojson, a resident: the sensitive incident at its cell centre');
SELECT tap.ok((SELECT pg_catalog.left(m, 4) = '<svg' AND m LIKE '%</svg>' FROM naboom_api.community_map_svg('tap-sp', 400) m),
	'community_map_svg: an SVG document (starts with <svg, ends with </svg>)');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
