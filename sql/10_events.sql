-- Real time (0.4.0): the event stream and its payloads, who sees which
-- events, panic escalation, rate limits, the SLA report.  The stream is
-- published by the background writer; naboom.events_wait() waits for it.
\pset format unaligned
\pset tuples_only on
\i test/include/responders.psql

-- Events after a mark, as the service sees them (references masked).
CREATE TABLE t.ev_marks (name text PRIMARY KEY, id bigint);
CREATE FUNCTION t.ev_mark(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM naboom.events_wait(20000);
	INSERT INTO t.ev_marks VALUES (ev_mark.name, (SELECT coalesce(max(seq), 0) FROM naboom.event))
	ON CONFLICT ON CONSTRAINT ev_marks_pkey DO UPDATE SET id = excluded.id;
END
$$;
CREATE FUNCTION t.ev_since(name text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT naboom.events_wait(20000) THEN
		RAISE EXCEPTION 'events were not published';
	END IF;
	RETURN QUERY SELECT concat_ws(' | ', e.topic, e.community, t.mask(e.reference), e.payload::text)
	FROM naboom_api.events_since((SELECT id FROM t.ev_marks m WHERE m.name = ev_since.name), 1000) e
	ORDER BY e.id;
END
$$;

SELECT t.as_service();
SELECT naboom.events_wait(30000);

------------------------------------------------------------------------------
-- Every kind of event, with its payload
------------------------------------------------------------------------------
SELECT t.ev_mark('life');
SELECT t.as_user('u-res1');
SELECT reference AS ev_ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5305, 28.7205,
	'Garage broken into (events)') \gset
SELECT t.as_user('u-mod');
SELECT status FROM naboom_api.transition_incident(:'ev_ref', 'verified');
SELECT status FROM naboom_api.assign_incident(:'ev_ref', 'u-resp1');
SELECT t.as_user('u-resp1');
SELECT acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident(:'ev_ref');
SELECT status FROM naboom_api.transition_incident(:'ev_ref', 'en_route');
SELECT t.as_service();
SELECT t.ev_since('life');
-- Nothing committed stays unpublished; ids are gap-free stream positions.
SELECT count(*) FROM naboom.event WHERE seq IS NULL;
SELECT max(seq) = count(*) FROM naboom.event;
-- The stream is in the timeline's order for the incident.
SELECT string_agg(e.topic, ', ' ORDER BY e.id) FROM naboom_api.events_since(
	(SELECT id FROM t.ev_marks WHERE name = 'life'), 1000) e WHERE e.reference = :'ev_ref';
-- A duplicate merged into it: the duplicate's status change, then
-- incident.merged on the incident it was merged into.
SELECT t.ev_mark('merge');
SELECT t.as_user('u-res2');
SELECT reference AS dup_ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5306, 28.7206,
	'Garage door open (events)') \gset
SELECT t.as_user('u-mod');
SELECT status FROM naboom_api.transition_incident(:'dup_ref', 'duplicate', 'Same garage', duplicate_of => :'ev_ref');
SELECT t.as_service();
SELECT naboom.events_wait(20000);
SELECT e.topic, e.reference = :'ev_ref' AS on_original, e.reference = :'dup_ref' AS on_duplicate, e.payload->>'merged' = :'dup_ref' AS names_duplicate
FROM naboom_api.events_since((SELECT id FROM t.ev_marks WHERE name = 'merge'), 1000) e
WHERE e.reference IN (:'ev_ref', :'dup_ref') AND e.topic <> 'alert.created' ORDER BY e.id;
-- Payloads are small (ids, statuses, levels; never people or text).
SELECT max(octet_length(payload::text)) < 100 FROM naboom.event;

------------------------------------------------------------------------------
-- Who sees what: the service everything; a member their communities'
-- events, private incidents' only as responder, moderator or reporter
------------------------------------------------------------------------------
SELECT t.ev_mark('private');
SELECT t.as_user('u-res2');
SELECT reference AS priv_ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5405, 28.7305,
	'Someone in the yard (private)', is_public => false) \gset
SELECT naboom.events_wait(20000);
SELECT t.as_user('u-res2');		-- the reporter
SELECT count(*) FROM naboom_api.events_since((SELECT id FROM t.ev_marks WHERE name = 'private')) e WHERE e.reference = :'priv_ref';
SELECT t.as_user('u-res1');		-- another resident
SELECT count(*) FROM naboom_api.events_since((SELECT id FROM t.ev_marks WHERE name = 'private')) e WHERE e.reference = :'priv_ref';
SELECT t.as_user('u-resp1');	-- a responder
SELECT count(*) FROM naboom_api.events_since((SELECT id FROM t.ev_marks WHERE name = 'private')) e WHERE e.reference = :'priv_ref';
SELECT t.as_user('u-other');	-- another community
SELECT count(*) FROM naboom_api.events_since((SELECT id FROM t.ev_marks WHERE name = 'life')) e WHERE e.community = 'mookgophong';
-- Paging: max_count, after_id.
SELECT t.as_service();
SELECT count(*) FROM naboom_api.events_since(0, 3);
SELECT bool_and(e.id > 3) FROM naboom_api.events_since(3, 5) e;
SELECT t.err($$SELECT * FROM naboom_api.events_since(-1)$$);
SELECT t.err($$SELECT * FROM naboom_api.events_since(0, 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.events_since(0, 5000)$$);
SELECT t.err($$SELECT naboom.publish_events(0)$$);
RESET ROLE;
SET ROLE naboom_user;
SELECT t.err($$SELECT * FROM naboom_api.events_since(0)$$);
RESET ROLE;
SET ROLE naboom_anon;
SELECT t.err($$SELECT * FROM naboom_api.events_since(0)$$);
RESET ROLE;
-- A rolled-back change leaves no event.
SELECT t.ev_mark('rollback');
BEGIN;
SELECT t.as_user('u-mod');
SELECT status FROM naboom_api.transition_incident(:'ev_ref', 'on_scene');
ROLLBACK;
SELECT t.as_service();
SELECT count(*) FROM t.ev_since('rollback');

------------------------------------------------------------------------------
-- Panic escalation: each due step raises the level, alerts the next ring of
-- responders in a wider radius, the last step the moderators; a timeline
-- entry and an event per step; acknowledging stops it
------------------------------------------------------------------------------
SELECT t.ev_mark('panic');
SELECT t.as_user('u-res1');
SELECT reference AS panic_ref, escalation_level, next_escalation_at > now() AS later
FROM naboom_api.raise_panic('mookgophong', -24.515, 28.705, note => 'Intruders at the house') \gset
SELECT :'panic_ref' <> '', :escalation_level, :'later';
SELECT t.as_service();
-- Not due yet: nothing happens.
SELECT naboom.run_escalation();
CREATE FUNCTION t.make_due(ref text) RETURNS void LANGUAGE sql AS $$
	UPDATE naboom.incident SET next_escalation_at = now() - interval '1 second' WHERE reference = ref
$$;
SELECT t.make_due(:'panic_ref');
SELECT naboom.run_escalation();
SELECT escalation_level, next_escalation_at > now() FROM naboom.incident WHERE reference = :'panic_ref';
SELECT naboom.run_escalation();	-- the next step is not due
SELECT t.make_due(:'panic_ref');
SELECT naboom.run_escalation();
SELECT t.make_due(:'panic_ref');
SELECT naboom.run_escalation();
-- Three steps (the community's escalation_steps): the last alerted the
-- moderators and admins, and escalation stopped.
SELECT escalation_level, next_escalation_at IS NULL FROM naboom.incident WHERE reference = :'panic_ref';
SELECT a.escalation_level, a.reason, count(*) FROM naboom.alert a
JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
WHERE i.reference = :'panic_ref' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT string_agg(entry_kind || coalesce(' ' || (detail->>'level'), ''), ', ' ORDER BY seq)
FROM naboom.incident_timeline tl JOIN naboom.incident i USING (community_id, incident_id) WHERE i.reference = :'panic_ref';
SELECT t.ev_since('panic');
-- Acknowledging stops escalation.
SELECT t.as_user('u-res1');
SELECT reference AS panic2 FROM naboom_api.raise_panic('mookgophong', -24.516, 28.706) \gset
SELECT t.as_user('u-resp1');
SELECT acknowledged_at IS NOT NULL, next_escalation_at IS NULL FROM naboom_api.acknowledge_incident(:'panic2');
SELECT t.as_service();
SELECT t.make_due(:'panic2');
SELECT naboom.run_escalation();
-- A critical report escalates too; a high one does not.
SELECT t.as_user('u-res1');
SELECT next_escalation_at IS NOT NULL FROM naboom_api.report_incident('mookgophong', 'gbv', -24.52, 28.71, 'Screams next door');
SELECT next_escalation_at IS NULL FROM naboom_api.report_incident('mookgophong', 'burglary', -24.5506, 28.7506, 'Window broken');

------------------------------------------------------------------------------
-- Rate limits: per member and action in a fixed window, set per community
-- in settings->'rate_limits'; over the limit PT429 with the time to wait
------------------------------------------------------------------------------
CREATE FUNCTION t.err_masked(sql text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(t.err(sql), '[0-9]+ seconds', 'N seconds', 'g')
$$;
SELECT t.as_service();
-- (Windows of 10^9 seconds: the test never straddles a window boundary.)
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"report": [3, 1000000000], "panic": [2, 1000000000], "subscription": [1, 1000000000]}}'
WHERE slug = 'modimolle';
SELECT t.as_user('u-other-admin');
SELECT code FROM naboom_api.upsert_category('modimolle', 'theft', 'Theft', 'Diefstal', 'medium');
SELECT t.as_user('rl-user');
SELECT role FROM naboom_api.join_community('modimolle', 'Rate Limited');
SELECT reference IS NOT NULL FROM naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'three');
SELECT count(*) FROM (SELECT naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'one')
	UNION ALL SELECT naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'two')) x;
SELECT t.err_masked($$SELECT naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'four')$$);
SELECT t.err_masked($$SELECT naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'five')$$);
-- The refused attempts were not counted, and nothing was written.
SELECT hits FROM naboom.rate_counter WHERE user_ref = 'rl-user' AND action = 'report';
SELECT count(*) FROM naboom.incident WHERE description IN ('four', 'five');
-- Panics have their own limit.
SELECT reference IS NOT NULL FROM naboom_api.raise_panic('modimolle', -24.70, 28.41);
SELECT reference IS NOT NULL FROM naboom_api.raise_panic('modimolle', -24.70, 28.41);
SELECT t.err_masked($$SELECT naboom_api.raise_panic('modimolle', -24.70, 28.41)$$);
-- Subscriptions too (add and remove).
SELECT label FROM naboom_api.subscribe('modimolle', -24.70, 28.41, 500, label => 'Farm');
SELECT t.err_masked($$SELECT naboom_api.subscribe('modimolle', -24.70, 28.41, 500, label => 'Dam')$$);
-- Limits are per community: a report elsewhere (default limits) counts
-- there and does not reset this community's count.
SELECT role FROM naboom_api.join_community('mookgophong', 'Rate Limited');
SELECT reference IS NOT NULL FROM naboom_api.report_incident('mookgophong', 'water_leak', -24.56, 28.76, 'Pipe burst');
SELECT t.err_masked($$SELECT naboom_api.report_incident('modimolle', 'theft', -24.70, 28.41, 'six')$$);
SELECT t.as_service();
SELECT c.slug, r.hits FROM naboom.rate_counter r JOIN naboom.community c USING (community_id)
WHERE r.user_ref = 'rl-user' AND r.action = 'report' ORDER BY 1;
SELECT count(*) FROM naboom.incident WHERE community_id = (SELECT community_id FROM naboom.community WHERE slug = 'modimolle')
	AND reporter_ref = 'rl-user';

------------------------------------------------------------------------------
-- The SLA report
------------------------------------------------------------------------------
SELECT slug FROM naboom_api.create_community('sla-town', 'SLA Town',
	'{"type":"Polygon","coordinates":[[[20.0,-30.0],[20.1,-30.0],[20.1,-29.9],[20.0,-29.9],[20.0,-30.0]]]}',
	admin_ref => 'sla-admin');
SELECT t.as_user('sla-admin');
SELECT code FROM naboom_api.upsert_area('sla-town', 'north', 'North',
	'{"type":"Polygon","coordinates":[[[20.0,-29.95],[20.1,-29.95],[20.1,-29.9],[20.0,-29.9],[20.0,-29.95]]]}');
SELECT code FROM naboom_api.upsert_category('sla-town', 'fire', 'Fire', 'Brand', 'high', ack_target => '10 minutes', resolve_target => '2 hours');
SELECT code FROM naboom_api.upsert_category('sla-town', 'theft', 'Theft', 'Diefstal', 'medium', ack_target => '1 hour', resolve_target => '1 day');
-- History with known times, written directly by the superuser.
SELECT t.as_service();
SET session_replication_role = replica;
INSERT INTO naboom.incident (community_id, reference, category_code, title, location, priority, status, reporter_ref,
	area_id, created_at, acknowledged_at, resolved_at)
SELECT c.community_id, naboom.new_reference(), v.cat, 'SLA ' || v.n,
	ST_SetSRID(ST_MakePoint(20.05, CASE WHEN v.north THEN -29.92 ELSE -29.97 END), 4326), 'high', v.status, 'sla-admin',
	CASE WHEN v.north THEN (SELECT a.area_id FROM naboom.area a WHERE a.community_id = c.community_id AND a.code = 'north') END,
	'2026-06-01 08:00+00'::timestamptz + v.n * interval '1 hour',
	'2026-06-01 08:00+00'::timestamptz + v.n * interval '1 hour' + v.ack,
	'2026-06-01 08:00+00'::timestamptz + v.n * interval '1 hour' + v.res
FROM naboom.community c, (VALUES
	(1, 'fire', true, 'closed', interval '2 minutes', interval '1 hour'),
	(2, 'fire', true, 'closed', interval '4 minutes', interval '90 minutes'),
	(3, 'fire', true, 'closed', interval '20 minutes', interval '3 hours'),
	(4, 'fire', false, 'closed', interval '6 minutes', interval '30 minutes'),
	(5, 'theft', true, 'resolved', interval '30 minutes', interval '5 hours'),
	(6, 'theft', true, 'verified', interval '2 hours', NULL),
	(7, 'theft', true, 'duplicate', NULL, NULL)) v(n, cat, north, status, ack, res)
WHERE c.slug = 'sla-town';
RESET session_replication_role;
SELECT t.as_user('sla-admin');
SELECT * FROM naboom_api.sla_report('sla-town', '2026-06-01', '2026-06-02');
SELECT t.err($$SELECT * FROM naboom_api.sla_report('sla-town', '2026-06-02', '2026-06-01')$$);
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT * FROM naboom_api.sla_report('mookgophong', '2026-06-01', '2026-06-02')$$);

------------------------------------------------------------------------------
-- Scheduling with pg_cron: refused with a clear error without it; then
-- idempotent
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT t.err($$SELECT * FROM naboom.schedule_jobs()$$);
CREATE EXTENSION pg_cron;
SELECT * FROM naboom.schedule_jobs();
SELECT count(*) FROM naboom.schedule_jobs();
SELECT jobname, schedule, command FROM cron.job WHERE jobname LIKE 'naboom-%' ORDER BY jobname;
-- The tests that follow do not want jobs running behind them.
SELECT cron.unschedule(jobname) FROM cron.job WHERE jobname LIKE 'naboom-%' ORDER BY jobname;
DROP EXTENSION pg_cron;

------------------------------------------------------------------------------
-- One community's stream (0.7.0; the only kind on a Citus cluster):
-- events_since(community => slug) returns that community's events only, in
-- stream order, as the unfiltered call shows them; an unknown slug is PT404;
-- a member of another community sees none of it.  naboom.on_every_node and
-- naboom.anonymise_audit_of are a superuser's: on a single node
-- on_every_node runs here only; a member is refused (42501)
------------------------------------------------------------------------------
SELECT naboom.events_wait(20000);
SELECT t.as_user('u-res1');
SELECT (SELECT array_agg(e.id ORDER BY e.id) FROM naboom_api.events_since(0, 1000, 'mookgophong') e)
	= (SELECT array_agg(e.id ORDER BY e.id) FROM naboom_api.events_since(0, 1000) e WHERE e.community = 'mookgophong')
	AS same_as_filtered,
	(SELECT count(*) > 0 AND bool_and(e.community = 'mookgophong') FROM naboom_api.events_since(0, 1000, 'mookgophong') e)
	AS only_that_community;
SELECT t.err($$SELECT * FROM naboom_api.events_since(0, 10, 'no-such-town')$$);
SELECT t.as_user('u-other');
SELECT count(*) FROM naboom_api.events_since(0, 1000, 'mookgophong');
SELECT t.as_service();
-- the gateway's role may not call them; a role granted EXECUTE by mistake
-- is still refused by the functions themselves
SET ROLE naboom_user;
SELECT t.err($$SELECT * FROM naboom.on_every_node('SELECT 1')$$);
SELECT t.err($$SELECT naboom.anonymise_audit_of('{u-res1}', '{}', '{}')$$);
RESET ROLE;
CREATE ROLE regress_ops;
GRANT USAGE ON SCHEMA naboom TO regress_ops;
GRANT EXECUTE ON FUNCTION naboom.on_every_node(text, boolean), naboom.anonymise_audit_of(text[], bigint[], bigint[])
	TO regress_ops;
SET ROLE regress_ops;
SELECT t.err($$SELECT * FROM naboom.on_every_node('SELECT 1')$$);
SELECT t.err($$SELECT naboom.anonymise_audit_of('{u-res1}', '{}', '{}')$$);
RESET ROLE;
REVOKE ALL ON SCHEMA naboom FROM regress_ops;
REVOKE ALL ON FUNCTION naboom.on_every_node(text, boolean), naboom.anonymise_audit_of(text[], bigint[], bigint[])
	FROM regress_ops;
DROP ROLE regress_ops;
SELECT node, success, result FROM naboom.on_every_node('SELECT 40 + 2', true);
SELECT node, success, result FROM naboom.on_every_node('SELECT 1/0');
SELECT t.err($$SELECT * FROM naboom.on_every_node('SELECT 1/0', true)$$);
