
------------------------------------------------------------------------------
-- The directory (0.7.0, issue 13): the pickers an app fills its menus from
-- (communities, categories, areas, statuses, my memberships), the member's
-- own profile and leaving a community, the member list for moderators, and
-- health() for load balancers and monitoring.
--
-- The pickers are small, bounded sets (a community's categories and areas,
-- the statuses), returned whole and in a fixed order; the member list can
-- be long and pages by keyset like the incident lists (10_lists.sql).
-- Community, category, area and status names are public: anyone may read
-- the public feed of a community, and these are the names it uses.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------------
CREATE TYPE naboom_api.community_item AS (
	slug text,
	name text,
	time_zone text,
	min_lat double precision,
	min_lon double precision,
	max_lat double precision,
	max_lon double precision
);

COMMENT ON TYPE naboom_api.community_item IS
	'A community as a picker shows it: slug, name, time zone and the bounding box of its boundary (WGS84 degrees; NULL without a boundary)';

CREATE TYPE naboom_api.status_item AS (
	status text,
	status_type text,
	label_en text,
	label_af text,
	sort_order integer
);

COMMENT ON TYPE naboom_api.status_item IS
	'An incident status with its Open311 type (open, fixed, closed) and its labels in English and Afrikaans';

CREATE TYPE naboom_api.membership AS (
	community text,
	community_name text,
	time_zone text,
	role text,
	display_name text,
	phone text,
	language text,
	on_duty boolean,
	joined_at timestamptz
);

COMMENT ON TYPE naboom_api.membership IS 'One of the caller''s communities, with their role and profile there';

CREATE TYPE naboom_api.member_item AS (
	community text,
	user_ref text,
	display_name text,
	phone text,
	language text,
	role text,
	on_duty boolean,
	joined_at timestamptz,
	cursor text
);

COMMENT ON TYPE naboom_api.member_item IS
	'A member in a community''s member list (phone for moderators and admins only), with the opaque cursor to pass as `after` for the rows that follow it';

CREATE TYPE naboom_api.departure AS (
	community text,
	left_at timestamptz,
	erased jsonb
);

COMMENT ON TYPE naboom_api.departure IS 'What leave_community did: the community left, when, and what of the caller''s data there was erased (rows per kind)';

CREATE TYPE naboom_api.health AS (
	ok boolean,
	problems text[],
	warnings text[],
	checked_at timestamptz,
	extension_version text,
	library_version text,
	in_recovery boolean,
	preloaded boolean,
	writer_connected boolean,
	audit_ring_fill double precision,
	events_unpublished bigint,
	oldest_unpublished_s double precision,
	cron_installed boolean,
	cron_jobs_expected integer,
	cron_jobs_present integer,
	cron_jobs jsonb
);

COMMENT ON TYPE naboom_api.health IS
	'naboom''s health for load balancers and monitoring, nothing private: ok, the problems that make it not ok and the warnings that do not; the installed and loaded versions; whether this server is a standby, naboom was preloaded and the background writer serves this database; how full the audit ring is (0 to 1); committed events not yet published (counted up to 100000) and the age of the oldest in seconds; whether pg_cron is installed, and per naboom job whether it is scheduled, active, and the status and start of its last run';

------------------------------------------------------------------------------
-- The member list's order: by name, then user_ref, within a community
------------------------------------------------------------------------------
CREATE INDEX member_directory_idx ON naboom.member (community_id, display_name, user_ref);

------------------------------------------------------------------------------
-- Pickers
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.communities()
RETURNS SETOF naboom_api.community_item
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT c.slug, c.name, c.time_zone, ST_YMin(c.boundary), ST_XMin(c.boundary),
		ST_YMax(c.boundary), ST_XMax(c.boundary)
	FROM naboom.community c
	ORDER BY c.name, c.slug
$$;

COMMENT ON FUNCTION naboom_api.communities() IS
	E'@simpleCollections only\nEvery community, by name: slug, name, time zone and the bounding box of its boundary. Public (anonymous too)';

CREATE FUNCTION naboom_api.categories(community text)
RETURNS SETOF naboom_api.category
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	c naboom.community := naboom.community_by_slug(community);
BEGIN
	RETURN QUERY
	SELECT c.slug, cat.code, cat.name_en, cat.name_af, cat.default_priority::text, cat.is_sensitive,
		cat.ack_target, cat.resolve_target, cat.duplicate_radius_m, cat.duplicate_window, cat.is_active
	FROM naboom.category cat
	WHERE cat.community_id = c.community_id AND cat.is_active
	ORDER BY cat.code;
END
$$;

COMMENT ON FUNCTION naboom_api.categories(text) IS
	E'@simpleCollections only\nThe community''s active incident categories, by code: names in English and Afrikaans, default priority, whether sensitive, SLA targets. Public (anonymous too)';

CREATE FUNCTION naboom_api.areas(community text, with_geojson boolean DEFAULT false)
RETURNS SETOF naboom_api.area
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	c naboom.community := naboom.community_by_slug(community);
BEGIN
	RETURN QUERY
	SELECT c.slug, a.code, a.name_en, a.name_af, a.kind, a.area_m2 / 1e6,
		CASE WHEN with_geojson THEN ST_AsGeoJSON(a.boundary, 6)::jsonb END
	FROM naboom.area a
	WHERE a.community_id = c.community_id
	ORDER BY a.code;
END
$$;

COMMENT ON FUNCTION naboom_api.areas(text, boolean) IS
	E'@simpleCollections only\nThe community''s areas, by code: names in English and Afrikaans, kind, size in km²; the boundary as GeoJSON only when with_geojson. Public (anonymous too)';

CREATE FUNCTION naboom_api.statuses()
RETURNS SETOF naboom_api.status_item
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT s.status, s.status_type::text, s.label_en, s.label_af, s.sort_order
	FROM naboom.status s
	ORDER BY s.sort_order, s.status
$$;

COMMENT ON FUNCTION naboom_api.statuses() IS
	E'@simpleCollections only\nThe incident statuses in workflow order, with their type (open, fixed, closed) and labels in English and Afrikaans. Public (anonymous too)';

CREATE FUNCTION naboom_api.my_memberships()
RETURNS SETOF naboom_api.membership
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
BEGIN
	-- The service (no person) has no memberships: an empty list.
	RETURN QUERY
	SELECT c.slug, c.name, c.time_zone, m.role::text, m.display_name, m.phone, m.language, m.on_duty, m.joined_at
	FROM naboom.member m
	JOIN naboom.community c ON c.community_id = m.community_id
	WHERE m.user_ref = actor
	ORDER BY c.name, c.slug;
END
$$;

COMMENT ON FUNCTION naboom_api.my_memberships() IS
	E'@simpleCollections only\nThe caller''s communities, by name, with their role and their own profile (phone included) in each';

------------------------------------------------------------------------------
-- My profile, and leaving
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.update_my_profile(community text, display_name text DEFAULT NULL,
	phone text DEFAULT NULL, language text DEFAULT NULL)
RETURNS naboom_api.member
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	-- NULL leaves a field as it is; a blank phone removes it.
	v_name text := CASE WHEN display_name IS NOT NULL
		THEN naboom.clean_text('display_name', display_name, true, 120) END;
	v_phone text := naboom.clean_text('phone', phone, false, 20);
	m naboom.member;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a profile belongs to a person',
			'The naboom service has no profile.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	IF v_phone IS NOT NULL AND v_phone !~ '^\+?[0-9][0-9 ]{5,19}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_phone', format('invalid phone number "%s"', v_phone),
			'A phone number is digits and spaces, optionally starting with +.', 'Use e.g. +27 82 555 0123, or '''' to remove it.');
	END IF;
	IF language IS NOT NULL AND language NOT IN ('en', 'af') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_language', format('unsupported language "%s"', left(language, 40)),
			'naboom speaks English (en) and Afrikaans (af).', 'Use en or af.');
	END IF;
	-- Counted like join_community: both write the profile.
	PERFORM naboom.rate_limit(c.community_id, actor, 'profile');
	-- Only a real change is written (and audited, by the member table's
	-- audit trigger, with the old and new values).
	UPDATE naboom.member x
	SET display_name = coalesce(v_name, x.display_name),
		phone = CASE WHEN phone IS NULL THEN x.phone ELSE v_phone END,
		language = coalesce(language, x.language),
		last_active_at = now()
	WHERE x.community_id = c.community_id AND x.user_ref = actor
		AND (x.display_name, x.phone, x.language) IS DISTINCT FROM
			(coalesce(v_name, x.display_name), CASE WHEN phone IS NULL THEN x.phone ELSE v_phone END,
			coalesce(language, x.language))
	RETURNING * INTO m;
	IF NOT FOUND THEN
		SELECT * INTO m FROM naboom.member x WHERE x.community_id = c.community_id AND x.user_ref = actor;
		IF NOT FOUND THEN
			-- They left in a concurrent transaction.
			PERFORM naboom.fail('42501', 'naboom.not_a_member', format('you are not a member of community "%s"', c.slug),
				format('"%s" has no role in %s.', actor, c.name), 'Join the community first with join_community.');
		END IF;
	END IF;
	RETURN naboom.member_out(m, actor);
END
$$;

COMMENT ON FUNCTION naboom_api.update_my_profile(text, text, text, text) IS
	'Correct one''s own name, phone or language in a community (the right of rectification); NULL leaves a field as it is, phone '''' removes the number. Validated like join_community; audited; rate limited (profile)';

CREATE FUNCTION naboom.leave_member(community_id bigint, user_ref text, as_of timestamptz) RETURNS jsonb
AS 'MODULE_PATHNAME', 'naboom_leave_member' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.leave_member(bigint, text, timestamptz) IS
	'Anonymise one membership as retention does (src/erasure.c: their reports anonymised, their notes, alerts, alert areas, positions and rate counters gone, the member row deleted) and write one ERASED audit entry for the community that names no one; the caller has locked the membership and checked it may go. Returns the rows erased per kind';

CREATE FUNCTION naboom_api.leave_community(community text)
RETURNS naboom_api.departure
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	m naboom.member;
	ref text;
	n bigint;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'leaving needs a person',
			'The naboom service is not a member of any community.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	-- The admins' rows and one's own, locked in one order: of two admins
	-- leaving at once, one waits for the other and then sees it gone.
	PERFORM 1 FROM naboom.member x
	WHERE x.community_id = c.community_id AND (x.role = 'admin' OR x.user_ref = actor)
	ORDER BY x.user_ref FOR UPDATE;
	SELECT * INTO m FROM naboom.member x WHERE x.community_id = c.community_id AND x.user_ref = actor;
	IF NOT FOUND THEN
		PERFORM naboom.fail('42501', 'naboom.not_a_member', format('you are not a member of community "%s"', c.slug),
			format('"%s" has no role in %s.', actor, c.name), 'Join the community first with join_community.');
	END IF;
	IF m.role = 'admin' AND NOT EXISTS (SELECT 1 FROM naboom.member x
		WHERE x.community_id = c.community_id AND x.role = 'admin' AND x.user_ref <> actor) THEN
		PERFORM naboom.fail('PT409', 'naboom.last_admin', 'a community needs an admin',
			format('You are the last admin of %s.', c.name), 'Make someone else admin first, then leave.');
	END IF;
	-- A live incident assigned to them would lose its responder; one they
	-- reported would lose what they wrote while it is being handled.
	SELECT i.reference, count(*) OVER () INTO ref, n
	FROM naboom.incident i JOIN naboom.status st ON st.status = i.status
	WHERE i.assignee_ref = actor AND i.community_id = c.community_id AND st.status_type = 'open'
	ORDER BY i.created_at, i.reference LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('PT409', 'naboom.open_assignment', format('you are assigned to %s, which is still live', ref),
			format('%s live incident(s) in %s are assigned to you.', n, c.name),
			'Resolve them, or ask a moderator to assign them to someone else, then leave.');
	END IF;
	SELECT i.reference, count(*) OVER () INTO ref, n
	FROM naboom.incident i JOIN naboom.status st ON st.status = i.status
	WHERE i.reporter_ref = actor AND i.community_id = c.community_id AND st.status_type = 'open'
	ORDER BY i.created_at, i.reference LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('PT409', 'naboom.open_report', format('your report %s is still live', ref),
			format('%s of your reports in %s are still being handled; leaving would erase what you wrote in them.', n, c.name),
			'Cancel them if they are no longer needed, or leave once they are resolved.');
	END IF;
	SELECT i.reference INTO ref FROM naboom.incident i
	WHERE i.community_id = c.community_id AND i.legal_hold
		AND (i.reporter_ref = actor OR i.assignee_ref = actor)
	ORDER BY i.created_at, i.reference LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('PT409', 'naboom.legal_hold', format('%s, which names you, is under legal hold', ref),
			'A legal hold keeps an incident, and the membership it names, exactly as they are.',
			'You can leave once the hold is lifted; ask an admin of the community.');
	END IF;
	RETURN (c.slug, now(), naboom.leave_member(c.community_id, actor, now()))::naboom_api.departure;
END
$$;

COMMENT ON FUNCTION naboom_api.leave_community(text) IS
	'Leave a community: one''s personal data there is anonymised as retention does it (reports kept as anonymised emergency records, notes lose their text, alerts, alert areas and positions removed, the membership deleted) and one ERASED audit entry records it. Refused (PT409) for the last admin, while a live incident is assigned to one or is one''s own live report, and while an incident naming one is under legal hold. Other communities are untouched';

------------------------------------------------------------------------------
-- The member list
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.members(community text, role text DEFAULT NULL, search text DEFAULT NULL,
	after text DEFAULT NULL, max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.member_item
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	my_role naboom.member_role := naboom.require_role(c, actor, 'moderator');
	n integer := naboom.check_page_size(max_count);
	v_search text := lower(naboom.clean_text('search', search, false, 60));
	after_key text[] := naboom.page_cursor_parts('members', after, 2);
	v_role naboom.member_role;
BEGIN
	IF role IS NOT NULL THEN
		IF role NOT IN ('resident', 'verified', 'responder', 'moderator', 'admin') THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_role', format('unknown role "%s"', left(role, 40)),
				'Roles are resident, verified, responder, moderator and admin.', 'Pick one of those, or leave role out for all.');
		END IF;
		v_role := role::naboom.member_role;
	END IF;
	RETURN QUERY
	SELECT c.slug, m.user_ref, m.display_name,
		-- Phones for moderators, admins and the service only (today that is
		-- everyone who may call this; the rule stays here if that changes).
		CASE WHEN my_role IS NULL OR my_role >= 'moderator' THEN m.phone END,
		m.language, m.role::text, m.on_duty, m.joined_at,
		naboom.page_cursor('members', ARRAY[m.display_name, m.user_ref])
	FROM naboom.member m
	WHERE m.community_id = c.community_id
		AND (after_key IS NULL OR (m.display_name, m.user_ref) > (after_key[1], after_key[2]))
		AND (v_role IS NULL OR m.role = v_role)
		AND (v_search IS NULL OR strpos(lower(m.display_name), v_search) > 0)
	ORDER BY m.display_name, m.user_ref
	LIMIT n;
END
$$;

COMMENT ON FUNCTION naboom_api.members(text, text, text, text, integer) IS
	E'@simpleCollections only\nThe community''s members by name, then user_ref (moderators and admins, the service), with their phone numbers; role keeps one role, search (up to 60 characters) keeps names containing it, in any case. Pages by keyset: after = the cursor of the last row seen, max_count rows (naboom.default_page_size, at most naboom.max_page_size)';

------------------------------------------------------------------------------
-- Health
------------------------------------------------------------------------------
CREATE FUNCTION naboom.health_probe(OUT library_version text, OUT preloaded boolean, OUT writer_connected boolean,
	OUT audit_ring_fill double precision) RETURNS record
AS 'MODULE_PATHNAME', 'naboom_health_probe' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.health_probe() IS
	'What only the loaded library knows (src/health.c): its version, whether naboom was preloaded, whether the background writer is attached to the audit ring for this database, and how full the ring is (0 to 1; NULL without a ring)';

CREATE FUNCTION naboom.health_problems(h naboom_api.health) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(array_agg(p ORDER BY n), '{}') FROM (
		-- A standby has no writer (nothing to write there): not a problem.
		SELECT 2, 'writer_not_connected' WHERE NOT h.in_recovery AND NOT h.writer_connected
		UNION ALL
		SELECT 3, 'audit_ring_full' WHERE h.audit_ring_fill >= 0.9
		UNION ALL
		SELECT 4, 'events_stalled' WHERE h.oldest_unpublished_s > 60
		UNION ALL
		SELECT 5, 'pg_cron_missing' WHERE NOT h.cron_installed
		UNION ALL
		SELECT 6 + j.n, CASE WHEN NOT coalesce((j.job->>'present')::boolean, false) THEN 'cron_job_missing:'
			WHEN NOT coalesce((j.job->>'active')::boolean, false) THEN 'cron_job_inactive:'
			ELSE 'cron_job_failed:' END || (j.job->>'job')
		FROM jsonb_array_elements(CASE WHEN h.cron_installed THEN h.cron_jobs ELSE '[]' END)
			WITH ORDINALITY AS j(job, n)
		WHERE NOT coalesce((j.job->>'present')::boolean, false) OR NOT coalesce((j.job->>'active')::boolean, false)
			OR j.job->>'last_status' = 'failed'
	) x(n, p)
$$;

COMMENT ON FUNCTION naboom.health_problems(naboom_api.health) IS
	'Why a health row is not ok, in a fixed order: writer_not_connected (a primary without the background writer for this database), audit_ring_full (90% or more), events_stalled (a committed event unpublished for over 60 s), pg_cron_missing, and per naboom job cron_job_missing:, cron_job_inactive: or cron_job_failed: (its last run failed) with the job''s name';

CREATE FUNCTION naboom.health_warnings(h naboom_api.health) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	-- A library newer than the installed extension serves it (upgrades
	-- install the binaries first): ALTER EXTENSION is due, nothing is down.
	SELECT CASE WHEN h.extension_version IS DISTINCT FROM h.library_version
		THEN ARRAY['version_mismatch'] ELSE '{}' END
$$;

COMMENT ON FUNCTION naboom.health_warnings(naboom_api.health) IS
	'What a health row should be looked at for without being not ok: version_mismatch (the loaded library is not the installed extension''s version: ALTER EXTENSION naboom UPDATE is due)';

CREATE FUNCTION naboom_api.health() RETURNS naboom_api.health
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	p record := naboom.health_probe();
	h naboom_api.health;
	-- naboom.schedule_jobs() registers these.
	jobs text[] := ARRAY['naboom-escalation', 'naboom-auto-close', 'naboom-seal-audit', 'naboom-publish-events',
		'naboom-audit-partitions', 'naboom-retention'];
	oldest timestamptz;
BEGIN
	h.checked_at := clock_timestamp();
	h.extension_version := (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'naboom');
	h.library_version := p.library_version;
	h.in_recovery := pg_catalog.pg_is_in_recovery();
	h.preloaded := p.preloaded;
	h.writer_connected := p.writer_connected;
	h.audit_ring_fill := round(p.audit_ring_fill::numeric, 4)::double precision;
	-- Both from the partial index of unpublished events; event_id follows
	-- created_at (both are taken when the row is made).
	h.events_unpublished := (SELECT count(*) FROM (SELECT 1 FROM naboom.event e WHERE e.seq IS NULL LIMIT 100000) x);
	oldest := (SELECT e.created_at FROM naboom.event e WHERE e.seq IS NULL ORDER BY e.event_id LIMIT 1);
	h.oldest_unpublished_s := coalesce(round(extract(epoch FROM h.checked_at - oldest), 3)::double precision, 0);
	h.cron_installed := EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron');
	h.cron_jobs_expected := cardinality(jobs);
	IF h.cron_installed THEN
		-- pg_cron's tables exist only with it: dynamic SQL.  The last run's
		-- message is not shown (it may hold data); its status is.
		EXECUTE $q$
			SELECT jsonb_agg(jsonb_build_object('job', x.job, 'present', j.jobid IS NOT NULL,
				'active', j.active, 'last_status', r.status, 'last_run_at', r.start_time) ORDER BY x.n)
			FROM unnest($1::text[]) WITH ORDINALITY AS x(job, n)
			LEFT JOIN LATERAL (SELECT k.jobid, k.active FROM cron.job k
				WHERE k.jobname = x.job AND k.database = pg_catalog.current_database()
				ORDER BY k.active DESC, k.jobid DESC LIMIT 1) j ON true
			LEFT JOIN LATERAL (SELECT d.status, d.start_time FROM cron.job_run_details d
				WHERE d.jobid = j.jobid ORDER BY d.runid DESC LIMIT 1) r ON true
		$q$ INTO h.cron_jobs USING jobs;
		h.cron_jobs_present := (SELECT count(*) FROM jsonb_array_elements(h.cron_jobs) j
			WHERE (j->>'present')::boolean);
	ELSE
		h.cron_jobs_present := 0;
	END IF;
	h.problems := naboom.health_problems(h);
	h.warnings := naboom.health_warnings(h);
	h.ok := cardinality(h.problems) = 0;
	IF NOT h.ok THEN
		PERFORM set_config('response.status', '503', true);
	END IF;
	RETURN h;
END
$$;

COMMENT ON FUNCTION naboom_api.health() IS
	'naboom''s health in one row, for load balancers and monitoring (anonymous too; nothing private): versions, the background writer, the audit ring, unpublished events, pg_cron''s naboom jobs and their last runs, ok and the problems behind a not ok, and warnings (version_mismatch: ALTER EXTENSION naboom UPDATE is due). Not ok sets response.status 503. Reads shared memory and a few index entries only';
