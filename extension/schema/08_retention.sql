------------------------------------------------------------------------------
-- Retention and privacy (design.md section 7): policies per data class,
-- legal holds, deleted notes, the retention run and its record, erasure
-- and export of a person's data.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- Policies
------------------------------------------------------------------------------
CREATE TABLE naboom.retention_policy (
	data_class text PRIMARY KEY
		CHECK (data_class IN ('emergency_record', 'personal_data', 'deleted_note', 'audit_log')),
	keep interval NOT NULL,
	then_action text NOT NULL CHECK (then_action IN ('delete', 'anonymise', 'drop_partition')),
	anonymise_after interval,
	min_keep interval NOT NULL,
	max_keep interval NOT NULL,
	community_may_override boolean NOT NULL DEFAULT true,
	description text NOT NULL,
	CHECK (min_keep > '0' AND min_keep <= keep AND keep <= max_keep),
	CHECK (anonymise_after IS NULL OR (anonymise_after > '0' AND anonymise_after <= keep))
);

COMMENT ON TABLE naboom.retention_policy IS
	'How long naboom keeps each class of data and what happens then (design.md section 7). The DBA edits these rows (audited); min_keep and max_keep bound what a community may choose';

COMMENT ON COLUMN naboom.retention_policy.keep IS 'The default period: emergency records from closing, personal data from last activity, deleted notes from the deletion request, audit rows from logging';

COMMENT ON COLUMN naboom.retention_policy.anonymise_after IS 'audit_log: personal fields of audit rows are anonymised after this, the row itself kept until keep';

COMMENT ON COLUMN naboom.retention_policy.community_may_override IS 'Whether communities may choose their own period (within min_keep and max_keep); audit months are shared by all communities, so audit_log is not';

INSERT INTO naboom.retention_policy (data_class, keep, then_action, anonymise_after, min_keep, max_keep,
	community_may_override, description) VALUES
	('emergency_record', '10 years', 'delete', NULL, '5 years', '20 years', true,
		'Closed incidents and panics with their timeline, alerts, events and hold history, counted from closed_at'),
	('personal_data', '7 years', 'anonymise', NULL, '1 year', '7 years', true,
		'A member of a community, counted from their last activity there (joining, a report, a timeline entry, a position); then anonymised as erase_my_data does'),
	('deleted_note', '5 years', 'delete', NULL, '1 year', '10 years', true,
		'The text of a note its author or a moderator deleted, kept out of sight from the deletion request'),
	('audit_log', '1 year', 'drop_partition', '6 months', '6 months', '7 years', false,
		'Audit rows, events and alerts: personal fields anonymised after anonymise_after, whole months dropped after keep');

CREATE TABLE naboom.community_retention (
	community_id bigint NOT NULL REFERENCES naboom.community ON DELETE CASCADE,
	data_class text NOT NULL REFERENCES naboom.retention_policy,
	keep interval NOT NULL,
	set_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, data_class)
);

COMMENT ON TABLE naboom.community_retention IS
	'A community''s own retention periods (naboom_api.set_retention, admins); outside the DBA''s current bounds they are clamped to them';

CREATE VIEW naboom.retention_effective AS
SELECT c.community_id, p.data_class, p.then_action,
	CASE WHEN o.keep IS NULL OR NOT p.community_may_override THEN p.keep
		ELSE greatest(p.min_keep, least(p.max_keep, o.keep)) END AS keep,
	p.anonymise_after,
	CASE WHEN o.keep IS NULL OR NOT p.community_may_override THEN 'default' ELSE 'community' END AS source
FROM naboom.community c
CROSS JOIN naboom.retention_policy p
LEFT JOIN naboom.community_retention o ON o.community_id = c.community_id AND o.data_class = p.data_class;

COMMENT ON VIEW naboom.retention_effective IS 'The period that applies to each community and data class: its own if it set one (clamped to the DBA''s bounds), else the default';

------------------------------------------------------------------------------
-- Last activity: personal data expires seven years after it, so every call
-- that needs a role records it, at most once a day per membership (one
-- index probe otherwise).  A read-only transaction (every GET through
-- PostgREST) cannot write: it queues the touch for the background writer,
-- which applies it (naboom.apply_member_touch)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.queue_member_touch(community_id bigint, user_ref text) RETURNS boolean
AS 'MODULE_PATHNAME', 'naboom_queue_member_touch' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.queue_member_touch(bigint, text) IS
	'Hand a member''s activity seen in a read-only transaction to the background writer (at most once an hour per member and backend); true if queued, false without a writer for this database or on a hot standby';

CREATE FUNCTION naboom.touch_member(community_id bigint, user_ref text) RETURNS void
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

------------------------------------------------------------------------------
-- Legal holds and deleted notes
------------------------------------------------------------------------------
CREATE TABLE naboom.legal_hold (
	hold_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	placed_at timestamptz NOT NULL DEFAULT now(),
	placed_by text,
	reason text NOT NULL CHECK (length(reason) BETWEEN 3 AND 2000),
	lifted_at timestamptz,
	lifted_by text,
	lift_reason text CHECK (length(lift_reason) BETWEEN 3 AND 2000),
	CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);

CREATE UNIQUE INDEX legal_hold_open ON naboom.legal_hold (community_id, incident_id) WHERE lifted_at IS NULL;

CREATE INDEX legal_hold_incident ON naboom.legal_hold (community_id, incident_id);

COMMENT ON TABLE naboom.legal_hold IS
	'Every legal hold placed on an incident and when it was lifted, with reasons (naboom_api.place_legal_hold / lift_legal_hold). While one is open, incident.legal_hold is true and retention and erasure leave the incident, and its reporter''s membership, alone';

CREATE TABLE naboom.deleted_note (
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	seq integer NOT NULL,
	actor_ref text,
	note text NOT NULL,
	written_at timestamptz NOT NULL,
	requested_at timestamptz NOT NULL DEFAULT now(),
	requested_by text,
	PRIMARY KEY (community_id, incident_id, seq)
);

COMMENT ON TABLE naboom.deleted_note IS
	'Notes deleted with naboom_api.delete_note: gone from the timeline at once, the text kept here (no API role can read it) for the deleted_note period, then deleted by retention';

------------------------------------------------------------------------------
-- Runs
------------------------------------------------------------------------------
CREATE TABLE naboom.retention_run (
	run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at timestamptz,
	as_of timestamptz NOT NULL,
	dry_run boolean NOT NULL,
	run_by text NOT NULL,
	pid integer NOT NULL DEFAULT pg_backend_pid(),
	outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'done', 'failed', 'interrupted')),
	error text
);

COMMENT ON TABLE naboom.retention_run IS 'Every run of naboom.run_retention: when, against which "now" (as_of), dry or not, and how it ended';

CREATE TABLE naboom.retention_result (
	run_id bigint NOT NULL REFERENCES naboom.retention_run ON DELETE CASCADE,
	step integer NOT NULL,
	data_class text NOT NULL,
	target text NOT NULL,
	action text NOT NULL,
	rows bigint NOT NULL,
	held bigint NOT NULL DEFAULT 0,
	batches integer NOT NULL DEFAULT 0,
	seconds double precision NOT NULL,
	PRIMARY KEY (run_id, step)
);

COMMENT ON TABLE naboom.retention_result IS
	'What each run did, per data class and table: rows deleted, anonymised or (dry run) due; partitions dropped; rows left alone because of a legal hold; batches and time taken';

COMMENT ON COLUMN naboom.retention_result.held IS 'Expired rows kept because of a legal hold';

CREATE TABLE naboom.retention_state (
	name text PRIMARY KEY,
	at timestamptz NOT NULL
);

INSERT INTO naboom.retention_state (name, at) VALUES ('audit_anonymised_before', '-infinity');

COMMENT ON TABLE naboom.retention_state IS 'Watermarks of retention: audit_anonymised_before, the logged_at below which every audit row is anonymised';

CREATE TABLE naboom.audit_expiry (
	partition text PRIMARY KEY,
	month_from timestamptz NOT NULL,
	month_to timestamptz NOT NULL,
	dropped_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	run_id bigint NOT NULL,
	rows bigint NOT NULL,
	seals_retired integer NOT NULL,
	anchor_seal_id bigint,
	anchor_hash bytea,
	anchor_xid_to xid8
);

COMMENT ON TABLE naboom.audit_expiry IS
	'Audit months dropped by retention: rows and seals retired, and the last retired seal (the anchor the first remaining seal must chain to)';

CREATE TABLE naboom.audit_seal_expired (
	seal_id bigint NOT NULL,
	partition text NOT NULL,
	ids bigint[] NOT NULL,
	PRIMARY KEY (seal_id, partition)
);

COMMENT ON TABLE naboom.audit_seal_expired IS
	'Rows of a remaining seal that were in a dropped month: naboom.verify_audit counts them as expired, not removed';

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON naboom.audit_expiry
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.audit_expiry
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON naboom.audit_seal_expired
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.audit_seal_expired
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard();

ALTER TABLE naboom.audit_expiry ENABLE ALWAYS TRIGGER audit_append_only, ENABLE ALWAYS TRIGGER audit_no_truncate;

ALTER TABLE naboom.audit_seal_expired ENABLE ALWAYS TRIGGER audit_append_only, ENABLE ALWAYS TRIGGER audit_no_truncate;

------------------------------------------------------------------------------
-- C: retention and erasure (src/retention.c, src/retention_engine.c,
-- src/retention_classes.c, src/retention_audit.c, src/erasure.c)
------------------------------------------------------------------------------
CREATE PROCEDURE naboom.run_retention(dry_run boolean DEFAULT false, as_of timestamptz DEFAULT NULL,
	INOUT run_id bigint DEFAULT NULL, INOUT results jsonb DEFAULT NULL)
AS 'MODULE_PATHNAME', 'naboom_run_retention' LANGUAGE C;

COMMENT ON PROCEDURE naboom.run_retention(boolean, timestamptz, bigint, jsonb) IS
	'Apply the retention policies as of as_of (default now): delete expired emergency records and deleted notes, anonymise members inactive past their period, anonymise audit rows after six months and drop audit months after a year, in batches of naboom.retention_batch_size, each committed on its own when CALLed outside a transaction block. Never touches incidents under legal hold. A second concurrent run returns at once with results null. dry_run counts what is due and changes nothing. Returns the run id and per-step results, also kept in naboom.retention_run / retention_result. Run daily by pg_cron';

CREATE FUNCTION naboom.retention_active() RETURNS boolean
AS 'MODULE_PATHNAME', 'naboom_retention_active' LANGUAGE C STABLE;

COMMENT ON FUNCTION naboom.retention_active() IS
	'True while naboom''s retention or erasure code is changing rows (triggers that count, route or audit single changes stand aside)';

CREATE FUNCTION naboom.erase_member(user_ref text, as_of timestamptz) RETURNS jsonb
AS 'MODULE_PATHNAME', 'naboom_erase_member' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.erase_member(text, timestamptz) IS
	'Erase one person from every community (what erase_my_data does for its caller): anonymise their reports, remove their notes, alerts, alert areas, positions and memberships, anonymise the audit rows about them; keep incidents under legal hold. Returns what was erased and kept';

CREATE FUNCTION naboom.retention_report(run_id bigint DEFAULT NULL)
RETURNS SETOF naboom.retention_result
LANGUAGE sql STABLE AS $$
	SELECT r.* FROM naboom.retention_result r
	WHERE r.run_id = coalesce(retention_report.run_id, (SELECT max(x.run_id) FROM naboom.retention_run x))
	ORDER BY r.step
$$;

COMMENT ON FUNCTION naboom.retention_report(bigint) IS 'What a retention run did, step by step (the latest run by default)';

------------------------------------------------------------------------------
-- API: policies, legal holds, deleting a note
------------------------------------------------------------------------------
CREATE TYPE naboom_api.retention_policy AS (
	community text,
	data_class text,
	keep interval,
	then_action text,
	source text,
	min_keep interval,
	max_keep interval,
	community_may_override boolean,
	description text
);

COMMENT ON TYPE naboom_api.retention_policy IS 'A retention period as it applies to a community';

CREATE FUNCTION naboom_api.retention_policies(community text)
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
	E'@simpleCollections only\nHow long the community keeps each class of data and what happens then (members of the community)';

CREATE FUNCTION naboom_api.set_retention(community text, data_class text, keep interval)
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
		ON CONFLICT ON CONSTRAINT community_retention_pkey DO UPDATE SET keep = EXCLUDED.keep, set_at = EXCLUDED.set_at;
	END IF;
	SELECT * INTO r FROM naboom_api.retention_policies(c.slug) x WHERE x.data_class = p.data_class;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom_api.set_retention(text, text, interval) IS
	'Set the community''s own period for a data class, within the DBA''s bounds (admins); NULL goes back to the default. Audited';

CREATE TYPE naboom_api.legal_hold AS (
	reference text,
	legal_hold boolean,
	reason text,
	placed_at timestamptz,
	lifted_at timestamptz,
	lift_reason text
);

COMMENT ON TYPE naboom_api.legal_hold IS 'The legal hold state of an incident';

CREATE FUNCTION naboom.set_legal_hold(reference text, reason text, hold boolean)
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

CREATE FUNCTION naboom_api.place_legal_hold(reference text, reason text)
RETURNS naboom_api.legal_hold
LANGUAGE sql VOLATILE SECURITY DEFINER AS $$
	SELECT naboom.set_legal_hold(reference, reason, true)
$$;

COMMENT ON FUNCTION naboom_api.place_legal_hold(text, text) IS
	'Place a legal hold on an incident, with a reason (admins of its community): retention and erasure leave it alone until it is lifted. Audited';

CREATE FUNCTION naboom_api.lift_legal_hold(reference text, reason text)
RETURNS naboom_api.legal_hold
LANGUAGE sql VOLATILE SECURITY DEFINER AS $$
	SELECT naboom.set_legal_hold(reference, reason, false)
$$;

COMMENT ON FUNCTION naboom_api.lift_legal_hold(text, text) IS
	'Lift the open legal hold of an incident, with a reason (admins of its community). Audited';

CREATE FUNCTION naboom_api.delete_note(reference text, seq integer)
RETURNS naboom_api.timeline_entry
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	t naboom.incident_timeline;
	c naboom.community;
BEGIN
	SELECT * INTO t FROM naboom.incident_timeline x
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.seq = delete_note.seq
		AND x.entry_kind = 'note' FOR UPDATE;
	IF NOT FOUND OR t.note IS NULL THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_note', format('%s has no note %s', i.reference, seq),
			'There is no note with that number, or it was deleted.', 'Read the timeline with get_incident.');
	END IF;
	IF actor IS NOT NULL THEN
		-- Members only (an author who left may not), and it is activity.
		-- (the row into a variable first: on a cluster a query that passed
		-- the row to require_role would run it on a worker, with the
		-- shard's row type)
		SELECT x.* INTO c FROM naboom.community x WHERE x.community_id = i.community_id;
		PERFORM naboom.require_role(c, actor, 'resident');
	END IF;
	IF actor IS NOT NULL AND t.actor_ref IS DISTINCT FROM actor AND coalesce(f.actor_role < 'moderator', true) THEN
		PERFORM naboom.fail('42501', 'naboom.note_forbidden', 'you may delete only your own notes',
			'Notes are deleted by their author or a moderator.', 'Ask a moderator.');
	END IF;
	INSERT INTO naboom.deleted_note (community_id, incident_id, seq, actor_ref, note, written_at, requested_by)
	VALUES (t.community_id, t.incident_id, t.seq, t.actor_ref, t.note, t.at, actor);
	UPDATE naboom.incident_timeline x SET note = NULL, entry_kind = 'note_deleted'
	WHERE x.community_id = t.community_id AND x.incident_id = t.incident_id AND x.seq = t.seq;
	RETURN (i.reference, t.seq, t.at, 'note_deleted', NULL, NULL, NULL, t.is_public, NULL)::naboom_api.timeline_entry;
END
$$;

COMMENT ON FUNCTION naboom_api.delete_note(text, integer) IS
	'Delete a note (its author while a member, a moderator, or the service): it leaves the timeline at once; the text is kept out of reach for the deleted_note period, then deleted by retention';

------------------------------------------------------------------------------
-- API: the rights of access and erasure
------------------------------------------------------------------------------
CREATE TYPE naboom_api.my_data AS (
	user_ref text,
	exported_at timestamptz,
	data jsonb
);

COMMENT ON TYPE naboom_api.my_data IS E'@name MyDataExport\nEverything naboom holds about a person (export_my_data): data has one key per kind of row';

CREATE TYPE naboom_api.erasure AS (
	erasure_id text,
	erased_at timestamptz,
	erased jsonb,
	kept jsonb
);

COMMENT ON TYPE naboom_api.erasure IS 'What erase_my_data erased (rows per kind) and what it kept, with why';

CREATE FUNCTION naboom_api.export_my_data() RETURNS naboom_api.my_data
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	me text := naboom.require_actor();
	doc jsonb;
BEGIN
	IF me IS NULL THEN
		PERFORM naboom.fail('42501', 'naboom.person_required', 'export_my_data is for a person',
			'The naboom service has no personal data.', 'Call it with a member''s token.');
	END IF;
	SELECT jsonb_build_object(
		'memberships', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'display_name', m.display_name,
				'phone', m.phone, 'language', m.language, 'role', m.role, 'on_duty', m.on_duty,
				'joined_at', m.joined_at, 'last_active_at', m.last_active_at) ORDER BY c.slug), '[]')
			FROM naboom.member m JOIN naboom.community c USING (community_id) WHERE m.user_ref = me),
		'reports', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'category', i.category_code, 'kind', i.kind, 'title', i.title, 'description', i.description,
				'address', i.address, 'lat', ST_Y(i.location), 'lon', ST_X(i.location), 'accuracy_m', i.accuracy_m,
				'priority', i.priority, 'status', i.status, 'is_public', i.is_public, 'client_ref', i.client_ref,
				'created_at', i.created_at, 'closed_at', i.closed_at, 'legal_hold', i.legal_hold)
				ORDER BY i.created_at), '[]')
			FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE i.reporter_ref = me),
		'assigned', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'status', i.status) ORDER BY i.created_at), '[]')
			FROM naboom.incident i JOIN naboom.community c USING (community_id) WHERE i.assignee_ref = me),
		'timeline', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'seq', t.seq, 'at', t.at, 'kind', t.entry_kind, 'from_status', t.from_status, 'to_status', t.to_status,
				'note', t.note, 'is_public', t.is_public) ORDER BY t.at), '[]')
			FROM naboom.incident_timeline t
			JOIN naboom.incident i ON i.community_id = t.community_id AND i.incident_id = t.incident_id
			JOIN naboom.community c ON c.community_id = t.community_id
			WHERE t.actor_ref = me),
		'deleted_notes', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'seq', d.seq, 'note', d.note, 'written_at', d.written_at, 'deleted_at', d.requested_at)
				ORDER BY d.requested_at), '[]')
			FROM naboom.deleted_note d
			JOIN naboom.incident i ON i.community_id = d.community_id AND i.incident_id = d.incident_id
			JOIN naboom.community c ON c.community_id = d.community_id
			WHERE d.actor_ref = me),
		'subscriptions', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'id', s.subscription_id,
				'label', s.label, 'lat', ST_Y(s.centre), 'lon', ST_X(s.centre), 'radius_m', s.radius_m,
				'categories', s.categories, 'min_priority', s.min_priority, 'created_at', s.created_at,
				'area', sa.code)
				ORDER BY s.subscription_id), '[]')
			FROM naboom.subscription s JOIN naboom.community c USING (community_id)
			LEFT JOIN naboom.area sa ON sa.community_id = s.community_id AND sa.area_id = s.area_id
			WHERE s.user_ref = me),
		'alerts', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'reason', a.reason, 'distance_m', a.distance_m, 'escalation_level', a.escalation_level,
				'created_at', a.created_at, 'seen_at', a.seen_at) ORDER BY a.alert_id), '[]')
			FROM naboom.alert a
			JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
			JOIN naboom.community c ON c.community_id = a.community_id
			WHERE a.user_ref = me),
		'attachments', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'id', x.attachment_id, 'object_key', x.object_key, 'content_type', x.content_type, 'bytes', x.bytes,
				'sha256', x.sha256, 'caption', x.caption, 'taken_at', x.taken_at, 'created_at', x.created_at,
				'hidden_at', x.hidden_at, 'hidden_reason', x.hidden_reason) ORDER BY x.created_at, x.attachment_id), '[]')
			FROM naboom.attachment x
			JOIN naboom.incident i ON i.community_id = x.community_id AND i.incident_id = x.incident_id
			JOIN naboom.community c ON c.community_id = x.community_id
			WHERE x.uploader_ref = me),
		'positions', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug,
				'lat', ST_Y(p.position), 'lon', ST_X(p.position), 'accuracy_m', p.accuracy_m,
				'reported_at', p.reported_at) ORDER BY c.slug), '[]')
			FROM naboom.responder_position p JOIN naboom.community c USING (community_id) WHERE p.user_ref = me),
		'legal_holds_placed', (SELECT coalesce(jsonb_agg(jsonb_build_object('hold_id', h.hold_id,
				'placed_at', h.placed_at, 'reason', h.reason, 'lifted_at', h.lifted_at) ORDER BY h.hold_id), '[]')
			FROM naboom.legal_hold h WHERE h.placed_by = me OR h.lifted_by = me),
		'audit', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'logged_at', a.logged_at,
				'action', a.action, 'table', a.table_name, 'row_key', a.row_key, 'old_values', a.old_values,
				'new_values', a.new_values, 'by_you', a.actor = me, 'client_addr', a.client_addr,
				'user_agent', a.user_agent, 'success', a.success, 'detail', a.detail) ORDER BY a.id), '[]')
			FROM naboom.person_audit_rows(me) a)
	) INTO doc;
	PERFORM naboom.audit_access(NULL, NULL, 'export_my_data',
		jsonb_build_object('count', jsonb_array_length(doc->'reports')));
	RETURN (me, now(), doc)::naboom_api.my_data;
END
$$;

COMMENT ON FUNCTION naboom_api.export_my_data() IS
	'Everything naboom holds about the caller, in every community, as one JSON document: memberships (profile), reports, incidents assigned to them, their timeline entries and deleted notes, the attachments they added (metadata; the objects are in storage), alert areas, alerts, positions, legal holds they placed, and the audit entries by or about them. The export itself is audited (READ)';

CREATE FUNCTION naboom_api.erase_my_data() RETURNS naboom_api.erasure
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
	me text := naboom.require_actor();
	e jsonb;
BEGIN
	IF me IS NULL THEN
		PERFORM naboom.fail('42501', 'naboom.person_required', 'erase_my_data is for a person',
			'The naboom service has no personal data.', 'Call it with a member''s token.');
	END IF;
	e := naboom.erase_member(me, now());
	RETURN (e->>'erasure_id', (e->>'erased_at')::timestamptz, e->'erased', e->'kept')::naboom_api.erasure;
END
$$;

COMMENT ON FUNCTION naboom_api.erase_my_data() IS
	'Erase the caller at once, in every community (right to erasure): reports stay as anonymised emergency records, everything else that identifies them goes, the audit rows about them are anonymised, and the audit keeps one ERASED entry that says an erasure happened. Incidents under legal hold are kept as they are until the hold is lifted. Returns what was erased, what was kept and why';
