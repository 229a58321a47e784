-- naboom 0.5.0 -> 0.6.0
--
-- 0.6.0 rebuilt the sources: the install script is now built from one file
-- per concern (extension/schema/), so a fresh install no longer replays
-- 0.1.0 and every upgrade.  test/fingerprint.sh proves that a database
-- upgraded through this script has exactly the objects of a fresh install.
--
-- What changes for a database (issue 14, "nothing lost"):
--   * verify_audit follows the seal chain by hash, not by seal id;
--   * category intervals have bounds (existing values are clamped into them);
--   * create_community / upsert_area refuse empty polygons and bad admin_ref,
--     and drop a third coordinate;
--   * distances to blurred incidents are measured to the point shown;
--   * the auto-close job (naboom.run_auto_close, scheduled by schedule_jobs);
--   * retention_policies is STABLE; the 21st alert area is PT409;
--   * a member's activity in a read-only transaction is recorded by the
--     background writer (naboom.queue_member_touch, apply_member_touch).
--   * a backup restores (README "Backup and restore"): every table and
--     sequence is in the dump, naboom's triggers load a restore's rows as
--     they were, every audit partition belongs to the extension.
--   * no read is lost to a full audit ring: reads wait for room and are
--     refused (PT503) if there is none, incidents_near records its reads in
--     one go (naboom.audit_reads), audit_queue_stats has two more counters;
--   * issue 14, limits: the duplicate place lock waits only for reports
--     within the duplicate radius; notes, profile and set-up writes are
--     rate limited; the maps take a bounding box and max_features.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.6.0'" to load this file. \quit

-- Category intervals: clamp what is stored into the new bounds, then let the
-- table hold them (the upsert_category checks repeat them with keys).
UPDATE naboom.category SET
	ack_target = least(greatest(ack_target, '1 minute'), '30 days'),
	resolve_target = least(greatest(resolve_target, '1 minute'), '1 year'),
	duplicate_window = least(greatest(duplicate_window, '1 minute'), '30 days')
WHERE NOT (ack_target BETWEEN '1 minute' AND '30 days')
	OR NOT (resolve_target BETWEEN '1 minute' AND '1 year')
	OR NOT (duplicate_window BETWEEN '1 minute' AND '30 days');

ALTER TABLE naboom.category
	DROP CONSTRAINT category_ack_target_check,
	DROP CONSTRAINT category_resolve_target_check,
	DROP CONSTRAINT category_duplicate_window_check,
	ADD CONSTRAINT category_ack_target_check CHECK (ack_target BETWEEN '1 minute' AND '30 days'),
	ADD CONSTRAINT category_resolve_target_check CHECK (resolve_target BETWEEN '1 minute' AND '1 year'),
	ADD CONSTRAINT category_duplicate_window_check CHECK (duplicate_window BETWEEN '1 minute' AND '30 days');

-- The auto-close job walks resolved incidents by resolution time.
CREATE INDEX incident_resolved_idx ON naboom.incident (resolved_at) WHERE status = 'resolved';

-- Backup and restore (issue 14): what pg_dump keeps, and the restore mode
-- of naboom's triggers (naboom.restoring, src/restore.c; see 09_security).
CREATE FUNCTION naboom.restoring() RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_restoring'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.restoring() IS
	'True while a pg_dump script or pg_restore loads rows: a COPY in a session whose session user is a superuser and which has pg_dump''s settings (row_security and check_function_bodies off). naboom''s triggers then load rows as they were';

CREATE FUNCTION naboom.restore_seed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	keys text[] := TG_ARGV;
	cols text;
	n integer;
BEGIN
	IF NOT naboom.restoring() THEN
		RETURN NEW;
	END IF;
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (keys);
	EXECUTE pg_catalog.format('UPDATE %s AS t SET (%s) = (SELECT %s FROM (SELECT ($1).*) r) WHERE (%s) = (SELECT %s FROM (SELECT ($1).*) r)',
		TG_RELID::regclass, cols, cols,
		(SELECT pg_catalog.string_agg('t.' || pg_catalog.quote_ident(k), ', ') FROM unnest(keys) k),
		(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k), ', ') FROM unnest(keys) k))
		USING NEW;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN CASE WHEN n = 0 THEN NEW END;
END
$$;

COMMENT ON FUNCTION naboom.restore_seed() IS
	'BEFORE INSERT on the seeded tables (arguments: the key columns): while a restore loads rows, a row whose key the install script seeded replaces the seeded row';

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.status
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('status');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.transition
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('from_status', 'to_status');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.retention_policy
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('data_class');

CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.retention_state
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('name');

CREATE FUNCTION naboom.audit_default_route() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	month regclass := pg_catalog.to_regclass('naboom.audit_log_'
		|| pg_catalog.to_char(NEW.logged_at AT TIME ZONE 'UTC', 'YYYYMM'));
BEGIN
	IF month IS NULL THEN
		RETURN NEW;
	END IF;
	EXECUTE pg_catalog.format('INSERT INTO %s SELECT ($1).*', month) USING NEW;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.audit_default_route() IS
	'BEFORE INSERT on naboom.audit_log_default: a row written straight into the default partition (a restore loads every audit row there) whose month has a partition goes to that partition, unchanged';

CREATE TRIGGER audit_default_route BEFORE INSERT ON naboom.audit_log_default
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_default_route();

ALTER TABLE naboom.audit_log_default ENABLE ALWAYS TRIGGER audit_default_route;

REVOKE ALL ON FUNCTION naboom.restoring(), naboom.restore_seed(), naboom.audit_default_route() FROM PUBLIC;

-- Partitions pg_cron's audit_maintain made before 0.6.0 are not members:
-- they become members, as audit_maintain now makes them.
DO $members$
DECLARE
	p regclass;
BEGIN
	FOR p IN
		SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
		WHERE i.inhparent = 'naboom.audit_log'::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.inhrelid
					AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
		ORDER BY 1::text
	LOOP
		EXECUTE pg_catalog.format('ALTER EXTENSION naboom ADD TABLE %s', p);
	END LOOP;
END
$members$;

-- Every table and sequence in the dump; the seeded tables whole.
SELECT pg_catalog.pg_extension_config_dump('naboom.status', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.transition', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_policy', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_state', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.event', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.rate_counter', '');
-- (One call per statement: each call updates the pg_extension row.)
DO $sequences$
DECLARE
	s regclass;
BEGIN
	FOR s IN
		SELECT c.oid::regclass FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind = 'S'
		ORDER BY c.relname
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(s, '');
	END LOOP;
END
$sequences$;
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_log_default',
	'WHERE false UNION ALL SELECT * FROM naboom.audit_log');

-- functions: naboom.escalation_start naboom.rate_limit_incident naboom.rate_limit_subscription naboom.audit_maintain
-- functions: naboom.seal_audit naboom.verify_audit naboom.upsert_category naboom_api.upsert_category naboom.parse_polygon naboom_api.create_community naboom.duplicate_rows naboom_api.my_alerts naboom_api.retention_policies naboom_api.subscribe naboom.run_auto_close naboom.schedule_jobs
-- functions: naboom.queue_member_touch naboom.touch_member naboom.apply_member_touch naboom.audit_insert_queued
-- The audit ring: audit_queue_stats has two more columns (full_waits,
-- reads_refused), so it is made again.
DROP FUNCTION naboom.audit_queue_stats();
CREATE FUNCTION naboom.audit_queue_stats(OUT preloaded boolean, OUT pending integer, OUT written bigint,
	OUT dropped_full bigint, OUT dropped_other_db bigint, OUT full_waits bigint, OUT reads_refused bigint) RETURNS record
AS 'MODULE_PATHNAME', 'naboom_audit_queue_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION naboom.audit_queue_stats() IS
	'The audit writer''s queue since server start: whether naboom was preloaded, entries waiting, written, turned away by a full queue (each in the server log instead), dropped for another database; reads that found the queue full and waited, and of those the ones refused (PT503) because it stayed full';
REVOKE ALL ON FUNCTION naboom.audit_queue_stats() FROM PUBLIC;

-- functions: naboom.audit_access naboom.audit_reads naboom_api.incidents_near

-- Issue 14, limits: the duplicate place lock waits only for reports within
-- the duplicate radius (it takes the new report's incident_id now).
DROP FUNCTION naboom.lock_duplicate_place(bigint, text, double precision, double precision);

-- Issue 14, limits: the maps take a bounding box and max_features.  CREATE
-- OR REPLACE cannot add parameters, and the API has no overloads: the old
-- signatures go first, and the new ones are granted again below.
DROP FUNCTION naboom_api.community_map_geojson(text);
DROP FUNCTION naboom_api.community_map_svg(text, integer);
DROP FUNCTION naboom.map_rows(naboom.community, text);

-- functions: naboom.lock_duplicate_place naboom.file_incident
-- functions: naboom.rate_limit naboom.rate_limit_write naboom_api.join_community naboom_api.upsert_area naboom_api.set_member_role naboom_api.set_retention naboom.set_legal_hold
-- functions: naboom.check_map_features naboom.map_box naboom.map_rows naboom_api.community_map_geojson naboom_api.community_map_svg
-- BEGIN replaced functions

CREATE OR REPLACE FUNCTION naboom.parse_polygon(geojson text, what text) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	g geometry;
	reason text;
BEGIN
	IF geojson IS NULL OR length(geojson) > 10000000 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_geojson',
			format('%s must be a GeoJSON Polygon or MultiPolygon', what),
			CASE WHEN geojson IS NULL THEN 'No geometry was given.' ELSE 'The GeoJSON is larger than 10 MB.' END,
			'Send a GeoJSON geometry object with WGS84 coordinates.');
	END IF;
	BEGIN
		g := ST_GeomFromGeoJSON(geojson);
	EXCEPTION WHEN OTHERS THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_geojson',
			format('%s is not valid GeoJSON', what), SQLERRM || '.',
			'Send a GeoJSON geometry object such as {"type":"Polygon","coordinates":[[[lon,lat],...]]}.');
	END;
	IF GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_geometry',
			format('%s must be a Polygon or MultiPolygon', what),
			format('It is a %s.', GeometryType(g)),
			'Draw the boundary as a closed polygon.');
	END IF;
	IF ST_IsEmpty(g) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_geometry',
			format('%s is empty', what), 'The polygon has no coordinates.',
			'Draw the boundary as a closed polygon with at least three corners.');
	END IF;
	-- Heights (a third coordinate, as some GPS tools write) are dropped:
	-- naboom's polygons are flat.
	g := ST_SetSRID(ST_Force2D(g), 4326);
	IF ST_XMin(g) < -180 OR ST_XMax(g) > 180 OR ST_YMin(g) < -90 OR ST_YMax(g) > 90 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_coordinates',
			format('%s lies outside WGS84 longitude/latitude ranges', what),
			'GeoJSON positions are [longitude, latitude] in degrees.',
			'Check that longitude comes first.');
	END IF;
	reason := ST_IsValidReason(g);		-- unlike ST_IsValid, raises no NOTICE
	IF reason <> 'Valid Geometry' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_geometry',
			format('%s is not a valid polygon', what), reason || '.',
			'Fix self-intersections or unclosed rings (e.g. with ST_MakeValid) and send it again.');
	END IF;
	RETURN ST_Multi(g);
END
$$;

COMMENT ON FUNCTION naboom.parse_polygon(text, text) IS
	'A valid WGS84 MultiPolygon from GeoJSON text, or naboom.invalid_geojson / naboom.invalid_geometry / naboom.invalid_coordinates (22023)';

CREATE OR REPLACE FUNCTION naboom_api.create_community(
	slug text, name text, boundary text DEFAULT NULL, time_zone text DEFAULT 'Africa/Johannesburg',
	admin_ref text DEFAULT NULL, admin_name text DEFAULT NULL, allow_outside_reports boolean DEFAULT false)
RETURNS naboom_api.community
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_slug text := lower(naboom.clean_text('slug', slug, true, 63));
	v_name text := naboom.clean_text('name', name, true, 200);
	v_admin text := coalesce(admin_ref, actor);
	v_geom geometry;
	c naboom.community;
BEGIN
	IF v_slug !~ '^[a-z0-9][a-z0-9-]{1,62}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_slug', format('invalid community slug "%s"', v_slug),
			'A slug is 2 to 63 lower-case letters, digits and hyphens.', 'Use something like mookgophong.');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = time_zone) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_time_zone', format('unknown time zone "%s"', time_zone),
			'The time zone must be an IANA name.', 'Use e.g. Africa/Johannesburg.');
	END IF;
	-- admin_ref is the sub claim the admin's tokens will carry: taken as it
	-- is, and held to the rule the claims are held to.
	IF admin_ref IS NOT NULL AND (length(admin_ref) NOT BETWEEN 1 AND 255 OR admin_ref ~ '[[:cntrl:]]'
		OR btrim(admin_ref) = '') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_user_ref', 'admin_ref is not a valid user reference',
			'A user reference is the sub claim of the person''s JWT: 1 to 255 characters, not blank, no control characters.',
			'Pass the admin''s sub claim exactly as the gateway will see it.');
	END IF;
	IF boundary IS NOT NULL THEN
		v_geom := naboom.parse_polygon(boundary, 'boundary');
	END IF;
	IF EXISTS (SELECT 1 FROM naboom.community x WHERE x.slug = v_slug) THEN
		PERFORM naboom.fail('PT409', 'naboom.community_exists', format('community "%s" already exists', v_slug),
			'Slugs are unique.', 'Choose another slug.');
	END IF;

	INSERT INTO naboom.community (slug, name, boundary, time_zone, allow_outside_reports)
	VALUES (v_slug, v_name, v_geom, time_zone, coalesce(allow_outside_reports, false))
	RETURNING * INTO c;

	-- Every community can raise a panic.
	INSERT INTO naboom.category (community_id, code, name_en, name_af, default_priority, ack_target,
		resolve_target, duplicate_radius_m, duplicate_window)
	VALUES (c.community_id, 'panic', 'Panic / SOS', 'Paniek / Nood', 'critical', '2 minutes',
		'2 hours', 100, '10 minutes');

	IF v_admin IS NOT NULL THEN
		INSERT INTO naboom.member (community_id, user_ref, display_name, role)
		VALUES (c.community_id, v_admin,
			coalesce(naboom.clean_text('admin_name', admin_name, false, 120), v_admin), 'admin');
	END IF;

	PERFORM set_config('response.status', '201', true);
	RETURN (c.slug, c.name, c.time_zone, ST_AsGeoJSON(c.boundary, 6)::jsonb, c.reopen_window,
		c.auto_close_after, c.escalation_interval, c.allow_outside_reports, c.created_at)::naboom_api.community;
END
$$;

COMMENT ON FUNCTION naboom_api.create_community(text, text, text, text, text, text, boolean) IS
	'Create a community (naboom_service only). boundary: GeoJSON Polygon/MultiPolygon. admin_ref (default: the caller''s JWT sub) becomes its first admin. Seeds the panic category. 201';

CREATE OR REPLACE FUNCTION naboom_api.upsert_area(
	community text, code text, name text, boundary text, name_af text DEFAULT NULL, kind text DEFAULT 'ward')
RETURNS naboom_api.area
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	v_code text := lower(naboom.clean_text('code', code, true, 63));
	v_name text := naboom.clean_text('name', name, true, 120);
	v_name_af text := coalesce(naboom.clean_text('name_af', name_af, false, 120), v_name);
	v_geom geometry;
	a naboom.area;
	created boolean;
BEGIN
	PERFORM naboom.require_role(c, actor, 'moderator');
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	IF v_code !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_code', format('invalid area code "%s"', v_code),
			'An area code is lower-case letters, digits, _ and -.', 'Use something like ward-3 or farm_block_a.');
	END IF;
	IF kind IS NULL OR kind NOT IN ('ward', 'suburb', 'farm_block', 'patrol_sector', 'other') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_area_kind', format('unknown area kind "%s"', kind),
			'Area kinds are ward, suburb, farm_block, patrol_sector and other.', 'Pick one of those.');
	END IF;
	v_geom := naboom.parse_polygon(boundary, 'area boundary');
	IF c.boundary IS NOT NULL AND NOT ST_CoveredBy(v_geom, ST_Buffer(c.boundary::geography, 50)::geometry) THEN
		PERFORM naboom.fail('22023', 'naboom.area_outside_community',
			format('area "%s" is not inside community "%s"', v_code, c.slug),
			'Part of the area lies outside the community boundary.',
			'Clip the area to the community boundary.');
	END IF;

	created := NOT EXISTS (SELECT 1 FROM naboom.area x WHERE x.community_id = c.community_id AND x.code = v_code);
	INSERT INTO naboom.area AS x (community_id, code, name_en, name_af, kind, boundary, area_m2)
	VALUES (c.community_id, v_code, v_name, v_name_af, kind, v_geom, ST_Area(v_geom::geography))
	ON CONFLICT ON CONSTRAINT area_community_id_code_key DO UPDATE
		SET name_en = EXCLUDED.name_en, name_af = EXCLUDED.name_af, kind = EXCLUDED.kind,
			boundary = EXCLUDED.boundary, area_m2 = EXCLUDED.area_m2, updated_at = now()
	RETURNING * INTO a;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN (c.slug, a.code, a.name_en, a.name_af, a.kind, a.area_m2 / 1e6,
		ST_AsGeoJSON(a.boundary, 6)::jsonb)::naboom_api.area;
END
$$;

COMMENT ON FUNCTION naboom_api.upsert_area(text, text, text, text, text, text) IS
	'Create or replace an area of a community (moderators and admins). boundary: GeoJSON Polygon/MultiPolygon inside the community. 201 when created. Rate limited (setup)';

CREATE OR REPLACE FUNCTION naboom_api.upsert_category(
	community text, code text, name_en text, name_af text, default_priority text DEFAULT 'medium',
	is_sensitive boolean DEFAULT false, ack_target interval DEFAULT '15 minutes',
	resolve_target interval DEFAULT '24 hours', duplicate_radius_m double precision DEFAULT 250,
	duplicate_window interval DEFAULT '2 hours', is_active boolean DEFAULT true)
RETURNS naboom_api.category
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	v_code text := lower(naboom.clean_text('code', code, true, 40));
	v_en text := naboom.clean_text('name_en', name_en, true, 80);
	v_af text := naboom.clean_text('name_af', name_af, true, 80);
	cat naboom.category;
	created boolean;
BEGIN
	PERFORM naboom.require_role(c, actor, 'moderator');
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	IF v_code !~ '^[a-z][a-z0-9_]{0,39}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_code', format('invalid category code "%s"', v_code),
			'A category code is a lower-case letter followed by letters, digits and _.', 'Use something like stock_theft.');
	END IF;
	IF default_priority IS NULL OR default_priority NOT IN ('low', 'medium', 'high', 'critical') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_priority', format('unknown priority "%s"', default_priority),
			'Priorities are low, medium, high and critical.', 'Pick one of those.');
	END IF;
	-- Every interval a moderator sets has bounds, so no stored value can
	-- break the reporting path (a window of 7000 years overflowed the
	-- duplicate search's timestamp arithmetic).  The table's CHECKs repeat
	-- them for direct writes.
	IF ack_target IS NULL OR NOT ack_target BETWEEN '1 minute' AND '30 days' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'ack_target must be between 1 minute and 30 days',
			format('It is %s.', coalesce(ack_target::text, 'NULL')), 'Give e.g. 15 minutes.');
	END IF;
	IF resolve_target IS NULL OR NOT resolve_target BETWEEN '1 minute' AND '1 year' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'resolve_target must be between 1 minute and 1 year',
			format('It is %s.', coalesce(resolve_target::text, 'NULL')), 'Give e.g. 24 hours.');
	END IF;
	IF duplicate_window IS NULL OR NOT duplicate_window BETWEEN '1 minute' AND '30 days' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'duplicate_window must be between 1 minute and 30 days',
			format('It is %s.', coalesce(duplicate_window::text, 'NULL')), 'Give e.g. 2 hours.');
	END IF;
	IF duplicate_radius_m IS NULL OR NOT (duplicate_radius_m > 0 AND duplicate_radius_m <= 50000) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_radius', 'duplicate_radius_m must be between 0 and 50000 metres',
			format('It is %s.', duplicate_radius_m), 'A few hundred metres suits most categories.');
	END IF;

	created := NOT EXISTS (SELECT 1 FROM naboom.category x WHERE x.community_id = c.community_id AND x.code = v_code);
	INSERT INTO naboom.category AS x (community_id, code, name_en, name_af, default_priority, is_sensitive,
		ack_target, resolve_target, duplicate_radius_m, duplicate_window, is_active)
	VALUES (c.community_id, v_code, v_en, v_af, default_priority::naboom.priority, coalesce(is_sensitive, false),
		ack_target, resolve_target, duplicate_radius_m, duplicate_window, coalesce(is_active, true))
	ON CONFLICT ON CONSTRAINT category_pkey DO UPDATE
		SET name_en = EXCLUDED.name_en, name_af = EXCLUDED.name_af, default_priority = EXCLUDED.default_priority,
			is_sensitive = EXCLUDED.is_sensitive, ack_target = EXCLUDED.ack_target,
			resolve_target = EXCLUDED.resolve_target, duplicate_radius_m = EXCLUDED.duplicate_radius_m,
			duplicate_window = EXCLUDED.duplicate_window, is_active = EXCLUDED.is_active
	RETURNING * INTO cat;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN naboom.category_out(cat);
END
$$;

COMMENT ON FUNCTION naboom_api.upsert_category(text, text, text, text, text, boolean, interval, interval, double precision, interval, boolean) IS
	'Create or change an incident category (moderators and admins), named in English and Afrikaans. 201 when created. Rate limited (setup)';

CREATE OR REPLACE FUNCTION naboom_api.join_community(
	community text, display_name text, phone text DEFAULT NULL, language text DEFAULT 'en')
RETURNS naboom_api.member
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	v_name text := naboom.clean_text('display_name', display_name, true, 120);
	v_phone text := naboom.clean_text('phone', phone, false, 20);
	m naboom.member;
	created boolean;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'joining needs a person',
			'The naboom service cannot join a community.', 'Call with the person''s JWT claims.');
	END IF;
	IF v_phone IS NOT NULL AND v_phone !~ '^\+?[0-9][0-9 ]{5,19}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_phone', format('invalid phone number "%s"', v_phone),
			'A phone number is digits and spaces, optionally starting with +.', 'Use e.g. +27 82 555 0123.');
	END IF;
	IF language IS NULL OR language NOT IN ('en', 'af') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_language', format('unsupported language "%s"', language),
			'naboom speaks English (en) and Afrikaans (af).', 'Use en or af.');
	END IF;
	-- Joining and every profile update count (an upsert: a trigger would
	-- count it twice, once for the insert it tries first).
	PERFORM naboom.rate_limit(c.community_id, actor, 'profile');
	created := NOT EXISTS (SELECT 1 FROM naboom.member x WHERE x.community_id = c.community_id AND x.user_ref = actor);
	INSERT INTO naboom.member AS x (community_id, user_ref, display_name, phone, language)
	VALUES (c.community_id, actor, v_name, v_phone, language)
	ON CONFLICT ON CONSTRAINT member_pkey DO UPDATE
		SET display_name = EXCLUDED.display_name, phone = EXCLUDED.phone,
			language = EXCLUDED.language, last_active_at = now()
	RETURNING * INTO m;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN naboom.member_out(m, actor);
END
$$;

COMMENT ON FUNCTION naboom_api.join_community(text, text, text, text) IS
	'Join a community as a resident, or update one''s name, phone and language (idempotent). 201 when joined. Rate limited (profile)';

CREATE OR REPLACE FUNCTION naboom_api.set_member_role(community text, user_ref text, role text)
RETURNS naboom_api.member
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	my_role naboom.member_role := naboom.require_role(c, actor, 'moderator');
	v_role naboom.member_role;
	m naboom.member;
BEGIN
	IF role IS NULL OR role NOT IN ('resident', 'verified', 'responder', 'moderator', 'admin') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_role', format('unknown role "%s"', role),
			'Roles are resident, verified, responder, moderator and admin.', 'Pick one of those.');
	END IF;
	v_role := role::naboom.member_role;
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	SELECT * INTO m FROM naboom.member x WHERE x.community_id = c.community_id AND x.user_ref = set_member_role.user_ref
		FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_member', format('"%s" is not a member of "%s"', user_ref, c.slug),
			'Only members have roles.', 'Ask them to join the community first.');
	END IF;
	IF actor IS NOT NULL AND m.user_ref = actor THEN
		PERFORM naboom.fail('42501', 'naboom.own_role', 'you cannot change your own role',
			'Roles are granted by someone else.', 'Ask another admin.');
	END IF;
	IF my_role IS NOT NULL AND my_role < 'admin' AND (v_role >= 'moderator' OR m.role >= 'moderator') THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role', 'only admins grant or revoke moderator and admin',
			format('You are a %s.', my_role), 'Ask an admin of the community.');
	END IF;
	IF m.role = 'admin' AND v_role < 'admin' AND NOT EXISTS (
		SELECT 1 FROM naboom.member x WHERE x.community_id = c.community_id AND x.role = 'admin'
			AND x.user_ref <> m.user_ref) THEN
		PERFORM naboom.fail('PT409', 'naboom.last_admin', 'a community needs an admin',
			format('"%s" is the last admin of %s.', m.user_ref, c.name), 'Make someone else admin first.');
	END IF;
	UPDATE naboom.member x SET role = v_role, on_duty = x.on_duty AND v_role >= 'responder'
	WHERE x.community_id = c.community_id AND x.user_ref = m.user_ref
	RETURNING * INTO m;
	RETURN naboom.member_out(m, actor);
END
$$;

COMMENT ON FUNCTION naboom_api.set_member_role(text, text, text) IS
	'Set a member''s role. Moderators set resident/verified/responder; only admins grant or revoke moderator and admin; no one changes their own role; the last admin stays. Rate limited (setup)';

CREATE OR REPLACE FUNCTION naboom.file_incident(
	c naboom.community, actor text, my_role naboom.member_role, cat naboom.category, kind naboom.incident_kind,
	lat double precision, lon double precision, title text, description text, address text,
	accuracy_m double precision, is_public boolean, priority naboom.priority,
	p_client_ref text, next_escalation_at timestamptz) RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	i naboom.incident;
	r naboom_api.incident;
	created boolean := true;
BEGIN
	PERFORM naboom.check_accuracy(accuracy_m);
	-- Routing (area, boundary, accuracy flag) happens in the workflow
	-- trigger; alerts go out from the AFTER INSERT trigger.
	INSERT INTO naboom.incident (community_id, category_code, kind, title, description, location, accuracy_m,
		address, priority, reporter_ref, is_public, client_ref, next_escalation_at)
	VALUES (c.community_id, cat.code, kind, coalesce(title, cat.name_en), description,
		ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m,
		address, priority, actor, is_public, p_client_ref, next_escalation_at)
	ON CONFLICT (community_id, reporter_ref, client_ref) WHERE client_ref IS NOT NULL DO NOTHING
	RETURNING * INTO i;

	IF NOT FOUND THEN
		-- A resubmit (after a timeout, or while offline): same incident.
		created := false;
		SELECT * INTO i FROM naboom.incident x
		WHERE x.community_id = c.community_id AND x.reporter_ref = actor AND x.client_ref = p_client_ref;
		IF i.kind <> kind OR i.category_code <> cat.code THEN
			PERFORM naboom.fail('PT409', 'naboom.client_ref_reused',
				format('client_ref "%s" was already used for %s', p_client_ref, i.reference),
				format('That client_ref filed a %s of category %s.', i.kind, i.category_code),
				'Use a fresh client_ref for each new report.');
		END IF;
	END IF;
	-- Likely duplicates.  The place is claimed first, in its own statement,
	-- so of two reports within the duplicate radius at the same time the
	-- later waits for the earlier and then sees it.
	IF created THEN
		PERFORM naboom.lock_duplicate_place(c.community_id, cat.code, lat, lon, i.incident_id);
	END IF;
	r := naboom.incident_out(i, actor, my_role, false);
	SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') INTO r.duplicate_candidates
	FROM naboom.duplicate_rows(c, cat.code, ST_Y(i.location), ST_X(i.location), actor, my_role,
		i.incident_id) d;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.file_incident(naboom.community, text, naboom.member_role, naboom.category, naboom.incident_kind, double precision, double precision, text, text, text, double precision, boolean, naboom.priority, text, timestamptz) IS
	'Shared body of report_incident and raise_panic: boundary check, area routing, idempotent insert on client_ref';

CREATE OR REPLACE FUNCTION naboom.lock_duplicate_place(community_id bigint, category text, lat double precision,
	lon double precision, incident_id bigint) RETURNS void
AS 'MODULE_PATHNAME', 'naboom_lock_duplicate_place' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.lock_duplicate_place(bigint, text, double precision, double precision, bigint) IS
	'Claim the place of the report incident_id (just inserted) until the transaction ends, and wait for the reports in progress within the category''s duplicate radius that claimed theirs first, so that of two concurrent reports there the later sees the earlier; reports further apart never wait. Call it as its own statement before searching';

CREATE OR REPLACE FUNCTION naboom.duplicate_rows(c naboom.community, category text, lat double precision,
	lon double precision, actor text, my_role naboom.member_role, exclude_id bigint)
RETURNS SETOF naboom_api.duplicate_candidate
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	staff boolean := (actor IS NULL AND naboom.is_service()) OR coalesce(my_role >= 'responder', false);
BEGIN
	RETURN QUERY
	-- A blurred incident's distance is measured to the point shown and
	-- rounded to 100 m, and the list is ordered by what is shown: neither
	-- may tell a caller more about the true place than the blurred point.
	SELECT d.reference, d.category_code, d.title, d.status, d.priority::text, w.distance_m,
		ST_Y(v.shown), ST_X(v.shown), v.blur, d.reporter_ref IS NOT DISTINCT FROM actor, d.created_at
	FROM naboom.duplicate_search(c.community_id, category, lat, lon, exclude_id) s
	JOIN naboom.incident d ON d.community_id = c.community_id AND d.incident_id = s.incident_id
	JOIN naboom.category cat ON cat.community_id = d.community_id AND cat.code = d.category_code
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND d.reporter_ref IS DISTINCT FROM actor AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur,
		CASE WHEN b.blur THEN naboom.blur_point(d.location) ELSE d.location END AS shown) v
	CROSS JOIN LATERAL (SELECT CASE WHEN v.blur
		THEN round(ST_Distance(v.shown::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) / 100) * 100
		ELSE round(s.distance_m::numeric, 1)::double precision END AS distance_m) w
	WHERE d.is_public OR staff OR d.reporter_ref = actor
	ORDER BY w.distance_m, d.reference;
END
$$;

COMMENT ON FUNCTION naboom.duplicate_rows(naboom.community, text, double precision, double precision, text, naboom.member_role, bigint) IS
	'The duplicate candidates of a place as the actor may see them (private ones only for their reporter and staff; sensitive ones blurred)';

CREATE OR REPLACE FUNCTION naboom_api.incidents_near(lat double precision, lon double precision, radius_m double precision DEFAULT 500,
	statuses text[] DEFAULT NULL, category text DEFAULT NULL, since timestamptz DEFAULT NULL,
	newest_first boolean DEFAULT false, max_count integer DEFAULT 200)
RETURNS SETOF naboom_api.nearby_incident
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	-- Blurred points move up to ~80 m: search 150 m wider, then filter on
	-- the distance to the point shown, so a blurred incident cannot be
	-- located by moving the circle.
	ok boolean := naboom.check_point(lat, lon);
	r double precision := naboom.check_radius('radius_m', radius_m);
	box double precision[] := naboom.search_box(lat, lon, r + 150);
	n integer := naboom.check_count('max_count', max_count, 5000);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	staff_of bigint[] := CASE WHEN actor IS NULL THEN '{}' ELSE naboom.my_staff_community_ids() END;
	pt geography := ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
	unknown text;
	hit record;
	read_c bigint[] := '{}';
	read_i bigint[] := '{}';
	read_args jsonb[] := '{}';
BEGIN
	SELECT s INTO unknown FROM unnest(statuses) s
	WHERE s IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.status x WHERE x.status = s) LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_status', format('unknown status "%s"', left(coalesce(unknown, ''), 40)),
			'Statuses: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order) FROM naboom.status x) || '.',
			'Leave statuses out for the live ones.');
	END IF;
	FOR hit IN
	SELECT (i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text, i.title,
		ST_Y(v.shown), ST_X(v.shown), v.blur,
		CASE WHEN v.blur THEN round(v.dist / 100) * 100 ELSE round(v.dist::numeric, 1)::double precision END,
		a.code, i.priority::text, i.status, st.status_type::text, st.label_en, st.label_af,
		actor IS NOT NULL AND i.reporter_ref = actor, i.created_at, i.updated_at)::naboom_api.nearby_incident AS out,
		i.is_public, i.community_id, i.incident_id
	FROM naboom.incident i
	JOIN naboom.community c ON c.community_id = i.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT service AND NOT (i.community_id = ANY (staff_of))
		AND i.reporter_ref IS DISTINCT FROM actor AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur, s.shown, ST_Distance(s.shown::geography, pt) AS dist
		FROM (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) s) v
	WHERE i.location && ST_MakeEnvelope(box[1], box[2], box[3], box[4], 4326)
		AND ST_DWithin(v.shown::geography, pt, radius_m)
		AND (i.status = ANY (statuses) OR statuses IS NULL AND st.status_type = 'open')
		AND (category IS NULL OR i.category_code = lower(category))
		AND (since IS NULL OR i.created_at >= since)
		AND (i.is_public OR service OR i.community_id = ANY (staff_of) OR i.reporter_ref = actor)
	ORDER BY CASE WHEN newest_first THEN i.created_at END DESC, v.dist, i.reference
	LIMIT n
	LOOP
		IF NOT hit.is_public THEN
			read_c := read_c || hit.community_id;
			read_i := read_i || hit.incident_id;
			read_args := read_args || jsonb_build_object('reference', (hit.out).reference);
		END IF;
		RETURN NEXT hit.out;
	END LOOP;
	-- Private incidents are emergency data: who saw them is recorded, all
	-- in one go, before any row reaches the caller (RETURN NEXT only
	-- collects them); a read that cannot be recorded fails instead.
	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('incidents_near', read_c, read_i, read_args);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer) IS
	'Incidents the caller may see within radius_m metres (WGS84 spheroid) of a point, nearest first (or newest first), live ones unless statuses are given. Sensitive locations are blurred and measured from the blurred point. A gateway pages the result';

CREATE OR REPLACE FUNCTION naboom_api.subscribe(community text, lat double precision, lon double precision,
	radius_m double precision DEFAULT 1000, categories text[] DEFAULT NULL, min_priority text DEFAULT 'low',
	label text DEFAULT NULL)
RETURNS naboom_api.subscription
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	v_label text := naboom.clean_text('label', label, false, 80);
	v_priority naboom.priority := naboom.check_priority(min_priority);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	box double precision[];
	s naboom.subscription;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a subscription belongs to a person',
			'The naboom service cannot subscribe.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	box := naboom.search_box(lat, lon, naboom.check_radius('radius_m', radius_m));
	-- One member's subscriptions are serialised by their member row.
	PERFORM 1 FROM naboom.member m WHERE m.community_id = c.community_id AND m.user_ref = actor FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM naboom.subscription x WHERE x.community_id = c.community_id AND x.user_ref = actor) >= 20 THEN
		PERFORM naboom.fail('PT409', 'naboom.subscription_limit', 'you have 20 alert areas in this community already',
			'A member may have at most 20 alert areas per community.', 'Remove one with unsubscribe first.');
	END IF;
	INSERT INTO naboom.subscription (community_id, user_ref, label, centre, radius_m, reach, categories, min_priority)
	VALUES (c.community_id, actor, v_label, ST_SetSRID(ST_MakePoint(lon, lat), 4326), radius_m,
		ST_MakeEnvelope(box[1], box[2], box[3], box[4], 4326), naboom.check_categories(c, categories), v_priority)
	RETURNING * INTO s;
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.subscription_out(s);
END
$$;

COMMENT ON FUNCTION naboom_api.subscribe(text, double precision, double precision, double precision, text[], text, text) IS
	'Add an alert area: incidents of the given categories (NULL: all) at or above min_priority within radius_m metres of the point alert the caller. At most 20 per member per community. 201';

CREATE OR REPLACE FUNCTION naboom_api.my_alerts(after_id bigint DEFAULT 0, max_count integer DEFAULT 100)
RETURNS SETOF naboom_api.alert
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	n integer := naboom.check_count('max_count', max_count, 1000);
BEGIN
	RETURN QUERY
	SELECT al.alert_id, c.slug, i.reference, i.kind::text, i.category_code, cat.name_en, cat.name_af, i.title,
		i.priority::text, i.status, ST_Y(v.shown), ST_X(v.shown), b.blur, al.reason,
		-- Blurred: from the alert area's centre to the point shown, rounded
		-- to 100 m (the stored distance is to the true place); unknown once
		-- the alert area is gone.
		CASE WHEN NOT b.blur THEN round(al.distance_m::numeric, 1)::double precision
			ELSE round(ST_Distance(v.shown::geography, sub.centre::geography) / 100) * 100 END,
		al.escalation_level, al.created_at
	FROM naboom.alert al
	LEFT JOIN naboom.subscription sub ON sub.community_id = al.community_id
		AND sub.subscription_id = al.subscription_id
	JOIN naboom.incident i ON i.community_id = al.community_id AND i.incident_id = al.incident_id
	JOIN naboom.community c ON c.community_id = al.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	LEFT JOIN naboom.member m ON m.community_id = al.community_id AND m.user_ref = al.user_ref
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND coalesce(m.role < 'responder', true) AS blur) b
	CROSS JOIN LATERAL (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
	WHERE al.user_ref = actor AND al.alert_id > coalesce(after_id, 0)
	ORDER BY al.alert_id
	LIMIT n;
END
$$;

COMMENT ON FUNCTION naboom_api.my_alerts(bigint, integer) IS
	'The caller''s alerts with id greater than after_id, oldest first: pass the last id seen to get only new ones';

CREATE OR REPLACE FUNCTION naboom.check_map_features(max_features integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_map_features' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_map_features(integer) IS
	'How many incidents a map may show: max_features, or the naboom.max_map_features setting when NULL; else naboom.invalid_count (22023)';

CREATE OR REPLACE FUNCTION naboom.map_box(min_lat double precision, min_lon double precision,
	max_lat double precision, max_lon double precision) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF min_lat IS NULL AND min_lon IS NULL AND max_lat IS NULL AND max_lon IS NULL THEN
		RETURN NULL;
	END IF;
	IF min_lat IS NULL OR min_lon IS NULL OR max_lat IS NULL OR max_lon IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_bbox', 'a bounding box needs min_lat, min_lon, max_lat and max_lon',
			'Some of the four are missing.', 'Give all four, or none for the whole community.');
	END IF;
	IF NOT (min_lat BETWEEN -90 AND 90 AND max_lat BETWEEN -90 AND 90
		AND min_lon BETWEEN -180 AND 180 AND max_lon BETWEEN -180 AND 180) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_coordinates',
			'min_lat and max_lat must be between -90 and 90, min_lon and max_lon between -180 and 180',
			format('The box is %s, %s to %s, %s.', min_lat, min_lon, max_lat, max_lon),
			'Send WGS84 decimal degrees: the south-west corner, then the north-east one.');
	END IF;
	IF min_lat > max_lat THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_bbox', 'min_lat must not be more than max_lat',
			format('min_lat is %s, max_lat %s.', min_lat, max_lat), 'Give the southern edge as min_lat.');
	END IF;
	-- West of east, or across the antimeridian (min_lon > max_lon).
	IF min_lon <= max_lon THEN
		RETURN ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326);
	END IF;
	RETURN ST_Collect(ST_MakeEnvelope(min_lon, min_lat, 180, max_lat, 4326),
		ST_MakeEnvelope(-180, min_lat, max_lon, max_lat, 4326));
END
$$;

COMMENT ON FUNCTION naboom.map_box(double precision, double precision, double precision, double precision) IS
	'The bounding box of a map as a geometry (two boxes when min_lon > max_lon: across the antimeridian); NULL when all four edges are NULL; else naboom.invalid_bbox or naboom.invalid_coordinates (22023)';

CREATE OR REPLACE FUNCTION naboom.map_rows(c naboom.community, actor text, box geometry, max_rows integer)
RETURNS TABLE (reference text, category text, category_en text, category_af text, kind text, title text,
	priority text, status text, created_at timestamptz, blurred boolean, shown geometry, total bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	service boolean := actor IS NULL AND naboom.is_service();
	my_role naboom.member_role := naboom.role_in(c.community_id, actor);
	staff boolean := service OR coalesce(my_role >= 'responder', false);
BEGIN
	-- The box is tested against the point shown (a blurred point for
	-- sensitive categories), so a small box cannot locate the true place;
	-- the index filter in front of it is the box widened by a blur cell.
	-- Over max_rows, the most urgent and newest are kept.
	RETURN QUERY
	SELECT k.reference, k.category_code, k.name_en, k.name_af, k.kind, k.title, k.priority::text, k.status,
		k.created_at, k.blur, k.shown, k.total
	FROM (
		SELECT i.reference, i.category_code, cat.name_en, cat.name_af, i.kind::text AS kind, i.title, i.priority,
			i.status, i.created_at, b.blur, v.shown, count(*) OVER () AS total
		FROM naboom.incident i
		JOIN naboom.status st ON st.status = i.status AND st.status_type = 'open'
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND i.reporter_ref IS DISTINCT FROM actor AS blur) b
		CROSS JOIN LATERAL (SELECT CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
		WHERE i.community_id = c.community_id
			AND (i.is_public OR staff OR (actor IS NOT NULL AND i.reporter_ref = actor))
			AND (box IS NULL OR (i.location && ST_Expand(box, 0.001) AND ST_Intersects(v.shown, box)))
		ORDER BY i.priority DESC, i.created_at DESC, i.reference
		LIMIT max_rows) k
	ORDER BY k.created_at, k.reference;
END
$$;

COMMENT ON FUNCTION naboom.map_rows(naboom.community, text, geometry, integer) IS
	'The live incidents of a community as the actor may see them, with the point to show, whose shown point lies in box (NULL: anywhere); at most max_rows (the most urgent, then the newest), oldest first; total is how many there are in all';

CREATE OR REPLACE FUNCTION naboom_api.community_map_geojson(community text, min_lat double precision DEFAULT NULL,
	min_lon double precision DEFAULT NULL, max_lat double precision DEFAULT NULL,
	max_lon double precision DEFAULT NULL, max_features integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_map_features(max_features);
	box geometry := naboom.map_box(min_lat, min_lon, max_lat, max_lon);
	c naboom.community := naboom.community_by_slug(community);
	features jsonb;
	shown bigint;
	total bigint;
BEGIN
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'type', 'Feature',
			'id', r.reference,
			'geometry', ST_AsGeoJSON(r.shown, 6)::jsonb,
			'properties', jsonb_build_object('reference', r.reference, 'category', r.category,
				'category_en', r.category_en, 'category_af', r.category_af, 'kind', r.kind, 'title', r.title,
				'priority', r.priority, 'status', r.status, 'created_at', r.created_at,
				'location_blurred', r.blurred)) ORDER BY r.created_at, r.reference), '[]'::jsonb),
		count(*), coalesce(max(r.total), 0)
	INTO features, shown, total
	FROM naboom.map_rows(c, naboom.current_actor(), box, n) r;
	-- Foreign members say whether the map was cut and how many there are;
	-- bbox (RFC 7946) is the box asked for.
	RETURN jsonb_build_object('type', 'FeatureCollection', 'features', features,
		'truncated', total > shown, 'total', total)
		|| CASE WHEN box IS NULL THEN '{}'::jsonb
			ELSE jsonb_build_object('bbox', jsonb_build_array(min_lon, min_lat, max_lon, max_lat)) END;
END
$$;

COMMENT ON FUNCTION naboom_api.community_map_geojson(text, double precision, double precision, double precision, double precision, integer) IS
	'The community''s live incidents the caller may see, as a GeoJSON FeatureCollection (WGS84); sensitive locations blurred as everywhere. Optionally only those shown within a bounding box (min_lon > max_lon: across the antimeridian). At most max_features (default and limit: the naboom.max_map_features setting), the most urgent and newest; "truncated" says whether some were left out and "total" how many there are';

CREATE OR REPLACE FUNCTION naboom_api.community_map_svg(community text, width integer DEFAULT 800,
	min_lat double precision DEFAULT NULL, min_lon double precision DEFAULT NULL,
	max_lat double precision DEFAULT NULL, max_lon double precision DEFAULT NULL,
	max_features integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	w integer := naboom.check_count('width', width, 4000);
	n integer := naboom.check_map_features(max_features);
	box geometry := naboom.map_box(min_lat, min_lon, max_lat, max_lon);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.current_actor();
	ext box2d;
	kx double precision;		-- longitude scale: equirectangular at the centre latitude
	vb_w double precision;
	vb_h double precision;
	dot double precision;
	circles text;
	shown bigint;
	total bigint;
	body text;
BEGIN
	-- The extent: the box asked for, else boundary, else areas, else
	-- incidents, else the point 0,0.
	ext := coalesce(box::box2d, c.boundary::box2d,
		(SELECT ST_Extent(a.boundary) FROM naboom.area a WHERE a.community_id = c.community_id),
		(SELECT ST_Extent(r.shown) FROM naboom.map_rows(c, actor, box, n) r),
		ST_MakeBox2D(ST_MakePoint(-0.01, -0.01), ST_MakePoint(0.01, 0.01)));
	ext := ST_Expand(ext, greatest(ST_XMax(ext) - ST_XMin(ext), ST_YMax(ext) - ST_YMin(ext), 0.002) * 0.04);
	kx := cos(radians((ST_YMin(ext) + ST_YMax(ext)) / 2));
	vb_w := (ST_XMax(ext) - ST_XMin(ext)) * kx;
	vb_h := ST_YMax(ext) - ST_YMin(ext);
	dot := greatest(vb_w, vb_h) / 120;

	SELECT string_agg(format('<g class="incident %s"><title>%s</title><circle %s r="%s"/></g>',
			r.priority, naboom.xml_text(r.reference || ' ' || r.category_en || ' (' || r.priority || ', ' || r.status || ')'),
			ST_AsSVG(ST_Scale(r.shown, kx, 1), 0, 6), round(dot::numeric, 6)), E'\n' ORDER BY r.created_at, r.reference),
		count(*), coalesce(max(r.total), 0)
	INTO circles, shown, total
	FROM naboom.map_rows(c, actor, box, n) r;

	SELECT string_agg(part, E'\n' ORDER BY ord) INTO body FROM (
		SELECT 1 AS ord, format('<path class="boundary" d="%s"/>', ST_AsSVG(ST_Scale(c.boundary, kx, 1), 0, 6)) AS part
		WHERE c.boundary IS NOT NULL
		UNION ALL
		SELECT 2, format('<g class="area"><title>%s</title><path d="%s"/></g>',
			naboom.xml_text(a.name_en || ' / ' || a.name_af), ST_AsSVG(ST_Scale(a.boundary, kx, 1), 0, 6))
		FROM naboom.area a WHERE a.community_id = c.community_id AND (box IS NULL OR a.boundary && box)
		UNION ALL
		SELECT 3, circles WHERE circles IS NOT NULL
	) parts;

	-- Strokes and text are in map units (degrees), so every SVG renderer
	-- draws them the same; a legend sits in the top-left corner, and says
	-- so when incidents were left out (data-total: how many there are).
	RETURN format(
		'<svg xmlns="http://www.w3.org/2000/svg" width="%1$s" height="%2$s" viewBox="%3$s %4$s %5$s %6$s" data-incidents="%13$s" data-total="%14$s" data-truncated="%15$s">' || E'\n' ||
		'<title>%7$s</title>' || E'\n' ||
		'<style>.boundary{fill:#f4f1e8;stroke:#333;stroke-width:%8$s}'
		'.area path{fill:#dfe9d8;fill-opacity:.5;stroke:#6b8f5e;stroke-width:%9$s}'
		'.incident circle,.legend circle{stroke:#fff;stroke-width:%10$s}.low circle{fill:#2e7d32}.medium circle{fill:#f9a825}'
		'.high circle{fill:#ef6c00}.critical circle{fill:#c62828}'
		'text{font-family:sans-serif;font-size:12px;fill:#333}</style>' || E'\n' ||
		'<rect x="%3$s" y="%4$s" width="%5$s" height="%6$s" fill="#fbfaf6"/>' || E'\n%11$s\n%12$s\n</svg>',
		w, round(w * vb_h / vb_w), round((ST_XMin(ext) * kx)::numeric, 6), round((-ST_YMax(ext))::numeric, 6),
		round(vb_w::numeric, 6), round(vb_h::numeric, 6),
		naboom.xml_text(c.name || ': live incidents'),
		round((dot / 3)::numeric, 6), round((dot / 8)::numeric, 6), round((dot / 4)::numeric, 6),
		coalesce(body, ''),
		-- Text is drawn at 12 px and scaled into map units (some renderers
		-- ignore sub-pixel font sizes).
		(SELECT string_agg(format('<g class="legend %s"><circle cx="%s" cy="%s" r="%s"/><text transform="translate(%s %s) scale(%s)">%s</text></g>',
				p.priority, round((ST_XMin(ext) * kx + dot * 2)::numeric, 6),
				round((-ST_YMax(ext) + dot * (2 + 3 * p.n))::numeric, 6), round(dot::numeric, 6),
				round((ST_XMin(ext) * kx + dot * 4)::numeric, 6),
				round((-ST_YMax(ext) + dot * (2.6 + 3 * p.n))::numeric, 6), round((dot * 1.6 / 12)::numeric, 8),
				p.priority), E'\n' ORDER BY p.n)
			FROM unnest(ARRAY['critical', 'high', 'medium', 'low']) WITH ORDINALITY AS p(priority, n))
		|| CASE WHEN total > shown THEN E'\n' || format('<text class="truncated" transform="translate(%s %s) scale(%s)">%s of %s live incidents shown</text>',
				round((ST_XMin(ext) * kx + dot)::numeric, 6), round((-ST_YMax(ext) + dot * 17.6)::numeric, 6),
				round((dot * 1.6 / 12)::numeric, 8), shown, total)
			ELSE '' END,
		shown, total, CASE WHEN total > shown THEN 'true' ELSE 'false' END);
END
$$;

COMMENT ON FUNCTION naboom_api.community_map_svg(text, integer, double precision, double precision, double precision, double precision, integer) IS
	'An SVG picture of the community, drawn by PostGIS: boundary, areas, and the live incidents the caller may see coloured by priority (low green, medium amber, high orange, critical red, with a legend), sensitive ones blurred. Optionally only a bounding box (its extent) and at most max_features incidents (default and limit: naboom.max_map_features), the most urgent and newest; data-total and data-truncated on the svg element, and a line in the legend, say when some were left out';

CREATE OR REPLACE FUNCTION naboom.audit_access(community_id bigint, incident_id bigint, what text, detail jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'naboom_audit_access' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_access(bigint, bigint, text, jsonb) IS
	'Record a READ entry (who looked at what) through the audit writer; a full queue makes it wait (naboom.audit_read_wait) and then refuses the read (PT503 naboom.audit_unavailable). Without a writer: in the transaction when it can write, else in the server log';

CREATE OR REPLACE FUNCTION naboom.audit_reads(what text, community_ids bigint[], incident_ids bigint[], args jsonb[])
RETURNS void
AS 'MODULE_PATHNAME', 'naboom_audit_reads' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_reads(text, bigint[], bigint[], jsonb[]) IS
	'Record one READ entry per element of the arrays (a read of many records through the API function what), packed into few queue entries and recorded all together as audit_access records one; or refuse the read';

CREATE OR REPLACE FUNCTION naboom.seal_audit(max_rows integer DEFAULT 100000) RETURNS naboom.audit_seal
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	prev naboom.audit_seal;
	anchor naboom.audit_expiry;
	x_from xid8 := '0';
	x_to xid8;
	cut xid8;
	s naboom.audit_seal;
BEGIN
	IF max_rows IS NULL OR max_rows < 1 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'max_rows must be at least 1',
			format('It is %s.', coalesce(max_rows::text, 'NULL')), 'Use e.g. 100000.');
	END IF;
	-- One sealer at a time; a second run has nothing to do.
	IF NOT pg_try_advisory_xact_lock(7089066834011223041) THEN
		RETURN NULL;
	END IF;
	SELECT * INTO prev FROM naboom.audit_seal ORDER BY seal_id DESC LIMIT 1;
	IF FOUND THEN
		x_from := prev.xid_to;
		-- Transaction ids only go up in one cluster.  Behind the last seal,
		-- this is a restore into a cluster whose ids start lower: new rows
		-- would never be sealed, so say so instead of sealing nothing.
		IF pg_current_xact_id() < prev.xid_to THEN
			PERFORM naboom.fail('55000', 'naboom.xid_behind_seals',
				'the audit log was sealed up to transaction ids this cluster has not reached',
				format('The last seal (%s) ends at transaction %s; this cluster is at %s. The database was restored into another cluster.',
					prev.seal_id, prev.xid_to, pg_current_xact_id()),
				'Set this cluster''s transaction id epoch above the original''s with pg_resetwal -e, as README "Backup and restore" says, then seal again.');
		END IF;
	ELSE
		-- Every seal retired with its months: chain to the last one.
		SELECT * INTO anchor FROM naboom.audit_expiry e WHERE e.anchor_seal_id IS NOT NULL
		ORDER BY e.anchor_seal_id DESC LIMIT 1;
		IF FOUND THEN
			x_from := anchor.anchor_xid_to;
			prev.seal_hash := anchor.anchor_hash;
		END IF;
	END IF;
	-- Every transaction below the oldest one still running has finished:
	-- its rows are all visible now and no new row can get such an xid.
	x_to := pg_snapshot_xmin(pg_current_snapshot());
	-- At most about max_rows rows, never splitting a transaction's rows.
	SELECT a.xid INTO cut FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to
	ORDER BY a.xid OFFSET max_rows LIMIT 1;
	IF cut IS NOT NULL THEN
		IF cut = x_from THEN
			SELECT min(a.xid) INTO cut FROM naboom.audit_log a WHERE a.xid > x_from AND a.xid < x_to;
		END IF;
		x_to := coalesce(cut, x_to);
	END IF;
	IF x_to <= x_from OR NOT EXISTS (SELECT 1 FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to) THEN
		RETURN NULL;
	END IF;
	WITH r AS (
		SELECT a.id, a.xid, a.logged_at, naboom.audit_row_hash(a) AS h
		FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to
	), agg AS (
		SELECT count(*)::integer AS n, array_agg(r.id ORDER BY r.xid, r.id) AS ids,
			string_agg(r.h, ''::bytea ORDER BY r.xid, r.id) AS hashes,
			min(r.logged_at) AS first_at, max(r.logged_at) AS last_at
		FROM r
	)
	INSERT INTO naboom.audit_seal (xid_from, xid_to, first_logged_at, last_logged_at, row_count, ids,
		row_hashes, prev_hash, seal_hash, row_format)
	SELECT x_from, x_to, agg.first_at, agg.last_at, agg.n, agg.ids, agg.hashes,
		coalesce(prev.seal_hash, '\x'::bytea),
		naboom.audit_seal_hash(coalesce(prev.seal_hash, '\x'::bytea), x_from, x_to, agg.ids, agg.hashes), 2
	FROM agg
	RETURNING * INTO s;
	-- The chain head also goes to the server log: a copy outside the tables.
	RAISE LOG 'naboom audit seal %: % rows, xid % to %, hash %', s.seal_id, s.row_count, x_from, x_to,
		encode(s.seal_hash, 'hex');
	RETURN s;
END
$$;

COMMENT ON FUNCTION naboom.seal_audit(integer) IS
	'Seal the audit rows of every transaction that has finished since the last seal (at most about max_rows, never splitting a transaction), format 2 (naboom.audit_row_hash). NULL if another seal_audit holds the lock or nothing is new. Run every minute by pg_cron';

CREATE OR REPLACE FUNCTION naboom.verify_audit(from_time timestamptz, to_time timestamptz,
	OUT problem text, OUT seal_id bigint, OUT audit_id bigint, OUT logged_at timestamptz, OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	s naboom.audit_seal;
	before naboom.audit_seal;
	anchor naboom.audit_expiry;
	r record;
	n_rows bigint := 0;
	n_seals integer := 0;
	n_problems integer := 0;
	n_unsealed bigint := 0;
	n_expired bigint := 0;
	n_anonymised_v1 bigint := 0;
	last_to xid8;
BEGIN
	IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'from_time must be before to_time',
			format('The range is [%s, %s).', from_time, to_time), 'Give a time range, e.g. the last month.');
	END IF;
	SELECT * INTO anchor FROM naboom.audit_expiry e WHERE e.anchor_seal_id IS NOT NULL
	ORDER BY e.anchor_seal_id DESC LIMIT 1;
	FOR s IN
		SELECT * FROM naboom.audit_seal x WHERE x.last_logged_at >= from_time AND x.first_logged_at < to_time
		ORDER BY x.seal_id
	LOOP
		n_seals := n_seals + 1;
		n_rows := n_rows + s.row_count;
		-- The seal itself, and its link to the one before.
		IF s.seal_hash IS DISTINCT FROM naboom.audit_seal_hash(s.prev_hash, s.xid_from, s.xid_to, s.ids, s.row_hashes)
			OR pg_catalog.octet_length(s.row_hashes) <> 32 * pg_catalog.cardinality(s.ids) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'seal_changed', s.seal_id, NULL::bigint, s.sealed_at,
				'The seal''s fields no longer hash to its seal_hash.';
		END IF;
		-- The chain is followed by hash and transaction range, not by id: seal
		-- ids come from a sequence, which skips values after a rolled-back
		-- or crashed seal_audit.  Each seal must name the hash of the seal
		-- before it and start where that one ended, so a removed or changed
		-- seal still breaks the chain.
		SELECT * INTO before FROM naboom.audit_seal x WHERE x.seal_id < s.seal_id ORDER BY x.seal_id DESC LIMIT 1;
		IF before.seal_id IS NULL THEN
			-- The first seal left: the start of the chain, or the seal after
			-- the last one retired with its months.
			IF NOT coalesce((s.prev_hash = '\x'::bytea AND s.xid_from = '0'::xid8 AND anchor.anchor_seal_id IS NULL)
				OR (anchor.anchor_seal_id < s.seal_id AND anchor.anchor_hash = s.prev_hash
					AND anchor.anchor_xid_to = s.xid_from), false) THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
					format('The seal before %s is missing or changed.', s.seal_id);
			END IF;
		ELSIF before.seal_hash <> s.prev_hash OR before.xid_to <> s.xid_from THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
				format('The seal before %s is missing or changed.', s.seal_id);
		END IF;
		-- Every sealed row, as it is now.
		FOR r IN
			SELECT u.id, u.ord, a.logged_at AS at, a.id IS NULL AS gone, a.personal_digest IS NOT NULL AS anonymised,
				EXISTS (SELECT 1 FROM naboom.audit_seal_expired x JOIN naboom.audit_expiry e ON e.partition = x.partition
					WHERE x.seal_id = s.seal_id AND u.id = ANY (x.ids)) AS expired
			FROM unnest(s.ids) WITH ORDINALITY u(id, ord)
			LEFT JOIN naboom.audit_log a ON a.id = u.id
			WHERE a.id IS NULL OR CASE WHEN s.row_format = 1
					THEN pg_catalog.sha256(pg_catalog.convert_to(naboom.audit_row_text(a), 'UTF8'))
					ELSE naboom.audit_row_hash(a) END
				<> pg_catalog.substr(s.row_hashes, (u.ord::integer - 1) * 32 + 1, 32)
		LOOP
			IF r.gone AND r.expired THEN
				n_expired := n_expired + 1;
			ELSIF NOT r.gone AND r.anonymised AND s.row_format = 1 THEN
				-- Format 1 hashed the personal fields themselves.
				n_anonymised_v1 := n_anonymised_v1 + 1;
			ELSIF r.gone THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'removed', s.seal_id, r.id, NULL::timestamptz,
					format('Row %s of seal %s is gone.', r.id, s.seal_id);
			ELSE
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'changed', s.seal_id, r.id, r.at,
					format('Row %s no longer matches its hash in seal %s.', r.id, s.seal_id);
			END IF;
		END LOOP;
		-- Rows in the seal's transactions that the seal does not list.
		FOR r IN
			SELECT a.id, a.logged_at AS at FROM naboom.audit_log a
			WHERE a.xid >= s.xid_from AND a.xid < s.xid_to AND NOT (a.id = ANY (s.ids))
		LOOP
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'inserted', s.seal_id, r.id, r.at,
				format('Row %s belongs to the transactions of seal %s but was not there when it was sealed.', r.id, s.seal_id);
		END LOOP;
	END LOOP;
	-- Rows of the range from transactions that no seal covers.
	SELECT x.xid_to INTO last_to FROM naboom.audit_seal x ORDER BY x.seal_id DESC LIMIT 1;
	last_to := coalesce(last_to, anchor.anchor_xid_to);
	FOR r IN
		SELECT a.id, a.logged_at AS at, a.xid FROM naboom.audit_log a
		WHERE a.logged_at >= from_time AND a.logged_at < to_time
			AND (last_to IS NULL OR a.xid >= last_to
				OR NOT EXISTS (SELECT 1 FROM naboom.audit_seal x WHERE a.xid >= x.xid_from AND a.xid < x.xid_to))
	LOOP
		IF last_to IS NULL OR r.xid >= last_to THEN
			n_unsealed := n_unsealed + 1;
		ELSE
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'inserted', NULL::bigint, r.id, r.at,
				format('Row %s has a transaction id below the sealed horizon but no seal covers it.', r.id);
		END IF;
	END LOOP;
	RETURN QUERY SELECT CASE WHEN n_problems = 0 THEN 'verified' ELSE 'broken' END, NULL::bigint, NULL::bigint,
		NULL::timestamptz,
		format('%s sealed rows in %s seals checked, %s problems; %s rows not sealed yet', n_rows, n_seals,
			n_problems, n_unsealed)
		|| CASE WHEN n_expired > 0 THEN format('; %s rows expired with their month', n_expired) ELSE '' END
		|| CASE WHEN n_anonymised_v1 > 0
			THEN format('; %s anonymised rows under format-1 seals checked for presence only', n_anonymised_v1)
			ELSE '' END;
END
$$;

COMMENT ON FUNCTION naboom.verify_audit(timestamptz, timestamptz) IS
	'Prove that no audit row of the seals touching [from_time, to_time) was changed, removed or inserted afterwards: one row per problem (changed, removed, inserted, seal_changed, chain_broken) with the seal and row, then a summary row (verified or broken) with the counts, the rows not sealed yet and the rows expired with a dropped month. Anonymised rows verify (format 2)';

CREATE OR REPLACE FUNCTION naboom.apply_member_touch(community_id bigint, user_ref text, active_at timestamptz) RETURNS void
LANGUAGE sql VOLATILE AS $$
	-- The member's own activity: the audit entry of the update names them.
	SELECT pg_catalog.set_config('request.jwt.claims', pg_catalog.json_build_object('sub', user_ref)::text, true);
	UPDATE naboom.member m SET last_active_at = active_at
	WHERE m.community_id = apply_member_touch.community_id AND m.user_ref = apply_member_touch.user_ref
		AND m.last_active_at < active_at - interval '1 day';
	SELECT pg_catalog.set_config('request.jwt.claims', '', true);
$$;

COMMENT ON FUNCTION naboom.apply_member_touch(bigint, text, timestamptz) IS
	'Record a member''s activity that a read-only transaction queued (naboom.touch_member), at most one write a day; called by the audit writer only';

CREATE OR REPLACE FUNCTION naboom.audit_insert_queued(entry jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
	-- A member's activity queued by a read-only transaction (action TOUCH)
	-- is applied, not logged.
	SELECT naboom.apply_member_touch((entry->>'community_id')::bigint, entry->>'actor',
		timestamptz 'epoch' + (entry->>'logged_at_us')::bigint * interval '1 microsecond')
	WHERE entry->>'action' = 'TOUCH';
	-- A read of many records comes packed (naboom.audit_reads): detail
	-- {"function": f, "reads": [[community, incident, args], ...]} is one
	-- row per record, with detail {"function": f, "args": args}.
	INSERT INTO naboom.audit_log (logged_at, community_id, incident_id, action, table_name, row_key,
		actor, db_role, client_addr, user_agent, request_id, success, detail)
	SELECT coalesce(timestamptz 'epoch' + (entry->>'logged_at_us')::bigint * interval '1 microsecond',
			pg_catalog.clock_timestamp()),
		CASE WHEN r.packed THEN (r.rec->>0)::bigint ELSE (entry->>'community_id')::bigint END,
		CASE WHEN r.packed THEN (r.rec->>1)::bigint ELSE (entry->>'incident_id')::bigint END,
		entry->>'action',
		entry->>'table_name', entry->'row_key', entry->>'actor', coalesce(entry->>'db_role', '?'),
		entry->>'client_addr', entry->>'user_agent', entry->>'request_id',
		coalesce((entry->>'success')::boolean, false),
		CASE WHEN r.packed THEN pg_catalog.jsonb_build_object('function', entry->'detail'->'function', 'args', r.rec->2)
			ELSE entry->'detail' END
	FROM (SELECT false AS packed, NULL::jsonb AS rec
			WHERE pg_catalog.jsonb_typeof(entry->'detail'->'reads') IS DISTINCT FROM 'array'
		UNION ALL
		SELECT true, e.rec FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(entry->'detail'->'reads') = 'array'
			THEN entry->'detail'->'reads' END) AS e(rec)) r
	WHERE entry->>'action' IS DISTINCT FROM 'TOUCH'
$$;

COMMENT ON FUNCTION naboom.audit_insert_queued(jsonb) IS
	'Write one entry of the audit writer''s queue (a refused attempt, a read, or a read of many records packed by audit_reads: one row each), or apply a queued member activity (action TOUCH); called by the audit writer only';

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
		-- 09_security), so a restore in another month finds no clash.
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

CREATE OR REPLACE FUNCTION naboom.run_auto_close(max_count integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	i record;
	done integer := 0;
BEGIN
	IF NOT naboom.is_service() THEN
		PERFORM naboom.fail('42501', 'naboom.service_only', 'only the naboom service closes incidents automatically',
			'naboom.run_auto_close acts as the service: without JWT claims, as naboom_service or a superuser.',
			'Run it from pg_cron (naboom.schedule_jobs() schedules it), or as naboom_service without claims.');
	END IF;
	-- Claimed with FOR UPDATE SKIP LOCKED, like escalation: two runs at once
	-- close different incidents, and an incident someone is changing (its
	-- reporter reopening it) is left for the next run.
	FOR i IN
		SELECT x.community_id, x.incident_id
		FROM naboom.incident x
		JOIN naboom.community c ON c.community_id = x.community_id
		WHERE x.status = 'resolved' AND x.resolved_at + c.auto_close_after <= now()
		ORDER BY x.resolved_at, x.incident_id
		LIMIT greatest(coalesce(max_count, 1000), 1)
		FOR UPDATE OF x SKIP LOCKED
	LOOP
		UPDATE naboom.incident x
		SET status = 'closed', status_note = 'Closed automatically after the community''s grace period.'
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.status = 'resolved';
		done := done + 1;
	END LOOP;
	RETURN done;
END
$$;

COMMENT ON FUNCTION naboom.run_auto_close(integer) IS
	'Close, as the service, every resolved incident whose community''s auto_close_after has passed since resolved_at (at most max_count): a timeline entry and an incident.status_changed event each. Run every five minutes by pg_cron; two runs at once never close the same incident twice';

CREATE OR REPLACE FUNCTION naboom.escalation_start() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	-- A restore loads the escalation clock as it was (naboom.restoring).
	IF NEW.priority = 'critical' AND NEW.next_escalation_at IS NULL AND NEW.acknowledged_at IS NULL
		AND NOT naboom.restoring() THEN
		NEW.next_escalation_at := now() + (SELECT c.escalation_interval FROM naboom.community c
			WHERE c.community_id = NEW.community_id);
	END IF;
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION naboom.escalation_start() IS 'BEFORE INSERT on naboom.incident: a critical incident gets its first escalation time, as a panic does';

CREATE OR REPLACE FUNCTION naboom.rate_limit(community_id bigint, user_ref text, action text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	-- [count, seconds] per member, action and community (README "Rate limits").
	defaults jsonb := '{"report": [30, 60], "panic": [10, 60], "subscription": [60, 3600], "note": [60, 600],
		"profile": [10, 3600], "setup": [120, 3600]}';
	custom jsonb := (SELECT c.settings->'rate_limits'->action FROM naboom.community c WHERE c.community_id = community_id);
	lim integer;
	win double precision;
	start timestamptz;
	n integer;
BEGIN
	IF user_ref IS NULL THEN
		RETURN;		-- the naboom service is not limited
	END IF;
	lim := coalesce((custom->>0)::integer, (defaults->action->>0)::integer);
	win := coalesce((custom->>1)::double precision, (defaults->action->>1)::double precision);
	start := to_timestamp(floor(extract(epoch FROM now()) / win) * win);
	INSERT INTO naboom.rate_counter AS r (community_id, user_ref, action, window_start, hits)
	VALUES (community_id, user_ref, action, start, 1)
	ON CONFLICT ON CONSTRAINT rate_counter_pkey DO UPDATE SET hits = r.hits + 1
	RETURNING r.hits INTO n;
	IF n = 1 THEN
		-- A new window: the member's older windows for this action are done.
		DELETE FROM naboom.rate_counter r
		WHERE r.community_id = rate_limit.community_id AND r.user_ref = rate_limit.user_ref
			AND r.action = rate_limit.action AND r.window_start < start;
	END IF;
	IF n > lim THEN
		PERFORM naboom.fail('PT429', 'naboom.rate_limited',
			format('too many %s requests', action),
			format('At most %s per %s seconds; try again in %s seconds.', lim, win,
				ceil(extract(epoch FROM start + make_interval(secs => win) - now()))::integer),
			format('Wait %s seconds.', ceil(extract(epoch FROM start + make_interval(secs => win) - now()))::integer));
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.rate_limit(bigint, text, text) IS
	'Count one request of a member for an action (report, panic, subscription, note, profile, setup) in the current fixed window; over the limit raises naboom.rate_limited (PT429) with the seconds to wait. Limits: defaults, or the community''s settings->''rate_limits''->action = [count, seconds]. The count survives reconnects and holds across concurrent sessions (row lock)';

CREATE OR REPLACE FUNCTION naboom.rate_limit_incident() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	-- Rows a restore loads are no new request (naboom.restoring).
	IF naboom.restoring() THEN
		RETURN NEW;
	END IF;
	PERFORM naboom.rate_limit(NEW.community_id, naboom.current_actor(),
		CASE WHEN NEW.kind = 'panic' THEN 'panic' ELSE 'report' END);
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_incident() IS 'BEFORE INSERT on naboom.incident: reports and panics count against their limits, whoever inserts them';

CREATE OR REPLACE FUNCTION naboom.rate_limit_subscription() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.retention_active() OR naboom.restoring() THEN
		RETURN coalesce(NEW, OLD);
	END IF;
	PERFORM naboom.rate_limit(coalesce(NEW.community_id, OLD.community_id), naboom.current_actor(), 'subscription');
	RETURN coalesce(NEW, OLD);
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_subscription() IS 'BEFORE INSERT OR DELETE on naboom.subscription: alert area changes count against their limit';

CREATE OR REPLACE FUNCTION naboom.rate_limit_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.retention_active() OR naboom.restoring() THEN
		RETURN coalesce(NEW, OLD);
	END IF;
	PERFORM naboom.rate_limit(coalesce(NEW.community_id, OLD.community_id), naboom.current_actor(), TG_ARGV[0]);
	RETURN coalesce(NEW, OLD);
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_write() IS
	'BEFORE row trigger: the write counts against the limit of the action named by the trigger''s argument, for the calling member in the row''s community (not while retention or erasure runs, nor for rows a restore loads)';

CREATE OR REPLACE FUNCTION naboom.schedule_jobs(OUT job text, OUT schedule text, OUT command text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	j record;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
		PERFORM naboom.fail('55000', 'naboom.pg_cron_missing', 'pg_cron is not installed in this database',
			format('naboom''s jobs (escalation every minute, auto-close, audit sealing, partition maintenance, daily retention) run from pg_cron, which database "%s" does not have.',
				current_database()),
			format('Install postgresql-15-cron, set shared_preload_libraries = ''pg_cron,naboom'' and cron.database_name = ''%s'', restart, run CREATE EXTENSION pg_cron, then call naboom.schedule_jobs() again.',
				current_database()));
	END IF;
	FOR j IN
		SELECT * FROM (VALUES
			('naboom-escalation', '* * * * *', 'SELECT naboom.run_escalation()'),
			('naboom-auto-close', '*/5 * * * *', 'SELECT naboom.run_auto_close()'),
			('naboom-seal-audit', '* * * * *', 'SELECT naboom.seal_audit()'),
			('naboom-publish-events', '* * * * *', 'SELECT naboom.publish_events()'),
			('naboom-audit-partitions', '17 3 * * *', 'SELECT naboom.audit_maintain(3)'),
			('naboom-retention', '41 2 * * *', 'CALL naboom.run_retention(false)')) v(job, schedule, command)
	LOOP
		-- cron.schedule with a job name replaces that job: calling again is harmless.
		EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING j.job, j.schedule, j.command;
		job := j.job;
		schedule := j.schedule;
		command := j.command;
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom.schedule_jobs() IS
	'Register naboom''s jobs with pg_cron (idempotently, by job name): escalation and audit sealing every minute, auto-close every five minutes, event publishing every minute (a fallback for when the background writer is not running), audit partitions daily, retention daily at 02:41; naboom.pg_cron_missing (55000) without pg_cron';

CREATE OR REPLACE FUNCTION naboom.queue_member_touch(community_id bigint, user_ref text) RETURNS boolean
AS 'MODULE_PATHNAME', 'naboom_queue_member_touch' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.queue_member_touch(bigint, text) IS
	'Hand a member''s activity seen in a read-only transaction to the background writer (at most once an hour per member and backend); true if queued, false without a writer for this database or on a hot standby';

CREATE OR REPLACE FUNCTION naboom.touch_member(community_id bigint, user_ref text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
	IF user_ref IS NULL THEN
		RETURN;
	END IF;
	IF NOT pg_catalog.current_setting('transaction_read_only')::boolean THEN
		UPDATE naboom.member m SET last_active_at = now()
		WHERE m.community_id = community_id AND m.user_ref = user_ref AND m.last_active_at < now() - interval '1 day';
	ELSIF EXISTS (SELECT 1 FROM naboom.member m WHERE m.community_id = community_id AND m.user_ref = user_ref
			AND m.last_active_at < now() - interval '1 day') THEN
		PERFORM naboom.queue_member_touch(community_id, user_ref);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.touch_member(bigint, text) IS
	'Record that a member was active today (last_active_at), at most one write a day; in a read-only transaction the background writer records it';

CREATE OR REPLACE FUNCTION naboom_api.retention_policies(community text)
RETURNS SETOF naboom_api.retention_policy
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
BEGIN
	PERFORM naboom.require_role(c, actor, 'resident');
	RETURN QUERY
	SELECT c.slug, e.data_class, e.keep, e.then_action, e.source, p.min_keep, p.max_keep, p.community_may_override,
		p.description
	FROM naboom.retention_effective e JOIN naboom.retention_policy p ON p.data_class = e.data_class
	WHERE e.community_id = c.community_id
	ORDER BY e.data_class;
END
$$;

COMMENT ON FUNCTION naboom_api.retention_policies(text) IS
	'How long the community keeps each class of data and what happens then (members of the community)';

CREATE OR REPLACE FUNCTION naboom_api.set_retention(community text, data_class text, keep interval)
RETURNS naboom_api.retention_policy
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	c naboom.community := naboom.community_by_slug(community);
	p naboom.retention_policy;
	r naboom_api.retention_policy;
BEGIN
	PERFORM naboom.require_role(c, naboom.require_actor(), 'admin');
	PERFORM naboom.rate_limit(c.community_id, naboom.require_actor(), 'setup');
	SELECT * INTO p FROM naboom.retention_policy x WHERE x.data_class = set_retention.data_class;
	IF NOT FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_data_class', format('unknown data class "%s"', left(data_class, 40)),
			'Data classes are emergency_record, personal_data, deleted_note and audit_log.',
			'Use one of those names.');
	END IF;
	IF NOT p.community_may_override THEN
		PERFORM naboom.fail('42501', 'naboom.retention_fixed', format('%s retention is set for the whole server', data_class),
			format('%s is kept %s for every community.', data_class, p.keep),
			'Ask the DBA: the period is in naboom.retention_policy.');
	END IF;
	IF keep IS NOT NULL AND (keep < p.min_keep OR keep > p.max_keep) THEN
		PERFORM naboom.fail('22023', 'naboom.retention_out_of_bounds',
			format('%s may be kept between %s and %s', data_class, p.min_keep, p.max_keep),
			format('%s is outside the bounds the DBA set.', keep),
			format('Choose a period from %s to %s.', p.min_keep, p.max_keep));
	END IF;
	IF keep IS NULL THEN
		DELETE FROM naboom.community_retention x WHERE x.community_id = c.community_id AND x.data_class = p.data_class;
	ELSE
		INSERT INTO naboom.community_retention AS x (community_id, data_class, keep)
		VALUES (c.community_id, p.data_class, keep)
		ON CONFLICT ON CONSTRAINT community_retention_pkey DO UPDATE SET keep = EXCLUDED.keep, set_at = now();
	END IF;
	SELECT * INTO r FROM naboom_api.retention_policies(c.slug) x WHERE x.data_class = p.data_class;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom_api.set_retention(text, text, interval) IS
	'Set the community''s own period for a data class, within the DBA''s bounds (admins); NULL goes back to the default. Audited';

CREATE OR REPLACE FUNCTION naboom.set_legal_hold(reference text, reason text, hold boolean)
RETURNS naboom_api.legal_hold
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_reason text := naboom.clean_text('reason', reason, true, 2000);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	c naboom.community;
	h naboom.legal_hold;
BEGIN
	SELECT * INTO c FROM naboom.community x WHERE x.community_id = i.community_id;
	PERFORM naboom.require_role(c, actor, 'admin');
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	IF length(v_reason) < 3 THEN
		PERFORM naboom.fail('22023', 'naboom.reason_required', 'a legal hold needs a reason',
			'The reason is shorter than 3 characters.', 'Say why, e.g. the case number.');
	END IF;
	IF hold THEN
		IF i.legal_hold THEN
			PERFORM naboom.fail('PT409', 'naboom.already_held', format('%s is already under legal hold', i.reference),
				'A hold is open on it.', 'Lift the open hold first, or leave it.');
		END IF;
		INSERT INTO naboom.legal_hold (community_id, incident_id, placed_by, reason)
		VALUES (i.community_id, i.incident_id, actor, v_reason) RETURNING * INTO h;
	ELSE
		UPDATE naboom.legal_hold x SET lifted_at = now(), lifted_by = actor, lift_reason = v_reason
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.lifted_at IS NULL
		RETURNING * INTO h;
		IF NOT FOUND THEN
			PERFORM naboom.fail('PT409', 'naboom.not_held', format('%s is not under legal hold', i.reference),
				'No hold is open on it.', 'Nothing to lift.');
		END IF;
	END IF;
	UPDATE naboom.incident x SET legal_hold = hold
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id;
	RETURN (i.reference, hold, h.reason, h.placed_at, h.lifted_at, h.lift_reason)::naboom_api.legal_hold;
END
$$;

COMMENT ON FUNCTION naboom.set_legal_hold(text, text, boolean) IS 'Place or lift a legal hold (the API functions call this)';


-- END replaced functions

REVOKE ALL ON FUNCTION naboom.lock_duplicate_place(bigint, text, double precision, double precision, bigint) FROM PUBLIC;

-- Issue 14, limits: notes count against their rate limit (the trigger needs
-- its function, created above).
REVOKE ALL ON FUNCTION naboom.rate_limit_write() FROM PUBLIC;
CREATE TRIGGER rate_limit BEFORE INSERT ON naboom.incident_timeline
	FOR EACH ROW WHEN (NEW.entry_kind = 'note') EXECUTE FUNCTION naboom.rate_limit_write('note');

-- The maps' new signatures: executable by the three roles, as in 0.5.0.
REVOKE ALL ON FUNCTION naboom.check_map_features(integer),
	naboom.map_box(double precision, double precision, double precision, double precision),
	naboom.map_rows(naboom.community, text, geometry, integer),
	naboom_api.community_map_geojson(text, double precision, double precision, double precision, double precision, integer),
	naboom_api.community_map_svg(text, integer, double precision, double precision, double precision, double precision, integer)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.community_map_geojson(text, double precision, double precision, double precision, double precision, integer),
	naboom_api.community_map_svg(text, integer, double precision, double precision, double precision, double precision, integer)
	TO naboom_anon, naboom_user, naboom_service;

REVOKE ALL ON FUNCTION naboom.run_auto_close(integer) FROM PUBLIC;
-- A reader's activity in a read-only transaction goes through the writer.
REVOKE ALL ON FUNCTION naboom.queue_member_touch(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.apply_member_touch(bigint, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.audit_reads(text, bigint[], bigint[], jsonb[]) FROM PUBLIC;

SELECT naboom.pin_search_paths();

NOTIFY pgrst, 'reload schema';
