------------------------------------------------------------------------------
-- The reporting API: what the API returns for an incident, and the
-- functions residents, responders and moderators call to report, raise a
-- panic, move an incident through the workflow, assign, acknowledge, add
-- notes and read one incident.
------------------------------------------------------------------------------

CREATE FUNCTION naboom.find_incident(reference text, actor text, lock boolean,
	OUT incident naboom.incident, OUT actor_role naboom.member_role)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	ref text := naboom.normalize_reference(find_incident.reference);
	found record;
	cid bigint;
BEGIN
	IF ref IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_reference',
			format('"%s" is not a valid incident reference', left(find_incident.reference, 40)),
			'References look like NB-7K3Q-9XW9; the last symbol is a check symbol.',
			'Check for a mistyped or swapped character.');
	END IF;
	-- On a Citus cluster the directory names the reference's community
	-- first, so the query runs on that community's node only.  (No caller,
	-- the public or the service, joins no member by '': with a NULL the
	-- join condition folds away and Citus cannot route the join.)
	IF naboom.is_distributed() THEN
		SELECT d.community_id INTO cid FROM naboom.incident_reference d WHERE d.reference = ref;
		IF lock THEN
			SELECT x AS inc, m.role INTO found
			FROM naboom.incident x
			LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = coalesce(actor, '')
			WHERE x.community_id = cid AND x.reference = ref
			FOR NO KEY UPDATE OF x;
		ELSE
			SELECT x AS inc, m.role INTO found
			FROM naboom.incident x
			LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = coalesce(actor, '')
			WHERE x.community_id = cid AND x.reference = ref;
		END IF;
	-- The incident and the caller's role in its community, in one query.
	ELSIF lock THEN
		SELECT x AS inc, m.role INTO found
		FROM naboom.incident x
		LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = coalesce(actor, '')
		WHERE x.reference = ref
		FOR NO KEY UPDATE OF x;
	ELSE
		SELECT x AS inc, m.role INTO found
		FROM naboom.incident x
		LEFT JOIN naboom.member m ON m.community_id = x.community_id AND m.user_ref = coalesce(actor, '')
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
	timeline jsonb,
	poor_accuracy boolean,
	duplicate_candidates jsonb,
	attachments jsonb
);

COMMENT ON TYPE naboom_api.incident IS
	'An incident as the caller may see it: reporter hidden from the public, location blurred to about 100 m for sensitive categories unless the caller is the reporter, a responder or a moderator. timeline and attachments (the evidence the caller may see, as naboom_api.attachment fields) are filled by get_incident only; duplicate_candidates by report_incident and raise_panic only';

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

------------------------------------------------------------------------------
-- Projections and reporting
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
		i.resolved_at, i.closed_at, i.updated_at, NULL::jsonb, i.poor_accuracy, NULL::jsonb, NULL::jsonb
	INTO r
	-- (each table filtered by the incident's community itself, and no join
	-- condition a NULL turns into a constant false: one shard group, a
	-- router query, on a Citus cluster; no key is 0 or '')
	FROM naboom.community c
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND NOT mine AS blur) b
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = coalesce(i.area_id, 0)
	LEFT JOIN naboom.member rep ON rep.community_id = i.community_id AND rep.user_ref = coalesce(i.reporter_ref, '')
	LEFT JOIN naboom.member asg ON asg.community_id = i.community_id AND asg.user_ref = coalesce(i.assignee_ref, '')
	LEFT JOIN naboom.member ack ON ack.community_id = i.community_id AND ack.user_ref = coalesce(i.acknowledged_by, '')
	LEFT JOIN naboom.incident dup ON dup.community_id = i.community_id AND dup.incident_id = coalesce(i.duplicate_of, 0)
	WHERE c.community_id = i.community_id;

	IF with_timeline THEN
		SELECT coalesce(jsonb_agg(jsonb_build_object(
				'seq', t.seq, 'at', t.at, 'kind', t.entry_kind,
				'from_status', t.from_status, 'to_status', t.to_status,
				'note', t.note, 'is_public', t.is_public,
				'actor_name', CASE
					WHEN t.entry_kind = 'authority_update' THEN t.detail->>'authority_en'
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
		r.attachments := naboom.incident_attachments(i, actor, my_role, r.reporter_name);
	END IF;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.incident_out(naboom.incident, text, naboom.member_role, boolean) IS
	'An incident as the actor (whose role in the incident''s community is my_role) may see it: blurring, reporter hiding, timeline and attachments if asked';

CREATE FUNCTION naboom.file_incident(
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
	v_ref text;
BEGIN
	PERFORM naboom.check_accuracy(accuracy_m);
	-- On a Citus cluster the reference is drawn here and claimed in the
	-- directory (distributed by reference) first: unique across
	-- communities.  On a single node the workflow trigger draws it.
	IF naboom.is_distributed() THEN
		LOOP
			v_ref := naboom.new_reference();
			INSERT INTO naboom.incident_reference (reference, community_id) VALUES (v_ref, c.community_id)
			ON CONFLICT DO NOTHING;
			EXIT WHEN FOUND;
		END LOOP;
	END IF;
	-- Routing (area, boundary, accuracy flag) happens in the workflow
	-- trigger; alerts go out from the AFTER INSERT trigger.
	INSERT INTO naboom.incident (community_id, category_code, kind, title, description, location, accuracy_m,
		address, priority, reporter_ref, is_public, client_ref, next_escalation_at, reference)
	VALUES (c.community_id, cat.code, kind, coalesce(title, cat.name_en), description,
		ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m,
		address, priority, actor, is_public, p_client_ref, next_escalation_at, v_ref)
	ON CONFLICT (community_id, reporter_ref, client_ref) WHERE client_ref IS NOT NULL DO NOTHING
	RETURNING * INTO i;

	IF NOT FOUND THEN
		-- A resubmit (after a timeout, or while offline): same incident.
		created := false;
		IF v_ref IS NOT NULL THEN
			DELETE FROM naboom.incident_reference d WHERE d.reference = v_ref;
		END IF;
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

------------------------------------------------------------------------------
-- Reads of emergency data are audited
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.get_incident(reference text)
RETURNS naboom_api.incident
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
BEGIN
	PERFORM naboom.audit_access(i.community_id, i.incident_id, 'get_incident',
		jsonb_build_object('reference', i.reference, 'private', NOT i.is_public));
	RETURN naboom.incident_out(i, actor, f.actor_role, true);
END
$$;

COMMENT ON FUNCTION naboom_api.get_incident(text) IS
	'One incident with its timeline and the attachments the caller may see, as the caller may see it (anonymous callers: public incidents, reporter hidden; a sensitive incident''s attachments only to its reporter, responders and moderators; hidden attachments only to moderators). naboom.unknown_reference (PT404) when not visible';
