-- bench/lists_prepare.sql: what the lists section (bench/README.md, "Lists")
-- needs before it measures.  Run by bench/run.sh as the superuser after the
-- load:
--   psql -v members=1000 -v responders=250 -v deep_pages=100 -f bench/lists_prepare.sql
--
--   bench.list_mine: in each community, the resident with the most reports
--      (my_incidents is asked as them).  The load draws every report's
--      reporter uniformly from the community's members, so every member
--      has a long history (about 100 reports over two years at full scale);
--      these are the longest.
--   bench.list_deep: in each community, the cursor of the last row of page
--      deep_pages of the feed (community_incidents, default page size) as
--      the community's last member (a resident: k = members - 1, never
--      staff), found by walking the pages once; with that row's sort key
--      (created_at, incident_id), from which the floor reads on.
--   bench.list_catcher: the member whose app catches up with
--      incident_changes (community 1's last member, a resident).
-- It records what it found as the step lists_prepare in bench.run_step,
-- and prints it.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE bench.list_mine AS
SELECT DISTINCT ON (m.community_id) m.community_id, m.user_ref, r.reports
FROM (SELECT i.community_id, i.reporter_ref, count(*) AS reports
	  FROM naboom.incident i GROUP BY i.community_id, i.reporter_ref) r
JOIN naboom.member m ON m.community_id = r.community_id AND m.user_ref = r.reporter_ref AND m.role = 'resident'
ORDER BY m.community_id, r.reports DESC, m.user_ref;
ALTER TABLE bench.list_mine ADD PRIMARY KEY (community_id);

CREATE TABLE bench.list_deep (
	community_id bigint PRIMARY KEY,
	slug text NOT NULL,
	member text NOT NULL,
	pages integer NOT NULL,
	rows bigint NOT NULL,
	cursor text,
	reference text,
	created_at timestamptz,
	incident_id bigint
);
INSERT INTO bench.list_deep (community_id, slug, member, pages, rows)
SELECT c.community_id, c.slug, 'member-' || ((:members - 1) * 10 + c.community_id), 0, 0
FROM naboom.community c;

CREATE TABLE bench.list_catcher AS
SELECT d.member AS user_ref FROM bench.list_deep d WHERE d.community_id = 1;

SELECT pg_catalog.set_config('bench.deep_pages', :'deep_pages', false) \g /dev/null

-- The walk, as each community's member (claims set for the transaction).
DO $$
DECLARE
	d record;
	cur text;
	last_ref text;
	n bigint;
	total bigint;
	p integer;
BEGIN
	FOR d IN SELECT * FROM bench.list_deep ORDER BY community_id LOOP
		PERFORM pg_catalog.set_config('request.jwt.claims', json_build_object('sub', d.member)::text, true);
		cur := NULL;
		total := 0;
		FOR p IN 1 .. current_setting('bench.deep_pages')::integer LOOP
			SELECT count(*) OVER (), x.cursor, x.reference INTO n, cur, last_ref
			FROM naboom_api.community_incidents(d.slug, after => cur) WITH ORDINALITY x
			ORDER BY x.ordinality DESC LIMIT 1;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'community %: the feed ends after % pages', d.slug, p - 1;
			END IF;
			total := total + n;
		END LOOP;
		UPDATE bench.list_deep l SET pages = current_setting('bench.deep_pages')::integer, rows = total,
			cursor = cur, reference = last_ref, created_at = i.created_at, incident_id = i.incident_id
		FROM naboom.incident i
		WHERE l.community_id = d.community_id AND i.community_id = d.community_id AND i.reference = last_ref;
	END LOOP;
END
$$;
RESET request.jwt.claims;

GRANT SELECT ON bench.list_deep, bench.list_mine, bench.list_catcher TO naboom_bench;
-- the anonymous feed: PostgREST's anonymous role, as a gateway switches to it
GRANT naboom_anon TO naboom_bench;
-- the floor of incident_changes reads the event stream itself
GRANT SELECT ON naboom.event TO naboom_bench;
ANALYZE bench.list_deep, bench.list_mine, bench.list_catcher;

INSERT INTO bench.run_step (step, detail, figures)
SELECT 'lists_prepare',
	format('my_incidents as the resident with the most reports of each community: %s reports (every member reports %s on average);',
		(SELECT string_agg(m.reports::text, '/' ORDER BY m.community_id) FROM bench.list_mine m),
		(SELECT round(count(*)::numeric / nullif(count(DISTINCT reporter_ref), 0), 1) FROM naboom.incident))
	|| format(' page %s of each feed ends %s rows deep%s, at %s',
		max(d.pages), min(d.rows), CASE WHEN min(d.rows) = max(d.rows) THEN '' ELSE ' (to ' || max(d.rows) || ')' END,
		string_agg(to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ', ' ORDER BY d.community_id)),
	jsonb_build_object('mine', (SELECT jsonb_agg(jsonb_build_object('user_ref', m.user_ref, 'reports', m.reports) ORDER BY m.community_id)
			FROM bench.list_mine m),
		'deep_pages', max(d.pages), 'deep_rows', min(d.rows))
FROM bench.list_deep d;
SELECT detail FROM bench.run_step WHERE step = 'lists_prepare';
