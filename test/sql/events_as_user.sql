-- pgTAP: the 0.4.0 real-time API as a gateway drives it -- role
-- naboom_user, identity in request.jwt.claims and an EMPTY search_path --
-- plus naboom_anon.  Who sees which events through events_since (a
-- community's public events for its members, private incidents' events only
-- for the reporter and the community's responders and moderators, nothing
-- of another community), its errors, that the API roles cannot touch the
-- stream, the rate counters or the service functions, rate limits (PT429,
-- a refused attempt not counted), panic escalation until a responder
-- acknowledges, and the SLA report for moderators only.
--
-- Database naboom_tap has no background writer (it serves
-- contrib_regression), and this file's events are uncommitted anyway: the
-- superuser (RESET ROLE, no claims) numbers them with
-- naboom.publish_events() before a member reads them.  Escalation is made
-- due and run the same way, as the pg_cron job would.
--
-- The shared prelude (pgTAP under an empty search_path, error_of and
-- message_of) is test/include/as_user.psql.
BEGIN;

\ir ../include/as_user.psql
\ir ../include/fixtures.psql
SELECT tap.plan(40);

------------------------------------------------------------------------------
-- Fixtures: two communities by the naboom service (superuser, no claims);
-- everything else by people, as naboom_user.
--   tap-ev-a  admin ea-admin, moderator ea-mod, responder ea-resp,
--             residents ea-res (the reporter), ea-res2 and ea-rl (rate limited)
--   tap-ev-b  admin eb-admin, resident eb-res
------------------------------------------------------------------------------
SET LOCAL request.headers = '';
SELECT pg_temp.tap_community('tap-ev-a', 'Tap Events A (Mookgophong)', 'ea-admin', 'EA Admin') AS slug_a \gset
SELECT pg_temp.tap_community('tap-ev-b', 'Tap Events B (Modimolle)', 'eb-admin', 'EB Admin', 'modimolle') AS slug_b \gset

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-ev-a', 'ea-mod', 'EA Moderator', 'moderator', 'ea-admin');
	PERFORM pg_temp.tap_join('tap-ev-a', 'ea-resp', 'EA Responder', 'responder', 'ea-admin');
	PERFORM pg_temp.tap_join('tap-ev-a', 'ea-res', 'EA Resident');
	PERFORM pg_temp.tap_join('tap-ev-a', 'ea-res2', 'EA Resident Two');
	PERFORM pg_temp.tap_join('tap-ev-a', 'ea-rl', 'EA Rate Limited');
	PERFORM pg_temp.tap_join('tap-ev-b', 'eb-res', 'EB Resident');
	PERFORM pg_temp.tap_category('tap-ev-a', 'ea-admin', 'burglary', 'Burglary', 'Inbraak', 'high');
	PERFORM pg_temp.tap_category('tap-ev-a', 'ea-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
	PERFORM pg_temp.tap_category('tap-ev-b', 'eb-admin', 'pothole', 'Pothole', 'Slaggat', 'low');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path') || ' ' || CURRENT_USER, '"" naboom_user',
	'the API calls of this file run as naboom_user with an empty search_path');

------------------------------------------------------------------------------
-- Reports in both communities, published by the superuser
------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL request.jwt.claims = '';
-- Anything pending is numbered first, so the mark is past it.
SELECT naboom.publish_events() AS published_before \gset
SELECT COALESCE(pg_catalog.max(e.seq), 0) AS mark FROM naboom.event e \gset

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-res"}';
SELECT i.reference AS ref_pub FROM naboom_api.report_incident('tap-ev-a', 'pothole', -24.53, 28.72,
	'Hole in the road (tap events)') i \gset
SELECT i.reference AS ref_priv FROM naboom_api.report_incident('tap-ev-a', 'burglary', -24.521, 28.711,
	'Back door forced (tap events)', is_public => false) i \gset
SET LOCAL request.jwt.claims = '{"sub":"eb-res"}';
SELECT i.reference AS ref_b FROM naboom_api.report_incident('tap-ev-b', 'pothole', -24.70, 28.41,
	'Hole in the road (tap events, B)') i \gset

RESET ROLE;
SET LOCAL request.jwt.claims = '';
SELECT pg_catalog.count(*) AS pending FROM naboom.event e WHERE e.seq IS NULL \gset
SELECT naboom.publish_events() AS published \gset
SELECT tap.ok(:pending >= 3 AND :published = :pending AND NOT EXISTS (SELECT 1 FROM naboom.event e WHERE e.seq IS NULL)
		AND (SELECT pg_catalog.min(e.seq) = :mark + 1 AND pg_catalog.max(e.seq) = :mark + :pending FROM naboom.event e WHERE e.seq > :mark),
	'publish_events, the superuser: numbers every pending event of the three reports (mark + 1 onwards), none left pending');

-- What a member sees after the mark: events of which of the three
-- incidents (pub, priv, b; 'other' for anything else).
CREATE FUNCTION pg_temp.seen(after_id bigint, ref_pub text, ref_priv text, ref_b text) RETURNS text
LANGUAGE sql AS $$
	SELECT COALESCE(pg_catalog.string_agg(DISTINCT x.tag, ',' ORDER BY x.tag), '(none)')
	FROM (SELECT CASE e.reference WHEN ref_pub THEN 'pub' WHEN ref_priv THEN 'priv' WHEN ref_b THEN 'b'
			ELSE 'other' END AS tag
		FROM naboom_api.events_since(after_id, 1000) e) x
$$;

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-res2"}';
SELECT tap.is(pg_temp.seen(:mark, :'ref_pub', :'ref_priv', :'ref_b'), 'pub',
	'events_since, another resident of A: the public incident''s events only (not the private one, not B''s)');
SELECT tap.is((SELECT pg_catalog.string_agg(e.topic || ' ' || e.community, ', ' ORDER BY e.id)
		FROM naboom_api.events_since(:mark) e),
	'incident.created tap-ev-a',
	'... the public report''s incident.created, in community tap-ev-a');
SET LOCAL request.jwt.claims = '{"sub":"ea-res"}';
SELECT tap.is(pg_temp.seen(:mark, :'ref_pub', :'ref_priv', :'ref_b'), 'priv,pub',
	'events_since, the reporter: also the events of their private incident');
SET LOCAL request.jwt.claims = '{"sub":"ea-resp"}';
SELECT tap.is(pg_temp.seen(:mark, :'ref_pub', :'ref_priv', :'ref_b'), 'priv,pub',
	'events_since, a responder of A: the private incident''s events too');
SET LOCAL request.jwt.claims = '{"sub":"ea-mod"}';
SELECT tap.is(pg_temp.seen(:mark, :'ref_pub', :'ref_priv', :'ref_b'), 'priv,pub',
	'events_since, a moderator of A: the private incident''s events too');
SET LOCAL request.jwt.claims = '{"sub":"eb-res"}';
SELECT tap.is(pg_temp.seen(:mark, :'ref_pub', :'ref_priv', :'ref_b'), 'b',
	'events_since, a resident of B: B''s events only, none of A''s');
SET LOCAL request.jwt.claims = '{"sub":"ea-mod"}';
SELECT tap.is((SELECT pg_catalog.array_agg(e.id) FROM naboom_api.events_since(:mark, 1) e),
	(SELECT pg_catalog.array_agg(x.id) FROM (SELECT e.id FROM naboom_api.events_since(:mark) e ORDER BY e.id LIMIT 1) x),
	'events_since(after_id, 1): one event, the first after the mark');

SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.events_since(-1)'), '22023 naboom.invalid_after_id',
	'events_since(-1): 22023 naboom.invalid_after_id');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.events_since(NULL)'), '22023 naboom.invalid_after_id',
	'events_since(NULL): 22023 naboom.invalid_after_id');
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.events_since(0, 0)'), '22023 naboom.invalid_count',
	'events_since(0, 0): 22023 naboom.invalid_count');
SELECT tap.is(pg_temp.message_of('SELECT * FROM naboom_api.events_since(0, 1001)'),
	'22023 max_count must be between 1 and 1000', 'events_since(0, 1001): 22023, max_count must be between 1 and 1000');

SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of('SELECT * FROM naboom_api.events_since(0)'), '28000 naboom.missing_identity',
	'events_since as naboom_user without claims: 28000 naboom.missing_identity');
RESET ROLE;

SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SELECT tap.is(pg_temp.message_of('SELECT * FROM naboom_api.events_since(0)'),
	'42501 permission denied for function events_since', 'as naboom_anon: events_since is refused (42501)');
RESET ROLE;

------------------------------------------------------------------------------
-- naboom_user cannot touch the stream, the rate counters or the service
-- functions
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-mod"}';
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, 'SELECT e.event_id FROM naboom.event e'),
			(2, $$INSERT INTO naboom.event (community_id, topic) VALUES (1, 'panic.raised')$$),
			(3, 'UPDATE naboom.event SET seq = NULL'),
			(4, 'DELETE FROM naboom.event')) q(n, sql)),
	'42501 permission denied for table event / 42501 permission denied for table event / '
	'42501 permission denied for table event / 42501 permission denied for table event',
	'as naboom_user: SELECT, INSERT, UPDATE and DELETE on naboom.event are refused (42501)');
SELECT tap.is((SELECT pg_catalog.string_agg(pg_temp.message_of(q.sql), ' / ' ORDER BY q.n)
		FROM (VALUES (1, 'SELECT r.hits FROM naboom.rate_counter r'),
			(2, $$INSERT INTO naboom.rate_counter (user_ref, action, window_start, hits) VALUES ('ea-mod', 'report', pg_catalog.now(), 0)$$),
			(3, 'UPDATE naboom.rate_counter SET hits = 0'),
			(4, 'DELETE FROM naboom.rate_counter')) q(n, sql)),
	'42501 permission denied for table rate_counter / 42501 permission denied for table rate_counter / '
	'42501 permission denied for table rate_counter / 42501 permission denied for table rate_counter',
	'as naboom_user: SELECT, INSERT, UPDATE and DELETE on naboom.rate_counter are refused (42501)');
SELECT tap.throws_ok('SELECT naboom.publish_events()', '42501', 'permission denied for function publish_events',
	'as naboom_user: publish_events is refused');
SELECT tap.throws_ok('SELECT naboom.run_escalation()', '42501', 'permission denied for function run_escalation',
	'as naboom_user: run_escalation is refused');
SELECT tap.throws_ok('SELECT * FROM naboom.schedule_jobs()', '42501', 'permission denied for function schedule_jobs',
	'as naboom_user: schedule_jobs is refused');
SELECT tap.throws_ok($$SELECT naboom.rate_limit(1, 'ea-mod', 'report')$$, '42501', 'permission denied for function rate_limit',
	'as naboom_user: rate_limit (spending or probing a member''s quota) is refused');
SELECT tap.throws_ok('SELECT naboom.events_wait(0)', '42501', 'permission denied for function events_wait',
	'as naboom_user: events_wait is refused');
RESET ROLE;

------------------------------------------------------------------------------
-- Rate limits: two reports per (very long) window in community A
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '';
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [2, 1000000000]}}'
WHERE slug = 'tap-ev-a';

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-rl"}';
SELECT i.reference AS ref_rl1 FROM naboom_api.report_incident('tap-ev-a', 'pothole', -24.54, 28.73, 'Rate one (tap events)') i \gset
SELECT i.reference AS ref_rl2 FROM naboom_api.report_incident('tap-ev-a', 'pothole', -24.54, 28.73, 'Rate two (tap events)') i \gset
SELECT tap.ok(:'ref_rl1' <> :'ref_rl2' AND naboom.reference_valid(:'ref_rl2'),
	'rate limit [2, 10^9 s]: the member''s first two reports are filed');
SELECT tap.is(pg_temp.error_of($$SELECT naboom_api.report_incident('tap-ev-a', 'pothole', -24.54, 28.73, 'Rate three (tap events)')$$),
	'PT429 naboom.rate_limited', '... the third: PT429 naboom.rate_limited');
SELECT tap.is(pg_temp.message_of($$SELECT naboom_api.report_incident('tap-ev-a', 'pothole', -24.54, 28.73, 'Rate four (tap events)')$$),
	'PT429 too many report requests', '... and the fourth: PT429 too many report requests');
SET LOCAL request.jwt.claims = '{"sub":"ea-res2"}';
SELECT tap.ok((SELECT i.reference IS NOT NULL FROM naboom_api.report_incident('tap-ev-a', 'pothole', -24.55, 28.74,
			'Another member (tap events)') i),
	'... per member: another resident of A still reports');
RESET ROLE;
SET LOCAL request.jwt.claims = '';
SELECT tap.is((SELECT pg_catalog.string_agg(r.hits::text, ',') FROM naboom.rate_counter r
		WHERE r.user_ref = 'ea-rl' AND r.action = 'report'),
	'2', 'the refused attempts were not counted: hits stays at the limit');
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom.incident i WHERE i.reporter_ref = 'ea-rl'), 2,
	'... and no incident was written for them');

------------------------------------------------------------------------------
-- Escalation: a member's panic, made due and escalated by the superuser,
-- seen by a responder; the responder's acknowledgement stops it
------------------------------------------------------------------------------
SELECT COALESCE(pg_catalog.max(e.seq), 0) AS mark_panic FROM naboom.event e \gset
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-res2"}';
SELECT i.reference AS ref_panic, i.escalation_level AS panic_level, i.next_escalation_at > pg_catalog.now() AS panic_later
FROM naboom_api.raise_panic('tap-ev-a', -24.515, 28.705, note => 'Intruders (tap events)') i \gset
RESET ROLE;
SET LOCAL request.jwt.claims = '';
SELECT tap.is(:'panic_level' || ' ' || :'panic_later', '0 t', 'raise_panic, a resident: level 0, first escalation later');
SELECT tap.is(naboom.run_escalation(), 0, 'run_escalation before it is due: nothing');
UPDATE naboom.incident SET next_escalation_at = pg_catalog.now() - interval '1 second' WHERE reference = :'ref_panic';
SELECT tap.is(naboom.run_escalation(), 1, 'run_escalation once it is due: one incident escalated');
SELECT tap.is((SELECT i.escalation_level || ' ' || (i.next_escalation_at > pg_catalog.now())
		FROM naboom.incident i WHERE i.reference = :'ref_panic'),
	'1 true', '... level 1, the next step later');
SELECT tap.is((SELECT pg_catalog.string_agg(tl.entry_kind || COALESCE(' ' || (tl.detail->>'level'), ''), ', ' ORDER BY tl.seq)
		FROM naboom.incident_timeline tl JOIN naboom.incident i
			ON i.community_id = tl.community_id AND i.incident_id = tl.incident_id
		WHERE i.reference = :'ref_panic'),
	'reported, escalated 1', '... an escalated entry (level 1) in the timeline');
SELECT naboom.publish_events() > 0 AS published_panic \gset

SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-resp"}';
SELECT tap.is((SELECT pg_catalog.string_agg(e.topic || ' ' || e.payload::text, ', ' ORDER BY e.id)
		FROM naboom_api.events_since(:mark_panic) e WHERE e.reference = :'ref_panic'),
	'panic.raised {"priority": "critical"}, incident.updated {"version": 2}, incident.escalated {"level": 1}',
	'events_since, a responder: panic.raised, the superuser''s edit making it due (incident.updated), then incident.escalated at level 1');
SET LOCAL request.jwt.claims = '{"sub":"ea-res"}';
SELECT tap.is((SELECT pg_catalog.count(*)::integer FROM naboom_api.events_since(:mark_panic) e WHERE e.reference = :'ref_panic'), 0,
	'events_since, another resident: none of the (private) panic''s events');
SET LOCAL request.jwt.claims = '{"sub":"ea-resp"}';
SELECT (i.acknowledged_at IS NOT NULL) || ' ' || (i.next_escalation_at IS NULL) AS ack_result
FROM naboom_api.acknowledge_incident(:'ref_panic') i \gset
RESET ROLE;
SET LOCAL request.jwt.claims = '';
SELECT tap.ok(:'ack_result' = 'true true' AND (SELECT i.next_escalation_at IS NULL AND i.acknowledged_by = 'ea-resp'
		FROM naboom.incident i WHERE i.reference = :'ref_panic'),
	'acknowledge_incident, the responder: acknowledged, next_escalation_at NULL (returned and in the table)');
UPDATE naboom.incident SET next_escalation_at = pg_catalog.now() - interval '1 second' WHERE reference = :'ref_panic';
SELECT tap.is(naboom.run_escalation(), 0, 'run_escalation on the acknowledged panic, even when due: nothing');

------------------------------------------------------------------------------
-- The SLA report: moderators, nobody below
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_user;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ea-mod"}';
SELECT tap.is((SELECT pg_catalog.string_agg(r.category || ' ' || COALESCE(r.area, '-') || ' ' || r.incidents
			|| ' ' || r.acknowledged, ', ' ORDER BY r.category)
		FROM naboom_api.sla_report('tap-ev-a', pg_catalog.now() - interval '1 day', pg_catalog.now() + interval '1 day') r),
	'burglary - 1 0, panic - 1 1, pothole - 4 0',
	'sla_report, a moderator: one row per category of A''s incidents (the panic acknowledged)');
SET LOCAL request.jwt.claims = '{"sub":"ea-res"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.sla_report('tap-ev-a', pg_catalog.now() - interval '1 day', pg_catalog.now())$$),
	'42501 naboom.insufficient_role', 'sla_report, a resident: 42501 naboom.insufficient_role');
RESET ROLE;

SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.message_of($$SELECT * FROM naboom_api.sla_report('tap-ev-a', pg_catalog.now() - interval '1 day', pg_catalog.now())$$),
	'42501 permission denied for function sla_report', 'as naboom_anon: sla_report is refused (42501)');
RESET ROLE;

SELECT * FROM tap.finish();
ROLLBACK;
