-- What issue 14 found under attack in the set-up API and the reading
-- paths: bounds on every interval a moderator sets, polygons and admin_ref
-- at set-up, distances to blurred incidents that reveal no more than the
-- blurred point, and the auto-close job.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- 1. Intervals a moderator sets have bounds and keys: a 7000-year duplicate
-- window once broke every report of its category (22008, no key).
SELECT t.as_user('u-admin');
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'fire2', 'Fire', 'Brand', duplicate_window => '7000 years')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'fire2', 'Fire', 'Brand', ack_target => '1 microsecond')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'fire2', 'Fire', 'Brand', resolve_target => '178000000 years')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'fire2', 'Fire', 'Brand', resolve_target => '-1 hour')$$);
SELECT t.err($$SELECT naboom_api.upsert_category('mookgophong', 'fire2', 'Fire', 'Brand', duplicate_window => NULL)$$);
-- The bounds themselves are allowed.
SELECT code, ack_target, resolve_target, duplicate_window FROM naboom_api.upsert_category('mookgophong', 'fire2',
	'Fire', 'Brand', ack_target => '1 minute', resolve_target => '1 year', duplicate_window => '30 days');
-- A direct write cannot store one either (the table holds the same bounds).
SELECT t.err($$UPDATE naboom.category SET duplicate_window = '7000 years' WHERE code = 'fire2'$$);
-- The widest window still reports and finds duplicates.
SELECT t.as_user('u-res1');
SELECT status FROM naboom_api.report_incident('mookgophong', 'fire2', -24.52, 28.71, 'Smoke');
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'fire2', -24.52, 28.71);

-- 2. create_community: empty polygons, a blank or control-character
-- admin_ref are refused with keys; heights in GeoJSON are dropped.
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.create_community('empty-poly', 'Empty', '{"type":"Polygon","coordinates":[]}')$$);
SELECT t.err($$SELECT naboom_api.create_community('empty-multi', 'Empty', '{"type":"MultiPolygon","coordinates":[]}')$$);
SELECT t.err($$SELECT naboom_api.create_community('blank-admin', 'Blank', admin_ref => '   ')$$);
SELECT t.err($$SELECT naboom_api.create_community('empty-admin', 'Empty', admin_ref => '')$$);
SELECT t.err($$SELECT naboom_api.create_community('tab-admin', 'Tab', admin_ref => E'ad\tmin')$$);
SELECT t.err($$SELECT naboom_api.create_community('ctl-admin', 'Control', admin_ref => E'admin\u0007')$$);
SELECT count(*) FROM naboom.community WHERE slug IN ('empty-poly', 'empty-multi', 'blank-admin', 'empty-admin', 'tab-admin', 'ctl-admin');
SELECT slug, boundary->>'type' FROM naboom_api.create_community('heights', 'Heights',
	'{"type":"Polygon","coordinates":[[[28.0,-24.0,1100],[28.1,-24.0,1120],[28.1,-24.1,1130],[28.0,-24.0,1100]]]}',
	admin_ref => 'h-admin');
SELECT ST_NDims(boundary), ST_NPoints(boundary) FROM naboom.community WHERE slug = 'heights';
SELECT t.as_user('h-admin');
SELECT code FROM naboom_api.upsert_area('heights', 'ridge', 'Ridge',
	'{"type":"Polygon","coordinates":[[[28.0,-24.0,1100],[28.05,-24.0,1120],[28.05,-24.05,1130],[28.0,-24.0,1100]]]}');
SELECT t.err($$SELECT naboom_api.upsert_area('heights', 'nothing', 'Nothing', '{"type":"Polygon","coordinates":[]}')$$);

-- 3. Distances to a blurred incident are measured to the point shown and
-- rounded to 100 m; the order of a list follows what is shown.  Two gbv
-- reports (a sensitive category) about 100 m apart in one blur cell must
-- look the same to a resident, however close the resident probes.
SELECT t.as_user('u-res2');
SELECT id IS NOT NULL FROM naboom_api.subscribe('mookgophong', -24.5200, 28.7100, 500);
SELECT reference AS g1 FROM t.report('u-res1', 'gbv', 'First') AS reference \gset
SELECT t.as_service();
UPDATE naboom.incident SET location = ST_SetSRID(ST_MakePoint(28.7101, -24.5201), 4326)
WHERE reference = :'g1';
SELECT t.as_user('u-res1');
SELECT reference AS g2 FROM naboom_api.report_incident('mookgophong', 'gbv', -24.5209, 28.7108, 'Second') \gset
-- (the service moved the first report's place after its alerts went out;
-- what matters below is what each alert and candidate shows)
SELECT t.as_user('u-res2');
SELECT count(DISTINCT (lat, lon, distance_m)), bool_and(location_blurred), min(distance_m) > 0
FROM naboom_api.my_alerts() WHERE reference IN (:'g1', :'g2');
-- Exactly 40 m from the second report's true place, and right on it: the
-- same answers as from anywhere else near, for both reports.
SELECT count(DISTINCT (lat, lon, distance_m)), bool_and(location_blurred)
FROM naboom_api.duplicate_candidates('mookgophong', 'gbv', -24.5209, 28.7108)
WHERE reference IN (:'g1', :'g2');
SELECT count(DISTINCT (lat, lon, distance_m)), bool_and(location_blurred)
FROM naboom_api.duplicate_candidates('mookgophong', 'gbv', -24.52126, 28.7108)
WHERE reference IN (:'g1', :'g2');
-- Ties are ordered by reference, not by the true distance.
SELECT array_agg(reference ORDER BY reference) = array_agg(reference)
FROM naboom_api.duplicate_candidates('mookgophong', 'gbv', -24.5209, 28.7108)
WHERE reference IN (:'g1', :'g2');
-- Staff see the true distances.
SELECT t.as_user('u-resp1');
SELECT count(DISTINCT distance_m), bool_or(location_blurred)
FROM naboom_api.duplicate_candidates('mookgophong', 'gbv', -24.5209, 28.7108)
WHERE reference IN (:'g1', :'g2');

-- 4. The auto-close job: resolved incidents close after the community's
-- grace period, as the service, with a timeline entry and an event.
SELECT t.report('u-res1', 'burglary', 'Back door forced') AS b1 \gset
SELECT t.step('u-mod', :'b1', 'resolved', 'Door fixed, nothing taken');
SELECT t.as_service();
SELECT naboom.run_auto_close();
SELECT status FROM naboom_api.get_incident(:'b1');
UPDATE naboom.community SET auto_close_after = '1 microsecond' WHERE slug = 'mookgophong';
-- Only the service closes: a moderator with claims is refused, keyed.
SELECT t.as_user('u-mod');
SELECT t.err('SELECT naboom.run_auto_close()');
SELECT t.as_service();
SELECT naboom.run_auto_close() >= 1;
SELECT status, status_note FROM naboom_api.get_incident(:'b1');
SELECT entry_kind, from_status, to_status, actor_ref IS NULL FROM naboom.incident_timeline tl
JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'b1' ORDER BY seq DESC LIMIT 1;
SELECT naboom.events_wait(20000);
SELECT topic, payload->>'to' FROM naboom.event e JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'b1' ORDER BY e.event_id DESC LIMIT 1;
-- A second run finds nothing left to close.
SELECT naboom.run_auto_close();

-- 5. A database restored into a cluster whose transaction ids are behind
-- the last seal: seal_audit says so, keyed, instead of sealing nothing
-- forever (a seal from "the future" stands in for the original cluster's).
SELECT row_count > 0 FROM naboom.seal_audit();
BEGIN;
INSERT INTO naboom.audit_seal (xid_from, xid_to, row_count, ids, row_hashes, prev_hash, seal_hash)
SELECT s.xid_to, (pg_current_xact_id()::text::numeric + 4294967296 * 100)::text::xid8, 0, '{}', '\x', s.seal_hash, '\x00'
FROM naboom.audit_seal s ORDER BY s.seal_id DESC LIMIT 1;
SELECT regexp_replace(t.err('SELECT naboom.seal_audit()'), 'transaction \d+|at \d+|\(\d+\)', '#', 'g');
ROLLBACK;
