-- pgTAP: the API end to end as a gateway calls it -- role naboom_user,
-- identity in the JWT claims, and an EMPTY search_path (style.md: pgTAP is
-- also run with search_path = '' and as a non-superuser) -- plus a direct
-- UPDATE by a DBA-like role, which the workflow trigger holds to the same
-- rules, and the edge cases of the claims themselves.
--
-- With search_path = '' nothing is found unqualified, pgTAP included, and
-- pgTAP's functions call each other unqualified.  So, inside this
-- transaction only (it is rolled back), the pgTAP entry points used here get
-- their own search_path; their arguments -- the naboom calls under test --
-- are still evaluated by this session with search_path = ''.  Errors are
-- checked with pg_temp.error_of, which runs its SQL in the caller's
-- search_path ('') and returns "SQLSTATE key" (the stable key that starts
-- the DETAIL), and with tap.throws_ok for SQLSTATE and message.
BEGIN;
SELECT tap.plan(87);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

-- A DBA-like role: may UPDATE the incident table directly and bypasses
-- row-level security, but is not the naboom service.
CREATE ROLE tap_ops NOLOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA naboom TO tap_ops;
GRANT SELECT, UPDATE ON naboom.incident TO tap_ops;

------------------------------------------------------------------------------
-- Fixtures: the community by the naboom service (superuser, no claims),
-- everything else by people as naboom_user.
------------------------------------------------------------------------------
SELECT pg_temp.tap_community('tap-api', 'Tap API (Mookgophong)', 'api-admin', 'API Admin') AS slug \gset

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-api', 'api-mod', 'API Moderator', 'moderator', 'api-admin');
	PERFORM pg_temp.tap_join('tap-api', 'api-resp', 'API Responder', 'responder', 'api-admin');
	PERFORM pg_temp.tap_join('tap-api', 'api-resp2', 'API Responder Two', 'responder', 'api-admin');
	PERFORM pg_temp.tap_join('tap-api', 'api-ver', 'API Verified', 'verified', 'api-admin');
	PERFORM pg_temp.tap_join('tap-api', 'api-res1', 'API Resident One');
	PERFORM pg_temp.tap_join('tap-api', 'api-res2', 'API Resident Two');
	PERFORM pg_temp.tap_category('tap-api', 'api-admin', 'stock_theft', 'Stock theft', 'Veediefstal', 'high');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.is(CURRENT_USER::text, 'naboom_user', '... as naboom_user');

------------------------------------------------------------------------------
-- report_incident: 201, idempotent on client_ref
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SET LOCAL response.status = '';
SELECT i.reference AS ref1, i.status AS ref1_status, i.version AS ref1_version, i.is_mine AS ref1_mine,
	pg_catalog.current_setting('response.status', true) AS ref1_http
FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'Three cattle gone from the north camp',
	title => 'Cattle stolen', client_ref => 'dev-1') i \gset
SELECT tap.is(:'ref1_http'::text, '201', 'report_incident sets response.status 201');
SELECT tap.ok(naboom.reference_valid(:'ref1'), 'report_incident returns a valid reference');
SELECT tap.is(:'ref1_status'::text, 'reported', 'a new report is reported');
SELECT tap.is(:'ref1_version'::text, '1', 'a new report is version 1');
SELECT tap.is(:'ref1_mine'::text, 't', 'a new report is the caller''s (is_mine)');

SET LOCAL response.status = '';
SELECT i.reference AS ref1_again, pg_catalog.current_setting('response.status', true) AS ref1_again_http
FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'Three cattle gone from the north camp',
	title => 'Cattle stolen', client_ref => 'dev-1') i \gset
SELECT tap.is(:'ref1_again'::text, :'ref1', 'a resubmit with the same client_ref returns the same reference');
SELECT tap.isnt(:'ref1_again_http'::text, '201', 'a resubmit is not 201 Created');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.incident i
		WHERE i.description = 'Three cattle gone from the north camp'), 1,
	'the resubmit filed nothing new');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.raise_panic('tap-api', -24.52, 28.71, client_ref => 'dev-1')$$),
	'PT409 naboom.client_ref_reused', 'reusing a client_ref for something else is PT409 naboom.client_ref_reused');

SELECT i.reference AS ref_r FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.53, 28.72,
	'Sheep missing', client_ref => 'dev-2') i \gset
SELECT i.reference AS ref_d FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.54, 28.73,
	'Fence cut at the road', client_ref => 'dev-3') i \gset
SET LOCAL request.jwt.claims = '{"sub":"api-res2"}';
SELECT i.reference AS ref_p FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.56, 28.75,
	'Horse gone from the stable', is_public => false) i \gset

------------------------------------------------------------------------------
-- The workflow through the API
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref1', 'verified')),
	'42501 naboom.transition_forbidden', 'the reporter cannot verify their own report (42501 naboom.transition_forbidden)');

SET LOCAL request.jwt.claims = '{"sub":"api-ver"}';
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(:'ref1', 'verified') i), 'verified',
	'a verified member verifies the report');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L, expected_version => 1)', :'ref1', 'dispatched')),
	'PT409 naboom.stale_version', 'a stale expected_version is PT409 naboom.stale_version');

SET LOCAL request.jwt.claims = '{"sub":"api-resp"}';
SELECT tap.is((SELECT i.status || ' ' || i.assignee || ' v' || i.version
		FROM naboom_api.transition_incident(:'ref1', 'dispatched', expected_version => 2) i),
	'dispatched api-resp v3', 'a responder dispatches, assigning themself (expected_version 2 is current)');
SELECT tap.is((SELECT i.acknowledged_by_name FROM naboom_api.acknowledge_incident(:'ref1') i), 'API Responder',
	'the responder acknowledges');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.acknowledge_incident(%L)', :'ref1')),
	'PT409 naboom.already_acknowledged', 'a second acknowledgement is PT409 naboom.already_acknowledged');
SET LOCAL response.status = '';
SELECT n.seq AS note_seq, n.is_public AS note_public, pg_catalog.current_setting('response.status', true) AS note_http
FROM naboom_api.add_note(:'ref1', 'Tracks lead to the river') n \gset
SELECT tap.is(:'note_public'::text, 'f', 'add_note by a responder is internal by default');
SELECT tap.is(:'note_http'::text, '201', 'add_note sets response.status 201');

SET LOCAL request.jwt.claims = '{"sub":"api-res2"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.acknowledge_incident(%L)', :'ref_r')),
	'42501 naboom.acknowledge_forbidden', 'a resident cannot acknowledge (42501 naboom.acknowledge_forbidden)');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.add_note(%L, %L)', :'ref1', 'me too')),
	'42501 naboom.note_forbidden', 'a resident who is not the reporter cannot add notes (42501 naboom.note_forbidden)');

SET LOCAL request.jwt.claims = '{"sub":"api-mod"}';
SELECT tap.is((SELECT i.status || ' ' || i.assignee FROM naboom_api.assign_incident(:'ref1', 'api-resp2') i),
	'dispatched api-resp2', 'a moderator re-assigns the incident');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.assign_incident(%L, %L)', :'ref1', 'api-res2')),
	'22023 naboom.assignee_not_responder', 'only responders can be assigned (22023 naboom.assignee_not_responder)');

SET LOCAL request.jwt.claims = '{"sub":"api-resp"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref1', 'en_route')),
	'42501 naboom.transition_forbidden', 'the former assignee cannot move it en route');

SET LOCAL request.jwt.claims = '{"sub":"api-resp2"}';
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(:'ref1', 'en_route') i), 'en_route',
	'the assignee is en route');
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(:'ref1', 'on_scene') i), 'on_scene',
	'the assignee is on scene');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref1', 'resolved')),
	'22023 naboom.note_required', 'resolving without a note is 22023 naboom.note_required');
SELECT tap.is((SELECT i.status || ': ' || i.status_note
		FROM naboom_api.transition_incident(:'ref1', 'resolved', 'Cattle found at the dam') i),
	'resolved: Cattle found at the dam', 'the assignee resolves with a note');

SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(:'ref1', 'closed') i), 'closed',
	'the reporter closes the resolved incident');
SELECT tap.ok((SELECT i.dispatched_at IS NOT NULL AND i.en_route_at IS NOT NULL AND i.on_scene_at IS NOT NULL
			AND i.resolved_at IS NOT NULL AND i.closed_at IS NOT NULL AND i.acknowledged_at IS NOT NULL
		FROM naboom_api.get_incident(:'ref1') i),
	'every milestone is stamped');
SELECT tap.is((SELECT pg_catalog.string_agg(e->>'kind' || coalesce(':' || (e->>'to_status'), ''), ' ' ORDER BY (e->>'seq')::integer)
		FROM naboom_api.get_incident(:'ref1') i, pg_catalog.jsonb_array_elements(i.timeline) e),
	'reported:reported status_changed:verified status_changed:dispatched acknowledged assigned:dispatched status_changed:en_route status_changed:on_scene status_changed:resolved status_changed:closed',
	'the reporter''s timeline: every step in order, without the internal note');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L, %L)', :'ref1', 'verified', 'Not found after all')),
	'PT409 naboom.invalid_transition', 'a closed incident cannot be reopened (PT409 naboom.invalid_transition)');

-- ref_d: dispatched by a responder, for the direct-UPDATE checks below.
SET LOCAL request.jwt.claims = '{"sub":"api-resp"}';
SELECT tap.is((SELECT i.status FROM naboom_api.transition_incident(:'ref_d', 'dispatched') i), 'dispatched',
	'a second incident is dispatched');

------------------------------------------------------------------------------
-- Direct UPDATE by naboom_user: no privilege at all
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"api-mod"}';
SELECT tap.throws_ok(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'ref_d'),
	'42501', 'permission denied for table incident', 'naboom_user: a direct UPDATE of naboom.incident is refused (42501)');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'ref_d')),
	'42501 ', '... whatever the claims (even a moderator''s)');

------------------------------------------------------------------------------
-- The API's errors, for comparison with the direct UPDATE below
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref_r', 'verified')) AS api_verify_own,
	pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref_d', 'closed')) AS api_close_dispatched \gset
SELECT tap.is(:'api_verify_own'::text, '42501 naboom.transition_forbidden', 'API: the reporter verifying their own report is 42501 naboom.transition_forbidden');
SELECT tap.is(:'api_close_dispatched'::text, 'PT409 naboom.invalid_transition', 'API: closing a dispatched incident is PT409 naboom.invalid_transition');
SELECT tap.throws_ok(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref_d', 'closed'),
	'PT409', pg_catalog.format('incident %s cannot move from dispatched to closed', :'ref_d'),
	'API: PT409 with a message naming both statuses');

------------------------------------------------------------------------------
-- Direct UPDATE by a DBA-like role (UPDATE privilege, BYPASSRLS): the same
-- rules, the same errors
------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL ROLE tap_ops;
SET LOCAL search_path = '';

SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'ref_r')),
	:'api_verify_own', 'tap_ops as the reporter: cannot verify their own report, same error as the API');
SELECT tap.throws_ok(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'ref_r'),
	'42501', pg_catalog.format('you may not move incident %s from reported to verified', :'ref_r'),
	'tap_ops as the reporter: 42501 with the API''s message');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'ref_d')),
	:'api_close_dispatched', 'tap_ops as the reporter: cannot close a dispatched incident, same error as the API');
SELECT tap.throws_ok(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'closed', :'ref_d'),
	'PT409', pg_catalog.format('incident %s cannot move from dispatched to closed', :'ref_d'),
	'tap_ops as the reporter: PT409 with the API''s message');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET priority = %L WHERE reference = %L', 'critical', :'ref_r')),
	'42501 naboom.edit_forbidden', 'tap_ops as the reporter: cannot edit content (42501 naboom.edit_forbidden)');

SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'ref_r')),
	'28000 naboom.missing_identity', 'tap_ops without claims: 28000 naboom.missing_identity');
SELECT tap.throws_ok(pg_catalog.format('UPDATE naboom.incident SET status = %L WHERE reference = %L', 'verified', :'ref_r'),
	'28000', 'no identity', 'tap_ops without claims: 28000 "no identity"');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET title = %L WHERE reference = %L', 'x', :'ref_r')),
	'28000 naboom.missing_identity', 'tap_ops without claims cannot edit content either');

SET LOCAL request.jwt.claims = '{"sub":"api-mod"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET reference = %L WHERE reference = %L', 'NB-0000-0000', :'ref_r')),
	'42501 naboom.immutable_column', 'tap_ops as a moderator: cannot change reference');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET community_id = community_id + 1 WHERE reference = %L', :'ref_r')),
	'42501 naboom.immutable_column', 'tap_ops as a moderator: cannot change community_id');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET version = version + 10 WHERE reference = %L', :'ref_r')),
	'42501 naboom.managed_column', 'tap_ops as a moderator: cannot change version');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('UPDATE naboom.incident SET created_at = created_at - interval %L WHERE reference = %L', '1 day', :'ref_r')),
	'42501 naboom.immutable_column', 'tap_ops as a moderator: cannot change created_at');
SELECT tap.throws_ok(pg_catalog.format('UPDATE naboom.incident SET version = 1 WHERE reference = %L', :'ref_d'),
	'42501', pg_catalog.format('column version of incident %s cannot be changed', :'ref_d'),
	'tap_ops as a moderator: 42501 "column version ... cannot be changed"');

SELECT i.version AS ref_r_version FROM naboom.incident i WHERE i.reference = :'ref_r' \gset
UPDATE naboom.incident SET status = 'verified' WHERE reference = :'ref_r';
SELECT tap.is((SELECT i.status || ' v' || i.version || ' by ' || i.updated_by FROM naboom.incident i WHERE i.reference = :'ref_r'),
	'verified v' || (:ref_r_version + 1) || ' by api-mod',
	'tap_ops as a moderator: a legal transition is made, versioned and attributed');

RESET ROLE;
SET LOCAL search_path = '';
SELECT tap.is((SELECT t.entry_kind || ' ' || t.from_status || '->' || t.to_status || ' by ' || t.actor_ref
		FROM naboom.incident_timeline t JOIN naboom.incident i USING (community_id, incident_id)
		WHERE i.reference = :'ref_r' ORDER BY t.seq DESC LIMIT 1),
	'status_changed reported->verified by api-mod', 'the timeline records the direct UPDATE with the moderator as actor');

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is((SELECT e->>'actor_name' FROM naboom_api.get_incident(:'ref_r') i, pg_catalog.jsonb_array_elements(i.timeline) e
		WHERE e->>'to_status' = 'verified'),
	'API Moderator', 'get_incident shows the moderator as the actor of the direct UPDATE');

------------------------------------------------------------------------------
-- Claims edge cases (as naboom_user)
------------------------------------------------------------------------------
SET LOCAL jwt.claims.sub = '';

SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.missing_identity', 'claims empty (as after a transaction): 28000 naboom.missing_identity');
SELECT tap.throws_ok($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$,
	'28000', 'no identity', 'claims empty: 28000 "no identity", not a crash');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref_d', 'en_route')),
	'28000 naboom.missing_identity', 'claims empty: transition_incident is 28000 naboom.missing_identity too');
SELECT tap.is((SELECT i.reference FROM naboom_api.get_incident(:'ref1') i), :'ref1',
	'claims empty: get_incident still reads public incidents');

SET LOCAL request.jwt.claims = 'not json';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'claims not JSON: 28000 naboom.invalid_claims');
SELECT tap.throws_ok($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$,
	'28000', 'request.jwt.claims is not valid JSON', 'claims not JSON: 28000 "request.jwt.claims is not valid JSON"');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.get_incident(%L)', :'ref1')),
	'28000 naboom.invalid_claims', 'claims not JSON: get_incident refuses too');
SELECT tap.is(pg_temp.error_of('SELECT i.reference FROM naboom.incident i WHERE NOT i.is_public'),
	'28000 naboom.invalid_claims', 'claims not JSON: a direct SELECT that needs the identity (private rows) refuses too');

SET LOCAL request.jwt.claims = '{"sub": 4.2}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'sub a number that is no safe integer: 28000 naboom.invalid_claims');
SELECT tap.throws_ok($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$,
	'28000', 'JWT sub claim is not a string or a safe integer',
	'sub a number that is no safe integer: 28000 "JWT sub claim is not a string or a safe integer"');

SET LOCAL request.jwt.claims = '["api-res1"]';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'claims a JSON array: 28000 naboom.invalid_claims');
SET LOCAL request.jwt.claims = '{"sub": ""}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'sub empty: 28000 naboom.invalid_claims');
SET LOCAL request.jwt.claims = '{"sub": "api\tres1"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'sub with a control character (JSON escape \t): 28000 naboom.invalid_claims');
SELECT pg_catalog.set_config('request.jwt.claims', pg_catalog.json_build_object('sub', pg_catalog.repeat('x', 256))::text, true) IS NULL AS unused \gset
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'sub of 256 characters: 28000 naboom.invalid_claims');
-- JSON the lexer accepts but jsonb cannot hold: still the gateway's claims
-- being malformed, so naboom's own error (identity.c: "Validate first,
-- without throwing, so bad claims get our own error").
SET LOCAL request.jwt.claims = '{"sub": "api-res1\u0000"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'sub with an escaped NUL (\u0000): 28000 naboom.invalid_claims');
SET LOCAL request.jwt.claims = '{"sub": "api-res1", "name": "\ud800"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.invalid_claims', 'claims with a lone UTF-16 surrogate (\ud800): 28000 naboom.invalid_claims');
SET LOCAL request.jwt.claims = '{"role": "naboom_user"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.missing_identity', 'claims without sub: 28000 naboom.missing_identity');
SET LOCAL request.jwt.claims = '{"sub": "nobody-here"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'42501 naboom.not_a_member', 'a valid sub that is not a member: 42501 naboom.not_a_member');

-- PostGraphile style: jwt.claims.sub alone.
SET LOCAL request.jwt.claims = '';
SET LOCAL jwt.claims.sub = 'api-res2';
SELECT tap.is((SELECT i.is_mine::text || ' ' || i.reporter_name
		FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.55, 28.74, 'Gate left open', is_public => false,
			client_ref => 'pg-1') i),
	'true API Resident Two', 'jwt.claims.sub alone (PostGraphile) identifies the reporter');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.incident i WHERE i.description = 'Gate left open'),
	1, 'jwt.claims.sub alone: row-level security knows the caller too (their private report is visible)');

-- Both, agreeing: fine; both, conflicting: refused.
SET LOCAL request.jwt.claims = '{"sub":"api-res2"}';
SELECT tap.is((SELECT i.is_mine FROM naboom_api.get_incident(
		(SELECT x.reference FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.55, 28.74, 'Gate left open', client_ref => 'pg-1') x)) i),
	true, 'both claims naming the same user: accepted');
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$),
	'28000 naboom.conflicting_claims', 'both claims naming different users: 28000 naboom.conflicting_claims');
SELECT tap.throws_ok($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, 'x')$$,
	'28000', 'conflicting JWT subjects', 'conflicting claims: 28000 "conflicting JWT subjects"');
SELECT tap.is(pg_temp.error_of('SELECT i.reference FROM naboom.incident i WHERE NOT i.is_public'),
	'28000 naboom.conflicting_claims', 'conflicting claims: a direct SELECT that needs the identity refuses too');
SET LOCAL jwt.claims.sub = '';

------------------------------------------------------------------------------
-- Bad input is a clean error, never an internal one
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"api-res1"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', 'NaN', 28.71, 'x')$$),
	'22023 naboom.invalid_coordinates', 'lat NaN: 22023 naboom.invalid_coordinates');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 200, 'x')$$),
	'22023 naboom.invalid_coordinates', 'lon 200: 22023 naboom.invalid_coordinates');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -33.92, 18.42, 'x')$$),
	'22023 naboom.outside_community', 'a point outside the community: 22023 naboom.outside_community');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'no_such', -24.52, 28.71, 'x')$$),
	'22023 naboom.unknown_category', 'an unknown category: 22023 naboom.unknown_category');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('nowhere', 'stock_theft', -24.52, 28.71, 'x')$$),
	'PT404 naboom.unknown_community', 'an unknown community: PT404 naboom.unknown_community');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.report_incident('tap-api', 'stock_theft', -24.52, 28.71, '   ')$$),
	'22023 naboom.text_required', 'a blank description: 22023 naboom.text_required');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.get_incident('NB-nonsense')$$),
	'22023 naboom.invalid_reference', 'a malformed reference: 22023 naboom.invalid_reference');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.transition_incident(%L, %L)', :'ref_r', 'flying')),
	'22023 naboom.unknown_status', 'an unknown status: 22023 naboom.unknown_status');
SELECT tap.is((SELECT i.reference FROM naboom_api.get_incident(pg_catalog.lower(pg_catalog.replace(:'ref1', '-', ' '))) i),
	:'ref1', 'a leniently typed reference (lower case, spaces) finds the incident');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
