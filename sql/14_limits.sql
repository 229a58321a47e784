-- Issue 14, limits: rate limits on every write a member can repeat (notes,
-- profile updates, set-up), and size caps on the maps' answers.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- The seconds left in a window depend on the clock: masked.  The limits
-- themselves ("At most 60 per 600 seconds") are not.
CREATE FUNCTION t.err_wait(sql text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(t.err(sql), 'in [0-9]+ seconds', 'in N seconds'), 'Wait [0-9]+ seconds', 'Wait N seconds')
$$;

------------------------------------------------------------------------------
-- 1. Notes: 60 per 10 minutes per member and community by default (issue 14:
-- one member added 3,000 notes of 3,999 characters in a second).  Each
-- block runs in one transaction, so now() and the window stay put.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT reference AS note_ref FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.5301, 28.7001, 'Leak at the corner') \gset
BEGIN;
SELECT count(*) FROM generate_series(1, 60) g, LATERAL naboom_api.add_note(:'note_ref', repeat('x', 3998) || g % 10) n;
SELECT t.err_wait(format($$SELECT naboom_api.add_note(%L, 'one more')$$, :'note_ref'));
-- The refused note was not written, nor counted.
SELECT count(*) FROM naboom.incident_timeline WHERE entry_kind = 'note' AND actor_ref = 'u-res1';
SELECT hits FROM naboom.rate_counter WHERE user_ref = 'u-res1' AND action = 'note';
-- Another member's notes count for them: a responder may still add one.
SELECT t.as_user('u-resp1');
SELECT seq > 60 FROM naboom_api.add_note(:'note_ref', 'On my way');
COMMIT;
-- The service (jobs, integrations) is not limited.
SELECT t.as_service();
SELECT count(*) FROM generate_series(1, 61) g, LATERAL naboom_api.add_note(:'note_ref', 'service note ' || g) n;
-- Status changes write timeline entries too; they are not notes.
SELECT t.as_user('u-res1');
SELECT status FROM naboom_api.transition_incident(:'note_ref', 'cancelled');
SELECT t.as_service();
SELECT hits FROM naboom.rate_counter WHERE user_ref = 'u-res1' AND action = 'note';

------------------------------------------------------------------------------
-- 2. Profile updates: joining and every update of name, phone and language
-- count, 10 per hour by default (issue 14: 500 updates in under a second).
------------------------------------------------------------------------------
SELECT t.as_user('u-prof');
BEGIN;
SELECT count(*) FROM generate_series(1, 10) g, LATERAL naboom_api.join_community('mookgophong', 'Prof ' || g) m;
SELECT t.err_wait($$SELECT naboom_api.join_community('mookgophong', 'Prof 11', '+27 82 555 0199', 'af')$$);
SELECT display_name, phone FROM naboom.member WHERE user_ref = 'u-prof';
-- Limits are per community: joining another one still works.
SELECT role FROM naboom_api.join_community('modimolle', 'Prof elsewhere');
COMMIT;

------------------------------------------------------------------------------
-- 3. Set-up writes: areas, categories, roles, retention and legal holds, 120
-- per hour per moderator or admin and community by default.  A community's
-- own limits (settings->'rate_limits') apply to every action.
------------------------------------------------------------------------------
SELECT t.as_service();
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"setup": [4, 1000000000], "note": [2, 1000000000], "profile": [1, 1000000000]}}'
WHERE slug = 'modimolle';
SELECT t.as_user('u-other-admin');
SELECT code FROM naboom_api.upsert_category('modimolle', 'theft', 'Theft', 'Diefstal');
SELECT code FROM naboom_api.upsert_area('modimolle', 'north', 'North',
	'{"type":"Polygon","coordinates":[[[28.30,-24.70],[28.50,-24.70],[28.50,-24.60],[28.30,-24.60],[28.30,-24.70]]]}');
SELECT role FROM naboom_api.set_member_role('modimolle', 'u-other', 'responder');
SELECT keep FROM naboom_api.set_retention('modimolle', 'deleted_note', '6 years');
SELECT t.err_wait($$SELECT naboom_api.upsert_category('modimolle', 'theft', 'Theft', 'Diefstal', 'high')$$);
SELECT t.err_wait($$SELECT naboom_api.set_member_role('modimolle', 'u-other', 'verified')$$);
SELECT t.err_wait($$SELECT naboom_api.set_retention('modimolle', 'deleted_note', NULL)$$);
SELECT default_priority FROM naboom.category WHERE code = 'theft';
-- Legal holds count as set-up too (a place/lift loop grew the hold history).
SELECT t.as_user('u-other');
SELECT reference AS hold_ref FROM naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'Bakkie stolen') \gset
SELECT t.as_user('u-other-admin');
SELECT t.err_wait(format($$SELECT naboom_api.place_legal_hold(%L, 'Case 12/2026')$$, :'hold_ref'));
-- Notes and profile updates at the community's own limits.
SELECT t.as_user('u-other');
SELECT count(*) FROM generate_series(1, 2) g, LATERAL naboom_api.add_note(:'hold_ref', 'note ' || g) n;
SELECT t.err_wait(format($$SELECT naboom_api.add_note(%L, 'note 3')$$, :'hold_ref'));
SELECT display_name FROM naboom_api.join_community('modimolle', 'Willem S.');
SELECT t.err_wait($$SELECT naboom_api.join_community('modimolle', 'W. Steyn')$$);
-- Retention and erasure are not the member's writes: erasing oneself is
-- never refused for a rate limit.
SELECT erased IS NOT NULL FROM naboom_api.erase_my_data();

------------------------------------------------------------------------------
-- 4. Maps have a size cap (issue 14: an anonymous community_map_geojson
-- returned 6.4 MB, 15.8k incidents, in one answer).  At most max_features
-- (default and limit: naboom.max_map_features), the most urgent and newest
-- first; the answer says when it cut; an optional bounding box, tested
-- against the point shown.
------------------------------------------------------------------------------
SELECT t.as_service();
SHOW naboom.max_map_features;
SELECT slug FROM naboom_api.create_community('maptown', 'Map town', admin_ref => 'map-admin');
SELECT t.as_user('map-admin');
SELECT code FROM naboom_api.upsert_category('maptown', 'fire', 'Fire', 'Brand', 'low');
SELECT code FROM naboom_api.upsert_category('maptown', 'gbv', 'Gender-based violence', 'Geslagsgebaseerde geweld',
	'high', is_sensitive => true);
-- 30 live public fires on a line north from (-25.0, 29.0), 0.001 degree
-- apart, a minute apart; the five oldest are critical.  Written directly.
SELECT t.as_service();
SET session_replication_role = replica;
INSERT INTO naboom.incident (community_id, reference, category_code, title, location, priority, reporter_ref, created_at)
SELECT c.community_id, naboom.new_reference(), 'fire', 'Fire ' || g,
	ST_SetSRID(ST_MakePoint(29.0, -25.0 + g * 0.001), 4326),
	CASE WHEN g <= 5 THEN 'critical' ELSE 'low' END::naboom.priority, 'map-res',
	'2026-06-01 08:00+00'::timestamptz + g * interval '1 minute'
FROM naboom.community c, generate_series(1, 30) g WHERE c.slug = 'maptown';
-- One sensitive incident whose blurred point (the centre of its 0.001
-- degree cell) lies 0.0004 degrees east of its true place.
INSERT INTO naboom.incident (community_id, reference, category_code, title, location, priority, reporter_ref, created_at)
SELECT c.community_id, naboom.new_reference(), 'gbv', 'Screams', ST_SetSRID(ST_MakePoint(29.0101, -24.9905), 4326),
	'high', 'map-res', '2026-06-01 07:00+00'
FROM naboom.community c WHERE c.slug = 'maptown';
RESET session_replication_role;
SET naboom.max_map_features = 10;
SET ROLE naboom_anon;
-- Over the setting: 10 features, the most urgent first (five critical, one
-- high), then the newest.
SELECT m->>'type', jsonb_array_length(m->'features'), m->'truncated', m->'total', m ? 'bbox'
FROM naboom_api.community_map_geojson('maptown') m;
SELECT string_agg(f->'properties'->>'title', ',' ORDER BY f->'properties'->>'created_at')
FROM naboom_api.community_map_geojson('maptown') m, jsonb_array_elements(m->'features') f;
-- Fewer on request.
SELECT jsonb_array_length(m->'features'), m->'truncated', m->'total'
FROM naboom_api.community_map_geojson('maptown', max_features => 3) m;
-- A box: only what is shown inside it; not cut, so truncated is false.
SELECT jsonb_array_length(m->'features'), m->'truncated', m->'total', m->'bbox'
FROM naboom_api.community_map_geojson('maptown', -24.9905, 28.99, -24.9845, 29.001) m;
-- The sensitive incident: a box around its true place shows nothing, a box
-- around the point shown shows it (at that point).
SELECT m->'total' FROM naboom_api.community_map_geojson('maptown', -24.9907, 29.0099, -24.9903, 29.0103) m;
SELECT f->'geometry'->'coordinates', f->'properties'->'location_blurred'
FROM naboom_api.community_map_geojson('maptown', -24.9907, 29.0103, -24.9903, 29.0107) m, jsonb_array_elements(m->'features') f;
-- Across the antimeridian: min_lon > max_lon (here: nothing there).
SELECT jsonb_array_length(m->'features'), m->'total', m->'bbox'
FROM naboom_api.community_map_geojson('maptown', -26, 179.5, -24, -179.5) m;
-- Bad boxes and counts.
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', max_features => 11)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', max_features => 0)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', -25, 29)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', -24, 29, -25, 29.1)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', -25, 29, 95, 29.1)$$);
SELECT t.err($$SELECT naboom_api.community_map_geojson('maptown', -25, 'NaN', -24, 29.1)$$);
-- The SVG map: the same cap and box; the svg element and the legend say
-- when incidents were left out.
SELECT svg LIKE '%data-incidents="10" data-total="31" data-truncated="true"%' AS says_cut,
	(length(svg) - length(replace(svg, '<g class="incident ', ''))) / length('<g class="incident ') AS circles,
	svg LIKE '%>10 of 31 live incidents shown</text>%' AS legend_says_cut,
	(length(svg) - length(replace(svg, '<g class="incident critical"', ''))) / length('<g class="incident critical"') AS critical
FROM naboom_api.community_map_svg('maptown', 400) svg;
SELECT svg LIKE '%data-incidents="5" data-total="5" data-truncated="false"%' AS all_in_box,
	svg NOT LIKE '%live incidents shown%' AS no_cut_line
FROM naboom_api.community_map_svg('maptown', 400, -24.9995, 28.99, -24.9945, 29.01) svg;
SELECT t.err($$SELECT naboom_api.community_map_svg('maptown', 400, max_features => 11)$$);
RESET ROLE;
RESET naboom.max_map_features;
-- Only a superuser raises the cap.
SET ROLE naboom_anon;
SELECT t.err($$SET naboom.max_map_features = 100000$$);
RESET ROLE;
