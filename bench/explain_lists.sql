-- bench/explain_lists.sql: the plans the lists get on the benchmark's data,
-- for bench/out/explain-lists.txt (and, as JSON, for the report's plan
-- check: bench/lists_plans.sql).  Run by bench/run.sh as the superuser at
-- the end of the lists section:
--   psql -v format=text|json -f bench/explain_lists.sql
-- Every call as its benchmark script makes it, in community 1: the queue as
-- its moderator, the feed as a resident and anonymously, page 101 of the
-- feed (bench.list_deep), my_incidents as the resident with the most
-- reports (bench.list_mine), incident_changes from scratch as
-- bench.list_catcher.  Each API call is made 6 times first, so PL/pgSQL's
-- cached plans have made their choice between a custom and a generic plan
-- as they have in the benchmark; the 7th call is logged by auto_explain
-- (nested statements, ANALYZE, BUFFERS), then its floor's statement, once
-- warm.  Everything goes to stderr (the plans are log messages), each call
-- after a line "======== <run name>".

\set ON_ERROR_STOP 1
LOAD 'auto_explain';
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_format = :format;
SET auto_explain.log_min_duration = -1;
SET client_min_messages = log;
-- The lists run with jit off (10_lists.sql), and so do their floors.
SET jit = off;

SELECT d.slug, d.member, d.cursor AS deep_cursor, d.created_at AS deep_created, d.incident_id AS deep_id,
	(SELECT m.user_ref FROM bench.list_mine m WHERE m.community_id = 1) AS mine,
	(SELECT c.user_ref FROM bench.list_catcher c) AS catcher,
	(SELECT array_agg(s.status ORDER BY s.sort_order)::text FROM naboom.status s WHERE s.status_type = 'open') AS lives
FROM bench.list_deep d WHERE d.community_id = 1 \gset
-- the warm calls (6 in one DO block) read their arguments from settings
SELECT pg_catalog.set_config('bench.slug', :'slug', false), pg_catalog.set_config('bench.deep', :'deep_cursor', false)
	\g /dev/null

\warn ======== list_queue
SELECT pg_catalog.set_config('request.jwt.claims', '{"sub":"member-1"}', false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.incident_queue(current_setting('bench.slug')); END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) AS queue_rows FROM naboom_api.incident_queue(:'slug') \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_queue
SET enable_sort = off;
SET auto_explain.log_min_duration = 0;
(SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'critical' AND i.queue_due_at < now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'high' AND i.queue_due_at < now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'medium' AND i.queue_due_at < now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'low' AND i.queue_due_at < now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'critical' AND i.queue_due_at >= now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'high' AND i.queue_due_at >= now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'medium' AND i.queue_due_at >= now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
UNION ALL (SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.priority = 'low' AND i.queue_due_at >= now() AND i.status = ANY (:'lives'::text[]) ORDER BY i.queue_due_at, i.created_at, i.incident_id LIMIT 50)
LIMIT 50 \g /dev/null
RESET enable_sort;
SET auto_explain.log_min_duration = -1;

\warn ======== list_feed
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'member'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.community_incidents(current_setting('bench.slug')); END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) FROM naboom_api.community_incidents(:'slug') \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_feed
SET auto_explain.log_min_duration = 0;
SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND (i.is_public OR i.reporter_ref = :'member')
ORDER BY i.created_at DESC, i.incident_id DESC LIMIT 50 \g /dev/null
SET auto_explain.log_min_duration = -1;

\warn ======== list_feed_anon
SELECT pg_catalog.set_config('request.jwt.claims', '{"role":"naboom_anon"}', false) \g /dev/null
SET ROLE naboom_anon;
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.community_incidents(current_setting('bench.slug')); END LOOP; END $$;
RESET ROLE;
SET auto_explain.log_min_duration = 0;
SET ROLE naboom_anon;
SELECT count(*) FROM naboom_api.community_incidents(:'slug') \g /dev/null
RESET ROLE;
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_feed_anon
SET auto_explain.log_min_duration = 0;
SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND i.is_public
ORDER BY i.created_at DESC, i.incident_id DESC LIMIT 50 \g /dev/null
SET auto_explain.log_min_duration = -1;

\warn ======== list_deep
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'member'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.community_incidents(current_setting('bench.slug'), after => current_setting('bench.deep')); END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) FROM naboom_api.community_incidents(:'slug', after => :'deep_cursor') \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_deep
SET auto_explain.log_min_duration = 0;
SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.community_id = 1 AND (i.is_public OR i.reporter_ref = :'member')
	AND (i.created_at, i.incident_id) < (:'deep_created'::timestamptz, :'deep_id'::bigint)
ORDER BY i.created_at DESC, i.incident_id DESC LIMIT 50 \g /dev/null
SET auto_explain.log_min_duration = -1;

\warn ======== list_mine
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'mine'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.my_incidents(); END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) FROM naboom_api.my_incidents() \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_mine
SET auto_explain.log_min_duration = 0;
SELECT i.incident_id, i.reference FROM bench.floor_incident i WHERE i.reporter_ref = :'mine'
ORDER BY i.created_at DESC, i.incident_id DESC LIMIT 50 \g /dev/null
SET auto_explain.log_min_duration = -1;

\warn ======== list_changes
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'catcher'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP PERFORM count(*) FROM naboom_api.incident_changes(NULL, 500); END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) FROM naboom_api.incident_changes(NULL, 500) \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== floor_list_changes
SET auto_explain.log_min_duration = 0;
SELECT e.seq AS flast, i.incident_id, i.reference FROM naboom.event e
JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
WHERE e.seq > 0 AND NOT EXISTS (SELECT 1 FROM naboom.event x
		WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.seq > e.seq)
	AND (i.is_public OR i.reporter_ref = :'catcher' OR EXISTS (SELECT 1 FROM naboom.event x
		WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.is_public))
ORDER BY e.seq LIMIT 500 \g /dev/null
SET auto_explain.log_min_duration = -1;
\warn ======== end
