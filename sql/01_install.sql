-- Installation: what CREATE EXTENSION naboom CASCADE leaves behind, and the
-- helpers the other regression files use.
SELECT extname, extversion, extrelocatable, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'naboom';

SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'naboom\_%' ORDER BY 1;

-- Every domain table is commented.
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'naboom' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1;

-- Every API and SECURITY DEFINER function pins its search_path; internal
-- helpers are not executable by PUBLIC.
SELECT count(*) AS unpinned FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE (n.nspname = 'naboom_api' OR (n.nspname = 'naboom' AND p.prosecdef))
  AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=pg_catalog,%');
SELECT p.proname AS executable_by_public FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('naboom', 'naboom_api') AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1;

-- The workflow of design.md section 3, as seeded.
SELECT from_status, to_status, allowed, requires_note AS note, requires_assignee AS assignee,
       requires_duplicate_of AS dup
FROM naboom.transition ORDER BY (SELECT sort_order FROM naboom.status WHERE status = from_status), to_status;

-- Test helpers: act as a person (PostgREST style) or as the service, and
-- show an error as SQLSTATE, message, detail (with its key) and hint, with
-- random references masked.
CREATE SCHEMA t;
GRANT USAGE ON SCHEMA t TO PUBLIC;
CREATE FUNCTION t.as_user(sub text) RETURNS void LANGUAGE sql AS $$
	SELECT set_config('request.jwt.claims', json_build_object('sub', sub)::text, false);
	SELECT set_config('jwt.claims.sub', '', false);
$$;
CREATE FUNCTION t.as_service() RETURNS void LANGUAGE sql AS $$
	SELECT set_config('request.jwt.claims', '', false);
	SELECT set_config('jwt.claims.sub', '', false);
$$;
CREATE FUNCTION t.mask(s text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(s, 'NB-[0-9A-Z]{4}-[0-9A-Z]{4}', 'NB-####-####', 'g')
$$;
CREATE FUNCTION t.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN t.mask(st || ' ' || msg || E'\n    ' || coalesce(det, '') || E'\n    hint: ' || coalesce(hnt, ''));
END
$$;
-- Row counts, to show that a refused call wrote nothing.
CREATE FUNCTION t.counts() RETURNS text LANGUAGE sql AS $$
	SELECT format('communities=%s areas=%s members=%s categories=%s incidents=%s timeline=%s',
		(SELECT count(*) FROM naboom.community), (SELECT count(*) FROM naboom.area),
		(SELECT count(*) FROM naboom.member), (SELECT count(*) FROM naboom.category),
		(SELECT count(*) FROM naboom.incident), (SELECT count(*) FROM naboom.incident_timeline))
$$;
