
------------------------------------------------------------------------------
-- Evidence (0.7.0, issue 16): photos and videos attached to incidents.
--
-- naboom holds an attachment's metadata only: which incident, who, the
-- object's key in object storage, its content type, size, SHA-256 and a
-- caption.  The bytes live in object storage; the gateway stores them and
-- signs URLs for the key (README "Evidence").  What may be attached is a
-- setting (src/attachment.c: content types, sizes, a count per incident);
-- members are rate limited (naboom.rate_limit, action attachment).
--
-- An attachment is seen by whoever may see its incident, except that a
-- sensitive incident's attachments are shown only to its reporter,
-- responders and moderators, and a hidden one only to moderators.  When an
-- attachment row goes (its incident expires, or its uploader is erased or
-- leaves), an attachment.deleted event tells the storage worker which
-- object to delete.
------------------------------------------------------------------------------

CREATE TABLE naboom.attachment (
	community_id bigint NOT NULL,
	attachment_id bigint GENERATED ALWAYS AS IDENTITY,
	incident_id bigint NOT NULL,
	uploader_ref text,
	object_key text NOT NULL CHECK (length(object_key) <= 512
		AND object_key ~ '^[a-z0-9-]+/[A-Za-z0-9._~/-]*[A-Za-z0-9_~-]$'
		AND object_key !~ '(^|/)\.\.?(/|$)' AND strpos(object_key, '//') = 0),
	content_type text NOT NULL CHECK (content_type ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$'),
	bytes bigint NOT NULL CHECK (bytes > 0),
	sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	caption text CHECK (length(caption) <= 500),
	taken_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	hidden_at timestamptz,
	hidden_by text,
	hidden_reason text CHECK (length(hidden_reason) BETWEEN 3 AND 2000),
	PRIMARY KEY (community_id, attachment_id),
	CONSTRAINT attachment_object_key_key UNIQUE (object_key),
	CONSTRAINT attachment_once UNIQUE (community_id, incident_id, sha256),
	FOREIGN KEY (community_id, incident_id) REFERENCES naboom.incident ON DELETE CASCADE,
	CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL))
);

COMMENT ON TABLE naboom.attachment IS
	'Evidence attached to an incident: the metadata of a photo or video whose bytes are in object storage under object_key (naboom_api.add_attachment). One row per file per incident (attachment_once); deleting a row announces attachment.deleted with the object key, for the storage worker';

COMMENT ON COLUMN naboom.attachment.uploader_ref IS 'user_ref of who attached it; NULL for the naboom service';

COMMENT ON COLUMN naboom.attachment.object_key IS
	'The object''s key in the storage bucket: <community slug>/ then letters, digits and . _ ~ - / (no empty, . or .. segments), at most 512 characters; unique, so a key names one attachment and deleting it never deletes another''s object';

COMMENT ON COLUMN naboom.attachment.sha256 IS 'SHA-256 of the object''s bytes, 64 lower-case hex digits: the evidence''s integrity, checked by whoever fetches it';

COMMENT ON COLUMN naboom.attachment.taken_at IS 'When the photo or video was taken, as the device says (not in the future)';

COMMENT ON COLUMN naboom.attachment.hidden_at IS 'When a moderator hid it (naboom_api.hide_attachment): then only moderators see it; the row and object are kept as evidence';

-- Erasure, export and the retention of personal data find a person's
-- attachments from here.
CREATE INDEX attachment_uploader_idx ON naboom.attachment (uploader_ref, community_id) WHERE uploader_ref IS NOT NULL;

CREATE INDEX attachment_hidden_by_idx ON naboom.attachment (hidden_by, community_id) WHERE hidden_by IS NOT NULL;

-- Every attachment a member adds counts against their rate limit
-- (07_events.sql), however it is inserted.
CREATE TRIGGER rate_limit BEFORE INSERT ON naboom.attachment
	FOR EACH ROW EXECUTE FUNCTION naboom.rate_limit_write('attachment');

------------------------------------------------------------------------------
-- attachment.deleted: whatever deletes attachment rows (retention, erasure,
-- leaving, an incident deleted by hand), the storage worker learns which
-- objects to delete.  One event per object, private (the service and the
-- community's staff read it), carrying the object key only, and no
-- incident: the incident may be gone too.  Written during retention and
-- erasure as well (unlike the events of single changes), in their
-- transaction: an object is deleted only once its row is.
------------------------------------------------------------------------------
CREATE FUNCTION naboom.events_written() RETURNS void
	AS 'MODULE_PATHNAME', 'naboom_events_written'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.events_written() IS
	'Tell naboom that this transaction wrote events to naboom.event by SQL: at commit the background writer is woken to publish them';

CREATE FUNCTION naboom.attachment_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	g record;
	n integer := 0;
BEGIN
	IF naboom.is_distributed() THEN
		-- On a Citus worker's shard: row by row (Citus cannot insert into
		-- the distributed event table from a transition table).
		FOR g IN SELECT x.community_id, x.object_key FROM gone x ORDER BY x.community_id, x.attachment_id LOOP
			INSERT INTO naboom.event (community_id, incident_id, topic, is_public, payload)
			VALUES (g.community_id, NULL, 'attachment.deleted', false, jsonb_build_object('object_key', g.object_key));
			n := n + 1;
		END LOOP;
	ELSE
		INSERT INTO naboom.event (community_id, incident_id, topic, is_public, payload)
		SELECT x.community_id, NULL, 'attachment.deleted', false, jsonb_build_object('object_key', x.object_key)
		FROM gone x
		ORDER BY x.community_id, x.attachment_id;
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	IF n > 0 THEN
		PERFORM naboom.events_written();
	END IF;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.attachment_deleted() IS
	'AFTER DELETE statement trigger on naboom.attachment: one private attachment.deleted event per deleted row, payload {"object_key": ...}, for the storage worker';

CREATE TRIGGER attachment_deleted AFTER DELETE ON naboom.attachment
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.attachment_deleted();

-- attachment.added and attachment.hidden: the incident's followers (LISTEN,
-- events_since) and offline clients (incident_changes: any event of an
-- incident is a change of it) learn of new evidence, and drop a hidden
-- file from their caches.  Private when the incident is private or its
-- category sensitive; the payload names the attachment, nothing more.
CREATE FUNCTION naboom.attachment_event(i naboom.incident, topic text, payload jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
BEGIN
	IF NOT current_setting('naboom.events')::boolean THEN
		RETURN;
	END IF;
	INSERT INTO naboom.event (community_id, incident_id, topic, is_public, payload)
	SELECT i.community_id, i.incident_id, topic, i.is_public AND NOT cat.is_sensitive, payload
	FROM naboom.category cat
	WHERE cat.community_id = i.community_id AND cat.code = i.category_code;
	PERFORM naboom.events_written();
END
$$;

COMMENT ON FUNCTION naboom.attachment_event(naboom.incident, text, jsonb) IS
	'Write an attachment.added or attachment.hidden event of the incident (unless naboom.events is off): private for a private incident or a sensitive category';

------------------------------------------------------------------------------
-- Checks
------------------------------------------------------------------------------
CREATE FUNCTION naboom.check_attachment_file(content_type text, bytes bigint) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_check_attachment_file'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION naboom.check_attachment_file(text, bigint) IS
	'The content type in lower case if it and the size are allowed (naboom.attachment_types, naboom.attachment_max_size, naboom.attachment_max_video_size); else naboom.invalid_content_type, naboom.content_type_not_allowed, naboom.invalid_bytes or naboom.attachment_too_large (22023)';

CREATE FUNCTION naboom.check_object_key(object_key text, slug text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_variable
DECLARE
	k text := naboom.clean_text('object_key', object_key, true, 512);
BEGIN
	IF k !~ '^[a-z0-9-]+/[A-Za-z0-9._~/-]*[A-Za-z0-9_~-]$' OR k ~ '(^|/)\.\.?(/|$)' OR strpos(k, '//') > 0 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_object_key', 'object_key is not a storage key naboom accepts',
			'A key is the community slug, "/", then letters, digits and . _ ~ - / (no empty, . or .. segments), at most 512 characters.',
			format('Use the key the gateway stored the object under, e.g. %s/NB-7K3Q-9XW9/6f1c2e.jpg.', slug));
	END IF;
	IF split_part(k, '/', 1) <> slug THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_object_key', format('object_key is not in community "%s"', slug),
			format('Keys of this incident''s objects start with "%s/".', slug),
			'Store the object under the incident''s community and send that key.');
	END IF;
	RETURN k;
END
$$;

COMMENT ON FUNCTION naboom.check_object_key(text, text) IS
	'The object key if it has the shape naboom accepts and lies under the community''s prefix (slug/); else naboom.invalid_object_key (22023)';

CREATE FUNCTION naboom.check_sha256(sha256 text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
#variable_conflict use_variable
DECLARE
	h text := lower(naboom.clean_text('sha256', sha256, true, 100));
BEGIN
	IF h !~ '^[0-9a-f]{64}$' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_sha256', 'sha256 must be 64 hexadecimal digits',
			format('It has %s characters.', length(h)), 'Send the SHA-256 of the file''s bytes in hex.');
	END IF;
	RETURN h;
END
$$;

COMMENT ON FUNCTION naboom.check_sha256(text) IS 'The digest in lower case if it is 64 hex digits; else naboom.invalid_sha256 (22023)';

CREATE FUNCTION naboom.check_taken_at(taken_at timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
	-- Five minutes of a phone's clock running fast are forgiven.
	IF taken_at IS NOT NULL AND (NOT isfinite(taken_at) OR taken_at > now() + interval '5 minutes') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_taken_at', 'taken_at is in the future',
			CASE WHEN isfinite(taken_at) THEN format('It is %s minutes ahead of the server''s clock.',
					ceil(extract(epoch FROM taken_at - now()) / 60))
				ELSE 'It is infinite.' END,
			'Send when the photo or video was taken, or leave it out.');
	END IF;
	RETURN taken_at;
END
$$;

COMMENT ON FUNCTION naboom.check_taken_at(timestamptz) IS 'taken_at if it is NULL or not in the future (5 minutes of clock skew allowed); else naboom.invalid_taken_at (22023)';

------------------------------------------------------------------------------
-- What the API returns
------------------------------------------------------------------------------
CREATE TYPE naboom_api.attachment AS (
	id bigint,
	reference text,
	community text,
	object_key text,
	content_type text,
	bytes bigint,
	sha256 text,
	caption text,
	taken_at timestamptz,
	created_at timestamptz,
	uploader_name text,
	is_mine boolean,
	hidden boolean,
	hidden_at timestamptz,
	hidden_reason text
);

COMMENT ON TYPE naboom_api.attachment IS
	'An attachment of an incident: the object''s key in storage (the gateway signs a URL for it), content type, size, SHA-256, caption, when it was taken and added, who added it (hidden from the public as a timeline entry''s actor is), whether it is the caller''s, and, for moderators, whether, when and why it was hidden. get_incident''s attachments holds the same fields as JSON';

CREATE FUNCTION naboom.attachment_out(a naboom.attachment, i naboom.incident, slug text, actor text,
	my_role naboom.member_role) RETURNS naboom_api.attachment
LANGUAGE plpgsql STABLE AS $$
DECLARE
	uploader text;
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus"; and one statement per table: a
	-- statement reading category and member, each by its own parameter,
	-- is a join Citus cannot route)
	IF a.uploader_ref IS NULL THEN
		uploader := 'naboom';
	-- A sensitive case's reporter is named to moderators only (as in incident_out).
	ELSIF a.uploader_ref = i.reporter_ref AND actor IS DISTINCT FROM i.reporter_ref
		AND NOT (actor IS NULL OR coalesce(my_role >= 'moderator', false))
		AND (SELECT cat.is_sensitive FROM naboom.category cat
			WHERE cat.community_id = i.community_id AND cat.code = i.category_code) THEN
		uploader := NULL;
	ELSE
		uploader := (SELECT m.display_name FROM naboom.member m
			WHERE m.community_id = a.community_id AND m.user_ref = a.uploader_ref);
	END IF;
	RETURN ROW(a.attachment_id, i.reference, slug, a.object_key, a.content_type, a.bytes, a.sha256, a.caption,
		a.taken_at, a.created_at, uploader,
		actor IS NOT NULL AND a.uploader_ref IS NOT DISTINCT FROM actor,
		a.hidden_at IS NOT NULL, a.hidden_at, a.hidden_reason)::naboom_api.attachment;
END
$$;

COMMENT ON FUNCTION naboom.attachment_out(naboom.attachment, naboom.incident, text, text, naboom.member_role) IS
	'An attachment of incident i as add_attachment and hide_attachment return it to the actor (whose role is my_role), who may make that call: the uploader named as get_incident names them';

-- The attachments of an incident as get_incident shows them (called by
-- naboom.incident_out): the incident is visible to the caller already.
CREATE FUNCTION naboom.incident_attachments(i naboom.incident, actor text, my_role naboom.member_role,
	reporter_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	-- (worked out here: on a Citus cluster the query below runs on the
	-- community's worker)
	service boolean := actor IS NULL AND naboom.is_service();
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus")
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
			'id', a.attachment_id, 'object_key', a.object_key, 'content_type', a.content_type,
			'bytes', a.bytes, 'sha256', a.sha256, 'caption', a.caption, 'taken_at', a.taken_at,
			'created_at', a.created_at,
			'uploader_name', CASE
				WHEN a.uploader_ref IS NULL THEN 'naboom'
				WHEN NOT v.member THEN NULL
				WHEN a.uploader_ref = i.reporter_ref AND reporter_name IS NULL THEN NULL
				ELSE m.display_name END,
			'is_mine', actor IS NOT NULL AND a.uploader_ref IS NOT DISTINCT FROM actor,
			'hidden', a.hidden_at IS NOT NULL, 'hidden_at', a.hidden_at, 'hidden_reason', a.hidden_reason)
			ORDER BY a.created_at, a.attachment_id), '[]')
	FROM (SELECT service AS service) s
	CROSS JOIN LATERAL (SELECT s.service OR my_role IS NOT NULL AS member,
		s.service OR coalesce(my_role >= 'responder', false)
			OR (actor IS NOT NULL AND i.reporter_ref IS NOT DISTINCT FROM actor) AS sees_sensitive,
		s.service OR coalesce(my_role >= 'moderator', false) AS moderator) v
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.attachment a ON a.community_id = i.community_id AND a.incident_id = i.incident_id
	LEFT JOIN naboom.member m ON m.community_id = a.community_id AND m.user_ref = a.uploader_ref
	WHERE (v.sees_sensitive OR NOT cat.is_sensitive)
		AND (a.hidden_at IS NULL OR v.moderator));
END
$$;

COMMENT ON FUNCTION naboom.incident_attachments(naboom.incident, text, naboom.member_role, text) IS
	'The attachments of a visible incident that the actor may see, as JSON: none of a sensitive incident''s but to its reporter, responders, moderators and the service; hidden ones to moderators and the service only. reporter_name: as the caller sees it (NULL hides the reporter as uploader too)';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------
CREATE FUNCTION naboom_api.add_attachment(reference text, object_key text, content_type text, bytes bigint,
	sha256 text, caption text DEFAULT NULL, taken_at timestamptz DEFAULT NULL)
RETURNS naboom_api.attachment
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_type text := naboom.check_attachment_file(content_type, bytes);
	v_sha text := naboom.check_sha256(sha256);
	v_caption text := naboom.clean_text('caption', caption, false, 500);
	v_taken timestamptz := naboom.check_taken_at(taken_at);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	c naboom.community;
	v_key text;
	a naboom.attachment;
	n integer;
	lim integer := current_setting('naboom.attachments_per_incident')::integer;
BEGIN
	SELECT * INTO c FROM naboom.community x WHERE x.community_id = i.community_id;
	v_key := naboom.check_object_key(object_key, c.slug);
	-- Who may: the reporter (while a member) and the community's responders,
	-- moderators and admins; the service.
	PERFORM naboom.require_role(c, actor, 'resident');
	IF actor IS NOT NULL AND i.reporter_ref IS DISTINCT FROM actor AND f.actor_role < 'responder' THEN
		PERFORM naboom.fail('42501', 'naboom.attachment_forbidden', format('you may not add attachments to %s', i.reference),
			'Attachments are added by the incident''s reporter, responders and moderators.',
			'Send the photo to a responder, or add a note.');
	END IF;

	-- A resubmit (the same key, or the same file on this incident) is the
	-- attachment already made.  The incident's row lock (find_incident)
	-- orders the calls for one incident, so the count below is exact.
	SELECT * INTO a FROM naboom.attachment x WHERE x.object_key = v_key;
	IF FOUND AND (a.community_id, a.incident_id, a.sha256, a.bytes, a.content_type)
			IS DISTINCT FROM (i.community_id, i.incident_id, v_sha, bytes, v_type) THEN
		PERFORM naboom.fail('PT409', 'naboom.object_key_reused',
			'object_key names another attachment',
			'That key was attached before, to another incident or with another size, type or SHA-256.',
			'Store each file under a fresh key.');
	END IF;
	IF NOT FOUND THEN
		SELECT * INTO a FROM naboom.attachment x
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.sha256 = v_sha;
	END IF;
	IF a.attachment_id IS NOT NULL THEN
		IF a.hidden_at IS NOT NULL AND actor IS NOT NULL AND f.actor_role < 'moderator' THEN
			PERFORM naboom.fail('PT409', 'naboom.attachment_hidden',
				format('this file was attached to %s and hidden by a moderator', i.reference),
				'A moderator hid it; it is kept as evidence but not shown.', 'Ask a moderator.');
		END IF;
		RETURN naboom.attachment_out(a, i, c.slug, actor, f.actor_role);
	END IF;

	SELECT count(*) INTO n FROM naboom.attachment x
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id;
	IF n >= lim THEN
		PERFORM naboom.fail('PT409', 'naboom.attachment_limit',
			format('%s has %s attachments already', i.reference, n),
			format('An incident holds at most %s (naboom.attachments_per_incident).', lim),
			'Ask a moderator to hide what is not needed, or add a note instead.');
	END IF;
	-- The rate_limit trigger counts the insert.  A key taken meanwhile by
	-- another incident's attachment conflicts.
	INSERT INTO naboom.attachment (community_id, incident_id, uploader_ref, object_key, content_type, bytes,
		sha256, caption, taken_at)
	VALUES (i.community_id, i.incident_id, actor, v_key, v_type, bytes, v_sha, v_caption, v_taken)
	ON CONFLICT DO NOTHING
	RETURNING * INTO a;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT409', 'naboom.object_key_reused',
			'object_key names another attachment',
			'That key was attached to another incident at the same moment.',
			'Store each file under a fresh key.');
	END IF;
	PERFORM naboom.attachment_event(i, 'attachment.added',
		jsonb_build_object('id', a.attachment_id, 'content_type', a.content_type));
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.attachment_out(a, i, c.slug, actor, f.actor_role);
END
$$;

COMMENT ON FUNCTION naboom_api.add_attachment(text, text, text, bigint, text, text, timestamptz) IS
	'Attach a photo or video the gateway stored under object_key (<community>/...) to an incident: its reporter, the community''s responders and moderators, or the service. Type and size within the settings, sha256 the file''s hex digest, caption up to 500 characters, taken_at not in the future; at most naboom.attachments_per_incident per incident; rate limited (attachment). Idempotent: the same key, or the same file (sha256) on the same incident, returns the attachment already made (200); new: 201, announced as attachment.added';

CREATE FUNCTION naboom_api.hide_attachment(reference text, attachment_id bigint, reason text)
RETURNS naboom_api.attachment
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();
	v_reason text := naboom.clean_text('reason', reason, true, 2000);
	f record := naboom.find_incident(reference, actor, true);
	i naboom.incident := f.incident;
	c naboom.community;
	a naboom.attachment;
BEGIN
	SELECT * INTO c FROM naboom.community x WHERE x.community_id = i.community_id;
	PERFORM naboom.require_role(c, actor, 'moderator');
	IF length(v_reason) < 3 THEN
		PERFORM naboom.fail('22023', 'naboom.reason_required', 'hiding an attachment needs a reason',
			'The reason is shorter than 3 characters.', 'Say why, e.g. "shows a bystander''s face".');
	END IF;
	SELECT * INTO a FROM naboom.attachment x
	WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
		AND x.attachment_id = hide_attachment.attachment_id
	FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_attachment',
			format('%s has no attachment %s', i.reference, coalesce(attachment_id::text, 'NULL')),
			'No attachment of this incident has that id.', 'Read the attachments with get_incident.');
	END IF;
	IF a.hidden_at IS NOT NULL THEN
		PERFORM naboom.fail('PT409', 'naboom.already_hidden', format('attachment %s is already hidden', a.attachment_id),
			format('It was hidden because: %s', a.hidden_reason), 'Nothing to do.');
	END IF;
	UPDATE naboom.attachment x SET hidden_at = now(), hidden_by = actor, hidden_reason = v_reason
	WHERE x.community_id = a.community_id AND x.attachment_id = a.attachment_id
	RETURNING * INTO a;
	PERFORM naboom.attachment_event(i, 'attachment.hidden', jsonb_build_object('id', a.attachment_id));
	RETURN naboom.attachment_out(a, i, c.slug, actor, f.actor_role);
END
$$;

COMMENT ON FUNCTION naboom_api.hide_attachment(text, bigint, text) IS
	'Hide an attachment of an incident, with a reason (moderators and admins of its community, the service): from then on only moderators see it; the row and the object are kept as evidence. Audited; announced as attachment.hidden';
