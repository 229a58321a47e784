-- Set-up through the API: communities, areas, categories, members.
\pset format unaligned
\pset tuples_only on
\i test/include/fresh.psql
SELECT t.as_service();

-- Creating communities is for the service; the admin becomes a member.
SELECT slug, name, time_zone, boundary->>'type', reopen_window, escalation_interval,
	current_setting('response.status', true) AS http
FROM naboom_api.create_community('mookgophong', 'Mookgophong / Naboomspruit',
	'{"type":"Polygon","coordinates":[[[28.55,-24.65],[28.90,-24.65],[28.90,-24.38],[28.62,-24.38],[28.55,-24.45],[28.55,-24.65]]]}',
	admin_ref => 'u-admin', admin_name => 'Annelie Botha');
SELECT slug FROM naboom_api.create_community('modimolle', 'Modimolle',
	'{"type":"Polygon","coordinates":[[[28.30,-24.80],[28.50,-24.80],[28.50,-24.60],[28.30,-24.60],[28.30,-24.80]]]}',
	admin_ref => 'u-other-admin', admin_name => 'Thabo Mokoena');
SELECT code, name_en, name_af, default_priority FROM naboom.category ORDER BY community_id, code;

-- Bad community input; nothing is written.
SELECT t.counts();
SELECT t.err($$SELECT naboom_api.create_community('mookgophong', 'Again')$$);
SELECT t.err($$SELECT naboom_api.create_community('Bad Slug!', 'x')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', '')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', 'X', time_zone => 'Mars/Olympus')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', 'X', '{"type":"Point","coordinates":[28.7,-24.5]}')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', 'X', '{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', 'X', '{"type":"Polygon","coordinates":[[[-24.6,28.5],[-24.4,28.5],[-24.4,98.9],[-24.6,28.5]]]}')$$);
SELECT t.err($$SELECT naboom_api.create_community('x1', 'X', 'not geojson')$$);
SELECT t.counts();

-- A person may not create communities (the function is not even granted).
SELECT t.as_user('u-admin');
SET ROLE naboom_user;
SELECT t.err($$SELECT naboom_api.create_community('x2', 'X')$$);
RESET ROLE;

-- Areas: moderators and admins, inside the boundary, valid polygons; nested
-- areas are fine.
SELECT t.as_user('u-admin');
SELECT community, code, name_en, name_af, kind, round(area_km2::numeric, 1),
	current_setting('response.status', true) AS http
FROM naboom_api.upsert_area('mookgophong', 'town', 'Town centre',
	'{"type":"Polygon","coordinates":[[[28.69,-24.535],[28.73,-24.535],[28.73,-24.50],[28.69,-24.50],[28.69,-24.535]]]}',
	'Dorp', 'suburb');
SELECT code FROM naboom_api.upsert_area('mookgophong', 'central-sector', 'Central patrol sector',
	'{"type":"Polygon","coordinates":[[[28.705,-24.525],[28.715,-24.525],[28.715,-24.515],[28.705,-24.515],[28.705,-24.525]]]}',
	'Sentrale patrollie-sektor', 'patrol_sector');
SELECT code FROM naboom_api.upsert_area('mookgophong', 'nylsvley', 'Nylsvley farms',
	'{"type":"Polygon","coordinates":[[[28.56,-24.64],[28.69,-24.64],[28.69,-24.50],[28.56,-24.50],[28.56,-24.64]]]}',
	'Nylsvley-plase', 'farm_block');
-- Upsert again: updated, not created.
SELECT name_en, current_setting('response.status', true) IS DISTINCT FROM '201' FROM naboom_api.upsert_area('mookgophong', 'nylsvley', 'Nylsvley farm block',
	'{"type":"Polygon","coordinates":[[[28.56,-24.64],[28.69,-24.64],[28.69,-24.50],[28.56,-24.50],[28.56,-24.64]]]}',
	'Nylsvley-plaasblok', 'farm_block');
SELECT t.err($$SELECT naboom_api.upsert_area('mookgophong', 'far', 'Far away', '{"type":"Polygon","coordinates":[[[29.5,-25],[29.6,-25],[29.6,-24.9],[29.5,-25]]]}')$$);
SELECT t.err($$SELECT naboom_api.upsert_area('mookgophong', 'bow', 'Bow tie', '{"type":"Polygon","coordinates":[[[28.70,-24.52],[28.71,-24.51],[28.71,-24.52],[28.70,-24.51],[28.70,-24.52]]]}')$$);
SELECT t.err($$SELECT naboom_api.upsert_area('mookgophong', 'Bad Code', 'x', '{"type":"Polygon","coordinates":[[[28.70,-24.52],[28.71,-24.52],[28.71,-24.51],[28.70,-24.52]]]}')$$);
SELECT t.err($$SELECT naboom_api.upsert_area('mookgophong', 'ok', 'x', '{"type":"Polygon","coordinates":[[[28.70,-24.52],[28.71,-24.52],[28.71,-24.51],[28.70,-24.52]]]}', kind => 'castle')$$);
SELECT t.err($$SELECT naboom_api.upsert_area('nowhere', 'ok', 'x', '{}')$$);
-- An admin of one community is nobody in another.
SELECT t.err($$SELECT naboom_api.upsert_area('modimolle', 'ok', 'x', '{"type":"Polygon","coordinates":[[[28.40,-24.70],[28.41,-24.70],[28.41,-24.69],[28.40,-24.70]]]}')$$);

-- Categories, in English and Afrikaans.
SELECT community, code, name_en, name_af, default_priority, is_sensitive, ack_target, resolve_target
FROM naboom_api.upsert_category('mookgophong', 'stock_theft', 'Stock theft', 'Veediefstal', 'high',
	ack_target => '30 minutes', resolve_target => '2 days', duplicate_radius_m => 2000);
SELECT code FROM naboom_api.upsert_category('mookgophong', 'burglary', 'Burglary', 'Inbraak', 'high');
SELECT code FROM naboom_api.upsert_category('mookgophong', 'water_leak', 'Water leak', 'Waterlek', 'low');
SELECT code, is_sensitive FROM naboom_api.upsert_category('mookgophong', 'gbv', 'Gender-based violence',
	'Geslagsgebaseerde geweld', 'critical', is_sensitive => true);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'x', 'X', 'X', 'urgent')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', '1x', 'X', 'X')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'x', 'X', '')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'x', 'X', 'X', ack_target => '-5 minutes')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'x', 'X', 'X', duplicate_radius_m => 'NaN')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'x', 'X', 'X', duplicate_radius_m => 0)$$);

-- Members join as residents; roles are granted by moderators and admins.
SELECT t.as_user('u-mod');
SELECT community, user_ref, display_name, phone, language, role, current_setting('response.status', true) AS http
FROM naboom_api.join_community('mookgophong', 'Johan van Wyk', '+27 82 555 0101', 'af');
SELECT t.as_user('u-resp1');   SELECT role FROM naboom_api.join_community('mookgophong', 'Sipho Ndlovu', '+27 83 555 0102');
SELECT t.as_user('u-resp2');   SELECT role FROM naboom_api.join_community('mookgophong', 'Karin Pretorius', '+27 72 555 0103', 'af');
SELECT t.as_user('u-ver');     SELECT role FROM naboom_api.join_community('mookgophong', 'Lerato Mahlangu');
SELECT t.as_user('u-res1');    SELECT role FROM naboom_api.join_community('mookgophong', 'Piet Coetzee', '+27 82 555 0104', 'af');
SELECT t.as_user('u-res2');    SELECT role FROM naboom_api.join_community('mookgophong', 'Mpho Sebola');
SELECT t.as_user('u-other');   SELECT role FROM naboom_api.join_community('modimolle', 'Willem Steyn');
-- Joining again updates the profile (idempotent), role unchanged.
SELECT t.as_user('u-res2');
SELECT display_name, role, current_setting('response.status', true) IS DISTINCT FROM '201'
FROM naboom_api.join_community('mookgophong', 'Mpho Sebola-Mokoena');
SELECT t.err($$SELECT naboom_api.join_community('mookgophong', 'x', 'call me maybe')$$);
SELECT t.err($$SELECT naboom_api.join_community('mookgophong', 'x', language => 'fr')$$);
SELECT t.err($$SELECT naboom_api.join_community('mookgophong', '')$$);
SELECT t.err($$SELECT naboom_api.join_community('atlantis', 'x')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.join_community('mookgophong', 'The service')$$);

SELECT t.as_user('u-admin');
SELECT role, phone FROM naboom_api.set_member_role('mookgophong', 'u-mod', 'moderator');
SELECT t.as_user('u-mod');
SELECT role FROM naboom_api.set_member_role('mookgophong', 'u-resp1', 'responder');
SELECT role FROM naboom_api.set_member_role('mookgophong', 'u-resp2', 'responder');
SELECT role, phone IS NULL FROM naboom_api.set_member_role('mookgophong', 'u-ver', 'verified');
-- Moderators cannot make moderators; nobody changes their own role; unknown
-- members and roles; the last admin stays.
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-res1', 'moderator')$$);
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-admin', 'resident')$$);
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-mod', 'admin')$$);
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'nobody', 'verified')$$);
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-res1', 'king')$$);
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-res2', 'verified')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.set_member_role('mookgophong', 'u-admin', 'moderator')$$);

SELECT c.slug, m.user_ref, m.role FROM naboom.member m JOIN naboom.community c USING (community_id)
ORDER BY c.slug, m.role DESC, m.user_ref;
