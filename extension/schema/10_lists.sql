
------------------------------------------------------------------------------
-- The lists people work from (0.7.0): the control room's queue, the
-- community's feed, my reports and assignments, offline sync.  Every list
-- is STABLE (a gateway runs it as a GET in a READ ONLY transaction), returns
-- SETOF a named type, shows each row exactly as get_incident would to the
-- same caller, and pages by keyset: `after` is the opaque cursor of the last
-- row seen, `max_count` the page size (naboom.max_page_size at most).
------------------------------------------------------------------------------

CREATE FUNCTION naboom.check_page_size(max_count integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_page_size' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_page_size(integer) IS
	'The rows a page of a list holds: max_count, or naboom.default_page_size when NULL; naboom.invalid_count outside 1 .. naboom.max_page_size';

CREATE FUNCTION naboom.page_cursor(kind text, parts text[]) RETURNS text
AS 'MODULE_PATHNAME', 'naboom_page_cursor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor(text, text[]) IS
	'The opaque keyset cursor of one row of the list kind, whose sort key is parts (src/page.c)';

CREATE FUNCTION naboom.page_cursor_parts(kind text, cursor text, nparts integer) RETURNS text[]
AS 'MODULE_PATHNAME', 'naboom_page_cursor_parts' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor_parts(text, text, integer) IS
	'The sort key a cursor of the list kind carries (nparts parts), NULL for no cursor; naboom.invalid_cursor for anything else';
