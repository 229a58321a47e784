------------------------------------------------------------------------------
-- Communities (the tenants), their areas, members and incident categories,
-- the role checks every API function starts with, and the set-up API.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------
CREATE TABLE naboom.community (
	community_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	boundary geometry(MultiPolygon, 4326) CHECK (boundary IS NULL OR ST_IsValid(boundary)),
	time_zone text NOT NULL DEFAULT 'Africa/Johannesburg',
	reopen_window interval NOT NULL DEFAULT '7 days' CHECK (reopen_window >= '0'),
	auto_close_after interval NOT NULL DEFAULT '3 days' CHECK (auto_close_after > '0'),
	escalation_interval interval NOT NULL DEFAULT '60 seconds' CHECK (escalation_interval >= '10 seconds'),
	allow_outside_reports boolean NOT NULL DEFAULT false,
	settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	alert_responders integer NOT NULL DEFAULT 5 CHECK (alert_responders BETWEEN 0 AND 100),
	alert_radius_m double precision NOT NULL DEFAULT 10000
		CHECK (alert_radius_m > 0 AND alert_radius_m <= 1000000),
	escalation_steps integer NOT NULL DEFAULT 3 CHECK (escalation_steps BETWEEN 1 AND 10),
	escalation_radius_factor double precision NOT NULL DEFAULT 2
		CHECK (escalation_radius_factor >= 1 AND escalation_radius_factor <= 10)
);

COMMENT ON TABLE naboom.community IS 'A tenant: a town or farming district. Every domain row belongs to exactly one community';

COMMENT ON COLUMN naboom.community.slug IS 'Short stable name used in the API, e.g. mookgophong';

COMMENT ON COLUMN naboom.community.boundary IS 'Where the community is (WGS84); reports outside it are refused unless allow_outside_reports';

COMMENT ON COLUMN naboom.community.reopen_window IS 'How long after resolution the reporter may reopen an incident';

COMMENT ON COLUMN naboom.community.auto_close_after IS 'Grace period after resolution before the auto-close job closes an incident';

COMMENT ON COLUMN naboom.community.escalation_interval IS 'Time between escalation steps of an unacknowledged panic';

COMMENT ON COLUMN naboom.community.alert_responders IS 'How many of the nearest on-duty responders a high or critical incident alerts at once';

COMMENT ON COLUMN naboom.community.alert_radius_m IS 'How far (metres) those responders may be';

COMMENT ON COLUMN naboom.community.escalation_steps IS
	'Escalation steps of an unacknowledged panic or critical incident: each alerts the next ring of responders in a wider radius; the last also alerts the moderators';

COMMENT ON COLUMN naboom.community.escalation_radius_factor IS
	'How much wider each escalation step searches: alert_radius_m × factor^level';

CREATE INDEX community_boundary_idx ON naboom.community USING gist (boundary);

CREATE TABLE naboom.area (
	community_id bigint NOT NULL REFERENCES naboom.community ON DELETE CASCADE,
	area_id bigint GENERATED ALWAYS AS IDENTITY,
	code text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
	name_en text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 120),
	name_af text NOT NULL CHECK (length(name_af) BETWEEN 1 AND 120),
	kind text NOT NULL DEFAULT 'ward' CHECK (kind IN ('ward', 'suburb', 'farm_block', 'patrol_sector', 'other')),
	boundary geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(boundary)),
	area_m2 double precision NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, area_id),
	UNIQUE (community_id, code)
);

COMMENT ON TABLE naboom.area IS 'A named polygon inside a community (ward, farm block, patrol sector); an incident is routed to the smallest area containing it';

COMMENT ON COLUMN naboom.area.area_m2 IS 'Area on the spheroid, for picking the smallest of nested areas';

CREATE INDEX area_boundary_idx ON naboom.area USING gist (boundary);

CREATE TABLE naboom.member (
	community_id bigint NOT NULL REFERENCES naboom.community ON DELETE CASCADE,
	user_ref text NOT NULL CHECK (length(user_ref) BETWEEN 1 AND 255),
	display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
	phone text CHECK (phone ~ '^\+?[0-9][0-9 ]{5,19}$'),
	language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'af')),
	role naboom.member_role NOT NULL DEFAULT 'resident',
	on_duty boolean NOT NULL DEFAULT false,
	joined_at timestamptz NOT NULL DEFAULT now(),
	last_active_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, user_ref)
);

COMMENT ON TABLE naboom.member IS 'A person in a community, identified by user_ref (the JWT sub the gateway verified), with their role there';

COMMENT ON COLUMN naboom.member.user_ref IS 'The sub claim of the person''s JWT';

COMMENT ON COLUMN naboom.member.phone IS 'Personal data: shown only to the member and the community''s moderators';

COMMENT ON COLUMN naboom.member.on_duty IS 'Responders: whether they are on duty now';

CREATE INDEX member_user_idx ON naboom.member (user_ref);

CREATE TABLE naboom.category (
	community_id bigint NOT NULL REFERENCES naboom.community ON DELETE CASCADE,
	code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
	name_en text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 80),
	name_af text NOT NULL CHECK (length(name_af) BETWEEN 1 AND 80),
	default_priority naboom.priority NOT NULL DEFAULT 'medium',
	is_sensitive boolean NOT NULL DEFAULT false,
	ack_target interval NOT NULL DEFAULT '15 minutes' CHECK (ack_target BETWEEN '1 minute' AND '30 days'),
	resolve_target interval NOT NULL DEFAULT '24 hours' CHECK (resolve_target BETWEEN '1 minute' AND '1 year'),
	duplicate_radius_m double precision NOT NULL DEFAULT 250 CHECK (duplicate_radius_m > 0 AND duplicate_radius_m <= 50000),
	duplicate_window interval NOT NULL DEFAULT '2 hours' CHECK (duplicate_window BETWEEN '1 minute' AND '30 days'),
	is_active boolean NOT NULL DEFAULT true,
	PRIMARY KEY (community_id, code)
);

COMMENT ON TABLE naboom.category IS 'Incident categories of a community, named in English and Afrikaans, with priority, SLA targets and duplicate window';

COMMENT ON COLUMN naboom.category.is_sensitive IS 'Sensitive: location blurred to about 100 m for everyone but responders and moderators, reporter never shown';

COMMENT ON COLUMN naboom.category.ack_target IS 'SLA: time from report to acknowledgement';

COMMENT ON COLUMN naboom.category.resolve_target IS 'SLA: time from report to resolution';

COMMENT ON COLUMN naboom.category.duplicate_radius_m IS 'Reports of this category closer than this (metres) and within duplicate_window are likely duplicates';

CREATE FUNCTION naboom.community_by_slug(slug text) RETURNS naboom.community
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c naboom.community;
BEGIN
	SELECT * INTO c FROM naboom.community x WHERE x.slug = lower(community_by_slug.slug);
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_community',
			format('unknown community "%s"', community_by_slug.slug),
			'No community has that slug.', 'Check the community slug, e.g. mookgophong.');
	END IF;
	RETURN c;
END
$$;

COMMENT ON FUNCTION naboom.community_by_slug(text) IS 'The community with this slug, or naboom.unknown_community (PT404)';

CREATE FUNCTION naboom.role_in(community_id bigint, user_ref text) RETURNS naboom.member_role
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	r naboom.member_role;
BEGIN
	IF user_ref IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT m.role INTO r FROM naboom.member m
	WHERE m.community_id = community_id AND m.user_ref = user_ref;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.role_in(bigint, text) IS 'A user''s role in a community, NULL if not a member';

CREATE FUNCTION naboom.require_role(c naboom.community, actor text, min_role naboom.member_role)
RETURNS naboom.member_role
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r naboom.member_role;
BEGIN
	IF actor IS NULL THEN
		RETURN NULL;		-- the naboom service
	END IF;
	r := naboom.role_in(c.community_id, actor);
	IF r IS NULL THEN
		PERFORM naboom.fail('42501', 'naboom.not_a_member',
			format('you are not a member of community "%s"', c.slug),
			format('"%s" has no role in %s.', actor, c.name),
			'Join the community first with join_community.');
	ELSIF r < min_role THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role',
			format('this needs the %s role in community "%s"', min_role, c.slug),
			format('You are a %s of %s.', r, c.name),
			'Ask an admin of the community.');
	END IF;
	PERFORM naboom.touch_member(c.community_id, actor);
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.require_role(naboom.community, text, naboom.member_role) IS
	'The actor''s role, or naboom.not_a_member / naboom.insufficient_role (42501); NULL actor means the service, which passes. Records the member''s activity for the day';

CREATE FUNCTION naboom.my_community_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT coalesce(array_agg(m.community_id), '{}') FROM naboom.member m
	WHERE m.user_ref = naboom.current_actor()
$$;

COMMENT ON FUNCTION naboom.my_community_ids() IS 'Communities the caller is a member of (for row-level security)';

CREATE FUNCTION naboom.my_staff_community_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT coalesce(array_agg(m.community_id), '{}') FROM naboom.member m
	WHERE m.user_ref = naboom.current_actor() AND m.role >= 'responder'
$$;

COMMENT ON FUNCTION naboom.my_staff_community_ids() IS 'Communities where the caller is a responder, moderator or admin (for row-level security)';

CREATE FUNCTION naboom.parse_polygon(geojson text, what text) RETURNS geometry
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

CREATE FUNCTION naboom.check_categories(c naboom.community, codes text[]) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	unknown text;
	v_codes text[] := (SELECT array_agg(DISTINCT lower(x)) FROM unnest(codes) x);
BEGIN
	IF codes IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT x INTO unknown FROM unnest(v_codes) x
	WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.category k
		WHERE k.community_id = c.community_id AND k.code = x)
	LIMIT 1;
	IF FOUND OR v_codes IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_category',
			format('unknown category "%s" in community "%s"', left(coalesce(unknown, ''), 40), c.slug),
			'Known categories: ' || (SELECT coalesce(string_agg(k.code, ', ' ORDER BY k.code), 'none')
				FROM naboom.category k WHERE k.community_id = c.community_id AND k.is_active) || '.',
			'Pick known categories, or leave categories out for all.');
	END IF;
	RETURN v_codes;
END
$$;

COMMENT ON FUNCTION naboom.parse_polygon(text, text) IS
	'A valid WGS84 MultiPolygon from GeoJSON text, or naboom.invalid_geojson / naboom.invalid_geometry / naboom.invalid_coordinates (22023)';

CREATE TYPE naboom_api.community AS (
	slug text,
	name text,
	time_zone text,
	boundary jsonb,
	reopen_window interval,
	auto_close_after interval,
	escalation_interval interval,
	allow_outside_reports boolean,
	created_at timestamptz
);

COMMENT ON TYPE naboom_api.community IS 'A community; boundary as GeoJSON';

CREATE TYPE naboom_api.area AS (
	community text,
	code text,
	name_en text,
	name_af text,
	kind text,
	area_km2 double precision,
	boundary jsonb
);

COMMENT ON TYPE naboom_api.area IS 'An area of a community; boundary as GeoJSON';

CREATE TYPE naboom_api.category AS (
	community text,
	code text,
	name_en text,
	name_af text,
	default_priority text,
	is_sensitive boolean,
	ack_target interval,
	resolve_target interval,
	duplicate_radius_m double precision,
	duplicate_window interval,
	is_active boolean
);

COMMENT ON TYPE naboom_api.category IS 'An incident category of a community, named in English and Afrikaans';

CREATE TYPE naboom_api.member AS (
	community text,
	user_ref text,
	display_name text,
	phone text,
	language text,
	role text,
	on_duty boolean,
	joined_at timestamptz
);

COMMENT ON TYPE naboom_api.member IS 'A member of a community; phone only for the member and moderators';

CREATE FUNCTION naboom.member_out(m naboom.member, actor text) RETURNS naboom_api.member
LANGUAGE sql STABLE AS $$
	SELECT c.slug, m.user_ref, m.display_name,
		CASE WHEN m.user_ref = actor OR (actor IS NULL AND naboom.is_service())
			OR naboom.role_in(m.community_id, actor) >= 'moderator' THEN m.phone END,
		m.language, m.role::text, m.on_duty, m.joined_at
	FROM naboom.community c WHERE c.community_id = m.community_id
$$;

COMMENT ON FUNCTION naboom.member_out(naboom.member, text) IS 'A member as the actor may see it (phone for self and moderators)';

CREATE FUNCTION naboom.category_out(cat naboom.category) RETURNS naboom_api.category
LANGUAGE sql STABLE AS $$
	SELECT c.slug, cat.code, cat.name_en, cat.name_af, cat.default_priority::text, cat.is_sensitive,
		cat.ack_target, cat.resolve_target, cat.duplicate_radius_m, cat.duplicate_window, cat.is_active
	FROM naboom.community c WHERE c.community_id = cat.community_id
$$;

COMMENT ON FUNCTION naboom.category_out(naboom.category) IS 'A category as the API returns it';

------------------------------------------------------------------------------
-- API: set-up (communities, areas, categories, members)
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.create_community(
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

CREATE FUNCTION naboom_api.upsert_area(
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
			boundary = EXCLUDED.boundary, area_m2 = EXCLUDED.area_m2, updated_at = EXCLUDED.updated_at
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

CREATE FUNCTION naboom_api.upsert_category(
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

CREATE FUNCTION naboom_api.join_community(
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
			language = EXCLUDED.language, last_active_at = EXCLUDED.last_active_at
	RETURNING * INTO m;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN naboom.member_out(m, actor);
END
$$;

COMMENT ON FUNCTION naboom_api.join_community(text, text, text, text) IS
	'Join a community as a resident, or update one''s name, phone and language (idempotent). 201 when joined. Rate limited (profile)';

CREATE FUNCTION naboom_api.set_member_role(community text, user_ref text, role text)
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

COMMENT ON FUNCTION naboom.check_categories(naboom.community, text[]) IS
	'The category codes, lower-cased and distinct, if every one is a category of the community; NULL for all; else naboom.unknown_category (22023)';
