-- Installation: what CREATE EXTENSION naboom CASCADE leaves behind.  (The
-- helpers the other files use are in test/include/helpers.psql.)
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
