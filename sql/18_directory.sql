-- Issue 13, the directory: the pickers (communities, categories, areas,
-- statuses, my memberships), update_my_profile, leave_community, the member
-- list for moderators, and health().  Every error with its SQLSTATE and key.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- The audit rows about a member since a mark.
CREATE TABLE t.mark (id bigint);
INSERT INTO t.mark SELECT coalesce(max(id), 0) FROM naboom.audit_log;
CREATE FUNCTION t.member_audit(who text) RETURNS TABLE (action text, actor text, old_values jsonb, new_values jsonb)
LANGUAGE sql AS $$
	SELECT a.action, a.actor, a.old_values - 'last_active_at', a.new_values - 'last_active_at'
	FROM naboom.audit_log a
	WHERE a.id > (SELECT id FROM t.mark) AND a.table_name = 'naboom.member' AND a.row_key->>'user_ref' = who
	ORDER BY a.id
$$;

------------------------------------------------------------------------------
-- 1. Pickers.  Communities, categories, areas and statuses are public:
-- naboom_anon (no claims) reads them.
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT naboom_api.upsert_category('mookgophong', 'old_cat', 'Retired', 'Afgetree', is_active => false) IS NOT NULL;
SET ROLE naboom_anon;
SELECT * FROM naboom_api.communities();
SELECT community, code, name_en, name_af, default_priority, is_sensitive, ack_target, resolve_target
FROM naboom_api.categories('mookgophong');
-- Inactive categories are not offered.
SELECT count(*) FROM naboom_api.categories('mookgophong') WHERE code = 'old_cat';
SELECT community, code, name_en, name_af, kind, round(area_km2::numeric, 2), boundary IS NULL
FROM naboom_api.areas('mookgophong');
SELECT code, boundary->>'type', jsonb_array_length(boundary->'coordinates')
FROM naboom_api.areas('mookgophong', with_geojson => true) WHERE code = 'central-sector';
SELECT count(*) FROM naboom_api.areas('modimolle');
SELECT * FROM naboom_api.statuses();
SELECT t.err($$SELECT * FROM naboom_api.categories('nowhere')$$);
SELECT t.err($$SELECT * FROM naboom_api.areas('nowhere', true)$$);
-- my_memberships is for people, not the public.
SELECT t.err($$SELECT * FROM naboom_api.my_memberships()$$);
RESET ROLE;

-- My memberships: mine only, with my own phone.
SELECT t.as_user('u-res1');
SELECT role FROM naboom_api.join_community('modimolle', 'Piet in Modimolle');
SELECT community, community_name, time_zone, role, display_name, phone, language, on_duty, joined_at <= now()
FROM naboom_api.my_memberships();
SELECT t.as_user('u-nobody');
SELECT count(*) FROM naboom_api.my_memberships();
SELECT t.as_service();
SELECT count(*) FROM naboom_api.my_memberships();

------------------------------------------------------------------------------
-- 2. update_my_profile: the right of rectification.  NULL leaves a field,
-- a blank phone removes it; audited by the member table's trigger.
------------------------------------------------------------------------------
UPDATE t.mark SET id = (SELECT max(id) FROM naboom.audit_log);
SELECT t.as_user('u-res1');
SELECT community, user_ref, display_name, phone, language, role
FROM naboom_api.update_my_profile('mookgophong', display_name => '  Piet J. Coetzee ');
SELECT community, user_ref, display_name, phone, language, role
FROM naboom_api.update_my_profile('mookgophong', phone => '+27 82 555 0999', language => 'en');
SELECT community, user_ref, display_name, phone, language, role
FROM naboom_api.update_my_profile('mookgophong', phone => '');
-- Nothing to change: nothing written.
SELECT community, user_ref, display_name, phone, language, role FROM naboom_api.update_my_profile('mookgophong');
SELECT * FROM t.member_audit('u-res1');
-- The other community's profile is untouched.
SELECT display_name, language FROM naboom.member m JOIN naboom.community c USING (community_id)
WHERE c.slug = 'modimolle' AND m.user_ref = 'u-res1';
-- Errors
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', display_name => '   ')$$);
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', display_name => repeat('x', 121))$$);
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', display_name => E'Piet\x01')$$);
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', phone => 'call me')$$);
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', language => 'fr')$$);
SELECT t.err($$SELECT naboom_api.update_my_profile('nowhere', display_name => 'X')$$);
SELECT t.as_user('u-other');
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', display_name => 'Willem')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.update_my_profile('mookgophong', display_name => 'Service')$$);
-- Rate limited with join_community (profile), here one write per window.
BEGIN;
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"profile": [1, 1000000000]}}' WHERE slug = 'modimolle';
SELECT t.as_user('u-other');
SELECT display_name FROM naboom_api.update_my_profile('modimolle', display_name => 'Willem S.');
SELECT regexp_replace(t.err($$SELECT naboom_api.update_my_profile('modimolle', language => 'af')$$), '[0-9]+ seconds', 'N seconds', 'g');
ROLLBACK;

------------------------------------------------------------------------------
-- 3. members(): moderators, admins and the service; by name, then
-- user_ref; keyset pages; role and search filters; phones shown.
------------------------------------------------------------------------------
SELECT t.as_user('u-mod');
SELECT community, user_ref, display_name, phone, language, role, on_duty, length(cursor) > 10
FROM naboom_api.members('mookgophong');
SELECT string_agg(display_name, ', ' ORDER BY display_name) AS page1, (array_agg(cursor ORDER BY display_name))[3] AS page1_last
FROM naboom_api.members('mookgophong', max_count => 3) \gset
SELECT :'page1';
SELECT display_name FROM naboom_api.members('mookgophong', after => :'page1_last', max_count => 3);
SELECT user_ref, role FROM naboom_api.members('mookgophong', role => 'responder');
SELECT display_name FROM naboom_api.members('mookgophong', search => 'VAN');
SELECT display_name FROM naboom_api.members('mookgophong', search => 'o', role => 'resident');
SELECT count(*) FROM naboom_api.members('mookgophong', search => 'zz');
-- Same display name twice: user_ref breaks the tie, and a page boundary
-- between them loses and repeats nothing.
SELECT t.as_user('u-twin1'); SELECT role FROM naboom_api.join_community('mookgophong', 'Twin');
SELECT t.as_user('u-twin2'); SELECT role FROM naboom_api.join_community('mookgophong', 'Twin');
SELECT t.as_user('u-admin');
SELECT cursor AS twin1 FROM naboom_api.members('mookgophong', search => 'twin', max_count => 1) \gset
SELECT user_ref FROM naboom_api.members('mookgophong', search => 'twin', after => :'twin1');
SELECT t.as_service();
SELECT count(*) FROM naboom_api.members('mookgophong');
SELECT count(*) FROM naboom_api.members('modimolle');
-- The list's query is an index range scan in the list's order (no sort).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT m.user_ref FROM naboom.member m
WHERE m.community_id = 1 AND (m.display_name, m.user_ref) > ('M', 'x')
ORDER BY m.display_name, m.user_ref LIMIT 50;
RESET enable_seqscan;
-- Errors
SELECT t.as_user('u-resp1');
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong')$$);
SELECT t.as_user('u-res2');
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong')$$);
SELECT t.as_user('u-other');
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong')$$);
SELECT t.as_user('u-mod');
SELECT t.err($$SELECT * FROM naboom_api.members('nowhere')$$);
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong', role => 'boss')$$);
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong', max_count => 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong', max_count => 100000)$$);
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong', after => 'not-a-cursor')$$);
SELECT t.err(format($$SELECT * FROM naboom_api.members('mookgophong', after => %L)$$,
	naboom.page_cursor('queue', ARRAY['a', 'b'])));
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong', search => repeat('a', 61))$$);
SET ROLE naboom_anon;
SELECT t.err($$SELECT * FROM naboom_api.members('mookgophong')$$);
RESET ROLE;

------------------------------------------------------------------------------
-- 4. leave_community: the member's data in that community anonymised as
-- retention does it; refused for the last admin, a live assignment or
-- report, or a legal hold.
------------------------------------------------------------------------------
-- u-res2: a live report with a note, an alert area,
-- and a membership in modimolle too.
SELECT t.as_user('u-res2');
SELECT role FROM naboom_api.join_community('modimolle', 'Mpho in Modimolle');
SELECT reference AS res2_ref FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.5302, 28.7002,
	'Burst pipe at my gate, 12 Kerk Street', address => '12 Kerk Street') \gset
SELECT label FROM naboom_api.subscribe('mookgophong', -24.53, 28.70, 500, label => 'Home');
SELECT t.as_user('u-res1');
SELECT reference AS res1_ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5303, 28.7003,
	'Window broken at the back') \gset
SELECT t.as_user('u-res2');
SELECT kind FROM naboom_api.add_note(:'res2_ref', 'The water is now in the street', true);
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
SELECT status FROM naboom_api.transition_incident(:'res2_ref', 'cancelled');
UPDATE t.mark SET id = (SELECT max(id) FROM naboom.audit_log);
SELECT community, left_at = now(), erased FROM naboom_api.leave_community('mookgophong');
-- Gone from mookgophong, still in modimolle.
SELECT c.slug, m.display_name FROM naboom.member m JOIN naboom.community c USING (community_id)
WHERE m.user_ref = 'u-res2';
-- Their report stays, anonymised; their note lost its author and text.
SELECT reporter_ref IS NULL, title, description IS NULL, address IS NULL, anonymised_at IS NOT NULL, status
FROM naboom.incident WHERE reference = :'res2_ref';
SELECT actor_ref IS NULL, note IS NULL FROM naboom.incident_timeline tl
JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'res2_ref' AND tl.entry_kind = 'note';
SELECT count(*) FROM naboom.subscription WHERE user_ref = 'u-res2';
-- One ERASED audit entry for the community, naming no one; no per-row
-- entries that would keep their name and phone.
SELECT a.action, a.actor IS NULL, c.slug, a.detail->>'what', a.detail->'count'->'memberships'
FROM naboom.audit_log a JOIN naboom.community c USING (community_id)
WHERE a.id > (SELECT id FROM t.mark) AND a.action = 'ERASED';
SELECT count(*) FROM t.member_audit('u-res2');
-- They may come back, as a new member.
SELECT role FROM naboom_api.join_community('mookgophong', 'Mpho again');

-- A responder assigned to a live incident.
SELECT t.as_user('u-resp1');
SELECT status FROM naboom_api.transition_incident(:'res1_ref', 'dispatched');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
-- The reporter of that live incident.
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
-- A closed report under legal hold.
SELECT t.as_user('u-resp1');
SELECT status FROM naboom_api.transition_incident(:'res1_ref', 'resolved', 'Window boarded up');
SELECT t.as_user('u-res1');
SELECT status FROM naboom_api.transition_incident(:'res1_ref', 'closed');
SELECT t.as_user('u-admin');
SELECT legal_hold FROM naboom_api.place_legal_hold(:'res1_ref', 'SAPS case 7/2026');
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
SELECT t.as_user('u-resp1');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
-- The last admin.
SELECT t.as_user('u-admin');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
-- With a second admin, the first may go.
SELECT role FROM naboom_api.set_member_role('mookgophong', 'u-mod', 'admin');
SELECT legal_hold FROM naboom_api.lift_legal_hold(:'res1_ref', 'Case withdrawn');
SELECT community FROM naboom_api.leave_community('mookgophong');
SELECT t.as_user('u-mod');
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
-- A responder's position goes with them.
SELECT t.as_user('u-resp2');
SELECT on_duty FROM naboom_api.update_position(-24.52, 28.71);
SELECT community FROM naboom_api.leave_community('mookgophong');
SELECT count(*) FROM naboom.responder_position WHERE user_ref = 'u-resp2';
-- Errors
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);
SELECT t.err($$SELECT naboom_api.leave_community('nowhere')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.leave_community('mookgophong')$$);

------------------------------------------------------------------------------
-- 5. health(): anonymous, nothing private.  The background writer serves
-- this database (it may still be connecting when this file runs alone).
------------------------------------------------------------------------------
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT writer_connected FROM naboom.health_probe());
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT naboom.events_wait(10000);
SET ROLE naboom_anon;
-- Without pg_cron naboom's jobs do not run: not ok, and 503.
BEGIN;
SELECT ok, problems, warnings, extension_version = library_version,
	library_version = (SELECT default_version FROM pg_available_extensions WHERE name = 'naboom'),
	in_recovery, preloaded, writer_connected, audit_ring_fill BETWEEN 0 AND 0.9, events_unpublished,
	oldest_unpublished_s, cron_installed, cron_jobs_expected, cron_jobs_present, cron_jobs
FROM naboom_api.health();
SELECT current_setting('response.status', true);
COMMIT;
RESET ROLE;
-- With pg_cron and naboom's jobs: ok, and no 503.
CREATE EXTENSION pg_cron;
SELECT count(*) FROM naboom.schedule_jobs();
SET ROLE naboom_anon;
BEGIN;
SELECT ok, problems, cron_installed, cron_jobs_present,
	(SELECT array_agg(j->>'job' ORDER BY n) FROM jsonb_array_elements(cron_jobs) WITH ORDINALITY x(j, n)),
	(SELECT bool_and((j->>'present')::boolean AND (j->>'active')::boolean
		AND coalesce(j->>'last_status', 'succeeded') IN ('starting', 'running', 'sending', 'connecting', 'succeeded'))
		FROM jsonb_array_elements(cron_jobs) j)
FROM naboom_api.health();
SELECT coalesce(current_setting('response.status', true), '') = '';
COMMIT;
RESET ROLE;
-- A job whose last run failed, one that is missing, one that is paused.
INSERT INTO cron.job_run_details (jobid, runid, database, username, command, status, return_message, start_time, end_time)
SELECT j.jobid, 999999999, current_database(), current_user, j.command, 'failed', 'secret detail', now(), now()
FROM cron.job j WHERE j.jobname = 'naboom-seal-audit';
SELECT cron.unschedule('naboom-retention');
UPDATE cron.job SET active = false WHERE jobname = 'naboom-auto-close';
SET ROLE naboom_anon;
SELECT ok, problems, cron_jobs_present, strpos(cron_jobs::text, 'secret') = 0,
	(SELECT j FROM jsonb_array_elements(cron_jobs) j WHERE j->>'job' = 'naboom-seal-audit') - 'last_run_at'
FROM naboom_api.health();
RESET ROLE;
DELETE FROM cron.job_run_details WHERE runid = 999999999;
SELECT cron.unschedule(jobname) FROM cron.job WHERE jobname LIKE 'naboom-%' ORDER BY jobname;
DROP EXTENSION pg_cron;
-- A committed event left unpublished for five minutes (here: this
-- transaction's own, so the writer cannot publish it).
BEGIN;
INSERT INTO naboom.event (community_id, topic, created_at) VALUES (1, 'test.stalled', now() - interval '5 minutes');
SELECT problems, events_unpublished, oldest_unpublished_s BETWEEN 300 AND 400 FROM naboom_api.health();
ROLLBACK;
-- The verdict, from made-up rows: a primary without its writer and with
-- a full ring; a standby needs no writer; nor naboom preloaded, nor pg_cron.
SELECT naboom.health_problems(ROW(NULL, NULL, NULL, now(), '0.7.0', '0.7.0', false, true, false, 0.95, 0, 0,
	true, 6, 6, '[]')::naboom_api.health);
SELECT naboom.health_problems(ROW(NULL, NULL, NULL, now(), '0.7.0', '0.7.0', true, true, false, NULL, 0, 0,
	true, 6, 6, '[]')::naboom_api.health);
SELECT naboom.health_problems(ROW(NULL, NULL, NULL, now(), '0.7.0', '0.7.0', false, false, false, NULL, 0, 0,
	false, 6, 0, NULL)::naboom_api.health);
-- A library newer than the installed extension (binaries installed, ALTER
-- EXTENSION not yet run) is a warning, not a problem: it serves.
SELECT naboom.health_warnings(ROW(NULL, NULL, NULL, now(), '0.6.0', '0.7.0', false, true, true, 0, 0, 0,
	true, 6, 6, '[]')::naboom_api.health);
SELECT naboom.health_warnings(ROW(NULL, NULL, NULL, now(), '0.7.0', '0.7.0', false, true, true, 0, 0, 0,
	true, 6, 6, '[]')::naboom_api.health);
