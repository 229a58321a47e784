-- Test helpers of the pg_regress files (sql/*.sql), in schema t:
--   t.as_user(sub), t.as_service()  act as a person (PostgREST style) or as
--                                   the service;
--   t.mask(s), t.err(sql)           an error as SQLSTATE, message, detail
--                                   (with its key) and hint, with random
--                                   references masked;
--   t.counts()                      row counts, to show that a refused call
--                                   wrote nothing;
--   t.report(who, cat, descr), t.step(who, ref, status, note)
--                                   report in mookgophong / make a transition
--                                   as someone (needs parts/town.sql).
-- The schema is made when missing, the functions are replaced: harmless to
-- run twice.  Included by the entry files one level up, never directly.
SELECT to_regnamespace('t') IS NULL AS helpers_need_schema \gset
\if :helpers_need_schema
CREATE SCHEMA t;
GRANT USAGE ON SCHEMA t TO PUBLIC;
\endif
\unset helpers_need_schema

CREATE OR REPLACE FUNCTION t.as_user(sub text) RETURNS void LANGUAGE sql AS $$
	SELECT set_config('request.jwt.claims', json_build_object('sub', sub)::text, false);
	SELECT set_config('jwt.claims.sub', '', false);
$$;
CREATE OR REPLACE FUNCTION t.as_service() RETURNS void LANGUAGE sql AS $$
	SELECT set_config('request.jwt.claims', '', false);
	SELECT set_config('jwt.claims.sub', '', false);
$$;
CREATE OR REPLACE FUNCTION t.mask(s text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(s, 'NB-[0-9A-Z]{4}-[0-9A-Z]{4}', 'NB-####-####', 'g')
$$;
CREATE OR REPLACE FUNCTION t.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION t.counts() RETURNS text LANGUAGE sql AS $$
	SELECT format('communities=%s areas=%s members=%s categories=%s incidents=%s timeline=%s',
		(SELECT count(*) FROM naboom.community), (SELECT count(*) FROM naboom.area),
		(SELECT count(*) FROM naboom.member), (SELECT count(*) FROM naboom.category),
		(SELECT count(*) FROM naboom.incident), (SELECT count(*) FROM naboom.incident_timeline))
$$;
CREATE OR REPLACE FUNCTION t.report(who text, cat text, descr text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	PERFORM t.as_user(who);
	SELECT reference INTO r FROM naboom_api.report_incident('mookgophong', cat, -24.52, 28.71, descr);
	RETURN r;
END $$;
CREATE OR REPLACE FUNCTION t.step(who text, ref text, status text, note text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
	PERFORM t.as_user(who);
	SELECT * INTO r FROM naboom_api.transition_incident(ref, status, note);
	RETURN format('%s v%s assignee=%s note=%s', r.status, r.version, coalesce(r.assignee, '-'), coalesce(r.status_note, '-'));
END $$;
