-- naboom 0.6.0 -> 0.7.0
--
-- 0.7.0 makes naboom operated day to day (issue 13): the lists people work
-- from (the control room's queue, the community feed, my reports and
-- assignments, offline sync), alert read state and area subscriptions, the
-- pickers and profile, and health().
--
-- Hand-written DDL first (each block under its own heading, written to work
-- on a 0.6.0 database that has data); then the functions, regenerated from
-- extension/schema/ between the BEGIN and END lines below.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.7.0'" to load this file. \quit

-- functions: naboom.check_page_size naboom.page_cursor naboom.page_cursor_parts
-- BEGIN replaced functions

COMMENT ON FUNCTION naboom.check_page_size(integer) IS
	'The rows a page of a list holds: max_count, or naboom.default_page_size when NULL; naboom.invalid_count outside 1 .. naboom.max_page_size';

CREATE OR REPLACE FUNCTION naboom.page_cursor(kind text, parts text[]) RETURNS text
AS 'MODULE_PATHNAME', 'naboom_page_cursor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor(text, text[]) IS
	'The opaque keyset cursor of one row of the list kind, whose sort key is parts (src/page.c)';

CREATE OR REPLACE FUNCTION naboom.page_cursor_parts(kind text, cursor text, nparts integer) RETURNS text[]
AS 'MODULE_PATHNAME', 'naboom_page_cursor_parts' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor_parts(text, text, integer) IS
	'The sort key a cursor of the list kind carries (nparts parts), NULL for no cursor; naboom.invalid_cursor for anything else';


-- END replaced functions

-- Grants and pinned search paths for what is new (list below, one block per
-- feature, as in 99_security.sql).
REVOKE ALL ON FUNCTION naboom.check_page_size(integer), naboom.page_cursor(text, text[]),
	naboom.page_cursor_parts(text, text, integer) FROM PUBLIC;

SELECT naboom.pin_search_paths();

NOTIFY pgrst, 'reload schema';
