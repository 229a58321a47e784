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
-- backdates under session_replication_role = replica, as a restore would.
SET session_replication_role = replica;
UPDATE naboom.incident SET created_at = date_trunc('second', now()) - interval '10 minutes'
WHERE reference IN (t.ref('Q1'), t.ref('Q2'), t.ref('Q3'));
UPDATE naboom.incident SET created_at = now() - interval '5 minutes' WHERE reference = t.ref('Q4');
RESET session_replication_role;
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
