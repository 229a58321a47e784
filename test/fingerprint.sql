-- naboom schema fingerprint: one sorted line per property of every object
-- that belongs to the extension (pg_depend deptype 'e'), so that two
-- databases with naboom installed by different paths (a fresh install of the
-- current version; 0.1.0 followed by ALTER EXTENSION naboom UPDATE) can be
-- compared with diff.  pg_dump -s shows only CREATE EXTENSION for them, so
-- this reads the catalogs instead.
--
-- Covered: the extension row (version, config tables and their conditions);
-- schemas and their ACLs; functions and procedures (pg_get_functiondef: body,
-- arguments, defaults, volatility, SECURITY DEFINER, SET search_path, ...)
-- with their ACLs; types (enum labels in order, composite attributes in
-- order); tables, views, sequences (columns in order without dropped ones,
-- types, NOT NULL, defaults, identity, generated, column ACLs, RLS flags,
-- partition keys and bounds, reloptions, ACLs, sequence parameters);
-- constraints, indexes, triggers with tgenabled, policies, event triggers
-- with evtenabled; every comment; and the seed rows of the workflow and
-- retention tables.  Things that differ by nature (OIDs, attnums of
-- dropped columns, sequence positions, the date-named audit partitions)
-- are left out or normalised.
--
--   psql -XAtq -f test/fingerprint.sql -d DB > DB.fingerprint

\set ON_ERROR_STOP 1
SET search_path = pg_catalog;

WITH ext AS (
	SELECT oid, extname FROM pg_extension WHERE extname = 'naboom'
),
member AS (
	SELECT d.classid, d.objid
	FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
rel AS (
	-- member relations, and the partitions and indexes that belong to them
	SELECT c.oid, c.relname, c.relkind,
		   -- dated audit partitions are created by the install's own run, so
		   -- their names depend on the day; name them by their role
		   CASE WHEN c.relispartition AND c.relname ~ '_[0-9]{6}$'
				THEN regexp_replace(c.relname, '_[0-9]{6}$', '_YYYYMM')
				ELSE c.relname END AS name
	FROM pg_class c
	WHERE c.oid IN (SELECT objid FROM member WHERE classid = 'pg_class'::regclass)
	   OR c.oid IN (SELECT inhrelid FROM pg_inherits
				   WHERE inhparent IN (SELECT objid FROM member WHERE classid = 'pg_class'::regclass))
),
line AS (
	SELECT 'extension ' || e.extname || ' version=' || e.extversion
		   || ' relocatable=' || e.extrelocatable AS l
	FROM pg_extension e, ext WHERE e.oid = ext.oid
	UNION ALL
	SELECT 'config_dump ' || c::regclass::text || ' ' || coalesce(w, '<null>')
	FROM pg_extension e, ext,
		 unnest(e.extconfig, e.extcondition) AS u(c, w)
	WHERE e.oid = ext.oid
	UNION ALL
	-- every member by identity, so an object that exists in only one shows
	SELECT 'member ' || pg_describe_object(classid, objid, 0)
	FROM member
	WHERE NOT (classid = 'pg_class'::regclass
			   AND (SELECT relname FROM pg_class WHERE oid = objid) ~ '_[0-9]{6}$')
	UNION ALL
	SELECT 'schema ' || n.nspname || ' owner_is_su=' || a.rolsuper || ' acl=' || coalesce(n.nspacl::text, '')
	FROM pg_namespace n JOIN pg_authid a ON a.oid = n.nspowner
	WHERE n.nspname IN ('naboom', 'naboom_api')
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
		   || E'\nacl=' || coalesce(p.proacl::text, '<default>')
	FROM pg_proc p
	WHERE p.oid IN (SELECT objid FROM member WHERE classid = 'pg_proc'::regclass)
	  AND p.prokind <> 'a'
	UNION ALL
	SELECT 'enum ' || t.oid::regtype::text || ' '
		   || (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid)
	FROM pg_type t
	WHERE t.oid IN (SELECT objid FROM member WHERE classid = 'pg_type'::regclass) AND t.typtype = 'e'
	UNION ALL
	SELECT 'type ' || t.oid::regtype::text || ' typtype=' || t.typtype::text
		   || ' acl=' || coalesce(t.typacl::text, '<default>')
	FROM pg_type t
	WHERE t.oid IN (SELECT objid FROM member WHERE classid = 'pg_type'::regclass)
	UNION ALL
	SELECT 'relation ' || r.name || ' kind=' || c.relkind::text
		   || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
		   || ' persistence=' || c.relpersistence::text
		   || ' partkey=' || coalesce(pg_get_partkeydef(c.oid), '')
		   || ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '')
		   || ' options=' || coalesce(c.reloptions::text, '')
		   || ' acl=' || coalesce(c.relacl::text, '<default>')
		   || ' replident=' || c.relreplident::text
	FROM rel r JOIN pg_class c ON c.oid = r.oid
	WHERE c.relkind <> 'i' AND c.relkind <> 'I'
	UNION ALL
	SELECT 'view ' || r.name || E'\n' || pg_get_viewdef(r.oid)
	FROM rel r WHERE r.relkind IN ('v', 'm')
	UNION ALL
	SELECT 'column ' || r.name || '.'
		   || lpad(row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum)::text, 3, '0')
		   || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		   || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
		   || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '')
		   || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
		   || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
		   || CASE WHEN a.attcollation <> 0 AND a.attcollation <> 100 THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
		   || ' storage=' || a.attstorage::text
		   || coalesce(' acl=' || a.attacl::text, '')
	FROM rel r
	JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE r.relkind NOT IN ('i', 'I')
	UNION ALL
	-- composite types' attributes (naboom_api row types)
	SELECT 'attribute ' || t.oid::regtype::text || '.'
		   || lpad(row_number() OVER (PARTITION BY t.oid ORDER BY a.attnum)::text, 3, '0')
		   || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	FROM pg_type t
	JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE t.oid IN (SELECT objid FROM member WHERE classid = 'pg_type'::regclass) AND t.typtype = 'c'
	UNION ALL
	SELECT 'constraint ' || r.name || '.' || con.conname || ' ' || pg_get_constraintdef(con.oid)
		   || ' deferrable=' || con.condeferrable || '/' || con.condeferred
	FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid
	UNION ALL
	SELECT 'index ' || r.name || ' '
		   || regexp_replace(pg_get_indexdef(i.indexrelid), '_[0-9]{6}', '_YYYYMM', 'g')
	FROM rel r JOIN pg_index i ON i.indrelid = r.oid
	WHERE NOT (r.name ~ '_YYYYMM$')
	UNION ALL
	SELECT 'trigger ' || r.name || '.' || t.tgname || ' enabled=' || t.tgenabled::text || ' '
		   || pg_get_triggerdef(t.oid)
	FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid
	WHERE NOT t.tgisinternal AND NOT (r.name ~ '_YYYYMM$')
	UNION ALL
	SELECT 'policy ' || r.name || '.' || p.polname || ' cmd=' || p.polcmd::text || ' permissive=' || p.polpermissive
		   || ' roles=' || (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ',' ORDER BY 1)
							FROM unnest(p.polroles) x)
		   || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '')
		   || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
	FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
	UNION ALL
	SELECT 'sequence ' || r.name || ' type=' || s.seqtypid::regtype::text || ' start=' || s.seqstart
		   || ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax
		   || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
		   || ' owned_by=' || coalesce((SELECT d.refobjid::regclass::text || '.' || d.refobjsubid
										FROM pg_depend d
										WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
										  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
										LIMIT 1), '')
	FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
	UNION ALL
	SELECT 'event_trigger ' || e.evtname || ' on=' || e.evtevent || ' enabled=' || e.evtenabled::text
		   || ' func=' || e.evtfoid::regproc::text || ' tags=' || coalesce(e.evttags::text, '')
	FROM pg_event_trigger e
	WHERE e.oid IN (SELECT objid FROM member WHERE classid = 'pg_event_trigger'::regclass)
	UNION ALL
	-- comments on every member and on every column / attribute of members
	SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
	FROM pg_description d
	WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM member)
	   OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rel))
	   OR (d.classoid = 'pg_class'::regclass
		   AND d.objoid IN (SELECT typrelid FROM pg_type
							WHERE oid IN (SELECT objid FROM member WHERE classid = 'pg_type'::regclass)))
	   OR (d.classoid = 'pg_namespace'::regclass
		   AND d.objoid IN (SELECT oid FROM pg_namespace WHERE nspname IN ('naboom', 'naboom_api')))
	   OR (d.classoid IN ('pg_trigger'::regclass, 'pg_policy'::regclass, 'pg_constraint'::regclass)
		   AND d.objoid IN (SELECT oid FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM rel)
							UNION ALL SELECT oid FROM pg_policy WHERE polrelid IN (SELECT oid FROM rel)
							UNION ALL SELECT oid FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rel)))
)
SELECT l FROM line ORDER BY l COLLATE "C";

-- seed rows: the workflow and the retention policies as installed
SELECT 'seed status ' || row_to_json(s)::text FROM naboom.status s ORDER BY s.status COLLATE "C";
SELECT 'seed transition ' || row_to_json(t)::text FROM naboom.transition t
ORDER BY t.from_status COLLATE "C", t.to_status COLLATE "C";
SELECT 'seed retention_policy ' || row_to_json(p)::text FROM naboom.retention_policy p
ORDER BY 1;
