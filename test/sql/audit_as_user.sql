-- pgTAP: the 0.3.0 audit log as a gateway drives it -- role naboom_user,
-- identity in request.jwt.claims, the request context in request.headers,
-- and an EMPTY search_path -- plus naboom_anon.  What a report and a
-- transition write (actor, db_role, client address, user agent, request id,
-- only the changed columns), that the API roles cannot touch the log or the
-- audit functions, the audit trail of the API (incident_audit for
-- moderators, community_audit for admins, nobody else, no other
-- community's), the READ entry of get_incident in the reading transaction,
-- append-only even for a superuser, and verify_audit after seal_audit.  The
-- audit rows are read as the superuser (RESET ROLE).
--
-- Refused attempts (DENIED) reach the log only through the audit writer,
-- which serves database contrib_regression alone (naboom.writer_database):
-- none are expected here; sql/09_audit.sql covers them.
--
-- The shared prelude (pgTAP under an empty search_path, error_of and
-- message_of) is test/include/as_user.psql.
BEGIN;

\ir ../include/as_user.psql
\ir ../include/fixtures.psql
SELECT tap.plan(49);

------------------------------------------------------------------------------
-- Fixtures: two communities by the naboom service (superuser, no claims);
-- everything else by people, as naboom_user.
--   tap-audit-a  admin aa-admin, moderator aa-mod, responder aa-resp,
--                residents aa-res (the reporter) and aa-res2
--   tap-audit-b  admin ab-admin, resident ab-res
------------------------------------------------------------------------------
SET LOCAL request.headers = '';
SELECT pg_temp.tap_community('tap-audit-a', 'Tap Audit A (Mookgophong)', 'aa-admin', 'AA Admin') AS slug_a \gset
SELECT pg_temp.tap_community('tap-audit-b', 'Tap Audit B (Modimolle)', 'ab-admin', 'AB Admin', 'modimolle') AS slug_b \gset
SELECT c.community_id AS a_id FROM naboom.community c WHERE c.slug = 'tap-audit-a' \gset
SELECT c.community_id AS b_id FROM naboom.community c WHERE c.slug = 'tap-audit-b' \gset

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-audit-a', 'aa-mod', 'AA Moderator', 'moderator', 'aa-admin');
	PERFORM pg_temp.tap_join('tap-audit-a', 'aa-resp', 'AA Responder', 'responder', 'aa-admin');
	PERFORM pg_temp.tap_join('tap-audit-a', 'aa-res', 'AA Resident');
	PERFORM pg_temp.tap_join('tap-audit-a', 'aa-res2', 'AA Resident Two');
	PERFORM pg_temp.tap_join('tap-audit-b', 'ab-res', 'AB Resident');
	PERFORM pg_temp.tap_category('tap-audit-a', 'aa-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
	PERFORM pg_temp.tap_category('tap-audit-a', 'aa-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
	PERFORM pg_temp.tap_category('tap-audit-b', 'ab-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path') || ' ' || CURRENT_USER, '"" naboom_user',
	'the API calls of this file run as naboom_user with an empty search_path');

------------------------------------------------------------------------------
-- A report through the gateway: the actor is the JWT sub, db_role the
-- gateway's role, the context from request.headers (behind two trusted
-- proxies: the x-forwarded-for address the outer one saw, second from the
-- right, or the only one)
------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL naboom.trusted_proxies = 2;
SELECT pg_catalog.max(a.id) AS mark_report FROM naboom.audit_log a \gset
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';

SET LOCAL request.jwt.claims = '{"sub":"aa-res"}';
SELECT pg_catalog.set_config('request.headers',
	'{"x-forwarded-for":"196.25.1.9, 10.0.0.2","user-agent":"NaboomApp/2.1 (Android 14)","x-request-id":"tap-req-0001"}',
	true) IS NOT NULL AS headers_set \gset
SELECT i.reference AS ref FROM naboom_api.report_incident('tap-audit-a', 'burglary', -24.521, 28.711,
	'Back door forced (tap audit)', accuracy_m => 8, is_public => false) i \gset
-- A public one, for the resident's refusal below.
SELECT i.reference AS ref_pub FROM naboom_api.report_incident('tap-audit-a', 'pothole', -24.53, 28.72,
	'Hole in the road (tap audit)') i \gset

RESET ROLE;
SELECT i.incident_id AS inc_id FROM naboom.incident i WHERE i.reference = :'ref' \gset

SELECT tap.is((SELECT pg_catalog.string_agg(a.action || ' ' || a.table_name, ', ' ORDER BY a.id)
		FROM naboom.audit_log a WHERE a.id > :mark_report AND a.incident_id = :inc_id),
	'INSERT naboom.incident, INSERT naboom.incident_timeline',
	'report_incident: one INSERT entry for the incident and one for its timeline (its trigger''s, so logged first)');
SELECT tap.is((SELECT a.actor || ' | ' || a.db_role || ' | ' || a.client_addr || ' | ' || a.user_agent || ' | ' || a.request_id
		FROM naboom.audit_log a
		WHERE a.id > :mark_report AND a.table_name = 'naboom.incident' AND a.incident_id = :inc_id),
	'aa-res | naboom_user | 196.25.1.9 | NaboomApp/2.1 (Android 14) | tap-req-0001',
	'the INSERT entry: actor = JWT sub, db_role = naboom_user, the x-forwarded-for address the outer trusted proxy saw, user agent, request id');
SELECT tap.ok((SELECT pg_catalog.count(*) > 0 AND pg_catalog.bool_and(a.actor = 'aa-res' AND a.db_role = 'naboom_user'
			AND a.client_addr = '196.25.1.9' AND a.request_id = 'tap-req-0001' AND a.success
			AND a.community_id = :a_id AND a.xid = pg_catalog.pg_current_xact_id())
		FROM naboom.audit_log a WHERE a.id > :mark_report),
	'every entry of the two reports: the same actor, role and request, community A, this transaction');
SELECT tap.is((SELECT a.new_values->>'reporter_ref' || ' ' || (a.new_values->'location'->>'type') || ' '
			|| (a.new_values->>'is_public') || ' ' || (a.new_values->>'status') || ' ' || (a.old_values IS NULL)
		FROM naboom.audit_log a
		WHERE a.id > :mark_report AND a.table_name = 'naboom.incident' AND a.incident_id = :inc_id),
	'aa-res Point false reported true',
	'the INSERT entry carries the whole new row (location as GeoJSON) and no old values');
SELECT tap.is((SELECT a.row_key FROM naboom.audit_log a
		WHERE a.id > :mark_report AND a.table_name = 'naboom.incident' AND a.incident_id = :inc_id),
	pg_catalog.jsonb_build_object('community_id', :a_id, 'incident_id', :inc_id),
	'the INSERT entry: row_key is the incident''s primary key');

------------------------------------------------------------------------------
-- A transition by the moderator, from another request: an UPDATE entry with
-- only the changed columns
------------------------------------------------------------------------------
SELECT pg_catalog.max(a.id) AS mark_verify FROM naboom.audit_log a \gset
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"aa-mod"}';
SELECT pg_catalog.set_config('request.headers', '{"x-forwarded-for":" 41.13.7.7 ","x-request-id":"tap-req-0002"}',
	true) IS NOT NULL AS headers_set \gset
SELECT i.status AS verified FROM naboom_api.transition_incident(:'ref', 'verified', 'Checked with the neighbour') i \gset
RESET ROLE;

SELECT tap.is((SELECT pg_catalog.string_agg(a.action || ' ' || a.table_name, ', ' ORDER BY a.id)
		FROM naboom.audit_log a WHERE a.id > :mark_verify),
	'UPDATE naboom.incident, INSERT naboom.incident_timeline',
	'transition_incident: an incident UPDATE, then the timeline INSERT its trigger wrote');
SELECT tap.is((SELECT (a.old_values->>'status') || ' -> ' || (a.new_values->>'status')
		FROM naboom.audit_log a WHERE a.id > :mark_verify AND a.action = 'UPDATE'),
	'reported -> verified', 'the UPDATE entry: old and new status');
SELECT tap.is((SELECT pg_catalog.array_agg(k ORDER BY k) FROM naboom.audit_log a, pg_catalog.jsonb_object_keys(a.old_values) k
		WHERE a.id > :mark_verify AND a.action = 'UPDATE'),
	'{status,status_note,updated_by,version}'::text[],
	'the UPDATE entry: old_values holds only the changed columns (updated_at is now(), unchanged in this transaction)');
SELECT tap.is((SELECT pg_catalog.array_agg(k ORDER BY k) FROM naboom.audit_log a, pg_catalog.jsonb_object_keys(a.new_values) k
		WHERE a.id > :mark_verify AND a.action = 'UPDATE'),
	'{status,status_note,updated_by,version}'::text[],
	'the UPDATE entry: new_values holds the same columns');
SELECT tap.is((SELECT a.actor || ' | ' || a.db_role || ' | ' || a.client_addr || ' | ' || COALESCE(a.user_agent, '(none)')
			|| ' | ' || a.request_id || ' | ' || (a.new_values->>'updated_by') || ' | ' || (a.new_values->>'status_note')
		FROM naboom.audit_log a WHERE a.id > :mark_verify AND a.action = 'UPDATE'),
	'aa-mod | naboom_user | 41.13.7.7 | (none) | tap-req-0002 | aa-mod | Checked with the neighbour',
	'the UPDATE entry: the new request''s actor and context (trimmed address, no user agent)');

------------------------------------------------------------------------------
-- naboom_user and naboom_anon cannot touch the log, the seals or the audit
-- functions
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SELECT tap.throws_ok('SELECT a.id FROM naboom.audit_log a', '42501', 'permission denied for table audit_log',
	'as naboom_user: SELECT FROM audit_log is refused');
SELECT tap.throws_ok($$INSERT INTO naboom.audit_log (action, db_role) VALUES ('READ', 'naboom_user')$$, '42501',
	'permission denied for table audit_log', 'as naboom_user: INSERT INTO audit_log is refused');
SELECT tap.throws_ok($$UPDATE naboom.audit_log SET actor = 'nobody'$$, '42501', 'permission denied for table audit_log',
	'as naboom_user: UPDATE audit_log is refused');
SELECT tap.throws_ok('DELETE FROM naboom.audit_log', '42501', 'permission denied for table audit_log',
	'as naboom_user: DELETE FROM audit_log is refused');
SELECT tap.throws_ok('SELECT s.seal_id FROM naboom.audit_seal s', '42501', 'permission denied for table audit_seal',
	'as naboom_user: SELECT FROM audit_seal is refused');
SELECT tap.throws_ok($$INSERT INTO naboom.audit_seal (xid_from, xid_to, row_count, ids, row_hashes, prev_hash, seal_hash)
		VALUES ('0', '1', 0, '{}', '\x', '\x', '\x')$$, '42501', 'permission denied for table audit_seal',
	'as naboom_user: INSERT INTO audit_seal is refused');
SELECT tap.throws_ok('UPDATE naboom.audit_seal SET row_count = 0', '42501', 'permission denied for table audit_seal',
	'as naboom_user: UPDATE audit_seal is refused');
SELECT tap.throws_ok('DELETE FROM naboom.audit_seal', '42501', 'permission denied for table audit_seal',
	'as naboom_user: DELETE FROM audit_seal is refused');
SELECT tap.throws_ok($$SELECT * FROM naboom.verify_audit(pg_catalog.now() - interval '1 day', pg_catalog.now())$$, '42501',
	'permission denied for function verify_audit', 'as naboom_user: verify_audit is refused');
SELECT tap.throws_ok('SELECT naboom.seal_audit()', '42501', 'permission denied for function seal_audit',
	'as naboom_user: seal_audit is refused');
SELECT tap.throws_ok($$SELECT naboom.audit_table('naboom.incident')$$, '42501', 'permission denied for function audit_table',
	'as naboom_user: audit_table is refused');
SELECT tap.throws_ok($$SELECT naboom.audit_access(1, 1, 'forged', '{}')$$, '42501',
	'permission denied for function audit_access', 'as naboom_user: audit_access (forging a READ entry) is refused');
RESET ROLE;

SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, 'SELECT a.id FROM naboom.audit_log a'),
			(2, $$INSERT INTO naboom.audit_log (action, db_role) VALUES ('READ', 'naboom_anon')$$),
			(3, $$UPDATE naboom.audit_log SET actor = 'nobody'$$),
			(4, 'DELETE FROM naboom.audit_log'),
			(5, 'SELECT s.seal_id FROM naboom.audit_seal s'),
			(6, $$INSERT INTO naboom.audit_seal (xid_from, xid_to, row_count, ids, row_hashes, prev_hash, seal_hash)
				VALUES ('0', '1', 0, '{}', '\x', '\x', '\x')$$),
			(7, 'UPDATE naboom.audit_seal SET row_count = 0'),
			(8, 'DELETE FROM naboom.audit_seal')) q(n, sql)),
	'42501 permission denied for table audit_log / 42501 permission denied for table audit_log / '
	'42501 permission denied for table audit_log / 42501 permission denied for table audit_log / '
	'42501 permission denied for table audit_seal / 42501 permission denied for table audit_seal / '
	'42501 permission denied for table audit_seal / 42501 permission denied for table audit_seal',
	'as naboom_anon: SELECT, INSERT, UPDATE and DELETE on audit_log and audit_seal are refused (42501)');
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, $$SELECT * FROM naboom.verify_audit(pg_catalog.now() - interval '1 day', pg_catalog.now())$$),
			(2, 'SELECT naboom.seal_audit()'),
			(3, $$SELECT naboom.audit_table('naboom.incident')$$),
			(4, $$SELECT naboom.audit_access(1, 1, 'forged', '{}')$$),
			(5, pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref_pub')),
			(6, $$SELECT * FROM naboom_api.community_audit('tap-audit-a')$$)) q(n, sql)),
	'42501 permission denied for function verify_audit / 42501 permission denied for function seal_audit / '
	'42501 permission denied for function audit_table / 42501 permission denied for function audit_access / '
	'42501 permission denied for function incident_audit / 42501 permission denied for function community_audit',
	'as naboom_anon: verify_audit, seal_audit, audit_table, audit_access, incident_audit and community_audit are refused (42501)');
RESET ROLE;

------------------------------------------------------------------------------
-- incident_audit: the moderators of the incident's community, nobody else
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.headers = '';
SET LOCAL request.jwt.claims = '{"sub":"aa-mod"}';
SELECT pg_catalog.array_agg(e.id ORDER BY e.id) AS mod_ids,
	pg_catalog.string_agg(e.action || ' ' || COALESCE(e.table_name, '-'), ', ' ORDER BY e.id) AS mod_actions,
	pg_catalog.bool_and(e.reference IS NOT DISTINCT FROM :'ref') AS mod_refs
FROM naboom_api.incident_audit(:'ref') e \gset
SELECT tap.is(:'mod_actions'::text,
	'INSERT naboom.incident, INSERT naboom.incident_timeline, UPDATE naboom.incident, INSERT naboom.incident_timeline',
	'incident_audit, a moderator: the incident''s report and transition entries');
SELECT tap.ok(:'mod_refs'::boolean, '... every entry names the incident''s reference');

SET LOCAL request.jwt.claims = '{"sub":"aa-resp"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref')),
	'42501 naboom.insufficient_role', 'incident_audit, a responder: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"aa-res"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref')),
	'42501 naboom.insufficient_role', 'incident_audit, a resident (the reporter of the private incident): 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"aa-res2"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref_pub')),
	'42501 naboom.insufficient_role', 'incident_audit, another resident on a public incident: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"ab-res"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref')),
	'PT404 naboom.unknown_reference', 'incident_audit, a member of another community, a private incident: PT404 naboom.unknown_reference');
SET LOCAL request.jwt.claims = '{"sub":"ab-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT * FROM naboom_api.incident_audit(%L)', :'ref_pub')),
	'42501 naboom.insufficient_role', 'incident_audit, another community''s admin on a public incident: 42501 naboom.insufficient_role');
RESET ROLE;

SELECT tap.is(:'mod_ids'::bigint[],
	(SELECT pg_catalog.array_agg(a.id ORDER BY a.id) FROM naboom.audit_log a
		WHERE a.community_id = :a_id AND a.incident_id = :inc_id AND a.id <= (SELECT pg_catalog.max(x) FROM pg_catalog.unnest(:'mod_ids'::bigint[]) x)),
	'incident_audit, a moderator: exactly the log''s entries of that incident, all of community A');

------------------------------------------------------------------------------
-- community_audit: the admins of the community, only its entries
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"aa-admin"}';
SELECT pg_catalog.array_agg(e.id ORDER BY e.id) AS admin_ids
FROM naboom_api.community_audit('tap-audit-a', max_count => 1000) e \gset
SET LOCAL request.jwt.claims = '{"sub":"aa-mod"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.community_audit('tap-audit-a')$$),
	'42501 naboom.insufficient_role', 'community_audit, a moderator: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"aa-res"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.community_audit('tap-audit-a')$$),
	'42501 naboom.insufficient_role', 'community_audit, a resident: 42501 naboom.insufficient_role');
SET LOCAL request.jwt.claims = '{"sub":"ab-admin"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.community_audit('tap-audit-a')$$),
	'42501 naboom.not_a_member', 'community_audit, another community''s admin: 42501 naboom.not_a_member');
SELECT tap.ok((SELECT pg_catalog.count(*) > 0 FROM naboom_api.community_audit('tap-audit-b') e),
	'community_audit, that admin in their own community: entries');
RESET ROLE;

SELECT tap.is(:'admin_ids'::bigint[],
	(SELECT pg_catalog.array_agg(a.id ORDER BY a.id) FROM naboom.audit_log a
		WHERE a.community_id = :a_id AND a.id <= (SELECT pg_catalog.max(x) FROM pg_catalog.unnest(:'admin_ids'::bigint[]) x)),
	'community_audit, the admin: exactly community A''s entries');
SELECT tap.ok((SELECT pg_catalog.count(*) > 0 FROM naboom.audit_log a
		WHERE a.community_id = :b_id AND a.id < (SELECT pg_catalog.max(x) FROM pg_catalog.unnest(:'admin_ids'::bigint[]) x)),
	'... while the log holds community B''s entries of the same time (none leaked)');

------------------------------------------------------------------------------
-- A responder reads the private incident: a READ entry in this transaction
------------------------------------------------------------------------------
SELECT pg_catalog.max(a.id) AS mark_read FROM naboom.audit_log a \gset
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"aa-resp"}';
SELECT pg_catalog.set_config('request.headers', '{"x-forwarded-for":"105.2.3.4","x-request-id":"tap-req-0003"}',
	true) IS NOT NULL AS headers_set \gset
SELECT i.status AS read_status FROM naboom_api.get_incident(:'ref') i \gset
RESET ROLE;
SELECT tap.is(:'read_status'::text, 'verified', 'get_incident, a responder: the private incident');
SELECT tap.is((SELECT pg_catalog.string_agg(a.action || ' | ' || a.actor || ' | ' || a.db_role || ' | ' || a.client_addr
			|| ' | ' || a.request_id || ' | ' || (a.detail->>'function') || ' | ' || (a.detail->'args'->>'private')
			|| ' | ' || (a.detail->'args'->>'reference' = :'ref') || ' | ' || (a.incident_id = :inc_id)
			|| ' | ' || (a.community_id = :a_id), '; ')
		FROM naboom.audit_log a WHERE a.id > :mark_read),
	'READ | aa-resp | naboom_user | 105.2.3.4 | tap-req-0003 | get_incident | true | true | true | true',
	'get_incident: one READ entry, who, from where, which incident');
SELECT tap.ok((SELECT a.xid = pg_catalog.pg_current_xact_id() AND a.success FROM naboom.audit_log a WHERE a.id > :mark_read),
	'... written in the reading transaction itself');

------------------------------------------------------------------------------
-- Append-only, even for the superuser
------------------------------------------------------------------------------
SELECT tap.ok((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER), 'now as a superuser');
SELECT tap.throws_ok(pg_catalog.format($$UPDATE naboom.audit_log SET actor = 'nobody' WHERE id = %s$$, :mark_read + 1),
	'42501', 'the audit log is append-only', 'a superuser: UPDATE of an audit row is refused (42501)');
SELECT tap.throws_ok(pg_catalog.format('DELETE FROM naboom.audit_log WHERE id = %s', :mark_read + 1),
	'42501', 'the audit log is append-only', 'a superuser: DELETE of an audit row is refused (42501)');
SELECT tap.is((SELECT a.actor FROM naboom.audit_log a WHERE a.id = :mark_read + 1), 'aa-resp',
	'... and the row is as it was');

------------------------------------------------------------------------------
-- Seal and verify
------------------------------------------------------------------------------
SELECT (naboom.seal_audit()).seal_id AS seal_id \gset
SELECT tap.ok(NOT EXISTS (SELECT 1 FROM naboom.audit_seal s
		JOIN naboom.audit_log a ON a.id = ANY (s.ids) WHERE a.xid = pg_catalog.pg_current_xact_id()),
	'seal_audit: the rows of a transaction still running are not sealed');
SELECT tap.is((SELECT v.problem || ' ' || (v.detail ~ ', 0 problems; [1-9][0-9]* rows not sealed yet$')
		FROM naboom.verify_audit(pg_catalog.now() - interval '1 day', pg_catalog.now() + interval '1 day') WITH ORDINALITY v
		ORDER BY v.ordinality DESC LIMIT 1),
	'verified true', 'verify_audit after seal_audit: the last row is verified, no problems, this transaction''s rows not sealed yet');
SELECT tap.is((SELECT pg_catalog.count(*)::integer
		FROM naboom.verify_audit(pg_catalog.now() - interval '1 day', pg_catalog.now() + interval '1 day') v),
	1, 'verify_audit: no problem rows, only the summary');

SELECT * FROM tap.finish();
ROLLBACK;
