-- pgTAP: visibility (design.md section 4, "Visibility"), checked the way a
-- gateway calls naboom: as the non-superuser roles naboom_user and
-- naboom_anon, with the identity in request.jwt.claims, through the API
-- functions and through direct SELECTs on the naboom tables (row-level
-- security).
--
-- `SET LOCAL request.jwt.claims = '...'` is what PostgREST's
-- set_config('request.jwt.claims', '...', true) does; SET LOCAL prints
-- nothing, which keeps the TAP stream clean.
--
-- Runs twice (scripts/test.sh): with search_path = tap, public and with
-- search_path = tap only, so every naboom and PostGIS name is qualified.
BEGIN;
SELECT plan(57);
\ir ../include/fixtures.psql

-- error_of(sql): the SQLSTATE and the stable key at the start of the DETAIL
-- of the error sql raises ('ok' if none), e.g. 'PT404 naboom.unknown_reference'.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	detail text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
	RETURN state || ' ' || split_part(detail, ':', 1);
END
$$;

-- seen_by(sub, sql): the rows (as text) that sql returns for the person sub,
-- as the current role; the caller's claims are restored afterwards.
CREATE FUNCTION pg_temp.seen_by(sub text, sql text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	saved text := current_setting('request.jwt.claims', true);
BEGIN
	PERFORM set_config('request.jwt.claims', json_build_object('sub', sub)::text, true);
	RETURN QUERY EXECUTE sql;
	PERFORM set_config('request.jwt.claims', coalesce(saved, ''), true);
END
$$;

------------------------------------------------------------------------------
-- Fixtures.  Communities are created by the naboom service (the superuser,
-- no claims); everything else is done by people, as naboom_user.
------------------------------------------------------------------------------
SELECT pg_temp.tap_community('tap-a', 'Tap A (Mookgophong)', 'a-admin', 'A Admin') AS a_slug \gset
SELECT pg_temp.tap_community('tap-b', 'Tap B (Modimolle)', 'b-admin', 'B Admin', 'modimolle') AS b_slug \gset

SET LOCAL ROLE naboom_user;
DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-a', 'a-mod', 'A Moderator', 'moderator', 'a-admin', '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-a', 'a-resp', 'A Responder', 'responder', 'a-admin', '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-a', 'a-res1', 'A Resident One', phone => '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-a', 'a-res2', 'A Resident Two', phone => '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-b', 'b-mod', 'B Moderator', 'moderator', 'b-admin', '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-b', 'b-resp', 'B Responder', 'responder', 'b-admin', '+27 82 555 0100');
	PERFORM pg_temp.tap_join('tap-b', 'b-res1', 'B Resident One', phone => '+27 82 555 0100');
	PERFORM pg_temp.tap_category('tap-a', 'a-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
	PERFORM pg_temp.tap_category('tap-a', 'a-admin', 'gbv', 'Gender-based violence', 'Geslagsgebaseerde geweld',
		'high', is_sensitive => true);
	PERFORM pg_temp.tap_category('tap-b', 'b-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
END
$fixtures$;

SET LOCAL request.jwt.claims = '{"sub":"a-res1"}';
SELECT i.reference AS a_pub FROM naboom_api.report_incident('tap-a', 'burglary', -24.52, 28.71,
	'Back door forced', address => '12 Kerk Street') i \gset
SELECT i.reference AS a_priv1 FROM naboom_api.report_incident('tap-a', 'burglary', -24.53, 28.72,
	'Someone in my shed', is_public => false) i \gset
SELECT i.reference AS a_sens FROM naboom_api.report_incident('tap-a', 'gbv', -24.52137, 28.71163,
	'Neighbour being beaten', address => '7 Hoof Street') i \gset
-- A device (or a map picker) that sends three decimals.
SELECT i.reference AS a_sens_grid FROM naboom_api.report_incident('tap-a', 'gbv', -24.523, 28.714,
	'Shouting and screams next door') i \gset
SET LOCAL request.jwt.claims = '{"sub":"a-res2"}';
SELECT i.reference AS a_priv2 FROM naboom_api.report_incident('tap-a', 'burglary', -24.54, 28.73,
	'Garage broken into', is_public => false) i \gset
SET LOCAL request.jwt.claims = '{"sub":"b-res1"}';
SELECT i.reference AS b_pub FROM naboom_api.report_incident('tap-b', 'burglary', -24.70, 28.41,
	'Shop window smashed') i \gset
SELECT i.reference AS b_priv FROM naboom_api.report_incident('tap-b', 'burglary', -24.71, 28.42,
	'Gate opened at night', is_public => false) i \gset
-- Notes on A's public incident by A's responder: one internal, one public.
SET LOCAL request.jwt.claims = '{"sub":"a-resp"}';
SELECT t.seq AS internal_seq FROM naboom_api.add_note(:'a_pub', 'Suspect vehicle: white bakkie CA 123', false) t \gset
SELECT t.seq AS public_seq FROM naboom_api.add_note(:'a_pub', 'Patrol on the way', true) t \gset
RESET ROLE;
SET LOCAL request.jwt.claims = '';

SELECT i.incident_id AS a_priv1_id, i.community_id AS a_id FROM naboom.incident i WHERE i.reference = :'a_priv1' \gset
SELECT i.incident_id AS b_priv_id, i.community_id AS b_id FROM naboom.incident i WHERE i.reference = :'b_priv' \gset

SELECT is((SELECT count(*)::integer FROM naboom.incident i WHERE i.community_id IN (:a_id, :b_id)), 7,
	'fixtures: seven incidents in two communities');
SELECT is((SELECT pg_catalog.string_agg(m.user_ref || '=' || m.role, ',' ORDER BY m.user_ref)
		FROM naboom.member m WHERE m.community_id = :a_id),
	'a-admin=admin,a-mod=moderator,a-res1=resident,a-res2=resident,a-resp=responder',
	'fixtures: community A has an admin, a moderator, a responder and two residents');
SELECT isnt(:a_id, :b_id, 'fixtures: A and B are different communities');

------------------------------------------------------------------------------
-- A resident of A (not the reporter of the other incidents)
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL request.jwt.claims = '{"sub":"a-res2"}';

SELECT set_eq(format($$SELECT i.reference FROM naboom.incident i WHERE i.community_id IN (%s, %s)$$, :a_id, :b_id),
	ARRAY[:'a_pub', :'a_sens', :'a_sens_grid', :'a_priv2', :'b_pub'],
	'resident of A, direct SELECT: public incidents and their own private one, no one else''s private ones');
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_pub') i), :'a_pub',
	'resident of A: get_incident of A''s public incident');
SELECT is((SELECT i.reporter_name FROM naboom_api.get_incident(:'a_pub') i), 'A Resident One',
	'resident of A: a member sees the reporter of a non-sensitive incident');
SELECT is((SELECT i.is_mine FROM naboom_api.get_incident(:'a_priv2') i), true,
	'resident of A: get_incident of their own private incident');
SELECT throws_ok(format('SELECT * FROM naboom_api.get_incident(%L)', :'a_priv1'), 'PT404', NULL,
	'resident of A: get_incident of another resident''s private incident is PT404');
SELECT throws_ok(format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv'), 'PT404', NULL,
	'resident of A: get_incident of a private incident of B is PT404');
SELECT is(pg_temp.error_of(format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv')),
	'PT404 naboom.unknown_reference', 'resident of A: ... with the key naboom.unknown_reference');
SELECT is(pg_temp.error_of(format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv')),
	pg_temp.error_of($$SELECT * FROM naboom_api.get_incident('NB-0000-0000')$$),
	'resident of A: a hidden incident looks exactly like one that does not exist');
SELECT set_eq('SELECT m.user_ref FROM naboom.member m',
	ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2'],
	'resident of A, direct SELECT on naboom.member: exactly A''s members');
SELECT is_empty(format('SELECT t.seq FROM naboom.incident_timeline t WHERE t.community_id = %s AND t.incident_id = %s',
		:a_id, :a_priv1_id),
	'resident of A, direct SELECT on the timeline: nothing of another resident''s private incident');
SELECT is_empty(format('SELECT t.seq FROM naboom.incident_timeline t WHERE t.community_id = %s AND t.incident_id = %s',
		:b_id, :b_priv_id),
	'resident of A, direct SELECT on the timeline: nothing of B''s private incident');

------------------------------------------------------------------------------
-- A responder of A
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"a-resp"}';
SELECT set_eq(format($$SELECT i.reference FROM naboom.incident i WHERE i.community_id IN (%s, %s)$$, :a_id, :b_id),
	ARRAY[:'a_pub', :'a_sens', :'a_sens_grid', :'a_priv1', :'a_priv2', :'b_pub'],
	'responder of A, direct SELECT: all of A''s incidents, private ones included; not B''s private one');
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_priv1') i), :'a_priv1',
	'responder of A: get_incident of a resident''s private incident');
SELECT throws_ok(format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv'), 'PT404', NULL,
	'responder of A: get_incident of a private incident of B is PT404');
SELECT set_eq('SELECT m.user_ref FROM naboom.member m',
	ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2'],
	'responder of A, direct SELECT on naboom.member: exactly A''s members');

------------------------------------------------------------------------------
-- The moderator of A, and everyone of A at once
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"a-mod"}';
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_priv2') i), :'a_priv2',
	'moderator of A: get_incident of a resident''s private incident');
SELECT throws_ok(format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv'), 'PT404', NULL,
	'moderator of A: get_incident of a private incident of B is PT404');

SELECT is_empty(format($$
	SELECT who || ' sees ' || r
	FROM pg_catalog.unnest(ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2']) who,
		pg_temp.seen_by(who, 'SELECT i.reference FROM naboom.incident i WHERE i.community_id = %s AND NOT i.is_public') r
$$, :b_id), 'nobody of A sees any private incident of B (direct SELECT)');
SELECT is_empty(format($$
	SELECT who || ' sees ' || r
	FROM pg_catalog.unnest(ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2']) who,
		pg_temp.seen_by(who, 'SELECT m.user_ref FROM naboom.member m WHERE m.community_id = %s') r
$$, :b_id), 'nobody of A sees any member of B (direct SELECT)');
SELECT is_empty(format($$
	SELECT who || ' sees ' || r
	FROM pg_catalog.unnest(ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2']) who,
		pg_temp.seen_by(who, 'SELECT t.seq::text FROM naboom.incident_timeline t WHERE t.community_id = %s AND t.incident_id = %s') r
$$, :b_id, :b_priv_id), 'nobody of A sees the timeline of B''s private incident (direct SELECT)');
SELECT is_empty(format($$
	SELECT who || ' gets ' || e
	FROM pg_catalog.unnest(ARRAY['a-admin', 'a-mod', 'a-resp', 'a-res1', 'a-res2']) who,
		pg_temp.seen_by(who, %L) e
	WHERE e <> 'PT404 naboom.unknown_reference'
$$, format('SELECT pg_temp.error_of(%L)', format('SELECT * FROM naboom_api.get_incident(%L)', :'b_priv'))),
	'nobody of A can get_incident B''s private incident (PT404 naboom.unknown_reference)');
-- Non-vacuous: B's own resident does see them.
SELECT set_eq(format($$SELECT r FROM pg_temp.seen_by('b-res1', 'SELECT i.reference FROM naboom.incident i WHERE i.community_id = %s') r$$, :b_id),
	ARRAY[:'b_pub', :'b_priv'], 'the reporter in B sees both of B''s incidents (the checks above are not vacuous)');
SELECT set_eq($$SELECT r FROM pg_temp.seen_by('b-mod', 'SELECT m.user_ref FROM naboom.member m') r$$,
	ARRAY['b-admin', 'b-mod', 'b-resp', 'b-res1'], 'the moderator of B sees exactly B''s members');
RESET ROLE;

------------------------------------------------------------------------------
-- Anonymous (naboom_anon, no claims)
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_anon;
SET LOCAL request.jwt.claims = '';
SELECT set_eq(format($$SELECT i.reference FROM naboom.incident i WHERE i.community_id IN (%s, %s)$$, :a_id, :b_id),
	ARRAY[:'a_pub', :'a_sens', :'a_sens_grid', :'b_pub'], 'anon, direct SELECT: exactly the public incidents');
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_pub') i), :'a_pub', 'anon: get_incident of a public incident');
SELECT is((SELECT i.reporter_name FROM naboom_api.get_incident(:'a_pub') i), NULL,
	'anon: get_incident hides the reporter (reporter_name NULL)');
SELECT is((SELECT i.assignee FROM naboom_api.get_incident(:'a_pub') i), NULL, 'anon: get_incident shows no member refs');
SELECT ok(NOT (SELECT i.timeline FROM naboom_api.get_incident(:'a_pub') i)
		@? '$[*] ? (@.actor_name == "A Resident One" || @.actor_name == "A Responder")',
	'anon: the timeline names no member');
SELECT throws_ok(format('SELECT * FROM naboom_api.get_incident(%L)', :'a_priv1'), 'PT404', NULL,
	'anon: get_incident of a private incident is PT404');
SELECT is((SELECT i.location_blurred FROM naboom_api.get_incident(:'a_sens') i), true,
	'anon: the location of a sensitive incident is blurred');
RESET ROLE;

------------------------------------------------------------------------------
-- Sensitive category: the true point is (-24.52137, 28.71163)
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL request.jwt.claims = '{"sub":"a-res2"}';
SELECT is((SELECT i.location_blurred FROM naboom_api.get_incident(:'a_sens') i), true,
	'sensitive, another resident: location_blurred');
SELECT ok((SELECT abs(i.lat - -24.52137) <= 0.0006 AND abs(i.lon - 28.71163) <= 0.0006
		FROM naboom_api.get_incident(:'a_sens') i),
	'sensitive, another resident: lat/lon within about 0.0006 degrees of the true point');
-- "Not equal" means more than floating-point noise apart: 0.00001 degrees is about a metre.
SELECT cmp_ok((SELECT greatest(abs(i.lat - -24.52137), abs(i.lon - 28.71163))::numeric
		FROM naboom_api.get_incident(:'a_sens') i), '>', 0.00001,
	'sensitive, another resident: lat/lon are not the true point');
SELECT is((SELECT i.location_blurred FROM naboom_api.get_incident(:'a_sens_grid') i), true,
	'sensitive, another resident: a point given with three decimals is marked blurred');
SELECT ok((SELECT abs(i.lat - -24.523) <= 0.0006 AND abs(i.lon - 28.714) <= 0.0006
		FROM naboom_api.get_incident(:'a_sens_grid') i),
	'sensitive, another resident: a point given with three decimals, blurred lat/lon within about 0.0006 degrees');
SELECT cmp_ok((SELECT greatest(abs(i.lat - -24.523), abs(i.lon - 28.714))::numeric
		FROM naboom_api.get_incident(:'a_sens_grid') i), '>', 0.00001,
	'sensitive, another resident: a point given with three decimals is not returned (almost) exactly');
SELECT is((SELECT i.reporter_name FROM naboom_api.get_incident(:'a_sens') i), NULL,
	'sensitive, another resident: reporter_name NULL');
SELECT is((SELECT i.address FROM naboom_api.get_incident(:'a_sens') i), NULL,
	'sensitive, another resident: the address is hidden');
SELECT ok(NOT (SELECT i.timeline FROM naboom_api.get_incident(:'a_sens') i) @? '$[*] ? (@.actor_name == "A Resident One")',
	'sensitive, another resident: the timeline does not name the reporter');

SET LOCAL request.jwt.claims = '{"sub":"a-resp"}';
SELECT is((SELECT i.location_blurred FROM naboom_api.get_incident(:'a_sens') i), false,
	'sensitive, responder: not blurred');
SELECT is((SELECT ARRAY[i.lat, i.lon] FROM naboom_api.get_incident(:'a_sens') i),
	ARRAY[-24.52137, 28.71163]::double precision[], 'sensitive, responder: the exact lat/lon');

SET LOCAL request.jwt.claims = '{"sub":"a-res1"}';
SELECT is((SELECT ARRAY[i.lat, i.lon] FROM naboom_api.get_incident(:'a_sens') i),
	ARRAY[-24.52137, 28.71163]::double precision[], 'sensitive, the reporter: the exact lat/lon of their own report');

------------------------------------------------------------------------------
-- Internal notes
------------------------------------------------------------------------------
SELECT ok(:internal_seq > 0 AND :public_seq = :internal_seq + 1, 'fixtures: the responder added two notes');

SET LOCAL request.jwt.claims = '{"sub":"a-res2"}';
SELECT ok(NOT (SELECT i.timeline FROM naboom_api.get_incident(:'a_pub') i) @? '$[*] ? (@.note like_regex "white bakkie")',
	'resident: get_incident''s timeline hides the internal note');
SELECT ok((SELECT i.timeline FROM naboom_api.get_incident(:'a_pub') i) @? '$[*] ? (@.note == "Patrol on the way")',
	'resident: get_incident''s timeline shows the public note');
SELECT is_empty('SELECT t.note FROM naboom.incident_timeline t WHERE NOT t.is_public',
	'resident, direct SELECT on the timeline: no internal entry at all');
SELECT set_eq(format('SELECT t.note FROM naboom.incident_timeline t WHERE t.community_id = %s AND t.entry_kind = %L', :a_id, 'note'),
	ARRAY['Patrol on the way'], 'resident, direct SELECT on the timeline: the public note only');

SET LOCAL request.jwt.claims = '{"sub":"a-res1"}';
SELECT ok(NOT (SELECT i.timeline FROM naboom_api.get_incident(:'a_pub') i) @? '$[*] ? (@.note like_regex "white bakkie")',
	'the reporter (a resident) does not see the internal note either');

SET LOCAL request.jwt.claims = '{"sub":"a-mod"}';
SELECT ok((SELECT i.timeline FROM naboom_api.get_incident(:'a_pub') i)
		@? '$[*] ? (@.note == "Suspect vehicle: white bakkie CA 123" && @.is_public == false)',
	'moderator: get_incident''s timeline shows the internal note');
SELECT set_eq(format('SELECT t.note FROM naboom.incident_timeline t WHERE t.community_id = %s AND t.entry_kind = %L', :a_id, 'note'),
	ARRAY['Patrol on the way', 'Suspect vehicle: white bakkie CA 123'],
	'moderator, direct SELECT on the timeline: both notes');

SET LOCAL request.jwt.claims = '{"sub":"b-mod"}';
SELECT is_empty(format('SELECT t.note FROM naboom.incident_timeline t WHERE t.community_id = %s AND NOT t.is_public', :a_id),
	'the moderator of B sees no internal note of A');
SELECT throws_ok(format('SELECT * FROM naboom_api.add_note(%L, %L)', :'a_pub', 'from B'), '42501', NULL,
	'the moderator of B cannot add a note to A''s incident');
RESET ROLE;

------------------------------------------------------------------------------
-- PostgREST runs GET requests in a READ ONLY transaction: get_incident
-- (STABLE) must work there.  Last, because the transaction stays read-only.
------------------------------------------------------------------------------
SET LOCAL transaction_read_only = on;
SET LOCAL ROLE naboom_anon;
SET LOCAL request.jwt.claims = '';
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_pub') i), :'a_pub',
	'read-only transaction, anon: get_incident works');
SET LOCAL ROLE naboom_user;
SET LOCAL request.jwt.claims = '{"sub":"a-resp"}';
SELECT is((SELECT i.reference FROM naboom_api.get_incident(:'a_priv1') i), :'a_priv1',
	'read-only transaction, responder: get_incident works');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
