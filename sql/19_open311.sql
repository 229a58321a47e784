-- Issue 15, Open311 GeoReport v2: services, requests, one request and
-- posting a request, in JSON and XML, with the HTTP status and
-- Content-Type a gateway answers with; GeoReport error documents for every
-- mistake a client can make; private reports, panics and sensitive
-- categories never appear.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- t.o311(sql, accept): the answer as a gateway sends it: status,
-- Content-Type, the body (JSON pretty-printed), references and times
-- masked; accept: the request's Accept header.
CREATE FUNCTION t.o311(sql text, accept text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	body text;
	ctype text;
BEGIN
	PERFORM set_config('response.status', '', true);
	PERFORM set_config('response.headers', '', true);
	PERFORM set_config('request.headers', coalesce(json_build_object('accept', accept)::text, ''), true);
	EXECUTE sql INTO body;
	ctype := current_setting('response.headers', true)::jsonb->0->>'Content-Type';
	IF ctype LIKE 'application/json%' THEN
		body := jsonb_pretty(body::jsonb);
	END IF;
	RETURN coalesce(nullif(current_setting('response.status', true), ''), '200') || ' ' || ctype || E'\n'
		|| regexp_replace(t.mask(body), '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d', '####-##-##T##:##:##', 'g');
END
$$;
-- The answer's service_request_id (references are random).
CREATE FUNCTION t.posted(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE body text;
BEGIN
	EXECUTE sql INTO body;
	RETURN body::jsonb->0->>'service_request_id';
END
$$;
CREATE TABLE t.ids (name text PRIMARY KEY, ref text);
GRANT SELECT ON t.ids TO PUBLIC;

------------------------------------------------------------------------------
-- 1. Services: every active category but panic, the public's to read.
------------------------------------------------------------------------------
SET ROLE naboom_anon;
SELECT t.o311($$SELECT naboom_api.open311_services('mookgophong')$$);
SELECT t.o311($$SELECT naboom_api.open311_services('mookgophong', 'xml')$$);
SELECT t.o311($$SELECT naboom_api.open311_services('modimolle', format => 'XML')$$);
-- Without format, the Accept header decides (nginx sets it from the path).
SELECT t.o311($$SELECT naboom_api.open311_services('modimolle')$$, 'text/xml');
SELECT t.o311($$SELECT naboom_api.open311_services('modimolle')$$, 'application/xml, application/json');
SELECT t.o311($$SELECT naboom_api.open311_services('modimolle', 'json')$$, 'text/xml');
RESET ROLE;

------------------------------------------------------------------------------
-- 2. Posting requests: report_incident for the token's member.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'stock_theft', -24.52, 28.71,
	'Farm road 12', 'Three cows gone from the camp', email => 'piet@example.org', first_name => 'Piet',
	api_key => 'the-gateways-to-check', device_id => 'phone-1', client_key => 'k1')$$);
INSERT INTO t.ids SELECT 'stock', t.posted($$SELECT naboom_api.open311_post_request('mookgophong', 'stock_theft',
	-24.52, 28.71, 'Farm road 12', 'Three cows gone from the camp', device_id => 'phone-1', client_key => 'k1')$$);
-- The same device and client key again: the same request, 200.
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'stock_theft', -24.52, 28.71,
	'Farm road 12', 'Three cows gone from the camp', device_id => 'phone-1', client_key => 'k1')$$);
SELECT count(*) FROM naboom.incident WHERE client_ref = 'open311:phone-1:k1';
-- XML, a leak (closed later), and a sensitive category (never published).
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'water_leak', -24.515, 28.705,
	NULL, 'Pipe burst at the school', account_id => 'u-res1', format => 'xml')$$);
INSERT INTO t.ids SELECT 'leak', reference FROM naboom.incident WHERE category_code = 'water_leak';
INSERT INTO t.ids SELECT 'gbv', t.posted($$SELECT naboom_api.open311_post_request('mookgophong', 'gbv',
	-24.516, 28.712, '7 Kameeldoring Street', 'Screaming next door')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.516, 28.712, NULL,
	'Window broken', device_id => 'phone-1', client_key => 'k2')$$);
-- A private report and a panic, made the usual way.
INSERT INTO t.ids SELECT 'private', reference FROM naboom_api.report_incident('mookgophong', 'burglary', -24.51, 28.70,
	'Private matter', is_public => false);
INSERT INTO t.ids SELECT 'panic', reference FROM naboom_api.raise_panic('mookgophong', -24.51, 28.70);
-- The leak is fixed and closed: GeoReport status closed.
SELECT t.step('u-mod', (SELECT ref FROM t.ids WHERE name = 'leak'), 'resolved', 'Pipe replaced');

------------------------------------------------------------------------------
-- 3. Requests: public, non-sensitive reports only, newest first.
------------------------------------------------------------------------------
SET ROLE naboom_anon;
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong')$$);
-- Of the ids kept, only the stock theft and the leak: not the private report,
-- the panic or the sensitive one.
SELECT count(*) FROM t.ids i
WHERE strpos(naboom_api.open311_requests('mookgophong'), i.ref) > 0;
SELECT string_agg(name, ', ' ORDER BY name) FROM t.ids i
WHERE strpos(naboom_api.open311_requests('mookgophong'), i.ref) > 0;
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', status => 'closed', format => 'xml')$$);
SELECT jsonb_array_length(naboom_api.open311_requests('mookgophong', status => 'open, closed')::jsonb);
SELECT jsonb_array_length(naboom_api.open311_requests('mookgophong', service_code => 'burglary,Water_Leak')::jsonb);
SELECT jsonb_array_length(naboom_api.open311_requests('mookgophong', start_date => '2001-01-01T00:00:00+02:00',
	end_date => '2001-03-01T00:00:00+02:00')::jsonb);
SELECT jsonb_array_length(naboom_api.open311_requests('mookgophong',
	start_date => to_char(now() - interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SSOF'))::jsonb);
-- A list of ids overrides the other filters; the unpublished are left out.
SELECT jsonb_array_length(naboom_api.open311_requests('mookgophong', status => 'closed',
	service_request_id => (SELECT string_agg(ref, ',') FROM t.ids))::jsonb);
SELECT jsonb_array_length(naboom_api.open311_requests('modimolle',
	service_request_id => (SELECT ref FROM t.ids WHERE name = 'stock'))::jsonb);
-- Empty lists are empty documents.
SELECT t.o311($$SELECT naboom_api.open311_requests('modimolle')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('modimolle', format => 'xml')$$);

------------------------------------------------------------------------------
-- 4. One request; 404 for whatever is not published.
------------------------------------------------------------------------------
SELECT t.o311(format($$SELECT naboom_api.open311_request('mookgophong', %L)$$,
	(SELECT lower(substr(ref, 4)) FROM t.ids WHERE name = 'stock')));
SELECT t.o311(format($$SELECT naboom_api.open311_request('mookgophong', %L, 'xml')$$,
	(SELECT ref FROM t.ids WHERE name = 'stock')));
SELECT name, t.o311(format($$SELECT naboom_api.open311_request('mookgophong', %L)$$, ref))
FROM t.ids WHERE name IN ('gbv', 'private', 'panic') ORDER BY name;
SELECT t.o311(format($$SELECT naboom_api.open311_request('modimolle', %L)$$, (SELECT ref FROM t.ids WHERE name = 'stock')));
SELECT t.o311($$SELECT naboom_api.open311_request('mookgophong', 'not-a-reference', 'xml')$$);
SELECT t.o311($$SELECT naboom_api.open311_request('mookgophong')$$);

------------------------------------------------------------------------------
-- 5. GeoReport errors: a document and its status, never a raised error.
------------------------------------------------------------------------------
SELECT t.o311($$SELECT naboom_api.open311_services()$$);
SELECT t.o311($$SELECT naboom_api.open311_services('atlantis')$$);
SELECT t.o311($$SELECT naboom_api.open311_services('mookgophong', 'yaml')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', start_date => 'yesterday-ish')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', start_date => 'infinity')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', start_date => '2026-01-01T00:00:00Z',
	end_date => '2025-01-01T00:00:00Z', format => 'xml')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', start_date => '2025-01-01T00:00:00Z',
	end_date => '2025-06-01T00:00:00Z')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', status => 'pending')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', service_code => 'panic')$$);
SELECT t.o311($$SELECT naboom_api.open311_requests('mookgophong', service_request_id => 'NB-0000-0000,xyz')$$);
-- The public may not post (PostgreSQL refuses before naboom runs: through
-- PostgREST a 401 of its own).
SELECT t.err($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71, NULL, 'x')$$);
RESET ROLE;
SELECT t.as_service();
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71, NULL, 'x')$$);
SELECT t.as_user('u-nobody');
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71, NULL, 'x')$$);
SELECT t.as_user('u-res1');
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71, NULL, 'x',
	account_id => 'u-admin')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', 'NaN', 28.71, NULL, 'x')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', NULL, NULL, 'Main road', 'x')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -23.9, 29.45, NULL, 'x',
	format => 'xml')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71)$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'panic', -24.52, 28.71, NULL, 'help')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', NULL, -24.52, 28.71, NULL, 'x')$$);
SELECT t.o311($$SELECT naboom_api.open311_post_request('mookgophong', 'burglary', -24.52, 28.71, NULL, 'x',
	client_key => repeat('k', 51))$$);
-- Nothing of the refused posts was kept.
SELECT count(*) FROM naboom.incident WHERE description = 'x';

-- 6. Without a jurisdiction_id while one community exists: that one.
BEGIN;
DELETE FROM naboom.community WHERE slug = 'modimolle';
SET LOCAL ROLE naboom_anon;
SELECT jsonb_array_length(naboom_api.open311_services()::jsonb) = jsonb_array_length(naboom_api.open311_services('mookgophong')::jsonb);
ROLLBACK;
