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

-- functions: naboom.audit_maintain
-- functions: naboom.check_page_size naboom.page_cursor naboom.page_cursor_parts
-- BEGIN replaced functions

CREATE OR REPLACE FUNCTION naboom.audit_maintain(months_ahead integer DEFAULT 3) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	m date;
	-- Months are calendar months in UTC.
	this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
	name text;
	made text[] := '{}';
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'months_ahead must be between 0 and 120',
			format('It is %s.', coalesce(months_ahead::text, 'NULL')), 'Use e.g. 3.');
	END IF;
	-- Months that already have rows in the default partition come first.
	FOR m IN
		SELECT DISTINCT date_trunc('month', d.logged_at AT TIME ZONE 'UTC')::date FROM naboom.audit_log_default d
		UNION
		SELECT (this_month + make_interval(months => k))::date FROM generate_series(0, months_ahead) k
		ORDER BY 1
	LOOP
		name := 'audit_log_' || to_char(m, 'YYYYMM');
		CONTINUE WHEN to_regclass('naboom.' || name) IS NOT NULL;
		IF EXISTS (SELECT 1 FROM naboom.audit_log_default d
				WHERE d.logged_at >= m::timestamp AT TIME ZONE 'UTC'
					AND d.logged_at < (m + interval '1 month')::timestamp AT TIME ZONE 'UTC') THEN
			-- Rows logged before their month had a partition: the new
			-- partition may not overlap the default's rows, so they move.
			PERFORM naboom.audit_move_default(m, name);
		ELSE
			EXECUTE format('CREATE TABLE naboom.%I PARTITION OF naboom.audit_log FOR VALUES FROM (%L) TO (%L)',
				name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
		END IF;
		EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.%I
			FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard()', name);
		EXECUTE format('ALTER TABLE naboom.%I ENABLE ALWAYS TRIGGER audit_no_truncate', name);
		-- Every partition belongs to the extension, as those of the install
		-- script do: pg_dump then leaves their definitions to CREATE
		-- EXTENSION and dumps their rows with the default partition's (see
		-- 99_security), so a restore in another month finds no clash.
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
					AND d.objid = ('naboom.' || pg_catalog.quote_ident(name))::pg_catalog.regclass
					AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e') THEN
			EXECUTE format('ALTER EXTENSION naboom ADD TABLE naboom.%I', name);
		END IF;
		made := made || name;
	END LOOP;
	RETURN made;
END
$$;

COMMENT ON FUNCTION naboom.audit_maintain(integer) IS
	'Create the monthly partitions of naboom.audit_log from this month to months_ahead months ahead (and for any month whose rows are in the default partition); returns the partitions made, each a member of the extension so that pg_dump dumps its rows with the default partition''s. Run daily by pg_cron';

CREATE OR REPLACE FUNCTION naboom.check_page_size(max_count integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_page_size' LANGUAGE C STABLE PARALLEL SAFE;

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
