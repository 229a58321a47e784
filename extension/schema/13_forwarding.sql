------------------------------------------------------------------------------
-- Forwarding to the authorities (0.7.0, issue 16): a transactional outbox.
--
-- Each community lists the authorities it works with (SAPS, the ambulance
-- service, the municipality) and rules that say which incidents go to which
-- authority, and when: at report, at verification, or when a moderator asks
-- (forward_incident).  A rule that fires writes a naboom.forwarding row in
-- the transaction of the change that fired it (the incident's INSERT, its
-- move to verified, the moderator's request), so nothing is forwarded for a
-- transaction that rolls back.  The integrator's worker (naboom_service;
-- tools/naboom-forwarder is one) claims due rows with a lease, POSTs each to
-- the authority and reports delivered or failed; the authority's updates
-- come back with authority_update.
--
-- The rules are matched by SQL triggers, not in the C workflow trigger: a
-- rule is data (categories, areas, priorities), matching it is one indexed
-- query on a tiny table, and the triggers' WHEN clauses keep every incident
-- no rule matches out of PL/pgSQL after the first lookup (bench: report
-- cost with and without a matching rule).
------------------------------------------------------------------------------

-- Added here, after the columns of earlier concerns (an upgrade adds it in
-- the same place).
ALTER TABLE naboom.incident ADD COLUMN requires_authority boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN naboom.incident.requires_authority IS 'A forwarding rule of its community sends it to an authority (13_forwarding: set when it is reported or its category, place or priority changes)';

CREATE TABLE naboom.authority (
	community_id bigint NOT NULL REFERENCES naboom.community ON DELETE CASCADE,
	authority_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
	name_en text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 120),
	name_af text NOT NULL CHECK (length(name_af) BETWEEN 1 AND 120),
	kind text NOT NULL CHECK (kind IN ('police', 'ambulance', 'fire', 'municipality', 'security', 'other')),
	endpoint text NOT NULL CHECK (endpoint ~ '^https?://[^\s]+$' AND length(endpoint) <= 2000),
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, code)
);

COMMENT ON TABLE naboom.authority IS 'An authority a community forwards incidents to (SAPS, the ambulance service, the municipality), named in English and Afrikaans';

COMMENT ON COLUMN naboom.authority.endpoint IS 'Where the integrator delivers: the URL the forwarding worker POSTs each forwarding to (http or https)';

COMMENT ON COLUMN naboom.authority.is_active IS 'Inactive authorities get no new forwardings; what is queued is still delivered';

CREATE TABLE naboom.forwarding_rule (
	community_id bigint NOT NULL,
	rule_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	code text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
	authority_code text NOT NULL,
	fire_on text NOT NULL CHECK (fire_on IN ('report', 'verification', 'request')),
	categories text[] NOT NULL CHECK (cardinality(categories) >= 1),
	areas bigint[] CHECK (cardinality(areas) >= 1),
	priorities naboom.priority[] CHECK (cardinality(priorities) >= 1),
	is_active boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (community_id, code),
	FOREIGN KEY (community_id, authority_code) REFERENCES naboom.authority ON DELETE CASCADE ON UPDATE CASCADE
);

COMMENT ON TABLE naboom.forwarding_rule IS 'Which incidents go to which authority, and when: incidents of these categories (and, if given, these areas and priorities) are forwarded at report, at verification, or only when a moderator asks (request: the incident is marked requires_authority)';

COMMENT ON COLUMN naboom.forwarding_rule.areas IS 'area_ids of the community; NULL: anywhere';

COMMENT ON COLUMN naboom.forwarding_rule.priorities IS 'NULL: any priority';

CREATE INDEX forwarding_rule_community_idx ON naboom.forwarding_rule (community_id) WHERE is_active;

CREATE INDEX forwarding_rule_authority_idx ON naboom.forwarding_rule (community_id, authority_code);

CREATE TABLE naboom.forwarding (
	forwarding_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	authority_id bigint NOT NULL REFERENCES naboom.authority (authority_id) ON DELETE CASCADE,
	seq integer NOT NULL CHECK (seq >= 1),
	reason text NOT NULL CHECK (reason IN ('report', 'verification', 'request')),
	rule_id bigint,
	note text CHECK (length(note) <= 4000),
	requested_by text,
	payload_version integer NOT NULL DEFAULT 1,
	incident_version integer NOT NULL,
	idempotency_key text NOT NULL UNIQUE,
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed', 'dead')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz,
	external_id text CHECK (length(external_id) <= 200),
	last_error text CHECK (length(last_error) <= 2000),
	created_at timestamptz NOT NULL DEFAULT now(),
	delivered_at timestamptz,
	UNIQUE (community_id, incident_id, authority_id, seq),
	FOREIGN KEY (community_id, incident_id) REFERENCES naboom.incident ON DELETE CASCADE
);

COMMENT ON TABLE naboom.forwarding IS 'The outbox: one row per incident to deliver to an authority, written in the transaction that fired it. Delivered at least once by a worker (claim_forwardings), in seq order per incident and authority; the payload is built at claim time (naboom.forwarding_payload), so the outbox holds no copy of personal data';

COMMENT ON COLUMN naboom.forwarding.seq IS 'Order of the forwardings of one incident to one authority: a later one is never handed out while an earlier one is pending, in flight or failed';

COMMENT ON COLUMN naboom.forwarding.payload_version IS 'Version of the payload format (naboom.forwarding_payload) the authority receives';

COMMENT ON COLUMN naboom.forwarding.incident_version IS 'The incident''s version when the forwarding was written';

COMMENT ON COLUMN naboom.forwarding.idempotency_key IS 'Sent with every attempt (Idempotency-Key header): the authority recognises a repeat';

COMMENT ON COLUMN naboom.forwarding.state IS 'pending: due at next_attempt_at; in_flight: claimed until lease_until; delivered; failed: retried at next_attempt_at; dead: gave up after naboom.forwarding_max_attempts';

COMMENT ON COLUMN naboom.forwarding.next_attempt_at IS 'When the row is next due: the backoff of a failed row, the end of an in-flight row''s lease (a crashed worker''s rows come back then)';

COMMENT ON COLUMN naboom.forwarding.external_id IS 'The authority''s id for it (a SAPS case number), from the delivery or a later authority_update';

-- At most one automatic forwarding per incident, authority and moment: two
-- rules naming one authority, or a second verification after a reopen, do
-- not send it twice.  Requests are the moderator's to repeat.
CREATE UNIQUE INDEX forwarding_once ON naboom.forwarding (community_id, incident_id, authority_id, reason)
	WHERE reason <> 'request';

-- What claim_forwardings walks, in its order: undelivered rows by due time
-- (a LIMIT stops the walk; no sort of every due row).
CREATE INDEX forwarding_due_idx ON naboom.forwarding (next_attempt_at, forwarding_id)
	WHERE state IN ('pending', 'in_flight', 'failed');

-- The ordering check: earlier forwardings of one incident to one authority.
CREATE INDEX forwarding_incident_idx ON naboom.forwarding (community_id, incident_id, authority_id, seq)
	WHERE state IN ('pending', 'in_flight', 'failed');

CREATE INDEX forwarding_external_idx ON naboom.forwarding (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE naboom.authority_update (
	authority_id bigint NOT NULL REFERENCES naboom.authority (authority_id) ON DELETE CASCADE,
	update_id text NOT NULL CHECK (length(update_id) BETWEEN 1 AND 200),
	community_id bigint NOT NULL,
	incident_id bigint NOT NULL,
	external_id text NOT NULL,
	status text,
	note text,
	occurred_at timestamptz,
	received_at timestamptz NOT NULL DEFAULT now(),
	timeline_seq integer,
	moved_to text,
	PRIMARY KEY (authority_id, update_id),
	FOREIGN KEY (community_id, incident_id) REFERENCES naboom.incident ON DELETE CASCADE
);

COMMENT ON TABLE naboom.authority_update IS 'Updates an authority sent back (authority_update), once per update_id: a repeat returns what the first did';

COMMENT ON COLUMN naboom.authority_update.moved_to IS 'The status the update moved the incident to, when the workflow allows the authority that transition (naboom.transition.allowed has authority)';

CREATE INDEX authority_update_incident_idx ON naboom.authority_update (community_id, incident_id);

------------------------------------------------------------------------------
-- API types
------------------------------------------------------------------------------
CREATE TYPE naboom_api.authority AS (
	community text,
	code text,
	name_en text,
	name_af text,
	kind text,
	endpoint text,
	is_active boolean,
	created_at timestamptz
);

COMMENT ON TYPE naboom_api.authority IS 'An authority of a community that incidents are forwarded to';

CREATE TYPE naboom_api.forwarding_rule AS (
	community text,
	code text,
	authority text,
	fire_on text,
	categories text[],
	areas text[],
	priorities text[],
	is_active boolean
);

COMMENT ON TYPE naboom_api.forwarding_rule IS 'A forwarding rule: incidents of these categories (areas, priorities: NULL for any) go to the authority at report, at verification, or on request';

CREATE TYPE naboom_api.forwarding AS (
	id bigint,
	community text,
	reference text,
	authority text,
	authority_en text,
	authority_af text,
	seq integer,
	reason text,
	state text,
	attempts integer,
	next_attempt_at timestamptz,
	external_id text,
	last_error text,
	created_at timestamptz,
	delivered_at timestamptz
);

COMMENT ON TYPE naboom_api.forwarding IS 'A forwarding of an incident to an authority and its delivery state';

CREATE TYPE naboom_api.forwarding_claim AS (
	id bigint,
	authority text,
	community text,
	reference text,
	seq integer,
	endpoint text,
	idempotency_key text,
	attempt integer,
	lease_until timestamptz,
	payload jsonb
);

COMMENT ON TYPE naboom_api.forwarding_claim IS 'A forwarding handed to a worker: POST payload to endpoint with the Idempotency-Key header, then call forwarding_delivered or forwarding_failed before lease_until';

CREATE TYPE naboom_api.authority_update_result AS (
	reference text,
	authority text,
	external_id text,
	status text,
	timeline_seq integer,
	moved_to text,
	repeated boolean
);

COMMENT ON TYPE naboom_api.authority_update_result IS 'What authority_update did: the timeline entry it wrote, the status it moved the incident to (NULL: none), and whether it was a repeat of an update already recorded';

------------------------------------------------------------------------------
-- Internals
------------------------------------------------------------------------------
CREATE FUNCTION naboom.append_event(community_id bigint, incident_id bigint, topic text, is_public boolean,
	payload jsonb) RETURNS void
	AS 'MODULE_PATHNAME', 'naboom_append_event'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.append_event(bigint, bigint, text, boolean, jsonb) IS
	'Write one event to the stream in the current transaction (as the C triggers do), for naboom''s SQL code';

CREATE FUNCTION naboom.forwarding_out(f naboom.forwarding) RETURNS naboom_api.forwarding
LANGUAGE plpgsql STABLE AS $$
-- PL/pgSQL, not SQL: its plan is kept for the session (a SQL function's is
-- made again for every statement that calls it: per delivered forwarding).
DECLARE
	r naboom_api.forwarding;
BEGIN
	SELECT f.forwarding_id, c.slug, i.reference, a.code, a.name_en, a.name_af, f.seq, f.reason, f.state,
		f.attempts, f.next_attempt_at, f.external_id, f.last_error, f.created_at, f.delivered_at
	INTO r
	FROM naboom.authority a
	JOIN naboom.community c ON c.community_id = a.community_id
	JOIN naboom.incident i ON i.community_id = f.community_id AND i.incident_id = f.incident_id
	WHERE a.community_id = f.community_id AND a.authority_id = f.authority_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.forwarding_out(naboom.forwarding) IS 'A forwarding as the API returns it';

CREATE FUNCTION naboom.authority_by_code(c naboom.community, code text) RETURNS naboom.authority
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a naboom.authority;
BEGIN
	SELECT * INTO a FROM naboom.authority x WHERE x.community_id = c.community_id AND x.code = lower(authority_by_code.code);
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_authority',
			format('unknown authority "%s" in community "%s"', left(authority_by_code.code, 40), c.slug),
			'Known authorities: ' || (SELECT coalesce(string_agg(x.code, ', ' ORDER BY x.code), 'none')
				FROM naboom.authority x WHERE x.community_id = c.community_id) || '.',
			'An admin adds authorities with upsert_authority.');
	END IF;
	RETURN a;
END
$$;

COMMENT ON FUNCTION naboom.authority_by_code(naboom.community, text) IS 'The community''s authority with this code, or naboom.unknown_authority (PT404)';

CREATE FUNCTION naboom.require_service(what text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF naboom.current_actor() IS NOT NULL OR NOT naboom.is_service() THEN
		PERFORM naboom.fail('42501', 'naboom.service_only', format('only the naboom service calls %s', what),
			'Forwarding delivery is the integrator''s: naboom_service without JWT claims.',
			'Run the forwarding worker (tools/naboom-forwarder) as naboom_service.');
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.require_service(text) IS 'naboom.service_only (42501) unless the caller acts as the naboom service';

-- The payload the authority receives, built when the row is claimed (so the
-- outbox holds no copy of personal data, and erasure or retention of the
-- incident covers it).  One function, so that what goes out is in one place.
CREATE FUNCTION naboom.forwarding_payload(f naboom.forwarding) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
-- PL/pgSQL, not SQL: its plan is kept for the session (a SQL function's is
-- made again for every claim_forwardings call).
BEGIN
	RETURN (SELECT jsonb_build_object(
		'payload_version', f.payload_version,
		'idempotency_key', f.idempotency_key,
		'forwarding', jsonb_build_object('id', f.forwarding_id, 'seq', f.seq, 'reason', f.reason,
			'note', f.note, 'created_at', f.created_at, 'incident_version', f.incident_version),
		'authority', jsonb_build_object('code', a.code, 'name_en', a.name_en, 'name_af', a.name_af, 'kind', a.kind),
		'community', jsonb_build_object('slug', c.slug, 'name', c.name),
		'incident', jsonb_build_object(
			'reference', i.reference, 'kind', i.kind, 'category', i.category_code,
			'category_en', cat.name_en, 'category_af', cat.name_af, 'sensitive', cat.is_sensitive,
			'title', i.title, 'description', i.description, 'priority', i.priority, 'status', i.status,
			'is_public', i.is_public,
			'lat', ST_Y(i.location), 'lon', ST_X(i.location), 'accuracy_m', i.accuracy_m,
			'address', i.address, 'area', ar.code, 'area_en', ar.name_en, 'area_af', ar.name_af,
			'created_at', i.created_at, 'updated_at', i.updated_at, 'version', i.version),
		'reporter', CASE WHEN rep.user_ref IS NOT NULL THEN
			jsonb_build_object('name', rep.display_name, 'phone', rep.phone, 'language', rep.language) END,
		-- The evidence (13_evidence.sql): references to the objects, for the
		-- integrator to fetch or sign for the authority; never a hidden one.
		'attachments', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.attachment_id,
				'object_key', x.object_key, 'content_type', x.content_type, 'bytes', x.bytes, 'sha256', x.sha256,
				'caption', x.caption, 'taken_at', x.taken_at, 'created_at', x.created_at)
				ORDER BY x.created_at, x.attachment_id), '[]')
			FROM naboom.attachment x
			WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.hidden_at IS NULL))
	FROM naboom.incident i
	JOIN naboom.authority a ON a.community_id = i.community_id AND a.authority_id = f.authority_id
	JOIN naboom.community c ON c.community_id = i.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	LEFT JOIN naboom.area ar ON ar.community_id = i.community_id AND ar.area_id = i.area_id
	LEFT JOIN naboom.member rep ON rep.community_id = i.community_id AND rep.user_ref = i.reporter_ref
	WHERE i.community_id = f.community_id AND i.incident_id = f.incident_id);
END
$$;

COMMENT ON FUNCTION naboom.forwarding_payload(naboom.forwarding) IS
	'The JSON an authority receives for a forwarding (payload_version 1): the incident with its exact location, its category and area, the reporter''s name and phone for a statement, the moderator''s note, the references of its attachments (object key, content type, size, SHA-256, caption, when taken; hidden ones left out). Only the naboom service sees it (claim_forwardings)';

-- Writes one forwarding (or nothing, for an automatic one already written)
-- and its forwarding.created event.  The caller holds the incident's row
-- lock (the incident's own write, or find_incident(lock)), so seq is taken
-- without a race.  It takes keys, not rows: on a distributed naboom the
-- trigger calling it runs on a shard, whose NEW is of the shard's row type.
CREATE FUNCTION naboom.enqueue_forwarding(community_id bigint, incident_id bigint, reference text,
	incident_version integer, authority_id bigint, authority_code text, moment text, rule_ref bigint,
	note text, actor text) RETURNS naboom.forwarding
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	f naboom.forwarding;
	n integer;
BEGIN
	-- At report the incident is new (this runs in its AFTER INSERT trigger):
	-- nothing was forwarded before, so no lookup.  An automatic forwarding
	-- is written once per moment (forwarding_once); the incident's row lock
	-- makes the check and the insert one step (Citus cannot name a partial
	-- unique index in ON CONFLICT on a shard, so it is not used).
	IF moment = 'report' THEN
		n := 1;
	ELSE
		IF moment <> 'request' AND EXISTS (SELECT 1 FROM naboom.forwarding x
				WHERE x.community_id = community_id AND x.incident_id = incident_id
					AND x.authority_id = authority_id AND x.reason = moment) THEN
			RETURN NULL;
		END IF;
		SELECT coalesce(max(x.seq), 0) + 1 INTO n FROM naboom.forwarding x
		WHERE x.community_id = community_id AND x.incident_id = incident_id AND x.authority_id = authority_id;
	END IF;
	INSERT INTO naboom.forwarding (community_id, incident_id, authority_id, seq, reason, rule_id, note,
		requested_by, incident_version, idempotency_key)
	VALUES (community_id, incident_id, authority_id, n, moment, rule_ref, note, actor, incident_version,
		reference || '.' || authority_code || '.' || n)
	RETURNING * INTO f;
	PERFORM naboom.append_event(community_id, incident_id, 'forwarding.created', false,
		jsonb_build_object('authority', authority_code, 'forwarding', f.forwarding_id, 'reason', moment));
	RETURN f;
END
$$;

COMMENT ON FUNCTION naboom.enqueue_forwarding(bigint, bigint, text, integer, bigint, text, text, bigint, text, text) IS
	'Write a forwarding of the incident to the authority (caller holds the incident''s row lock) and its forwarding.created event; NULL when this automatic forwarding was already written';

-- The trigger functions are SECURITY DEFINER: a role that writes incidents
-- directly (a DBA's operator role) needs no rights on the rules or the outbox.
-- BEFORE INSERT, and BEFORE UPDATE of what a rule matches on: marks the
-- incident requires_authority when an active rule of an active authority
-- matches it.  Runs after incident_guard (trigger order is by name), which
-- has set area_id from the location.
CREATE FUNCTION naboom.incident_needs_authority() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.restoring() THEN
		RETURN NEW;
	END IF;
	NEW.requires_authority := NEW.requires_authority AND TG_OP = 'UPDATE' OR EXISTS (
		SELECT 1 FROM naboom.forwarding_rule r
		JOIN naboom.authority a ON a.community_id = r.community_id AND a.code = r.authority_code
		WHERE r.community_id = NEW.community_id AND r.is_active AND a.is_active
			AND NEW.category_code = ANY (r.categories)
			AND (r.areas IS NULL OR NEW.area_id = ANY (r.areas))
			AND (r.priorities IS NULL OR NEW.priority = ANY (r.priorities)));
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION naboom.incident_needs_authority() IS
	'BEFORE INSERT or UPDATE of category, location, area or priority on naboom.incident: sets requires_authority when a forwarding rule matches';

-- AFTER INSERT (at report) and AFTER UPDATE to verified (at verification),
-- only for incidents marked requires_authority (the triggers' WHEN): writes
-- the forwardings of the matching rules, in the same transaction.
CREATE FUNCTION naboom.incident_outbox() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	moment text := CASE WHEN TG_OP = 'INSERT' THEN 'report' ELSE 'verification' END;
	r record;
BEGIN
	IF naboom.restoring() THEN
		RETURN NULL;
	END IF;
	FOR r IN
		SELECT DISTINCT ON (a.authority_id) a.authority_id, a.code, x.rule_id
		FROM naboom.forwarding_rule x
		JOIN naboom.authority a ON a.community_id = x.community_id AND a.code = x.authority_code
		WHERE x.community_id = NEW.community_id AND x.is_active AND a.is_active AND x.fire_on = moment
			AND NEW.category_code = ANY (x.categories)
			AND (x.areas IS NULL OR NEW.area_id = ANY (x.areas))
			AND (x.priorities IS NULL OR NEW.priority = ANY (x.priorities))
		ORDER BY a.authority_id, x.rule_id
	LOOP
		PERFORM naboom.enqueue_forwarding(NEW.community_id, NEW.incident_id, NEW.reference, NEW.version,
			r.authority_id, r.code, moment, r.rule_id, NULL, NEW.updated_by);
	END LOOP;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.incident_outbox() IS
	'AFTER INSERT, and AFTER UPDATE to verified, on naboom.incident marked requires_authority: writes the forwardings of the matching rules (fire_on report or verification) in the same transaction';

CREATE TRIGGER incident_needs_authority BEFORE INSERT OR UPDATE OF category_code, location, area_id, priority
	ON naboom.incident FOR EACH ROW EXECUTE FUNCTION naboom.incident_needs_authority();

CREATE TRIGGER incident_outbox AFTER INSERT ON naboom.incident
	FOR EACH ROW WHEN (NEW.requires_authority) EXECUTE FUNCTION naboom.incident_outbox();

CREATE TRIGGER incident_outbox_verified AFTER UPDATE OF status ON naboom.incident
	FOR EACH ROW WHEN (NEW.requires_authority AND NEW.status = 'verified' AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION naboom.incident_outbox();

-- A dead letter: the forwarding.dead event and an alert to the community's
-- moderators and admins (an alert they already had for the incident comes
-- back unread, with a new id, so my_alerts(after_id) shows it).
CREATE FUNCTION naboom.forwarding_dead(f naboom.forwarding) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	code text := (SELECT a.code FROM naboom.authority a WHERE a.community_id = f.community_id AND a.authority_id = f.authority_id);
BEGIN
	PERFORM naboom.append_event(f.community_id, f.incident_id, 'forwarding.dead', false,
		jsonb_build_object('authority', code, 'forwarding', f.forwarding_id, 'attempts', f.attempts));
	INSERT INTO naboom.alert AS x (community_id, incident_id, user_ref, reason)
	SELECT m.community_id, f.incident_id, m.user_ref, 'forwarding'
	FROM naboom.member m
	WHERE m.community_id = f.community_id AND m.role >= 'moderator'
	ON CONFLICT ON CONSTRAINT alert_once DO UPDATE
		SET alert_id = DEFAULT, reason = 'forwarding', seen_at = NULL, created_at = EXCLUDED.created_at, distance_m = NULL,
			subscription_id = NULL;
END
$$;

COMMENT ON FUNCTION naboom.forwarding_dead(naboom.forwarding) IS
	'A forwarding gave up: the forwarding.dead event and an alert (reason forwarding) to the community''s moderators and admins';

------------------------------------------------------------------------------
-- API: authorities and rules (admins of the community, or the service)
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.upsert_authority(community text, code text, name_en text, name_af text,
	kind text, endpoint text, is_active boolean DEFAULT true)
RETURNS naboom_api.authority
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	v_code text := lower(naboom.clean_text('code', code, true, 40));
	v_en text := naboom.clean_text('name_en', name_en, true, 120);
	v_af text := naboom.clean_text('name_af', name_af, true, 120);
	v_kind text := lower(naboom.clean_text('kind', kind, true, 40));
	v_endpoint text := naboom.clean_text('endpoint', endpoint, true, 2000);
	a naboom.authority;
	created boolean;
BEGIN
	PERFORM naboom.require_role(c, actor, 'admin');
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	IF v_code !~ '^[a-z][a-z0-9_]{0,39}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_code', format('invalid authority code "%s"', v_code),
			'An authority code is a lower-case letter followed by letters, digits and _.', 'Use something like saps.');
	END IF;
	IF v_kind NOT IN ('police', 'ambulance', 'fire', 'municipality', 'security', 'other') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_authority_kind', format('unknown authority kind "%s"', left(v_kind, 40)),
			'Kinds: police, ambulance, fire, municipality, security, other.', 'Pick one of those.');
	END IF;
	IF v_endpoint !~ '^https?://[^\s]+$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_endpoint', 'endpoint must be an http or https URL',
			format('It is "%s".', left(v_endpoint, 80)), 'Give the URL the forwarding worker POSTs to, e.g. https://intake.example.org/naboom.');
	END IF;
	created := NOT EXISTS (SELECT 1 FROM naboom.authority x WHERE x.community_id = c.community_id AND x.code = v_code);
	INSERT INTO naboom.authority AS x (community_id, code, name_en, name_af, kind, endpoint, is_active)
	VALUES (c.community_id, v_code, v_en, v_af, v_kind, v_endpoint, coalesce(is_active, true))
	ON CONFLICT ON CONSTRAINT authority_pkey DO UPDATE
		SET name_en = EXCLUDED.name_en, name_af = EXCLUDED.name_af, kind = EXCLUDED.kind,
			endpoint = EXCLUDED.endpoint, is_active = EXCLUDED.is_active
	RETURNING * INTO a;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN (c.slug, a.code, a.name_en, a.name_af, a.kind, a.endpoint, a.is_active, a.created_at)::naboom_api.authority;
END
$$;

COMMENT ON FUNCTION naboom_api.upsert_authority(text, text, text, text, text, text, boolean) IS
	'Create or change an authority the community forwards incidents to (admins, or the service): code, names in English and Afrikaans, kind (police, ambulance, fire, municipality, security, other), the endpoint URL the forwarding worker POSTs to. 201 when created. Rate limited (setup)';

CREATE FUNCTION naboom_api.upsert_forwarding_rule(community text, code text, authority text, categories text[],
	fire_on text DEFAULT 'report', areas text[] DEFAULT NULL, priorities text[] DEFAULT NULL,
	is_active boolean DEFAULT true)
RETURNS naboom_api.forwarding_rule
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	c naboom.community := naboom.community_by_slug(community);
	v_code text := lower(naboom.clean_text('code', code, true, 40));
	a naboom.authority := naboom.authority_by_code(c, authority);
	v_fire text := lower(coalesce(fire_on, 'report'));
	v_cats text[];
	v_areas bigint[];
	v_prios naboom.priority[];
	bad text;
	r naboom.forwarding_rule;
	created boolean;
BEGIN
	PERFORM naboom.require_role(c, actor, 'admin');
	PERFORM naboom.rate_limit(c.community_id, actor, 'setup');
	IF v_code !~ '^[a-z][a-z0-9_]{0,39}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_code', format('invalid rule code "%s"', v_code),
			'A rule code is a lower-case letter followed by letters, digits and _.', 'Use something like theft_to_saps.');
	END IF;
	IF v_fire NOT IN ('report', 'verification', 'request') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_fire_on', format('unknown moment "%s"', left(fire_on, 40)),
			'A rule fires at report, at verification, or on request (a moderator calls forward_incident).',
			'Use report, verification or request.');
	END IF;
	IF categories IS NULL OR cardinality(categories) = 0 THEN
		PERFORM naboom.fail('22023', 'naboom.categories_required', 'a forwarding rule needs at least one category',
			'categories is empty.', 'Name the categories whose incidents go to this authority.');
	END IF;
	SELECT array_agg(DISTINCT lower(x)) INTO v_cats FROM unnest(categories) x;
	SELECT string_agg(x, ', ') INTO bad FROM unnest(v_cats) x
	WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.category k WHERE k.community_id = c.community_id AND k.code = x);
	IF bad IS NOT NULL OR array_position(v_cats, NULL) IS NOT NULL THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_category', format('unknown categories in community "%s": %s', c.slug, coalesce(bad, 'NULL')),
			'Known categories: ' || (SELECT coalesce(string_agg(k.code, ', ' ORDER BY k.code), 'none') FROM naboom.category k
				WHERE k.community_id = c.community_id) || '.', 'Pick known categories.');
	END IF;
	IF areas IS NOT NULL THEN
		IF cardinality(areas) = 0 THEN
			v_areas := NULL;
		ELSE
			SELECT string_agg(coalesce(x, 'NULL'), ', ') INTO bad FROM unnest(areas) x
			WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.area k WHERE k.community_id = c.community_id AND k.code = lower(x));
			IF bad IS NOT NULL THEN
				PERFORM naboom.fail('22023', 'naboom.unknown_area', format('unknown areas in community "%s": %s', c.slug, bad),
					'areas are codes of the community''s areas.', 'Check the area codes, or leave areas out for anywhere.');
			END IF;
			SELECT array_agg(DISTINCT k.area_id) INTO v_areas FROM naboom.area k
			WHERE k.community_id = c.community_id AND k.code = ANY (SELECT lower(x) FROM unnest(areas) x);
		END IF;
	END IF;
	IF priorities IS NOT NULL AND cardinality(priorities) > 0 THEN
		IF EXISTS (SELECT 1 FROM unnest(priorities) x WHERE x IS NULL OR lower(x) NOT IN ('low', 'medium', 'high', 'critical')) THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_priority', 'unknown priority in priorities',
				'Priorities are low, medium, high and critical.', 'Pick from those, or leave priorities out for any.');
		END IF;
		SELECT array_agg(DISTINCT lower(x)::naboom.priority) INTO v_prios FROM unnest(priorities) x;
	END IF;
	created := NOT EXISTS (SELECT 1 FROM naboom.forwarding_rule x WHERE x.community_id = c.community_id AND x.code = v_code);
	INSERT INTO naboom.forwarding_rule AS x (community_id, code, authority_code, fire_on, categories, areas, priorities, is_active)
	VALUES (c.community_id, v_code, a.code, v_fire, v_cats, v_areas, v_prios, coalesce(is_active, true))
	ON CONFLICT ON CONSTRAINT forwarding_rule_pkey DO UPDATE
		SET authority_code = EXCLUDED.authority_code, fire_on = EXCLUDED.fire_on, categories = EXCLUDED.categories,
			areas = EXCLUDED.areas, priorities = EXCLUDED.priorities, is_active = EXCLUDED.is_active
	RETURNING * INTO r;
	IF created THEN
		PERFORM set_config('response.status', '201', true);
	END IF;
	RETURN (c.slug, r.code, r.authority_code, r.fire_on, r.categories,
		(SELECT array_agg(k.code ORDER BY k.code) FROM naboom.area k WHERE k.community_id = c.community_id AND k.area_id = ANY (r.areas)),
		r.priorities::text[], r.is_active)::naboom_api.forwarding_rule;
END
$$;

COMMENT ON FUNCTION naboom_api.upsert_forwarding_rule(text, text, text, text[], text, text[], text[], boolean) IS
	'Create or change a forwarding rule (admins, or the service): incidents of these categories (optionally only these areas, by code, and priorities) go to the authority at report, at verification, or on request. New incidents a rule matches are marked requires_authority. 201 when created. Rate limited (setup)';

------------------------------------------------------------------------------
-- API: a moderator forwards an incident, and sees its forwardings
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.forward_incident(reference text, authority text, note text DEFAULT NULL)
RETURNS naboom_api.forwarding
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_note text := naboom.clean_text('note', note, false, 4000);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	c naboom.community;
	a naboom.authority;
	fw naboom.forwarding;
BEGIN
	SELECT * INTO c FROM naboom.community x WHERE x.community_id = i.community_id;
	IF actor IS NOT NULL AND coalesce(f.actor_role < 'moderator', true) THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role',
			format('forwarding %s to an authority needs the moderator role', i.reference),
			format('You are %s of %s.', coalesce('a ' || f.actor_role::text, 'not a member'), c.name),
			'Ask a moderator of the community.');
	END IF;
	a := naboom.authority_by_code(c, authority);
	IF NOT a.is_active THEN
		PERFORM naboom.fail('PT409', 'naboom.authority_inactive', format('authority "%s" is not active', a.code),
			'Inactive authorities get no new forwardings.', 'An admin can make it active with upsert_authority.');
	END IF;
	fw := naboom.enqueue_forwarding(i.community_id, i.incident_id, i.reference, i.version, a.authority_id, a.code,
		'request', NULL, v_note, actor);
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.forwarding_out(fw);
END
$$;

COMMENT ON FUNCTION naboom_api.forward_incident(text, text, text) IS
	'Forward an incident to one of its community''s authorities now (moderators and admins, or the service), with an optional note for the authority; delivered after any earlier forwarding of it to that authority. Private and sensitive incidents are forwarded too. 201';

CREATE FUNCTION naboom_api.incident_forwardings(reference text)
RETURNS SETOF naboom_api.forwarding
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
	fw naboom.forwarding;
BEGIN
	IF NOT (actor IS NULL AND naboom.is_service()) AND coalesce(f.actor_role < 'moderator', true) THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role', format('the forwardings of %s are for moderators', i.reference),
			'Moderators and admins of the community see where its incidents were forwarded.', 'Ask a moderator.');
	END IF;
	-- Row by row: on a cluster a query on naboom.forwarding that called
	-- forwarding_out would run it on the worker, with the shard's row type.
	FOR fw IN SELECT x.* FROM naboom.forwarding x
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
		ORDER BY x.authority_id, x.seq
	LOOP
		RETURN NEXT naboom.forwarding_out(fw);
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom_api.incident_forwardings(text) IS
	E'@simpleCollections only\nWhere an incident was forwarded and how delivery stands, per authority in order (moderators and admins of its community, or the service)';

------------------------------------------------------------------------------
-- API: delivery, for the integrator's worker (naboom_service)
------------------------------------------------------------------------------
-- Claims the due forwardings of one community (or, v_comm NULL, of every
-- one) for claim_forwardings: the rows it leased, in no particular order.
CREATE FUNCTION naboom.claim_due_forwardings(v_comm bigint, v_auth text, n integer, lease interval)
RETURNS SETOF naboom.forwarding
LANGUAGE plpgsql VOLATILE
-- (a batch, not the default 1000 rows: claim_forwardings joins each row
-- to its authority and incident by key)
ROWS 10
-- The claim's generic plan is its custom plan (the same index walk); without
-- this it was planned again on every call (about as long as it runs).
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
	RETURN QUERY
	WITH due AS (
		SELECT f.community_id, f.forwarding_id
		FROM naboom.forwarding f
		JOIN naboom.authority a ON a.community_id = f.community_id AND a.authority_id = f.authority_id
		WHERE (v_comm IS NULL OR f.community_id = v_comm) AND (v_auth IS NULL OR a.code = v_auth)
			AND f.state IN ('pending', 'in_flight', 'failed') AND f.next_attempt_at <= now()
			AND NOT EXISTS (SELECT 1 FROM naboom.forwarding e
				WHERE e.community_id = f.community_id AND e.incident_id = f.incident_id
					AND e.authority_id = f.authority_id AND e.seq < f.seq
					AND e.state IN ('pending', 'in_flight', 'failed'))
		ORDER BY f.next_attempt_at, f.forwarding_id
		LIMIT n
		FOR UPDATE OF f SKIP LOCKED
	), claimed AS (
		UPDATE naboom.forwarding f
		SET state = 'in_flight', attempts = f.attempts + 1, lease_until = now() + lease,
			next_attempt_at = now() + lease
		FROM due
		WHERE (v_comm IS NULL OR f.community_id = v_comm)
			AND f.community_id = due.community_id AND f.forwarding_id = due.forwarding_id
		RETURNING f.*
	)
	SELECT x.* FROM claimed x;
END
$$;

COMMENT ON FUNCTION naboom.claim_due_forwardings(bigint, text, integer, interval) IS
	'The claim of claim_forwardings: up to n due forwardings of a community (NULL: of every community) and authority code (NULL: every one), leased, oldest due first, never one behind an undelivered earlier forwarding of its incident to its authority; SKIP LOCKED';

CREATE FUNCTION naboom_api.claim_forwardings(authority text DEFAULT NULL, max_count integer DEFAULT 10,
	lease interval DEFAULT '1 minute')
RETURNS SETOF naboom_api.forwarding_claim
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- The claim's generic plan is its custom plan (the same index walk); without
-- this it was planned again on every call (about as long as it runs).
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 1000);
	v_auth text := lower(authority);
	comms bigint[];
	v_comm bigint;
	k integer;
	fw naboom.forwarding;
	p jsonb;
BEGIN
	PERFORM naboom.require_service('claim_forwardings');
	IF lease IS NULL OR NOT lease BETWEEN '1 second' AND '1 hour' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'lease must be between 1 second and 1 hour',
			format('It is %s.', coalesce(lease::text, 'NULL')), 'Give about twice the time a delivery takes, e.g. 1 minute.');
	END IF;
	IF v_auth IS NOT NULL AND NOT EXISTS (SELECT 1 FROM naboom.authority a WHERE a.code = v_auth) THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_authority', format('no authority "%s" in any community', left(authority, 40)),
			'claim_forwardings takes an authority code, e.g. saps, or NULL for every authority.', 'Check the code.');
	END IF;
	-- Due rows: pending or failed whose time has come, and in-flight rows
	-- whose lease ran out (next_attempt_at is the lease's end).  A row waits
	-- while an earlier forwarding of its incident to its authority is not
	-- yet delivered (or dead).  SKIP LOCKED: two workers take different rows.
	-- On a single node one pass over every community (v_comm NULL).  On a
	-- distributed naboom Citus locks rows only in a statement routed to one
	-- community's shards, so the communities with due rows are found first
	-- (earliest due first, no lock) and claimed one by one, until max_count.
	IF naboom.is_distributed() THEN
		comms := ARRAY(SELECT f.community_id FROM naboom.forwarding f
			JOIN naboom.authority a ON a.community_id = f.community_id AND a.authority_id = f.authority_id
			WHERE (v_auth IS NULL OR a.code = v_auth)
				AND f.state IN ('pending', 'in_flight', 'failed') AND f.next_attempt_at <= now()
			GROUP BY f.community_id ORDER BY min(f.next_attempt_at), f.community_id);
	ELSE
		comms := ARRAY[NULL::bigint];
	END IF;
	FOREACH v_comm IN ARRAY comms LOOP
		IF v_comm IS NULL THEN
			RETURN QUERY
			SELECT x.forwarding_id, a.code, c.slug, i.reference, x.seq, a.endpoint, x.idempotency_key, x.attempts,
				x.lease_until, naboom.forwarding_payload(x)
			FROM naboom.claim_due_forwardings(NULL, v_auth, n, lease) x
			JOIN naboom.authority a ON a.community_id = x.community_id AND a.authority_id = x.authority_id
			JOIN naboom.community c ON c.community_id = x.community_id
			JOIN naboom.incident i ON i.community_id = x.community_id AND i.incident_id = x.incident_id
			ORDER BY x.next_attempt_at, x.forwarding_id;
			GET DIAGNOSTICS k = ROW_COUNT;
		ELSE
			-- On a cluster a query on a distributed table that calls
			-- forwarding_payload would run it on the worker, inside the
			-- shard's query, where it may not query again: it is called
			-- here, row by row, and routes its own query to the community.
			k := 0;
			FOR fw IN SELECT * FROM naboom.claim_due_forwardings(v_comm, v_auth, n, lease) x
				ORDER BY x.next_attempt_at, x.forwarding_id
			LOOP
				p := naboom.forwarding_payload(fw);
				RETURN NEXT ROW(fw.forwarding_id, p #>> '{authority,code}', p #>> '{community,slug}',
					p #>> '{incident,reference}', fw.seq,
					(SELECT a.endpoint FROM naboom.authority a
						WHERE a.community_id = fw.community_id AND a.authority_id = fw.authority_id),
					fw.idempotency_key, fw.attempts, fw.lease_until, p)::naboom_api.forwarding_claim;
				k := k + 1;
			END LOOP;
		END IF;
		n := n - k;
		EXIT WHEN n <= 0;
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom_api.claim_forwardings(text, integer, interval) IS
	E'@simpleCollections only\nHand out up to max_count due forwardings (of one authority code, or every one) to a worker for lease (1 s to 1 h): FOR UPDATE SKIP LOCKED, so workers never share a row; a row whose lease runs out comes back. Never a later forwarding of an incident to an authority while an earlier one is undelivered. The naboom service only';

CREATE FUNCTION naboom.forwarding_by_id(id bigint) RETURNS naboom.forwarding
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	f naboom.forwarding;
	c bigint;
BEGIN
	-- Its community first, then the row locked in it: on a distributed
	-- naboom Citus locks rows only in a query routed to one community.
	SELECT x.community_id INTO c FROM naboom.forwarding x WHERE x.forwarding_id = forwarding_by_id.id;
	SELECT * INTO f FROM naboom.forwarding x WHERE x.community_id = c AND x.forwarding_id = forwarding_by_id.id FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_forwarding', format('no forwarding %s', coalesce(id::text, 'NULL')),
			'The id is the one claim_forwardings returned.', 'Check the id; retention may have removed the incident.');
	END IF;
	RETURN f;
END
$$;

COMMENT ON FUNCTION naboom.forwarding_by_id(bigint) IS 'The forwarding with this id, locked, or naboom.unknown_forwarding (PT404)';

CREATE FUNCTION naboom_api.forwarding_delivered(id bigint, external_id text DEFAULT NULL)
RETURNS naboom_api.forwarding
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_ext text;
	v_code text;
	f naboom.forwarding;
BEGIN
	PERFORM naboom.require_service('forwarding_delivered');
	v_ext := naboom.clean_text('external_id', external_id, false, 200);
	f := naboom.forwarding_by_id(id);
	-- Delivered is the truth whenever it comes: after the lease ran out,
	-- after a failure was reported, even after the row went dead.  A
	-- repeat changes nothing.
	IF f.state <> 'delivered' THEN
		UPDATE naboom.forwarding x
		SET state = 'delivered', delivered_at = now(), lease_until = NULL,
			external_id = coalesce(v_ext, x.external_id)
		WHERE x.community_id = f.community_id AND x.forwarding_id = f.forwarding_id
		RETURNING * INTO f;
		-- (the code first: on a cluster a statement reading naboom.authority
		-- runs on the worker, where append_event may not write the stream)
		v_code := (SELECT a.code FROM naboom.authority a
			WHERE a.community_id = f.community_id AND a.authority_id = f.authority_id);
		PERFORM naboom.append_event(f.community_id, f.incident_id, 'forwarding.delivered', false,
			jsonb_build_object('authority', v_code, 'forwarding', f.forwarding_id, 'attempts', f.attempts));
	ELSIF f.external_id IS NULL AND v_ext IS NOT NULL THEN
		UPDATE naboom.forwarding x SET external_id = v_ext WHERE x.community_id = f.community_id AND x.forwarding_id = f.forwarding_id
		RETURNING * INTO f;
	END IF;
	RETURN naboom.forwarding_out(f);
END
$$;

COMMENT ON FUNCTION naboom_api.forwarding_delivered(bigint, text) IS
	'A worker delivered the forwarding: delivered, with the authority''s id for it (external_id, e.g. a case number) if it gave one; a forwarding.delivered event. Idempotent. The naboom service only';

CREATE FUNCTION naboom_api.forwarding_failed(id bigint, error text, retry_after interval DEFAULT NULL)
RETURNS naboom_api.forwarding
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_error text;
	f naboom.forwarding;
	max_attempts integer := coalesce(nullif(current_setting('naboom.forwarding_max_attempts', true), '')::integer, 8);
	base interval := coalesce(nullif(current_setting('naboom.forwarding_backoff', true), '')::interval, '30 seconds');
	backoff interval;
	v_code text;
BEGIN
	PERFORM naboom.require_service('forwarding_failed');
	v_error := left(naboom.clean_text('error', error, true, NULL), 2000);
	IF retry_after IS NOT NULL AND NOT retry_after BETWEEN '0' AND '1 day' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_interval', 'retry_after must be between 0 and 1 day',
			format('It is %s.', retry_after), 'Pass the authority''s Retry-After, or leave it out.');
	END IF;
	f := naboom.forwarding_by_id(id);
	-- A failure reported for a row that is no longer this worker's to fail
	-- (delivered, dead, or re-claimed and waiting again) changes nothing.
	IF f.state <> 'in_flight' THEN
		RETURN naboom.forwarding_out(f);
	END IF;
	IF f.attempts >= max_attempts THEN
		UPDATE naboom.forwarding x
		SET state = 'dead', last_error = v_error, lease_until = NULL
		WHERE x.community_id = f.community_id AND x.forwarding_id = f.forwarding_id
		RETURNING * INTO f;
		PERFORM naboom.forwarding_dead(f);
	ELSE
		-- Exponential backoff: base, 2 base, 4 base... up to 6 hours, or the
		-- authority's Retry-After when that is later.
		backoff := least(base * power(2, least(f.attempts - 1, 20)), interval '6 hours');
		UPDATE naboom.forwarding x
		SET state = 'failed', last_error = v_error, lease_until = NULL,
			next_attempt_at = now() + greatest(backoff, coalesce(retry_after, '0'))
		WHERE x.community_id = f.community_id AND x.forwarding_id = f.forwarding_id
		RETURNING * INTO f;
		-- (the code first: on a cluster a statement reading naboom.authority
		-- runs on the worker, where append_event may not write the stream)
		v_code := (SELECT a.code FROM naboom.authority a
			WHERE a.community_id = f.community_id AND a.authority_id = f.authority_id);
		PERFORM naboom.append_event(f.community_id, f.incident_id, 'forwarding.failed', false,
			jsonb_build_object('authority', v_code, 'forwarding', f.forwarding_id, 'attempts', f.attempts));
	END IF;
	RETURN naboom.forwarding_out(f);
END
$$;

COMMENT ON FUNCTION naboom_api.forwarding_failed(bigint, text, interval) IS
	'A worker''s delivery failed: retried after an exponential backoff (naboom.forwarding_backoff doubling per attempt, at most 6 hours, or retry_after when later) with a forwarding.failed event; after naboom.forwarding_max_attempts attempts the row is dead (a forwarding.dead event and an alert to the community''s moderators). Ignored unless the row is in flight. The naboom service only';

------------------------------------------------------------------------------
-- API: updates back from the authority (naboom_service)
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.authority_update(authority text, external_id text, status text DEFAULT NULL,
	note text DEFAULT NULL, occurred_at timestamptz DEFAULT NULL, update_id text DEFAULT NULL)
RETURNS naboom_api.authority_update_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_auth text := lower(naboom.clean_text('authority', authority, true, 40));
	v_ext text := naboom.clean_text('external_id', external_id, true, 200);
	v_status text := lower(naboom.clean_text('status', status, false, 40));
	v_note text := naboom.clean_text('note', note, false, 4000);
	v_update text := naboom.clean_text('update_id', update_id, true, 200);
	fw naboom.forwarding;
	a naboom.authority;
	i naboom.incident;
	u naboom.authority_update;
	v_seq integer;
	moved text;
BEGIN
	PERFORM naboom.require_service('authority_update');
	-- The forwarding the authority knows by this id (its case number).
	SELECT x.* INTO fw FROM naboom.forwarding x
	JOIN naboom.authority y ON y.community_id = x.community_id AND y.authority_id = x.authority_id
	WHERE y.code = v_auth AND x.external_id = v_ext
	ORDER BY x.forwarding_id DESC LIMIT 1;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_external_id',
			format('no forwarding to "%s" has external id "%s"', v_auth, left(v_ext, 40)),
			'An update names the id the authority returned when the forwarding was delivered.',
			'Check the authority code and the id; deliver the forwarding first.');
	END IF;
	SELECT * INTO a FROM naboom.authority y WHERE y.community_id = fw.community_id AND y.authority_id = fw.authority_id;
	-- The incident's row lock orders this with every other change of it, and
	-- makes a repeated update_id wait for the first and then find it.
	SELECT * INTO i FROM naboom.incident x WHERE x.community_id = fw.community_id AND x.incident_id = fw.incident_id
	FOR NO KEY UPDATE;
	SELECT * INTO u FROM naboom.authority_update x
	WHERE x.community_id = a.community_id AND x.authority_id = a.authority_id AND x.update_id = v_update;
	IF FOUND THEN
		RETURN (i.reference, a.code, u.external_id, u.status, u.timeline_seq, u.moved_to, true)::naboom_api.authority_update_result;
	END IF;

	-- May the authority move the incident?  The workflow table says so: a
	-- transition from the incident's status to this one with authority in
	-- allowed.  The workflow trigger checks it again (acting_authority).
	IF v_status IS NOT NULL AND v_status <> i.status AND EXISTS (SELECT 1 FROM naboom.transition t
			WHERE t.from_status = i.status AND t.to_status = v_status AND 'authority' = ANY (t.allowed)) THEN
		PERFORM set_config('naboom.acting_authority', a.code, true);
		UPDATE naboom.incident x
		SET status = v_status, status_note = coalesce(v_note, format('%s: %s', a.name_en, v_status))
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
		RETURNING * INTO i;
		PERFORM set_config('naboom.acting_authority', '', true);
		moved := v_status;
	END IF;
	-- The case number and status on the timeline, as the authority (an
	-- internal entry: what an authority says is for staff to relay).
	INSERT INTO naboom.incident_timeline (community_id, incident_id, seq, actor_ref, entry_kind, to_status, note, is_public, detail)
	SELECT i.community_id, i.incident_id, coalesce(max(x.seq), 0) + 1, NULL, 'authority_update', moved, v_note, false,
		jsonb_build_object('authority', a.code, 'authority_en', a.name_en, 'authority_af', a.name_af,
			'external_id', v_ext, 'status', v_status, 'occurred_at', occurred_at, 'update_id', v_update)
	FROM naboom.incident_timeline x WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
	RETURNING incident_timeline.seq INTO v_seq;
	INSERT INTO naboom.authority_update (authority_id, update_id, community_id, incident_id, external_id, status, note,
		occurred_at, timeline_seq, moved_to)
	VALUES (a.authority_id, v_update, i.community_id, i.incident_id, v_ext, v_status, v_note, occurred_at, v_seq, moved);
	PERFORM naboom.append_event(i.community_id, i.incident_id, 'authority.updated', false,
		jsonb_build_object('authority', a.code, 'status', v_status, 'moved_to', moved));
	RETURN (i.reference, a.code, v_ext, v_status, v_seq, moved, false)::naboom_api.authority_update_result;
END
$$;

COMMENT ON FUNCTION naboom_api.authority_update(text, text, text, text, timestamptz, text) IS
	'An authority''s update on a forwarded incident, found by the id it returned (external_id, e.g. a SAPS case number): an internal authority_update timeline entry as the authority with the case number and status, and an authority.updated event. It moves the incident only where the workflow table allows the authority that transition (naboom.transition.allowed contains authority). Idempotent on update_id. The naboom service only';
