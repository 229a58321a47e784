-- The town most pg_regress files work in, as sql/04_setup_api.sql builds it
-- through the API (the same calls that succeed there, in the same order):
--   mookgophong (admin u-admin; areas town, central-sector, nylsvley;
--     categories stock_theft, burglary, water_leak, gbv; moderator u-mod,
--     responders u-resp1 u-resp2, verified u-ver, residents u-res1 u-res2)
--   modimolle (admin u-other-admin; resident u-other)
-- Needs parts/fresh.sql and parts/helpers.sql first.  Ends as the service
-- (no claims), like a new session.
\o /dev/null
SELECT t.as_service();
SELECT naboom_api.create_community('mookgophong', 'Mookgophong / Naboomspruit',
	'{"type":"Polygon","coordinates":[[[28.55,-24.65],[28.90,-24.65],[28.90,-24.38],[28.62,-24.38],[28.55,-24.45],[28.55,-24.65]]]}',
	admin_ref => 'u-admin', admin_name => 'Annelie Botha');
SELECT naboom_api.create_community('modimolle', 'Modimolle',
	'{"type":"Polygon","coordinates":[[[28.30,-24.80],[28.50,-24.80],[28.50,-24.60],[28.30,-24.60],[28.30,-24.80]]]}',
	admin_ref => 'u-other-admin', admin_name => 'Thabo Mokoena');

SELECT t.as_user('u-admin');
SELECT naboom_api.upsert_area('mookgophong', 'town', 'Town centre',
	'{"type":"Polygon","coordinates":[[[28.69,-24.535],[28.73,-24.535],[28.73,-24.50],[28.69,-24.50],[28.69,-24.535]]]}',
	'Dorp', 'suburb');
SELECT naboom_api.upsert_area('mookgophong', 'central-sector', 'Central patrol sector',
	'{"type":"Polygon","coordinates":[[[28.705,-24.525],[28.715,-24.525],[28.715,-24.515],[28.705,-24.515],[28.705,-24.525]]]}',
	'Sentrale patrollie-sektor', 'patrol_sector');
SELECT naboom_api.upsert_area('mookgophong', 'nylsvley', 'Nylsvley farm block',
	'{"type":"Polygon","coordinates":[[[28.56,-24.64],[28.69,-24.64],[28.69,-24.50],[28.56,-24.50],[28.56,-24.64]]]}',
	'Nylsvley-plaasblok', 'farm_block');
SELECT naboom_api.upsert_category('mookgophong', 'stock_theft', 'Stock theft', 'Veediefstal', 'high',
	ack_target => '30 minutes', resolve_target => '2 days', duplicate_radius_m => 2000);
SELECT naboom_api.upsert_category('mookgophong', 'burglary', 'Burglary', 'Inbraak', 'high');
SELECT naboom_api.upsert_category('mookgophong', 'water_leak', 'Water leak', 'Waterlek', 'low');
SELECT naboom_api.upsert_category('mookgophong', 'gbv', 'Gender-based violence',
	'Geslagsgebaseerde geweld', 'critical', is_sensitive => true);

SELECT t.as_user('u-mod');     SELECT naboom_api.join_community('mookgophong', 'Johan van Wyk', '+27 82 555 0101', 'af');
SELECT t.as_user('u-resp1');   SELECT naboom_api.join_community('mookgophong', 'Sipho Ndlovu', '+27 83 555 0102');
SELECT t.as_user('u-resp2');   SELECT naboom_api.join_community('mookgophong', 'Karin Pretorius', '+27 72 555 0103', 'af');
SELECT t.as_user('u-ver');     SELECT naboom_api.join_community('mookgophong', 'Lerato Mahlangu');
SELECT t.as_user('u-res1');    SELECT naboom_api.join_community('mookgophong', 'Piet Coetzee', '+27 82 555 0104', 'af');
SELECT t.as_user('u-res2');    SELECT naboom_api.join_community('mookgophong', 'Mpho Sebola-Mokoena');
SELECT t.as_user('u-other');   SELECT naboom_api.join_community('modimolle', 'Willem Steyn');

SELECT t.as_user('u-admin');
SELECT naboom_api.set_member_role('mookgophong', 'u-mod', 'moderator');
SELECT t.as_user('u-mod');
SELECT naboom_api.set_member_role('mookgophong', 'u-resp1', 'responder');
SELECT naboom_api.set_member_role('mookgophong', 'u-resp2', 'responder');
SELECT naboom_api.set_member_role('mookgophong', 'u-ver', 'verified');
SELECT t.as_service();
\o
