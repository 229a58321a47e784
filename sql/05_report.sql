-- Reporting: report_incident and raise_panic, idempotency, routing, bad input.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

SELECT t.as_user('u-res1');
SELECT current_setting('response.status', true) AS http, naboom.reference_valid(reference), community, category, category_en, category_af, kind, title,
	description, lat, lon, area, priority, status, status_en, status_af, status_type, reporter_name,
	is_mine, version, is_public
FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.58, 28.60,
	'  Three Nguni cows gone from the camp by the river.  ', client_ref => 'phone-1:0001');

-- The phone times out and resubmits: the same incident, 200 not 201.
SELECT reference AS first_ref FROM naboom.incident WHERE client_ref = 'phone-1:0001' \gset
SELECT reference = :'first_ref', version, current_setting('response.status', true) IS DISTINCT FROM '201' FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.58, 28.60,
	'Three Nguni cows gone from the camp by the river.', client_ref => 'phone-1:0001');
SELECT count(*) FROM naboom.incident WHERE client_ref = 'phone-1:0001';
-- The same client_ref for something else is a conflict, not a silent merge.
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.58, 28.60, 'x', client_ref => 'phone-1:0001')$$);
-- Another reporter may use the same client_ref.
SELECT t.as_user('u-res2');
SELECT reference <> :'first_ref' FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.58, 28.60,
	'Saw the cows on the road', client_ref => 'phone-1:0001');

-- Routing: the smallest containing area wins (nested areas); outside all
-- areas but inside the boundary, no area.
SELECT area FROM naboom_api.report_incident('mookgophong', 'burglary', -24.52, 28.71, 'Back door forced');
SELECT area FROM naboom_api.report_incident('mookgophong', 'burglary', -24.505, 28.695, 'Window broken');
SELECT area IS NULL FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.45, 28.80, 'Pipe burst on the R101');
-- Title defaults to the category name; a given title is kept; optional fields.
SELECT title, address, accuracy_m, is_public FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.519, 28.712,
	'Leak at the corner', title => 'Water running down Nelson Mandela Drive', address => '12 Nelson Mandela Drive',
	accuracy_m => 8.5, is_public => false);

-- Panic: critical, private, escalates.
SELECT t.as_user('u-res1');
SELECT current_setting('response.status', true) AS http, kind, category, category_af, priority, status, is_public, title, description, escalation_level
FROM naboom_api.raise_panic('mookgophong', -24.60, 28.62, 25, 'Intruders at the house', client_ref => 'sos-1');
SELECT next_escalation_at - created_at FROM naboom.incident WHERE client_ref = 'sos-1';
SELECT count(*) FROM naboom_api.raise_panic('mookgophong', -24.60, 28.62, client_ref => 'sos-1');
SELECT count(*) FROM naboom.incident WHERE client_ref = 'sos-1';

-- Bad input; nothing half-written.
SELECT t.counts() AS before \gset
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', 'NaN', 28.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 'Infinity', 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -124.5, 28.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 228.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', NULL, 28.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, '')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, NULL)$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, repeat('help ', 200000))$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x', title => repeat('t', 201))$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x', client_ref => repeat('c', 101))$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x', accuracy_m => -1)$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x', accuracy_m => 'NaN')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'alien_landing', -24.5, 28.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'panic', -24.5, 28.7, 'x')$$);
SELECT t.err($$SELECT naboom_api.report_incident('atlantis', 'burglary', -24.5, 28.7, 'x')$$);
-- Outside the community boundary (Modimolle is not Mookgophong).
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.70, 28.41, 'x')$$);
-- Not a member of Modimolle.
SELECT t.err($$SELECT naboom_api.report_incident('modimolle', 'panic', -24.70, 28.41, 'x')$$);
SELECT t.err($$SELECT naboom_api.raise_panic('modimolle', -24.70, 28.41)$$);
SELECT t.err($$SELECT naboom_api.raise_panic('mookgophong', 91, 28.41)$$);
SELECT t.err($$SELECT naboom_api.raise_panic('mookgophong', -24.6, 28.62, note => repeat('x', 5000))$$);
-- Forged or missing identity.
SELECT t.as_user('u-stranger');
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x')$$);
SELECT set_config('request.jwt.claims', '{"sub": 7.5}', false);
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'burglary', -24.5, 28.7, 'x')$$);
SELECT t.as_service();
SELECT t.counts() = :'before';

-- Outside reports are flagged where a community allows them.
UPDATE naboom.community SET allow_outside_reports = true WHERE slug = 'mookgophong';
SELECT t.as_user('u-res1');
SELECT outside_boundary, area IS NULL FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.70, 28.41, 'Tracks lead towards Modimolle');
SELECT t.as_service();
UPDATE naboom.community SET allow_outside_reports = false WHERE slug = 'mookgophong';

-- Every new incident has a 'reported' timeline entry by its reporter.
SELECT count(*) = count(t.*) FROM naboom.incident i
LEFT JOIN naboom.incident_timeline t ON t.community_id = i.community_id AND t.incident_id = i.incident_id
	AND t.seq = 1 AND t.entry_kind = 'reported' AND t.actor_ref = i.reporter_ref;
