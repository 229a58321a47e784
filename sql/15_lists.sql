-- The lists (0.7.0, issue 13 items 1-3): the control room's queue, the
-- community's feed, my reports and my assignments.  Ordering, keyset pages
-- across ties, filters, visibility per caller, audited reads, and every
-- error with its SQLSTATE and key.
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- A category whose acknowledgement is due within a minute, so an incident
-- can be overdue; a resident of mookgophong who also lives in modimolle.
SELECT t.as_user('u-admin');
SELECT code FROM naboom_api.upsert_category('mookgophong', 'alarm', 'Alarm', 'Alarm', 'medium',
	ack_target => '1 minute', resolve_target => '1 hour');
SELECT t.as_user('u-other-admin');
SELECT code FROM naboom_api.upsert_category('modimolle', 'theft', 'Theft', 'Diefstal', 'medium');
SELECT t.as_user('u-res1');
SELECT role FROM naboom_api.join_community('modimolle', 'Piet Coetzee');

-- Reports, remembered by title (t.ref('Q1') is Q1's reference).
CREATE TABLE t.refs (title text PRIMARY KEY, reference text NOT NULL);
CREATE FUNCTION t.rep(who text, community text, cat text, title text, lat double precision, lon double precision,
	is_public boolean DEFAULT true, address text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	PERFORM t.as_user(who);
	SELECT reference INTO r FROM naboom_api.report_incident(community, cat, lat, lon, 'About ' || title, title,
		address => address, is_public => is_public);
	INSERT INTO t.refs VALUES (title, r);
	RETURN title;
END $$;
CREATE FUNCTION t.ref(title text) RETURNS text LANGUAGE sql AS $$
	SELECT r.reference FROM t.refs r WHERE r.title = ref.title
$$;
-- Every page of a list, walked with the cursor of each page's last row:
-- the titles of each page, pages separated by " / ".  call is the list's
-- call, with %L where the cursor goes.
CREATE FUNCTION t.walk(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	cur text;
	page text;
	pages text[] := '{}';
BEGIN
	LOOP
		EXECUTE format('SELECT string_agg(q.title, '' '' ORDER BY q.ordinality),
				(array_agg(q.cursor ORDER BY q.ordinality DESC))[1]
			FROM %s WITH ORDINALITY AS q', format(call, cur)) INTO page, cur;
		EXIT WHEN page IS NULL;
		pages := pages || page;
		EXIT WHEN cardinality(pages) > 20;
	END LOOP;
	RETURN coalesce(array_to_string(pages, ' / '), '(none)');
END $$;
-- One page of a list as titles.
CREATE FUNCTION t.page(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE page text;
BEGIN
	EXECUTE format('SELECT string_agg(q.title, '' '' ORDER BY q.ordinality) FROM %s WITH ORDINALITY AS q', call) INTO page;
	RETURN coalesce(page, '(none)');
END $$;

------------------------------------------------------------------------------
-- The incidents.  Q1-Q3 are backdated to the same moment ten minutes ago
-- (a tie: the id breaks it), Q4 (alarm, acknowledge within a minute) to
-- five minutes ago, so it is overdue.  Q5 is sensitive and public, with an
-- address; Q7 is private; Q6 gets resolved; M1 is in modimolle.
------------------------------------------------------------------------------
SELECT t.rep('u-res1', 'mookgophong', 'stock_theft', 'Q1', -24.60, 28.62);		-- nylsvley
SELECT t.rep('u-res2', 'mookgophong', 'burglary', 'Q2', -24.52, 28.71);		-- town
SELECT t.rep('u-res1', 'mookgophong', 'water_leak', 'Q3', -24.505, 28.695);
SELECT t.rep('u-res2', 'mookgophong', 'alarm', 'Q4', -24.51, 28.70);
SELECT t.rep('u-res1', 'mookgophong', 'gbv', 'Q5', -24.515, 28.72, address => '7 Kameeldoring Street');
SELECT t.rep('u-res2', 'mookgophong', 'water_leak', 'Q6', -24.45, 28.85);
SELECT t.rep('u-res2', 'mookgophong', 'water_leak', 'Q7', -24.46, 28.84, is_public => false);
SELECT t.rep('u-res1', 'modimolle', 'theft', 'M1', -24.70, 28.40);
SELECT t.as_service();
-- The workflow trigger refuses to change created_at; the superuser
-- backdates under session_replication_role = replica, as a restore would,
-- and stamps the queue's due time of the four again (a restore loads it
-- with the row).
SET session_replication_role = replica;
UPDATE naboom.incident SET created_at = date_trunc('second', now()) - interval '10 minutes'
WHERE reference IN (t.ref('Q1'), t.ref('Q2'), t.ref('Q3'));
UPDATE naboom.incident SET created_at = now() - interval '5 minutes' WHERE reference = t.ref('Q4');
RESET session_replication_role;
SELECT naboom.restamp_queue_due(NULL, NULL);
SELECT t.step('u-resp1', t.ref('Q2'), 'verified');
SELECT t.step('u-resp1', t.ref('Q6'), 'dispatched');
SELECT t.step('u-resp1', t.ref('Q6'), 'resolved', 'Fixed the pipe');

------------------------------------------------------------------------------
-- incident_queue: overdue first (Q4), then by priority (Q5 critical, Q2 and
-- Q1 high, Q3 and Q7 low), then the SLA that falls due first (Q2's
-- acknowledgement is due 15 minutes after the report, Q1's after 30), then
-- age (Q3 before Q7).  Resolved Q6 and modimolle's M1 are not in it.
------------------------------------------------------------------------------
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.incident_queue('mookgophong')$$);
SELECT title, priority, overdue, acknowledged, ack_due_at - created_at, resolve_due_at - created_at
FROM naboom_api.incident_queue('mookgophong') ORDER BY title;
-- Pages of two, one, four: the same order, nothing twice, nothing missed.
SELECT t.walk($$naboom_api.incident_queue('mookgophong', after => %L, max_count => 2)$$);
SELECT t.walk($$naboom_api.incident_queue('mookgophong', after => %L, max_count => 1)$$);
SELECT t.walk($$naboom_api.incident_queue('mookgophong', after => %L, max_count => 4)$$);
-- Responders and the service see the queue too.
SELECT t.as_user('u-resp2');
SELECT t.page($$naboom_api.incident_queue('mookgophong')$$);
SELECT t.as_service();
SELECT t.page($$naboom_api.incident_queue('MOOKGOPHONG')$$);
-- Acknowledged, Q2's next deadline is its resolution (a day after the
-- report), no longer its acknowledgement (15 minutes): Q1, due to be
-- acknowledged 30 minutes after the report, moves ahead of it.
SELECT t.as_user('u-resp1');
SELECT acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident(t.ref('Q2'));
SELECT title, acknowledged, ack_due_at < resolve_due_at FROM naboom_api.incident_queue('mookgophong', priorities => '{high}');
-- Filters.
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.incident_queue('mookgophong', statuses => '{verified}')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', statuses => '{reported,verified}', priorities => '{high,low}')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', priorities => '{CRITICAL}')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', category => 'Water_Leak')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', area => 'nylsvley')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', overdue_only => true)$$);
SELECT t.step('u-resp1', t.ref('Q3'), 'dispatched');
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.incident_queue('mookgophong', assignee => 'u-resp1')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', assignee => 'u-resp2')$$);
SELECT t.page($$naboom_api.incident_queue('mookgophong', category => 'water_leak', statuses => '{reported}')$$);
-- One walk sorts by the clock of its first page, which the cursor
-- carries: a cursor made an hour ago (before everything here, not
-- overdue, critical) gives the order of an hour ago, when Q4 was not yet
-- overdue; each row's overdue says how things stand now.
SELECT string_agg(title || ':' || overdue, ' ' ORDER BY ordinality)
FROM naboom_api.incident_queue('mookgophong', after => naboom.page_cursor('queue',
	ARRAY[naboom.cursor_time(now() - interval '1 hour'), 'critical', naboom.cursor_time('2000-01-01'), '0', '0'])) WITH ORDINALITY;

-- Errors.
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('nowhere')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', statuses => '{reported,lost}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', statuses => '{}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', statuses => '{closed}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', priorities => '{high,urgent}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', priorities => '{}')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', category => 'theft')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', area => 'moon')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', assignee => 'u-other')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', max_count => 0)$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', max_count => 501)$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', after => 'not a cursor')$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong', after => 'bm90IGEgY3Vyc29y')$$);
SELECT t.err(format('SELECT * FROM naboom_api.incident_queue(%L, after => %L)', 'mookgophong',
	(SELECT cursor FROM naboom_api.community_incidents('mookgophong', max_count => 1))));
-- A hand-made cursor with a good checksum but a sort key no queue makes.
SELECT t.err(format('SELECT * FROM naboom_api.incident_queue(%L, after => %L)', 'mookgophong',
	naboom.page_cursor('queue', ARRAY['yesterday', 'high', '0', '0', '0'])));
SELECT t.err(format('SELECT * FROM naboom_api.incident_queue(%L, after => %L)', 'mookgophong',
	naboom.page_cursor('queue', ARRAY['0', 'urgent', '0', '0', '0'])));
SELECT t.err(format('SELECT * FROM naboom_api.incident_queue(%L, after => %L)', 'mookgophong',
	naboom.page_cursor('queue', ARRAY['0', 'high', '0', '0'])));
SELECT t.as_user('u-ver');
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong')$$);
SELECT t.as_user('u-other');
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong')$$);
SET ROLE naboom_anon;
SELECT t.as_service();
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong')$$);
RESET ROLE;

------------------------------------------------------------------------------
-- community_incidents: newest first, every status; the tie of Q1-Q3 is
-- broken by id, across pages.
------------------------------------------------------------------------------
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.community_incidents('mookgophong')$$);
SELECT t.walk($$naboom_api.community_incidents('mookgophong', after => %L, max_count => 2)$$);
SELECT t.walk($$naboom_api.community_incidents('mookgophong', after => %L, max_count => 3)$$);
-- Who sees what: the public and other communities' members see public
-- incidents; a resident also sees their own private ones (Q7 is
-- u-res2's); the sensitive Q5 is blurred for all but its reporter and
-- staff, and its reporter is shown to staff only.
SET ROLE naboom_anon;
SELECT t.as_service();
SELECT t.walk($$naboom_api.community_incidents('mookgophong', after => %L, max_count => 3)$$);
SELECT title, location_blurred, address, reporter_name, is_mine, assignee FROM naboom_api.community_incidents('mookgophong')
WHERE title IN ('Q5', 'Q3');
RESET ROLE;
SELECT t.as_user('u-other');
SELECT t.page($$naboom_api.community_incidents('mookgophong')$$);
SELECT t.as_user('u-res1');
SELECT t.page($$naboom_api.community_incidents('mookgophong')$$);
SELECT title, location_blurred, address, reporter_name, is_mine FROM naboom_api.community_incidents('mookgophong') WHERE title = 'Q5';
SELECT t.as_user('u-res2');
SELECT t.page($$naboom_api.community_incidents('mookgophong')$$);
SELECT title, location_blurred, address, reporter_name, is_mine FROM naboom_api.community_incidents('mookgophong') WHERE title IN ('Q5', 'Q7');
SELECT t.as_user('u-resp1');
SELECT title, location_blurred, address, reporter_name, is_mine FROM naboom_api.community_incidents('mookgophong') WHERE title = 'Q5';
-- Filters.
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.community_incidents('mookgophong', statuses => '{resolved,dispatched}')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', category => 'water_leak')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', area => 'Nylsvley')$$);
SELECT t.page(format('naboom_api.community_incidents(%L, since => %L)', 'mookgophong', now() - interval '7 minutes'));
SELECT t.page(format('naboom_api.community_incidents(%L, until => %L)', 'mookgophong', now() - interval '7 minutes'));
SELECT t.page(format('naboom_api.community_incidents(%L, since => %L, until => %L)', 'mookgophong',
	now() - interval '7 minutes', now() - interval '1 minute'));
SELECT t.page(format('naboom_api.community_incidents(%L, since => %L, until => %L)', 'mookgophong', now(), now()));
-- Search: words of the title, description or address, any case; several
-- words must all match; "or" and quotes as in web search engines.
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'q2')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'ABOUT q3')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'q3 or q4')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'kameeldoring')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'about', after => NULL, max_count => 2)$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'M1')$$);
-- A blurred incident's address is hidden, so it is not searched either:
-- the public and residents do not find Q5 by its street, its reporter and
-- staff do.
SELECT t.as_user('u-res2');
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'kameeldoring')$$);
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'about q5')$$);
SELECT t.as_user('u-res1');
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'kameeldoring')$$);
SET ROLE naboom_anon;
SELECT t.as_service();
SELECT t.page($$naboom_api.community_incidents('mookgophong', search => 'kameeldoring street')$$);
RESET ROLE;
-- Errors.
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('nowhere')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', statuses => '{gone}')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', category => 'theft')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', area => 'moon')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', since => '2026-06-02', until => '2026-06-01')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', search => '   ')$$);
SELECT t.err(format('SELECT * FROM naboom_api.community_incidents(%L, search => %L)', 'mookgophong', repeat('x', 201)));
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', search => '!!! &')$$);
SELECT t.err($$SELECT * FROM naboom_api.community_incidents('mookgophong', max_count => -1)$$);
SELECT t.err(format('SELECT * FROM naboom_api.community_incidents(%L, after => %L)', 'mookgophong',
	(SELECT cursor FROM naboom_api.my_incidents(max_count => 1))));
SELECT t.err(format('SELECT * FROM naboom_api.community_incidents(%L, after => %L)', 'mookgophong',
	naboom.page_cursor('feed', ARRAY['1', 'one'])));

------------------------------------------------------------------------------
-- my_incidents: what I reported, every community, newest first.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT t.page($$naboom_api.my_incidents()$$);
SELECT t.walk($$naboom_api.my_incidents(after => %L, max_count => 1)$$);
SELECT t.walk($$naboom_api.my_incidents(after => %L, max_count => 3)$$);
SELECT community, title, is_mine, reporter_name FROM naboom_api.my_incidents(max_count => 2);
SELECT t.page($$naboom_api.my_incidents(statuses => '{dispatched}')$$);
SELECT t.as_user('u-res2');
SELECT t.page($$naboom_api.my_incidents()$$);
SELECT t.as_user('u-resp1');
SELECT t.page($$naboom_api.my_incidents()$$);
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT * FROM naboom_api.my_incidents(statuses => '{nope}')$$);
SELECT t.err($$SELECT * FROM naboom_api.my_incidents(max_count => 100000)$$);
SELECT t.err(format('SELECT * FROM naboom_api.my_incidents(after => %L)',
	(SELECT cursor FROM naboom_api.community_incidents('mookgophong', max_count => 1))));
SELECT t.as_service();
SELECT t.err($$SELECT * FROM naboom_api.my_incidents()$$);
SET ROLE naboom_anon;
SELECT t.err($$SELECT * FROM naboom_api.my_incidents()$$);
SET ROLE naboom_user;
SELECT t.err($$SELECT * FROM naboom_api.my_incidents()$$);
RESET ROLE;

------------------------------------------------------------------------------
-- my_assignments: my live assigned incidents, most urgent first.
------------------------------------------------------------------------------
SELECT t.step('u-resp1', t.ref('Q4'), 'dispatched');
SELECT t.as_user('u-resp1');
SELECT title, status, assignee, overdue, cursor IS NULL FROM naboom_api.my_assignments();
SELECT t.step('u-resp1', t.ref('Q3'), 'resolved', 'Done');
SELECT t.as_user('u-resp1');
SELECT t.page($$naboom_api.my_assignments()$$);
SELECT t.as_user('u-resp2');
SELECT t.page($$naboom_api.my_assignments()$$);
SELECT t.as_service();
SELECT t.err($$SELECT * FROM naboom_api.my_assignments()$$);
SET ROLE naboom_anon;
SELECT t.err($$SELECT * FROM naboom_api.my_assignments()$$);
SET ROLE naboom_user;
SELECT t.err($$SELECT * FROM naboom_api.my_assignments()$$);
SELECT t.err($$SELECT * FROM naboom_api.incident_queue('mookgophong')$$);
RESET ROLE;

------------------------------------------------------------------------------
-- Reads of private incidents are audited, one READ entry each (Q7 is the
-- only private one); public ones are not.
------------------------------------------------------------------------------
SELECT naboom.audit_queue_wait(30000);
SELECT max(id) AS audit_mark FROM naboom.audit_log \gset
SELECT t.as_user('u-mod');
SELECT count(*) FROM naboom_api.community_incidents('mookgophong');
SELECT count(*) FROM naboom_api.incident_queue('mookgophong');
SELECT t.as_user('u-res2');
SELECT count(*) FROM naboom_api.my_incidents();
SELECT t.as_user('u-res1');
SELECT count(*) FROM naboom_api.community_incidents('mookgophong');
SELECT naboom.audit_queue_wait(30000);
SELECT a.actor, a.detail->>'function', a.detail->'args'->>'reference' = t.ref('Q7')
FROM naboom.audit_log a WHERE a.id > :audit_mark AND a.action = 'READ' ORDER BY a.id;

------------------------------------------------------------------------------
-- The queue's due time (incident.queue_due_at), which its index orders
-- by: the workflow trigger stamps it on a report and on every change of
-- status, acknowledgement or category; a change of a category's targets
-- stamps its live incidents again (without a new version, timeline entry
-- or event); it is NULL once an incident is no longer live, and nobody
-- writes it by hand.  t.due_wrong() counts the incidents whose stored due
-- time is not what naboom.sla_due computes now; t.due(title) shows one as
-- time after the report.
------------------------------------------------------------------------------
CREATE FUNCTION t.due_wrong() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM naboom.incident i
	JOIN naboom.category c ON c.community_id = i.community_id AND c.code = i.category_code
	JOIN naboom.status s ON s.status = i.status
	WHERE i.queue_due_at IS DISTINCT FROM CASE WHEN s.status_type = 'open'
		THEN naboom.sla_due(i.created_at, i.acknowledged_at, c.ack_target, c.resolve_target) END
$$;
CREATE FUNCTION t.due(title text) RETURNS text LANGUAGE sql AS $$
	SELECT i.status || ' ' || coalesce((i.queue_due_at - i.created_at)::text, 'not live')
	FROM naboom.incident i WHERE i.reference = t.ref($1)
$$;
SELECT t.due_wrong();
SELECT title, t.due(title) FROM t.refs ORDER BY title;
-- A report: acknowledge within 15 minutes; acknowledged, resolve within a
-- day; dispatched, still; resolved, not live; reopened by its reporter,
-- live again (acknowledged: resolve-by).
SELECT t.rep('u-res1', 'mookgophong', 'water_leak', 'Q8', -24.506, 28.696);
SELECT t.due('Q8');
SELECT t.as_user('u-resp2');
SELECT acknowledged_at IS NOT NULL FROM naboom_api.acknowledge_incident(t.ref('Q8'));
SELECT t.due('Q8');
SELECT t.step('u-resp2', t.ref('Q8'), 'dispatched');
SELECT t.due('Q8');
SELECT t.step('u-resp2', t.ref('Q8'), 'resolved', 'Closed the valve');
SELECT t.due('Q8');
SELECT t.step('u-res1', t.ref('Q8'), 'verified', 'Still leaking');
SELECT t.due('Q8');
SELECT t.due_wrong();
-- A category's new targets: its live incidents follow (Q7 unacknowledged:
-- the new acknowledge-by; Q8 acknowledged: the new resolve-by; resolved
-- Q3 stays not live), with no new version, timeline entry or event.
SELECT version AS q7_version FROM naboom.incident WHERE reference = t.ref('Q7') \gset
SELECT count(*) AS q7_entries FROM naboom.incident_timeline l JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = t.ref('Q7') \gset
SELECT coalesce(max(event_id), 0) AS event_mark FROM naboom.event \gset
SELECT t.as_user('u-admin');
SELECT code, ack_target, resolve_target FROM naboom_api.upsert_category('mookgophong', 'water_leak', 'Water leak', 'Waterlek', 'low',
	ack_target => '5 minutes', resolve_target => '2 hours');
SELECT title, t.due(title) FROM t.refs WHERE title IN ('Q3', 'Q7', 'Q8') ORDER BY title;
SELECT version = :q7_version FROM naboom.incident WHERE reference = t.ref('Q7');
SELECT count(*) = :q7_entries FROM naboom.incident_timeline l JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = t.ref('Q7');
SELECT count(*) FROM naboom.event WHERE event_id > :event_mark;
-- Unchanged targets stamp nothing; a change of an incident's category (a
-- moderator's edit) stamps it from its new category.
SELECT code FROM naboom_api.upsert_category('mookgophong', 'water_leak', 'Water leak (pipes)', 'Waterlek', 'low',
	ack_target => '5 minutes', resolve_target => '2 hours');
SELECT t.as_service();
UPDATE naboom.incident SET category_code = 'alarm' WHERE reference = t.ref('Q7');
SELECT t.due('Q7');
SELECT t.due_wrong();
-- Nobody writes it by hand, not even the service.
SELECT t.err(format('UPDATE naboom.incident SET queue_due_at = now() WHERE reference = %L', t.ref('Q1')));
-- A status made no longer live takes its incidents out of the queue (Q4
-- is dispatched), and made live again puts them back (rolled back).
BEGIN;
UPDATE naboom.status SET status_type = 'fixed' WHERE status = 'dispatched';
SELECT t.due('Q4'), t.due_wrong();
UPDATE naboom.status SET status_type = 'open' WHERE status = 'dispatched';
SELECT t.due('Q4'), t.due_wrong();
ROLLBACK;
-- The queue in its order after all that.
SELECT t.as_user('u-mod');
SELECT t.page($$naboom_api.incident_queue('mookgophong')$$);
SELECT t.walk($$naboom_api.incident_queue('mookgophong', after => %L, max_count => 2)$$);

-- The plan of the queue's page query, taken from the function's own text
-- (its variables made parameters) and planned as the function plans it
-- (generic, with the function's enable_sort: see 10_lists.sql): one range
-- of incident_queue_idx per segment, the keyset and the due-time bound as
-- index conditions, no Sort: a page reads about a page, whatever the size
-- of the community.  (Filter lines left out.)
CREATE FUNCTION t.queue_plan() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	q text;
	line text;
BEGIN
	SELECT substring(p.prosrc FROM '(SELECT ROW\(i\.\*\)::naboom\.incident FROM naboom\.incident i.*?LIMIT n - cardinality\(page\))')
	INTO q FROM pg_proc p WHERE p.oid = 'naboom_api.incident_queue'::regproc;
	q := regexp_replace(q, '--[^\n]*', '', 'g');
	q := replace(q, 'c.community_id', '$1');
	q := replace(q, 'cardinality(page)', '0');
	q := regexp_replace(q, '\mlo_due\M', '$3', 'g');
	q := regexp_replace(q, '\mlo_created\M', '$4', 'g');
	q := regexp_replace(q, '\mlo_id\M', '$5', 'g');
	q := regexp_replace(q, '\mhi_due\M', '$6', 'g');
	q := regexp_replace(q, '\mlive\M', '$7', 'g');
	q := regexp_replace(q, '\mv_statuses\M', '$8', 'g');
	q := regexp_replace(q, '\mv_categories\M', '$9', 'g');
	q := regexp_replace(q, '\mv_area\M', '$10', 'g');
	q := regexp_replace(q, '\massignee\M', '$11', 'g');
	q := regexp_replace(q, '\mactor\M', '$12', 'g');
	q := regexp_replace(q, '\mmy_role\M', '$13', 'g');
	q := regexp_replace(q, '\mp\M', '$2', 'g');
	q := regexp_replace(q, '\mn\M', '$14', 'g');
	q := regexp_replace(q, '\mservice\M', '$15', 'g');
	EXECUTE 'PREPARE queue_segment(bigint, naboom.priority, timestamptz, timestamptz, bigint, timestamptz, text[],
		text[], text[], bigint, text, text, naboom.member_role, integer, boolean) AS ' || q;
	PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
	PERFORM set_config('enable_sort', (SELECT c.setting FROM pg_proc p, unnest(p.proconfig) x,
		LATERAL (SELECT split_part(x, '=', 2) AS setting) c
		WHERE p.oid = 'naboom_api.incident_queue'::regproc AND x LIKE 'enable\_sort=%'), true);
	FOR line IN EXECUTE $q$EXPLAIN (COSTS OFF) EXECUTE queue_segment(1, 'high', '-infinity', '-infinity', 0, now(),
			'{reported,verified}', NULL, NULL, NULL, NULL, 'u-mod', 'moderator', 50, false)$q$ LOOP
		CONTINUE WHEN line ~ '^\s*Filter:';
		RETURN NEXT line;
	END LOOP;
	DEALLOCATE queue_segment;
END $$;
SELECT t.queue_plan();
