-- Behind a gateway (issue 14): the audit's client address from trusted
-- proxies only, anonymous requests that carry a sub, and the activity of a
-- member who only reads through READ ONLY transactions (every GET through
-- PostgREST), as the retention of personal data sees it.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

------------------------------------------------------------------------------
-- The client address: the Nth x-forwarded-for entry from the right, with
-- N = naboom.trusted_proxies; 0 (the default) believes no header and takes
-- the connection's peer ("peer" below)
------------------------------------------------------------------------------
-- The client address an audited write records under these headers.
CREATE FUNCTION t.addr(headers text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a text;
BEGIN
	PERFORM set_config('request.headers', headers, true);
	PERFORM t.as_user('u-res1');
	UPDATE naboom.member SET language = CASE language WHEN 'en' THEN 'af' ELSE 'en' END
	WHERE user_ref = 'u-res1';
	PERFORM t.as_service();
	SELECT l.client_addr INTO a FROM naboom.audit_log l
	WHERE l.table_name = 'naboom.member' AND l.action = 'UPDATE' ORDER BY l.id DESC LIMIT 1;
	RETURN CASE WHEN a IS NOT DISTINCT FROM host(inet_client_addr()) THEN 'peer' ELSE a END;
END
$$;

SHOW naboom.trusted_proxies;
-- Whatever the client writes is not believed by default.
SELECT t.addr('{"x-forwarded-for": "6.6.6.6"}');
SELECT t.addr('{"x-forwarded-for": "6.6.6.6, 196.25.1.9"}');
SELECT t.addr('{}');

-- One proxy in front of the gateway: the address it saw is the entry it
-- appended, the last; a forged entry to its left changes nothing.
SET naboom.trusted_proxies = 1;
SELECT t.addr('{"x-forwarded-for": "196.25.1.9"}');
SELECT t.addr('{"x-forwarded-for": "6.6.6.6, 196.25.1.9"}');
SELECT t.addr('{"x-forwarded-for": "6.6.6.6,7.7.7.7 ,  196.25.1.9 "}');
SELECT t.addr('{"x-forwarded-for": "2001:db8::7, 2001:db8::1"}');
-- No header (a request that did not come through the proxy): the peer.
SELECT t.addr('{}');
SELECT t.addr('{"x-forwarded-for": " , "}');
SELECT t.addr('{"x-forwarded-for": 42}');

-- Two: an edge proxy and a load balancer.  The address the edge saw is the
-- second from the right; with fewer entries, the leftmost.
SET naboom.trusted_proxies = 2;
SELECT t.addr('{"x-forwarded-for": "6.6.6.6, 196.25.1.9, 10.0.0.2"}');
SELECT t.addr('{"x-forwarded-for": "196.25.1.9, 10.0.0.2"}');
SELECT t.addr('{"x-forwarded-for": "196.25.1.9"}');
RESET naboom.trusted_proxies;
SELECT t.addr('{"x-forwarded-for": "196.25.1.9, 10.0.0.2"}');

-- Refused: out of range, and set by anyone but a superuser (the gateway's
-- role could otherwise pick the entry its client forged).
SELECT t.err('SET naboom.trusted_proxies = -1');
SELECT t.err('SET naboom.trusted_proxies = 33');
SET ROLE naboom_user;
SELECT t.err('SET naboom.trusted_proxies = 1');
RESET ROLE;
SELECT set_config('request.headers', '', false);

------------------------------------------------------------------------------
-- Anonymous means anonymous: a request under naboom_anon is nobody, even
-- if its claims name a person
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT reference AS private_ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5201, 28.7101,
	'Garage broken into at night', is_public => false) \gset
SELECT reference AS public_ref FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.5211, 28.7111,
	'Burst pipe on the corner', is_public => true) \gset
-- The reporter sees the private report as herself.
SELECT status, is_public FROM naboom_api.get_incident(:'private_ref');
-- PostgREST: the token's role is naboom_anon, its claims keep the sub.
SELECT set_config('request.jwt.claims', '{"sub":"u-res1","role":"naboom_anon"}', false);
SET ROLE naboom_anon;
SELECT naboom.current_actor() IS NULL AS no_actor;
SELECT t.err($$SELECT naboom_api.get_incident('$$ || :'private_ref' || $$')$$);
SELECT status, is_public, reporter_name IS NULL AS reporter_hidden FROM naboom_api.get_incident(:'public_ref');
RESET ROLE;
-- PostGraphile: jwt.claims.sub, SET LOCAL ROLE in the request's transaction.
SELECT t.as_service();
BEGIN;
SELECT set_config('jwt.claims.sub', 'u-res1', true);
SET LOCAL ROLE naboom_anon;
SELECT naboom.current_actor() IS NULL AS no_actor;
SELECT t.err($$SELECT naboom_api.get_incident('$$ || :'private_ref' || $$')$$);
SELECT status, reporter_name IS NULL AS reporter_hidden FROM naboom_api.get_incident(:'public_ref');
COMMIT;
-- The moderator's sub under naboom_anon sees no more than the public.
SELECT set_config('request.jwt.claims', '{"sub":"u-mod","role":"naboom_anon"}', false);
SET ROLE naboom_anon;
SELECT t.err($$SELECT naboom_api.get_incident('$$ || :'private_ref' || $$')$$);
RESET ROLE;
SELECT t.as_service();
-- The audit names no person for these reads.
SELECT naboom.audit_queue_wait(30000);
SELECT count(*) > 0 AS anonymous_reads, count(*) FILTER (WHERE actor IN ('u-res1', 'u-mod')) AS naming_a_person
FROM naboom.audit_log WHERE db_role = 'naboom_anon' AND action IN ('READ', 'DENIED');

------------------------------------------------------------------------------
-- A member who only reads, through READ ONLY transactions, stays active
------------------------------------------------------------------------------
SELECT naboom.audit_queue_wait(30000);
-- What a dry retention run would do to personal data at as_of.
CREATE FUNCTION t.personal_due(as_of timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
	r jsonb;
BEGIN
	CALL naboom.run_retention(true, as_of, id, r);
	RETURN (SELECT string_agg(concat_ws(' | ', e->>'target', e->>'action', e->>'rows'), '; ')
		FROM jsonb_array_elements(r) e WHERE e->>'class' = 'personal_data');
END
$$;
-- u-res2 last did anything eight years ago: due.
UPDATE naboom.member SET last_active_at = now() - interval '8 years' WHERE user_ref = 'u-res2';
SELECT t.personal_due(now());
-- Then reads, as PostgREST runs a GET: READ ONLY.
SELECT t.as_user('u-res2');
BEGIN READ ONLY;
SELECT count(*) >= 0 AS read FROM naboom_api.duplicate_candidates('mookgophong', 'burglary', -24.5201, 28.7101);
COMMIT;
-- A second read the same day adds nothing.
BEGIN READ ONLY;
SELECT count(*) >= 0 AS read FROM naboom_api.retention_policies('mookgophong');
COMMIT;
SELECT t.as_service();
-- The background writer records it: today, once, in u-res2's name.
SELECT naboom.audit_queue_wait(30000);
SELECT last_active_at > now() - interval '1 minute' AS active_today FROM naboom.member WHERE user_ref = 'u-res2';
SELECT actor, count(*) FROM naboom.audit_log
WHERE table_name = 'naboom.member' AND action = 'UPDATE' AND row_key->>'user_ref' = 'u-res2'
	AND new_values ? 'last_active_at' AND actor = 'u-res2'
GROUP BY actor;
SELECT t.personal_due(now());
-- Seven years on, without another call, u-res2 is due again.
SELECT t.personal_due(now() + interval '7 years 1 day');
-- The touch itself is no audit entry.
SELECT count(*) FROM naboom.audit_log WHERE action = 'TOUCH';
