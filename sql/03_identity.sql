-- Identity: who is calling, from the claims a gateway sets.
\pset format unaligned
\pset tuples_only on
\i test/include/helpers.psql

-- No claims at all: a superuser is the service.
SELECT t.as_service();
SELECT naboom.current_actor() IS NULL, naboom.is_service(), naboom.require_actor() IS NULL;

-- PostgREST style.
SELECT t.as_user('user-1');
SELECT naboom.current_actor(), naboom.is_service(), naboom.require_actor();

-- PostGraphile style.
SELECT t.as_service();
SELECT set_config('jwt.claims.sub', 'user-2', false);
SELECT naboom.current_actor();
-- Both, agreeing.
SELECT set_config('request.jwt.claims', '{"sub":"user-2","role":"naboom_user"}', false);
SELECT naboom.current_actor();
-- Both, disagreeing: refused.
SELECT set_config('request.jwt.claims', '{"sub":"user-3"}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT t.as_service();

-- An empty setting (what a custom GUC reads after SET LOCAL ends) is "no claims".
SELECT set_config('request.jwt.claims', '', false);
SELECT naboom.current_actor() IS NULL;
-- Claims without sub, or with a null sub: no identity.
SELECT set_config('request.jwt.claims', '{"role":"naboom_anon"}', false);
SELECT naboom.current_actor() IS NULL;
SELECT set_config('request.jwt.claims', '{"sub":null}', false);
SELECT naboom.current_actor() IS NULL;

-- Malformed or forged claims.
SELECT set_config('request.jwt.claims', 'not json', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '["sub","x"]', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '{"sub":true}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '{"sub":{"id":42}}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '{"sub":""}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', json_build_object('sub', repeat('x', 256))::text, false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', json_build_object('sub', E'evil\nuser')::text, false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT t.as_service();

-- A numeric sub: one rule through both gateways.  PostGraphile passes it
-- as text (as JavaScript prints it), PostgREST as a JSON number; an integer
-- JavaScript holds exactly is its decimal digits either way.
SELECT set_config('request.jwt.claims', '{"sub":42}', false);
SELECT naboom.current_actor(), naboom.require_actor();
SELECT t.as_service();
SELECT set_config('jwt.claims.sub', '42', false);
SELECT naboom.current_actor(), naboom.require_actor();
-- Both at once agree (no conflicting_claims).
SELECT set_config('request.jwt.claims', '{"sub":42,"role":"naboom_user"}', false);
SELECT naboom.current_actor();
SELECT t.as_service();
SELECT set_config('request.jwt.claims', '{"sub":42.0}', false);
SELECT naboom.current_actor();
SELECT set_config('request.jwt.claims', '{"sub":1e3}', false);
SELECT naboom.current_actor();
SELECT set_config('request.jwt.claims', '{"sub":-7}', false);
SELECT naboom.current_actor();
SELECT set_config('request.jwt.claims', '{"sub":-0}', false);
SELECT naboom.current_actor();
SELECT set_config('request.jwt.claims', '{"sub":9007199254740991}', false);
SELECT naboom.current_actor();
SELECT set_config('request.jwt.claims', '{"sub":-9007199254740991}', false);
SELECT naboom.current_actor();
-- Numbers that print differently through the two gateways are refused.
SELECT set_config('request.jwt.claims', '{"sub":9007199254740992}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '{"sub":4.2}', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT set_config('request.jwt.claims', '{"sub":1e21}', false);
SELECT t.err('SELECT naboom.current_actor()');
-- A number and a different text disagree.
SELECT set_config('request.jwt.claims', '{"sub":42}', false);
SELECT set_config('jwt.claims.sub', '042', false);
SELECT t.err('SELECT naboom.current_actor()');
SELECT t.as_service();

-- Anonymous means anonymous: under naboom_anon (as the gateway switches to
-- it) the claims name nobody, whichever setting carries them.
GRANT EXECUTE ON FUNCTION naboom.require_actor(), naboom.is_service() TO naboom_anon;
SELECT set_config('request.jwt.claims', '{"sub":"user-1","role":"naboom_anon"}', false);
SET ROLE naboom_anon;
SELECT naboom.current_actor() IS NULL AS no_actor, naboom.is_service();
SELECT t.err('SELECT naboom.require_actor()');
RESET ROLE;
SELECT naboom.current_actor();
SELECT t.as_service();
SELECT set_config('jwt.claims.sub', 'user-2', false);
BEGIN;
SET LOCAL ROLE naboom_anon;
SELECT naboom.current_actor() IS NULL AS no_actor, naboom.is_service();
SELECT t.err('SELECT naboom.require_actor()');
COMMIT;
SELECT naboom.current_actor();
-- Under naboom_anon even bad claims name nobody: they are not read.
SELECT set_config('request.jwt.claims', '{"sub":"user-3"}', false);
SET ROLE naboom_anon;
SELECT naboom.current_actor() IS NULL AS no_actor;
RESET ROLE;
SELECT t.as_service();
REVOKE EXECUTE ON FUNCTION naboom.require_actor(), naboom.is_service() FROM naboom_anon;

-- A role that is neither a person nor the service has no identity.
CREATE ROLE regress_nobody;
GRANT USAGE ON SCHEMA naboom TO regress_nobody;
GRANT EXECUTE ON FUNCTION naboom.require_actor() TO regress_nobody;
SET ROLE regress_nobody;
SELECT t.err('SELECT naboom.require_actor()');
RESET ROLE;
-- naboom_service members act as the service.
GRANT naboom_service TO regress_nobody;
SET ROLE regress_nobody;
SELECT naboom.require_actor() IS NULL AS service;
RESET ROLE;
REVOKE ALL ON SCHEMA naboom FROM regress_nobody;
REVOKE EXECUTE ON FUNCTION naboom.require_actor() FROM regress_nobody;
DROP ROLE regress_nobody;

-- Validators: coordinates and text.
SELECT naboom.check_point(-24.52, 28.71);
SELECT t.err('SELECT naboom.check_point(''NaN'', 28.71)');
SELECT t.err('SELECT naboom.check_point(-24.52, ''Infinity'')');
SELECT t.err('SELECT naboom.check_point(-90.5, 28.71)');
SELECT t.err('SELECT naboom.check_point(-24.52, 180.01)');
SELECT t.err('SELECT naboom.check_point(NULL, 28.71)');
SELECT naboom.check_point(90, 180), naboom.check_point(-90, -180);

SELECT naboom.clean_text('note', '  hello  ', true, 10);
SELECT naboom.clean_text('note', '   ', false, 10) IS NULL;
SELECT t.err('SELECT naboom.clean_text(''note'', '' '', true, 10)');
SELECT t.err('SELECT naboom.clean_text(''note'', ''12345678901'', true, 10)');
SELECT naboom.clean_text('note', 'ééééééééé', true, 10);
SELECT t.err('SELECT naboom.clean_text(''note'', E''bell\x07'', true, 10)');
SELECT t.err($$SELECT naboom.clean_text('description', repeat('x', 1000000), true, NULL)$$);
SET naboom.max_text_length = 100;
SELECT t.err($$SELECT naboom.clean_text('description', repeat('x', 101), true, NULL)$$);
RESET naboom.max_text_length;
SELECT length(naboom.clean_text('description', repeat('x', 4000), true, NULL));
