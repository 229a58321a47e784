-- naboom 0.1.0: community incident reporting and emergency response.
--
-- Tables live in schema naboom (not exposed to gateways); the API is the
-- set of functions in schema naboom_api.  The enforcement core (workflow,
-- references, identity, validation) is in C: see src/.

\echo Use "CREATE EXTENSION naboom CASCADE" to load this file. \quit

------------------------------------------------------------------------------
-- Roles.  Cluster-wide, so created only if missing, and never dropped by
-- DROP EXTENSION.  A gateway's authenticator role is granted naboom_anon and
-- naboom_user; integrations and jobs use naboom_service.
------------------------------------------------------------------------------
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_anon') THEN
		CREATE ROLE naboom_anon NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_user') THEN
		CREATE ROLE naboom_user NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'naboom_service') THEN
		CREATE ROLE naboom_service NOLOGIN;
	END IF;
END
$roles$;

CREATE SCHEMA naboom_api;
COMMENT ON SCHEMA naboom_api IS 'naboom''s API: the functions a gateway (PostgREST, PostGraphile) exposes';

GRANT USAGE ON SCHEMA naboom TO naboom_anon, naboom_user, naboom_service;
GRANT USAGE ON SCHEMA naboom_api TO naboom_anon, naboom_user, naboom_service;

------------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------------
CREATE TYPE naboom.member_role AS ENUM ('resident', 'verified', 'responder', 'moderator', 'admin');
COMMENT ON TYPE naboom.member_role IS 'Role of a member in a community, in rank order';

CREATE TYPE naboom.priority AS ENUM ('low', 'medium', 'high', 'critical');
COMMENT ON TYPE naboom.priority IS 'Incident priority, in rank order';

CREATE TYPE naboom.incident_kind AS ENUM ('report', 'panic');
COMMENT ON TYPE naboom.incident_kind IS 'report: filed by a resident; panic: an SOS that escalates until acknowledged';

CREATE TYPE naboom.status_type AS ENUM ('open', 'fixed', 'closed');
COMMENT ON TYPE naboom.status_type IS 'Open311 status type: whether an incident is still live';

CREATE TYPE naboom.actor_rule AS ENUM ('verifier', 'self_assign', 'assignee', 'reporter', 'reporter_reopen', 'service');
COMMENT ON TYPE naboom.actor_rule IS 'Who, besides moderators and admins, may make a transition';

------------------------------------------------------------------------------
-- C functions
------------------------------------------------------------------------------
CREATE FUNCTION naboom.new_reference() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_new_reference'
	LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.new_reference() IS
	'A fresh random incident reference such as NB-7K3Q-9XW9 (35 random bits and a GF(32) check symbol)';

CREATE FUNCTION naboom.reference_valid(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_reference_valid'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION naboom.reference_valid(text) IS
	'True if the text is a valid incident reference, read leniently (any case, I/L as 1, O as 0, hyphens and spaces ignored, NB prefix optional)';

CREATE FUNCTION naboom.normalize_reference(text) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_normalize_reference'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION naboom.normalize_reference(text) IS
	'The canonical form NB-XXXX-XXXX of a leniently typed incident reference, or NULL if it is not valid';

CREATE FUNCTION naboom.current_actor() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_current_actor'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.current_actor() IS
	'The caller''s user_ref: the sub claim of request.jwt.claims (PostgREST) or jwt.claims.sub (PostGraphile); NULL without claims';

CREATE FUNCTION naboom.require_actor() RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_require_actor'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.require_actor() IS
	'The caller''s user_ref, or NULL for the naboom service; raises naboom.missing_identity for anyone else';

CREATE FUNCTION naboom.is_service() RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_is_service'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.is_service() IS
	'True when the caller acts as the naboom service: no JWT subject, and naboom_service privileges or superuser';

CREATE FUNCTION naboom.check_point(lat double precision, lon double precision) RETURNS boolean
	AS 'MODULE_PATHNAME', 'naboom_check_point'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.check_point(double precision, double precision) IS
	'Raises naboom.invalid_coordinates unless lat/lon are finite WGS84 degrees';

CREATE FUNCTION naboom.clean_text(field text, value text, required boolean, max_chars integer) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_clean_text'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION naboom.clean_text(text, text, boolean, integer) IS
	'Trimmed text, NULL when empty and optional; raises naboom.text_required, naboom.text_too_long or naboom.invalid_text. max_chars NULL means the naboom.max_text_length setting';

CREATE FUNCTION naboom.incident_guard() RETURNS trigger
	AS 'MODULE_PATHNAME', 'naboom_incident_guard'
	LANGUAGE C;
COMMENT ON FUNCTION naboom.incident_guard() IS
	'BEFORE INSERT OR UPDATE trigger on naboom.incident: enforces the workflow, roles and required fields; stamps milestones and version';

CREATE FUNCTION naboom.incident_journal() RETURNS trigger
	AS 'MODULE_PATHNAME', 'naboom_incident_journal'
	LANGUAGE C;
COMMENT ON FUNCTION naboom.incident_journal() IS
	'AFTER INSERT OR UPDATE trigger on naboom.incident: appends the timeline entries';

CREATE FUNCTION naboom.workflow_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'naboom_workflow_changed'
	LANGUAGE C;
COMMENT ON FUNCTION naboom.workflow_changed() IS
	'Statement trigger on naboom.status and naboom.transition: invalidates every backend''s cached workflow at commit';

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
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE naboom.community IS 'A tenant: a town or farming district. Every domain row belongs to exactly one community';
COMMENT ON COLUMN naboom.community.slug IS 'Short stable name used in the API, e.g. mookgophong';
COMMENT ON COLUMN naboom.community.boundary IS 'Where the community is (WGS84); reports outside it are refused unless allow_outside_reports';
COMMENT ON COLUMN naboom.community.reopen_window IS 'How long after resolution the reporter may reopen an incident';
COMMENT ON COLUMN naboom.community.auto_close_after IS 'Grace period after resolution before the auto-close job closes an incident';
COMMENT ON COLUMN naboom.community.escalation_interval IS 'Time between escalation steps of an unacknowledged panic';
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
	ack_target interval NOT NULL DEFAULT '15 minutes' CHECK (ack_target > '0'),
	resolve_target interval NOT NULL DEFAULT '24 hours' CHECK (resolve_target > '0'),
	duplicate_radius_m double precision NOT NULL DEFAULT 250 CHECK (duplicate_radius_m > 0 AND duplicate_radius_m <= 50000),
	duplicate_window interval NOT NULL DEFAULT '2 hours' CHECK (duplicate_window > '0'),
	is_active boolean NOT NULL DEFAULT true,
	PRIMARY KEY (community_id, code)
);
COMMENT ON TABLE naboom.category IS 'Incident categories of a community, named in English and Afrikaans, with priority, SLA targets and duplicate window';
COMMENT ON COLUMN naboom.category.is_sensitive IS 'Sensitive: location blurred to about 100 m for everyone but responders and moderators, reporter never shown';
COMMENT ON COLUMN naboom.category.ack_target IS 'SLA: time from report to acknowledgement';
COMMENT ON COLUMN naboom.category.resolve_target IS 'SLA: time from report to resolution';
COMMENT ON COLUMN naboom.category.duplicate_radius_m IS 'Reports of this category closer than this (metres) and within duplicate_window are likely duplicates';

CREATE TABLE naboom.status (
	status text PRIMARY KEY CHECK (status ~ '^[a-z][a-z_]{1,30}$'),
	status_type naboom.status_type NOT NULL,
	label_en text NOT NULL,
	label_af text NOT NULL,
	milestone text CHECK (milestone IN ('dispatched_at', 'en_route_at', 'on_scene_at', 'resolved_at', 'closed_at')),
	sort_order integer NOT NULL DEFAULT 100,
	builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE naboom.status IS 'Incident statuses with their Open311 type and labels in English and Afrikaans';
COMMENT ON COLUMN naboom.status.milestone IS 'The incident timestamp stamped when an incident enters this status';

CREATE TABLE naboom.transition (
	from_status text NOT NULL REFERENCES naboom.status,
	to_status text NOT NULL REFERENCES naboom.status,
	allowed naboom.actor_rule[] NOT NULL DEFAULT '{}',
	requires_note boolean NOT NULL DEFAULT false,
	requires_assignee boolean NOT NULL DEFAULT false,
	requires_duplicate_of boolean NOT NULL DEFAULT false,
	builtin boolean NOT NULL DEFAULT false,
	PRIMARY KEY (from_status, to_status)
);
COMMENT ON TABLE naboom.transition IS 'The workflow: allowed status changes, who besides moderators/admins may make them, and what they require. Cached by every backend; changes take effect at commit';

CREATE TABLE naboom.incident (
	community_id bigint NOT NULL,
	incident_id bigint GENERATED ALWAYS AS IDENTITY,
	reference text NOT NULL UNIQUE CHECK (reference ~ '^NB-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$' AND naboom.reference_valid(reference)),
	category_code text NOT NULL,
	kind naboom.incident_kind NOT NULL DEFAULT 'report',
	title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	description text CHECK (length(description) <= 100000),
	location geometry(Point, 4326) NOT NULL,
	accuracy_m double precision CHECK (accuracy_m >= 0 AND accuracy_m <= 100000),
	address text CHECK (length(address) <= 300),
	area_id bigint,
	outside_boundary boolean NOT NULL DEFAULT false,
	priority naboom.priority NOT NULL,
	status text NOT NULL DEFAULT 'reported',
	status_note text CHECK (length(status_note) <= 100000),
	reporter_ref text,
	assignee_ref text,
	duplicate_of bigint,
	is_public boolean NOT NULL DEFAULT true,
	client_ref text CHECK (length(client_ref) BETWEEN 1 AND 100),
	version integer NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	updated_by text,
	acknowledged_at timestamptz,
	acknowledged_by text,
	dispatched_at timestamptz,
	en_route_at timestamptz,
	on_scene_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	escalation_level integer NOT NULL DEFAULT 0 CHECK (escalation_level >= 0),
	next_escalation_at timestamptz,
	legal_hold boolean NOT NULL DEFAULT false,
	anonymised_at timestamptz,
	PRIMARY KEY (community_id, incident_id),
	FOREIGN KEY (community_id, category_code) REFERENCES naboom.category,
	FOREIGN KEY (community_id, area_id) REFERENCES naboom.area ON DELETE SET NULL (area_id),
	FOREIGN KEY (community_id, reporter_ref) REFERENCES naboom.member,
	FOREIGN KEY (community_id, assignee_ref) REFERENCES naboom.member,
	FOREIGN KEY (community_id, duplicate_of) REFERENCES naboom.incident
);
COMMENT ON TABLE naboom.incident IS 'An incident report or panic alert. Every INSERT and UPDATE, by any role, passes the workflow trigger naboom.incident_guard';
COMMENT ON COLUMN naboom.incident.reference IS 'Short human reference, e.g. NB-7K3Q-9XW9: Crockford base32 with a check symbol; random, unique';
COMMENT ON COLUMN naboom.incident.location IS 'Where it happened (WGS84 point); blurred in the API for sensitive categories';
COMMENT ON COLUMN naboom.incident.accuracy_m IS 'Accuracy of the location as the device reported it, in metres';
COMMENT ON COLUMN naboom.incident.area_id IS 'The smallest area of the community containing the location, if any';
COMMENT ON COLUMN naboom.incident.outside_boundary IS 'Reported outside the community boundary (only where the community allows that)';
COMMENT ON COLUMN naboom.incident.status IS 'Workflow status: a status of naboom.status, checked by the workflow trigger against its cached copy (no foreign key, so writers do not share-lock the status rows)';
COMMENT ON COLUMN naboom.incident.status_note IS 'The note given with the latest status change (resolution note, rejection reason...)';
COMMENT ON COLUMN naboom.incident.reporter_ref IS 'user_ref of the reporter; never shown to the public';
COMMENT ON COLUMN naboom.incident.duplicate_of IS 'The live incident of the same community this one was merged into';
COMMENT ON COLUMN naboom.incident.is_public IS 'Public incidents are visible to the public with the reporter hidden; private ones to the reporter, responders and moderators';
COMMENT ON COLUMN naboom.incident.client_ref IS 'Idempotency key from the reporter''s device: a resubmit returns the same incident';
COMMENT ON COLUMN naboom.incident.version IS 'Bumped by every change; transition_incident(expected_version) detects stale clients';
COMMENT ON COLUMN naboom.incident.updated_by IS 'user_ref of whoever made the latest change; NULL for the naboom service';
COMMENT ON COLUMN naboom.incident.acknowledged_by IS 'The first responder to acknowledge; acknowledgement stops escalation';
COMMENT ON COLUMN naboom.incident.next_escalation_at IS 'When an unacknowledged panic escalates next';
COMMENT ON COLUMN naboom.incident.legal_hold IS 'Held for legal reasons: never anonymised or deleted by retention';
CREATE UNIQUE INDEX incident_client_ref_key ON naboom.incident (community_id, reporter_ref, client_ref) WHERE client_ref IS NOT NULL;
CREATE INDEX incident_location_idx ON naboom.incident USING gist (location);
CREATE INDEX incident_community_status_idx ON naboom.incident (community_id, status, created_at);
CREATE INDEX incident_reporter_idx ON naboom.incident (reporter_ref, community_id);
CREATE INDEX incident_escalation_idx ON naboom.incident (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX incident_duplicate_of_idx ON naboom.incident (community_id, duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE naboom.incident_timeline (
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	seq integer NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	actor_ref text,
	entry_kind text NOT NULL CHECK (entry_kind IN ('reported', 'status_changed', 'assigned', 'acknowledged', 'note', 'escalated', 'merged')),
	from_status text,
	to_status text,
	note text CHECK (length(note) <= 100000),
	is_public boolean NOT NULL DEFAULT true,
	detail jsonb,
	PRIMARY KEY (community_id, incident_id, seq)
);
COMMENT ON TABLE naboom.incident_timeline IS 'Everything that happened to an incident, numbered per incident (seq): report, status changes, assignments, acknowledgement, notes, escalations, merges. Written only by naboom (triggers and API) while holding the incident''s row lock; no foreign key, so the write does not share-lock the row it just updated';
COMMENT ON COLUMN naboom.incident_timeline.actor_ref IS 'user_ref of who did it; NULL for the naboom service';
COMMENT ON COLUMN naboom.incident_timeline.is_public IS 'Internal notes (false) are shown only to responders and moderators';

------------------------------------------------------------------------------
-- The workflow of design.md section 3
------------------------------------------------------------------------------
INSERT INTO naboom.status (status, status_type, label_en, label_af, milestone, sort_order) VALUES
	('reported',   'open',   'Reported',    'Aangemeld',      NULL,           10),
	('verified',   'open',   'Verified',    'Bevestig',       NULL,           20),
	('dispatched', 'open',   'Dispatched',  'Gestuur',        'dispatched_at', 30),
	('en_route',   'open',   'En route',    'Op pad',         'en_route_at',  40),
	('on_scene',   'open',   'On scene',    'Op die toneel',  'on_scene_at',  50),
	('resolved',   'fixed',  'Resolved',    'Opgelos',        'resolved_at',  60),
	('closed',     'closed', 'Closed',      'Gesluit',        'closed_at',    70),
	('rejected',   'closed', 'Rejected',    'Afgekeur',       'closed_at',    80),
	('duplicate',  'closed', 'Duplicate',   'Duplikaat',      'closed_at',    90),
	('cancelled',  'closed', 'Cancelled',   'Gekanselleer',   'closed_at',   100);

INSERT INTO naboom.transition (from_status, to_status, allowed, requires_note, requires_assignee, requires_duplicate_of) VALUES
	('reported',   'verified',   '{verifier}',        false, false, false),
	('reported',   'dispatched', '{self_assign}',     false, true,  false),
	('verified',   'dispatched', '{self_assign}',     false, true,  false),
	('dispatched', 'dispatched', '{}',                false, true,  false),
	('dispatched', 'en_route',   '{assignee}',        false, false, false),
	('dispatched', 'on_scene',   '{assignee}',        false, false, false),
	('en_route',   'on_scene',   '{assignee}',        false, false, false),
	('reported',   'resolved',   '{assignee}',        true,  false, false),
	('verified',   'resolved',   '{assignee}',        true,  false, false),
	('dispatched', 'resolved',   '{assignee}',        true,  false, false),
	('en_route',   'resolved',   '{assignee}',        true,  false, false),
	('on_scene',   'resolved',   '{assignee}',        true,  false, false),
	('resolved',   'closed',     '{reporter,service}', false, false, false),
	('resolved',   'verified',   '{reporter_reopen}', true,  false, false),
	('reported',   'rejected',   '{}',                true,  false, false),
	('verified',   'rejected',   '{}',                true,  false, false),
	('reported',   'duplicate',  '{}',                false, false, true),
	('verified',   'duplicate',  '{}',                false, false, true),
	('dispatched', 'duplicate',  '{}',                false, false, true),
	('reported',   'cancelled',  '{reporter}',        false, false, false),
	('verified',   'cancelled',  '{reporter}',        false, false, false);

-- The seeded rows are builtin; pg_dump keeps the rows an admin adds.
UPDATE naboom.status SET builtin = true;
UPDATE naboom.transition SET builtin = true;
SELECT pg_catalog.pg_extension_config_dump('naboom.status', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('naboom.transition', 'WHERE NOT builtin');

-- incident.status has no foreign key (see its comment); this keeps a status
-- in use from disappearing or being renamed.
CREATE FUNCTION naboom.status_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM naboom.incident i WHERE i.status = OLD.status) THEN
		PERFORM naboom.fail('23503', 'naboom.status_in_use',
			format('status "%s" is used by incidents', OLD.status),
			'Incidents in this status would be left without a workflow.',
			'Move those incidents on first, or add a new status instead.');
	END IF;
	RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION naboom.status_in_use() IS 'Refuses to delete or rename a status that incidents still have';
CREATE TRIGGER status_in_use BEFORE DELETE OR UPDATE OF status ON naboom.status
	FOR EACH ROW EXECUTE FUNCTION naboom.status_in_use();
CREATE TRIGGER workflow_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON naboom.status
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.workflow_changed();
CREATE TRIGGER workflow_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON naboom.transition
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.workflow_changed();
CREATE TRIGGER incident_guard BEFORE INSERT OR UPDATE ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.incident_guard();
CREATE TRIGGER incident_journal AFTER INSERT OR UPDATE ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.incident_journal();

-- The domain tables' rows belong to the installation, not the extension.
SELECT pg_catalog.pg_extension_config_dump('naboom.community', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.area', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.member', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.category', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.incident', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.incident_timeline', '');

------------------------------------------------------------------------------
-- Internal helpers (schema naboom; not granted to the API roles unless a
-- row-level security policy needs them)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.fail(state text, key text, message text, detail text, hint text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = state, MESSAGE = coalesce(message, key),
		DETAIL = key || ': ' || coalesce(detail, ''), HINT = coalesce(hint, '');
END
$$;
COMMENT ON FUNCTION naboom.fail(text, text, text, text, text) IS
	'Raise a naboom error: SQLSTATE, message, DETAIL starting with the stable key, HINT';

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

CREATE FUNCTION naboom.require_role(c naboom.community, actor text, min_role naboom.member_role) RETURNS naboom.member_role
LANGUAGE plpgsql STABLE AS $$
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
	RETURN r;
END
$$;
COMMENT ON FUNCTION naboom.require_role(naboom.community, text, naboom.member_role) IS
	'The actor''s role, or naboom.not_a_member / naboom.insufficient_role (42501); NULL actor means the service, which passes';

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

CREATE FUNCTION naboom.find_incident(reference text, actor text, lock boolean,
	OUT incident naboom.incident, OUT actor_role naboom.member_role)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	ref text := naboom.normalize_reference(find_incident.reference);
	found record;
BEGIN
	IF ref IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_reference',
			format('"%s" is not a valid incident reference', left(find_incident.reference, 40)),
			'References look like NB-7K3Q-9XW9; the last symbol is a check symbol.',
			'Check for a mistyped or swapped character.');
	END IF;
	-- The incident and the caller's role in its community, in one query.
	IF lock THEN
		SELECT x AS inc, m.role INTO found
		FROM naboom.incident x
		LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = actor
		WHERE x.reference = ref
		FOR NO KEY UPDATE OF x;
	ELSE
		SELECT x AS inc, m.role INTO found
		FROM naboom.incident x
		LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = actor
		WHERE x.reference = ref;
	END IF;
	-- Visibility: public to everyone; private to the reporter, the
	-- community's responders and moderators, and the service.  The same rule
	-- as the row-level security policies on naboom.incident.
	IF found IS NULL OR NOT (found.inc).is_public
		AND NOT (actor IS NULL AND naboom.is_service())
		AND (found.inc).reporter_ref IS DISTINCT FROM actor
		AND NOT coalesce(found.role >= 'responder', false) THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_reference',
			format('no incident %s', ref),
			'No incident with that reference is visible to you.',
			'Check the reference; private incidents are visible only to their reporter, responders and moderators.');
	END IF;
	incident := found.inc;
	actor_role := found.role;
END
$$;
COMMENT ON FUNCTION naboom.find_incident(text, text, boolean) IS
	'The incident with this reference if the actor may see it (optionally locked for update), with the actor''s role in its community; else naboom.invalid_reference (22023) or naboom.unknown_reference (PT404)';

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
	g := ST_SetSRID(g, 4326);
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

CREATE FUNCTION naboom.blur_point(p geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE AS $$
	SELECT ST_SetSRID(ST_MakePoint(
		round((floor(ST_X(p) * 1000) / 1000 + 0.0005)::numeric, 4)::double precision,
		round((floor(ST_Y(p) * 1000) / 1000 + 0.0005)::numeric, 4)::double precision), 4326)
$$;
COMMENT ON FUNCTION naboom.blur_point(geometry) IS
	'The centre of the 0.001 degree grid cell (about 110 m x 100 m here) holding the point: all points of a cell show the same place, so only the cell is revealed';

CREATE FUNCTION naboom.route_area(community_id bigint, location geometry) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	found_id bigint;
BEGIN
	SELECT a.area_id INTO found_id FROM naboom.area a
	WHERE a.community_id = community_id AND ST_Covers(a.boundary, location)
	ORDER BY a.area_m2, a.area_id
	LIMIT 1;
	RETURN found_id;
END
$$;
COMMENT ON FUNCTION naboom.route_area(bigint, geometry) IS 'The smallest area of the community containing the point (GiST index on area.boundary)';

------------------------------------------------------------------------------
-- API types: what the API functions return (text, not naboom enums, so
-- gateways need nothing from schema naboom)
------------------------------------------------------------------------------
CREATE TYPE naboom_api.incident AS (
	reference text,
	community text,
	category text,
	category_en text,
	category_af text,
	kind text,
	title text,
	description text,
	lat double precision,
	lon double precision,
	location_blurred boolean,
	accuracy_m double precision,
	address text,
	area text,
	outside_boundary boolean,
	priority text,
	status text,
	status_type text,
	status_en text,
	status_af text,
	status_note text,
	reporter_name text,
	is_mine boolean,
	assignee text,
	assignee_name text,
	acknowledged_by_name text,
	duplicate_of text,
	is_public boolean,
	version integer,
	escalation_level integer,
	next_escalation_at timestamptz,
	created_at timestamptz,
	acknowledged_at timestamptz,
	dispatched_at timestamptz,
	en_route_at timestamptz,
	on_scene_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	updated_at timestamptz,
	timeline jsonb
);
COMMENT ON TYPE naboom_api.incident IS
	'An incident as the caller may see it: reporter hidden from the public, location blurred to about 100 m for sensitive categories unless the caller is the reporter, a responder or a moderator. timeline is filled by get_incident only';

CREATE TYPE naboom_api.timeline_entry AS (
	reference text,
	seq integer,
	at timestamptz,
	kind text,
	from_status text,
	to_status text,
	note text,
	is_public boolean,
	actor_name text
);
COMMENT ON TYPE naboom_api.timeline_entry IS 'One entry of an incident''s timeline';

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

------------------------------------------------------------------------------
-- Projections: rows to API types, applying the visibility rules
------------------------------------------------------------------------------
CREATE FUNCTION naboom.incident_out(i naboom.incident, actor text, my_role naboom.member_role,
	with_timeline boolean) RETURNS naboom_api.incident
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r naboom_api.incident;
	service boolean := actor IS NULL AND naboom.is_service();
	mine boolean := actor IS NOT NULL AND i.reporter_ref IS NOT DISTINCT FROM actor;
	member boolean := my_role IS NOT NULL OR service;
	staff boolean := service OR coalesce(my_role >= 'responder', false);
	moderator boolean := service OR coalesce(my_role >= 'moderator', false);
BEGIN
	-- One planned query for everything the projection needs.
	SELECT i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text,
		i.title, i.description,
		ST_Y(CASE WHEN blur THEN naboom.blur_point(i.location) ELSE i.location END),
		ST_X(CASE WHEN blur THEN naboom.blur_point(i.location) ELSE i.location END),
		blur,
		CASE WHEN blur THEN greatest(coalesce(i.accuracy_m, 0), 100) ELSE i.accuracy_m END,
		CASE WHEN blur THEN NULL ELSE i.address END,
		a.code, i.outside_boundary, i.priority::text, i.status, st.status_type::text,
		st.label_en, st.label_af, i.status_note,
		CASE WHEN mine OR moderator OR (NOT cat.is_sensitive AND my_role IS NOT NULL)
			THEN rep.display_name END,
		mine,
		CASE WHEN member THEN i.assignee_ref END,
		CASE WHEN member THEN asg.display_name END,
		CASE WHEN member THEN ack.display_name END,
		dup.reference, i.is_public, i.version, i.escalation_level, i.next_escalation_at,
		i.created_at, i.acknowledged_at, i.dispatched_at, i.en_route_at, i.on_scene_at,
		i.resolved_at, i.closed_at, i.updated_at, NULL::jsonb
	INTO r
	FROM naboom.community c
	JOIN naboom.category cat ON cat.community_id = c.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND NOT mine AS blur) b
	LEFT JOIN naboom.area a ON a.community_id = c.community_id AND a.area_id = i.area_id
	LEFT JOIN naboom.member rep ON rep.community_id = c.community_id AND rep.user_ref = i.reporter_ref
	LEFT JOIN naboom.member asg ON asg.community_id = c.community_id AND asg.user_ref = i.assignee_ref
	LEFT JOIN naboom.member ack ON ack.community_id = c.community_id AND ack.user_ref = i.acknowledged_by
	LEFT JOIN naboom.incident dup ON dup.community_id = c.community_id AND dup.incident_id = i.duplicate_of
	WHERE c.community_id = i.community_id;

	IF with_timeline THEN
		SELECT coalesce(jsonb_agg(jsonb_build_object(
				'seq', t.seq, 'at', t.at, 'kind', t.entry_kind,
				'from_status', t.from_status, 'to_status', t.to_status,
				'note', t.note, 'is_public', t.is_public,
				'actor_name', CASE
					WHEN t.actor_ref IS NULL THEN 'naboom'
					WHEN NOT member THEN NULL
					WHEN t.actor_ref = i.reporter_ref AND r.reporter_name IS NULL THEN NULL
					ELSE m.display_name END,
				'detail', CASE WHEN member THEN t.detail END) ORDER BY t.seq), '[]')
		INTO r.timeline
		FROM naboom.incident_timeline t
		LEFT JOIN naboom.member m ON m.community_id = t.community_id AND m.user_ref = t.actor_ref
		WHERE t.community_id = i.community_id AND t.incident_id = i.incident_id
			AND (t.is_public OR staff);
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION naboom.incident_out(naboom.incident, text, naboom.member_role, boolean) IS
	'An incident as the actor (whose role in the incident''s community is my_role) may see it: blurring, reporter hiding, timeline if asked';

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
	v_admin text := coalesce(naboom.clean_text('admin_ref', admin_ref, false, 255), actor);
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
	'Create or replace an area of a community (moderators and admins). boundary: GeoJSON Polygon/MultiPolygon inside the community. 201 when created';

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
	IF v_code !~ '^[a-z][a-z0-9_]{0,39}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_code', format('invalid category code "%s"', v_code),
			'A category code is a lower-case letter followed by letters, digits and _.', 'Use something like stock_theft.');
	END IF;
	IF default_priority IS NULL OR default_priority NOT IN ('low', 'medium', 'high', 'critical') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_priority', format('unknown priority "%s"', default_priority),
			'Priorities are low, medium, high and critical.', 'Pick one of those.');
	END IF;
	IF ack_target IS NULL OR resolve_target IS NULL OR duplicate_window IS NULL
		OR ack_target <= '0' OR resolve_target <= '0' OR duplicate_window <= '0' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'SLA targets and the duplicate window must be positive',
			'ack_target, resolve_target and duplicate_window must be greater than zero.', 'Give positive intervals, e.g. 15 minutes.');
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
	'Create or change an incident category (moderators and admins), named in English and Afrikaans. 201 when created';

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
	'Join a community as a resident, or update one''s name, phone and language (idempotent). 201 when joined';

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
	'Set a member''s role. Moderators set resident/verified/responder; only admins grant or revoke moderator and admin; no one changes their own role; the last admin stays';

------------------------------------------------------------------------------
-- API: reporting
------------------------------------------------------------------------------
CREATE FUNCTION naboom.file_incident(
	c naboom.community, actor text, my_role naboom.member_role, cat naboom.category, kind naboom.incident_kind,
	lat double precision, lon double precision, title text, description text, address text,
	accuracy_m double precision, is_public boolean, priority naboom.priority,
	p_client_ref text, next_escalation_at timestamptz) RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	pt geometry := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
	outside boolean := c.boundary IS NOT NULL AND NOT ST_Covers(c.boundary, pt);
	i naboom.incident;
BEGIN
	IF accuracy_m IS NOT NULL AND (accuracy_m = 'NaN' OR accuracy_m < 0 OR accuracy_m > 100000) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_accuracy', 'accuracy_m must be between 0 and 100000 metres',
			format('It is %s.', accuracy_m), 'Send the device''s reported accuracy in metres, or leave it out.');
	END IF;
	IF outside AND NOT c.allow_outside_reports THEN
		PERFORM naboom.fail('22023', 'naboom.outside_community',
			format('the location is outside community "%s"', c.slug),
			format('(%s, %s) is not within the boundary of %s.', lat, lon, c.name),
			'Report to the community where it happened.');
	END IF;

	INSERT INTO naboom.incident (community_id, category_code, kind, title, description, location, accuracy_m,
		address, area_id, outside_boundary, priority, reporter_ref, is_public, client_ref, next_escalation_at)
	VALUES (c.community_id, cat.code, kind, coalesce(title, cat.name_en), description, pt, accuracy_m,
		address, naboom.route_area(c.community_id, pt), outside, priority, actor, is_public, p_client_ref,
		next_escalation_at)
	ON CONFLICT (community_id, reporter_ref, client_ref) WHERE client_ref IS NOT NULL DO NOTHING
	RETURNING * INTO i;

	IF NOT FOUND THEN
		-- A resubmit (after a timeout, or while offline): same incident.
		SELECT * INTO i FROM naboom.incident x
		WHERE x.community_id = c.community_id AND x.reporter_ref = actor AND x.client_ref = p_client_ref;
		IF i.kind <> kind OR i.category_code <> cat.code THEN
			PERFORM naboom.fail('PT409', 'naboom.client_ref_reused',
				format('client_ref "%s" was already used for %s', p_client_ref, i.reference),
				format('That client_ref filed a %s of category %s.', i.kind, i.category_code),
				'Use a fresh client_ref for each new report.');
		END IF;
		RETURN naboom.incident_out(i, actor, my_role, false);
	END IF;
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.incident_out(i, actor, my_role, false);
END
$$;
COMMENT ON FUNCTION naboom.file_incident(naboom.community, text, naboom.member_role, naboom.category, naboom.incident_kind, double precision, double precision, text, text, text, double precision, boolean, naboom.priority, text, timestamptz) IS
	'Shared body of report_incident and raise_panic: boundary check, area routing, idempotent insert on client_ref';

CREATE FUNCTION naboom.reporter_role(c naboom.community, actor text) RETURNS naboom.member_role
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'incidents are reported by a person',
			'The naboom service has no JWT subject to report as.', 'Call with the reporter''s JWT claims.');
	END IF;
	RETURN naboom.require_role(c, actor, 'resident');
END
$$;
COMMENT ON FUNCTION naboom.reporter_role(naboom.community, text) IS
	'The role of the calling person, who must be a member of the community';

CREATE FUNCTION naboom_api.report_incident(
	community text, category text, lat double precision, lon double precision, description text,
	title text DEFAULT NULL, address text DEFAULT NULL, accuracy_m double precision DEFAULT NULL,
	is_public boolean DEFAULT true, client_ref text DEFAULT NULL)
RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	v_desc text := naboom.clean_text('description', description, true, NULL);
	v_title text := naboom.clean_text('title', title, false, 200);
	v_address text := naboom.clean_text('address', address, false, 300);
	v_client text := naboom.clean_text('client_ref', client_ref, false, 100);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	my_role naboom.member_role := naboom.reporter_role(c, actor);
	cat naboom.category;
BEGIN
	SELECT * INTO cat FROM naboom.category x
	WHERE x.community_id = c.community_id AND x.code = lower(category) AND x.is_active;
	IF NOT FOUND OR cat.code = 'panic' THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_category',
			format('unknown category "%s" in community "%s"', left(category, 40), c.slug),
			'Known categories: ' || (SELECT coalesce(string_agg(x.code, ', ' ORDER BY x.code), 'none') FROM naboom.category x
				WHERE x.community_id = c.community_id AND x.is_active AND x.code <> 'panic') || '.',
			CASE WHEN cat.code = 'panic' THEN 'Use raise_panic for an emergency.' ELSE 'Pick one of the known categories.' END);
	END IF;
	RETURN naboom.file_incident(c, actor, my_role, cat, 'report', lat, lon, v_title, v_desc, v_address,
		accuracy_m, coalesce(is_public, true), cat.default_priority, v_client, NULL);
END
$$;
COMMENT ON FUNCTION naboom_api.report_incident(text, text, double precision, double precision, text, text, text, double precision, boolean, text) IS
	'File an incident report in a community the caller belongs to. Idempotent on client_ref: a resubmit returns the same incident (200), a new report returns 201. Routed to the smallest containing area';

CREATE FUNCTION naboom_api.raise_panic(
	community text, lat double precision, lon double precision, accuracy_m double precision DEFAULT NULL,
	note text DEFAULT NULL, client_ref text DEFAULT NULL)
RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	ok boolean := naboom.check_point(lat, lon);
	v_note text := naboom.clean_text('note', note, false, NULL);
	v_client text := naboom.clean_text('client_ref', client_ref, false, 100);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	my_role naboom.member_role := naboom.reporter_role(c, actor);
	cat naboom.category;
BEGIN
	SELECT * INTO cat FROM naboom.category x WHERE x.community_id = c.community_id AND x.code = 'panic';
	RETURN naboom.file_incident(c, actor, my_role, cat, 'panic', lat, lon, NULL, v_note, NULL,
		accuracy_m, false, 'critical', v_client, now() + c.escalation_interval);
END
$$;
COMMENT ON FUNCTION naboom_api.raise_panic(text, double precision, double precision, double precision, text, text) IS
	'Raise a panic (SOS): a private, critical incident that escalates every escalation_interval until a responder acknowledges it. Idempotent on client_ref. 201';

------------------------------------------------------------------------------
-- API: the workflow
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.transition_incident(
	reference text, status text, note text DEFAULT NULL, duplicate_of text DEFAULT NULL,
	expected_version integer DEFAULT NULL)
RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_status text := lower(naboom.clean_text('status', status, true, 40));
	v_note text := naboom.clean_text('note', note, false, NULL);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	dup naboom.incident;
	v_assignee text;
	known boolean;
	needs_assignee boolean;
BEGIN
	SELECT EXISTS (SELECT 1 FROM naboom.status s WHERE s.status = v_status),
		EXISTS (SELECT 1 FROM naboom.transition t WHERE t.from_status = i.status
			AND t.to_status = v_status AND t.requires_assignee)
	INTO known, needs_assignee;
	IF NOT known THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_status', format('unknown status "%s"', left(v_status, 40)),
			'Statuses: ' || (SELECT string_agg(s.status, ', ' ORDER BY s.sort_order) FROM naboom.status s) || '.',
			'Pick one of the statuses.');
	END IF;
	IF expected_version IS NOT NULL AND expected_version <> i.version THEN
		PERFORM naboom.fail('PT409', 'naboom.stale_version',
			format('incident %s has changed since version %s', i.reference, expected_version),
			format('It is now version %s, status %s.', i.version, i.status),
			'Fetch the incident again with get_incident and decide again.');
	END IF;
	IF v_status = i.status THEN
		PERFORM naboom.fail('PT409', 'naboom.already_in_status',
			format('incident %s is already %s', i.reference, i.status),
			CASE WHEN i.assignee_ref IS NOT NULL THEN format('It is assigned to "%s".', i.assignee_ref)
				ELSE 'Nothing to change.' END,
			'Use assign_incident to re-assign a dispatched incident.');
	END IF;
	IF duplicate_of IS NOT NULL THEN
		SELECT * INTO dup FROM naboom.incident x
		WHERE x.reference = naboom.normalize_reference(duplicate_of) AND x.community_id = i.community_id;
		IF NOT FOUND THEN
			PERFORM naboom.fail('22023', 'naboom.duplicate_of_unknown',
				format('no incident %s in this community', left(duplicate_of, 40)),
				'duplicate_of must name an incident of the same community.', 'Check the reference.');
		END IF;
	END IF;

	-- A responder dispatching an unassigned incident assigns themself.
	v_assignee := i.assignee_ref;
	IF v_assignee IS NULL AND actor IS NOT NULL AND needs_assignee THEN
		v_assignee := actor;
	END IF;

	UPDATE naboom.incident x
	SET status = v_status, status_note = v_note, assignee_ref = v_assignee,
		duplicate_of = coalesce(dup.incident_id, x.duplicate_of)
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
	RETURNING * INTO i;
	RETURN naboom.incident_out(i, actor, f.actor_role, false);
END
$$;
COMMENT ON FUNCTION naboom_api.transition_incident(text, text, text, text, integer) IS
	'Move an incident through the workflow (design.md section 3). note is required for resolved, rejected and reopening; duplicate_of (a reference) for duplicate. expected_version detects stale clients (naboom.stale_version, PT409)';

CREATE FUNCTION naboom_api.assign_incident(reference text, responder text)
RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_responder text := naboom.clean_text('responder', responder, true, 255);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
BEGIN
	IF i.assignee_ref = v_responder AND i.status = 'dispatched' THEN
		PERFORM naboom.fail('PT409', 'naboom.already_assigned',
			format('incident %s is already assigned to "%s"', i.reference, v_responder),
			'Nothing to change.', 'Choose another responder to re-assign.');
	END IF;
	UPDATE naboom.incident x SET status = 'dispatched', assignee_ref = v_responder
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
	RETURNING * INTO i;
	RETURN naboom.incident_out(i, actor, f.actor_role, false);
END
$$;
COMMENT ON FUNCTION naboom_api.assign_incident(text, text) IS
	'Dispatch an incident to a responder (user_ref), or re-assign a dispatched one. Moderators assign anyone; a responder may assign only themself';

CREATE FUNCTION naboom_api.acknowledge_incident(reference text)
RETURNS naboom_api.incident
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'acknowledging needs a person',
			'An acknowledgement says which responder is on it.', 'Call with the responder''s JWT claims.');
	END IF;
	IF i.acknowledged_by IS NOT NULL THEN
		PERFORM naboom.fail('PT409', 'naboom.already_acknowledged',
			format('incident %s was already acknowledged', i.reference),
			format('It was acknowledged by "%s".', i.acknowledged_by),
			'Nothing to do: escalation has stopped; coordinate with the first responder.');
	END IF;
	UPDATE naboom.incident x SET acknowledged_by = actor
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
	RETURNING * INTO i;
	RETURN naboom.incident_out(i, actor, f.actor_role, false);
END
$$;
COMMENT ON FUNCTION naboom_api.acknowledge_incident(text) IS
	'Acknowledge an incident as a responder: the first acknowledgement stops escalation; a second gets naboom.already_acknowledged (PT409)';

CREATE FUNCTION naboom_api.add_note(reference text, note text, is_public boolean DEFAULT NULL)
RETURNS naboom_api.timeline_entry
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_note text := naboom.clean_text('note', note, true, NULL);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	my_role naboom.member_role := f.actor_role;
	staff boolean := (actor IS NULL) OR coalesce(my_role >= 'responder', false);
	v_public boolean := coalesce(is_public, NOT staff);
	t naboom.incident_timeline;
BEGIN
	IF actor IS NOT NULL AND my_role IS NULL THEN
		PERFORM naboom.fail('42501', 'naboom.not_a_member', 'you are not a member of this incident''s community',
			'Only members add notes.', 'Join the community first with join_community.');
	END IF;
	IF NOT staff AND i.reporter_ref IS DISTINCT FROM actor THEN
		PERFORM naboom.fail('42501', 'naboom.note_forbidden', format('you may not add notes to %s', i.reference),
			'Notes are added by the reporter, responders and moderators.', 'Ask a responder.');
	END IF;
	IF NOT staff AND NOT v_public THEN
		PERFORM naboom.fail('42501', 'naboom.note_forbidden', 'only responders and moderators add internal notes',
			'Your notes are public.', 'Leave is_public out or set it to true.');
	END IF;
	INSERT INTO naboom.incident_timeline (community_id, incident_id, seq, actor_ref, entry_kind, note, is_public)
	SELECT i.community_id, i.incident_id, coalesce(max(x.seq), 0) + 1, actor, 'note', v_note, v_public
	FROM naboom.incident_timeline x WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
	RETURNING * INTO t;
	PERFORM set_config('response.status', '201', true);
	RETURN (i.reference, t.seq, t.at, t.entry_kind, NULL, NULL, t.note, t.is_public,
		(SELECT m.display_name FROM naboom.member m WHERE m.community_id = i.community_id AND m.user_ref = actor)
		)::naboom_api.timeline_entry;
END
$$;
COMMENT ON FUNCTION naboom_api.add_note(text, text, boolean) IS
	'Add a note to an incident''s timeline: the reporter (public notes), responders and moderators (internal by default). 201';

CREATE FUNCTION naboom_api.get_incident(reference text)
RETURNS naboom_api.incident
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
BEGIN
	RETURN naboom.incident_out(i, actor, f.actor_role, true);
END
$$;
COMMENT ON FUNCTION naboom_api.get_incident(text) IS
	'One incident with its timeline, as the caller may see it (anonymous callers: public incidents, reporter hidden). naboom.unknown_reference (PT404) when not visible';

------------------------------------------------------------------------------
-- Row-level security.  The API functions are SECURITY DEFINER and apply the
-- same rules explicitly (naboom.find_incident); these policies hold for anyone
-- reading the tables directly.  Personal columns (reporter, exact location,
-- address, phone, client_ref) are not granted to the API roles at all.
------------------------------------------------------------------------------
ALTER TABLE naboom.community ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.area ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.category ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.member ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.incident ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.incident_timeline ENABLE ROW LEVEL SECURITY;

-- Communities, their areas and categories are public reference data.
CREATE POLICY community_read ON naboom.community FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);
CREATE POLICY area_read ON naboom.area FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);
CREATE POLICY category_read ON naboom.category FOR SELECT
	TO naboom_anon, naboom_user, naboom_service USING (true);

-- Members see the members of their own communities only.
CREATE POLICY member_read ON naboom.member FOR SELECT TO naboom_user
	USING (community_id = ANY ((SELECT naboom.my_community_ids())::bigint[]));
CREATE POLICY member_service ON naboom.member FOR SELECT TO naboom_service USING (true);

-- Incidents: public ones to everyone; private ones to their reporter and to
-- the responders, moderators and admins of their community.
CREATE POLICY incident_public ON naboom.incident FOR SELECT TO naboom_anon
	USING (is_public);
CREATE POLICY incident_member ON naboom.incident FOR SELECT TO naboom_user
	USING (is_public
		OR reporter_ref = (SELECT naboom.current_actor())
		OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]));
CREATE POLICY incident_service ON naboom.incident FOR SELECT TO naboom_service USING (true);

-- Timeline: entries of incidents one may see; internal notes to staff only.
CREATE POLICY timeline_member ON naboom.incident_timeline FOR SELECT TO naboom_user
	USING ((is_public OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[]))
		AND EXISTS (SELECT 1 FROM naboom.incident i
			WHERE i.community_id = incident_timeline.community_id
				AND i.incident_id = incident_timeline.incident_id));
CREATE POLICY timeline_service ON naboom.incident_timeline FOR SELECT TO naboom_service USING (true);

------------------------------------------------------------------------------
-- Privileges: least privilege for each role
------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA naboom FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA naboom_api FROM PUBLIC;

GRANT SELECT ON naboom.community, naboom.area, naboom.category, naboom.status, naboom.transition
	TO naboom_anon, naboom_user, naboom_service;
GRANT SELECT (community_id, user_ref, display_name, language, role, on_duty, joined_at)
	ON naboom.member TO naboom_user;
GRANT SELECT (community_id, incident_id, reference, category_code, kind, title, description, area_id,
		outside_boundary, priority, status, status_note, duplicate_of, is_public, version, created_at,
		updated_at, acknowledged_at, dispatched_at, en_route_at, on_scene_at, resolved_at, closed_at,
		escalation_level)
	ON naboom.incident TO naboom_anon, naboom_user;
GRANT SELECT (community_id, incident_id, seq, at, entry_kind, from_status, to_status, note, is_public)
	ON naboom.incident_timeline TO naboom_user;
GRANT SELECT ON naboom.member, naboom.incident, naboom.incident_timeline TO naboom_service;

-- Functions row-level security policies call run as the reader.
GRANT EXECUTE ON FUNCTION naboom.current_actor(), naboom.my_community_ids(),
	naboom.my_staff_community_ids() TO naboom_anon, naboom_user, naboom_service;
-- Pure functions, also used by the CHECK on incident.reference.
GRANT EXECUTE ON FUNCTION naboom.reference_valid(text), naboom.normalize_reference(text) TO PUBLIC;

GRANT EXECUTE ON FUNCTION naboom_api.get_incident(text) TO naboom_anon, naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION
	naboom_api.report_incident(text, text, double precision, double precision, text, text, text, double precision, boolean, text),
	naboom_api.raise_panic(text, double precision, double precision, double precision, text, text),
	naboom_api.transition_incident(text, text, text, text, integer),
	naboom_api.assign_incident(text, text),
	naboom_api.acknowledge_incident(text),
	naboom_api.add_note(text, text, boolean),
	naboom_api.join_community(text, text, text, text),
	naboom_api.upsert_area(text, text, text, text, text, text),
	naboom_api.upsert_category(text, text, text, text, text, boolean, interval, interval, double precision, interval, boolean),
	naboom_api.set_member_role(text, text, text)
	TO naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION naboom_api.create_community(text, text, text, text, text, text, boolean) TO naboom_service;

------------------------------------------------------------------------------
-- Pin search_path on every API and every SECURITY DEFINER function:
-- pg_catalog, then the schema PostGIS lives in (its functions and operators
-- are called by name), then pg_temp last.  naboom's own objects are always
-- schema-qualified.  The internal helpers in schema naboom are executable by
-- their owner only and run inside a pinned caller, whose path they inherit
-- (a SET clause on each would cost a GUC save/restore per call).
------------------------------------------------------------------------------
DO $pin$
DECLARE
	postgis_schema name := (SELECT n.nspname FROM pg_catalog.pg_extension e
		JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis');
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		WHERE l.lanname IN ('sql', 'plpgsql')
			AND (n.nspname = 'naboom_api' OR (n.nspname = 'naboom' AND p.prosecdef))
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, postgis_schema);
	END LOOP;
END
$pin$;

-- Tell PostgREST to reload its schema cache.
NOTIFY pgrst, 'reload schema';
