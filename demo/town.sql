-- naboom demo: the town of Mookgophong (formerly Naboomspruit), Limpopo.
--
-- Loaded by scripts/demo.sh into database naboom_demo, after demo/helpers.sql.
-- Everything goes through the naboom_api functions, as PostgREST would call
-- them: the community is created by the naboom service (a superuser session
-- without JWT claims), everything else by the person who would do it, by
-- setting request.jwt.claims to their "sub" first (demo.act_as does that).
--
-- Geography is approximate but plausible: the town lies at about
-- 24.52 S 28.71 E on the R101; the N1 passes some 8 km to the west; the Nyl
-- river floodplain (Nylsvley) is to the south-west, Mosdene to the south, the
-- road to Roedtan runs east, Vaalkop lies north.  GeoJSON positions are
-- [longitude, latitude]; the API takes lat, lon.

\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
\o /dev/null

------------------------------------------------------------------------------
-- 1. The community, created by the naboom service with its first admin
------------------------------------------------------------------------------
RESET request.jwt.claims;

SELECT slug, name, time_zone
FROM naboom_api.create_community(
	slug => 'mookgophong',
	name => 'Mookgophong / Naboomspruit',
	boundary => '{"type":"Polygon","coordinates":[[
		[28.560,-24.450],[28.620,-24.390],[28.720,-24.380],[28.800,-24.400],
		[28.870,-24.440],[28.900,-24.520],[28.880,-24.600],[28.820,-24.645],
		[28.720,-24.650],[28.630,-24.640],[28.570,-24.600],[28.550,-24.520],
		[28.560,-24.450]]]}',
	time_zone => 'Africa/Johannesburg',
	admin_ref => 'annelie.steyn',
	admin_name => 'Annelie Steyn');

------------------------------------------------------------------------------
-- 2. People.  Each person joins with their own claims (name, phone,
--    language); then the admin and the moderator hand out roles.
------------------------------------------------------------------------------
SELECT demo.act_as('annelie.steyn') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Annelie Steyn', '+27 82 555 0101', 'af');

SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Mahlatse Ledwaba', '+27 72 555 0102', 'en');
SELECT demo.act_as('gerrit.pretorius') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Gerrit Pretorius', '+27 83 555 0103', 'af');
SELECT demo.act_as('tshepo.kekana') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Tshepo Kekana', '+27 76 555 0104', 'en');
SELECT demo.act_as('lerato.mphahlele') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Lerato Mphahlele', '+27 82 555 0105', 'en');
SELECT demo.act_as('johan.smit') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Johan Smit', '+27 83 555 0114', 'af');
SELECT demo.act_as('koos.vdmerwe') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Koos van der Merwe', '+27 82 555 0106', 'af');
SELECT demo.act_as('mpho.sebola') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Mpho Sebola', '+27 71 555 0107', 'en');
SELECT demo.act_as('hennie.venter') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Hennie Venter', '+27 82 555 0108', 'af');
SELECT demo.act_as('elsabe.duplessis') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Elsabé du Plessis', '+27 83 555 0109', 'af');
SELECT demo.act_as('kgomotso.maake') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Kgomotso Maake', '+27 79 555 0110', 'en');
SELECT demo.act_as('sarah.thompson') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Sarah Thompson', '+27 82 555 0111', 'en');
SELECT demo.act_as('grace.mabotja') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Grace Mabotja', '+27 73 555 0112', 'en');
SELECT demo.act_as('willem.nel') \gset
SELECT 1 FROM naboom_api.join_community('mookgophong', 'Willem Nel', '+27 84 555 0113', 'af');

-- The admin makes the moderator; the moderator does the rest.
SELECT demo.act_as('annelie.steyn') \gset
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'mahlatse.ledwaba', 'moderator');

SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'gerrit.pretorius', 'responder');	-- farm watch
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'tshepo.kekana', 'responder');		-- neighbourhood watch
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'lerato.mphahlele', 'responder');	-- paramedic
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'johan.smit', 'responder');		-- farm watch, Nylsvley side
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'koos.vdmerwe', 'verified');
SELECT 1 FROM naboom_api.set_member_role('mookgophong', 'mpho.sebola', 'verified');

------------------------------------------------------------------------------
-- 3. Areas (moderator).  An incident is routed to the smallest area that
--    contains it, so the patrol sector inside the town wins over the town.
------------------------------------------------------------------------------
SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'town', 'Town centre',
	'{"type":"Polygon","coordinates":[[
		[28.698,-24.505],[28.712,-24.502],[28.724,-24.507],[28.726,-24.522],
		[28.718,-24.532],[28.702,-24.531],[28.695,-24.520],[28.698,-24.505]]]}',
	'Dorp', 'ward');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'sector-1', 'Sector 1: CBD and station',
	'{"type":"Polygon","coordinates":[[
		[28.705,-24.512],[28.716,-24.511],[28.717,-24.522],[28.706,-24.523],[28.705,-24.512]]]}',
	'Sektor 1: Middedorp en stasie', 'patrol_sector');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'township', 'Mookgophong township',
	'{"type":"Polygon","coordinates":[[
		[28.728,-24.500],[28.745,-24.497],[28.751,-24.511],[28.743,-24.524],
		[28.729,-24.522],[28.728,-24.500]]]}',
	'Mookgophong-woonbuurt', 'suburb');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'vaalkop', 'Vaalkop farms',
	'{"type":"Polygon","coordinates":[[
		[28.580,-24.470],[28.620,-24.396],[28.720,-24.386],[28.800,-24.405],
		[28.850,-24.450],[28.800,-24.490],[28.720,-24.496],[28.640,-24.492],
		[28.580,-24.470]]]}',
	'Vaalkop-plase', 'farm_block');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'nylsvley', 'Nylsvley wetlands farms',
	'{"type":"Polygon","coordinates":[[
		[28.565,-24.500],[28.640,-24.497],[28.690,-24.530],[28.700,-24.560],
		[28.690,-24.640],[28.630,-24.635],[28.575,-24.600],[28.556,-24.530],
		[28.565,-24.500]]]}',
	'Nylsvley-vleiplase', 'farm_block');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'mosdene', 'Mosdene',
	'{"type":"Polygon","coordinates":[[
		[28.700,-24.560],[28.705,-24.536],[28.740,-24.530],[28.770,-24.550],
		[28.770,-24.640],[28.720,-24.645],[28.690,-24.640],[28.700,-24.560]]]}',
	'Mosdene', 'farm_block');

SELECT 1 FROM naboom_api.upsert_area('mookgophong', 'roedtan-road', 'Roedtan road farms',
	'{"type":"Polygon","coordinates":[[
		[28.755,-24.500],[28.800,-24.490],[28.850,-24.450],[28.885,-24.520],
		[28.870,-24.600],[28.820,-24.640],[28.770,-24.640],[28.770,-24.550],
		[28.752,-24.525],[28.755,-24.500]]]}',
	'Roedtanpad-plase', 'farm_block');

------------------------------------------------------------------------------
-- 4. Categories (moderator), in English and Afrikaans, with priority, SLA
--    targets (acknowledge, resolve) and the duplicate radius and window.
--    "panic" (Paniek / Nood) comes with every community.
------------------------------------------------------------------------------
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'farm_attack', 'Farm attack', 'Plaasaanval',
	'critical', false, '2 minutes', '4 hours', 2000, '2 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'gender_based_violence', 'Gender-based violence',
	'Geslagsgebaseerde geweld', 'critical', true, '5 minutes', '24 hours', 250, '6 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'stock_theft', 'Stock theft', 'Veediefstal',
	'high', false, '15 minutes', '48 hours', 3000, '12 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'burglary', 'Burglary', 'Inbraak',
	'high', false, '15 minutes', '24 hours', 200, '6 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'fire', 'Veld fire', 'Veldbrand',
	'high', false, '10 minutes', '12 hours', 3000, '6 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'road_accident', 'Road accident', 'Padongeluk',
	'high', false, '10 minutes', '6 hours', 500, '2 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'suspicious_vehicle', 'Suspicious vehicle',
	'Verdagte voertuig', 'medium', false, '30 minutes', '12 hours', 3000, '2 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'power_outage', 'Power outage', 'Kragonderbreking',
	'low', false, '4 hours', '3 days', 2000, '24 hours');
SELECT 1 FROM naboom_api.upsert_category('mookgophong', 'water_leak', 'Water leak', 'Waterlek',
	'low', false, '1 day', '5 days', 300, '48 hours');

-- Forwarding to authorities (issue 16): stock theft goes to SAPS Mookgophong
-- as soon as it is reported.  The endpoint is where the integrator's
-- forwarding worker (tools/naboom-forwarder) would POST; nothing listens
-- there in the demo, so the story's act delivers as the service itself.
SELECT demo.act_as('annelie.steyn') \gset
SELECT 1 FROM naboom_api.upsert_authority('mookgophong', 'saps', 'SAPS Mookgophong', 'SAPD Mookgophong', 'police',
	'http://127.0.0.1:8089/saps/intake');
SELECT 1 FROM naboom_api.upsert_forwarding_rule('mookgophong', 'stock_theft_to_saps', 'saps', '{stock_theft}', 'report');
SELECT demo.act_as('mahlatse.ledwaba') \gset

------------------------------------------------------------------------------
-- 5. Earlier incidents, for colour: each reported by a resident through the
--    API and moved through the workflow by whoever would do it.
------------------------------------------------------------------------------

-- 5a. Power outage in the township: resolved by the moderator, closed by the reporter.
SELECT demo.act_as('kgomotso.maake') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'power_outage', -24.5105, 28.7372,
	'Whole of extension 2 is dark since 18:30. We heard a bang at the transformer.',
	title => 'Extension 2 without power', client_ref => 'km-0001') \gset
SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'resolved',
	'Eskom restored supply at 21:10 (fault ref 8801-2231).');
SELECT demo.act_as('kgomotso.maake') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'closed');

-- 5b. Water leak in town: verified by a verified member, waiting for the municipality.
SELECT demo.act_as('sarah.thompson') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.5238, 28.7115,
	'Burst municipal pipe on Kerkstraat, water running down the street since this morning.',
	title => 'Burst pipe on Kerkstraat', address => 'Kerkstraat, Mookgophong', client_ref => 'st-0001') \gset
SELECT demo.act_as('mpho.sebola') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'verified');

-- 5c. Veld fire on the Mosdene side: farm watch went out and put it out.
SELECT demo.act_as('koos.vdmerwe') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'fire', -24.6012, 28.7305,
	'Smoke and flames along the Mosdene boundary fence, wind from the north pushing it towards the vlei.',
	title => 'Veldbrand by Mosdene', client_ref => 'kvdm-0001') \gset
SELECT demo.act_as('gerrit.pretorius') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'dispatched');
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'on_scene');
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'resolved',
	'Fire out by 16:40. Two farm bakkies with water tanks and the Nylsvley FPA team; firebreak held.');

-- 5d. Suspicious vehicle on the Roedtan road, confirmed by a neighbour;
--     5e. a second report of the same bakkie is merged into it.
SELECT demo.act_as('hennie.venter') \gset
SELECT reference AS hilux FROM naboom_api.report_incident('mookgophong', 'suspicious_vehicle', -24.5310, 28.7905,
	'White Toyota Hilux without number plates driving slowly past the farm gates, two men inside.',
	title => 'White Hilux without plates', client_ref => 'hv-0001') \gset
SELECT demo.act_as('koos.vdmerwe') \gset
SELECT 1 FROM naboom_api.transition_incident(:'hilux', 'verified');
SELECT demo.act_as('mpho.sebola') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'suspicious_vehicle', -24.5355, 28.7990,
	'Hilux with no plates stopped at the Rietfontein gate, then drove on towards Roedtan.',
	client_ref => 'ms-0001') \gset
SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'duplicate', duplicate_of => :'hilux');

-- 5f. A burglary report withdrawn by the reporter.
SELECT demo.act_as('sarah.thompson') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5158, 28.7121,
	'Back door open when I came home, I think someone was inside.',
	address => '14 Stasiestraat', client_ref => 'st-0002') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'cancelled',
	'Sorry, the gardener left the back door open. Nothing is missing.');

-- 5g. Road accident on the R101: the paramedic is on scene.
SELECT demo.act_as('mpho.sebola') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'road_accident', -24.5650, 28.6750,
	'Bakkie rolled on the R101 about 8 km towards Modimolle, two people injured, one trapped.',
	title => 'Bakkie rolled on the R101', client_ref => 'ms-0002') \gset
SELECT demo.act_as('lerato.mphahlele') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'dispatched');
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'on_scene');

-- 5h. Diesel stolen at a Vaalkop farm: just reported.
SELECT demo.act_as('willem.nel') \gset
SELECT 1 FROM naboom_api.report_incident('mookgophong', 'burglary', -24.4420, 28.7390,
	'Diesel tank at the shed drained overnight, about 400 litres. Lock cut.',
	title => 'Diesel stolen at the shed', client_ref => 'wn-0001');

-- 5i. A sensitive, private report (location blurred for ordinary members,
--     reporter never shown): the paramedic has taken it.
SELECT demo.act_as('grace.mabotja') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'gender_based_violence', -24.5081, 28.7405,
	'My neighbour asked me to call for help. She is safe at my house now.',
	is_public => false, client_ref => 'gm-0001') \gset
SELECT demo.act_as('lerato.mphahlele') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'dispatched');

-- 5j. A false alarm, rejected by the moderator with the reason.
SELECT demo.act_as('kgomotso.maake') \gset
SELECT reference AS ref FROM naboom_api.report_incident('mookgophong', 'suspicious_vehicle', -24.5042, 28.7398,
	'Unmarked truck parked by the school for two hours, men walking around with ladders.',
	client_ref => 'km-0002') \gset
SELECT demo.act_as('mahlatse.ledwaba') \gset
SELECT 1 FROM naboom_api.transition_incident(:'ref', 'rejected',
	'Municipal contractor replacing the streetlights; confirmed with the municipality.');

-- 5k. Traffic lights out at the four-way stop in town: just reported.
SELECT demo.act_as('mpho.sebola') \gset
SELECT 1 FROM naboom_api.report_incident('mookgophong', 'power_outage', -24.5200, 28.7055,
	'Traffic lights dead at the four-way stop, Voortrekker and Kerk. Taxis not stopping.',
	title => 'Traffic lights out, four-way stop', client_ref => 'ms-0003');

RESET request.jwt.claims;
RESET request.headers;

------------------------------------------------------------------------------
-- 6. What we have now (read straight from the naboom tables, as the DBA)
------------------------------------------------------------------------------
\o
\pset footer off
\pset null '·'
\pset linestyle unicode

\echo
\echo '══ Mookgophong (Naboomspruit), Limpopo ══════════════════════════════════════════════'
\echo '   Areas. An incident is routed to the smallest area that contains it.'
SELECT a.code, a.name_en AS "English", a.name_af AS "Afrikaans", a.kind,
	round((a.area_m2 / 1e6)::numeric, 1) AS km2
FROM naboom.area a
ORDER BY a.area_m2 DESC;

\echo '   Categories, in English and Afrikaans, with their SLA targets:'
SELECT c.code, c.name_en AS "English", c.name_af AS "Afrikaans", c.default_priority AS priority,
	demo.dur(c.ack_target) AS "ack in", demo.dur(c.resolve_target) AS "resolve in"
FROM naboom.category c
ORDER BY c.default_priority DESC, c.code;
\pset tuples_only on
\pset format unaligned
SELECT format(E'   Sensitive: %s. Location blurred (about 100 m) and reporter hidden,\n'
		'   except for responders and moderators.', string_agg(c.code, ', ' ORDER BY c.code))
FROM naboom.category c WHERE c.is_sensitive;
\pset format aligned
\pset tuples_only off
\echo

\echo '   People. Each joined with their own JWT; the admin and the moderator gave the roles.'
SELECT m.display_name AS name, m.user_ref AS "sub (JWT)", m.role, w.what AS "who they are",
	m.language AS lang, m.phone
FROM naboom.member m
JOIN (VALUES
	('annelie.steyn', 'CPF chair'),
	('mahlatse.ledwaba', 'CPF control room'),
	('gerrit.pretorius', 'farm watch (plaaswag)'),
	('tshepo.kekana', 'neighbourhood watch'),
	('lerato.mphahlele', 'paramedic'),
	('johan.smit', 'farm watch, Nylsvley side'),
	('koos.vdmerwe', 'farmer, Hennie''s neighbour'),
	('mpho.sebola', 'teacher'),
	('hennie.venter', 'farmer, Rietfontein'),
	('elsabe.duplessis', 'farmer, alone by the vlei'),
	('kgomotso.maake', 'township, extension 2'),
	('sarah.thompson', 'lives in town'),
	('grace.mabotja', 'township'),
	('willem.nel', 'farmer, Vaalkop')) AS w(user_ref, what) USING (user_ref)
ORDER BY m.role DESC, m.display_name;

\echo '   Earlier incidents, each reported and moved along through the API by the right person:'
SELECT i.reference, c.name_en AS category, a.code AS area,
	i.priority, s.label_en || ' / ' || s.label_af AS status,
	CASE WHEN i.is_public THEN 'public' ELSE 'private' END AS visibility
FROM naboom.incident i
JOIN naboom.category c ON c.community_id = i.community_id AND c.code = i.category_code
JOIN naboom.status s ON s.status = i.status
LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
ORDER BY i.incident_id;
