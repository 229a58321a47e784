-- Forwarding to authorities (0.7.0, issue 16): authorities and rules, the
-- outbox written in the transaction of the change that fires it (nothing
-- for a rollback), requires_authority, forward_incident, claiming with a
-- lease and in order per incident, delivered, failed with backoff and the
-- dead letter (event, alert to moderators), authority_update on the
-- timeline as the authority, idempotent, moving the status only where the
-- workflow table allows it; the audit of every forwarding; errors with
-- SQLSTATE and key.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- Fast retries for this file (superuser setting).
SET naboom.forwarding_backoff = '1s';
SET naboom.forwarding_max_attempts = 3;

------------------------------------------------------------------------------
-- Authorities and rules (admins)
------------------------------------------------------------------------------
SELECT t.as_user('u-admin');
SELECT community, code, name_en, name_af, kind, endpoint, is_active FROM naboom_api.upsert_authority('mookgophong', 'SAPS',
	'South African Police Service', 'Suid-Afrikaanse Polisiediens', 'police', 'http://127.0.0.1:1/saps');
SELECT code, name_en, name_af, kind, endpoint, is_active FROM naboom_api.upsert_authority('mookgophong', 'saps',
	'South African Police Service', 'Suid-Afrikaanse Polisiediens', 'police', 'http://127.0.0.1:1/saps/v2');
SELECT code, kind FROM naboom_api.upsert_authority('mookgophong', 'municipality', 'Mookgophong Municipality',
	'Mookgophong Munisipaliteit', 'municipality', 'https://muni.example.org/intake');
-- Stock theft goes to SAPS at report; burglary in the central sector at
-- verification; water leaks only when a moderator asks.
SELECT * FROM naboom_api.upsert_forwarding_rule('mookgophong', 'stock_to_saps', 'saps', '{stock_theft}');
SELECT * FROM naboom_api.upsert_forwarding_rule('mookgophong', 'burglary_sector', 'saps', '{burglary}',
	'verification', '{central-sector}', '{high,critical}');
SELECT * FROM naboom_api.upsert_forwarding_rule('mookgophong', 'leaks', 'municipality', '{water_leak}', 'request');
-- A second rule to the same authority at the same moment sends once.
SELECT code FROM naboom_api.upsert_forwarding_rule('mookgophong', 'stock_twice', 'saps', '{stock_theft,gbv}');

-- Errors: SQLSTATE and key.
SELECT t.err($$SELECT naboom_api.upsert_authority('mookgophong', '9x', 'X', 'X', 'police', 'http://x')$$);
SELECT t.err($$SELECT naboom_api.upsert_authority('mookgophong', 'x', 'X', 'X', 'army', 'http://x')$$);
SELECT t.err($$SELECT naboom_api.upsert_authority('mookgophong', 'x', 'X', 'X', 'police', 'ftp://x')$$);
SELECT t.err($$SELECT naboom_api.upsert_authority('mookgophong', 'x', '', 'X', 'police', 'http://x')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'nobody', '{burglary}')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{}')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{arson}')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{burglary}', 'tomorrow')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{burglary}', 'report', '{atlantis}')$$);
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{burglary}', 'report', NULL, '{urgent}')$$);
SELECT t.as_user('u-mod');
SELECT t.err($$SELECT naboom_api.upsert_authority('mookgophong', 'x', 'X', 'X', 'police', 'http://x')$$);
SELECT t.as_user('u-other-admin');
SELECT t.err($$SELECT naboom_api.upsert_forwarding_rule('mookgophong', 'r', 'saps', '{burglary}')$$);

------------------------------------------------------------------------------
-- The outbox, in the reporting transaction
------------------------------------------------------------------------------
SELECT t.report('u-res1', 'stock_theft', 'Six cattle gone from the camp') AS stock \gset
SELECT t.report('u-res2', 'burglary', 'Back door forced') AS burg \gset
SELECT t.report('u-res2', 'water_leak', 'Burst pipe on Nelson Mandela Drive') AS leak \gset
-- Marked by the rules; only stock theft is forwarded at report, once.
SELECT i.category_code, i.requires_authority, count(f.*) AS forwardings, string_agg(f.reason || ':' || f.state, ',') AS what
FROM naboom.incident i LEFT JOIN naboom.forwarding f USING (community_id, incident_id)
WHERE i.reference IN (:'stock', :'burg', :'leak') GROUP BY 1, 2 ORDER BY 1;
SELECT t.mask(idempotency_key), seq, payload_version, incident_version, attempts FROM naboom.forwarding;
-- A report that rolls back forwards nothing.
BEGIN;
SELECT t.report('u-res1', 'stock_theft', 'Rolled back') IS NOT NULL AS reported;
SELECT count(*) AS in_tx FROM naboom.forwarding;
ROLLBACK;
SELECT count(*) AS after_rollback FROM naboom.forwarding;
-- A resubmit (same client_ref) forwards nothing more.
SELECT t.as_user('u-res1');
SELECT reference AS dupe FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.52, 28.71, 'Resubmitted', client_ref => 'c-1') \gset
SELECT reference = :'dupe' FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.52, 28.71, 'Resubmitted', client_ref => 'c-1');
SELECT count(*) AS one_each FROM naboom.forwarding f JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'dupe';

-- Burglary: forwarded when verified (it is in central-sector, high).
SELECT t.step('u-ver', :'burg', 'verified');
SELECT f.reason, f.seq, f.state FROM naboom.forwarding f JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'burg';

-- The moderator forwards the leak (a request rule) with a note; residents may not.
SELECT t.as_user('u-mod');
SELECT authority, authority_en, authority_af, seq, reason, state, attempts FROM naboom_api.forward_incident(:'leak', 'municipality', 'Water everywhere');
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.forward_incident(%L, %L)', :'leak', 'saps'));
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.forward_incident(%L, %L)', :'leak', 'army'));
SELECT t.err($$SELECT naboom_api.forward_incident('NB-0000-0000', 'saps')$$);
-- A private, sensitive GBV report is forwarded (the second stock rule names gbv).
SELECT t.as_user('u-res1');
SELECT reference AS gbv FROM naboom_api.report_incident('mookgophong', 'gbv', -24.52, 28.71, 'Neighbour hurt', is_public => false) \gset
SELECT f.reason, f.state FROM naboom.forwarding f JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'gbv';
-- ... but the public never sees it, nor the forwarding events.
SELECT t.as_user('u-res2');
SELECT t.err(format('SELECT naboom_api.incident_forwardings(%L)', :'gbv'));
SELECT t.err(format('SELECT naboom_api.incident_forwardings(%L)', :'stock'));
SELECT t.as_user('u-mod');
SELECT authority, seq, reason, state FROM naboom_api.incident_forwardings(:'stock');

------------------------------------------------------------------------------
-- Delivery (the service)
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT naboom_api.claim_forwardings('saps')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.claim_forwardings('saps', 0)$$);
SELECT t.err($$SELECT naboom_api.claim_forwardings('saps', 10, '0 seconds')$$);
SELECT t.err($$SELECT naboom_api.claim_forwardings('nobody')$$);
-- A second manual forwarding of the stock theft: seq 2, after the first.
SELECT seq FROM naboom_api.forward_incident(:'stock', 'saps', 'More cattle missing');
SELECT t.mask(reference), seq, t.mask(idempotency_key), attempt, endpoint,
	payload->'incident'->>'category' AS category, payload->'reporter'->>'name' AS reporter,
	payload->'forwarding'->>'reason' AS reason, payload ? 'payload_version' AS versioned
FROM naboom_api.claim_forwardings('saps', 100, '1 minute') ORDER BY 6, seq;
-- Nothing more is due: the rest are in flight, and the stock theft's second waits for its first.
SELECT count(*) AS nothing_due FROM naboom_api.claim_forwardings('saps', 100, '1 minute');
SELECT f.id AS first_stock FROM naboom_api.incident_forwardings(:'stock') f WHERE f.seq = 1 \gset
SELECT f.id AS second_stock FROM naboom_api.incident_forwardings(:'stock') f WHERE f.seq = 2 \gset
SELECT f.id AS gbv_fwd FROM naboom_api.incident_forwardings(:'gbv') f \gset
SELECT f.id AS burg_fwd FROM naboom_api.incident_forwardings(:'burg') f \gset
-- First stock delivered with its case number; twice is the same.
SELECT state, external_id, attempts FROM naboom_api.forwarding_delivered(:first_stock, 'CAS 118/12/2026');
SELECT state, external_id FROM naboom_api.forwarding_delivered(:first_stock, 'CAS 999');
-- Now the second is due, and only it.
SELECT seq, attempt FROM naboom_api.claim_forwardings('saps', 100, '1 minute');
-- The GBV one fails: retried later (backoff), then dead after 3 attempts.
SELECT state, attempts, last_error, round(extract(epoch FROM next_attempt_at - now())) AS wait_s FROM naboom_api.forwarding_failed(:gbv_fwd, 'HTTP 503', '5 seconds');
SELECT t.err(format('SELECT naboom_api.forwarding_failed(%s, %L)', :gbv_fwd, ''));
SELECT t.err(format('SELECT naboom_api.forwarding_failed(%s, %L, %L)', :gbv_fwd, 'x', '2 days'));
SELECT t.err('SELECT naboom_api.forwarding_failed(0, ''x'')');
SELECT t.err('SELECT naboom_api.forwarding_delivered(0)');
-- Failing a row that is not in flight changes nothing.
SELECT state, attempts FROM naboom_api.forwarding_failed(:gbv_fwd, 'late report');
UPDATE naboom.forwarding SET next_attempt_at = now() WHERE forwarding_id = :gbv_fwd;
SELECT attempt FROM naboom_api.claim_forwardings('saps', 100, '1 minute') WHERE id = :gbv_fwd;
SELECT state, attempts, round(extract(epoch FROM next_attempt_at - now())) AS wait_s FROM naboom_api.forwarding_failed(:gbv_fwd, 'HTTP 500');
UPDATE naboom.forwarding SET next_attempt_at = now() WHERE forwarding_id = :gbv_fwd;
SELECT attempt FROM naboom_api.claim_forwardings('saps', 100, '1 minute') WHERE id = :gbv_fwd;
SELECT state, attempts, last_error FROM naboom_api.forwarding_failed(:gbv_fwd, 'timeout');
-- The dead letter: an event, and an alert to the moderators and the admin.
SELECT user_ref, reason FROM naboom.alert a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'gbv' AND a.reason = 'forwarding' ORDER BY user_ref;
-- A lease that runs out (as if the minute had passed: the lease's end is
-- next_attempt_at): the burglary comes back with its next attempt.
UPDATE naboom.forwarding SET next_attempt_at = now() - interval '1 second' WHERE forwarding_id = :burg_fwd;
SELECT t.mask(reference), attempt FROM naboom_api.claim_forwardings('saps', 100, '1 minute') WHERE id = :burg_fwd;
-- The first worker's late success still counts.
SELECT state FROM naboom_api.forwarding_delivered(:burg_fwd, 'CAS 120/12/2026');
SELECT state FROM naboom_api.forwarding_failed(:burg_fwd, 'second worker timed out');

-- Events of every state change, private (staff and reporter only).
SELECT naboom.publish_events() >= 0 AS published;
SELECT topic, is_public, payload->>'authority' AS authority, count(*) FROM naboom.event
WHERE topic LIKE 'forwarding.%' GROUP BY 1, 2, 3 ORDER BY 1, 3;
SELECT t.as_user('u-res2');
SELECT count(*) AS res2_sees_no_gbv_forwarding FROM naboom_api.events_since(0, 1000) e
WHERE e.topic LIKE 'forwarding.%' AND e.reference = :'gbv';
SELECT t.as_user('u-mod');
SELECT count(*) > 0 AS moderator_sees FROM naboom_api.events_since(0, 1000) e
WHERE e.topic LIKE 'forwarding.%' AND e.reference = :'gbv';

------------------------------------------------------------------------------
-- Updates back from the authority
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT t.mask(reference), authority, external_id, status, moved_to, repeated
FROM naboom_api.authority_update('saps', 'CAS 118/12/2026', 'case_opened', 'Case opened at Mookgophong SAPS',
	'2026-12-05 10:00+02', 'saps-upd-1');
-- The same update again: recorded once.
SELECT t.mask(reference), timeline_seq IS NOT NULL, repeated
FROM naboom_api.authority_update('saps', 'CAS 118/12/2026', 'case_opened', 'Case opened at Mookgophong SAPS',
	'2026-12-05 10:00+02', 'saps-upd-1');
SELECT count(*) AS entries FROM naboom.incident_timeline x JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'stock' AND x.entry_kind = 'authority_update';
-- 'resolved' does not move the incident: the workflow table does not allow authorities that.
SELECT moved_to, status FROM naboom_api.authority_update('saps', 'CAS 118/12/2026', 'resolved', 'Cattle found', NULL, 'saps-upd-2');
SELECT status FROM naboom.incident WHERE reference = :'stock';
-- The workflow table is data: allow authorities reported -> resolved.
UPDATE naboom.transition SET allowed = allowed || '{authority}' WHERE from_status = 'reported' AND to_status = 'resolved';
SELECT moved_to FROM naboom_api.authority_update('saps', 'CAS 118/12/2026', 'resolved', 'Cattle found and returned', NULL, 'saps-upd-3');
SELECT status, status_note, version FROM naboom.incident WHERE reference = :'stock';
-- An authority may not make transitions the table does not give it, even
-- as the service: the workflow trigger holds (the rejected transition
-- has no authority in allowed).
BEGIN;
SELECT set_config('naboom.acting_authority', 'saps', true) IS NOT NULL;
SELECT t.err(format('SELECT naboom_api.transition_incident(%L, %L, %L)', :'burg', 'rejected', 'no'));
ROLLBACK;
-- The moderator's timeline shows the case number, as SAPS.
SELECT t.as_user('u-mod');
SELECT e->>'kind', e->>'actor_name', e->'detail'->>'external_id', e->'detail'->>'status', e->>'to_status', e->>'is_public'
FROM naboom_api.get_incident(:'stock') g, jsonb_array_elements(g.timeline) e
WHERE e->>'kind' IN ('authority_update', 'status_changed') ORDER BY (e->>'seq')::int;
-- Residents do not see the internal entry.
SELECT t.as_user('u-res2');
SELECT count(*) AS resident_sees FROM naboom_api.get_incident(:'stock') g, jsonb_array_elements(g.timeline) e
WHERE e->>'kind' = 'authority_update';
-- Errors.
SELECT t.err($$SELECT naboom_api.authority_update('saps', 'CAS 1', 'x', NULL, NULL, 'u1')$$);
SELECT t.as_service();
SELECT t.err($$SELECT naboom_api.authority_update('saps', 'CAS 404', 'x', NULL, NULL, 'u1')$$);
SELECT t.err($$SELECT naboom_api.authority_update('saps', 'CAS 118/12/2026', 'x', NULL, NULL, NULL)$$);

------------------------------------------------------------------------------
-- Audited: every forwarding row and each change of it
------------------------------------------------------------------------------
SELECT a.action, count(*) > 0 FROM naboom.audit_log a
WHERE a.table_name = 'naboom.forwarding' GROUP BY 1 ORDER BY 1;
SELECT a.table_name, count(*) > 0 FROM naboom.audit_log a
WHERE a.table_name IN ('naboom.authority', 'naboom.forwarding_rule', 'naboom.authority_update') GROUP BY 1 ORDER BY 1;
