-- pgTAP: identity behind the two gateways (issue 14), as the gateways drive
-- it -- roles naboom_user and naboom_anon, the claims in request.jwt.claims
-- (PostgREST) or jwt.claims.sub (PostGraphile), an EMPTY search_path.
-- A numeric sub is the same person through both; under naboom_anon a sub
-- names nobody.  The audit's client address and readers' activity need
-- the audit writer, which serves contrib_regression only:
-- sql/13_gateway.sql covers them.
--
-- The shared prelude (pgTAP under an empty search_path, error_of and
-- message_of) is test/include/as_user.psql.
BEGIN;

\ir ../include/as_user.psql
\ir ../include/fixtures.psql
SELECT tap.plan(12);

------------------------------------------------------------------------------
-- Fixtures: one community by the naboom service; member 4711 joins through
-- PostGraphile (the sub as text), reports a private incident through
-- PostgREST (the sub as a JSON number).
------------------------------------------------------------------------------
SET LOCAL request.headers = '';
SELECT pg_temp.tap_community('tap-gw', 'Tap Gateway (Mookgophong)', 'gw-admin', 'GW Admin') AS slug \gset
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_category('tap-gw', 'gw-admin', 'stock_theft', 'Stock theft', 'Veediefstal', 'high');
END
$fixtures$;

------------------------------------------------------------------------------
-- A numeric sub: its digits, through either gateway
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '';
SET LOCAL jwt.claims.sub = '4711';
SELECT tap.is((SELECT j.role FROM naboom_api.join_community('tap-gw', 'Numbered Member') j), 'resident',
	'PostGraphile: jwt.claims.sub = ''4711'' joins as member 4711');
SET LOCAL jwt.claims.sub = '';
SET LOCAL request.jwt.claims = '{"sub": 4711, "role": "naboom_user"}';
SELECT tap.is(naboom.current_actor(), '4711', 'PostgREST: {"sub": 4711} is member 4711');
SELECT i.reference AS ref FROM naboom_api.report_incident('tap-gw', 'stock_theft', -24.52, 28.71,
	'Two sheep gone (tap gateway)', is_public => false) i \gset
SELECT tap.is((SELECT i.status FROM naboom_api.get_incident(:'ref') i), 'reported',
	'PostgREST with the numeric sub reports and sees the private report as its reporter');
SET LOCAL request.jwt.claims = '{"sub": 4711.0}';
SELECT tap.is((SELECT i.status FROM naboom_api.get_incident(:'ref') i), 'reported',
	'{"sub": 4711.0} is the same member (as JavaScript prints it)');
SET LOCAL request.jwt.claims = '';
SET LOCAL jwt.claims.sub = '4711';
SELECT tap.is((SELECT i.status FROM naboom_api.get_incident(:'ref') i), 'reported',
	'PostGraphile with ''4711'' sees the same report');
SET LOCAL jwt.claims.sub = '';
SET LOCAL request.jwt.claims = '{"sub": 4711.5}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.get_incident('$$ || :'ref' || $$')$$),
	'28000 naboom.invalid_claims', 'a fractional sub is refused: 28000 naboom.invalid_claims');
SET LOCAL request.jwt.claims = '{"sub": 9007199254740993}';
SELECT tap.throws_ok($$SELECT naboom.current_actor()$$, '28000', 'JWT sub claim is not a string or a safe integer',
	'a sub beyond 2^53 - 1 is refused: 28000 "JWT sub claim is not a string or a safe integer"');

------------------------------------------------------------------------------
-- Anonymous means anonymous: naboom_anon with the reporter's sub
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_anon;
SET LOCAL request.jwt.claims = '{"sub": 4711, "role": "naboom_anon"}';
SELECT tap.ok(naboom.current_actor() IS NULL, 'PostgREST as naboom_anon with a sub: current_actor() is NULL');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.get_incident('$$ || :'ref' || $$')$$),
	'PT404 naboom.unknown_reference', 'PostgREST as naboom_anon: the sub''s private report is not visible');
SET LOCAL request.jwt.claims = '';
SET LOCAL jwt.claims.sub = '4711';
SELECT tap.ok(naboom.current_actor() IS NULL, 'PostGraphile as naboom_anon with jwt.claims.sub: current_actor() is NULL');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.get_incident('$$ || :'ref' || $$')$$),
	'PT404 naboom.unknown_reference', 'PostGraphile as naboom_anon: the sub''s private report is not visible');
SELECT tap.is(pg_temp.message_of($$SELECT * FROM naboom_api.join_community('tap-gw', 'Anon')$$),
	'42501 permission denied for function join_community', 'naboom_anon cannot join, whatever sub it carries');

SELECT * FROM tap.finish();
ROLLBACK;
