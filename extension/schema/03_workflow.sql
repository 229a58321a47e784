------------------------------------------------------------------------------
-- The workflow of design.md section 3: statuses and transitions as data
-- (cached by every backend, src/transition_cache.c), the incident table,
-- its timeline, and the C triggers that hold every write to the rules
-- (src/workflow.c, src/timeline.c).
------------------------------------------------------------------------------

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
	poor_accuracy boolean NOT NULL DEFAULT false,
	requires_authority boolean NOT NULL DEFAULT false,
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

COMMENT ON COLUMN naboom.incident.area_id IS 'The smallest area of the community containing the location, if any; set by the workflow trigger from the location';

COMMENT ON COLUMN naboom.incident.outside_boundary IS 'Reported outside the community boundary (only where the community allows that); set by the workflow trigger';

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

COMMENT ON COLUMN naboom.incident.requires_authority IS 'A forwarding rule of its community sends it to an authority (13_forwarding: set when it is reported or its category, place or priority changes)';

COMMENT ON COLUMN naboom.incident.poor_accuracy IS 'The reported accuracy was worse than naboom.poor_accuracy_m when the location was given: the location is kept but not to be trusted to the metre';

CREATE UNIQUE INDEX incident_client_ref_key ON naboom.incident (community_id, reporter_ref, client_ref) WHERE client_ref IS NOT NULL;

CREATE INDEX incident_location_idx ON naboom.incident USING gist (location);

CREATE INDEX incident_community_status_idx ON naboom.incident (community_id, status, created_at);

CREATE INDEX incident_reporter_idx ON naboom.incident (reporter_ref, community_id);

-- The auto-close job (07_events) walks resolved incidents by resolution time.
CREATE INDEX incident_resolved_idx ON naboom.incident (resolved_at) WHERE status = 'resolved';

CREATE INDEX incident_duplicate_of_idx ON naboom.incident (community_id, duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE INDEX incident_escalation_idx ON naboom.incident (next_escalation_at) WHERE next_escalation_at IS NOT NULL;

------------------------------------------------------------------------------
-- Duplicate candidates are recent reports of one category near a place: an
-- index on (community, category, time) bounds the search by the window
-- instead of by every live report of the community (measured: the
-- community/status index made the search grow with the day's reports).
------------------------------------------------------------------------------
CREATE INDEX incident_duplicate_window_idx ON naboom.incident (community_id, category_code, created_at);

CREATE INDEX incident_assignee_idx ON naboom.incident (assignee_ref, community_id) WHERE assignee_ref IS NOT NULL;

CREATE INDEX incident_updated_by_idx ON naboom.incident (updated_by, community_id) WHERE updated_by IS NOT NULL;

-- Expiry of emergency records walks closed incidents by closing time.
CREATE INDEX incident_closed_idx ON naboom.incident (community_id, closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE naboom.incident_timeline (
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	seq integer NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	actor_ref text,
	entry_kind text NOT NULL CHECK (entry_kind IN ('reported', 'status_changed', 'assigned', 'acknowledged', 'note', 'escalated', 'merged',
		'note_deleted', 'authority_update')),
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

-- Finding everything about one person without scanning: erasure, export
-- and the retention of personal data start from these.
CREATE INDEX incident_timeline_actor_idx ON naboom.incident_timeline (actor_ref, community_id) WHERE actor_ref IS NOT NULL;

CREATE INDEX incident_timeline_assignee_idx ON naboom.incident_timeline ((detail->>'assignee'), community_id)
	WHERE detail ? 'assignee';

------------------------------------------------------------------------------
-- The seed: the statuses and transitions of design.md section 3
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

-- The triggers on naboom.incident.  PostgreSQL fires triggers of the same
-- timing in name order, and the names are chosen for it:
--   BEFORE INSERT: escalation_start (07_events: the escalation clock of a
--     panic or critical report) < incident_guard (the workflow: checks,
--     stamps, routes) < rate_limit (07_events: counted only for a row the
--     workflow accepted);
--   BEFORE UPDATE: incident_guard;
--   AFTER INSERT: audit_changes (06_audit, 99_security) < incident_journal
--     (the timeline entry and the incident.created event) < incident_reach
--     (05_spatial: the alerts), so the stream tells of the incident before
--     anything it caused;
--   AFTER UPDATE: audit_changes < incident_journal.
-- Renaming one of them changes the order: keep the names.
CREATE TRIGGER incident_guard BEFORE INSERT OR UPDATE ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.incident_guard();

CREATE TRIGGER incident_journal AFTER INSERT OR UPDATE ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.incident_journal();
