-- bench/lists_plans.sql: the shape of each list's plans, from the JSON
-- bench/explain_lists.sql wrote (auto_explain's log messages, each call
-- after a line "======== <run name>"), into bench.run_step (step list_plan,
-- one row per run name, the shape in figures), for bench/report.sql.
--   psql -v file=bench/out/lists-plans.json -f bench/lists_plans.sql
-- Per call, over every plan node of every statement it ran (nested ones
-- too): the scans of naboom.incident, bench.floor_incident and naboom.event
-- (node type, index), the rows they read (returned plus removed by a
-- filter, times loops), sequential scans of those tables, and the largest
-- input of a Sort (the rows it had to sort: a top-N sort returns only the
-- page but reads all of them).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\set content `cat :file`

CREATE TEMP TABLE plan_call AS
SELECT split_part(s.seg, E'\n', 1) AS name, s.n, s.seg
FROM regexp_split_to_table(:'content', '(?n)^======== ') WITH ORDINALITY s(seg, n)
WHERE s.n > 1;

CREATE TEMP TABLE plan_json AS
SELECT c.name, m.n AS stmt, m.m[1] AS duration_ms, m.m[2]::jsonb AS plan
FROM plan_call c
CROSS JOIN LATERAL regexp_matches(c.seg, '(?s)duration: ([0-9.]+?) ms  plan:\n(\{.*?\n\})', 'g') WITH ORDINALITY m(m, n);

CREATE TEMP TABLE plan_node AS
SELECT j.name, j.stmt, x.node->>'Node Type' AS node_type, x.node->>'Relation Name' AS rel, x.node->>'Index Name' AS idx,
	coalesce((x.node->>'Actual Loops')::numeric, 0) AS loops,
	coalesce((x.node->>'Actual Rows')::numeric, 0) AS arows,
	coalesce((x.node->>'Rows Removed by Filter')::numeric, 0) AS removed,
	x.node->>'Sort Method' AS sort_method,
	CASE WHEN x.node->>'Node Type' IN ('Sort', 'Incremental Sort') THEN
		(SELECT sum(coalesce((k->>'Actual Rows')::numeric, 0) * coalesce((k->>'Actual Loops')::numeric, 1))
		 FROM jsonb_array_elements(x.node->'Plans') k) END AS sort_in
FROM plan_json j
CROSS JOIN LATERAL jsonb_path_query(j.plan, 'strict $.**') x(node)
WHERE jsonb_typeof(x.node) = 'object' AND x.node ? 'Node Type';

INSERT INTO bench.run_step (step, result, figures)
SELECT 'list_plan', c.name, jsonb_build_object(
	'statements', (SELECT count(*) FROM plan_json j WHERE j.name = c.name),
	'ms', (SELECT round(max(j.duration_ms::numeric), 3) FROM plan_json j WHERE j.name = c.name),
	'scans', (SELECT coalesce(jsonb_agg(DISTINCT n.node_type || ' on ' || n.rel || coalesce(' using ' || n.idx, '')), '[]')
		FROM plan_node n WHERE n.name = c.name AND n.rel IN ('incident', 'floor_incident', 'event')
			AND n.node_type ~ 'Scan'),
	'index_scans', (SELECT count(*) FROM plan_node n WHERE n.name = c.name
		AND n.rel IN ('incident', 'floor_incident', 'event') AND n.node_type IN ('Index Scan', 'Index Only Scan', 'Bitmap Heap Scan')),
	'seq_scans', (SELECT count(*) FROM plan_node n WHERE n.name = c.name
		AND n.rel IN ('incident', 'floor_incident', 'event') AND n.node_type = 'Seq Scan'),
	'rows_read', (SELECT coalesce(sum((n.arows + n.removed) * n.loops), 0) FROM plan_node n WHERE n.name = c.name
		AND n.rel IN ('incident', 'floor_incident', 'event') AND n.node_type ~ 'Scan'),
	'sorts', (SELECT count(*) FROM plan_node n WHERE n.name = c.name AND n.sort_in IS NOT NULL),
	'max_sort_in', (SELECT coalesce(max(n.sort_in), 0) FROM plan_node n WHERE n.name = c.name),
	'sort_methods', (SELECT coalesce(jsonb_agg(DISTINCT n.sort_method), '[]') FROM plan_node n
		WHERE n.name = c.name AND n.sort_method IS NOT NULL))
FROM plan_call c WHERE c.name NOT LIKE 'end%';

-- the size of the community the plans are of (community 1), for the report
INSERT INTO bench.run_step (step, rows) SELECT 'list_plan_community', count(*) FROM naboom.incident WHERE community_id = 1;
