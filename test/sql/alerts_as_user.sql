-- pgTAP: alert read state and area alerts (0.7.0) as a gateway calls them --
-- a login-less, non-superuser role that is a member of naboom_user, identity
-- in request.jwt.claims, and an EMPTY search_path -- plus naboom_anon.
-- subscribe_area and my_subscriptions, the fan-out to the subscribers of
-- every area covering the point (a farm block holding a nested ward), once
-- per member with their circles, across communities never; my_alerts'
-- seen_at, can_acknowledge and subscription_area; unread_alert_count and
-- mark_alerts_seen; the errors with their keys; privileges (no direct
-- UPDATE of seen_at, naboom_anon calls none of them).
--
-- As in spatial_as_user.sql: the pgTAP entry points get their own
-- search_path (as_user.psql); every other name is qualified.
BEGIN;
SELECT tap.plan(29);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_alerts_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

------------------------------------------------------------------------------
-- Fixtures: community tap-al with a farm block and a ward nested inside it;
-- tap-al-b overlapping it.
------------------------------------------------------------------------------
SELECT pg_temp.tap_community('tap-al', 'Tap Alerts', 'al-admin', 'AL Admin') AS al \gset
SELECT pg_temp.tap_community('tap-al-b', 'Tap Alerts B (overlapping)', 'alb-admin', 'ALB Admin',
	'{"type":"Polygon","coordinates":[[[28.65,-24.55],[28.80,-24.55],[28.80,-24.45],[28.65,-24.45],[28.65,-24.55]]]}') AS alb \gset

SET LOCAL ROLE tap_alerts_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-al', 'al-block', 'AL Block Subscriber');
	PERFORM pg_temp.tap_join('tap-al', 'al-both', 'AL Circle And Ward');
	PERFORM pg_temp.tap_join('tap-al', 'al-rep', 'AL Reporter');
	PERFORM pg_temp.tap_join('tap-al', 'al-resp', 'AL Responder', 'responder', 'al-admin');
	PERFORM pg_temp.tap_join('tap-al-b', 'alb-res', 'ALB Resident');
	PERFORM pg_temp.tap_category('tap-al', 'al-admin', 'theft', 'Theft', 'Diefstal', 'medium');
	PERFORM pg_temp.tap_category('tap-al-b', 'alb-admin', 'theft', 'Theft', 'Diefstal', 'medium');
	-- (tap_category leaves the claims at al-admin: the areas are hers)
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"al-admin"}', true);
	PERFORM naboom_api.upsert_area('tap-al', 'block', 'Farm block',
		'{"type":"Polygon","coordinates":[[[28.62,-24.58],[28.80,-24.58],[28.80,-24.45],[28.62,-24.45],[28.62,-24.58]]]}',
		'Plaasblok', 'farm_block');
	PERFORM naboom_api.upsert_area('tap-al', 'ward', 'Ward 3',
		'{"type":"Polygon","coordinates":[[[28.70,-24.53],[28.72,-24.53],[28.72,-24.51],[28.70,-24.51],[28.70,-24.53]]]}',
		'Wyk 3', 'ward');
	PERFORM pg_catalog.set_config('request.jwt.claims', '{"sub":"alb-admin"}', true);
	PERFORM naboom_api.upsert_area('tap-al-b', 'block', 'B block',
		'{"type":"Polygon","coordinates":[[[28.65,-24.55],[28.80,-24.55],[28.80,-24.45],[28.65,-24.45],[28.65,-24.55]]]}',
		'B-blok', 'farm_block');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');

------------------------------------------------------------------------------
-- subscribe_area, my_subscriptions
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"al-block"}';
SELECT s.id AS sub_block, s.area || ' ' || (s.lat IS NULL AND s.lon IS NULL AND s.radius_m IS NULL) AS block_row
FROM naboom_api.subscribe_area('tap-al', 'Block', label => 'The farm') s \gset
SELECT tap.is(:'block_row'::text, 'block true', 'subscribe_area: the area code (lower-cased), no circle');
SELECT tap.is((SELECT pg_catalog.string_agg(s.community || ':' || s.area || ':' || s.label, ',') FROM naboom_api.my_subscriptions() s),
	'tap-al:block:The farm', 'my_subscriptions: the area subscription with its code');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.subscribe_area(''tap-al'', ''ward-99'')'),
	'22023 naboom.unknown_area', 'subscribe_area, an unknown area: 22023 naboom.unknown_area');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.subscribe_area(''tap-al-b'', ''block'')'),
	'42501 naboom.not_a_member', 'subscribe_area in a community one is not a member of: 42501 naboom.not_a_member');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.subscribe_area(''tap-al'', ''ward'', ''{volcano}'')'),
	'22023 naboom.unknown_category', 'subscribe_area, an unknown category: 22023 naboom.unknown_category');

SET LOCAL request.jwt.claims = '{"sub":"al-both"}';
SELECT s.id AS sub_circle FROM naboom_api.subscribe('tap-al', -24.52, 28.71, 500) s \gset
SELECT s.id AS sub_ward FROM naboom_api.subscribe_area('tap-al', 'ward') s \gset
SET LOCAL request.jwt.claims = '{"sub":"al-resp"}';
SELECT s.id AS sub_resp FROM naboom_api.subscribe_area('tap-al', 'ward', '{theft}', 'medium') s \gset
-- A member of B subscribed to B's block, which covers the same point.
SET LOCAL request.jwt.claims = '{"sub":"alb-res"}';
SELECT s.id AS sub_b FROM naboom_api.subscribe_area('tap-al-b', 'block') s \gset

------------------------------------------------------------------------------
-- Fan-out: a theft in the ward (routed to the ward, the smallest area)
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"al-rep"}';
SELECT i.reference AS theft, i.area AS theft_area
FROM naboom_api.report_incident('tap-al', 'theft', -24.52, 28.71, 'Bakkie stolen') i \gset
SELECT tap.is(:'theft_area'::text, 'ward', 'the theft is routed to the nested ward');

SET LOCAL request.jwt.claims = '{"sub":"al-block"}';
SELECT tap.is((SELECT pg_catalog.string_agg((a.reference = :'theft') || ' ' || a.reason || ' ' || a.subscription_area
			|| ' ' || (a.distance_m IS NULL) || ' ' || (a.seen_at IS NULL) || ' ' || a.can_acknowledge, ',')
		FROM naboom_api.my_alerts() a),
	'true subscription block true true false',
	'the farm block''s subscriber is alerted of a theft in the ward nested inside it: unread, no distance, may not acknowledge');
SET LOCAL request.jwt.claims = '{"sub":"al-both"}';
SELECT tap.is((SELECT pg_catalog.string_agg((a.subscription_id = :sub_circle) || ' ' || (a.subscription_area IS NULL), ',')
		FROM naboom_api.my_alerts() a),
	'true true', 'a member whose circle and area both match: one alert, through the circle');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.alert a), 1,
	'... direct SELECT on naboom.alert: one row of theirs');
SET LOCAL request.jwt.claims = '{"sub":"al-resp"}';
SELECT tap.is((SELECT pg_catalog.string_agg(a.subscription_area || ' ' || a.can_acknowledge, ',') FROM naboom_api.my_alerts() a),
	'ward true', 'a responder subscribed to the ward: alerted, and may acknowledge (acknowledge_incident(reference))');
SELECT tap.ok((SELECT i.acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident(:'theft') i),
	'... acknowledge_incident(reference) works');
SELECT tap.is((SELECT pg_catalog.string_agg(a.can_acknowledge::text, ',') FROM naboom_api.my_alerts() a),
	'false', '... and then can_acknowledge is false');
SET LOCAL request.jwt.claims = '{"sub":"al-rep"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0, 'the reporter: no alert');
SET LOCAL request.jwt.claims = '{"sub":"alb-res"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.my_alerts() a), 0,
	'a member of ANOTHER community whose area covers the point: no alert');
-- Non-vacuous: B's own theft alerts them.
SET LOCAL request.jwt.claims = '{"sub":"alb-admin"}';
SELECT i.reference AS theft_b FROM naboom_api.report_incident('tap-al-b', 'theft', -24.52, 28.71, 'Seen from B') i \gset
SET LOCAL request.jwt.claims = '{"sub":"alb-res"}';
SELECT tap.is((SELECT pg_catalog.string_agg(a.community || ' ' || (a.reference = :'theft_b') || ' ' || a.subscription_area, ',')
		FROM naboom_api.my_alerts() a),
	'tap-al-b true block', '... while a theft in their own community''s block alerts them');

------------------------------------------------------------------------------
-- unread_alert_count, mark_alerts_seen
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"al-block"}';
SELECT pg_catalog.max(a.id) AS block_last FROM naboom_api.my_alerts() a \gset
SELECT tap.is((SELECT u.unread || ' ' || (u.last_id = :block_last) || ' ' || (u.marked IS NULL) FROM naboom_api.unread_alert_count() u),
	'1 true true', 'unread_alert_count: one unread, the newest id, marked NULL');
SELECT tap.is((SELECT m.marked || ' ' || m.unread FROM naboom_api.mark_alerts_seen(:block_last) m),
	'1 0', 'mark_alerts_seen(last_id): one marked, none unread');
SELECT tap.ok((SELECT a.seen_at IS NOT NULL FROM naboom_api.my_alerts() a WHERE a.id = :block_last),
	'... my_alerts shows its seen_at');
SELECT tap.is((SELECT m.marked || ' ' || m.unread FROM naboom_api.mark_alerts_seen(:block_last) m),
	'0 0', 'mark_alerts_seen again: nothing more to mark');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.mark_alerts_seen(NULL)'),
	'22023 naboom.invalid_alert_id', 'mark_alerts_seen(NULL): 22023 naboom.invalid_alert_id');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.mark_alerts_seen(-5)'),
	'22023 naboom.invalid_alert_id', 'mark_alerts_seen(-5): 22023 naboom.invalid_alert_id');
-- Someone else's alerts stay unread.
SET LOCAL request.jwt.claims = '{"sub":"al-both"}';
SELECT tap.is((SELECT u.unread FROM naboom_api.unread_alert_count() u), 1, 'another member''s alert stays unread');
-- seen_at is written through mark_alerts_seen only.
SELECT tap.throws_ok('UPDATE naboom.alert SET seen_at = pg_catalog.now()', '42501', 'permission denied for table alert',
	'a direct UPDATE of naboom.alert is refused');

------------------------------------------------------------------------------
-- unsubscribe; naboom_anon
------------------------------------------------------------------------------
SELECT tap.is((SELECT s.area FROM naboom_api.unsubscribe(:sub_ward) s), 'ward', 'unsubscribe removes an area subscription');
SELECT tap.is((SELECT pg_catalog.string_agg(s.id::text, ',') FROM naboom_api.my_subscriptions() s), :'sub_circle',
	'... the circle stays');

RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL request.jwt.claims = '';
SELECT tap.throws_ok('SELECT * FROM naboom_api.unread_alert_count()', '42501', 'permission denied for function unread_alert_count',
	'naboom_anon may not call unread_alert_count');
SELECT tap.throws_ok('SELECT * FROM naboom_api.mark_alerts_seen(1)', '42501', 'permission denied for function mark_alerts_seen',
	'naboom_anon may not call mark_alerts_seen');
SELECT tap.throws_ok('SELECT * FROM naboom_api.subscribe_area(''tap-al'', ''block'')', '42501',
	'permission denied for function subscribe_area', 'naboom_anon may not call subscribe_area');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
