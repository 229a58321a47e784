-- pgTAP: the 0.5.0 retention and privacy API as a gateway drives it -- role
-- naboom_user, identity in request.jwt.claims and an EMPTY search_path --
-- plus naboom_anon.  That the API roles cannot run retention or erasure
-- for someone else, nor read the policies, holds, deleted notes and runs
-- behind the API; retention_policies and set_retention (members read,
-- admins set within the DBA's bounds, audit_log fixed); legal holds
-- (admins of the incident's community only, with a reason, no double hold
-- or lift); delete_note (the author or a moderator; the text leaves the
-- timeline); export_my_data (everything of the caller in every community,
-- nobody else's); erase_my_data (nothing names the person afterwards,
-- their reports kept anonymised, another member untouched).  Rows the API
-- roles cannot read are checked as the superuser (RESET ROLE).
-- export_my_data returns naboom_api.my_data (user_ref, exported_at, data)
-- and erase_my_data naboom_api.erasure (erasure_id, erased_at, erased, kept).
--
-- Refused attempts (DENIED) reach the audit log only through the audit
-- writer, which serves database contrib_regression alone: nothing here
-- depends on them.
--
-- The shared prelude (pgTAP under an empty search_path, error_of and
-- message_of) is test/include/as_user.psql.
BEGIN;

\ir ../include/as_user.psql
\ir ../include/fixtures.psql
SELECT tap.plan(64);

-- Intervals as text below are in the default style, whatever the server's.
SET LOCAL IntervalStyle = 'postgres';

------------------------------------------------------------------------------
-- Fixtures: two communities by the naboom service (superuser, no claims);
-- everything else by people, as naboom_user.
--   tap-ret-a  admin ta-admin, moderator ta-mod, residents ta-eve (who
--              exports and erases herself) and ta-bob
--   tap-ret-b  admin tb-admin, resident ta-eve (a member of both)
------------------------------------------------------------------------------
SET LOCAL request.headers = '';
SELECT pg_temp.tap_community('tap-ret-a', 'Tap Retention A (Mookgophong)', 'ta-admin', 'TA Admin') AS slug_a \gset
SELECT pg_temp.tap_community('tap-ret-b', 'Tap Retention B (Modimolle)', 'tb-admin', 'TB Admin', 'modimolle') AS slug_b \gset
SELECT c.community_id AS a_id FROM naboom.community c WHERE c.slug = 'tap-ret-a' \gset

-- Every table of naboom (audit partitions included) with a row whose text
-- contains one of the needles, as "table: n rows"; used as the superuser.
CREATE FUNCTION pg_temp.find_person(needles text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	rel regclass;
	n bigint;
	found text[] := '{}';
BEGIN
	FOR rel IN
		SELECT c.oid::regclass FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind = 'r' ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM pg_catalog.unnest($1) k'
			' WHERE pg_catalog.strpos(x::text, k) > 0)', rel) INTO n USING needles;
		IF n > 0 THEN
			found := found || pg_catalog.format('%s: %s rows', rel, n);
		END IF;
	END LOOP;
	RETURN COALESCE(pg_catalog.array_to_string(found, ', '), '');
END
$$;

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-ret-a', 'ta-mod', 'TA Moderator', 'moderator', 'ta-admin');
	PERFORM pg_temp.tap_join('tap-ret-a', 'ta-eve', 'Eve Erasmus', phone => '+27 82 555 0311');
	PERFORM pg_temp.tap_join('tap-ret-a', 'ta-bob', 'Bob Bystander', phone => '+27 82 555 0322');
	PERFORM pg_temp.tap_join('tap-ret-b', 'ta-eve', 'Eve Erasmus', phone => '+27 82 555 0311');
	PERFORM pg_temp.tap_category('tap-ret-a', 'ta-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
	PERFORM pg_temp.tap_category('tap-ret-b', 'tb-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
END
$fixtures$;

-- Eve: an alert area and a report in A, a report in B, a note on her own
-- report in A.  Bob: a public and a private report in A (the first in
-- Eve's alert area), a note on his public one.
SET LOCAL request.jwt.claims = '{"sub":"ta-eve"}';
SELECT s.radius_m AS eve_radius FROM naboom_api.subscribe('tap-ret-a', -24.530, 28.720, 2000, label => 'Eve home') s \gset
SELECT i.reference AS ref_eve_a FROM naboom_api.report_incident('tap-ret-a', 'pothole', -24.531, 28.721,
	'Eve: hole outside number 7', address => '7 Erasmus Lane') i \gset
SELECT i.reference AS ref_eve_b FROM naboom_api.report_incident('tap-ret-b', 'pothole', -24.70, 28.41,
	'Eve: hole near the B school') i \gset
SELECT t.seq AS eve_note FROM naboom_api.add_note(:'ref_eve_a', 'Eve here, call me on +27 82 555 0311') t \gset
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT i.reference AS ref_bob FROM naboom_api.report_incident('tap-ret-a', 'pothole', -24.532, 28.722,
	'Bob: broken kerb on Main Road') i \gset
SELECT i.reference AS ref_bob_priv FROM naboom_api.report_incident('tap-ret-a', 'pothole', -24.540, 28.730,
	'Bob: private matter', is_public => false) i \gset
SELECT t.seq AS bob_note FROM naboom_api.add_note(:'ref_bob', 'Bob: still broken') t \gset

SELECT tap.is(pg_catalog.current_setting('search_path') || ' ' || CURRENT_USER, '"" naboom_user',
	'the API calls of this file run as naboom_user with an empty search_path');

------------------------------------------------------------------------------
-- naboom_user cannot run retention or erasure, nor read what is behind the
-- API; naboom_anon cannot export or erase
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT tap.throws_ok('CALL naboom.run_retention(true)', '42501', 'permission denied for procedure run_retention',
	'as naboom_user (an admin): CALL run_retention is refused');
SELECT tap.throws_ok($$SELECT naboom.erase_member('ta-bob', pg_catalog.now())$$, '42501',
	'permission denied for function erase_member', 'as naboom_user: erase_member (erasing someone else) is refused');
SELECT tap.throws_ok(pg_catalog.format('SELECT naboom.touch_member(%s, %L)', :a_id, 'ta-bob'), '42501',
	'permission denied for function touch_member', 'as naboom_user: touch_member (faking a member''s activity) is refused');
SELECT tap.throws_ok('SELECT * FROM naboom.retention_report()', '42501', 'permission denied for function retention_report',
	'as naboom_user: retention_report is refused');
SELECT tap.throws_ok(pg_catalog.format('SELECT naboom.set_legal_hold(%L, %L, true)', :'ref_bob', 'Sneaky hold'), '42501',
	'permission denied for function set_legal_hold', 'as naboom_user: set_legal_hold (behind the API''s checks) is refused');
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of('SELECT 1 FROM naboom.' || q.t), ' / ' ORDER BY q.n)
		FROM (VALUES (1, 'retention_policy'), (2, 'community_retention'), (3, 'legal_hold'), (4, 'deleted_note'),
			(5, 'retention_run'), (6, 'retention_result'), (7, 'audit_expiry'), (8, 'retention_effective'),
			(9, 'retention_state'), (10, 'audit_seal_expired')) q(n, t)),
	'42501 permission denied for table retention_policy / 42501 permission denied for table community_retention / '
	'42501 permission denied for table legal_hold / 42501 permission denied for table deleted_note / '
	'42501 permission denied for table retention_run / 42501 permission denied for table retention_result / '
	'42501 permission denied for table audit_expiry / 42501 permission denied for view retention_effective / '
	'42501 permission denied for table retention_state / 42501 permission denied for table audit_seal_expired',
	'as naboom_user: SELECT on the policies, community periods, holds, deleted notes, runs, results, expired months, '
	'effective periods, watermarks and expired seals is refused (42501)');
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, $$UPDATE naboom.retention_policy SET keep = '1 day'$$),
			(2, pg_catalog.format($$INSERT INTO naboom.community_retention (community_id, data_class, keep) VALUES (%s, 'emergency_record', '1 day')$$, :a_id)),
			(3, 'DELETE FROM naboom.legal_hold'),
			(4, 'DELETE FROM naboom.deleted_note')) q(n, sql)),
	'42501 permission denied for table retention_policy / 42501 permission denied for table community_retention / '
	'42501 permission denied for table legal_hold / 42501 permission denied for table deleted_note',
	'as naboom_user: changing the policies, a community''s periods, the holds or the deleted notes directly is refused (42501)');
RESET ROLE;

SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, 'SELECT naboom_api.export_my_data()'),
			(2, 'SELECT naboom_api.erase_my_data()')) q(n, sql)),
	'42501 permission denied for function export_my_data / 42501 permission denied for function erase_my_data',
	'as naboom_anon: export_my_data and erase_my_data are refused (42501)');
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, $$SELECT * FROM naboom_api.retention_policies('tap-ret-a')$$),
			(2, $$SELECT naboom_api.set_retention('tap-ret-a', 'deleted_note', '3 years')$$),
			(3, pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob', 'Case 1/2026')),
			(4, pg_catalog.format('SELECT naboom_api.lift_legal_hold(%L, %L)', :'ref_bob', 'Case 1/2026')),
			(5, pg_catalog.format('SELECT naboom_api.delete_note(%L, %s)', :'ref_bob', :bob_note))) q(n, sql)),
	'42501 permission denied for function retention_policies / 42501 permission denied for function set_retention / '
	'42501 permission denied for function place_legal_hold / 42501 permission denied for function lift_legal_hold / '
	'42501 permission denied for function delete_note',
	'as naboom_anon: retention_policies, set_retention, place_legal_hold, lift_legal_hold and delete_note are refused (42501)');
RESET ROLE;

------------------------------------------------------------------------------
-- retention_policies: members read their community's periods
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT tap.is((SELECT pg_catalog.string_agg(p.community || ' ' || p.data_class || ' ' || p.keep || ' ' || p.then_action
			|| ' ' || p.source || ' [' || p.min_keep || ', ' || p.max_keep || '] ' || p.community_may_override, '; ')
		FROM naboom_api.retention_policies('tap-ret-a') p),
	'tap-ret-a audit_log 1 year drop_partition default [6 mons, 7 years] false; '
	'tap-ret-a deleted_note 5 years delete default [1 year, 10 years] true; '
	'tap-ret-a emergency_record 10 years delete default [5 years, 20 years] true; '
	'tap-ret-a personal_data 7 years anonymise default [1 year, 7 years] true',
	'retention_policies, a resident: the four classes with their default periods, actions and bounds');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.retention_policies('tap-ret-a')$$),
	'42501 naboom.not_a_member', 'retention_policies, another community''s admin: 42501 naboom.not_a_member');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.retention_policies('tap-ret-nowhere')$$),
	'PT404 naboom.unknown_community', 'retention_policies of an unknown community: PT404 naboom.unknown_community');

------------------------------------------------------------------------------
-- set_retention: admins, within the DBA's bounds, not the audit log
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'deleted_note', '3 years')$$),
	'42501 naboom.insufficient_role', 'set_retention, a resident: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"ta-mod"}';
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'deleted_note', '3 years')$$),
	'42501 naboom.insufficient_role', 'set_retention, a moderator: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'deleted_note', '3 years')$$),
	'42501 naboom.not_a_member', 'set_retention, another community''s admin: 42501 naboom.not_a_member');
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'personal_data', '8 years')$$),
	'22023 naboom.retention_out_of_bounds', 'set_retention, the admin, personal_data above max_keep: 22023 naboom.retention_out_of_bounds');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'emergency_record', '1 year')$$),
	'22023 naboom.retention_out_of_bounds', 'set_retention, the admin, emergency_record below min_keep: 22023 naboom.retention_out_of_bounds');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'audit_log', '1 year')$$),
	'42501 naboom.retention_fixed', 'set_retention, the admin, audit_log (even its default period): 42501 naboom.retention_fixed');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.set_retention('tap-ret-a', 'tweets', '3 years')$$),
	'22023 naboom.unknown_data_class', 'set_retention, the admin, an unknown class: 22023 naboom.unknown_data_class');
SELECT tap.is((SELECT r.community || ' ' || r.data_class || ' ' || r.keep || ' ' || r.source
		FROM naboom_api.set_retention('tap-ret-a', 'deleted_note', '3 years') r),
	'tap-ret-a deleted_note 3 years community',
	'set_retention, the admin, within the bounds: deleted_note kept 3 years, source community');
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT tap.is((SELECT pg_catalog.string_agg(p.data_class || ' ' || p.keep || ' ' || p.source, ', ')
		FROM naboom_api.retention_policies('tap-ret-a') p),
	'audit_log 1 year default, deleted_note 3 years community, emergency_record 10 years default, personal_data 7 years default',
	'... a resident of A now reads the community''s own period for deleted_note, the defaults for the rest');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is((SELECT p.keep || ' ' || p.source FROM naboom_api.retention_policies('tap-ret-b') p
		WHERE p.data_class = 'deleted_note'),
	'5 years default', '... while community B keeps the default');
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT tap.is((SELECT r.keep || ' ' || r.source FROM naboom_api.set_retention('tap-ret-a', 'deleted_note', NULL) r),
	'5 years default', 'set_retention, the admin, NULL: back to the default period');
RESET ROLE;

------------------------------------------------------------------------------
-- Legal holds: admins of the incident's community, with a reason
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-mod"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob', 'SAPS case 12/2026')),
	'42501 naboom.insufficient_role', 'place_legal_hold, a moderator: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob', 'Not my case')),
	'42501 naboom.not_a_member', 'place_legal_hold, another community''s admin on a public incident: 42501 naboom.not_a_member');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob_priv', 'Not my case')),
	'PT404 naboom.unknown_reference', 'place_legal_hold, another community''s admin on a private incident: PT404 naboom.unknown_reference');
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob', 'x')),
	'22023 naboom.reason_required', 'place_legal_hold, the admin, a one-letter reason: 22023 naboom.reason_required');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.lift_legal_hold(%L, %L)', :'ref_bob', 'Case closed')),
	'PT409 naboom.not_held', 'lift_legal_hold, the admin, no hold open: PT409 naboom.not_held');
SELECT tap.is((SELECT h.reference || ' ' || h.legal_hold || ' ' || h.reason || ' ' || (h.placed_at IS NOT NULL)
			|| ' ' || COALESCE(h.lifted_at::text, '-')
		FROM naboom_api.place_legal_hold(:'ref_bob', 'SAPS case 12/2026') h),
	:'ref_bob' || ' true SAPS case 12/2026 true -', 'place_legal_hold, the admin: held, with the reason');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.place_legal_hold(%L, %L)', :'ref_bob', 'Again')),
	'PT409 naboom.already_held', 'place_legal_hold again: PT409 naboom.already_held');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.lift_legal_hold(%L, %L)', :'ref_bob', 'Not my case')),
	'42501 naboom.not_a_member', 'lift_legal_hold, another community''s admin on the held public incident: 42501 naboom.not_a_member');
RESET ROLE;
SELECT tap.is((SELECT i.legal_hold || ' ' || h.placed_by || ' ' || h.reason || ' ' || (h.lifted_at IS NULL)
		FROM naboom.incident i JOIN naboom.legal_hold h ON h.community_id = i.community_id AND h.incident_id = i.incident_id
		WHERE i.reference = :'ref_bob'),
	'true ta-admin SAPS case 12/2026 true',
	'the superuser sees: incident.legal_hold true, one open hold placed by the admin (the refusals changed nothing)');

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT tap.is((SELECT h.legal_hold || ' ' || h.reason || ' ' || h.lift_reason || ' ' || (h.lifted_at IS NOT NULL)
		FROM naboom_api.lift_legal_hold(:'ref_bob', 'Statement taken') h),
	'false SAPS case 12/2026 Statement taken true', 'lift_legal_hold, the admin: lifted, with the reason');
RESET ROLE;
SELECT tap.is((SELECT i.legal_hold || ' ' || pg_catalog.count(h.*) || ' ' || pg_catalog.bool_and(h.lifted_by = 'ta-admin')
		FROM naboom.incident i JOIN naboom.legal_hold h ON h.community_id = i.community_id AND h.incident_id = i.incident_id
		WHERE i.reference = :'ref_bob' GROUP BY i.legal_hold),
	'false 1 true', 'the superuser sees: incident.legal_hold false, the hold lifted by the admin');

------------------------------------------------------------------------------
-- delete_note: the author or a moderator
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.delete_note(%L, %s)', :'ref_eve_a', :eve_note)),
	'42501 naboom.note_forbidden', 'delete_note, another resident on someone else''s note: 42501 naboom.note_forbidden');
SET LOCAL request.jwt.claims = '{"sub":"tb-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.delete_note(%L, %s)', :'ref_eve_a', :eve_note)),
	'42501 naboom.not_a_member', 'delete_note, another community''s admin (not a member here): 42501 naboom.not_a_member');
SET LOCAL request.jwt.claims = '{"sub":"ta-eve"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.delete_note(%L, 1)', :'ref_eve_a')),
	'PT404 naboom.unknown_note', 'delete_note on an entry that is not a note (the report): PT404 naboom.unknown_note');
SELECT tap.is((SELECT t.seq || ' ' || t.kind || ' ' || COALESCE(t.note, '(null)')
		FROM naboom_api.delete_note(:'ref_eve_a', :eve_note) t),
	:eve_note || ' note_deleted (null)', 'delete_note, the author: her note, now note_deleted without text');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.delete_note(%L, %s)', :'ref_eve_a', :eve_note)),
	'PT404 naboom.unknown_note', 'delete_note again: PT404 naboom.unknown_note');
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT tap.is((SELECT pg_catalog.string_agg(x.seq || ' ' || x.kind || ' ' || COALESCE(x.note, '(null)'), ', ' ORDER BY x.seq)
		FROM naboom_api.get_incident(:'ref_eve_a') i, pg_catalog.jsonb_to_recordset(i.timeline) AS x(seq integer, kind text, note text)),
	'1 reported (null), ' || :eve_note || ' note_deleted (null)',
	'get_incident, another resident: the timeline shows note_deleted with a null note');
SET LOCAL request.jwt.claims = '{"sub":"ta-mod"}';
SELECT tap.is((SELECT t.kind FROM naboom_api.delete_note(:'ref_bob', :bob_note) t), 'note_deleted',
	'delete_note, a moderator on a resident''s note: deleted');
RESET ROLE;
SELECT tap.is((SELECT pg_catalog.string_agg(d.actor_ref || ' | ' || d.note || ' | ' || d.requested_by, ', ' ORDER BY d.actor_ref)
		FROM naboom.deleted_note d WHERE d.community_id = :a_id),
	'ta-bob | Bob: still broken | ta-mod, ta-eve | Eve here, call me on +27 82 555 0311 | ta-eve',
	'the superuser sees: both texts kept in deleted_note, with who wrote and who deleted them');

------------------------------------------------------------------------------
-- export_my_data: everything of the caller, in every community, nobody
-- else's
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-eve"}';
SELECT e.user_ref AS eve_user_ref, e.exported_at = pg_catalog.now() AS eve_exported_now, e.data AS eve_export
FROM naboom_api.export_my_data() e \gset
SET LOCAL request.jwt.claims = '{"sub":"ta-bob"}';
SELECT e.user_ref AS bob_user_ref, e.data AS bob_export FROM naboom_api.export_my_data() e \gset
SET LOCAL request.jwt.claims = '{"sub":"ta-admin"}';
SELECT e.data AS admin_export FROM naboom_api.export_my_data() e \gset
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of('SELECT naboom_api.export_my_data()'), '28000 naboom.missing_identity',
	'export_my_data as naboom_user without claims: 28000 naboom.missing_identity');
SELECT tap.is(pg_temp.error_of('SELECT naboom_api.erase_my_data()'), '28000 naboom.missing_identity',
	'erase_my_data as naboom_user without claims: 28000 naboom.missing_identity');
RESET ROLE;

SELECT tap.is((SELECT pg_catalog.array_agg(k ORDER BY k) FROM pg_catalog.jsonb_object_keys(:'eve_export'::jsonb) k),
	'{alerts,assigned,attachments,audit,deleted_notes,legal_holds_placed,memberships,positions,reports,subscriptions,timeline}'::text[],
	'export_my_data, a member: data is one object with her memberships, reports, timeline, alert areas, alerts, positions, '
	'audit, deleted notes, assignments, holds and attachments');
SELECT tap.is((SELECT :'eve_user_ref' || ' ' || (:'eve_exported_now')::boolean || ' | '
			|| (SELECT pg_catalog.string_agg((m->>'community') || ' ' || (m->>'display_name') || ' ' || (m->>'phone')
				|| ' ' || (m->>'role'), ', ') FROM pg_catalog.jsonb_array_elements(e->'memberships') m)
		FROM (SELECT :'eve_export'::jsonb AS e) x),
	'ta-eve true | tap-ret-a Eve Erasmus +27 82 555 0311 resident, tap-ret-b Eve Erasmus +27 82 555 0311 resident',
	'... with her user_ref, the time of the export, and her profile in both communities');
SELECT tap.is((SELECT pg_catalog.jsonb_array_length(:'eve_export'::jsonb->'reports')), 2,
	'... reports: two, one in each community');
SELECT tap.is((SELECT pg_catalog.string_agg((r->>'community') || ' ' || ((r->>'reference') IN (:'ref_eve_a', :'ref_eve_b'))::text
			|| ' ' || (r->>'description'), ', ' ORDER BY r->>'community')
		FROM pg_catalog.jsonb_array_elements(:'eve_export'::jsonb->'reports') r),
	'tap-ret-a true Eve: hole outside number 7, tap-ret-b true Eve: hole near the B school',
	'... her own two reports with what she wrote, none of Bob''s');
SELECT tap.is((SELECT pg_catalog.string_agg(DISTINCT (t->>'reference'), ',') FROM pg_catalog.jsonb_array_elements(:'eve_export'::jsonb->'timeline') t)
		IN (:'ref_eve_a' || ',' || :'ref_eve_b', :'ref_eve_b' || ',' || :'ref_eve_a'),
	true, '... timeline: entries on her two reports only');
SELECT tap.is((SELECT pg_catalog.jsonb_array_length(e->'subscriptions') || ' ' || (e->'subscriptions'->0->>'label')
			|| ' | ' || pg_catalog.jsonb_array_length(e->'deleted_notes') || ' ' || (e->'deleted_notes'->0->>'note')
			|| ' | ' || pg_catalog.jsonb_array_length(e->'alerts') || ' ' || ((e->'alerts'->0->>'reference') = :'ref_bob')
			|| ' | ' || pg_catalog.jsonb_array_length(e->'legal_holds_placed') || ' ' || pg_catalog.jsonb_array_length(e->'assigned')
			|| ' ' || pg_catalog.jsonb_array_length(e->'positions')
		FROM (SELECT :'eve_export'::jsonb AS e) x),
	'1 Eve home | 1 Eve here, call me on +27 82 555 0311 | 1 true | 0 0 0',
	'... her alert area, her deleted note''s text, the alert Bob''s report raised for her; no holds, assignments or positions');
SELECT tap.ok((SELECT pg_catalog.jsonb_array_length(e->'audit') > 0 AND pg_catalog.bool_and((a->>'by_you')::boolean
			OR a->'row_key'->>'user_ref' = 'ta-eve')
		FROM (SELECT :'eve_export'::jsonb AS e) x, pg_catalog.jsonb_array_elements(x.e->'audit') a GROUP BY x.e),
	'... audit: entries, each by her or about her');
SELECT tap.is((SELECT :'bob_user_ref' || ' | ' || (SELECT pg_catalog.string_agg(r->>'community' || ' ' || (r->>'is_public'), ', '
				ORDER BY r->>'is_public') FROM pg_catalog.jsonb_array_elements(e->'reports') r)
			|| ' | ' || ((SELECT pg_catalog.array_agg(r->>'reference' ORDER BY r->>'reference') FROM pg_catalog.jsonb_array_elements(e->'reports') r)
				= (SELECT pg_catalog.array_agg(x ORDER BY x) FROM pg_catalog.unnest(ARRAY[:'ref_bob', :'ref_bob_priv']) x))
			|| ' | ' || (pg_catalog.strpos(e::text, 'Eve') = 0)
		FROM (SELECT :'bob_export'::jsonb AS e) x),
	'ta-bob | tap-ret-a false, tap-ret-a true | true | true',
	'export_my_data, another member: his two reports (the private one too), nothing of Eve''s');
SELECT tap.is((SELECT pg_catalog.string_agg(h->>'reason' || ' ' || (h->>'lifted_at' IS NOT NULL), ', ')
		FROM pg_catalog.jsonb_array_elements(:'admin_export'::jsonb->'legal_holds_placed') h),
	'SAPS case 12/2026 true', 'export_my_data, the admin: the hold she placed and lifted');

------------------------------------------------------------------------------
-- erase_my_data: nothing names Eve afterwards; Bob is untouched
------------------------------------------------------------------------------
SELECT tap.is((SELECT pg_catalog.concat_ws(', ',
			'member ' || (SELECT pg_catalog.count(*) FROM naboom.member m WHERE m.user_ref = 'ta-eve'),
			'incident ' || (SELECT pg_catalog.count(*) FROM naboom.incident i WHERE i.reporter_ref = 'ta-eve'),
			'timeline ' || (SELECT pg_catalog.count(*) FROM naboom.incident_timeline t WHERE t.actor_ref = 'ta-eve'),
			'subscription ' || (SELECT pg_catalog.count(*) FROM naboom.subscription s WHERE s.user_ref = 'ta-eve'),
			'alert ' || (SELECT pg_catalog.count(*) FROM naboom.alert a WHERE a.user_ref = 'ta-eve'),
			'deleted_note ' || (SELECT pg_catalog.count(*) FROM naboom.deleted_note d WHERE d.actor_ref = 'ta-eve'),
			'audit ' || (SELECT (pg_catalog.count(*) > 0)::text FROM naboom.audit_log a WHERE a.actor = 'ta-eve'))),
	'member 2, incident 2, timeline 3, subscription 1, alert 1, deleted_note 1, audit true',
	'before the erasure, the superuser sees Eve in: two memberships, two reports, three timeline entries, an alert area, '
	'an alert, a deleted note, audit rows');

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-eve"}';
SELECT pg_catalog.to_jsonb(e) AS eve_erased FROM naboom_api.erase_my_data() e \gset
RESET ROLE;
SELECT tap.is((SELECT pg_catalog.concat_ws(' | ',
			(SELECT pg_catalog.array_agg(k ORDER BY k)::text FROM pg_catalog.jsonb_object_keys(e) k),
			'id ' || ((e->>'erasure_id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
			'at now ' || ((e->>'erased_at')::timestamptz = pg_catalog.now()),
			'memberships ' || (e->'erased'->>'memberships'), 'reports_anonymised ' || (e->'erased'->>'reports_anonymised'),
			'alert_areas ' || (e->'erased'->>'alert_areas'), 'alerts ' || (e->'erased'->>'alerts'),
			'deleted_notes ' || (e->'erased'->>'deleted_notes'),
			'kept ' || (SELECT pg_catalog.string_agg((k->>'what') || ' ' || (k->>'count'), '; ')
				FROM pg_catalog.jsonb_array_elements(e->'kept') k))
		FROM (SELECT :'eve_erased'::jsonb AS e) x),
	'{erased,erased_at,erasure_id,kept} | id true | at now true | memberships 2 | reports_anonymised 2 | alert_areas 1 | alerts 1 | deleted_notes 1 | '
	'kept your reports, anonymised 2; incidents under legal hold that name you 0; '
	'memberships those incidents need, without your name and phone 0; one audit entry of this erasure 1',
	'erase_my_data, Eve: an erasure id, the time, what was erased (both memberships, both reports, her alert area, alert and deleted note) and what was kept');
SELECT tap.is((SELECT pg_catalog.concat_ws(', ',
			'member ' || (SELECT pg_catalog.count(*) FROM naboom.member m WHERE m.user_ref = 'ta-eve'),
			'incident ' || (SELECT pg_catalog.count(*) FROM naboom.incident i WHERE i.reporter_ref = 'ta-eve'
				OR i.assignee_ref = 'ta-eve' OR i.updated_by = 'ta-eve' OR i.acknowledged_by = 'ta-eve'),
			'timeline ' || (SELECT pg_catalog.count(*) FROM naboom.incident_timeline t WHERE t.actor_ref = 'ta-eve'),
			'subscription ' || (SELECT pg_catalog.count(*) FROM naboom.subscription s WHERE s.user_ref = 'ta-eve'),
			'alert ' || (SELECT pg_catalog.count(*) FROM naboom.alert a WHERE a.user_ref = 'ta-eve'),
			'deleted_note ' || (SELECT pg_catalog.count(*) FROM naboom.deleted_note d WHERE d.actor_ref = 'ta-eve'),
			'audit ' || (SELECT pg_catalog.count(*) FROM naboom.audit_log a WHERE a.actor = 'ta-eve'))),
	'member 0, incident 0, timeline 0, subscription 0, alert 0, deleted_note 0, audit 0',
	'after the erasure, the superuser finds no membership, incident, timeline entry, alert area, alert, deleted note or '
	'audit row naming Eve');
SELECT tap.is(pg_temp.find_person(ARRAY['ta-eve', 'Eve Erasmus', '555 0311', 'Erasmus Lane', 'Eve here', 'Eve: hole']), '',
	'... nor any row of any naboom table (audit partitions included) with her user_ref, name, phone, address or words');
SELECT tap.is((SELECT pg_catalog.string_agg(i.reference || ' ' || COALESCE(i.reporter_ref, '(null)') || ' ' || i.title
			|| ' ' || COALESCE(i.description, '(null)') || ' ' || COALESCE(i.address, '(null)') || ' '
			|| (i.anonymised_at IS NOT NULL) || ' ' || i.status, ', ' ORDER BY i.reference)
		FROM naboom.incident i WHERE i.reference IN (:'ref_eve_a', :'ref_eve_b')),
	(SELECT pg_catalog.string_agg(r || ' (null) Pothole (null) (null) true reported', ', ' ORDER BY r)
		FROM pg_catalog.unnest(ARRAY[:'ref_eve_a', :'ref_eve_b']) r),
	'her two reports are still there as emergency records: reporter NULL, title the category''s, no description or '
	'address, anonymised_at set');
SELECT tap.is((SELECT m.display_name || ' ' || m.phone || ' ' || m.role
			|| ' | ' || (SELECT i.reporter_ref || ' ' || i.description || ' ' || (i.anonymised_at IS NULL)
				FROM naboom.incident i WHERE i.reference = :'ref_bob')
			|| ' | ' || (SELECT pg_catalog.count(*) FROM naboom.incident i WHERE i.reporter_ref = 'ta-bob')
			|| ' | ' || (SELECT pg_catalog.count(*) FROM naboom.incident_timeline t WHERE t.actor_ref = 'ta-bob')
		FROM naboom.member m WHERE m.community_id = :a_id AND m.user_ref = 'ta-bob'),
	'Bob Bystander +27 82 555 0322 resident | ta-bob Bob: broken kerb on Main Road true | 2 | 3',
	'Bob, a member of the same community, is untouched: his membership, his reports and his timeline entries');
SELECT tap.is((SELECT pg_catalog.string_agg(a.action || ' ' || COALESCE(a.actor, '(none)') || ' ' || (a.detail->>'what')
			|| ' ' || (a.detail->'count'->>'memberships'), ', ')
		FROM naboom.audit_log a WHERE a.action = 'ERASED' AND a.xid = pg_catalog.pg_current_xact_id()),
	'ERASED (none) erase_my_data 2', 'the audit keeps one ERASED entry of the erasure, naming nobody');

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ta-eve"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.retention_policies('tap-ret-a')$$),
	'42501 naboom.not_a_member', 'Eve afterwards: no longer a member of A (42501 naboom.not_a_member)');
SELECT tap.is((SELECT (e.erased->>'memberships') || ' ' || (e.erased->>'reports_anonymised')
		FROM naboom_api.erase_my_data() e),
	'0 0', 'erase_my_data again: nothing more to erase');
SELECT tap.is((SELECT pg_catalog.jsonb_array_length(e->'memberships') + pg_catalog.jsonb_array_length(e->'reports')
			+ pg_catalog.jsonb_array_length(e->'timeline') + pg_catalog.jsonb_array_length(e->'subscriptions')
			+ pg_catalog.jsonb_array_length(e->'deleted_notes') + pg_catalog.jsonb_array_length(e->'alerts')
		FROM (SELECT d.data AS e FROM naboom_api.export_my_data() d) x),
	0, 'export_my_data afterwards: no membership, report, timeline entry, alert area, deleted note or alert');
RESET ROLE;

SELECT * FROM tap.finish();
ROLLBACK;
