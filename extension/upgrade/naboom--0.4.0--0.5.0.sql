-- naboom 0.4.0 -> 0.5.0: retention and privacy (POPIA / GDPR).
--
-- Retention policies as data (design.md section 7), with per-community
-- overrides inside bounds the DBA sets; naboom.run_retention (C, a
-- procedure that commits after every bounded batch) deletes expired
-- emergency records and deleted notes, anonymises members inactive past
-- their policy, anonymises audit rows after six months and drops audit
-- months after a year, never touching incidents under legal hold; the
-- audit seal format changes so an anonymised row still verifies;
-- export_my_data and erase_my_data give every member their rights of
-- access and erasure.  A fresh CREATE EXTENSION runs 0.1.0 and the
-- upgrades to here.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.5.0'" to load this file. \quit

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
-- index probe otherwise, and no write in a read-only transaction)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.touch_member(community_id bigint, user_ref text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
	IF user_ref IS NULL OR pg_catalog.current_setting('transaction_read_only')::boolean THEN
		RETURN;
	END IF;
	UPDATE naboom.member m SET last_active_at = now()
	WHERE m.community_id = community_id AND m.user_ref = user_ref AND m.last_active_at < now() - interval '1 day';
END
$$;
COMMENT ON FUNCTION naboom.touch_member(bigint, text) IS
	'Record that a member was active today (last_active_at), at most one write a day; nothing in a read-only transaction';

CREATE OR REPLACE FUNCTION naboom.require_role(c naboom.community, actor text, min_role naboom.member_role)
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

ALTER TABLE naboom.incident_timeline DROP CONSTRAINT incident_timeline_entry_kind_check;
ALTER TABLE naboom.incident_timeline ADD CONSTRAINT incident_timeline_entry_kind_check
	CHECK (entry_kind IN ('reported', 'status_changed', 'assigned', 'acknowledged', 'note', 'escalated', 'merged',
		'note_deleted'));

-- Finding everything about one person without scanning: erasure, export
-- and the retention of personal data start from these.
CREATE INDEX incident_timeline_actor_idx ON naboom.incident_timeline (actor_ref, community_id) WHERE actor_ref IS NOT NULL;
CREATE INDEX incident_timeline_assignee_idx ON naboom.incident_timeline ((detail->>'assignee'), community_id)
	WHERE detail ? 'assignee';
CREATE INDEX incident_assignee_idx ON naboom.incident (assignee_ref, community_id) WHERE assignee_ref IS NOT NULL;
CREATE INDEX incident_updated_by_idx ON naboom.incident (updated_by, community_id) WHERE updated_by IS NOT NULL;
-- Expiry of emergency records walks closed incidents by closing time.
CREATE INDEX incident_closed_idx ON naboom.incident (community_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX event_created_idx ON naboom.event USING brin (created_at);
CREATE INDEX alert_created_idx ON naboom.alert USING brin (created_at);

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

------------------------------------------------------------------------------
-- The audit log: anonymised rows that still verify
--
-- Format 2 hashes a row as SHA-256 of its core (who-less facts: id, time,
-- xid, community, incident, action, table, role, success), of a digest of
-- its personal fields, and of its anonymised form.  Anonymising stores the
-- digest of the personal fields it removes (personal_digest): the row still
-- hashes to its seal, the removed values cannot be recovered from a hash of
-- that much text, and changing what is left is still detected.  Seals made
-- before 0.5.0 are format 1 (the whole row).
------------------------------------------------------------------------------
ALTER TABLE naboom.audit_log ADD COLUMN personal_digest bytea;
COMMENT ON COLUMN naboom.audit_log.personal_digest IS
	'Set when the row''s personal fields were anonymised (retention after six months, or an erasure): SHA-256 of them as they were, so the seal still verifies';
CREATE INDEX audit_log_actor ON naboom.audit_log (actor, id) WHERE actor IS NOT NULL;
CREATE INDEX audit_log_user_ref ON naboom.audit_log ((row_key->>'user_ref')) WHERE row_key ? 'user_ref';
CREATE INDEX audit_log_logged_at ON naboom.audit_log USING brin (logged_at);

ALTER TABLE naboom.audit_seal ADD COLUMN row_format smallint NOT NULL DEFAULT 1 CHECK (row_format IN (1, 2));
ALTER TABLE naboom.audit_seal ALTER COLUMN row_format SET DEFAULT 2;
COMMENT ON COLUMN naboom.audit_seal.row_format IS
	'1: row_hashes are SHA-256 of naboom.audit_row_text (seals before 0.5.0); 2: of naboom.audit_row_hash, which anonymisation preserves';

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

CREATE FUNCTION naboom.audit_redact_json(j jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'naboom_audit_redact_json' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION naboom.audit_redact_json(jsonb) IS
	'An audit row''s JSON (row_key, old_values, new_values, detail) with the value of every key that can hold personal data set to null: what is kept is a fixed list of workflow, time and reference keys (src/audit_hash.c). Applying it twice changes nothing';

CREATE FUNCTION naboom.audit_personal_digest(a naboom.audit_log) RETURNS bytea
AS 'MODULE_PATHNAME', 'naboom_audit_personal_digest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION naboom.audit_personal_digest(naboom.audit_log) IS
	'SHA-256 of the fields of an audit row that can identify a person (row key, old and new values, actor, client address, user agent, request id, detail): what anonymising keeps in personal_digest';

CREATE FUNCTION naboom.audit_row_hash(a naboom.audit_log) RETURNS bytea
AS 'MODULE_PATHNAME', 'naboom_audit_row_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION naboom.audit_row_hash(naboom.audit_log) IS
	'Format-2 hash of an audit row: SHA-256 of its core fields, of the SHA-256 of its personal fields (personal_digest once anonymised) and of its anonymised JSON. Anonymising a row leaves it unchanged; any other change alters it';

------------------------------------------------------------------------------
-- Sealing and verifying with format 2 and expired months
------------------------------------------------------------------------------
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
		SELECT * INTO before FROM naboom.audit_seal x WHERE x.seal_id < s.seal_id ORDER BY x.seal_id DESC LIMIT 1;
		IF before.seal_id IS NULL THEN
			-- The first seal left: the start of the chain, or the seal after
			-- the last one retired with its months.
			IF NOT coalesce((s.prev_hash = '\x'::bytea AND s.xid_from = '0'::xid8 AND anchor.anchor_seal_id IS NULL)
				OR (anchor.anchor_seal_id = s.seal_id - 1 AND anchor.anchor_hash = s.prev_hash
					AND anchor.anchor_xid_to = s.xid_from), false) THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
					format('The seal before %s is missing or changed.', s.seal_id);
			END IF;
		ELSIF before.seal_id <> s.seal_id - 1 OR before.seal_hash <> s.prev_hash OR before.xid_to <> s.xid_from THEN
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

------------------------------------------------------------------------------
-- C: retention and erasure (src/retention.c, src/erasure.c)
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

-- Alert-area changes made by retention or erasure are not the member's.
CREATE OR REPLACE FUNCTION naboom.rate_limit_subscription() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.retention_active() THEN
		RETURN coalesce(NEW, OLD);
	END IF;
	PERFORM naboom.rate_limit(coalesce(NEW.community_id, OLD.community_id), naboom.current_actor(), 'subscription');
	RETURN coalesce(NEW, OLD);
END
$$;

CREATE FUNCTION naboom.retention_report(run_id bigint DEFAULT NULL)
RETURNS SETOF naboom.retention_result
LANGUAGE sql STABLE AS $$
	SELECT r.* FROM naboom.retention_result r
	WHERE r.run_id = coalesce(retention_report.run_id, (SELECT max(x.run_id) FROM naboom.retention_run x))
	ORDER BY r.step
$$;
COMMENT ON FUNCTION naboom.retention_report(bigint) IS 'What a retention run did, step by step (the latest run by default)';

------------------------------------------------------------------------------
-- Scheduling: the retention job joins the others
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION naboom.schedule_jobs(OUT job text, OUT schedule text, OUT command text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	j record;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
		PERFORM naboom.fail('55000', 'naboom.pg_cron_missing', 'pg_cron is not installed in this database',
			format('naboom''s jobs (escalation every minute, audit sealing, partition maintenance, daily retention) run from pg_cron, which database "%s" does not have.',
				current_database()),
			format('Install postgresql-15-cron, set shared_preload_libraries = ''pg_cron,naboom'' and cron.database_name = ''%s'', restart, run CREATE EXTENSION pg_cron, then call naboom.schedule_jobs() again.',
				current_database()));
	END IF;
	FOR j IN
		SELECT * FROM (VALUES
			('naboom-escalation', '* * * * *', 'SELECT naboom.run_escalation()'),
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
	'Register naboom''s jobs with pg_cron (idempotently, by job name): escalation and audit sealing every minute, event publishing every minute (a fallback for when the background writer is not running), audit partitions daily, retention daily at 02:41; naboom.pg_cron_missing (55000) without pg_cron';

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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
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
		PERFORM naboom.require_role((SELECT x FROM naboom.community x WHERE x.community_id = i.community_id),
			actor, 'resident');
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
COMMENT ON TYPE naboom_api.my_data IS 'Everything naboom holds about a person (export_my_data): data has one key per kind of row';

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
				'categories', s.categories, 'min_priority', s.min_priority, 'created_at', s.created_at)
				ORDER BY s.subscription_id), '[]')
			FROM naboom.subscription s JOIN naboom.community c USING (community_id) WHERE s.user_ref = me),
		'alerts', (SELECT coalesce(jsonb_agg(jsonb_build_object('community', c.slug, 'reference', i.reference,
				'reason', a.reason, 'distance_m', a.distance_m, 'escalation_level', a.escalation_level,
				'created_at', a.created_at) ORDER BY a.alert_id), '[]')
			FROM naboom.alert a
			JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
			JOIN naboom.community c ON c.community_id = a.community_id
			WHERE a.user_ref = me),
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
			FROM (SELECT x.* FROM naboom.audit_log x WHERE x.actor = me
				UNION
				SELECT x.* FROM naboom.audit_log x WHERE x.row_key ? 'user_ref' AND x.row_key->>'user_ref' = me) a)
	) INTO doc;
	PERFORM naboom.audit_access(NULL, NULL, 'export_my_data',
		jsonb_build_object('count', jsonb_array_length(doc->'reports')));
	RETURN (me, now(), doc)::naboom_api.my_data;
END
$$;
COMMENT ON FUNCTION naboom_api.export_my_data() IS
	'Everything naboom holds about the caller, in every community, as one JSON document: memberships (profile), reports, incidents assigned to them, their timeline entries and deleted notes, alert areas, alerts, positions, legal holds they placed, and the audit entries by or about them. The export itself is audited (READ)';

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

------------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------------
SELECT naboom.audit_table('naboom.retention_policy');
SELECT naboom.audit_table('naboom.community_retention');
SELECT naboom.audit_table('naboom.legal_hold');
SELECT naboom.audit_table('naboom.deleted_note');

REVOKE ALL ON naboom.retention_policy, naboom.community_retention, naboom.retention_effective, naboom.legal_hold,
	naboom.deleted_note, naboom.retention_run, naboom.retention_result, naboom.retention_state,
	naboom.audit_expiry, naboom.audit_seal_expired FROM PUBLIC;
ALTER TABLE naboom.community_retention ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.legal_hold ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.deleted_note ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON PROCEDURE naboom.run_retention(boolean, timestamptz, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION
	naboom.erase_member(text, timestamptz), naboom.retention_report(bigint), naboom.retention_active(),
	naboom.touch_member(bigint, text), naboom.set_legal_hold(text, text, boolean),
	naboom.audit_redact_json(jsonb), naboom.audit_personal_digest(naboom.audit_log), naboom.audit_row_hash(naboom.audit_log),
	naboom_api.retention_policies(text), naboom_api.set_retention(text, text, interval),
	naboom_api.place_legal_hold(text, text), naboom_api.lift_legal_hold(text, text),
	naboom_api.delete_note(text, integer), naboom_api.export_my_data(), naboom_api.erase_my_data()
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.retention_policies(text), naboom_api.set_retention(text, text, interval),
	naboom_api.place_legal_hold(text, text), naboom_api.lift_legal_hold(text, text),
	naboom_api.delete_note(text, integer), naboom_api.export_my_data(), naboom_api.erase_my_data()
	TO naboom_user, naboom_service;

SELECT pg_catalog.pg_extension_config_dump('naboom.community_retention', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.legal_hold', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.deleted_note', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_run', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.retention_result', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_expiry', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.audit_seal_expired', '');

SELECT naboom.pin_search_paths();

-- Tell PostgREST to reload its schema cache.
NOTIFY pgrst, 'reload schema';
