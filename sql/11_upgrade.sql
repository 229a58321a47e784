-- Upgrading an installation in use: 0.1.0 with data, then
-- ALTER EXTENSION naboom UPDATE.  It drops the extension and starts again
-- from 0.1.0; that is safe in any order, because every file that needs
-- naboom's data starts from a fresh install of its own (test/include/).
\pset format unaligned
\pset tuples_only on
\i test/include/fresh.psql
-- After each upgrade: API and SECURITY DEFINER functions without a pinned
-- search_path, and naboom functions PUBLIC may execute (both must be 0).
CREATE FUNCTION t.unpinned() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE (n.nspname = 'naboom_api' OR (n.nspname = 'naboom' AND p.prosecdef))
		AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
		AND NOT coalesce(p.proconfig::text[] @> ARRAY['search_path=pg_catalog, public, pg_temp'], false)
$$;
CREATE FUNCTION t.public_functions() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname IN ('naboom', 'naboom_api') AND has_function_privilege('public', p.oid, 'EXECUTE')
		AND p.proname NOT IN ('reference_valid', 'normalize_reference')
$$;
-- (locking the background writer's tables first makes the drop wait for
-- its transaction instead of deadlocking with it)
BEGIN;
LOCK TABLE naboom.audit_log, naboom.event, naboom.member, naboom.incident, naboom.community IN ACCESS EXCLUSIVE MODE;
DROP EXTENSION naboom CASCADE;
COMMIT;
CREATE EXTENSION naboom VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';

SELECT t.as_service();
SELECT slug FROM naboom_api.create_community('mookgophong', 'Mookgophong / Naboomspruit',
	'{"type":"Polygon","coordinates":[[[28.55,-24.65],[28.90,-24.65],[28.90,-24.38],[28.62,-24.38],[28.55,-24.45],[28.55,-24.65]]]}',
	admin_ref => 'up-admin', admin_name => 'Annelie Botha');
SELECT t.as_user('up-admin');
SELECT code FROM naboom_api.upsert_area('mookgophong', 'town', 'Town centre',
	'{"type":"Polygon","coordinates":[[[28.69,-24.535],[28.73,-24.535],[28.73,-24.50],[28.69,-24.50],[28.69,-24.535]]]}');
SELECT code FROM naboom_api.upsert_category('mookgophong', 'fire', 'Veld fire', 'Veldbrand', 'high');
SELECT t.as_user('up-res');
SELECT role FROM naboom_api.join_community('mookgophong', 'Up Resident');
SELECT reference AS old_ref FROM naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.71, 'Before the upgrade', accuracy_m => 2000) \gset

ALTER EXTENSION naboom UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';

-- Existing rows keep their routing and get the new flag.
SELECT area, poor_accuracy, duplicate_candidates IS NULL FROM naboom_api.get_incident(:'old_ref');
-- The new API works on the old data: the old report is a duplicate candidate.
SELECT t.as_user('up-res');
SELECT (duplicate_candidates->0->>'reference') = :'old_ref', area
FROM naboom_api.report_incident('mookgophong', 'fire', -24.5201, 28.71, 'After the upgrade');
SELECT count(*) FROM naboom_api.incidents_near(-24.52, 28.71, 500);
-- Every API and SECURITY DEFINER function has its search_path pinned,
-- including the ones 0.2.0 added or replaced.
SELECT t.unpinned();
SELECT count(*) > 20 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'naboom_api';
-- Nothing of the API is executable by PUBLIC.
SELECT t.public_functions();

-- 0.2.0 -> 0.3.0: the audit log starts with the upgrade; the data before
-- it has no entries, every change after it has.
ALTER EXTENSION naboom UPDATE TO '0.3.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';
SELECT count(*) FROM naboom.audit_log WHERE action <> 'DDL';
SELECT t.as_user('up-res');
SELECT status FROM naboom_api.get_incident(:'old_ref');
-- (The audit writer writes the read in a transaction of its own, and it may
-- not have connected yet: wait for it, so that the read is logged first.)
SELECT naboom.audit_queue_wait(30000);
SELECT t.as_user('up-admin');
SELECT status FROM naboom_api.transition_incident(:'old_ref', 'verified');
SELECT action, table_name, actor, old_values->>'status', new_values->>'status'
FROM naboom.audit_log WHERE action <> 'DDL' ORDER BY id;
SELECT t.as_service();
SELECT row_count > 0 FROM naboom.seal_audit();
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');
SELECT t.unpinned();
SELECT t.public_functions();

-- 0.3.0 -> 0.4.0: the event stream starts with the upgrade.
ALTER EXTENSION naboom UPDATE TO '0.4.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';
SELECT t.as_user('up-admin');
SELECT status FROM naboom_api.transition_incident(:'old_ref', 'rejected', 'Not a fire');
SELECT t.as_service();
SELECT naboom.events_wait(20000);
SELECT topic, payload FROM naboom_api.events_since(0);
SELECT t.unpinned();
SELECT t.public_functions();

-- 0.4.0 -> 0.5.0: retention.  Seals made before it keep format 1 and still
-- verify; new seals are format 2; a dry run works on the upgraded data.
ALTER EXTENSION naboom UPDATE TO '0.5.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';
SELECT row_format, count(*) FROM naboom.audit_seal GROUP BY 1 ORDER BY 1;
SELECT row_count > 0, row_format FROM naboom.seal_audit();
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');
CALL naboom.run_retention(true) \gset up_
SELECT jsonb_array_length(:'up_results'::jsonb) > 0;
SELECT data_class, keep FROM naboom.retention_policy ORDER BY 1;
SELECT t.unpinned();
SELECT t.public_functions();

-- 0.5.0 -> 0.6.0, with what 0.5.0 let in: a category whose duplicate
-- window overflows the duplicate search, a resolved incident past its
-- grace period, and a seal that rolled back (its id skipped).
SELECT t.as_user('up-admin');
SELECT code FROM naboom_api.upsert_category('mookgophong', 'theft', 'Theft', 'Diefstal', 'medium',
	ack_target => '1 microsecond', duplicate_window => '7000 years');
SELECT reference AS res_ref FROM naboom_api.report_incident('mookgophong', 'fire', -24.51, 28.70, 'Resolved before the upgrade') \gset
SELECT status FROM naboom_api.transition_incident(:'res_ref', 'resolved', 'Put out by the neighbours');
SELECT t.as_service();
BEGIN;
SELECT row_count > 0 FROM naboom.seal_audit();
ROLLBACK;
ALTER EXTENSION naboom UPDATE TO '0.6.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';
-- The stored intervals are clamped into the new bounds, and the category
-- reports again.
SELECT ack_target, duplicate_window FROM naboom.category WHERE code = 'theft';
SELECT t.as_user('up-res');
SELECT status FROM naboom_api.report_incident('mookgophong', 'theft', -24.52, 28.71, 'Cattle gone');
SELECT count(*) FROM naboom_api.duplicate_candidates('mookgophong', 'theft', -24.52, 28.71);
-- The seal after the rolled-back one follows the chain: verified.
SELECT t.as_service();
SELECT row_count > 0 FROM naboom.seal_audit();
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');
-- The auto-close job closes what waited past the grace period.
UPDATE naboom.community SET auto_close_after = '1 microsecond' WHERE slug = 'mookgophong';
SELECT naboom.run_auto_close();
SELECT status FROM naboom_api.get_incident(:'res_ref');
SELECT t.unpinned();
SELECT t.public_functions();

-- (alerts) Before 0.7.0: an alert area (a circle) and an alert sent
-- through it.
SELECT t.as_user('up-res');
SELECT radius_m FROM naboom_api.subscribe('mookgophong', -24.52, 28.71, 500, label => 'Home');
SELECT t.as_user('up-admin');
SELECT reference AS alert_ref FROM naboom_api.report_incident('mookgophong', 'fire', -24.5205, 28.7105, 'Smoke before the upgrade') \gset
SELECT count(*) FROM naboom.alert;

-- 0.6.0 -> 0.7.0 (the lists people work from)
SELECT t.as_service();
SELECT count(*) AS timeline_before FROM naboom.incident_timeline \gset
SELECT sum(version) AS versions_before FROM naboom.incident \gset
ALTER EXTENSION naboom UPDATE TO '0.7.0';
SELECT extversion FROM pg_extension WHERE extname = 'naboom';
-- (queue) Every incident is stamped with the queue's due time: the live
-- ones with what naboom.sla_due says, the closed one with none; no
-- incident got a new version or timeline entry; the queue lists the live
-- ones.
SELECT i.status, i.queue_due_at IS NOT NULL, i.queue_due_at IS NOT DISTINCT FROM CASE WHEN s.status_type = 'open'
	THEN naboom.sla_due(i.created_at, i.acknowledged_at, c.ack_target, c.resolve_target) END
FROM naboom.incident i
JOIN naboom.category c ON c.community_id = i.community_id AND c.code = i.category_code
JOIN naboom.status s ON s.status = i.status
ORDER BY i.incident_id;
SELECT sum(version) = :versions_before FROM naboom.incident;
SELECT count(*) = :timeline_before FROM naboom.incident_timeline;
SELECT t.as_user('up-admin');
SELECT count(*) FROM naboom_api.incident_queue('mookgophong');
SELECT t.as_service();
-- (alerts) The alert and the alert area are kept: the alert is unread (no
-- seen_at), the circle has no area; both work with the new functions.
SELECT t.as_user('up-res');
SELECT reference = :'alert_ref', reason, seen_at IS NULL, can_acknowledge, subscription_area IS NULL
FROM naboom_api.my_alerts();
SELECT unread, marked, last_id IS NOT NULL FROM naboom_api.unread_alert_count();
SELECT label, radius_m, area FROM naboom_api.my_subscriptions();
SELECT marked, unread FROM naboom_api.mark_alerts_seen(9223372036854775807);
SELECT seen_at IS NOT NULL FROM naboom_api.my_alerts();
SELECT area, lat IS NULL FROM naboom_api.subscribe_area('mookgophong', 'town', '{fire}');
SELECT t.as_user('up-admin');
SELECT reference AS alert_ref2 FROM naboom_api.report_incident('mookgophong', 'fire', -24.53, 28.725, 'Smoke after the upgrade') \gset
SELECT t.as_user('up-res');
SELECT reference = :'alert_ref2', subscription_area, seen_at IS NULL FROM naboom_api.my_alerts() ORDER BY id DESC LIMIT 1;
-- (evidence) An incident from before 0.7.0 has no attachments, and takes
-- them; get_incident lists them.
SELECT t.as_user('up-admin');
SELECT attachments FROM naboom_api.get_incident(:'alert_ref');
SELECT content_type, bytes FROM naboom_api.add_attachment(:'alert_ref', 'mookgophong/smoke.jpg', 'image/jpeg', 1234,
	repeat('0', 64), 'Smoke over the ridge');
SELECT a->>'object_key', a->>'caption' FROM naboom_api.get_incident(:'alert_ref') i, jsonb_array_elements(i.attachments) a;
SELECT t.unpinned();
SELECT t.public_functions();
