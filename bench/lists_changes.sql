-- bench/lists_changes.sql: after the lists section filed its changes (and
-- every event is published), walks incident_changes from scratch as the
-- catching-up resident (bench.list_catcher), and its floor's statement,
-- once each, unmeasured: it counts the rows and pages the timed walks will
-- read (bench/run.sh runs list_changes.pgbench and floor_list_changes.pgbench
-- with -t <pages>) and fills the caches.  Records it all as the step
-- list_changes in bench.run_step and prints, last, one line:
--   <rows> <pages> <floor rows> <floor pages>
--   psql -v page=500 -f bench/lists_changes.sql

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT pg_catalog.set_config('bench.page', :'page', false) \g /dev/null

CREATE TEMP TABLE walk (side text, pages integer, rows bigint, distinct_refs bigint);

DO $$
DECLARE
	who text := (SELECT user_ref FROM bench.list_catcher);
	n integer := current_setting('bench.page')::integer;
	cur text;
	nxt text;
	got bigint;
	pages integer := 0;
	total bigint := 0;
	last_seq bigint := 0;
	fseq bigint;
BEGIN
	CREATE TEMP TABLE seen (ref text);
	PERFORM pg_catalog.set_config('request.jwt.claims', json_build_object('sub', who)::text, true);
	LOOP
		WITH p AS (SELECT x.reference, x.cursor, x.ordinality FROM naboom_api.incident_changes(cur, n) WITH ORDINALITY x),
		s AS (INSERT INTO seen SELECT p.reference FROM p)
		SELECT count(*), (SELECT p2.cursor FROM p p2 ORDER BY p2.ordinality DESC LIMIT 1) INTO got, nxt FROM p;
		EXIT WHEN got = 0;
		pages := pages + 1;
		total := total + got;
		cur := nxt;
		IF pages > 100000 THEN RAISE EXCEPTION 'incident_changes does not end'; END IF;
	END LOOP;
	INSERT INTO walk SELECT 'api', pages, total, (SELECT count(DISTINCT ref) FROM seen);
	-- the floor's statement (floor_list_changes.pgbench), page by page
	pages := 0; total := 0;
	LOOP
		SELECT count(*), max(f.seq) INTO got, fseq FROM (
			SELECT e.seq FROM naboom.event e JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
			WHERE e.seq > last_seq AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.seq > e.seq)
				AND (i.is_public OR i.reporter_ref = who OR EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.is_public))
			ORDER BY e.seq LIMIT n) f;
		EXIT WHEN got = 0;
		pages := pages + 1;
		total := total + got;
		last_seq := fseq;
	END LOOP;
	INSERT INTO walk SELECT 'floor', pages, total, NULL;
END
$$;

INSERT INTO bench.run_step (step, rows, figures)
SELECT 'list_changes', a.rows, jsonb_build_object('pages', a.pages, 'distinct', a.distinct_refs,
	'floor_rows', f.rows, 'floor_pages', f.pages, 'page', current_setting('bench.page')::integer,
	'events', (SELECT count(*) FROM naboom.event),
	'unpublished', (SELECT count(*) FROM naboom.event WHERE seq IS NULL),
	'incidents_changed', (SELECT count(*) FROM (SELECT DISTINCT community_id, incident_id FROM naboom.event) d),
	'catcher', (SELECT user_ref FROM bench.list_catcher))
FROM walk a, walk f WHERE a.side = 'api' AND f.side = 'floor';

SELECT format('%s events of %s incidents published; incident_changes as %s from scratch: %s rows (%s distinct) in %s pages of %s; floor %s rows in %s pages',
	figures->>'events', figures->>'incidents_changed', figures->>'catcher', rows, figures->>'distinct', figures->>'pages',
	figures->>'page', figures->>'floor_rows', figures->>'floor_pages')
FROM bench.run_step WHERE step = 'list_changes';
SELECT rows, figures->>'pages', figures->>'floor_rows', figures->>'floor_pages' FROM bench.run_step WHERE step = 'list_changes';
