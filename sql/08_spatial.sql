-- Spatial matching (0.2.0): routing, duplicate candidates, incidents near a
-- point, responder positions, nearest responders, alert subscriptions and
-- fan-out, maps.
--
-- Reference distances (metres, WGS84 spheroid), computed outside the
-- database with Vincenty's inverse formula, from the town centre
-- A = (-24.52, 28.71):
--   (-24.5209, 28.71)   99.69      (-24.52, 28.713)   304.02
--   (-24.5245, 28.71)  498.45      (-24.52, 28.72)   1013.39
--   (-24.53, 28.71)   1107.66      (-24.52, 28.73)   2026.77
--   (-24.60, 28.62)  12714.30
-- and across the antimeridian / at the pole:
--   (-16.8, 179.9995) to (-16.8, 179.999) 53.30, to (-16.8, -179.999) 159.90
--   (-89.9995, 120) to (-90, 0) 55.85
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- People and categories of this file (new ones, so earlier files' incidents
-- at the town centre stay out of the way: every search below names one of
-- these categories).
SELECT t.as_user('s-res');  SELECT role FROM naboom_api.join_community('mookgophong', 'Naledi Resident');
SELECT t.as_user('s-res2'); SELECT role FROM naboom_api.join_community('mookgophong', 'Gert Resident');
SELECT t.as_user('s-r1');   SELECT role FROM naboom_api.join_community('mookgophong', 'Responder One');
SELECT t.as_user('s-r2');   SELECT role FROM naboom_api.join_community('mookgophong', 'Responder Two');
SELECT t.as_user('s-r3');   SELECT role FROM naboom_api.join_community('mookgophong', 'Responder Three');
SELECT t.as_user('s-r4');   SELECT role FROM naboom_api.join_community('mookgophong', 'Responder Four');
SELECT t.as_user('s-other'); SELECT role FROM naboom_api.join_community('modimolle', 'Modimolle Resident');
SELECT t.as_user('u-admin');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r1', 'responder');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r2', 'responder');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r3', 'responder');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r4', 'responder');
SELECT code, duplicate_radius_m FROM naboom_api.upsert_category('mookgophong', 'fire', 'Veld fire', 'Veldbrand', 'high',
	duplicate_radius_m => 300, duplicate_window => '2 hours');
SELECT code, is_sensitive FROM naboom_api.upsert_category('mookgophong', 'suspicious', 'Suspicious person', 'Verdagte persoon', 'medium',
	is_sensitive => true, duplicate_radius_m => 500);
SELECT code FROM naboom_api.upsert_category('mookgophong', 'pothole', 'Pothole', 'Slaggat', 'low');

------------------------------------------------------------------------------
-- Routing: the smallest area that holds the point (areas nest: the central
-- patrol sector lies inside the town centre).
------------------------------------------------------------------------------
SELECT t.as_user('s-res');
SELECT area, outside_boundary, poor_accuracy FROM naboom_api.report_incident('mookgophong', 'pothole', -24.52, 28.71, 'In the sector');
SELECT area, outside_boundary, poor_accuracy FROM naboom_api.report_incident('mookgophong', 'pothole', -24.505, 28.695, 'In town, not the sector');
SELECT area, outside_boundary, poor_accuracy FROM naboom_api.report_incident('mookgophong', 'pothole', -24.60, 28.62, 'On a farm');
SELECT coalesce(area, '(none)'), outside_boundary FROM naboom_api.report_incident('mookgophong', 'pothole', -24.45, 28.85, 'In no area');
-- A point on an area's edge belongs to it (ST_Covers).
SELECT area FROM naboom_api.report_incident('mookgophong', 'pothole', -24.525, 28.705, 'On the sector corner');
-- Poor accuracy: kept, and marked.
SELECT area, accuracy_m, poor_accuracy FROM naboom_api.report_incident('mookgophong', 'pothole', -24.52, 28.71, 'Roughly here', accuracy_m => 2000);
SELECT accuracy_m, poor_accuracy FROM naboom_api.report_incident('mookgophong', 'pothole', -24.52, 28.71, 'Exactly here', accuracy_m => 500);
-- Outside the boundary: refused, nothing written.
SELECT t.counts();
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', -24.70, 28.41, 'In Modimolle')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', -24.52, 28.71, 'Bad accuracy', accuracy_m => -1)$$);
SELECT t.counts();

-- A community that allows outside reports keeps them, flagged.
SELECT t.as_service();
SELECT slug, allow_outside_reports FROM naboom_api.create_community('waterberg-farms', 'Waterberg Farm Watch',
	'{"type":"Polygon","coordinates":[[[28.0,-24.4],[28.3,-24.4],[28.3,-24.1],[28.0,-24.1],[28.0,-24.4]]]}',
	admin_ref => 's-wadmin', admin_name => 'Waterberg Admin', allow_outside_reports => true);
SELECT t.as_user('s-wadmin');
SELECT code FROM naboom_api.upsert_category('waterberg-farms', 'stock_theft', 'Stock theft', 'Veediefstal', 'high');
SELECT outside_boundary, coalesce(area, '(none)') FROM naboom_api.report_incident('waterberg-farms', 'stock_theft', -24.5, 28.5, 'Cattle taken, outside the district');
SELECT outside_boundary FROM naboom_api.report_incident('waterberg-farms', 'stock_theft', -24.3, 28.1, 'Cattle taken, inside');
SELECT outside_boundary FROM naboom_api.raise_panic('waterberg-farms', -24.5, 28.5);

-- Routing is the trigger's: a direct INSERT by the service is routed too,
-- whatever area it names, and a moderator moving an incident re-routes it.
SELECT t.as_service();
INSERT INTO naboom.incident (community_id, category_code, title, location, accuracy_m, area_id, priority, reporter_ref)
SELECT c.community_id, 'pothole', 'Imported', ST_SetSRID(ST_MakePoint(28.62, -24.60), 4326), 3000,
	(SELECT a.area_id FROM naboom.area a WHERE a.code = 'town'), 'low', 's-res'
FROM naboom.community c WHERE c.slug = 'mookgophong'
RETURNING reference AS moved \gset
SELECT a.code, i.poor_accuracy FROM naboom.incident i JOIN naboom.area a USING (community_id, area_id) WHERE i.reference = :'moved';
SELECT t.as_user('u-admin');
UPDATE naboom.incident SET location = ST_SetSRID(ST_MakePoint(28.712, -24.519), 4326), accuracy_m = 10
WHERE reference = :'moved'
RETURNING (SELECT a.code FROM naboom.area a WHERE a.area_id = incident.area_id), poor_accuracy, version;
SELECT t.err(format($$UPDATE naboom.incident SET area_id = NULL WHERE reference = %L$$, :'moved'));
SELECT t.err(format($$UPDATE naboom.incident SET poor_accuracy = true WHERE reference = %L$$, :'moved'));
SELECT t.err(format($$UPDATE naboom.incident SET location = ST_SetSRID(ST_MakePoint(28.41, -24.70), 4326) WHERE reference = %L$$, :'moved'));
SELECT t.as_service();
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, reporter_ref)
	SELECT community_id, 'pothole', 'x', 'SRID=4326;POINT EMPTY', 'low', 's-res' FROM naboom.community WHERE slug = 'mookgophong'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, reporter_ref)
	SELECT community_id, 'pothole', 'x', ST_SetSRID(ST_MakePoint(28.7, 'NaN'), 4326), 'low', 's-res' FROM naboom.community WHERE slug = 'mookgophong'$$);
SELECT t.err($$INSERT INTO naboom.incident (community_id, category_code, title, location, priority, reporter_ref)
	SELECT community_id, 'pothole', 'x', ST_SetSRID(ST_MakePoint(208.7, -24.5), 4326), 'low', 's-res' FROM naboom.community WHERE slug = 'mookgophong'$$);

-- Bad coordinates are refused before anything is written.
SELECT t.as_user('s-res');
SELECT t.counts();
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', 'NaN', 28.71, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', -24.52, 'Infinity', 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', -90.5, 28.71, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', -24.52, 180.01, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', NULL, 28.71, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'pothole', 28.71, -24.52, 'lat and lon swapped')$$);
SELECT t.counts();

------------------------------------------------------------------------------
-- Duplicate candidates: same category, live, within the category's radius
-- and window, nearest first, with distance in metres.
------------------------------------------------------------------------------
SELECT t.as_user('s-res');
SELECT reference AS fire1, jsonb_array_length(duplicate_candidates) AS candidates
FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.71, 'Smoke behind the school') \gset
SELECT :candidates;
-- 99.69 m away: the first report is a candidate, with its distance.
SELECT t.as_user('s-res2');
SELECT reference AS fire2, duplicate_candidates AS c2 FROM naboom_api.report_incident('mookgophong', 'fire', -24.5209, 28.71, 'Fire near the school') \gset
SELECT jsonb_array_length(:'c2'::jsonb), (:'c2'::jsonb)->0->>'reference' = :'fire1',
	(:'c2'::jsonb)->0->>'distance_m', (:'c2'::jsonb)->0->>'status';
-- 304 m from the first and 320 m from the second: beyond the 300 m radius.
SELECT reference AS fire3, duplicate_candidates AS c3 FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.713, 'Flames east of the school') \gset
SELECT jsonb_array_length(:'c3'::jsonb);
-- With a 350 m radius both are, nearest first (after the third report itself).
SELECT t.as_user('u-admin');
SELECT duplicate_radius_m FROM naboom_api.upsert_category('mookgophong', 'fire', 'Veld fire', 'Veldbrand', 'high', duplicate_radius_m => 350);
SELECT t.as_user('s-res2');
SELECT reference = :'fire1', distance_m FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.52, 28.713);
SELECT t.as_user('u-admin');
SELECT duplicate_radius_m FROM naboom_api.upsert_category('mookgophong', 'fire', 'Veld fire', 'Veldbrand', 'high', duplicate_radius_m => 300);
-- The reading function agrees, nearest first; is_mine marks the caller's own.
SELECT t.as_user('s-res');
SELECT reference = :'fire1', reference = :'fire2', distance_m, is_mine, location_blurred
FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.52, 28.71);
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'FIRE', -24.5209, 28.71);
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.5245, 28.71);
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'pothole', -24.45, 28.85);
-- Another category at the same place is not a candidate.
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'suspicious', -24.52, 28.71);
-- Outside the time window, or closed: not a candidate.
SELECT t.as_service();
INSERT INTO naboom.incident (community_id, category_code, title, location, priority, reporter_ref, created_at)
SELECT community_id, 'fire', 'Old fire', ST_SetSRID(ST_MakePoint(28.7101, -24.52), 4326), 'high', 's-res', now() - interval '3 hours'
FROM naboom.community WHERE slug = 'mookgophong'
RETURNING reference AS old_fire \gset
SELECT t.as_user('u-admin');
SELECT status FROM naboom_api.transition_incident(:'fire3', 'rejected', 'Same fire, seen from the road');
SELECT t.as_user('s-res');
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.52, 28.713);
-- A moderator merges the second report into the first.
SELECT t.as_user('u-admin');
SELECT status, duplicate_of = :'fire1' FROM naboom_api.transition_incident(:'fire2', 'duplicate', duplicate_of => :'fire1');
SELECT t.as_user('s-res');
SELECT reference = :'fire1' FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.52, 28.71);
-- A resubmit (same client_ref) returns the same incident and its candidates.
SELECT reference AS fire4 FROM naboom_api.report_incident('mookgophong', 'fire', -24.5209, 28.71, 'Fire again', client_ref => 'dev-1') \gset
SELECT reference = :'fire4', jsonb_array_length(duplicate_candidates), current_setting('response.status', true)
FROM naboom_api.report_incident('mookgophong', 'fire', -24.5209, 28.71, 'Fire again', client_ref => 'dev-1');
-- Private incidents are candidates only for their reporter and staff; a
-- sensitive category is blurred for residents: distance to the shown point,
-- rounded to 100 m.
SELECT t.as_user('s-res2');
SELECT reference AS susp FROM naboom_api.report_incident('mookgophong', 'suspicious', -24.52, 28.71, 'Man checking gates', is_public => false) \gset
SELECT t.as_user('s-res');
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'suspicious', -24.52, 28.71);
SELECT t.as_user('s-res2');
SELECT reference = :'susp', location_blurred, distance_m, is_mine FROM naboom_api.duplicate_candidates('mookgophong', 'suspicious', -24.52, 28.71);
SELECT t.as_user('s-res');
SELECT reference AS susp2 FROM naboom_api.report_incident('mookgophong', 'suspicious', -24.5209, 28.71, 'Same man, now at the shop') \gset
SELECT t.as_user('s-res2');
SELECT reference = :'susp2', location_blurred, distance_m, lat, lon FROM naboom_api.duplicate_candidates('mookgophong', 'suspicious', -24.52, 28.71) WHERE NOT is_mine;
SELECT t.as_user('s-r1');
SELECT reference = :'susp', reference = :'susp2', location_blurred, distance_m FROM naboom_api.duplicate_candidates('mookgophong', 'suspicious', -24.52, 28.71);
-- Errors.
SELECT t.err($$SELECT * FROM naboom_api.duplicate_candidates('mookgophong', 'volcano', -24.52, 28.71)$$);
SELECT t.err($$SELECT * FROM naboom_api.duplicate_candidates('mookgophong', NULL, -24.52, 28.71)$$);
SELECT t.err($$SELECT * FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -124.52, 28.71)$$);
SELECT t.err($$SELECT * FROM naboom_api.duplicate_candidates('atlantis', 'fire', -24.52, 28.71)$$);
SELECT t.as_user('s-other');
SELECT t.err($$SELECT * FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.52, 28.71)$$);

------------------------------------------------------------------------------
-- Incidents near a point: true distances, nearest or newest first, live
-- ones unless statuses are given, what the caller may see.
------------------------------------------------------------------------------
SELECT t.as_user('s-res');
SELECT reference AS fire_e FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.72, 'Fire 1 km east') \gset
SELECT reference AS fire_s FROM naboom_api.report_incident('mookgophong', 'fire', -24.53, 28.71, 'Fire 1.1 km south') \gset
SELECT reference AS fire_far FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.73, 'Fire 2 km east') \gset
SELECT CASE reference WHEN :'fire1' THEN 'fire1' WHEN :'fire4' THEN 'fire4' WHEN :'fire_e' THEN 'fire_e'
		WHEN :'fire_s' THEN 'fire_s' WHEN :'fire_far' THEN 'fire_far' WHEN :'old_fire' THEN 'old_fire' ELSE reference END,
	distance_m, status, area
FROM naboom_api.incidents_near(-24.52, 28.71, 1500, category => 'fire');
-- The distances agree with Vincenty's to the centimetre.
SELECT reference = :'fire_e', abs(distance_m - 1013.39) < 0.05 FROM naboom_api.incidents_near(-24.52, 28.71, 1050, category => 'fire') WHERE distance_m > 500;
SELECT reference = :'fire_far', abs(distance_m - 2026.77) < 0.05 FROM naboom_api.incidents_near(-24.52, 28.71, 2100, category => 'fire') WHERE distance_m > 2000;
-- Radius is inclusive of the edge and exclusive beyond it.
SELECT count(*) FROM naboom_api.incidents_near(-24.52, 28.71, 1013.3, category => 'fire');
SELECT count(*) FROM naboom_api.incidents_near(-24.52, 28.71, 1013.5, category => 'fire');
-- Newest first, statuses, since, max_count.
SELECT CASE reference WHEN :'fire_s' THEN 'fire_s' WHEN :'fire_e' THEN 'fire_e' ELSE 'other' END
FROM naboom_api.incidents_near(-24.52, 28.71, 1500, category => 'fire', newest_first => true, max_count => 2);
SELECT CASE reference WHEN :'fire2' THEN 'fire2' WHEN :'fire3' THEN 'fire3' ELSE 'other' END, status
FROM naboom_api.incidents_near(-24.52, 28.71, 1500, statuses => '{duplicate,rejected}', category => 'fire');
SELECT count(*) FROM naboom_api.incidents_near(-24.52, 28.71, 1500, category => 'fire', since => now() + interval '1 minute');
-- A sensitive incident is shown at its grid-cell centre to residents other
-- than its reporter, and measured from there; responders see the exact place.
SELECT t.as_user('s-res');
SELECT reference = :'susp2', location_blurred, lat, lon, distance_m FROM naboom_api.incidents_near(-24.52, 28.71, 1000, category => 'suspicious');
SELECT t.as_user('s-res2');
SELECT reference = :'susp', reference = :'susp2', location_blurred, lat, lon, distance_m FROM naboom_api.incidents_near(-24.52, 28.71, 1000, category => 'suspicious');
-- Searching is by the shown point too, so a small circle cannot find the
-- true place: 40 m around the exact spot finds nothing (the cell centre is
-- 67 m away), 1 m around the cell centre finds it.
SELECT count(*) FROM naboom_api.incidents_near(-24.5209, 28.71, 40, category => 'suspicious') WHERE location_blurred;
SELECT count(*) FROM naboom_api.incidents_near(-24.5205, 28.7105, 1, category => 'suspicious') WHERE location_blurred;
SELECT t.as_user('s-r1');
SELECT count(*) FROM naboom_api.incidents_near(-24.5209, 28.71, 40, category => 'suspicious');
SELECT t.as_user('s-r1');
SELECT reference = :'susp', reference = :'susp2', location_blurred, lat, lon, distance_m FROM naboom_api.incidents_near(-24.52, 28.71, 1000, category => 'suspicious');
-- The public sees public incidents only, reporter never named.
SELECT t.as_service();
SET ROLE naboom_anon;
SELECT count(*), bool_and(NOT is_mine) FROM naboom_api.incidents_near(-24.52, 28.71, 1000, category => 'suspicious');
SELECT count(*) FROM naboom_api.incidents_near(-24.52, 28.71, 1500, category => 'fire');
RESET ROLE;
-- Errors.
SELECT t.as_user('s-res');
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, -5)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 'NaN')$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 50001)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, NULL)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 'NaN', 500)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 500, statuses => '{burning}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 500, max_count => 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 500, max_count => 5001)$$);
-- The setting bounds the radius.
SET naboom.max_radius_m = 1000;
SELECT t.err($$SELECT * FROM naboom_api.incidents_near(-24.52, 28.71, 1500)$$);
RESET naboom.max_radius_m;

-- The antimeridian and the poles: the search box takes every longitude, so
-- nothing is missed.
SELECT t.as_service();
SELECT slug FROM naboom_api.create_community('taveuni', 'Taveuni (Fiji)', admin_ref => 's-fiji', admin_name => 'Fiji Admin');
SELECT slug FROM naboom_api.create_community('south-pole', 'Amundsen-Scott', admin_ref => 's-pole', admin_name => 'Pole Admin');
SELECT t.as_user('s-fiji');
SELECT code FROM naboom_api.upsert_category('taveuni', 'cyclone', 'Cyclone damage', 'Sikloonskade', 'high');
SELECT reference AS west FROM naboom_api.report_incident('taveuni', 'cyclone', -16.8, 179.999, 'West of the line') \gset
SELECT reference AS east FROM naboom_api.report_incident('taveuni', 'cyclone', -16.8, -179.999, 'East of the line') \gset
SELECT CASE reference WHEN :'west' THEN 'west' WHEN :'east' THEN 'east' END, distance_m
FROM naboom_api.incidents_near(-16.8, 179.9995, 200);
SELECT CASE reference WHEN :'west' THEN 'west' WHEN :'east' THEN 'east' END, distance_m
FROM naboom_api.incidents_near(-16.8, -179.9999, 200);
SELECT reference = :'west', distance_m FROM naboom_api.duplicate_candidates('taveuni', 'cyclone', -16.8, -179.9995);
SELECT t.as_user('s-pole');
SELECT code FROM naboom_api.upsert_category('south-pole', 'cold', 'Cold injury', 'Kouebesering', 'high');
SELECT reference AS pole FROM naboom_api.report_incident('south-pole', 'cold', -90, 0, 'At the marker') \gset
SELECT reference = :'pole', distance_m FROM naboom_api.incidents_near(-89.9995, 120, 100);
SELECT count(*) FROM naboom_api.incidents_near(90, 0, 1000);
SELECT b[1], b[3], round((b[4] - b[2])::numeric, 5) FROM naboom.search_box(-16.8, 179.9995, 200) b;
SELECT b[1], b[3] FROM naboom.search_box(-89.9995, 120, 100) b;

------------------------------------------------------------------------------
-- Responder positions and the nearest responders.
------------------------------------------------------------------------------
SELECT t.as_user('s-r1');
SELECT communities, lat, lon, on_duty FROM naboom_api.update_position(-24.5245, 28.71, true, 8);
SELECT t.as_user('s-r2');
SELECT communities, on_duty FROM naboom_api.update_position(-24.52, 28.73);
SELECT t.as_user('s-r3');
SELECT communities, lat IS NULL, on_duty FROM naboom_api.update_position(-24.5209, 28.71, false);
SELECT t.as_user('s-r4');
SELECT on_duty FROM naboom_api.update_position(-24.52, 28.713);
-- Off duty, no position is kept.
SELECT m.on_duty, p.position IS NULL FROM naboom.responder_position p
JOIN naboom.member m USING (community_id, user_ref) WHERE p.user_ref = 's-r3';
-- s-r4's position goes stale.
UPDATE naboom.responder_position SET reported_at = now() - interval '11 minutes' WHERE user_ref = 's-r4';
-- Nearest first, fresh, on duty, never the reporter.
SELECT t.as_user('s-r1');
SELECT user_ref, display_name, distance_m, accuracy_m, is_assignee FROM naboom_api.nearest_responders(:'fire1');
SELECT user_ref, distance_m FROM naboom_api.nearest_responders(:'fire1', 1);
SELECT user_ref FROM naboom_api.nearest_responders(:'fire1', 5, 1000);
SET naboom.position_max_age = '15min';
SELECT user_ref, distance_m FROM naboom_api.nearest_responders(:'fire1');
RESET naboom.position_max_age;
-- A responder who reports is not their own nearest responder.
SELECT reference AS by_r1 FROM naboom_api.report_incident('mookgophong', 'fire', -24.5245, 28.71, 'I see smoke') \gset
SELECT user_ref FROM naboom_api.nearest_responders(:'by_r1');
-- Errors.
SELECT t.err(format('SELECT * FROM naboom_api.nearest_responders(%L, 0)', :'fire1'));
SELECT t.err(format('SELECT * FROM naboom_api.nearest_responders(%L, 101)', :'fire1'));
SELECT t.err(format('SELECT * FROM naboom_api.nearest_responders(%L, 5, 0)', :'fire1'));
SELECT t.err(format('SELECT * FROM naboom_api.nearest_responders(%L, 5, 1e9)', :'fire1'));
SELECT t.err($$SELECT * FROM naboom_api.nearest_responders('NB-7K3Q-9XW9')$$);
SELECT t.err($$SELECT * FROM naboom_api.nearest_responders('NB-7K3Q-9XW2')$$);
SELECT t.as_user('s-res');
SELECT t.err(format('SELECT * FROM naboom_api.nearest_responders(%L)', :'fire1'));
SELECT t.err($$SELECT naboom_api.update_position(-24.52, 28.71)$$);
SELECT t.as_user('s-r1');
SELECT t.err($$SELECT naboom_api.update_position(-24.52, 28.71, accuracy_m => 'NaN')$$);
SELECT t.err($$SELECT naboom_api.update_position(95, 28.71)$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.update_position(-24.52, 28.71)$$);
-- A demoted responder drops out at once.
SELECT t.as_user('u-admin');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r2', 'verified');
SELECT t.as_user('s-r1');
SELECT user_ref FROM naboom_api.nearest_responders(:'fire1');
SELECT t.as_user('u-admin');
SELECT role FROM naboom_api.set_member_role('mookgophong', 's-r2', 'responder');
SELECT t.as_user('s-r2');
SELECT on_duty FROM naboom_api.update_position(-24.52, 28.73);

------------------------------------------------------------------------------
-- Alert subscriptions and fan-out, in the reporting transaction.
------------------------------------------------------------------------------
SELECT t.as_user('s-res');
SELECT id AS sub_home, community, lat, lon, radius_m, categories, min_priority, current_setting('response.status', true)
FROM naboom_api.subscribe('mookgophong', -24.52, 28.71, 1200, '{fire,suspicious}', label => 'Home') \gset
SELECT community, label, radius_m, categories, min_priority FROM naboom_api.my_subscriptions();
-- A second subscription covering the same place: still one alert.
SELECT id AS sub_work FROM naboom_api.subscribe('mookgophong', -24.5209, 28.71, 500, NULL, 'high') \gset
SELECT t.as_user('s-res2');
SELECT id AS sub_far FROM naboom_api.subscribe('mookgophong', -24.60, 28.62, 2000, '{fire}') \gset
SELECT t.as_user('s-r3');
SELECT id AS sub_r3 FROM naboom_api.subscribe('mookgophong', -24.52, 28.71, 3000, '{suspicious}') \gset
SELECT t.as_user('s-other');
SELECT id AS sub_other FROM naboom_api.subscribe('modimolle', -24.52, 28.71, 5000) \gset
-- Errors; nothing is written.
SELECT t.as_user('s-res');
SELECT count(*) FROM naboom.subscription;
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 0)$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 60000)$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500, '{fire,volcano}')$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500, min_priority => 'urgent')$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', 'NaN', 28.71, 500)$$);
SELECT t.err($$SELECT naboom_api.subscribe('modimolle', -24.52, 28.71, 500)$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500, label => repeat('x', 81))$$);
SELECT count(*) FROM naboom.subscription;
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500)$$);

-- A high-priority fire at the town centre reported by s-res2: s-res is
-- alerted once (two subscriptions cover it), the three fresh on-duty
-- responders nearest (alert_responders is 5) are alerted; not the reporter,
-- not s-r3 (off duty, and subscribed to another category), not s-r4
-- (stale), not the Modimolle member whose circle covers the place.
SELECT t.as_user('s-res2');
SELECT reference AS fan1 FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.71, 'Big fire at the school') \gset
SELECT a.user_ref, a.reason, round(a.distance_m::numeric, 2), a.subscription_id = :sub_home AS via_home, a.escalation_level
FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'fan1' ORDER BY a.user_ref;
-- A low-priority pothole alerts no responders and no one whose subscription
-- wants fire or high priority.
SELECT reference AS fan2 FROM naboom_api.report_incident('mookgophong', 'pothole', -24.52, 28.71, 'Pothole at the school') \gset
SELECT count(*) FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'fan2';
-- A private sensitive report reaches the responder subscribed to it, not
-- the resident subscribed to it.
SELECT reference AS fan3 FROM naboom_api.report_incident('mookgophong', 'suspicious', -24.52, 28.71, 'Someone in the yard', is_public => false) \gset
SELECT a.user_ref, a.reason FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'fan3' ORDER BY a.user_ref;
-- A panic alerts the nearest responders at once.
SELECT t.as_user('s-res');
SELECT reference AS panic FROM naboom_api.raise_panic('mookgophong', -24.5209, 28.71) \gset
SELECT a.user_ref, a.reason, round(a.distance_m::numeric, 2) FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'panic' ORDER BY a.distance_m;
-- A rolled-back report leaves no alerts.
SELECT count(*) AS alerts_before FROM naboom.alert \gset
BEGIN;
SELECT t.as_user('s-res2');
SELECT count(*) > 0 FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.71, 'Rolled back');
ROLLBACK;
SELECT count(*) = :alerts_before FROM naboom.alert;
-- Another ring (the escalation job's call) skips whoever was alerted.
SELECT t.as_user('s-r3');
SELECT on_duty FROM naboom_api.update_position(-24.53, 28.71);
SELECT naboom.alert_incident(i.community_id, i.incident_id, 10, 20000, 1) FROM naboom.incident i WHERE i.reference = :'panic';
SELECT a.user_ref, a.escalation_level FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'panic' ORDER BY a.escalation_level, a.user_ref;
SELECT naboom.alert_incident(i.community_id, i.incident_id, 10, 20000, 2) FROM naboom.incident i WHERE i.reference = :'panic';
SELECT t.err($$SELECT naboom.alert_incident(1, 1, 1, -1, 1)$$);

-- my_alerts: one's own, in id order, paged by after_id; a resident sees a
-- sensitive incident blurred.
SELECT t.as_user('s-r1');
SELECT CASE reference WHEN :'fan1' THEN 'fan1' WHEN :'fan3' THEN 'fan3' WHEN :'panic' THEN 'panic' ELSE reference END,
	kind, category, priority, reason, distance_m, location_blurred
FROM naboom_api.my_alerts() ORDER BY id;
SELECT min(id) AS first_alert FROM naboom_api.my_alerts() \gset
SELECT count(*) FROM naboom_api.my_alerts(:first_alert);
SELECT count(*) FROM naboom_api.my_alerts(max_count => 1);
SELECT t.err($$SELECT * FROM naboom_api.my_alerts(0, 0)$$);
SELECT t.as_user('s-res');
SELECT CASE reference WHEN :'fan1' THEN 'fan1' ELSE reference END, reason, distance_m FROM naboom_api.my_alerts();
SELECT t.as_user('s-res2');
SELECT count(*) FROM naboom_api.my_alerts();

-- unsubscribe: one's own only.
SELECT t.as_user('s-res2');
SELECT t.err(format('SELECT naboom_api.unsubscribe(%s)', :sub_home));
SELECT t.as_user('s-res');
SELECT id = :sub_work, radius_m FROM naboom_api.unsubscribe(:sub_work);
SELECT t.err(format('SELECT naboom_api.unsubscribe(%s)', :sub_work));
SELECT count(*) FROM naboom_api.my_subscriptions();
-- At most 20 alert areas per member per community.
SELECT count(*) FROM (SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 100 + g) FROM generate_series(1, 19) g) s;
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500)$$);
SELECT count(*) FROM naboom_api.my_subscriptions();

------------------------------------------------------------------------------
-- Maps: GeoJSON and SVG, with the blurring rules.
------------------------------------------------------------------------------
SELECT t.as_service();
SET ROLE naboom_anon;
SELECT m->>'type', jsonb_array_length(m->'features') = (SELECT count(*) FROM naboom.incident i JOIN naboom.status s USING (status)
		WHERE i.community_id = 1 AND i.is_public AND s.status_type = 'open')
FROM naboom_api.community_map_geojson('mookgophong') m;
RESET ROLE;
SELECT f->'geometry'->>'type', f->'properties'->>'priority', f->'properties'->>'location_blurred', f->'geometry'->'coordinates'
FROM naboom_api.community_map_geojson('mookgophong') m, jsonb_array_elements(m->'features') f
WHERE f->>'id' = :'susp2';
SELECT t.as_user('s-res2');
SET ROLE naboom_user;
SELECT f->>'id' = :'susp', f->'properties'->>'location_blurred', f->'geometry'->'coordinates'
FROM naboom_api.community_map_geojson('mookgophong') m, jsonb_array_elements(m->'features') f
WHERE f->>'id' IN (:'susp', :'susp2') ORDER BY 1;
RESET ROLE;
SELECT t.as_user('u-admin');
SELECT svg LIKE '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="%' AS svg_header,
	svg LIKE '%<path class="boundary" d="M %' AS has_boundary,
	(length(svg) - length(replace(svg, '<g class="area">', ''))) / length('<g class="area">') AS areas,
	(length(svg) - length(replace(svg, '<g class="incident ', ''))) / length('<g class="incident ') = (SELECT count(*) FROM naboom.incident i JOIN naboom.status s USING (status)
		WHERE i.community_id = 1 AND s.status_type = 'open') AS one_circle_per_live_incident,
	svg LIKE '%class="incident critical"%' AS has_critical,
	(length(svg) - length(replace(svg, '<g class="legend ', ''))) / length('<g class="legend ') AS legend_entries,
	svg NOT LIKE '%vector-effect%' AS strokes_in_map_units, svg LIKE '%</svg>' AS closed
FROM naboom_api.community_map_svg('mookgophong', 600) svg;
SELECT naboom_api.community_map_svg('south-pole', 200) LIKE '<svg%</svg>';
SELECT t.err($$SELECT naboom_api.community_map_svg('mookgophong', 0)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('atlantis')$$);
