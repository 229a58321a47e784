-- Alert state and area alerts (0.7.0, issue 13 item 5): seen_at,
-- mark_alerts_seen and unread_alert_count; can_acknowledge; subscriptions to
-- one of the community's areas (subscribe_area), matched by every area that
-- covers the incident (nested ones included), once per member with their
-- circles; my_subscriptions, unsubscribe, export and erasure of area
-- subscriptions; every error with its SQLSTATE and key.
--
-- The town's areas (test/include/parts/town.sql): town (suburb) holds
-- central-sector (patrol sector); nylsvley (farm block) lies west of town.
-- A = (-24.52, 28.71) is in central-sector, so an incident there is routed
-- to central-sector (the smallest area), yet lies in town too.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- People of this file.
SELECT t.as_user('al-res');   SELECT role FROM naboom_api.join_community('mookgophong', 'Alert Resident');
SELECT t.as_user('al-res2');  SELECT role FROM naboom_api.join_community('mookgophong', 'Alert Resident Two');
SELECT t.as_user('al-farm');  SELECT role FROM naboom_api.join_community('mookgophong', 'Alert Farmer');
SELECT t.as_user('al-resp');  SELECT role FROM naboom_api.join_community('mookgophong', 'Alert Responder');
SELECT t.as_user('al-rep');   SELECT role FROM naboom_api.join_community('mookgophong', 'Alert Reporter');
SELECT t.as_user('al-other'); SELECT role FROM naboom_api.join_community('modimolle', 'Alert Modimolle');
SELECT t.as_user('u-mod');
SELECT role FROM naboom_api.set_member_role('mookgophong', 'al-resp', 'responder');

------------------------------------------------------------------------------
-- subscribe_area
------------------------------------------------------------------------------
-- al-res: the whole town (any category), and a circle at A as well.
SELECT t.as_user('al-res');
SELECT id AS sub_town FROM naboom_api.subscribe_area('mookgophong', 'TOWN', label => 'Our town') \gset
SELECT id AS sub_circle FROM naboom_api.subscribe('mookgophong', -24.52, 28.71, 300, label => 'Home') \gset
-- al-res2: the central sector, burglaries only, high and above.
SELECT t.as_user('al-res2');
SELECT id AS sub_sector FROM naboom_api.subscribe_area('mookgophong', 'central-sector', '{Burglary}', 'high') \gset
-- al-farm: the Nylsvley farm block (not around A).
SELECT t.as_user('al-farm');
SELECT id AS sub_farm FROM naboom_api.subscribe_area('mookgophong', 'nylsvley') \gset
-- al-resp: the town, as a responder.
SELECT t.as_user('al-resp');
SELECT id AS sub_resp FROM naboom_api.subscribe_area('mookgophong', 'town') \gset
-- What subscribe_area returns, and my_subscriptions: an area has no circle.
SELECT t.as_user('al-res');
SELECT community, label, lat, lon, radius_m, categories, min_priority, area, id = :sub_town
FROM naboom_api.my_subscriptions() ORDER BY id;
SELECT t.as_user('al-res2');
SELECT area, categories, min_priority FROM naboom_api.my_subscriptions();
-- Stored as an area: no centre, radius or reach.
SELECT s.area_id IS NOT NULL, s.centre IS NULL, s.radius_m IS NULL, s.reach IS NULL
FROM naboom.subscription s WHERE s.subscription_id = :sub_town;
-- A row that is both or neither is refused by the table itself.
SELECT split_part(t.err(format($$UPDATE naboom.subscription SET centre = ST_SetSRID(ST_MakePoint(28.71, -24.52), 4326)
	WHERE subscription_id = %s$$, :sub_town)), E'\n', 1);

-- Errors, each with its SQLSTATE and key; none writes a row.
SELECT count(*) AS subs_before FROM naboom.subscription \gset
SELECT t.as_user('al-res');
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'ward-99')$$);
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', NULL)$$);
-- An area of another community is unknown here (modimolle has none).
SELECT t.err($$SELECT naboom_api.subscribe_area('modimolle', 'town')$$);
SELECT t.as_user('al-other');
SELECT t.err($$SELECT naboom_api.subscribe_area('modimolle', 'town')$$);
SELECT t.as_user('al-res');
SELECT t.err($$SELECT naboom_api.subscribe_area('nowhere', 'town')$$);
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town', '{burglary,volcano}')$$);
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town', min_priority => 'urgent')$$);
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town', label => repeat('x', 81))$$);
SELECT t.as_user('al-other');
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town')$$);
SELECT count(*) = :subs_before FROM naboom.subscription;

------------------------------------------------------------------------------
-- Fan-out
------------------------------------------------------------------------------
-- A burglary at A (routed to central-sector): al-res once (the circle and
-- the town both match: the circle, with its distance), al-res2 (the
-- sector, a high burglary), al-resp (the town, nested sector included); not
-- al-farm (Nylsvley does not cover A), not the reporter.
SELECT t.as_user('al-rep');
SELECT reference AS burg, area FROM naboom_api.report_incident('mookgophong', 'burglary', -24.52, 28.71, 'Back door forced') \gset
SELECT :'area';
SELECT a.user_ref, a.reason, a.distance_m IS NULL AS no_distance,
	CASE a.subscription_id WHEN :sub_circle THEN 'circle' WHEN :sub_town THEN 'town'
		WHEN :sub_sector THEN 'sector' WHEN :sub_resp THEN 'resp-town' WHEN :sub_farm THEN 'farm' END AS via
FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'burg' AND a.user_ref LIKE 'al-%' ORDER BY a.user_ref;
-- A low water leak in town, outside the sector and the circle: al-res
-- through the town (no distance), al-resp too; not al-res2 (burglaries of
-- high priority only).
SELECT t.as_user('al-rep');
SELECT reference AS leak FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.503, 28.725, 'Burst main') \gset
SELECT a.user_ref, a.distance_m IS NULL AS no_distance,
	CASE a.subscription_id WHEN :sub_town THEN 'town' WHEN :sub_resp THEN 'resp-town' END AS via
FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'leak' AND a.user_ref LIKE 'al-%' ORDER BY a.user_ref;
-- In the farm block: only al-farm.
SELECT reference AS farm FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.60, 28.62, 'Cattle gone') \gset
SELECT a.user_ref, a.subscription_id = :sub_farm FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'farm' AND a.user_ref LIKE 'al-%' ORDER BY a.user_ref;
-- A private report in town reaches the responder subscribed to the town,
-- not the residents subscribed to it.
SELECT reference AS priv FROM naboom_api.report_incident('mookgophong', 'burglary', -24.51, 28.72, 'Private', is_public => false) \gset
SELECT a.user_ref FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'priv' AND a.user_ref LIKE 'al-%' ORDER BY a.user_ref;
-- Escalation rings alert responders only: no area subscriber again.
SELECT t.as_service();
SELECT naboom.alert_incident(i.community_id, i.incident_id, 10, 20000, 1) FROM naboom.incident i WHERE i.reference = :'leak';
SELECT count(*) FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'leak' AND a.escalation_level = 1;
-- Outside every area: no area alert.
SELECT t.as_user('al-rep');
SELECT reference AS outside FROM naboom_api.report_incident('mookgophong', 'burglary', -24.45, 28.80, 'Far out') \gset
SELECT count(*) FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'outside' AND a.user_ref LIKE 'al-%';
-- A redrawn area takes its subscribers along (they follow the area, not a
-- copy of its boundary): Nylsvley now also covers the leak's place.
SELECT t.as_user('u-admin');
SELECT code FROM naboom_api.upsert_area('mookgophong', 'nylsvley', 'Nylsvley farm block',
	'{"type":"Polygon","coordinates":[[[28.56,-24.64],[28.74,-24.64],[28.74,-24.49],[28.56,-24.49],[28.56,-24.64]]]}',
	'Nylsvley-plaasblok', 'farm_block');
SELECT t.as_user('al-rep');
SELECT reference AS leak2 FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.503, 28.726, 'Another burst') \gset
SELECT a.user_ref FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'leak2' AND a.user_ref LIKE 'al-%' ORDER BY a.user_ref;

------------------------------------------------------------------------------
-- my_alerts: seen_at, can_acknowledge, the alert area that matched
------------------------------------------------------------------------------
SELECT t.as_user('al-res');
SELECT CASE reference WHEN :'burg' THEN 'burg' WHEN :'leak' THEN 'leak' WHEN :'leak2' THEN 'leak2' END,
	reason, distance_m, seen_at, can_acknowledge,
	CASE subscription_id WHEN :sub_circle THEN 'circle' WHEN :sub_town THEN 'town' END, subscription_area
FROM naboom_api.my_alerts() ORDER BY id;
-- The responder may acknowledge the live, unacknowledged ones.
SELECT t.as_user('al-resp');
SELECT CASE reference WHEN :'burg' THEN 'burg' WHEN :'leak' THEN 'leak' WHEN :'priv' THEN 'priv' WHEN :'leak2' THEN 'leak2' END,
	can_acknowledge, subscription_area
FROM naboom_api.my_alerts() ORDER BY id;
-- ... and once they do (acknowledge_incident(reference)), no longer; nor
-- after a closed incident.
SELECT acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident(:'burg');
SELECT t.step('u-mod', :'leak', 'rejected', 'Not ours');
SELECT t.as_user('al-resp');
SELECT CASE reference WHEN :'burg' THEN 'burg' WHEN :'leak' THEN 'leak' WHEN :'priv' THEN 'priv' WHEN :'leak2' THEN 'leak2' END,
	can_acknowledge
FROM naboom_api.my_alerts() ORDER BY id;

------------------------------------------------------------------------------
-- unread_alert_count and mark_alerts_seen
------------------------------------------------------------------------------
SELECT t.as_user('al-res');
SELECT max(id) AS res_last, min(id) AS res_first FROM naboom_api.my_alerts() \gset
SELECT unread, marked, last_id = :res_last FROM naboom_api.unread_alert_count();
-- Up to the first: one marked.
SELECT marked, unread, last_id = :res_last FROM naboom_api.mark_alerts_seen(:res_first);
SELECT seen_at AS first_seen FROM naboom_api.my_alerts() WHERE id = :res_first \gset
SELECT id = :res_first, seen_at IS NOT NULL FROM naboom_api.my_alerts() ORDER BY id;
-- Again: nothing more; 0 marks nothing; the rest up to the newest.
SELECT marked, unread FROM naboom_api.mark_alerts_seen(:res_first);
SELECT marked, unread FROM naboom_api.mark_alerts_seen(0);
SELECT marked, unread FROM naboom_api.mark_alerts_seen(:res_last);
SELECT unread, marked FROM naboom_api.unread_alert_count();
-- A seen alert keeps the first time it was seen.
SELECT seen_at = :'first_seen' FROM naboom_api.my_alerts() WHERE id = :res_first;
-- Only one's own: al-resp's are still unread.
SELECT t.as_user('al-resp');
SELECT unread > 0, marked FROM naboom_api.unread_alert_count();
-- New alerts after marking are unread.
SELECT t.as_user('al-rep');
SELECT reference AS burg2 FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.52, 28.7102, 'Hydrant') \gset
SELECT t.as_user('al-res');
SELECT unread, last_id > :res_last FROM naboom_api.unread_alert_count();
-- The service has no alerts: nothing unread; it may not mark.
SELECT t.as_service();
SELECT unread, marked, last_id FROM naboom_api.unread_alert_count();
SELECT t.err($$SELECT naboom_api.mark_alerts_seen(1)$$);
-- Bad ids.
SELECT t.as_user('al-res');
SELECT t.err($$SELECT naboom_api.mark_alerts_seen(NULL)$$);
SELECT t.err($$SELECT naboom_api.mark_alerts_seen(-1)$$);
-- The public has no alerts: naboom_anon may not call these.
SET ROLE naboom_anon;
SELECT t.err($$SELECT naboom_api.unread_alert_count()$$);
SELECT t.err($$SELECT naboom_api.mark_alerts_seen(1)$$);
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town')$$);
RESET ROLE;
-- Marking is audited: who saw which alert, when.
SELECT t.as_user('al-res');
SELECT naboom.audit_queue_wait(30000);
SELECT l.table_name, l.action, l.actor, l.old_values->'seen_at', l.new_values->'seen_at' IS NOT NULL
FROM naboom.audit_log l WHERE l.action = 'UPDATE' AND l.table_name LIKE '%alert%' ORDER BY l.id;

------------------------------------------------------------------------------
-- unsubscribe, limits, rate limit, export, erasure
------------------------------------------------------------------------------
SELECT t.as_user('al-res2');
SELECT area FROM naboom_api.unsubscribe(:sub_sector);
SELECT count(*) FROM naboom_api.my_subscriptions();
SELECT t.err(format('SELECT naboom_api.unsubscribe(%s)', :sub_sector));
-- Someone else's area subscription cannot be removed.
SELECT t.err(format('SELECT naboom_api.unsubscribe(%s)', :sub_town));
-- Circles and areas share the limit of 20 per member per community.
SELECT t.as_user('al-res');
SELECT count(*) FROM (SELECT naboom_api.subscribe_area('mookgophong', 'nylsvley') FROM generate_series(1, 18) g) s;
SELECT t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town')$$);
SELECT t.err($$SELECT naboom_api.subscribe('mookgophong', -24.52, 28.71, 500)$$);
-- The subscription rate limit counts area subscriptions too.
SELECT t.as_service();
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"subscription": [1, 1000000000]}}'
WHERE slug = 'mookgophong';
SELECT t.as_user('al-res2');
SELECT area FROM naboom_api.subscribe_area('mookgophong', 'town');
SELECT regexp_replace(t.err($$SELECT naboom_api.subscribe_area('mookgophong', 'town')$$), '[0-9]+ seconds', 'N seconds', 'g');
SELECT t.as_service();
UPDATE naboom.community SET settings = settings - 'rate_limits' WHERE slug = 'mookgophong';
-- The export names the area and says which alerts were seen.
SELECT t.as_user('al-farm');
SELECT marked FROM naboom_api.mark_alerts_seen((naboom_api.unread_alert_count()).last_id);
SELECT x->>'area', x->>'lat', x->>'radius_m' FROM jsonb_array_elements((naboom_api.export_my_data()).data->'subscriptions') x;
SELECT count(*), count(x->>'seen_at') FROM jsonb_array_elements((naboom_api.export_my_data()).data->'alerts') x;
-- Erasure removes area subscriptions with the rest.
SELECT erased->'alert_areas', erased->'alerts' FROM naboom_api.erase_my_data();
SELECT count(*) FROM naboom.subscription WHERE user_ref = 'al-farm';
SELECT count(*) FROM naboom.alert WHERE user_ref = 'al-farm';
