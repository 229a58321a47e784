-- pgTAP: offline sync (naboom_api.incident_changes) as a gateway calls it --
-- a login-less, non-superuser member of naboom_user, and naboom_anon for
-- the public, with an EMPTY search_path.  For members of every role, a
-- member of another community, a signed-in stranger and the public, every
-- incident is compared row by row with get_incident: a sync from scratch
-- returns exactly the incidents get_incident shows the caller, with the same
-- values; tombstones go to exactly those who could see an incident that was
-- made private; keyset pages give the same rows as one page.
--
-- Events of this (rolled back) transaction are numbered by the superuser
-- calling naboom.publish_events() inside it, as events_as_user.sql does.
BEGIN;
SELECT tap.plan(29);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_sync_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

SELECT pg_temp.tap_community('tap-sy', 'Tap Sync', 'sy-admin', 'SY Admin') AS sy \gset
SELECT pg_temp.tap_community('tap-sy-b', 'Tap Sync B', 'syb-admin', 'SYB Admin', 'modimolle') AS syb \gset

-- The references of this file's incidents, by label, as the superuser
-- knows them (a temporary table the gateway role may read).
CREATE TEMPORARY TABLE refs (label text PRIMARY KEY, ref text UNIQUE, community text);
GRANT SELECT, INSERT ON refs TO PUBLIC;

-- One caller's sync from scratch (one page) compared with get_incident,
-- incident by incident: '' when every visible incident is returned once
-- with get_incident's values and nothing else is (tombstones aside), else
-- what differs.
CREATE FUNCTION pg_temp.sync_vs_get() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	g jsonb;
	c jsonb;
	shared text[];
	bad text[] := '{}';
BEGIN
	FOR r IN SELECT x.label, x.ref FROM pg_temp.refs x ORDER BY x.label LOOP
		BEGIN
			SELECT pg_catalog.to_jsonb(i) INTO g FROM naboom_api.get_incident(r.ref) i;
		EXCEPTION WHEN OTHERS THEN
			g := NULL;
		END;
		SELECT pg_catalog.to_jsonb(s) INTO c FROM naboom_api.incident_changes(NULL, 500) s
		WHERE s.reference = r.ref AND NOT s.removed;
		IF (SELECT pg_catalog.count(*) FROM naboom_api.incident_changes(NULL, 500) s
				WHERE s.reference = r.ref) > 1 THEN
			bad := bad || (r.label || ' twice');
		ELSIF g IS NULL AND c IS NOT NULL THEN
			bad := bad || (r.label || ' hidden by get_incident but synced');
		ELSIF g IS NOT NULL AND c IS NULL THEN
			bad := bad || (r.label || ' shown by get_incident but not synced');
		ELSIF g IS NOT NULL THEN
			SELECT pg_catalog.array_agg(k) INTO shared FROM pg_catalog.jsonb_object_keys(g) k
			WHERE c ? k;
			IF pg_catalog.cardinality(shared) < 30 OR EXISTS (SELECT 1 FROM pg_catalog.unnest(shared) k
					WHERE g->k IS DISTINCT FROM c->k) THEN
				bad := bad || (r.label || ' differs in ' || (SELECT pg_catalog.string_agg(k, ',')
					FROM pg_catalog.unnest(shared) k WHERE g->k IS DISTINCT FROM c->k));
			END IF;
		END IF;
	END LOOP;
	RETURN pg_catalog.array_to_string(bad, '; ');
END
$$;

-- The labels of the tombstones in a sync from scratch.
CREATE FUNCTION pg_temp.tombstones() RETURNS text LANGUAGE sql AS $$
	SELECT COALESCE(pg_catalog.string_agg(x.label, ',' ORDER BY x.label), '(none)')
	FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference
	WHERE s.removed
$$;

-- The labels of a sync from scratch in order, paged max_count at a time.
CREATE FUNCTION pg_temp.paged(max_count integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	c text;
	s record;
	seen text[] := '{}';
	pages integer := 0;
BEGIN
	LOOP
		pages := pages + 1;
		FOR s IN SELECT * FROM naboom_api.incident_changes(c, max_count) LOOP
			seen := seen || (COALESCE((SELECT x.label FROM pg_temp.refs x WHERE x.ref = s.reference), '?')
				|| CASE WHEN s.removed THEN '-' ELSE '' END);
			c := s.cursor;
		END LOOP;
		EXIT WHEN NOT FOUND OR pages > 100;
	END LOOP;
	RETURN pg_catalog.array_to_string(seen, ',');
END
$$;

SET LOCAL ROLE tap_sync_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-sy', 'sy-mod', 'SY Moderator', 'moderator', 'sy-admin');
	PERFORM pg_temp.tap_join('tap-sy', 'sy-resp', 'SY Responder', 'responder', 'sy-admin');
	PERFORM pg_temp.tap_join('tap-sy', 'sy-ver', 'SY Verified', 'verified', 'sy-admin');
	PERFORM pg_temp.tap_join('tap-sy', 'sy-res1', 'SY Resident One');
	PERFORM pg_temp.tap_join('tap-sy', 'sy-res2', 'SY Resident Two');
	PERFORM pg_temp.tap_join('tap-sy-b', 'syb-res', 'SYB Resident');
	PERFORM pg_temp.tap_category('tap-sy', 'sy-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
	PERFORM pg_temp.tap_category('tap-sy', 'sy-admin', 'gbv', 'Gender-based violence', 'Geslagsgebaseerde geweld',
		'medium', is_sensitive => true);
	PERFORM pg_temp.tap_category('tap-sy-b', 'syb-admin', 'burglary', 'Burglary', 'Inbraak', 'high');

	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"sy-res1"}', true);
	INSERT INTO pg_temp.refs SELECT 'pub', i.reference, 'tap-sy'
	FROM naboom_api.report_incident('tap-sy', 'burglary', -24.52, 28.71, 'Public burglary (tap sync)') i;
	INSERT INTO pg_temp.refs SELECT 'priv', i.reference, 'tap-sy'
	FROM naboom_api.report_incident('tap-sy', 'burglary', -24.521, 28.711, 'Private burglary (tap sync)',
		is_public => false) i;
	INSERT INTO pg_temp.refs SELECT 'hidden', i.reference, 'tap-sy'
	FROM naboom_api.report_incident('tap-sy', 'burglary', -24.522, 28.712, 'Public, then made private (tap sync)') i;
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"sy-res2"}', true);
	INSERT INTO pg_temp.refs SELECT 'gbv', i.reference, 'tap-sy'
	FROM naboom_api.report_incident('tap-sy', 'gbv', -24.5213, 28.7116, 'Sensitive (tap sync)') i;
	INSERT INTO pg_temp.refs SELECT 'panic', i.reference, 'tap-sy'
	FROM naboom_api.raise_panic('tap-sy', -24.53, 28.72, note => 'Help (tap sync)') i;
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"syb-res"}', true);
	INSERT INTO pg_temp.refs SELECT 'b-pub', i.reference, 'tap-sy-b'
	FROM naboom_api.report_incident('tap-sy-b', 'burglary', -24.70, 28.41, 'B public (tap sync)') i;
	INSERT INTO pg_temp.refs SELECT 'b-priv', i.reference, 'tap-sy-b'
	FROM naboom_api.report_incident('tap-sy-b', 'burglary', -24.701, 28.411, 'B private (tap sync)',
		is_public => false) i;

	-- The workflow moves some on; the moderator assigns the public one.
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"sy-ver"}', true);
	PERFORM naboom_api.transition_incident((SELECT x.ref FROM pg_temp.refs x WHERE x.label = 'pub'), 'verified');
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"sy-mod"}', true);
	PERFORM naboom_api.assign_incident((SELECT x.ref FROM pg_temp.refs x WHERE x.label = 'pub'), 'sy-resp');
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"sy-resp"}', true);
	PERFORM naboom_api.acknowledge_incident((SELECT x.ref FROM pg_temp.refs x WHERE x.label = 'panic'));
END
$fixtures$;

-- Number the events so far, then the moderator makes 'hidden' private.
RESET ROLE;
SET LOCAL request.jwt.claims = '';
SELECT naboom.publish_events() > 0 AS published \gset
SET LOCAL ROLE tap_sync_gw;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"sy-res2"}';
SELECT s.cursor AS before_hide FROM naboom_api.incident_changes(NULL, 500) WITH ORDINALITY s
	ORDER BY s.ordinality DESC LIMIT 1 \gset
SELECT tap.ok(:'published'::boolean, 'the superuser published the fixtures'' events');
-- (A moderator's direct edit, as the gateway's roles may not UPDATE.)
RESET ROLE;
SET LOCAL request.jwt.claims = '{"sub":"sy-mod"}';
UPDATE naboom.incident SET is_public = false
	WHERE reference = (SELECT x.ref FROM pg_temp.refs x WHERE x.label = 'hidden');
SET LOCAL request.jwt.claims = '';
SELECT naboom.publish_events() AS published_hide \gset
SET LOCAL ROLE tap_sync_gw;
SET LOCAL search_path = '';

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
		AND NOT pg_catalog.pg_has_role(CURRENT_USER, 'naboom_service', 'MEMBER'),
	'... as tap_sync_gw: not a superuser, no BYPASSRLS, not naboom_service');
SELECT tap.is(:published_hide, 1, 'making an incident private is one event (incident.updated)');

------------------------------------------------------------------------------
-- Row by row: a sync from scratch equals get_incident, for every role
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sy-res1"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-res1 (resident, reporter of pub, priv, hidden): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-res2"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-res2 (resident, reporter of gbv and panic): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-ver"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-ver (verified): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-resp"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-resp (responder): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-mod"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-mod (moderator): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-admin"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'sy-admin (admin): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"syb-res"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'syb-res (member of another community): sync = get_incident');
SET LOCAL request.jwt.claims = '{"sub":"sy-stranger"}';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'a signed-in stranger (no community): sync = get_incident');

-- What that means, spelt out for three of them.
SET LOCAL request.jwt.claims = '{"sub":"sy-res2"}';
SELECT tap.is((SELECT pg_catalog.string_agg(x.label, ',' ORDER BY x.label)
		FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference WHERE NOT s.removed),
	'b-pub,gbv,panic,pub', 'sy-res2 syncs the public incidents and their own (the panic), not others'' private ones');
SELECT tap.is((SELECT s.location_blurred::text || ' ' || (s.reporter_name IS NOT NULL)::text
		FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference WHERE x.label = 'gbv'),
	'false true', 'sy-res2, the reporter of the sensitive incident: exact location, own name');
SET LOCAL request.jwt.claims = '{"sub":"sy-res1"}';
SELECT tap.is((SELECT s.location_blurred::text || ' ' || (s.reporter_name IS NULL)::text
		FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference WHERE x.label = 'gbv'),
	'true true', 'sy-res1, another resident: the sensitive incident blurred, its reporter hidden');
SET LOCAL request.jwt.claims = '{"sub":"sy-resp"}';
SELECT tap.is((SELECT pg_catalog.string_agg(x.label, ',' ORDER BY x.label)
		FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference WHERE NOT s.removed),
	'b-pub,gbv,hidden,panic,priv,pub', 'sy-resp syncs every incident of tap-sy and the public one of tap-sy-b');

------------------------------------------------------------------------------
-- Tombstones: 'hidden' was public, then made private
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sy-res2"}';
SELECT tap.is(pg_temp.tombstones(), 'hidden', 'sy-res2, who could see it: a tombstone for hidden');
SELECT tap.is((SELECT pg_catalog.string_agg(COALESCE(x.label, '?') || CASE WHEN s.removed THEN '-' ELSE '' END, ',')
		FROM naboom_api.incident_changes(:'before_hide') s LEFT JOIN pg_temp.refs x ON x.ref = s.reference),
	'hidden-', 'sy-res2, syncing from before it was hidden: only its tombstone');
SET LOCAL request.jwt.claims = '{"sub":"syb-res"}';
SELECT tap.is(pg_temp.tombstones(), 'hidden', 'syb-res (another community; public incidents are public): a tombstone');
SET LOCAL request.jwt.claims = '{"sub":"sy-res1"}';
SELECT tap.is(pg_temp.tombstones(), '(none)', 'sy-res1, its reporter, still sees it: no tombstone');
SET LOCAL request.jwt.claims = '{"sub":"sy-mod"}';
SELECT tap.is(pg_temp.tombstones(), '(none)', 'sy-mod: no tombstones');

------------------------------------------------------------------------------
-- Keyset pages give the same rows as one page
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"sy-res2"}';
SELECT tap.is(pg_temp.paged(1), pg_temp.paged(500), 'sy-res2: pages of one row = one page of 500');
-- Stream order: gbv and b-pub as reported, pub after its assignment, the
-- panic after its acknowledgement, the tombstone last.
SELECT tap.is(pg_temp.paged(500), 'gbv,b-pub,pub,panic,hidden-', '... in stream order (of each incident''s last change), each once');
SET LOCAL request.jwt.claims = '{"sub":"sy-resp"}';
SELECT tap.is(pg_temp.paged(2), pg_temp.paged(500), 'sy-resp: pages of two rows = one page of 500');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.incident_changes('garbage')$$),
	'22023 naboom.invalid_cursor', 'a malformed cursor: 22023 naboom.invalid_cursor');

------------------------------------------------------------------------------
-- The public
------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.sync_vs_get(), '', 'naboom_anon: sync = get_incident');
SELECT tap.is((SELECT pg_catalog.string_agg(x.label, ',' ORDER BY x.label)
		FROM naboom_api.incident_changes(NULL, 500) s JOIN pg_temp.refs x ON x.ref = s.reference WHERE NOT s.removed),
	'b-pub,gbv,pub', 'naboom_anon: the public incidents only');
SELECT tap.is(pg_temp.tombstones(), 'hidden', 'naboom_anon: a tombstone for hidden, none for the never-public ones');
SELECT tap.ok((SELECT pg_catalog.bool_and(NOT s.is_mine AND s.reporter_name IS NULL AND s.assignee IS NULL)
		FROM naboom_api.incident_changes(NULL, 500) s WHERE NOT s.removed),
	'naboom_anon: nothing is_mine, no reporter, no assignee');
RESET ROLE;

SELECT * FROM tap.finish();
ROLLBACK;
