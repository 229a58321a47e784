-- pgTAP: the lists of issue 13 (incident_queue, community_incidents,
-- my_incidents, my_assignments) as a gateway calls them -- a login-less,
-- non-superuser role that is a member of naboom_user, identity in
-- request.jwt.claims, an EMPTY search_path -- and as naboom_anon.  For a
-- member of each role, a member of another community and the public, every
-- row of every list is compared, column by column, with get_incident of
-- the same reference called by the same caller (the columns the two types
-- share); the feed holds every incident get_incident shows that caller and
-- nothing else; walking the pages gives the one-page order.
BEGIN;
SELECT tap.plan(47);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_lists_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

-- The references of a community, kept by the superuser for the roles below.
CREATE TEMPORARY TABLE tap_refs (community text, label text, reference text);
GRANT SELECT, INSERT ON pg_temp.tap_refs TO PUBLIC;

-- "N rows" when every row of the list equals get_incident(reference) for
-- the same caller on the columns both types have, else also the labels of
-- the rows that differ.  call: the list's call, as FROM would take it.
CREATE FUNCTION pg_temp.list_vs_get(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	shared text[] := ARRAY(
		SELECT a.attname::text FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = 'naboom_api.incident_item'::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped
		INTERSECT
		SELECT a.attname::text FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = 'naboom_api.incident'::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped);
	r record;
	n integer := 0;
	bad text[] := '{}';
	li jsonb;
	gi jsonb;
BEGIN
	IF pg_catalog.cardinality(shared) < 30 THEN
		RETURN 'too few shared columns: ' || pg_catalog.cardinality(shared);
	END IF;
	FOR r IN EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(q) AS j FROM %s q', call) LOOP
		n := n + 1;
		SELECT pg_catalog.jsonb_object_agg(e.key, e.value) INTO li
		FROM pg_catalog.jsonb_each(r.j) e WHERE e.key = ANY (shared);
		SELECT pg_catalog.jsonb_object_agg(e.key, e.value) INTO gi
		FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(naboom_api.get_incident(r.j->>'reference'))) e
		WHERE e.key = ANY (shared);
		IF li IS DISTINCT FROM gi THEN
			bad := bad || coalesce((SELECT t.label FROM pg_temp.tap_refs t WHERE t.reference = r.j->>'reference'), r.j->>'reference');
		END IF;
	END LOOP;
	RETURN n || ' rows' || CASE WHEN pg_catalog.cardinality(bad) > 0
		THEN ', differ: ' || pg_catalog.array_to_string(bad, ',') ELSE '' END;
END
$$;

-- The labels of the community's incidents get_incident shows the caller,
-- in the feed's order (newest first); and the labels a list returns.
CREATE FUNCTION pg_temp.gettable(community text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	seen text[] := '{}';
BEGIN
	FOR r IN SELECT t.label, t.reference FROM pg_temp.tap_refs t WHERE t.community = gettable.community LOOP
		IF pg_temp.message_of(pg_catalog.format('SELECT naboom_api.get_incident(%L)', r.reference)) = 'ok' THEN
			seen := seen || r.label;
		END IF;
	END LOOP;
	RETURN (SELECT pg_catalog.string_agg(x, ',' ORDER BY x) FROM pg_catalog.unnest(seen) x);
END
$$;
CREATE FUNCTION pg_temp.labels(call text, sorted boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	out text;
BEGIN
	EXECUTE pg_catalog.format('SELECT pg_catalog.string_agg(coalesce(t.label, q.reference), '','' ORDER BY %s)
		FROM %s WITH ORDINALITY AS q LEFT JOIN pg_temp.tap_refs t ON t.reference = q.reference',
		CASE WHEN sorted THEN 't.label' ELSE 'q.ordinality' END, call) INTO out;
	RETURN coalesce(out, '(none)');
END
$$;
-- Every page of a list (%L where the cursor goes), labels in walk order.
CREATE FUNCTION pg_temp.walk(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	cur text;
	page text;
	last text;
	pages text[] := '{}';
BEGIN
	LOOP
		EXECUTE pg_catalog.format('SELECT pg_catalog.string_agg(coalesce(t.label, q.reference), '','' ORDER BY q.ordinality),
				(pg_catalog.array_agg(q.cursor ORDER BY q.ordinality DESC))[1]
			FROM %s WITH ORDINALITY AS q LEFT JOIN pg_temp.tap_refs t ON t.reference = q.reference',
			pg_catalog.format(call, cur)) INTO page, last;
		EXIT WHEN page IS NULL OR pg_catalog.cardinality(pages) > 30;
		pages := pages || page;
		cur := last;
	END LOOP;
	RETURN coalesce(pg_catalog.array_to_string(pages, ','), '(none)');
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;

------------------------------------------------------------------------------
-- Fixtures: tap-ls (everyone below) and tap-ls-b (another community).
------------------------------------------------------------------------------
SELECT pg_temp.tap_community('tap-ls', 'Tap Lists', 'ls-admin', 'LS Admin');
SELECT pg_temp.tap_community('tap-ls-b', 'Tap Lists B', 'lsb-admin', 'LSB Admin', 'modimolle');

SET LOCAL ROLE tap_lists_gw;
SET LOCAL search_path = '';

DO $fixtures$
DECLARE
	r naboom_api.incident;
BEGIN
	PERFORM pg_temp.tap_join('tap-ls', 'ls-mod', 'LS Moderator', 'moderator', 'ls-admin');
	PERFORM pg_temp.tap_join('tap-ls', 'ls-resp', 'LS Responder', 'responder', 'ls-admin');
	PERFORM pg_temp.tap_join('tap-ls', 'ls-ver', 'LS Verified', 'verified', 'ls-admin');
	PERFORM pg_temp.tap_join('tap-ls', 'ls-res1', 'LS Resident One');
	PERFORM pg_temp.tap_join('tap-ls', 'ls-res2', 'LS Resident Two');
	PERFORM pg_temp.tap_join('tap-ls-b', 'ls-other', 'LSB Resident');
	PERFORM pg_temp.tap_join('tap-ls-b', 'ls-res1', 'LS Resident One');
	PERFORM pg_temp.tap_category('tap-ls', 'ls-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
	PERFORM pg_temp.tap_category('tap-ls', 'ls-admin', 'gbv', 'Gender-based violence', 'Geslagsgebaseerde geweld',
		'critical', is_sensitive => true);
	PERFORM pg_temp.tap_category('tap-ls', 'ls-admin', 'leak', 'Water leak', 'Waterlek', 'low');
	PERFORM pg_temp.tap_category('tap-ls-b', 'lsb-admin', 'leak', 'Water leak', 'Waterlek', 'low');

	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"ls-res1"}', true);
	r := naboom_api.report_incident('tap-ls', 'burglary', -24.52, 28.71, 'Window broken', address => '1 Main Road');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'pub', r.reference);
	r := naboom_api.report_incident('tap-ls', 'burglary', -24.521, 28.711, 'Back door forced', is_public => false);
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'priv', r.reference);
	r := naboom_api.report_incident('tap-ls', 'gbv', -24.5214, 28.7116, 'Screams next door', address => '7 Kameeldoring Street');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'sens', r.reference);
	r := naboom_api.report_incident('tap-ls', 'gbv', -24.53, 28.72, 'Threats', is_public => false);
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'sens_priv', r.reference);
	r := naboom_api.report_incident('tap-ls-b', 'leak', -24.70, 28.40, 'Leak in Modimolle');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls-b', 'b_leak', r.reference);

	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"ls-res2"}', true);
	r := naboom_api.report_incident('tap-ls', 'leak', -24.51, 28.70, 'Pipe burst');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'leak', r.reference);
	r := naboom_api.report_incident('tap-ls', 'leak', -24.5101, 28.7001, 'Water everywhere');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'leak_dup', r.reference);
	r := naboom_api.report_incident('tap-ls', 'burglary', -24.55, 28.75, 'Shed opened');
	INSERT INTO pg_temp.tap_refs VALUES ('tap-ls', 'done', r.reference);

	-- The responder takes the leak and the private burglary (assignee shown
	-- to members); the moderator merges the second leak into the first
	-- (duplicate_count 1) and acknowledges the shed, which gets resolved.
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"ls-resp"}', true);
	PERFORM naboom_api.transition_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'leak'), 'dispatched');
	PERFORM naboom_api.transition_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'priv'), 'dispatched');
	PERFORM naboom_api.acknowledge_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'done'));
	PERFORM naboom_api.transition_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'done'), 'dispatched');
	PERFORM naboom_api.transition_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'done'), 'resolved', 'Locked again');
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"ls-mod"}', true);
	PERFORM naboom_api.transition_incident((SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'leak_dup'), 'duplicate',
		duplicate_of => (SELECT t.reference FROM pg_temp.tap_refs t WHERE t.label = 'leak'));
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
		AND pg_catalog.pg_has_role(CURRENT_USER, 'naboom_user', 'MEMBER')
		AND NOT pg_catalog.pg_has_role(CURRENT_USER, 'naboom_service', 'MEMBER'),
	'... as tap_lists_gw: not a superuser, no BYPASSRLS, a member of naboom_user (not naboom_service)');

------------------------------------------------------------------------------
-- The feed, for each caller: exactly what get_incident shows them, row by
-- row the same.
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ls-admin"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '7 rows', 'feed, admin: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'feed, admin: every incident get_incident shows, and no other');
SET LOCAL request.jwt.claims = '{"sub":"ls-mod"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '7 rows', 'feed, moderator: every row as get_incident shows it');
SET LOCAL request.jwt.claims = '{"sub":"ls-resp"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '7 rows', 'feed, responder: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'feed, responder: every incident get_incident shows, and no other');
SET LOCAL request.jwt.claims = '{"sub":"ls-ver"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '5 rows', 'feed, verified member: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'feed, verified member: every incident get_incident shows (the public ones), and no other');
SET LOCAL request.jwt.claims = '{"sub":"ls-res1"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '7 rows', 'feed, the reporter: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'feed, the reporter: their private incidents too, as get_incident');
SET LOCAL request.jwt.claims = '{"sub":"ls-res2"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '5 rows', 'feed, another resident: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), 'done,leak,leak_dup,pub,sens',
	'feed, another resident: the public incidents (the sensitive one blurred, see get_incident), not the private ones');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'... exactly what get_incident shows them');
SET LOCAL request.jwt.claims = '{"sub":"ls-other"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '5 rows', 'feed, a member of another community: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'... exactly what get_incident shows them');
SELECT tap.ok((SELECT pg_catalog.bool_and(q.assignee IS NULL AND q.reporter_name IS NULL)
		FROM naboom_api.community_incidents('tap-ls') q), 'feed, another community: no assignee, no reporter');
RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.community_incidents('tap-ls')$$), '5 rows', 'feed, naboom_anon: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$, true), pg_temp.gettable('tap-ls'),
	'feed, naboom_anon: the public incidents, exactly what get_incident shows');
SELECT tap.is((SELECT q.location_blurred::text || ' ' || (q.address IS NULL)::text
		FROM naboom_api.community_incidents('tap-ls') q JOIN pg_temp.tap_refs t ON t.reference = q.reference WHERE t.label = 'sens'),
	'true true', 'feed, naboom_anon: the sensitive incident blurred, its address hidden');
SELECT tap.is(pg_temp.labels($$naboom_api.community_incidents('tap-ls', search => 'kameeldoring')$$), '(none)',
	'feed search, naboom_anon: the hidden address of the sensitive incident is not searched');
SELECT tap.is(pg_temp.walk($$naboom_api.community_incidents('tap-ls', after => %L, max_count => 2)$$),
	pg_temp.labels($$naboom_api.community_incidents('tap-ls')$$), 'feed, naboom_anon: pages of two walk the one-page order');
SELECT tap.is(pg_temp.message_of($$SELECT * FROM naboom_api.incident_queue('tap-ls')$$),
	'42501 permission denied for function incident_queue', 'naboom_anon may not call incident_queue');
SELECT tap.is(pg_temp.message_of($$SELECT * FROM naboom_api.my_incidents()$$),
	'42501 permission denied for function my_incidents', 'naboom_anon may not call my_incidents');
RESET ROLE;
SET LOCAL ROLE tap_lists_gw;
SET LOCAL search_path = '';

------------------------------------------------------------------------------
-- The queue: staff only, row by row as get_incident.
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ls-admin"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.incident_queue('tap-ls')$$), '5 rows', 'queue, admin: every row as get_incident shows it');
SET LOCAL request.jwt.claims = '{"sub":"ls-mod"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.incident_queue('tap-ls')$$), '5 rows', 'queue, moderator: every row as get_incident shows it');
SET LOCAL request.jwt.claims = '{"sub":"ls-resp"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.incident_queue('tap-ls')$$), '5 rows', 'queue, responder: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.incident_queue('tap-ls')$$), 'sens,sens_priv,pub,priv,leak',
	'queue: critical first (oldest first), then high, then low; closed and resolved incidents left out');
SELECT tap.is(pg_temp.walk($$naboom_api.incident_queue('tap-ls', after => %L, max_count => 1)$$),
	pg_temp.labels($$naboom_api.incident_queue('tap-ls')$$), 'queue: pages of one walk the one-page order');
SELECT tap.is((SELECT q.duplicate_count FROM naboom_api.incident_queue('tap-ls') q JOIN pg_temp.tap_refs t
		ON t.reference = q.reference WHERE t.label = 'leak'), 1, 'queue: the leak has one duplicate merged into it');
SELECT tap.is(pg_temp.labels($$naboom_api.incident_queue('tap-ls', assignee => 'ls-resp')$$), 'priv,leak',
	'queue: filtered by assignee');
SET LOCAL request.jwt.claims = '{"sub":"ls-ver"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.incident_queue('tap-ls')$$), '42501 naboom.insufficient_role',
	'queue, verified member: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"ls-res1"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.incident_queue('tap-ls')$$), '42501 naboom.insufficient_role',
	'queue, resident: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"ls-other"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.incident_queue('tap-ls')$$), '42501 naboom.not_a_member',
	'queue, another community''s member: 42501 naboom.not_a_member');
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.incident_queue('tap-ls')$$), '28000 naboom.missing_identity',
	'queue, naboom_user without claims: 28000 naboom.missing_identity');

------------------------------------------------------------------------------
-- My reports and my assignments.
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ls-res1"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.my_incidents()$$), '5 rows', 'my_incidents, reporter: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.my_incidents()$$), 'b_leak,sens_priv,sens,priv,pub',
	'my_incidents: newest first, in every community (tap-ls-b''s leak too)');
SELECT tap.is(pg_temp.walk($$naboom_api.my_incidents(after => %L, max_count => 2)$$),
	pg_temp.labels($$naboom_api.my_incidents()$$), 'my_incidents: pages of two walk the one-page order');
SELECT tap.ok((SELECT pg_catalog.bool_and(q.is_mine AND NOT q.location_blurred) FROM naboom_api.my_incidents() q),
	'my_incidents: all is_mine, none blurred for their reporter');
SET LOCAL request.jwt.claims = '{"sub":"ls-res2"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.my_incidents()$$), '3 rows', 'my_incidents, another reporter: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.my_incidents(statuses => '{duplicate,resolved}')$$), 'done,leak_dup',
	'my_incidents: filtered by status');
SET LOCAL request.jwt.claims = '{"sub":"ls-resp"}';
SELECT tap.is(pg_temp.list_vs_get($$naboom_api.my_assignments()$$), '2 rows', 'my_assignments: every row as get_incident shows it');
SELECT tap.is(pg_temp.labels($$naboom_api.my_assignments()$$), 'priv,leak', 'my_assignments: the live ones, high before low');
SELECT tap.is(pg_temp.labels($$naboom_api.my_incidents()$$), '(none)', 'my_incidents, a responder who reported nothing: none');
SET LOCAL request.jwt.claims = '{"sub":"ls-res1"}';
SELECT tap.is(pg_temp.labels($$naboom_api.my_assignments()$$), '(none)', 'my_assignments, a resident: none');
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.my_incidents()$$), '28000 naboom.missing_identity',
	'my_incidents without claims: 28000 naboom.missing_identity');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.my_assignments()$$), '28000 naboom.missing_identity',
	'my_assignments without claims: 28000 naboom.missing_identity');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
