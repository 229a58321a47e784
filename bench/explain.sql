-- bench/explain.sql: the plans naboom's spatial statements get on the
-- benchmark's data, for bench/out/explain-*.txt.  Run by bench/run.sh as the
-- superuser after the spatial runs and again after the write runs:
--   psql -v ref=NB-... -v responder=member-N -v member=member-N \
--        -v slug=... -v cat=... -v lat=... -v lon=... -f bench/explain.sql
-- Each API call is made 6 times first, so the cached plans (PL/pgSQL's and
-- the C functions' SPI plans) have made their choice between a custom and
-- a generic plan as they have in the benchmark; the 7th call is logged by
-- auto_explain (nested statements, actual rows, times and buffers) and sent
-- to this client.  The report (with its fan-out) is rolled back.

\set ON_ERROR_STOP 1
LOAD 'auto_explain';
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_min_duration = -1;
SET client_min_messages = log;
SELECT pg_catalog.set_config('bench.ref', :'ref', false), pg_catalog.set_config('bench.slug', :'slug', false),
	pg_catalog.set_config('bench.cat', :'cat', false), pg_catalog.set_config('bench.lat', :'lat', false),
	pg_catalog.set_config('bench.lon', :'lon', false) \g /dev/null

\echo
\echo ======== nearest_responders(:'ref') as :'responder'
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'responder'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP
	PERFORM count(*) FROM naboom_api.nearest_responders(current_setting('bench.ref'));
END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) AS responders FROM naboom_api.nearest_responders(:'ref');
SET auto_explain.log_min_duration = -1;

\echo
\echo ======== duplicate_candidates(:'slug', :'cat', :lat, :lon) as :'member'
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'member'), false) \g /dev/null
DO $$ BEGIN FOR i IN 1..6 LOOP
	PERFORM count(*) FROM naboom_api.duplicate_candidates(current_setting('bench.slug'), current_setting('bench.cat'),
		current_setting('bench.lat')::float8, current_setting('bench.lon')::float8);
END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) AS candidates FROM naboom_api.duplicate_candidates(:'slug', :'cat', :lat, :lon);
SET auto_explain.log_min_duration = -1;

\echo
\echo ======== incidents_near(:lat, :lon, 500) as :'member'
DO $$ BEGIN FOR i IN 1..6 LOOP
	PERFORM count(*) FROM naboom_api.incidents_near(current_setting('bench.lat')::float8,
		current_setting('bench.lon')::float8, 500);
END LOOP; END $$;
SET auto_explain.log_min_duration = 0;
SELECT count(*) AS nearby FROM naboom_api.incidents_near(:lat, :lon, 500);
SET auto_explain.log_min_duration = -1;

\echo
\echo ======== floor of incidents_near: the bare query on bench.floor_incident
EXPLAIN (ANALYZE, BUFFERS)
SELECT i.reference, i.status, public.ST_Distance(i.location::public.geography, g.pt) AS distance_m
FROM (SELECT public.ST_SetSRID(public.ST_MakePoint(:lon, :lat), 4326)::public.geography AS pt,
		naboom.search_box(:lat, :lon, 500) AS b) g, bench.floor_incident i
WHERE i.location OPERATOR(public.&&) public.ST_MakeEnvelope(g.b[1], g.b[2], g.b[3], g.b[4], 4326)
	AND public.ST_DWithin(i.location::public.geography, g.pt, 500)
	AND i.status IN ('reported', 'verified', 'dispatched', 'en_route', 'on_scene')
ORDER BY distance_m, i.reference LIMIT 200;

\echo
\echo ======== update_position(:lat, :lon) as :'responder' (rolled back)
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'responder'), false) \g /dev/null
BEGIN;
DO $$ BEGIN FOR i IN 1..6 LOOP
	PERFORM naboom_api.update_position(current_setting('bench.lat')::float8, current_setting('bench.lon')::float8, true, 10);
END LOOP; END $$;
SET LOCAL auto_explain.log_min_duration = 0;
SELECT (naboom_api.update_position(:lat, :lon, true, 10)).on_duty;
ROLLBACK;

\echo
\echo ======== report_incident(:'slug', 'fire', :lat, :lon) as :'member' (rolled back): routing, duplicates, fan-out
SELECT pg_catalog.set_config('request.jwt.claims', format('{"sub":"%s"}', :'member'), false) \g /dev/null
BEGIN;
DO $$ BEGIN FOR i IN 1..6 LOOP
	PERFORM naboom_api.report_incident(current_setting('bench.slug'), 'fire', current_setting('bench.lat')::float8
		+ i * 0.01, current_setting('bench.lon')::float8, 'explain warm-up');
END LOOP; END $$;
SET LOCAL auto_explain.log_min_duration = 0;
SELECT (naboom_api.report_incident(:'slug', 'fire', :lat, :lon, 'explain')).reference IS NOT NULL AS reported;
SET LOCAL auto_explain.log_min_duration = -1;
SELECT a.reason, count(*) AS alerts FROM naboom.alert a
WHERE a.incident_id = (SELECT max(incident_id) FROM naboom.incident) GROUP BY a.reason ORDER BY 1;
ROLLBACK;
