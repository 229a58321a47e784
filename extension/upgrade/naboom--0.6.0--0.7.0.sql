-- naboom 0.6.0 -> 0.7.0
--
-- 0.7.0 makes naboom operated day to day (issue 13): the lists people work
-- from (the control room's queue, the community feed, my reports and
-- assignments, offline sync), alert read state and area subscriptions, the
-- pickers and profile, and health().
--
-- Hand-written DDL first (each block under its own heading, written to work
-- on a 0.6.0 database that has data); then the functions, regenerated from
-- extension/schema/ between the BEGIN and END lines below.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.7.0'" to load this file. \quit

-- functions: naboom.audit_maintain
-- functions: naboom.check_page_size naboom.page_cursor naboom.page_cursor_parts
-- Issue 13, lists: the row every list returns.
CREATE TYPE naboom_api.incident_item AS (
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
	acknowledged boolean,
	duplicate_of text,
	duplicate_count integer,
	is_public boolean,
	version integer,
	escalation_level integer,
	created_at timestamptz,
	acknowledged_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	updated_at timestamptz,
	ack_due_at timestamptz,
	resolve_due_at timestamptz,
	overdue boolean,
	cursor text
);

COMMENT ON TYPE naboom_api.incident_item IS
	'One incident of a list, exactly as get_incident shows it to the same caller (blurred location, reporter hidden from the public), without the timeline; with its SLA deadlines (acknowledge by, resolve by, from the category''s targets), whether a live incident is past one of them, the number of reports merged into it as duplicates, and the opaque cursor to pass as `after` for the rows that follow it';

-- functions: naboom.incident_visible naboom.incident_items naboom.incident_items_routed
-- Issue 13, queue, feed, my reports and assignments: their indexes.
CREATE INDEX incident_feed_idx ON naboom.incident (community_id, created_at DESC, incident_id DESC);

CREATE INDEX incident_mine_idx ON naboom.incident (reporter_ref, created_at DESC, incident_id DESC)
	WHERE reporter_ref IS NOT NULL;

CREATE INDEX incident_search_idx ON naboom.incident USING gin
	(to_tsvector('simple'::regconfig, title || ' ' || coalesce(description, '') || ' ' || coalesce(address, '')));

-- functions: naboom.cursor_time naboom.cursor_invalid naboom.cursor_bigint naboom.cursor_timestamp naboom.check_statuses
-- functions: naboom.check_area naboom.sla_due naboom.priority_rank
-- functions: naboom_api.incident_queue naboom_api.community_incidents naboom_api.my_incidents naboom_api.my_assignments

-- Issue 13, alerts: alert read state (seen_at) and area subscriptions.
-- Alerts sent before 0.7.0 have no seen_at: they count as unread until the
-- person marks them (naboom does not know whether they were seen).  Existing
-- subscriptions are circles and keep their centre, radius and reach.
ALTER TABLE naboom.subscription ALTER COLUMN centre DROP NOT NULL, ALTER COLUMN radius_m DROP NOT NULL,
	ALTER COLUMN reach DROP NOT NULL, ADD COLUMN area_id bigint,
	ADD CONSTRAINT subscription_area_fkey FOREIGN KEY (community_id, area_id) REFERENCES naboom.area ON DELETE CASCADE,
	ADD CONSTRAINT subscription_circle_or_area CHECK (CASE WHEN area_id IS NULL
		THEN centre IS NOT NULL AND radius_m IS NOT NULL AND reach IS NOT NULL
		ELSE centre IS NULL AND radius_m IS NULL AND reach IS NULL END);

COMMENT ON TABLE naboom.subscription IS 'A member''s alert area: a circle (centre, radius) or one of the community''s areas (area_id), optionally some categories only, at or above a priority';

COMMENT ON COLUMN naboom.subscription.area_id IS 'An area subscription: every incident whose point the area covers (nested areas included: not only incidents routed to this area) alerts the member; centre, radius_m and reach are then NULL';

CREATE INDEX subscription_area_idx ON naboom.subscription (community_id, area_id) WHERE area_id IS NOT NULL;

ALTER TABLE naboom.alert ADD COLUMN seen_at timestamptz;

COMMENT ON COLUMN naboom.alert.seen_at IS 'When the member marked it seen (mark_alerts_seen); NULL: unread';

CREATE INDEX alert_unseen_idx ON naboom.alert (user_ref, alert_id) WHERE seen_at IS NULL;

-- The API rows gain columns at their end (as a fresh install has them).
ALTER TYPE naboom_api.subscription ADD ATTRIBUTE area text;

COMMENT ON TYPE naboom_api.subscription IS 'An alert area of the caller: a circle (lat, lon, radius_m) or one of the community''s areas (area: its code; lat, lon and radius_m NULL), optionally some categories, at or above a priority';

ALTER TYPE naboom_api.alert ADD ATTRIBUTE seen_at timestamptz, ADD ATTRIBUTE can_acknowledge boolean,
	ADD ATTRIBUTE subscription_id bigint, ADD ATTRIBUTE subscription_area text;

COMMENT ON TYPE naboom_api.alert IS 'An alert to the caller about an incident near them or their alert area; id orders the alerts and is the my_alerts cursor. seen_at: when the caller marked it seen (mark_alerts_seen), NULL while unread. can_acknowledge: the caller may acknowledge the incident now (a responder or moderator of its community, the incident live and not yet acknowledged): call acknowledge_incident(reference). subscription_id and subscription_area: the caller''s alert area that matched (subscription alerts; the area code for an area subscription, whose distance_m is NULL)';

CREATE TYPE naboom_api.alert_state AS (
	unread integer,
	marked integer,
	last_id bigint
);

COMMENT ON TYPE naboom_api.alert_state IS 'The caller''s alert read state: unread alerts (in every community), how many the call marked seen (NULL for unread_alert_count), and the id of the caller''s newest alert (NULL: none), to pass to mark_alerts_seen';

-- functions: naboom.subscription_out naboom_api.subscribe_area naboom_api.my_alerts naboom.check_alert_id
-- functions: naboom.alert_state naboom_api.mark_alerts_seen naboom_api.unread_alert_count naboom_api.export_my_data

-- Issue 13, directory: the pickers' and the member list's rows, the health row, and the
-- member list's index.
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

CREATE INDEX member_directory_idx ON naboom.member (community_id, display_name, user_ref);

-- functions: naboom_api.communities naboom_api.categories naboom_api.areas naboom_api.statuses
-- functions: naboom_api.my_memberships naboom_api.update_my_profile naboom.leave_member naboom_api.leave_community
-- functions: naboom_api.members naboom.health_probe naboom.health_problems naboom.health_warnings naboom_api.health

-- Issue 13, offline sync: the event horizon (the highest stream position
-- retention deleted) and the row incident_changes returns.  Stream
-- positions are handed out without gaps (one publisher, max + 1), so what a
-- 0.6.0 retention deleted shows as gaps: the horizon starts at the highest
-- missing position below the highest retained one.
CREATE TABLE naboom.event_horizon (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	deleted_through bigint NOT NULL DEFAULT 0 CHECK (deleted_through >= 0)
);

INSERT INTO naboom.event_horizon (id, deleted_through)
SELECT true, coalesce(max(g.seq - 1), 0)
FROM (SELECT e.seq, lag(e.seq) OVER (ORDER BY e.seq) AS prev FROM naboom.event e WHERE e.seq IS NOT NULL) g
WHERE g.seq > 1 AND g.prev IS DISTINCT FROM g.seq - 1;

COMMENT ON TABLE naboom.event_horizon IS
	'One row: deleted_through, the highest stream position (event seq) ever deleted (by retention). A sync cursor behind it may have missed changes (naboom_api.incident_changes refuses it with naboom.cursor_expired)';

CREATE TYPE naboom_api.incident_change AS (
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
	acknowledged boolean,
	duplicate_of text,
	duplicate_count integer,
	is_public boolean,
	version integer,
	escalation_level integer,
	created_at timestamptz,
	acknowledged_at timestamptz,
	resolved_at timestamptz,
	closed_at timestamptz,
	updated_at timestamptz,
	ack_due_at timestamptz,
	resolve_due_at timestamptz,
	overdue boolean,
	cursor text,
	changed_at timestamptz,
	removed boolean
);

COMMENT ON TYPE naboom_api.incident_change IS
	'One changed incident for offline sync: the incident_item columns exactly as get_incident shows it to the caller now, when it last changed, and removed = true (a tombstone: only reference, community, cursor and changed_at filled) for an incident the caller could see once and no longer may (it was made private)';

-- functions: naboom.event_horizon_advance naboom_api.incident_changes
-- Issue 13, performance of the queue (branch perf): the due time the
-- queue sorts by, stored on the incident and indexed; filled for the
-- incidents already there after the functions below (it needs them).
ALTER TABLE naboom.incident ADD COLUMN queue_due_at timestamptz;

COMMENT ON COLUMN naboom.incident.queue_due_at IS
	'Live incidents: when the next SLA falls due (naboom.sla_due: acknowledge-by while unacknowledged, if sooner than resolve-by; else resolve-by), the key of the queue''s index; NULL when not live. Set by the workflow trigger and naboom.restamp_queue_due';

-- (audited_tables sorted by a constant, so its order was the catalogue's
-- and moved when a trigger was added: it sorts by creation now.)
-- functions: naboom.restamp_queue_due naboom.category_targets_changed naboom.status_types_changed naboom.audited_tables
-- Issue 16, evidence (13_evidence.sql): the attachments' metadata, the
-- API row, and get_incident's attachments.  No attachment exists before
-- 0.7.0, so nothing is migrated.
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

-- The API row gains its attachments at its end (as a fresh install has it).
ALTER TYPE naboom_api.incident ADD ATTRIBUTE attachments jsonb;

COMMENT ON TYPE naboom_api.incident IS
	'An incident as the caller may see it: reporter hidden from the public, location blurred to about 100 m for sensitive categories unless the caller is the reporter, a responder or a moderator. timeline and attachments (the evidence the caller may see, as naboom_api.attachment fields) are filled by get_incident only; duplicate_candidates by report_incident and raise_panic only';

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

-- functions: naboom.events_written naboom.attachment_deleted naboom.attachment_event naboom.check_attachment_file naboom.check_object_key
-- functions: naboom.check_sha256 naboom.check_taken_at naboom.attachment_out naboom.incident_attachments
-- functions: naboom_api.add_attachment naboom_api.hide_attachment naboom.incident_out naboom_api.get_incident naboom.rate_limit

-- Issue 15, PostGraphile: smart comments that keep the generated GraphQL
-- schema clean.  The composite type subscription would be GraphQL's root
-- Subscription type (PostGraphile does not start with subscriptions on) and
-- my_data would be MyDatum: @name renames them.  Every SETOF function is a
-- plain list (@simpleCollections only): naboom pages with its own keyset
-- cursors, and a Relay connection's own `after` argument clashes with theirs.
-- The functions named on `-- functions:` lines above get their new comments
-- in the block below; these are the others.
COMMENT ON FUNCTION naboom_api.duplicate_candidates(text, text, double precision, double precision) IS
	E'@simpleCollections only\nLive incidents of the category within the category''s duplicate radius and time window of the point, nearest first, with distance in metres (WGS84 spheroid); members of the community';
COMMENT ON FUNCTION naboom_api.incidents_near(double precision, double precision, double precision, text[], text, timestamptz, boolean, integer) IS
	E'@simpleCollections only\nIncidents the caller may see within radius_m metres (WGS84 spheroid) of a point, nearest first (or newest first), live ones unless statuses are given. Sensitive locations are blurred and measured from the blurred point. A gateway pages the result';
COMMENT ON FUNCTION naboom_api.my_subscriptions() IS E'@simpleCollections only\nThe caller''s alert areas, in every community';
COMMENT ON FUNCTION naboom_api.nearest_responders(text, integer, double precision) IS
	E'@simpleCollections only\nOn-duty responders of the incident''s community with a position fresher than naboom.position_max_age, nearest first, within max_radius_m (metres, WGS84 spheroid), never the reporter. For responders, moderators and the service';
COMMENT ON TYPE naboom_api.subscription IS E'@name AlertSubscription\nAn alert area of the caller: a circle (lat, lon, radius_m) or one of the community''s areas (area: its code; lat, lon and radius_m NULL), optionally some categories, at or above a priority';
COMMENT ON FUNCTION naboom_api.community_audit(text, bigint, integer) IS
	E'@simpleCollections only\nA community''s whole audit log, newest first; page with before_id = the last id seen. Admins of the community';
COMMENT ON FUNCTION naboom_api.incident_audit(text, bigint, integer) IS
	E'@simpleCollections only\nThe audit trail of one incident (its row, timeline, alerts, reads and refused attempts), newest first; page with before_id = the last id seen. Moderators and admins of its community';
COMMENT ON FUNCTION naboom_api.events_since(bigint, integer) IS
	E'@simpleCollections only\nCommitted events with id > after_id, in stream order (at most max_count, up to 1000): the service sees every community''s, a member their communities'' (private incidents'' events only as responder, moderator or reporter). Page with after_id = the last id seen; nothing committed is ever skipped';
COMMENT ON FUNCTION naboom_api.sla_report(text, timestamptz, timestamptz) IS
	E'@simpleCollections only\nPer category and area, incidents reported in [from_time, to_time) (duplicates and rejected left out): counts, p50/p90 time to acknowledge and to resolve, breaches of the category''s ack_target and resolve_target (still-open incidents count once their target has passed), and open incidents overdue now. Moderators and admins';
COMMENT ON FUNCTION naboom_api.retention_policies(text) IS
	E'@simpleCollections only\nHow long the community keeps each class of data and what happens then (members of the community)';
COMMENT ON TYPE naboom_api.my_data IS E'@name MyDataExport\nEverything naboom holds about a person (export_my_data): data has one key per kind of row';

-- Issue 15, Open311 GeoReport v2 (13_open311.sql): the document domain
-- (PostgREST 12's "any" media type handler) and the four functions.
CREATE DOMAIN naboom_api."*/*" AS text;

COMMENT ON DOMAIN naboom_api."*/*" IS
	E'@name Open311Document\nAn Open311 GeoReport v2 document (JSON or XML text). Named */* so that PostgREST 12 serves it as its "any" media type handler: the body as it is, with the Content-Type the function sets in response.headers';

-- functions: naboom.open311_time naboom.open311_format naboom.open311_jurisdiction naboom.open311_date
-- functions: naboom.open311_status naboom.open311_document naboom.open311_error naboom.open311_request_json
-- functions: naboom.open311_visible naboom_api.open311_services naboom_api.open311_requests
-- functions: naboom_api.open311_request naboom_api.open311_post_request

-- Issue 16, forwarding to authorities (13_forwarding.sql): the authority
-- and rule tables, the outbox, the authority's updates, the API types;
-- incidents gain requires_authority (false for what was reported before: no
-- rule existed), the timeline an authority_update entry, alerts the reason
-- forwarding, the workflow the actor rule authority (no transition has it
-- until an admin adds it: a value added by ALTER TYPE cannot be used in
-- the transaction that adds it, and a fresh install seeds none either).
ALTER TYPE naboom.actor_rule ADD VALUE 'authority';
COMMENT ON TYPE naboom.actor_rule IS 'Who, besides moderators and admins, may make a transition. authority: an authority''s update (authority_update) may move the incident along it';
ALTER TABLE naboom.incident ADD COLUMN requires_authority boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN naboom.incident.requires_authority IS 'A forwarding rule of its community sends it to an authority (13_forwarding: set when it is reported or its category, place or priority changes)';
ALTER TABLE naboom.incident_timeline DROP CONSTRAINT incident_timeline_entry_kind_check,
	ADD CONSTRAINT incident_timeline_entry_kind_check CHECK (entry_kind IN ('reported', 'status_changed', 'assigned',
		'acknowledged', 'note', 'escalated', 'merged', 'note_deleted', 'authority_update'));
ALTER TABLE naboom.alert DROP CONSTRAINT alert_reason_check,
	ADD CONSTRAINT alert_reason_check CHECK (reason IN ('subscription', 'responder', 'moderator', 'forwarding'));
COMMENT ON COLUMN naboom.alert.reason IS
	'subscription: the member''s alert area covers it; responder: the member is among the nearest on-duty responders; moderator: the last escalation step; forwarding: a forwarding of it to an authority gave up (moderators and admins)';
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
-- functions: naboom.incident_out
-- functions: naboom.append_event naboom.forwarding_out naboom.authority_by_code naboom.require_service
-- functions: naboom.forwarding_payload naboom.enqueue_forwarding naboom.incident_needs_authority naboom.incident_outbox
-- functions: naboom.forwarding_dead naboom_api.upsert_authority naboom_api.upsert_forwarding_rule
-- functions: naboom_api.forward_incident naboom_api.incident_forwardings naboom.claim_due_forwardings naboom_api.claim_forwardings
-- functions: naboom.forwarding_by_id naboom_api.forwarding_delivered naboom_api.forwarding_failed
-- functions: naboom_api.authority_update
-- Issue 17 (the report path): the duplicate and responder searches say how
-- many rows they return (20 and 10, not 1000), so the queries that join them
-- to naboom.incident and naboom.member probe the primary key instead of
-- hashing a whole community; duplicate_rows always runs its generic plan.
-- functions: naboom.duplicate_search naboom.responder_search naboom.duplicate_rows

-- Issue 18, Citus (14_citus.sql): where a reference lives once naboom is
-- distributed (empty on a single node), naboom.distribute(); upserts that
-- stamp a time take it from the inserted row (EXCLUDED), which Citus accepts
-- in ON CONFLICT DO UPDATE where it refuses now().
CREATE TABLE naboom.incident_reference (
	reference text PRIMARY KEY,
	community_id bigint NOT NULL
);

COMMENT ON TABLE naboom.incident_reference IS
	'On a Citus cluster (naboom.distribute), which community holds each incident reference: distributed by reference, so a reference is unique across communities and found without its community. Empty on a single node';

REVOKE ALL ON naboom.incident_reference FROM PUBLIC;

-- Its rows are data (a cluster's directory): pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('naboom.incident_reference', '');

-- Where each community's event stream stands, on the coordinator of a Citus
-- cluster (events.c, PublishCommunity): the highest number handed out to the
-- community, so numbering continues above it even after retention deleted
-- all of the community's events on its worker.  Node-local; empty and unused
-- on a single node.
CREATE TABLE naboom.event_position (
	community_id bigint PRIMARY KEY,
	published_through bigint NOT NULL,
	deleted_through bigint NOT NULL DEFAULT 0 CHECK (deleted_through >= 0)
);

COMMENT ON TABLE naboom.event_position IS
	'On a Citus coordinator (naboom.distribute), the highest event stream number each community has been given: the per-community stream never reuses one. Empty on a single node';

COMMENT ON COLUMN naboom.event_position.deleted_through IS
	'The highest number of the community''s stream that retention has deleted (its event_horizon on a cluster): a sync cursor of the community behind it is expired (naboom_api.incident_changes)';

REVOKE ALL ON naboom.event_position FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('naboom.event_position', '');

-- Erasure on a distributed naboom (erasure.c, AnonymiseThroughShards): the
-- coordinator inserts one row per community, and the row's BEFORE INSERT
-- trigger anonymises the people in that community on the node that holds
-- it, in the erasure's transaction; the row comes back with the counts
-- (never the user_refs) and is deleted at once.  Unused on a single node.
CREATE TABLE naboom.erasure_step (
	community_id bigint NOT NULL,
	step_id uuid NOT NULL,
	user_refs text[],
	as_of timestamptz NOT NULL,
	with_audit boolean NOT NULL,
	counts bigint[],
	PRIMARY KEY (community_id, step_id)
);

COMMENT ON TABLE naboom.erasure_step IS
	'On a Citus cluster, one community''s part of an erasure, done by its insert trigger on the node that holds the community; deleted in the same transaction. Always empty';

CREATE FUNCTION naboom.erasure_step_run() RETURNS trigger
AS 'MODULE_PATHNAME', 'naboom_erasure_step_run' LANGUAGE C;

COMMENT ON FUNCTION naboom.erasure_step_run() IS
	'BEFORE INSERT trigger on naboom.erasure_step: anonymise the row''s people in its community, here (on a Citus worker: in this node''s shards), and keep only the counts';

CREATE TRIGGER erasure_step_run BEFORE INSERT ON naboom.erasure_step
	FOR EACH ROW EXECUTE FUNCTION naboom.erasure_step_run();

CREATE FUNCTION naboom.anonymise_audit_of(user_refs text[], held_communities bigint[], held_incidents bigint[])
RETURNS bigint AS 'MODULE_PATHNAME', 'naboom_anonymise_audit_of' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.anonymise_audit_of(text[], bigint[], bigint[]) IS
	'This node''s audit rows by or keyed by these people, anonymised, except rows of the incidents under legal hold given: an erasure on a Citus cluster runs it on every worker. Superuser only; returns how many';

REVOKE ALL ON naboom.erasure_step FROM PUBLIC;

CREATE FUNCTION naboom.on_every_node(command text, strict boolean DEFAULT false)
RETURNS TABLE (node text, success boolean, result text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r record;
BEGIN
	IF NOT (SELECT x.rolsuper FROM pg_catalog.pg_roles x WHERE x.rolname = current_user) THEN
		-- (raised here, not by naboom.fail: a role that got EXECUTE on this
		-- by mistake may not have it on that)
		RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'naboom.on_every_node is for a superuser',
			DETAIL = 'naboom.superuser_only: It runs a command on every node of the cluster.',
			HINT = 'Run it as the cluster''s superuser (pg_cron''s jobs do).';
	END IF;
	-- This node first, then every worker (in connections of their own).
	node := 'local';
	IF strict THEN
		EXECUTE command INTO result;
		success := true;
	ELSE
		BEGIN
			EXECUTE command INTO result;
			success := true;
		EXCEPTION WHEN OTHERS THEN
			success := false;
			result := SQLERRM;
		END;
	END IF;
	RETURN NEXT;
	IF naboom.is_distributed() THEN
		FOR r IN EXECUTE 'SELECT w.nodename || '':'' || w.nodeport AS node, w.success, w.result'
			' FROM pg_catalog.run_command_on_workers($1) w ORDER BY 1' USING command
		LOOP
			node := r.node;
			success := r.success;
			result := r.result;
			IF strict AND NOT success THEN
				PERFORM naboom.fail('XX000', 'naboom.node_failed', format('the command failed on %s', node),
					result, 'Check that node, then run it again.');
			END IF;
			RETURN NEXT;
		END LOOP;
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.on_every_node(text, boolean) IS
	'Run a command (its first value) on this node and, on a distributed naboom, on every worker: for what each node does for itself. One row per node; strict: naboom.node_failed (XX000) as soon as a node fails. Superuser only';

-- The audit log distributed by community on a cluster (06_audit.sql,
-- 14_citus.sql): each row's position in its community's log (NULL on a
-- single node), the seals of each community's chain, and where each
-- community's numbering stands on the coordinator.
ALTER TABLE naboom.audit_log ADD COLUMN seq bigint;

COMMENT ON COLUMN naboom.audit_log.seq IS
	'On a distributed naboom (Citus): the row''s position in its community''s log, 1, 2, ... in the order rows became visible, given once after commit by the coordinator''s background writer (naboom.number_audit); the community''s seals cover ranges of it. NULL on a single node';

ALTER TABLE naboom.audit_seal ADD COLUMN community_id bigint, ADD COLUMN seq_from bigint, ADD COLUMN seq_to bigint,
	ADD CONSTRAINT audit_seal_community_range CHECK ((community_id IS NULL AND seq_from IS NULL AND seq_to IS NULL)
		OR (community_id IS NOT NULL AND seq_from >= 1 AND seq_to > seq_from));

CREATE INDEX audit_seal_community ON naboom.audit_seal (community_id, seal_id) WHERE community_id IS NOT NULL;

COMMENT ON COLUMN naboom.audit_seal.community_id IS
	'On a distributed naboom: the community whose chain this seal is part of (0: rows without a community); NULL for a seal of a single node''s log, chained by transaction range';

COMMENT ON COLUMN naboom.audit_seal.seq_from IS
	'On a distributed naboom: the first position (naboom.audit_log.seq) of the community''s log this seal covers; it covers [seq_from, seq_to), ids and row_hashes in that order';

CREATE TABLE naboom.audit_position (
	community_id bigint PRIMARY KEY,
	numbered_through bigint NOT NULL CHECK (numbered_through >= 0)
);

COMMENT ON TABLE naboom.audit_position IS
	'On a Citus coordinator (naboom.distribute), the highest position each community''s audit rows have been given (naboom.number_audit); the seals of its chain cover positions up to it. Empty on a single node';

REVOKE ALL ON naboom.audit_position FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('naboom.audit_position', '');

-- functions: naboom.audit_row_text naboom.audit_community_seal_hash naboom.audit_community
-- functions: naboom.seal_audit naboom.verify_audit naboom.audit_insert_queued
-- functions: naboom.is_coordinator naboom.number_audit naboom.seal_community_audit naboom.verify_community_audit
-- functions: naboom.audit_default_route

-- events_since takes a community: on a Citus cluster each community's stream
-- is numbered on its own (events.c), so a cursor belongs to one community.
DROP FUNCTION naboom_api.events_since(bigint, integer);
-- functions: naboom_api.events_since naboom.run_escalation
-- The audit read from its community's shards on a cluster.
-- functions: naboom.audit_rows naboom.person_audit_rows naboom_api.export_my_data naboom.schedule_jobs
-- functions: naboom.is_distributed naboom.distribute
-- functions: naboom_api.upsert_area naboom_api.join_community naboom_api.set_retention
-- functions: naboom.find_incident naboom.file_incident naboom.incident_out naboom.duplicate_rows
-- Citus: no whole row of a table handed to a function in a query a worker runs.
-- functions: naboom_api.delete_note naboom_api.my_subscriptions naboom_api.nearest_responders

-- BEGIN replaced functions

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

CREATE OR REPLACE FUNCTION naboom.find_incident(reference text, actor text, lock boolean,
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

CREATE OR REPLACE FUNCTION naboom.incident_out(i naboom.incident, actor text, my_role naboom.member_role,
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

CREATE OR REPLACE FUNCTION naboom_api.get_incident(reference text)
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

CREATE OR REPLACE FUNCTION naboom.duplicate_search(community_id bigint, category text, lat double precision,
	lon double precision, exclude_id bigint,
	OUT incident_id bigint, OUT distance_m double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'naboom_duplicate_search' LANGUAGE C STABLE ROWS 20;

COMMENT ON FUNCTION naboom.duplicate_search(bigint, text, double precision, double precision, bigint) IS
	'Live incidents of the category within its duplicate radius and window of the point, nearest first (at most 20)';

CREATE OR REPLACE FUNCTION naboom.responder_search(community_id bigint, lat double precision, lon double precision,
	max_count integer, radius_m double precision, exclude_ref text,
	OUT user_ref text, OUT distance_m double precision, OUT reported_at timestamptz, OUT accuracy_m double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'naboom_responder_search' LANGUAGE C STABLE ROWS 10;

COMMENT ON FUNCTION naboom.responder_search(bigint, double precision, double precision, integer, double precision, text) IS
	'On-duty responders of the community with a position fresher than naboom.position_max_age within radius_m, nearest first';

CREATE OR REPLACE FUNCTION naboom.duplicate_rows(c naboom.community, category text, lat double precision,
	lon double precision, actor text, my_role naboom.member_role, exclude_id bigint)
RETURNS SETOF naboom_api.duplicate_candidate
LANGUAGE plpgsql STABLE
-- Generic: a custom plan, chosen for the parameters' values, was planned
-- afresh on every report for the same plan (issue 17).
SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_variable
DECLARE
	staff boolean := (actor IS NULL AND naboom.is_service()) OR coalesce(my_role >= 'responder', false);
	ids bigint[];
	dists double precision[];
BEGIN
	-- The search first, on its own: in a query on naboom.incident, Citus
	-- would run it on the shard's node, where its own query may not run.
	SELECT array_agg(x.incident_id), array_agg(x.distance_m) INTO ids, dists
	FROM naboom.duplicate_search(c.community_id, category, lat, lon, exclude_id) x;
	IF ids IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	-- A blurred incident's distance is measured to the point shown and
	-- rounded to 100 m, and the list is ordered by what is shown: neither
	-- may tell a caller more about the true place than the blurred point.
	SELECT d.reference, d.category_code, d.title, d.status, d.priority::text, w.distance_m,
		ST_Y(v.shown), ST_X(v.shown), v.blur, d.reporter_ref IS NOT DISTINCT FROM actor, d.created_at
	FROM naboom.incident d
	CROSS JOIN LATERAL (SELECT dists[pg_catalog.array_position(ids, d.incident_id)] AS distance_m) s
	JOIN naboom.category cat ON cat.community_id = d.community_id AND cat.code = d.category_code
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT staff AND d.reporter_ref IS DISTINCT FROM actor AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur,
		CASE WHEN b.blur THEN naboom.blur_point(d.location) ELSE d.location END AS shown) v
	CROSS JOIN LATERAL (SELECT CASE WHEN v.blur
		THEN round(ST_Distance(v.shown::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) / 100) * 100
		ELSE round(s.distance_m::numeric, 1)::double precision END AS distance_m) w
	WHERE d.community_id = c.community_id AND d.incident_id = ANY (ids)
		AND (d.is_public OR staff OR d.reporter_ref = actor)
	ORDER BY w.distance_m, d.reference;
END
$$;

COMMENT ON FUNCTION naboom.duplicate_rows(naboom.community, text, double precision, double precision, text, naboom.member_role, bigint) IS
	'The duplicate candidates of a place as the actor may see them (private ones only for their reporter and staff; sensitive ones blurred)';

CREATE OR REPLACE FUNCTION naboom_api.nearest_responders(reference text, max_count integer DEFAULT 5,
	max_radius_m double precision DEFAULT 10000)
RETURNS SETOF naboom_api.responder
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 100);
	r double precision := naboom.check_radius('max_radius_m', max_radius_m);
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
	refs text[];
	dists double precision[];
	ats timestamptz[];
	accs double precision[];
BEGIN
	IF NOT (actor IS NULL AND naboom.is_service()) AND coalesce(f.actor_role < 'responder', true) THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role', 'only responders and moderators see where responders are',
			format('You are %s of this incident''s community.', coalesce('a ' || f.actor_role::text, 'not a member')),
			'Ask a responder or moderator of the community.');
	END IF;
	PERFORM naboom.audit_access(i.community_id, i.incident_id, 'nearest_responders',
		jsonb_build_object('reference', i.reference, 'max_count', n, 'max_radius_m', r));
	-- The search first, on its own (as duplicate_rows): in a query on
	-- naboom.member, Citus would run it on the shard's node, where its own
	-- query may not run.
	SELECT array_agg(x.user_ref), array_agg(x.distance_m), array_agg(x.reported_at), array_agg(x.accuracy_m)
	INTO refs, dists, ats, accs
	FROM naboom.responder_search(i.community_id, ST_Y(i.location), ST_X(i.location), n, max_radius_m,
		i.reporter_ref) x;
	IF refs IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT r.user_ref, m.display_name, round(r.distance_m::numeric, 1)::double precision, r.accuracy_m,
		r.reported_at, r.user_ref IS NOT DISTINCT FROM i.assignee_ref
	FROM unnest(refs, dists, ats, accs) AS r(user_ref, distance_m, reported_at, accuracy_m)
	JOIN naboom.member m ON m.community_id = i.community_id AND m.user_ref = r.user_ref
	ORDER BY r.distance_m, r.user_ref;
END
$$;

COMMENT ON FUNCTION naboom_api.nearest_responders(text, integer, double precision) IS
	E'@simpleCollections only\nOn-duty responders of the incident''s community with a position fresher than naboom.position_max_age, nearest first, within max_radius_m (metres, WGS84 spheroid), never the reporter. For responders, moderators and the service';

CREATE OR REPLACE FUNCTION naboom.subscription_out(s naboom.subscription) RETURNS naboom_api.subscription
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r naboom_api.subscription;
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus")
	SELECT s.subscription_id, c.slug, s.label, ST_Y(s.centre), ST_X(s.centre), s.radius_m, s.categories,
		s.min_priority::text, s.created_at, a.code
	INTO r
	FROM naboom.community c
	LEFT JOIN naboom.area a ON a.community_id = s.community_id AND a.area_id = s.area_id
	WHERE c.community_id = s.community_id;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.subscription_out(naboom.subscription) IS 'A subscription as the API returns it';

CREATE OR REPLACE FUNCTION naboom_api.subscribe_area(community text, area text, categories text[] DEFAULT NULL,
	min_priority text DEFAULT 'low', label text DEFAULT NULL)
RETURNS naboom_api.subscription
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_label text := naboom.clean_text('label', label, false, 80);
	v_priority naboom.priority := naboom.check_priority(min_priority);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	v_area bigint;
	s naboom.subscription;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'a subscription belongs to a person',
			'The naboom service cannot subscribe.', 'Call with the person''s JWT claims.');
	END IF;
	PERFORM naboom.require_role(c, actor, 'resident');
	SELECT a.area_id INTO v_area FROM naboom.area a WHERE a.community_id = c.community_id AND a.code = lower(area);
	IF v_area IS NULL THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_area',
			format('community "%s" has no area "%s"', c.slug, left(coalesce(area, ''), 63)),
			coalesce('Its areas: ' || (SELECT string_agg(a.code, ', ' ORDER BY a.code) FROM naboom.area a
				WHERE a.community_id = c.community_id) || '.', 'It has no areas yet.'),
			'Pick one of the community''s area codes, or subscribe to a circle with subscribe.');
	END IF;
	-- As subscribe: one member's subscriptions are serialised by their
	-- member row, and circles and areas share the limit.
	PERFORM 1 FROM naboom.member m WHERE m.community_id = c.community_id AND m.user_ref = actor FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM naboom.subscription x WHERE x.community_id = c.community_id AND x.user_ref = actor) >= 20 THEN
		PERFORM naboom.fail('PT409', 'naboom.subscription_limit', 'you have 20 alert areas in this community already',
			'A member may have at most 20 alert areas per community.', 'Remove one with unsubscribe first.');
	END IF;
	INSERT INTO naboom.subscription (community_id, user_ref, label, area_id, categories, min_priority)
	VALUES (c.community_id, actor, v_label, v_area, naboom.check_categories(c, categories), v_priority)
	RETURNING * INTO s;
	PERFORM set_config('response.status', '201', true);
	RETURN naboom.subscription_out(s);
END
$$;

COMMENT ON FUNCTION naboom_api.subscribe_area(text, text, text[], text, text) IS
	'Add an alert area that is one of the community''s areas (a ward, a farm block): incidents of the given categories (NULL: all) at or above min_priority whose point the area covers alert the caller, also those routed to a smaller area nested inside it. Shares subscribe''s limit (20 per member per community) and rate limit. 201';

CREATE OR REPLACE FUNCTION naboom_api.my_subscriptions()
RETURNS SETOF naboom_api.subscription
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
	s naboom.subscription;
BEGIN
	-- Row by row: on a cluster a query on naboom.subscription that called
	-- subscription_out would run it on the workers, with the shard's row type.
	FOR s IN SELECT x.* FROM naboom.subscription x WHERE x.user_ref = actor ORDER BY x.subscription_id LOOP
		RETURN NEXT naboom.subscription_out(s);
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom_api.my_subscriptions() IS E'@simpleCollections only\nThe caller''s alert areas, in every community';

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
		al.escalation_level, al.created_at, al.seen_at,
		-- What acknowledge_incident would accept from the caller now.
		coalesce(m.role >= 'responder', false) AND i.acknowledged_by IS NULL AND st.status_type = 'open',
		al.subscription_id, sa.code
	FROM naboom.alert al
	LEFT JOIN naboom.subscription sub ON sub.community_id = al.community_id
		AND sub.subscription_id = al.subscription_id
	LEFT JOIN naboom.area sa ON sa.community_id = sub.community_id AND sa.area_id = sub.area_id
	JOIN naboom.incident i ON i.community_id = al.community_id AND i.incident_id = al.incident_id
	JOIN naboom.status st ON st.status = i.status
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
	E'@simpleCollections only\nThe caller''s alerts with id greater than after_id, oldest first: pass the last id seen to get only new ones. Each says whether it was seen (seen_at) and whether the caller may acknowledge its incident now (can_acknowledge: call acknowledge_incident(reference))';

CREATE OR REPLACE FUNCTION naboom.check_alert_id(up_to_id bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF up_to_id IS NULL OR up_to_id < 0 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_alert_id', 'up_to_id must be an alert id (0 or more)',
			format('It is %s.', coalesce(up_to_id::text, 'NULL')),
			'Pass the id of the newest alert the person has seen (my_alerts, or last_id of unread_alert_count).');
	END IF;
	RETURN up_to_id;
END
$$;

COMMENT ON FUNCTION naboom.check_alert_id(bigint) IS 'up_to_id if it is 0 or more, else naboom.invalid_alert_id (22023)';

CREATE OR REPLACE FUNCTION naboom.alert_state(actor text, marked integer) RETURNS naboom_api.alert_state
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r naboom_api.alert_state;
BEGIN
	-- (PL/pgSQL: Citus cannot plan a SQL function's parameters against
	-- distributed tables, README "Citus")
	SELECT (SELECT count(*) FROM naboom.alert a WHERE a.user_ref = actor AND a.seen_at IS NULL)::integer, marked,
		(SELECT max(a.alert_id) FROM naboom.alert a WHERE a.user_ref = actor)
	INTO r;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom.alert_state(text, integer) IS 'The alert read state of a person (unread through the partial index of unread alerts)';

CREATE OR REPLACE FUNCTION naboom_api.mark_alerts_seen(up_to_id bigint)
RETURNS naboom_api.alert_state
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	v_up_to bigint := naboom.check_alert_id(up_to_id);
	actor text := naboom.require_actor();
	n integer;
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'alerts belong to a person',
			'The naboom service has no alerts.', 'Call with the person''s JWT claims.');
	END IF;
	-- Only what is still unread: seen_at keeps the first time, and of two
	-- devices marking at once each alert is counted by one of them (the
	-- second re-reads the row after the first commits).  An alert that
	-- commits after this call with a smaller id stays unread.
	UPDATE naboom.alert a SET seen_at = now()
	WHERE a.user_ref = actor AND a.alert_id <= v_up_to AND a.seen_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN naboom.alert_state(actor, n);
END
$$;

COMMENT ON FUNCTION naboom_api.mark_alerts_seen(bigint) IS
	'Mark the caller''s unread alerts with id up to up_to_id seen (in every community); returns how many it marked, what is still unread and the newest alert''s id. An alert seen before keeps its seen_at';

CREATE OR REPLACE FUNCTION naboom_api.unread_alert_count()
RETURNS naboom_api.alert_state
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
	actor text := naboom.require_actor();
BEGIN
	RETURN naboom.alert_state(actor, NULL);
END
$$;

COMMENT ON FUNCTION naboom_api.unread_alert_count() IS
	'How many of the caller''s alerts are unread (in every community; cheap: a badge may poll it), and the newest alert''s id (pass it to mark_alerts_seen to mark them all seen)';

CREATE OR REPLACE FUNCTION naboom.audit_row_text(a naboom.audit_log) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.concat_ws(E'\x1f', a.id, (EXTRACT(epoch FROM a.logged_at) * 1000000)::bigint,
		a.xid, coalesce(NULLIF(a.community_id, 0)::text, '-'), coalesce(a.incident_id::text, '-'), a.action,
		coalesce(a.table_name, '-'), coalesce(a.row_key::text, '-'), coalesce(a.old_values::text, '-'),
		coalesce(a.new_values::text, '-'), coalesce(a.actor, '-'), a.db_role, coalesce(a.client_addr, '-'),
		coalesce(a.user_agent, '-'), coalesce(a.request_id, '-'), a.success, coalesce(a.detail::text, '-'))
$$;

COMMENT ON FUNCTION naboom.audit_row_text(naboom.audit_log) IS
	'The canonical text of an audit row that its seal hash covers (independent of TimeZone and DateStyle)';

CREATE OR REPLACE FUNCTION naboom.audit_community_seal_hash(prev_hash bytea, community_id bigint, seq_from bigint, seq_to bigint,
	ids bigint[], row_hashes bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.sha256(prev_hash || pg_catalog.convert_to('community ' || community_id::text || ':' || seq_from::text
		|| ':' || seq_to::text || ':' || pg_catalog.array_to_string(ids, ','), 'UTF8') || row_hashes)
$$;

COMMENT ON FUNCTION naboom.audit_community_seal_hash(bytea, bigint, bigint, bigint, bigint[], bytea) IS
	'The hash of a seal of a community''s chain (a distributed naboom): SHA-256 of the previous seal''s hash, the community, the range of positions, the ids and the row hashes';

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
	-- A distributed naboom seals each community's chain by position.
	IF naboom.is_distributed() THEN
		RETURN naboom.seal_community_audit(max_rows);
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
	-- A distributed naboom verifies each community's chain by position.
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.verify_community_audit(from_time, to_time);
		RETURN;
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

CREATE OR REPLACE FUNCTION naboom.audit_community(community_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF community_id IS NOT NULL THEN
		RETURN community_id;
	END IF;
	-- (a worker added after distribute() has the shell its CREATE EXTENSION
	-- made: Citus's metadata tells there)
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute t WHERE t.attrelid = 'naboom.audit_log'::pg_catalog.regclass
			AND t.attname = 'community_id' AND t.attnotnull) OR naboom.is_distributed() THEN
		RETURN 0;
	END IF;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.audit_community(bigint) IS
	'The community an audit row is filed under: its own, or none (NULL), which a distributed naboom files under 0 (its log''s distribution column is NOT NULL; 0 hashes as none)';

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
		coalesce(CASE WHEN r.packed THEN (r.rec->>0)::bigint ELSE (entry->>'community_id')::bigint END,
			naboom.audit_community(NULL)),
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
	-- A distributed log is partitioned on the coordinator (Citus makes each
	-- month's shards, with the month's trigger).
	IF naboom.is_distributed() THEN
		IF NOT naboom.is_coordinator() THEN
			PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is partitioned on the coordinator',
				'Citus makes the shards of each month the coordinator makes.', 'Run naboom.audit_maintain() on the coordinator.');
		END IF;
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
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
			-- (Not on a distributed naboom, whose default partition is in
			-- shards: that month stays in the default partition.)
			IF naboom.is_distributed() THEN
				RAISE WARNING 'naboom.audit_maintain: % has rows in the default partition; on a distributed naboom it gets no partition', name
					USING HINT = 'Its rows stay in naboom.audit_log_default and retention does not drop them; the daily job makes each month''s partition three months ahead so that this does not happen.';
				CONTINUE;
			END IF;
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
		-- 99_security), so a restore in another month finds no clash.
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

CREATE OR REPLACE FUNCTION naboom.audited_tables() RETURNS SETOF regclass
LANGUAGE sql STABLE AS $$
	SELECT t.tgrelid::regclass FROM pg_catalog.pg_trigger t
	WHERE t.tgname = 'audit_changes' AND NOT t.tgisinternal ORDER BY t.tgrelid
$$;

COMMENT ON FUNCTION naboom.audited_tables() IS 'Tables with the audit_changes trigger, in the order they were created (oid)';

CREATE OR REPLACE FUNCTION naboom.audit_rows(community_id bigint, incident_id bigint, before_id bigint, max_count integer)
RETURNS SETOF naboom_api.audit_entry
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
	IF NOT naboom.is_distributed() THEN
		RETURN QUERY
		SELECT a.id, a.logged_at, a.action, a.table_name, i.reference, a.row_key, a.old_values, a.new_values,
			a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id, a.success, a.detail
		FROM naboom.audit_log a
		LEFT JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
		WHERE a.community_id = community_id
			AND (incident_id IS NULL OR a.incident_id = incident_id)
			AND (before_id IS NULL OR a.id < before_id)
		ORDER BY a.id DESC
		LIMIT max_count;
		RETURN;
	END IF;
	-- On a Citus cluster the community's log sits with its shards, in the
	-- order of its positions (seq; rows get theirs a moment after commit):
	-- one statement Citus routes to the community's node, then named.  An
	-- entry's id there is its position, as an event's is in the stream.
	RETURN QUERY EXECUTE 'SELECT a.seq, a.logged_at, a.action, a.table_name, i.reference, a.row_key, a.old_values,
			a.new_values, a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id, a.success, a.detail
		FROM naboom.audit_log a
		LEFT JOIN naboom.incident i ON i.community_id = $1 AND i.community_id = a.community_id
			AND i.incident_id = a.incident_id
		WHERE a.community_id = $1 AND a.seq IS NOT NULL AND ($2::bigint IS NULL OR a.incident_id = $2)
			AND ($3::bigint IS NULL OR a.seq < $3)
		ORDER BY a.seq DESC LIMIT $4'
		USING community_id, incident_id, before_id, max_count;
END
$$;

COMMENT ON FUNCTION naboom.audit_rows(bigint, bigint, bigint, integer) IS
	'A community''s audit entries (of one incident if incident_id is given), newest first, before before_id';

CREATE OR REPLACE FUNCTION naboom.person_audit_rows(user_ref text)
RETURNS SETOF naboom.audit_log
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
	IF NOT naboom.is_distributed() THEN
		RETURN QUERY
		SELECT x.* FROM naboom.audit_log x WHERE x.actor = user_ref
		UNION
		SELECT x.* FROM naboom.audit_log x WHERE x.row_key ? 'user_ref' AND x.row_key->>'user_ref' = user_ref;
		RETURN;
	END IF;
	-- a distributed naboom: every community's log, on every node
	RETURN QUERY EXECUTE 'SELECT x.* FROM naboom.audit_log x WHERE x.actor = $1
		OR (x.row_key ? ''user_ref'' AND x.row_key->>''user_ref'' = $1)
		ORDER BY x.community_id, x.seq NULLS LAST, x.id' USING user_ref;
END
$$;

COMMENT ON FUNCTION naboom.person_audit_rows(text) IS
	'The audit rows by or keyed by a person (their export), from every community''s log on a distributed naboom';

CREATE OR REPLACE FUNCTION naboom_api.events_since(after_id bigint DEFAULT 0, max_count integer DEFAULT 100, community text DEFAULT NULL)
RETURNS SETOF naboom_api.event
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 1000);
	actor text := naboom.require_actor();
	service boolean := actor IS NULL;
	mine bigint[] := CASE WHEN actor IS NULL THEN '{}' ELSE naboom.my_community_ids() END;
	staff_of bigint[] := CASE WHEN actor IS NULL THEN '{}' ELSE naboom.my_staff_community_ids() END;
	cid bigint;
BEGIN
	IF after_id IS NULL OR after_id < 0 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_after_id', 'after_id must be 0 or a stream id',
			format('It is %s.', coalesce(after_id::text, 'NULL')), 'Pass 0 to start, then the last id you saw.');
	END IF;
	IF community IS NOT NULL THEN
		-- One community's stream (the only kind on a Citus cluster, where
		-- each community's events are numbered on its own): a query on one
		-- community, which Citus runs on the node that holds it.
		cid := (naboom.community_by_slug(community)).community_id;
		RETURN QUERY
		SELECT e.seq, e.topic, c.slug, i.reference, e.created_at, e.payload
		FROM naboom.event e
		JOIN naboom.community c ON c.community_id = e.community_id
		LEFT JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
		WHERE e.community_id = cid
			AND e.seq > after_id
			AND (service OR cid = ANY (mine))
			AND (service OR e.is_public OR cid = ANY (staff_of) OR i.reporter_ref = actor)
		ORDER BY e.seq
		LIMIT n;
		RETURN;
	END IF;
	IF naboom.is_distributed() THEN
		PERFORM naboom.fail('22023', 'naboom.community_required', 'events_since needs a community on a distributed naboom',
			'On a Citus cluster each community has its own stream, numbered on its own: an id says nothing about another community''s.',
			'Pass community => the slug, and keep one cursor (the last id seen) per community.');
	END IF;
	RETURN QUERY
	SELECT e.seq, e.topic, c.slug, i.reference, e.created_at, e.payload
	FROM naboom.event e
	JOIN naboom.community c ON c.community_id = e.community_id
	LEFT JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
	WHERE e.seq > after_id
		AND (service OR e.community_id = ANY (mine))
		AND (service OR e.is_public OR e.community_id = ANY (staff_of) OR i.reporter_ref = actor)
	ORDER BY e.seq
	LIMIT n;
END
$$;

COMMENT ON FUNCTION naboom_api.events_since(bigint, integer, text) IS
	E'@simpleCollections only\nCommitted events with id > after_id, in stream order (at most max_count, up to 1000): the service sees every community''s, a member their communities'' (private incidents'' events only as responder, moderator or reporter). Page with after_id = the last id seen; nothing committed is ever skipped. With community, only that community''s events (required on a Citus cluster, where each community''s stream is numbered on its own)';

CREATE OR REPLACE FUNCTION naboom.run_escalation(max_count integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	i record;
	level integer;
	next_at timestamptz;
	done integer := 0;
BEGIN
	-- Due incidents are found first, then each is claimed on its own with
	-- FOR UPDATE SKIP LOCKED and checked again: two runs at once take
	-- different incidents, and a row another run has escalated meanwhile
	-- (its next_escalation_at moved on) is left.  Claiming row by row keeps
	-- every lock inside one community, which is what Citus can run on a
	-- distributed naboom (a FOR UPDATE over every shard it refuses).
	FOR i IN
		SELECT x.community_id, x.incident_id, x.reference,
			c.escalation_steps, c.escalation_interval, c.alert_radius_m, c.alert_responders, c.escalation_radius_factor
		FROM naboom.incident x
		JOIN naboom.community c ON c.community_id = x.community_id
		JOIN naboom.status s ON s.status = x.status
		WHERE x.next_escalation_at <= now()
			AND x.acknowledged_at IS NULL
			AND s.status_type = 'open'
		ORDER BY x.next_escalation_at, x.incident_id
		LIMIT greatest(coalesce(max_count, 100), 1)
	LOOP
		SELECT x.escalation_level INTO level
		FROM naboom.incident x
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id
			AND x.next_escalation_at <= now()
			AND x.acknowledged_at IS NULL
			AND x.status IN (SELECT s.status FROM naboom.status s WHERE s.status_type = 'open')
		FOR UPDATE OF x SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		level := level + 1;
		-- The next ring: the nearest on-duty responders not yet alerted,
		-- within a wider radius.
		PERFORM naboom.alert_incident(i.community_id, i.incident_id, i.alert_responders,
			least(i.alert_radius_m * power(i.escalation_radius_factor, level), current_setting('naboom.max_radius_m')::float8),
			level);
		IF level >= i.escalation_steps THEN
			-- The last step: the community's moderators and admins.
			INSERT INTO naboom.alert (community_id, incident_id, user_ref, reason, escalation_level)
			SELECT m.community_id, i.incident_id, m.user_ref, 'moderator', level
			FROM naboom.member m
			WHERE m.community_id = i.community_id AND m.role >= 'moderator'
			ON CONFLICT ON CONSTRAINT alert_once DO NOTHING;
		END IF;
		-- The journal trigger writes the 'escalated' entry and event.  (The
		-- next step's time is worked out first: Citus refuses now() inside
		-- CASE in an UPDATE of a distributed table.)
		next_at := CASE WHEN level >= i.escalation_steps THEN NULL ELSE now() + i.escalation_interval END;
		UPDATE naboom.incident x
		SET escalation_level = level, next_escalation_at = next_at
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id;
		done := done + 1;
	END LOOP;
	RETURN done;
END
$$;

COMMENT ON FUNCTION naboom.run_escalation(integer) IS
	'Escalate every unacknowledged panic or critical incident whose next_escalation_at has passed (at most max_count): raise its level, alert the next ring of responders in a wider radius, at the last step the moderators; a timeline entry and an incident.escalated event per step. Run every minute by pg_cron; two runs at once never escalate the same step twice';

CREATE OR REPLACE FUNCTION naboom.rate_limit(community_id bigint, user_ref text, action text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_variable
DECLARE
	-- [count, seconds] per member, action and community (README "Rate limits").
	defaults jsonb := '{"report": [30, 60], "panic": [10, 60], "subscription": [60, 3600], "note": [60, 600],
		"profile": [10, 3600], "setup": [120, 3600], "attachment": [60, 3600]}';
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
	'Count one request of a member for an action (report, panic, subscription, note, profile, setup, attachment) in the current fixed window; over the limit raises naboom.rate_limited (PT429) with the seconds to wait. Limits: defaults, or the community''s settings->''rate_limits''->action = [count, seconds]. The count survives reconnects and holds across concurrent sessions (row lock)';

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
			-- (on a Citus cluster all of them run on the coordinator, where
			-- pg_cron is: a distributed audit log is sealed and partitioned
			-- there, each community's chain of seals kept there)
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
		ON CONFLICT ON CONSTRAINT community_retention_pkey DO UPDATE SET keep = EXCLUDED.keep, set_at = EXCLUDED.set_at;
	END IF;
	SELECT * INTO r FROM naboom_api.retention_policies(c.slug) x WHERE x.data_class = p.data_class;
	RETURN r;
END
$$;

COMMENT ON FUNCTION naboom_api.set_retention(text, text, interval) IS
	'Set the community''s own period for a data class, within the DBA''s bounds (admins); NULL goes back to the default. Audited';

CREATE OR REPLACE FUNCTION naboom_api.delete_note(reference text, seq integer)
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

CREATE OR REPLACE FUNCTION naboom_api.export_my_data() RETURNS naboom_api.my_data
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

CREATE OR REPLACE FUNCTION naboom.check_page_size(max_count integer) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_check_page_size' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.check_page_size(integer) IS
	'The rows a page of a list holds: max_count, or naboom.default_page_size when NULL; naboom.invalid_count outside 1 .. naboom.max_page_size';

CREATE OR REPLACE FUNCTION naboom.page_cursor(kind text, parts text[]) RETURNS text
AS 'MODULE_PATHNAME', 'naboom_page_cursor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor(text, text[]) IS
	'The opaque keyset cursor of one row of the list kind, whose sort key is parts (src/page.c)';

CREATE OR REPLACE FUNCTION naboom.page_cursor_parts(kind text, cursor text, nparts integer) RETURNS text[]
AS 'MODULE_PATHNAME', 'naboom_page_cursor_parts' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION naboom.page_cursor_parts(text, text, integer) IS
	'The sort key a cursor of the list kind carries (nparts parts), NULL for no cursor; naboom.invalid_cursor for anything else';

CREATE OR REPLACE FUNCTION naboom.incident_visible(is_public boolean, reporter_ref text, actor text,
	my_role naboom.member_role, service boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	-- (service: actor IS NULL AND naboom.is_service(), which the caller
	-- works out once: on a Citus cluster this runs on the worker, inside a
	-- query Citus only pushes down with immutable functions)
	SELECT is_public OR service OR reporter_ref = actor OR coalesce(my_role >= 'responder', false)
$$;

COMMENT ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role, boolean) IS
	'Whether the actor (whose role in the incident''s community is my_role) may see an incident: find_incident''s rule and the row-level security policy''s, as an expression a list''s query inlines';

CREATE OR REPLACE FUNCTION naboom.incident_items(actor text, page naboom.incident[], cursors text[])
RETURNS SETOF naboom_api.incident_item
LANGUAGE sql STABLE AS $$
	-- The rows of one page, in the page's order, each as incident_out shows
	-- it to the actor; the caller has already kept only visible incidents.
	SELECT i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text,
		i.title, i.description,
		ST_Y(v.shown), ST_X(v.shown), v.blur,
		CASE WHEN v.blur THEN greatest(coalesce(i.accuracy_m, 0), 100) ELSE i.accuracy_m END,
		CASE WHEN v.blur THEN NULL ELSE i.address END,
		a.code, i.outside_boundary, i.priority::text, i.status, st.status_type::text,
		st.label_en, st.label_af, i.status_note,
		CASE WHEN w.mine OR w.moderator OR (NOT cat.is_sensitive AND me.role IS NOT NULL)
			THEN rep.display_name END,
		w.mine,
		CASE WHEN w.member THEN i.assignee_ref END,
		CASE WHEN w.member THEN asg.display_name END,
		i.acknowledged_at IS NOT NULL,
		dup.reference,
		(SELECT count(*)::integer FROM naboom.incident d
			WHERE d.community_id = i.community_id AND d.duplicate_of = i.incident_id),
		i.is_public, i.version, i.escalation_level,
		i.created_at, i.acknowledged_at, i.resolved_at, i.closed_at, i.updated_at,
		i.created_at + cat.ack_target, i.created_at + cat.resolve_target,
		st.status_type = 'open' AND (i.acknowledged_at IS NULL AND now() > i.created_at + cat.ack_target
			OR now() > i.created_at + cat.resolve_target),
		p.cursor
	-- (unnest of a composite array expands its columns: i has the
	-- incident's; a multi-argument unnest would rename them.)
	FROM unnest(page) WITH ORDINALITY AS i
	LEFT JOIN unnest(cursors) WITH ORDINALITY AS p(cursor, ord) ON p.ord = i.ordinality
	JOIN naboom.community c ON c.community_id = i.community_id
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = actor
	CROSS JOIN LATERAL (SELECT actor IS NULL AND naboom.is_service() AS service,
		actor IS NOT NULL AND i.reporter_ref IS NOT DISTINCT FROM actor AS mine) s
	CROSS JOIN LATERAL (SELECT s.mine, s.service OR me.role IS NOT NULL AS member,
		s.service OR coalesce(me.role >= 'responder', false) AS staff,
		s.service OR coalesce(me.role >= 'moderator', false) AS moderator) w
	CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT w.staff AND NOT w.mine AS blur) b
	CROSS JOIN LATERAL (SELECT b.blur,
		CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
	LEFT JOIN naboom.member rep ON rep.community_id = i.community_id AND rep.user_ref = i.reporter_ref
	LEFT JOIN naboom.member asg ON asg.community_id = i.community_id AND asg.user_ref = i.assignee_ref
	LEFT JOIN naboom.incident dup ON dup.community_id = i.community_id AND dup.incident_id = i.duplicate_of
	ORDER BY i.ordinality
$$;

COMMENT ON FUNCTION naboom.incident_items(text, naboom.incident[], text[]) IS
	'A page of a list: the incidents (already filtered to those the actor may see) as incident_out shows them to the actor, in the page''s order, each with its cursor';

CREATE OR REPLACE FUNCTION naboom.incident_items_routed(actor text, page naboom.incident[], cursors text[])
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE AS $$
-- naboom.incident_items for a Citus cluster, the same rows.  PL/pgSQL:
-- Citus plans no SQL function's parameters against distributed tables.
-- (On a single node the SQL function, which the planner inlines into the
-- list's query, is about 9 % faster a page: both are kept.)  One statement
-- per run of the page's rows in one community (the runs keep the page's
-- order; a page is usually one community's, one run), its rows filtered by
-- that community: the planner
-- carries the constant to every table joined on community_id, so Citus
-- sends the statement whole to the community's node (the subquery, which
-- it cannot carry to, is filtered itself).  Whether the caller is the
-- service is worked out here, on the coordinator.
DECLARE
	service boolean := actor IS NULL AND naboom.is_service();
	total integer := coalesce(cardinality(page), 0);
	v_comm bigint;
	k integer := 1;
	j integer;
BEGIN
	WHILE k <= total LOOP
		v_comm := (page[k]).community_id;
		j := k;
		WHILE j < total AND (page[j + 1]).community_id = v_comm LOOP
			j := j + 1;
		END LOOP;
		RETURN QUERY
		SELECT i.reference, c.slug, i.category_code, cat.name_en, cat.name_af, i.kind::text,
			i.title, i.description,
			ST_Y(v.shown), ST_X(v.shown), v.blur,
			CASE WHEN v.blur THEN greatest(coalesce(i.accuracy_m, 0), 100) ELSE i.accuracy_m END,
			CASE WHEN v.blur THEN NULL ELSE i.address END,
			a.code, i.outside_boundary, i.priority::text, i.status, st.status_type::text,
			st.label_en, st.label_af, i.status_note,
			CASE WHEN w.mine OR w.moderator OR (NOT cat.is_sensitive AND me.role IS NOT NULL)
				THEN rep.display_name END,
			w.mine,
			CASE WHEN w.member THEN i.assignee_ref END,
			CASE WHEN w.member THEN asg.display_name END,
			i.acknowledged_at IS NOT NULL,
			dup.reference,
			(SELECT count(*)::integer FROM naboom.incident d
				WHERE d.community_id = i.community_id AND d.duplicate_of = i.incident_id
					AND d.community_id = v_comm),
			i.is_public, i.version, i.escalation_level,
			i.created_at, i.acknowledged_at, i.resolved_at, i.closed_at, i.updated_at,
			i.created_at + cat.ack_target, i.created_at + cat.resolve_target,
			st.status_type = 'open' AND (i.acknowledged_at IS NULL AND now() > i.created_at + cat.ack_target
				OR now() > i.created_at + cat.resolve_target),
			p.cursor
		-- (unnest of a composite array expands its columns: i has the
		-- incident's; a multi-argument unnest would rename them.)
		FROM unnest(page[k:j]) WITH ORDINALITY AS i
		LEFT JOIN unnest(cursors[k:j]) WITH ORDINALITY AS p(cursor, ord) ON p.ord = i.ordinality
		JOIN naboom.community c ON c.community_id = i.community_id
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
		CROSS JOIN LATERAL (SELECT service AS service,
			actor IS NOT NULL AND i.reporter_ref IS NOT DISTINCT FROM actor AS mine) s
		CROSS JOIN LATERAL (SELECT s.mine, s.service OR me.role IS NOT NULL AS member,
			s.service OR coalesce(me.role >= 'responder', false) AS staff,
			s.service OR coalesce(me.role >= 'moderator', false) AS moderator) w
		CROSS JOIN LATERAL (SELECT cat.is_sensitive AND NOT w.staff AND NOT w.mine AS blur) b
		CROSS JOIN LATERAL (SELECT b.blur,
			CASE WHEN b.blur THEN naboom.blur_point(i.location) ELSE i.location END AS shown) v
		LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
		LEFT JOIN naboom.member rep ON rep.community_id = i.community_id AND rep.user_ref = i.reporter_ref
		LEFT JOIN naboom.member asg ON asg.community_id = i.community_id AND asg.user_ref = i.assignee_ref
		LEFT JOIN naboom.incident dup ON dup.community_id = i.community_id AND dup.incident_id = i.duplicate_of
		WHERE i.community_id = v_comm
		ORDER BY i.ordinality;
		k := j + 1;
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom.incident_items_routed(text, naboom.incident[], text[]) IS
	'naboom.incident_items on a Citus cluster: the same rows, read one community at a time so that Citus routes each statement to its node';

CREATE OR REPLACE FUNCTION naboom.cursor_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT (extract(epoch FROM t) * 1000000)::bigint::text
$$;

COMMENT ON FUNCTION naboom.cursor_time(timestamptz) IS
	'A time as a cursor part: integer microseconds since 1970-01-01 UTC';

CREATE OR REPLACE FUNCTION naboom.cursor_invalid() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'invalid page cursor',
		'The cursor''s sort key is not one this list makes.',
		'Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page.');
END
$$;

COMMENT ON FUNCTION naboom.cursor_invalid() IS
	'Raise naboom.invalid_cursor (22023) for a cursor whose checksum is right but whose sort key no list makes (one made by hand)';

CREATE OR REPLACE FUNCTION naboom.cursor_bigint(part text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF part !~ '^-?[0-9]{1,18}$' THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	RETURN part::bigint;
END
$$;

COMMENT ON FUNCTION naboom.cursor_bigint(text) IS
	'An integer cursor part (an id, or a time in microseconds), NULL for NULL (no cursor); naboom.invalid_cursor (22023) for anything else';

CREATE OR REPLACE FUNCTION naboom.cursor_timestamp(part text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT 'epoch'::timestamptz + naboom.cursor_bigint(part) * interval '1 microsecond'
$$;

COMMENT ON FUNCTION naboom.cursor_timestamp(text) IS
	'The time a cursor part made by naboom.cursor_time carries, NULL for NULL (no cursor); naboom.invalid_cursor (22023) for anything else';

CREATE OR REPLACE FUNCTION naboom.check_statuses(statuses text[], live_only boolean) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	unknown text;
BEGIN
	IF statuses IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT s INTO unknown FROM unnest(statuses) s
	WHERE s IS NULL OR NOT EXISTS (SELECT 1 FROM naboom.status x WHERE x.status = s) LIMIT 1;
	IF FOUND OR cardinality(statuses) = 0 THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_status', format('unknown status "%s"', left(coalesce(unknown, ''), 40)),
			'Statuses: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order) FROM naboom.status x) || '.',
			'Leave statuses out for all of them.');
	END IF;
	SELECT s INTO unknown FROM unnest(statuses) s JOIN naboom.status x ON x.status = s
	WHERE live_only AND x.status_type <> 'open' LIMIT 1;
	IF FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.status_not_live', format('status "%s" is not a live status', unknown),
			'The queue holds live incidents only: ' || (SELECT string_agg(x.status, ', ' ORDER BY x.sort_order)
				FROM naboom.status x WHERE x.status_type = 'open') || '.',
			'Use community_incidents for incidents that are no longer live.');
	END IF;
	RETURN statuses;
END
$$;

COMMENT ON FUNCTION naboom.check_statuses(text[], boolean) IS
	'The statuses if every one is known (and live, when live_only); NULL for all; else naboom.unknown_status or naboom.status_not_live (22023)';

CREATE OR REPLACE FUNCTION naboom.check_area(c naboom.community, area text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	IF area IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT a.area_id INTO id FROM naboom.area a WHERE a.community_id = c.community_id AND a.code = lower(area);
	IF NOT FOUND THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_area',
			format('unknown area "%s" in community "%s"', left(area, 40), c.slug),
			'Known areas: ' || (SELECT coalesce(string_agg(a.code, ', ' ORDER BY a.code), 'none')
				FROM naboom.area a WHERE a.community_id = c.community_id) || '.',
			'Pick a known area, or leave area out for all.');
	END IF;
	RETURN id;
END
$$;

COMMENT ON FUNCTION naboom.check_area(naboom.community, text) IS
	'The id of the community''s area with this code; NULL for none; else naboom.unknown_area (22023)';

CREATE OR REPLACE FUNCTION naboom.sla_due(created_at timestamptz, acknowledged_at timestamptz,
	ack_target interval, resolve_target interval) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN acknowledged_at IS NULL
		THEN least(created_at + ack_target, created_at + resolve_target)
		ELSE created_at + resolve_target END
$$;

COMMENT ON FUNCTION naboom.sla_due(timestamptz, timestamptz, interval, interval) IS
	'When a live incident''s next SLA falls due: the earlier of acknowledge-by and resolve-by while unacknowledged, else resolve-by; past it, the incident is overdue';

CREATE OR REPLACE FUNCTION naboom.priority_rank(p naboom.priority) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
$$;

COMMENT ON FUNCTION naboom.priority_rank(naboom.priority) IS 'The queue''s order of priorities: 0 for critical .. 3 for low';

CREATE OR REPLACE FUNCTION naboom.restamp_queue_due(community_id bigint, category_code text) RETURNS bigint
AS 'MODULE_PATHNAME', 'naboom_restamp_queue_due' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.restamp_queue_due(bigint, text) IS
	'Stamp queue_due_at again on the live incidents of a category (both NULL: of every incident) after its SLA targets changed, without a new version, timeline entry, event or audit row per incident; returns the rows changed';

CREATE OR REPLACE FUNCTION naboom.category_targets_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM naboom.restamp_queue_due(NEW.community_id, NEW.code);
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.category_targets_changed() IS
	'AFTER UPDATE of a category''s SLA targets: its live incidents'' queue_due_at follows (naboom.restamp_queue_due)';

CREATE OR REPLACE FUNCTION naboom.status_types_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM naboom.restamp_queue_due(NULL, NULL);
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.status_types_changed() IS
	'AFTER UPDATE of naboom.status.status_type: every incident''s queue_due_at follows (naboom.restamp_queue_due)';

CREATE OR REPLACE FUNCTION naboom_api.incident_queue(community text, statuses text[] DEFAULT NULL,
	priorities text[] DEFAULT NULL, category text DEFAULT NULL, area text DEFAULT NULL,
	assignee text DEFAULT NULL, overdue_only boolean DEFAULT false, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	-- Sort key of the last row seen: the first page's clock, priority,
	-- due time, creation time, id.
	cur text[] := naboom.page_cursor_parts('queue', after, 5);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.require_actor();
	my_role naboom.member_role := naboom.require_role(c, actor, 'responder');
	service boolean := actor IS NULL AND naboom.is_service();
	v_statuses text[] := naboom.check_statuses(statuses, true);
	v_categories text[] := naboom.check_categories(c, CASE WHEN category IS NOT NULL THEN ARRAY[category] END);
	v_area bigint := naboom.check_area(c, area);
	v_priorities naboom.priority[];
	live text[] := ARRAY(SELECT x.status FROM naboom.status x WHERE x.status_type = 'open');
	-- Overdue depends on the clock: every page of one walk sorts by the
	-- clock of its first page, which the cursor carries.
	t0 timestamptz := coalesce(naboom.cursor_timestamp(cur[1]), now());
	c_seg integer := -1;
	c_due timestamptz := naboom.cursor_timestamp(cur[3]);
	c_created timestamptz := naboom.cursor_timestamp(cur[4]);
	c_id bigint := naboom.cursor_bigint(cur[5]);
	-- The queue's segments in order: overdue critical, high, medium, low,
	-- then the same four not yet overdue.
	ranks naboom.priority[] := ARRAY['critical', 'high', 'medium', 'low']::naboom.priority[];
	seg integer;
	p naboom.priority;
	lo_due timestamptz;
	lo_created timestamptz;
	lo_id bigint;
	hi_due timestamptz;
	page naboom.incident[] := '{}';
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF priorities IS NOT NULL THEN
		v_priorities := ARRAY(SELECT naboom.check_priority(lower(x)) FROM unnest(priorities) x);
		IF cardinality(v_priorities) = 0 THEN
			PERFORM naboom.check_priority(NULL);
		END IF;
	END IF;
	IF assignee IS NOT NULL AND NOT EXISTS (SELECT 1 FROM naboom.member m
			WHERE m.community_id = c.community_id AND m.user_ref = assignee) THEN
		PERFORM naboom.fail('22023', 'naboom.unknown_assignee',
			format('"%s" is not a member of community "%s"', left(assignee, 40), c.slug),
			'Only members of the community are assigned its incidents.', 'Filter by the user_ref of a responder of the community.');
	END IF;
	IF cur IS NOT NULL THEN
		IF array_position(cur, NULL) IS NOT NULL OR cur[2] NOT IN ('low', 'medium', 'high', 'critical') THEN
			PERFORM naboom.cursor_invalid();
		END IF;
		c_seg := CASE WHEN c_due < t0 THEN 0 ELSE 4 END + naboom.priority_rank(cur[2]::naboom.priority);
	END IF;

	-- The order is (overdue, priority, due time, age), and overdue is
	-- queue_due_at < t0: each segment (overdue or not, one priority) is one
	-- range of incident_queue_idx in the queue's order, so a page reads
	-- the segments in turn, each by an index scan that stops at the rows
	-- the page still needs: about a page, never the whole community.  The
	-- cursor's segment starts after the cursor's row, the ones before it
	-- are skipped.  (One query per segment rather than a UNION ALL: only
	-- an ORDER BY guarantees an order, and the executor would sort them.)
	FOR seg IN GREATEST(c_seg, 0) .. 7 LOOP
		p := ranks[seg % 4 + 1];
		CONTINUE WHEN v_priorities IS NOT NULL AND NOT p = ANY (v_priorities);
		EXIT WHEN coalesce(overdue_only, false) AND seg >= 4;
		IF seg = c_seg THEN
			lo_due := c_due;
			lo_created := c_created;
			lo_id := c_id;
		ELSE
			-- (a row comparison strictly after (t0, -infinity, 0) is due >= t0)
			lo_due := CASE WHEN seg < 4 THEN '-infinity' ELSE t0 END;
			lo_created := '-infinity';
			lo_id := 0;
		END IF;
		hi_due := CASE WHEN seg < 4 THEN t0 ELSE 'infinity' END;
		-- (ROW(i.*): on a cluster the worker's whole row would be of its shard's type)
		page := page || ARRAY(
			SELECT ROW(i.*)::naboom.incident FROM naboom.incident i
			WHERE i.community_id = c.community_id
				AND i.priority = p
				AND i.queue_due_at IS NOT NULL
				-- (no OR here: one row comparison and one bound, index
				-- conditions in every plan, generic or not)
				AND (i.queue_due_at, i.created_at, i.incident_id) > (lo_due, lo_created, lo_id)
				AND i.queue_due_at < hi_due
				AND i.status = ANY (live)
				AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
				AND (v_categories IS NULL OR i.category_code = ANY (v_categories))
				AND (v_area IS NULL OR i.area_id = v_area)
				AND (assignee IS NULL OR i.assignee_ref = assignee)
				AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, my_role, service)
			ORDER BY i.queue_due_at, i.created_at, i.incident_id
			LIMIT n - cardinality(page));
		EXIT WHEN cardinality(page) >= n;
	END LOOP;

	SELECT array_agg(naboom.page_cursor('queue', ARRAY[naboom.cursor_time(t0), q.priority::text,
				naboom.cursor_time(q.queue_due_at), naboom.cursor_time(q.created_at), q.incident_id::text])
			ORDER BY q.ordinality),
		array_agg(q.community_id) FILTER (WHERE NOT q.is_public),
		array_agg(q.incident_id) FILTER (WHERE NOT q.is_public),
		array_agg(jsonb_build_object('reference', q.reference)) FILTER (WHERE NOT q.is_public)
	INTO cursors, read_c, read_i, read_args
	FROM unnest(page) WITH ORDINALITY AS q;

	-- Private incidents are emergency data: who saw them is recorded, all
	-- in one go, before any row reaches the caller.
	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('incident_queue', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.incident_queue(text, text[], text[], text, text, text, boolean, text, integer) IS
	E'@simpleCollections only\nThe control room''s queue: the community''s live incidents, most urgent first (overdue, then critical before high before medium before low, then the SLA that falls due first, then the oldest). One walk through the pages sorts by the clock of its first page (the cursor carries it); each row''s overdue is as of now. For responders, moderators, admins and the service';

CREATE OR REPLACE FUNCTION naboom_api.community_incidents(community text, statuses text[] DEFAULT NULL,
	category text DEFAULT NULL, area text DEFAULT NULL, since timestamptz DEFAULT NULL,
	until timestamptz DEFAULT NULL, search text DEFAULT NULL, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	cur text[] := naboom.page_cursor_parts('feed', after, 2);
	c_created timestamptz := naboom.cursor_timestamp(cur[1]);
	c_id bigint := naboom.cursor_bigint(cur[2]);
	c naboom.community := naboom.community_by_slug(community);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	my_role naboom.member_role := CASE WHEN actor IS NOT NULL THEN naboom.role_in(c.community_id, actor) END;
	staff boolean := service OR coalesce(my_role >= 'responder', false);
	v_statuses text[] := naboom.check_statuses(statuses, false);
	v_categories text[] := naboom.check_categories(c, CASE WHEN category IS NOT NULL THEN ARRAY[category] END);
	v_area bigint := naboom.check_area(c, area);
	v_search text := CASE WHEN search IS NOT NULL THEN naboom.clean_text('search', search, true, 200) END;
	q tsquery;
	page naboom.incident[];
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF array_position(cur, NULL) IS NOT NULL THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	IF since > until THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'since must not be after until',
			format('The range is [%s, %s).', since, until), 'Give since before until, or leave one out.');
	END IF;
	IF v_search IS NOT NULL THEN
		q := websearch_to_tsquery('simple', v_search);
		IF numnode(q) = 0 THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_search', 'search has no words to look for',
				format('"%s" holds only punctuation or operators.', left(v_search, 40)),
				'Search for words of the title, description or address.');
		END IF;
		-- A search is planned for its words (the GIN index and a sort of
		-- what it finds for a rare word, the feed's index for a common
		-- one); the function's SET clauses restore the generic mode and
		-- enable_sort when it returns.
		PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
		PERFORM set_config('enable_sort', 'on', true);
	END IF;

	SELECT array_agg(f.i ORDER BY f.ord), array_agg(f.cursor ORDER BY f.ord),
		array_agg((f.i).community_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg((f.i).incident_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg(jsonb_build_object('reference', (f.i).reference)) FILTER (WHERE NOT (f.i).is_public)
	INTO page, cursors, read_c, read_i, read_args
	FROM (
		SELECT ROW(i.*)::naboom.incident AS i,
			naboom.page_cursor('feed', ARRAY[naboom.cursor_time(i.created_at), i.incident_id::text]) AS cursor,
			row_number() OVER (ORDER BY i.created_at DESC, i.incident_id DESC) AS ord
		FROM naboom.incident i
		WHERE i.community_id = c.community_id
			-- (no OR here: one row comparison, an index condition in
			-- every plan, generic or not; the first page starts at infinity)
			AND (i.created_at, i.incident_id) < (coalesce(c_created, 'infinity'), coalesce(c_id, 0))
			AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
			AND (v_categories IS NULL OR i.category_code = ANY (v_categories))
			AND (v_area IS NULL OR i.area_id = v_area)
			AND (since IS NULL OR i.created_at >= since)
			AND (until IS NULL OR i.created_at < until)
			AND (i.is_public OR service OR i.reporter_ref = actor OR staff)
			-- The address of an incident shown blurred is hidden, so it is
			-- not searched either: it would give the place away.
			AND (q IS NULL OR to_tsvector('simple'::regconfig, i.title || ' ' || coalesce(i.description, '')
					|| ' ' || coalesce(i.address, '')) @@ q
				AND (staff OR i.reporter_ref IS NOT DISTINCT FROM actor AND actor IS NOT NULL
					OR NOT (SELECT cat.is_sensitive FROM naboom.category cat
						WHERE cat.community_id = i.community_id AND cat.code = i.category_code)
					OR to_tsvector('simple'::regconfig, i.title || ' ' || coalesce(i.description, '')) @@ q))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT n) f;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('community_incidents', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.community_incidents(text, text[], text, text, timestamptz, timestamptz, text, text, integer) IS
	E'@simpleCollections only\nThe community''s feed, newest first, every status unless statuses are given: public incidents for everyone, private ones for their reporter, responders, moderators and the service. search: words of the title, description or address (full-text search, ''simple'' configuration; the address only where the caller sees it). Paging is stable for what had committed before the first page; see the README on late commits';

CREATE OR REPLACE FUNCTION naboom_api.my_incidents(statuses text[] DEFAULT NULL, after text DEFAULT NULL,
	max_count integer DEFAULT NULL)
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	cur text[] := naboom.page_cursor_parts('mine', after, 2);
	c_created timestamptz := naboom.cursor_timestamp(cur[1]);
	c_id bigint := naboom.cursor_bigint(cur[2]);
	actor text := naboom.require_actor();
	v_statuses text[] := naboom.check_statuses(statuses, false);
	page naboom.incident[];
	cursors text[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF array_position(cur, NULL) IS NOT NULL THEN
		PERFORM naboom.cursor_invalid();
	END IF;
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'my incidents are a person''s',
			'The naboom service reports nothing of its own.', 'Call with the person''s JWT claims.');
	END IF;
	-- (ordered by the sort key itself, not a window function: on a
	-- cluster the inner query runs on every node, the rest here)
	SELECT array_agg(f.i ORDER BY f.created_at DESC, f.incident_id DESC),
		array_agg(f.cursor ORDER BY f.created_at DESC, f.incident_id DESC),
		array_agg((f.i).community_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg((f.i).incident_id) FILTER (WHERE NOT (f.i).is_public),
		array_agg(jsonb_build_object('reference', (f.i).reference)) FILTER (WHERE NOT (f.i).is_public)
	INTO page, cursors, read_c, read_i, read_args
	FROM (
		SELECT ROW(i.*)::naboom.incident AS i, i.created_at, i.incident_id,
			naboom.page_cursor('mine', ARRAY[naboom.cursor_time(i.created_at), i.incident_id::text]) AS cursor
		FROM naboom.incident i
		WHERE i.reporter_ref = actor
			-- (no OR here: one row comparison, an index condition in
			-- every plan, generic or not; the first page starts at infinity)
			AND (i.created_at, i.incident_id) < (coalesce(c_created, 'infinity'), coalesce(c_id, 0))
			AND (v_statuses IS NULL OR i.status = ANY (v_statuses))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT n) f;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('my_incidents', read_c, read_i, read_args);
	END IF;
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, cursors);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, cursors);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.my_incidents(text[], text, integer) IS
	E'@simpleCollections only\nWhat the caller reported, in every community, newest first (every status unless statuses are given)';

CREATE OR REPLACE FUNCTION naboom_api.my_assignments()
RETURNS SETOF naboom_api.incident_item
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET plan_cache_mode = force_generic_plan SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	actor text := naboom.require_actor();	-- (C: loads the library, which defines the setting)
	n integer := current_setting('naboom.max_page_size')::integer;
	live text[] := ARRAY(SELECT x.status FROM naboom.status x WHERE x.status_type = 'open');
	t timestamptz := now();
	page naboom.incident[];
	read_c bigint[];
	read_i bigint[];
	read_args jsonb[];
BEGIN
	IF actor IS NULL THEN
		PERFORM naboom.fail('28000', 'naboom.missing_identity', 'assignments are a person''s',
			'The naboom service is assigned nothing.', 'Call with the responder''s JWT claims.');
	END IF;
	-- (ordered by the sort key itself, not a window function: on a
	-- cluster the inner query runs on every node, the rest here)
	SELECT array_agg(a.i ORDER BY a.overdue DESC, a.rank, a.due, a.created_at, a.incident_id),
		array_agg((a.i).community_id) FILTER (WHERE NOT (a.i).is_public),
		array_agg((a.i).incident_id) FILTER (WHERE NOT (a.i).is_public),
		array_agg(jsonb_build_object('reference', (a.i).reference)) FILTER (WHERE NOT (a.i).is_public)
	INTO page, read_c, read_i, read_args
	FROM (
		-- (queue_due_at: the next SLA of a live incident, naboom.sla_due of
		-- its category's targets, stamped by the workflow)
		SELECT ROW(i.*)::naboom.incident AS i, i.queue_due_at < t AS overdue, naboom.priority_rank(i.priority) AS rank,
			i.queue_due_at AS due, i.created_at, i.incident_id
		FROM naboom.incident i
		LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
		WHERE i.assignee_ref = actor
			AND i.status = ANY (live)
			AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, false)
		ORDER BY i.queue_due_at < t DESC, naboom.priority_rank(i.priority), i.queue_due_at, i.created_at, i.incident_id
		LIMIT n) a;

	IF cardinality(read_i) > 0 THEN
		PERFORM naboom.audit_reads('my_assignments', read_c, read_i, read_args);
	END IF;
	-- No cursors: unnest pads the empty array with NULLs.
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.incident_items_routed(actor, page, '{}'::text[]);
	ELSE
		RETURN QUERY SELECT * FROM naboom.incident_items(actor, page, '{}'::text[]);
	END IF;
END
$$;

COMMENT ON FUNCTION naboom_api.my_assignments() IS
	E'@simpleCollections only\nThe caller''s live assigned incidents, in every community, most urgent first as in incident_queue; at most naboom.max_page_size rows, no paging (cursor is NULL)';

CREATE OR REPLACE FUNCTION naboom_api.communities()
RETURNS SETOF naboom_api.community_item
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT c.slug, c.name, c.time_zone, ST_YMin(c.boundary), ST_XMin(c.boundary),
		ST_YMax(c.boundary), ST_XMax(c.boundary)
	FROM naboom.community c
	ORDER BY c.name, c.slug
$$;

COMMENT ON FUNCTION naboom_api.communities() IS
	E'@simpleCollections only\nEvery community, by name: slug, name, time zone and the bounding box of its boundary. Public (anonymous too)';

CREATE OR REPLACE FUNCTION naboom_api.categories(community text)
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

CREATE OR REPLACE FUNCTION naboom_api.areas(community text, with_geojson boolean DEFAULT false)
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

CREATE OR REPLACE FUNCTION naboom_api.statuses()
RETURNS SETOF naboom_api.status_item
LANGUAGE sql STABLE SECURITY DEFINER AS $$
	SELECT s.status, s.status_type::text, s.label_en, s.label_af, s.sort_order
	FROM naboom.status s
	ORDER BY s.sort_order, s.status
$$;

COMMENT ON FUNCTION naboom_api.statuses() IS
	E'@simpleCollections only\nThe incident statuses in workflow order, with their type (open, fixed, closed) and labels in English and Afrikaans. Public (anonymous too)';

CREATE OR REPLACE FUNCTION naboom_api.my_memberships()
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

CREATE OR REPLACE FUNCTION naboom_api.update_my_profile(community text, display_name text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION naboom.leave_member(community_id bigint, user_ref text, as_of timestamptz) RETURNS jsonb
AS 'MODULE_PATHNAME', 'naboom_leave_member' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.leave_member(bigint, text, timestamptz) IS
	'Anonymise one membership as retention does (src/erasure.c: their reports anonymised, their notes, alerts, alert areas, positions and rate counters gone, the member row deleted) and write one ERASED audit entry for the community that names no one; the caller has locked the membership and checked it may go. Returns the rows erased per kind';

CREATE OR REPLACE FUNCTION naboom_api.leave_community(community text)
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

CREATE OR REPLACE FUNCTION naboom_api.members(community text, role text DEFAULT NULL, search text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION naboom.health_probe(OUT library_version text, OUT preloaded boolean, OUT writer_connected boolean,
	OUT audit_ring_fill double precision) RETURNS record
AS 'MODULE_PATHNAME', 'naboom_health_probe' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.health_probe() IS
	'What only the loaded library knows (src/health.c): its version, whether naboom was preloaded, whether the background writer is attached to the audit ring for this database, and how full the ring is (0 to 1; NULL without a ring)';

CREATE OR REPLACE FUNCTION naboom.health_problems(h naboom_api.health) RETURNS text[]
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

CREATE OR REPLACE FUNCTION naboom.health_warnings(h naboom_api.health) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	-- A library newer than the installed extension serves it (upgrades
	-- install the binaries first): ALTER EXTENSION is due, nothing is down.
	SELECT CASE WHEN h.extension_version IS DISTINCT FROM h.library_version
		THEN ARRAY['version_mismatch'] ELSE '{}' END
$$;

COMMENT ON FUNCTION naboom.health_warnings(naboom_api.health) IS
	'What a health row should be looked at for without being not ok: version_mismatch (the loaded library is not the installed extension''s version: ALTER EXTENSION naboom UPDATE is due)';

CREATE OR REPLACE FUNCTION naboom_api.health() RETURNS naboom_api.health
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

CREATE OR REPLACE FUNCTION naboom.event_horizon_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE naboom.event_horizon h
	SET deleted_through = g.top
	FROM (SELECT pg_catalog.max(o.seq) AS top FROM gone o) g
	WHERE h.id AND g.top > h.deleted_through;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.event_horizon_advance() IS
	'AFTER DELETE statement trigger on naboom.event: moves naboom.event_horizon up to the highest position deleted';

CREATE OR REPLACE FUNCTION naboom_api.incident_changes(after text DEFAULT NULL, max_count integer DEFAULT NULL,
	community text DEFAULT NULL)
RETURNS SETOF naboom_api.incident_change
LANGUAGE plpgsql STABLE SECURITY DEFINER
-- Planned as the lists are (10_lists.sql): generic plans (custom plans cost
-- about 17 ms of planning a call at design scale, a one-row page's whole
-- time), without sorts (so the stream is read by event_seq_key in order
-- and each incident probed by index, never a hash of the whole stream),
-- without JIT (a page reads about a page: compiling never pays).
SET plan_cache_mode = force_generic_plan SET enable_sort = off SET jit = off AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_page_size(max_count);
	key text[] := naboom.page_cursor_parts('incident_changes', after, 5);
	actor text := naboom.current_actor();
	service boolean := actor IS NULL AND naboom.is_service();
	v_comm bigint;			-- one community's sync, or NULL: every community's
	gone bigint;
	pos bigint := 0;		-- the cursor's position; 0 in the base
	base bigint;			-- the horizon the sync started from
	after_c bigint := -1;	-- the base's key (community, incident)
	after_i bigint := -1;
	in_base boolean;
	page record;
	items naboom_api.incident_item[];
	shown naboom_api.incident_item[];
	j integer := 0;
BEGIN
	-- On a Citus cluster each community's stream is numbered on its own (as
	-- events_since's): a position says nothing about another community's,
	-- so a sync is one community's, and its horizon is that community's
	-- (kept on the coordinator by retention, naboom.event_position).  On a
	-- single node a sync may be one community's or every one's, and the
	-- horizon is the stream's.
	IF community IS NOT NULL THEN
		v_comm := (naboom.community_by_slug(community)).community_id;
	ELSIF naboom.is_distributed() THEN
		PERFORM naboom.fail('22023', 'naboom.community_required', 'incident_changes needs a community on a distributed naboom',
			'On a Citus cluster each community has its own stream, numbered on its own: a sync position says nothing about another community''s.',
			'Pass community => the slug, and keep one cursor per community.');
	END IF;
	IF naboom.is_distributed() THEN
		gone := coalesce((SELECT p.deleted_through FROM naboom.event_position p WHERE p.community_id = v_comm), 0);
	ELSE
		gone := (SELECT h.deleted_through FROM naboom.event_horizon h WHERE h.id);
	END IF;
	IF key IS NULL THEN
		base := gone;
	ELSIF NOT (key[1] ~ '^[0-9]{1,19}$' AND key[2] ~ '^[0-9]{1,19}$'
		AND key[3] ~ '^-?[0-9]{1,19}$' AND key[4] ~ '^-?[0-9]{1,19}$' AND key[5] ~ '^[0-9]{1,19}$') THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'invalid page cursor',
			'The cursor does not hold a sync position.',
			'Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page.');
	ELSIF key[5]::bigint IS DISTINCT FROM coalesce(v_comm, 0) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_cursor', 'the cursor belongs to another sync',
			CASE WHEN key[5] = '0' THEN 'It is a cursor of a sync of every community.'
				ELSE 'It is a cursor of another community''s sync, or of one community''s and this call has none.' END,
			'Pass each cursor back with the community it came with.');
	ELSE
		pos := key[1]::bigint;
		base := key[2]::bigint;
		after_c := key[3]::bigint;
		after_i := key[4]::bigint;
	END IF;
	-- Expired: retention deleted an event past the cursor (or, in the base,
	-- any event since the base was taken), so a change may be missing.
	IF pos > 0 AND gone > pos OR pos = 0 AND gone <> base THEN
		PERFORM naboom.fail('PT410', 'naboom.cursor_expired', 'sync cursor expired',
			format('Retention deleted the event stream up to position %s; the cursor is at %s.', gone,
				CASE WHEN pos > 0 THEN pos ELSE base END),
			'Sync again from scratch: call incident_changes without after and replace what the app holds with what it returns.');
	END IF;
	-- The base (a sync from scratch, when retention has deleted events):
	-- incidents with no published event after the horizon, in key order;
	-- then the stream, in position order.  An incident's row is its newest
	-- published event; one the caller may no longer see comes back as a
	-- tombstone if it was public once (a public event), so a caller who
	-- never saw it learns nothing.
	in_base := pos = 0 AND base > 0;
	SELECT array_agg(p.cursor ORDER BY p.pos, p.community_id, p.incident_id) AS cursors,
		array_agg(p.changed_at ORDER BY p.pos, p.community_id, p.incident_id) AS changed,
		array_agg(NOT p.visible ORDER BY p.pos, p.community_id, p.incident_id) AS removed,
		array_agg((p.inc).reference ORDER BY p.pos, p.community_id, p.incident_id) AS refs,
		array_agg(p.community_id ORDER BY p.pos, p.community_id, p.incident_id) AS comms,
		bool_or(NOT p.visible) AS tombstones,
		array_agg(p.inc ORDER BY p.pos, p.community_id, p.incident_id) FILTER (WHERE p.visible) AS shown,
		array_agg(p.cursor ORDER BY p.pos, p.community_id, p.incident_id) FILTER (WHERE p.visible) AS shown_cursors,
		coalesce(array_agg(p.community_id) FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_c,
		coalesce(array_agg(p.incident_id) FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_i,
		coalesce(array_agg(jsonb_build_object('reference', (p.inc).reference))
			FILTER (WHERE p.visible AND NOT (p.inc).is_public), '{}') AS read_args
	INTO page
	FROM (
		SELECT q.*, naboom.page_cursor('incident_changes',
			ARRAY[q.pos::text, base::text, q.community_id::text, q.incident_id::text, coalesce(v_comm, 0)::text]) AS cursor
		FROM (
			-- (ROW(i.*): on a cluster the worker's whole row would be of its shard's type)
			(SELECT 0::bigint AS pos, i.community_id, i.incident_id, ROW(i.*)::naboom.incident AS inc, i.updated_at AS changed_at,
				true AS visible
			FROM naboom.incident i
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
			WHERE in_base AND (i.community_id, i.incident_id) > (after_c, after_i)
				AND (v_comm IS NULL OR i.community_id = v_comm)
				AND naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, service)
				AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.seq > base)
			ORDER BY i.community_id, i.incident_id
			LIMIT n)
			UNION ALL
			(SELECT e.seq, e.community_id, e.incident_id, ROW(i.*)::naboom.incident, e.created_at, v.visible
			FROM naboom.event e
			JOIN naboom.incident i ON i.community_id = e.community_id AND i.incident_id = e.incident_id
			LEFT JOIN naboom.member me ON me.community_id = i.community_id AND me.user_ref = coalesce(actor, '')
			CROSS JOIN LATERAL (SELECT coalesce(naboom.incident_visible(i.is_public, i.reporter_ref, actor, me.role, service),
				false) AS visible) v
			-- (a probe per hidden row, not a hash of every public event)
			LEFT JOIN LATERAL (SELECT true AS was FROM naboom.event x
				WHERE NOT v.visible AND x.community_id = e.community_id AND x.incident_id = e.incident_id
					AND x.is_public LIMIT 1) pub ON true
			WHERE e.seq > CASE WHEN pos = 0 THEN base ELSE pos END
				AND (v_comm IS NULL OR e.community_id = v_comm AND i.community_id = v_comm)
				AND NOT EXISTS (SELECT 1 FROM naboom.event x
					WHERE x.community_id = e.community_id AND x.incident_id = e.incident_id AND x.seq > e.seq)
				AND (v.visible OR pub.was)
			ORDER BY e.seq
			LIMIT n)
			ORDER BY 1, 2, 3
			LIMIT n) q
	) p;
	IF page.cursors IS NULL THEN
		RETURN;
	END IF;
	-- Private incidents are emergency data: who read them is recorded
	-- before any row reaches the caller (as incidents_near does).
	IF cardinality(page.read_i) > 0 THEN
		PERFORM naboom.audit_reads('incident_changes', page.read_c, page.read_i, page.read_args);
	END IF;
	-- The rows in the page's order: incident_items keeps the order of the
	-- incidents it is given; a tombstone takes its place among them.
	IF naboom.is_distributed() THEN
		items := ARRAY(SELECT it FROM naboom.incident_items_routed(actor, page.shown, page.shown_cursors) it);
	ELSE
		items := ARRAY(SELECT it FROM naboom.incident_items(actor, page.shown, page.shown_cursors) it);
	END IF;
	IF page.tombstones THEN
		shown := items;
		items := '{}';
		FOR k IN 1 .. cardinality(page.cursors) LOOP
			IF page.removed[k] THEN
				items := items || jsonb_populate_record(NULL::naboom_api.incident_item, jsonb_build_object(
					'reference', page.refs[k], 'cursor', page.cursors[k],
					'community', (SELECT c.slug FROM naboom.community c WHERE c.community_id = page.comms[k])));
			ELSE
				j := j + 1;
				items := items || shown[j];
			END IF;
		END LOOP;
	END IF;
	-- (unnest of a composite array expands its columns: the item's, then
	-- changed_at and removed, as incident_change has them)
	RETURN QUERY SELECT * FROM unnest(items, page.changed, page.removed);
END
$$;

COMMENT ON FUNCTION naboom_api.incident_changes(text, integer, text) IS
	E'@simpleCollections only\nOffline sync: every incident the caller may see (of one community, or of every one; one community on a Citus cluster) that changed after the cursor, each once and as it is now (get_incident''s view), in commit-safe stream order (a change that commits late is not skipped); a tombstone (removed) for one the caller could see once and may no longer. Without after: a sync from scratch. Page with the cursor of the last row; naboom.cursor_expired (PT410) when retention deleted changes past it. max_count up to naboom.max_page_size';

CREATE OR REPLACE FUNCTION naboom.events_written() RETURNS void
	AS 'MODULE_PATHNAME', 'naboom_events_written'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.events_written() IS
	'Tell naboom that this transaction wrote events to naboom.event by SQL: at commit the background writer is woken to publish them';

CREATE OR REPLACE FUNCTION naboom.attachment_deleted() RETURNS trigger
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

CREATE OR REPLACE FUNCTION naboom.attachment_event(i naboom.incident, topic text, payload jsonb) RETURNS void
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

CREATE OR REPLACE FUNCTION naboom.check_attachment_file(content_type text, bytes bigint) RETURNS text
	AS 'MODULE_PATHNAME', 'naboom_check_attachment_file'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION naboom.check_attachment_file(text, bigint) IS
	'The content type in lower case if it and the size are allowed (naboom.attachment_types, naboom.attachment_max_size, naboom.attachment_max_video_size); else naboom.invalid_content_type, naboom.content_type_not_allowed, naboom.invalid_bytes or naboom.attachment_too_large (22023)';

CREATE OR REPLACE FUNCTION naboom.check_object_key(object_key text, slug text) RETURNS text
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

CREATE OR REPLACE FUNCTION naboom.check_sha256(sha256 text) RETURNS text
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

CREATE OR REPLACE FUNCTION naboom.check_taken_at(taken_at timestamptz) RETURNS timestamptz
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

CREATE OR REPLACE FUNCTION naboom.attachment_out(a naboom.attachment, i naboom.incident, slug text, actor text,
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

CREATE OR REPLACE FUNCTION naboom.incident_attachments(i naboom.incident, actor text, my_role naboom.member_role,
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

CREATE OR REPLACE FUNCTION naboom_api.add_attachment(reference text, object_key text, content_type text, bytes bigint,
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

CREATE OR REPLACE FUNCTION naboom_api.hide_attachment(reference text, attachment_id bigint, reason text)
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

CREATE OR REPLACE FUNCTION naboom.append_event(community_id bigint, incident_id bigint, topic text, is_public boolean,
	payload jsonb) RETURNS void
	AS 'MODULE_PATHNAME', 'naboom_append_event'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.append_event(bigint, bigint, text, boolean, jsonb) IS
	'Write one event to the stream in the current transaction (as the C triggers do), for naboom''s SQL code';

CREATE OR REPLACE FUNCTION naboom.forwarding_out(f naboom.forwarding) RETURNS naboom_api.forwarding
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

CREATE OR REPLACE FUNCTION naboom.authority_by_code(c naboom.community, code text) RETURNS naboom.authority
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

CREATE OR REPLACE FUNCTION naboom.require_service(what text) RETURNS void
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

CREATE OR REPLACE FUNCTION naboom.forwarding_payload(f naboom.forwarding) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION naboom.enqueue_forwarding(community_id bigint, incident_id bigint, reference text,
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

CREATE OR REPLACE FUNCTION naboom.incident_needs_authority() RETURNS trigger
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

CREATE OR REPLACE FUNCTION naboom.incident_outbox() RETURNS trigger
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

CREATE OR REPLACE FUNCTION naboom.forwarding_dead(f naboom.forwarding) RETURNS void
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

CREATE OR REPLACE FUNCTION naboom_api.upsert_authority(community text, code text, name_en text, name_af text,
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

CREATE OR REPLACE FUNCTION naboom_api.upsert_forwarding_rule(community text, code text, authority text, categories text[],
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

CREATE OR REPLACE FUNCTION naboom_api.forward_incident(reference text, authority text, note text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION naboom_api.incident_forwardings(reference text)
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

CREATE OR REPLACE FUNCTION naboom.claim_due_forwardings(v_comm bigint, v_auth text, n integer, lease interval)
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

CREATE OR REPLACE FUNCTION naboom_api.claim_forwardings(authority text DEFAULT NULL, max_count integer DEFAULT 10,
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

CREATE OR REPLACE FUNCTION naboom.forwarding_by_id(id bigint) RETURNS naboom.forwarding
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

CREATE OR REPLACE FUNCTION naboom_api.forwarding_delivered(id bigint, external_id text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION naboom_api.forwarding_failed(id bigint, error text, retry_after interval DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION naboom_api.authority_update(authority text, external_id text, status text DEFAULT NULL,
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

CREATE OR REPLACE FUNCTION naboom.open311_time(ts timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT pg_catalog.to_char(l.local, 'YYYY-MM-DD"T"HH24:MI:SS')
		|| CASE WHEN o.off < interval '0' THEN '-' ELSE '+' END
		|| pg_catalog.to_char(CASE WHEN o.off < interval '0' THEN -o.off ELSE o.off END, 'HH24:MI')
	FROM (SELECT ts AT TIME ZONE tz AS local) l
	CROSS JOIN LATERAL (SELECT l.local - (ts AT TIME ZONE 'UTC') AS off) o
$$;

COMMENT ON FUNCTION naboom.open311_time(timestamptz, text) IS
	'A time as GeoReport v2 writes it (W3C, e.g. 2026-12-05T14:02:11+02:00) in the community''s time zone; NULL for NULL';

CREATE OR REPLACE FUNCTION naboom.open311_format(format text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	accept text;
BEGIN
	IF format IS NULL THEN
		-- the gateway's request: XML if its Accept header asks for XML and
		-- not JSON (the README's nginx sets Accept: text/xml for .xml)
		BEGIN
			accept := lower(nullif(current_setting('request.headers', true), '')::json->>'accept');
		EXCEPTION WHEN invalid_text_representation THEN
			accept := NULL;
		END;
		RETURN CASE WHEN accept ~ 'xml' AND accept !~ 'json' THEN 'xml' ELSE 'json' END;
	END IF;
	IF lower(format) IN ('json', 'xml') THEN
		RETURN lower(format);
	END IF;
	PERFORM naboom.fail('22023', 'naboom.invalid_format', pg_catalog.format('unknown format "%s"', left(format, 20)),
		'GeoReport v2 documents are JSON or XML.', 'Use format json or xml (the path''s .json or .xml).');
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.open311_format(text) IS
	'json or xml; without one, xml when the request''s Accept header (request.headers) asks for XML and not JSON, else json; naboom.invalid_format (22023) otherwise';

CREATE OR REPLACE FUNCTION naboom.open311_jurisdiction(jurisdiction_id text) RETURNS naboom.community
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c naboom.community;
BEGIN
	IF jurisdiction_id IS NOT NULL THEN
		RETURN naboom.community_by_slug(jurisdiction_id);
	END IF;
	SELECT * INTO c FROM naboom.community x ORDER BY x.community_id LIMIT 1;
	IF NOT FOUND OR EXISTS (SELECT 1 FROM naboom.community x WHERE x.community_id <> c.community_id) THEN
		PERFORM naboom.fail('22023', 'naboom.jurisdiction_required', 'jurisdiction_id is required',
			'This server serves several communities (or none); the jurisdiction is the community.',
			'Pass jurisdiction_id, the community''s slug, e.g. mookgophong.');
	END IF;
	RETURN c;
END
$$;

COMMENT ON FUNCTION naboom.open311_jurisdiction(text) IS
	'The community a GeoReport jurisdiction_id names (its slug); without one, the only community. naboom.unknown_community (PT404), naboom.jurisdiction_required (22023)';

CREATE OR REPLACE FUNCTION naboom.open311_date(name text, value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
	t timestamptz;
BEGIN
	IF value IS NULL OR btrim(value) = '' THEN
		RETURN NULL;
	END IF;
	BEGIN
		t := value::timestamptz;
	EXCEPTION WHEN data_exception THEN
		t := NULL;
	END;
	IF t IS NULL OR NOT pg_catalog.isfinite(t) THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_time', pg_catalog.format('%s is not a date and time', name),
			pg_catalog.format('"%s" is not a W3C date and time.', left(value, 40)),
			'Write it as GeoReport v2 does, e.g. 2026-12-05T14:00:00+02:00.');
	END IF;
	RETURN t;
END
$$;

COMMENT ON FUNCTION naboom.open311_date(text, text) IS
	'A GeoReport start_date or end_date read as timestamptz; NULL when empty; naboom.invalid_time (22023) otherwise';

CREATE OR REPLACE FUNCTION naboom.open311_status(state text) RETURNS integer
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN state ~ '^PT[1-5][0-9][0-9]$' THEN substr(state, 3)::integer
		WHEN state = '42501' THEN CASE WHEN current_setting('role') = 'naboom_anon' THEN 401 ELSE 403 END
		WHEN state ~ '^(22|28)' OR state IN ('23502', '23503') THEN CASE WHEN state ~ '^28' THEN 403 ELSE 400 END
	END
$$;

COMMENT ON FUNCTION naboom.open311_status(text) IS
	'The HTTP status of a GeoReport error document for a naboom error''s SQLSTATE (as PostgREST maps it); NULL for errors no user causes';

CREATE OR REPLACE FUNCTION naboom.open311_document(doc jsonb, root text, fmt text) RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE AS $$
DECLARE
	x xml;
BEGIN
	IF fmt IS DISTINCT FROM 'xml' THEN
		PERFORM set_config('response.headers', '[{"Content-Type": "application/json; charset=utf-8"}]', true);
		RETURN doc::text;
	END IF;
	PERFORM set_config('response.headers', '[{"Content-Type": "text/xml; charset=utf-8"}]', true);
	IF root = 'services' THEN
		SELECT xmlelement(name services, xmlagg(xmlelement(name service,
				xmlelement(name service_code, d->>'service_code'),
				xmlelement(name service_name, d->>'service_name'),
				xmlelement(name description, d->>'description'),
				xmlelement(name metadata, d->>'metadata'),
				xmlelement(name type, d->>'type'),
				xmlelement(name keywords, d->>'keywords'),
				xmlelement(name "group", d->>'group')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSIF root = 'service_requests' THEN
		SELECT xmlelement(name service_requests, xmlagg(xmlelement(name request,
				xmlelement(name service_request_id, d->>'service_request_id'),
				xmlelement(name status, d->>'status'),
				xmlelement(name status_notes, d->>'status_notes'),
				xmlelement(name service_name, d->>'service_name'),
				xmlelement(name service_code, d->>'service_code'),
				xmlelement(name description, d->>'description'),
				xmlelement(name agency_responsible, d->>'agency_responsible'),
				xmlelement(name requested_datetime, d->>'requested_datetime'),
				xmlelement(name updated_datetime, d->>'updated_datetime'),
				xmlelement(name expected_datetime, d->>'expected_datetime'),
				xmlelement(name address, d->>'address'),
				xmlelement(name lat, d->>'lat'),
				xmlelement(name long, d->>'long'),
				xmlelement(name media_url, d->>'media_url')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSIF root = 'posted' THEN
		SELECT xmlelement(name service_requests, xmlagg(xmlelement(name request,
				xmlelement(name service_request_id, d->>'service_request_id'),
				xmlelement(name service_notice, d->>'service_notice'),
				xmlelement(name account_id, d->>'account_id')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	ELSE
		SELECT xmlelement(name errors, xmlagg(xmlelement(name error,
				xmlelement(name code, d->>'code'),
				xmlelement(name description, d->>'description')) ORDER BY n))
		INTO x FROM jsonb_array_elements(doc) WITH ORDINALITY AS e(d, n);
	END IF;
	-- an empty list is an empty root element, not nothing
	RETURN '<?xml version="1.0" encoding="utf-8"?>' || E'\n'
		|| coalesce(x::text, '<' || CASE root WHEN 'posted' THEN 'service_requests' ELSE root END || '/>');
END
$$;

COMMENT ON FUNCTION naboom.open311_document(jsonb, text, text) IS
	'A GeoReport v2 document from its JSON form (an array of objects): the JSON itself, or the XML the specification gives for root services, service_requests, posted (a POST''s answer) or errors; sets the Content-Type in response.headers';

CREATE OR REPLACE FUNCTION naboom.open311_error(fmt text, status integer, message text, detail text, hint text)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM set_config('response.status', status::text, true);
	RETURN naboom.open311_document(jsonb_build_array(jsonb_build_object(
		'code', status,
		'description', message
			|| coalesce(' (' || substring(detail FROM '^(naboom\.[a-z_]+):') || ')', '')
			|| coalesce('. ' || nullif(hint, ''), ''))), 'errors', fmt);
END
$$;

COMMENT ON FUNCTION naboom.open311_error(text, integer, text, text, text) IS
	'A GeoReport v2 error document [{code, description}] (description: the message, the naboom key, the hint) with its HTTP status in response.status';

CREATE OR REPLACE FUNCTION naboom.open311_request_json(i naboom.incident, c naboom.community, cat naboom.category,
	st naboom.status) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'service_request_id', i.reference,
		'status', CASE WHEN st.status_type = 'open' THEN 'open' ELSE 'closed' END,
		'status_notes', i.status_note,
		'service_name', cat.name_en,
		'service_code', cat.code,
		'description', coalesce(i.description, i.title),
		'agency_responsible', c.name,
		'requested_datetime', naboom.open311_time(i.created_at, c.time_zone),
		'updated_datetime', naboom.open311_time(i.updated_at, c.time_zone),
		'expected_datetime', CASE WHEN st.status_type = 'open'
			THEN naboom.open311_time(i.created_at + cat.resolve_target, c.time_zone) END,
		'address', i.address,
		'lat', ST_Y(i.location),
		'long', ST_X(i.location),
		'media_url', NULL)
$$;

COMMENT ON FUNCTION naboom.open311_request_json(naboom.incident, naboom.community, naboom.category, naboom.status) IS
	'A service request as GeoReport v2 shows it: reference, open/closed from the status type, notes, service, description, the community as agency, times in the community''s zone, expected = created + the category''s resolve target while open, address, lat, long';

CREATE OR REPLACE FUNCTION naboom.open311_visible(is_public boolean, kind naboom.incident_kind, is_sensitive boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT is_public AND kind = 'report' AND NOT is_sensitive
$$;

COMMENT ON FUNCTION naboom.open311_visible(boolean, naboom.incident_kind, boolean) IS
	'Does an incident appear in GeoReport documents: public reports of categories that are not sensitive (never private ones, panics, or sensitive categories)';

CREATE OR REPLACE FUNCTION naboom_api.open311_services(jurisdiction_id text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	doc jsonb;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'service_code', cat.code,
			'service_name', cat.name_en,
			'description', cat.name_en || ' (' || cat.name_af || ')'
				|| CASE WHEN cat.is_sensitive THEN '. Reports of this service are not published.' ELSE '' END,
			'metadata', false,
			'type', 'realtime',
			'keywords', cat.name_af || ', ' || replace(cat.code, '_', ' '),
			'group', cat.default_priority::text) ORDER BY cat.code), '[]')
	INTO doc
	FROM naboom.category cat
	WHERE cat.community_id = c.community_id AND cat.is_active AND cat.code <> 'panic';
	RETURN naboom.open311_document(doc, 'services', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_services(text, text) IS
	'GeoReport v2 GET services: one service per active category of the community (jurisdiction_id; not panic): service_code, service_name, description, metadata false, type realtime, keywords (the Afrikaans name), group (the default priority). JSON or XML (format, or the Accept header without one). Errors are GeoReport error documents with their HTTP status';

CREATE OR REPLACE FUNCTION naboom_api.open311_requests(jurisdiction_id text DEFAULT NULL, service_request_id text DEFAULT NULL,
	service_code text DEFAULT NULL, start_date text DEFAULT NULL, end_date text DEFAULT NULL,
	status text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	refs text[];
	codes text[];
	states text[];
	t_start timestamptz;
	t_end timestamptz;
	doc jsonb;
	bad text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	IF service_request_id IS NOT NULL THEN
		-- GeoReport: a list of ids overrides every other filter
		SELECT array_agg(naboom.normalize_reference(r)), min(r) FILTER (WHERE naboom.normalize_reference(r) IS NULL)
		INTO refs, bad
		FROM unnest(string_to_array(service_request_id, ',')) u(x), LATERAL (SELECT btrim(u.x) AS r) t
		WHERE t.r <> '';
		IF bad IS NOT NULL OR refs IS NULL OR cardinality(refs) > 1000 THEN
			PERFORM naboom.fail('22023', 'naboom.invalid_reference',
				pg_catalog.format('"%s" is not a service request id', left(coalesce(bad, service_request_id), 40)),
				'A service_request_id is an incident reference such as NB-7K3Q-9XW9; at most 1000, comma separated.',
				'Check the reference.');
		END IF;
		SELECT coalesce(jsonb_agg(naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status)
				ORDER BY i.created_at DESC, i.incident_id DESC), '[]')
		INTO doc
		FROM naboom.incident i
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		WHERE i.reference = ANY (refs) AND i.community_id = c.community_id AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive);
		RETURN naboom.open311_document(doc, 'service_requests', fmt);
	END IF;

	t_end := coalesce(naboom.open311_date('end_date', end_date), now());
	t_start := coalesce(naboom.open311_date('start_date', start_date), t_end - interval '90 days');
	IF t_start > t_end OR t_start < t_end - interval '90 days' THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'start_date to end_date must span 0 to 90 days',
			pg_catalog.format('From %s to %s.', t_start, t_end),
			'Ask for at most 90 days at a time (the default is the 90 days before end_date).');
	END IF;
	IF service_code IS NOT NULL THEN
		SELECT array_agg(lower(btrim(x))) INTO codes FROM unnest(string_to_array(service_code, ',')) x WHERE btrim(x) <> '';
		SELECT min(x) INTO bad FROM unnest(codes) x
		WHERE NOT EXISTS (SELECT 1 FROM naboom.category k WHERE k.community_id = c.community_id AND k.code = x AND k.code <> 'panic');
		IF bad IS NOT NULL OR codes IS NULL THEN
			PERFORM naboom.fail('22023', 'naboom.unknown_category',
				pg_catalog.format('unknown service_code "%s"', left(coalesce(bad, service_code), 40)),
				pg_catalog.format('%s has no such service.', c.name), 'GET services lists the service codes.');
		END IF;
	END IF;
	IF status IS NOT NULL THEN
		SELECT array_agg(lower(btrim(x))) INTO states FROM unnest(string_to_array(status, ',')) x WHERE btrim(x) <> '';
		SELECT min(x) INTO bad FROM unnest(states) x WHERE x NOT IN ('open', 'closed');
		IF bad IS NOT NULL OR states IS NULL THEN
			PERFORM naboom.fail('22023', 'naboom.unknown_status',
				pg_catalog.format('unknown status "%s"', left(coalesce(bad, status), 40)),
				'A GeoReport status is open or closed.', 'Use status=open, status=closed or both.');
		END IF;
	END IF;

	SELECT coalesce(jsonb_agg(r.doc ORDER BY r.created_at DESC, r.incident_id DESC), '[]')
	INTO doc
	FROM (
		SELECT naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status) AS doc, i.created_at, i.incident_id
		FROM naboom.incident i
		JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
		JOIN naboom.status st ON st.status = i.status
		-- (no upper bound without an end_date: on a cluster a report's
		-- created_at is its worker's clock, later than this node's now() in
		-- the transaction that filed it)
		WHERE i.community_id = c.community_id AND i.created_at >= t_start
			AND (end_date IS NULL OR i.created_at <= t_end)
			AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive)
			AND (codes IS NULL OR i.category_code = ANY (codes))
			AND (states IS NULL OR CASE WHEN st.status_type = 'open' THEN 'open' ELSE 'closed' END = ANY (states))
		ORDER BY i.created_at DESC, i.incident_id DESC
		LIMIT 1000) r;
	RETURN naboom.open311_document(doc, 'service_requests', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_requests(text, text, text, text, text, text, text) IS
	'GeoReport v2 GET requests: the public, non-sensitive reports of the community (never private ones or panics), newest first, at most 1000; service_request_id (comma separated references) overrides the other filters; service_code and status (open, closed) comma separated; start_date/end_date on requested_datetime, default the last 90 days, at most 90 days. JSON or XML (format, or the Accept header without one). Errors are GeoReport error documents with their HTTP status';

CREATE OR REPLACE FUNCTION naboom_api.open311_request(jurisdiction_id text DEFAULT NULL, service_request_id text DEFAULT NULL,
	format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	ref text := naboom.normalize_reference(service_request_id);
	doc jsonb;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	SELECT jsonb_build_array(naboom.open311_request_json(ROW(i.*)::naboom.incident, c, ROW(cat.*)::naboom.category, ROW(st.*)::naboom.status))
	INTO doc
	FROM naboom.incident i
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	WHERE i.reference = ref AND i.community_id = c.community_id AND naboom.open311_visible(i.is_public, i.kind, cat.is_sensitive);
	IF doc IS NULL THEN
		PERFORM naboom.fail('PT404', 'naboom.unknown_reference',
			pg_catalog.format('service request %s not found', left(coalesce(ref, service_request_id, 'NULL'), 40)),
			pg_catalog.format('%s publishes no such service request.', c.name),
			'Check the id; private reports, panics and sensitive categories are not published.');
	END IF;
	RETURN naboom.open311_document(doc, 'service_requests', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_request(text, text, text) IS
	'GeoReport v2 GET requests/{id}: one service request (an array of one) if the community publishes it; 404 error document otherwise (also for private reports, panics and sensitive categories). JSON or XML (format, or the Accept header without one)';

CREATE OR REPLACE FUNCTION naboom_api.open311_post_request(jurisdiction_id text DEFAULT NULL, service_code text DEFAULT NULL,
	lat double precision DEFAULT NULL, long double precision DEFAULT NULL, address_string text DEFAULT NULL,
	description text DEFAULT NULL, email text DEFAULT NULL, first_name text DEFAULT NULL,
	last_name text DEFAULT NULL, phone text DEFAULT NULL, device_id text DEFAULT NULL,
	account_id text DEFAULT NULL, api_key text DEFAULT NULL, address_id text DEFAULT NULL,
	media_url text DEFAULT NULL, client_key text DEFAULT NULL, format text DEFAULT NULL)
RETURNS naboom_api."*/*"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	fmt text := 'json';
	c naboom.community;
	actor text;
	v_device text;
	v_key text;
	cat naboom.category;
	r naboom_api.incident;
	notice text;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
BEGIN
	fmt := naboom.open311_format(format);
	c := naboom.open311_jurisdiction(jurisdiction_id);
	actor := naboom.require_actor();
	IF account_id IS NOT NULL AND account_id IS DISTINCT FROM actor THEN
		PERFORM naboom.fail('42501', 'naboom.forged_reporter', 'account_id is not you',
			'A service request is filed by the account of the token that sends it.',
			'Leave account_id out, or send the token of that account.');
	END IF;
	v_device := naboom.clean_text('device_id', device_id, false, 40);
	v_key := naboom.clean_text('client_key', client_key, false, 50);
	SELECT * INTO cat FROM naboom.category x
	WHERE x.community_id = c.community_id AND x.code = lower(btrim(service_code));
	-- report_incident does the rest (and refuses an unknown or inactive
	-- service_code, a missing or bad location or description)
	r := naboom_api.report_incident(c.slug, coalesce(service_code, ''), lat, long, description,
		address => address_string,
		client_ref => CASE WHEN v_key IS NOT NULL THEN 'open311:' || coalesce(v_device, '') || ':' || v_key END);
	notice := pg_catalog.format('Reported to %s as %s, %s.', c.name, r.reference, r.status_en)
		|| CASE WHEN cat.is_sensitive THEN ' Reports of this service are not published in GeoReport lists.' ELSE '' END
		|| coalesce(' It may be the same as ' || (r.duplicate_candidates->0->>'reference') || ', '
			|| round((r.duplicate_candidates->0->>'distance_m')::numeric) || ' m away.', '');
	RETURN naboom.open311_document(jsonb_build_array(jsonb_build_object(
		'service_request_id', r.reference, 'service_notice', notice, 'account_id', actor)), 'posted', fmt);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
		e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
	IF naboom.open311_status(e_state) IS NULL THEN
		RAISE;
	END IF;
	RETURN naboom.open311_error(fmt, naboom.open311_status(e_state), e_msg, e_detail, e_hint);
END
$$;

COMMENT ON FUNCTION naboom_api.open311_post_request(text, text, double precision, double precision, text, text, text, text, text, text, text, text, text, text, text, text, text) IS
	'GeoReport v2 POST requests: report_incident for the token''s member (service_code = category, lat, long, address_string, description); idempotent on device_id + client_key when a client_key is given; account_id, if given, must be the caller; email, first_name, last_name, phone, address_id and media_url are accepted as GeoReport clients send them but not stored (the member''s profile is naboom''s; naboom keeps no media), api_key is the gateway''s to check. Answers [{service_request_id, service_notice, account_id}], 201 (200 for a resubmit); errors are GeoReport error documents with their HTTP status';

CREATE OR REPLACE FUNCTION naboom.is_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = ''naboom.incident''::regclass)'
		INTO found;
	RETURN found;
END
$$;

COMMENT ON FUNCTION naboom.is_distributed() IS
	'True once naboom.distribute() has distributed naboom.incident on this Citus cluster';

CREATE OR REPLACE FUNCTION naboom.is_coordinator() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
		RETURN true;
	END IF;
	EXECUTE 'SELECT coalesce((SELECT g.groupid = 0 FROM pg_catalog.pg_dist_local_group g), true)' INTO found;
	RETURN found;
END
$$;

COMMENT ON FUNCTION naboom.is_coordinator() IS
	'False on a Citus worker; true on the coordinator and on a single node';

CREATE OR REPLACE FUNCTION naboom.number_audit(max_count integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	c bigint;
	top bigint;
	n bigint;
	last bigint;
	total bigint := 0;
BEGIN
	IF max_count IS NULL OR max_count < 1 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'max_count must be at least 1',
			format('It is %s.', coalesce(max_count::text, 'NULL')), 'Use e.g. 10000.');
	END IF;
	IF NOT naboom.is_distributed() OR NOT naboom.is_coordinator() THEN
		RETURN 0;
	END IF;
	-- One numberer at a time (the background writer, seal_audit).
	PERFORM pg_catalog.pg_advisory_xact_lock(7089066834011223043);
	FOR c IN EXECUTE 'SELECT DISTINCT a.community_id FROM naboom.audit_log a WHERE a.seq IS NULL ORDER BY 1' LOOP
		top := coalesce((SELECT x.numbered_through FROM naboom.audit_position x WHERE x.community_id = c), 0);
		-- One statement Citus routes to the community's shard: its committed
		-- rows without a position, in the order they were logged, numbered
		-- above the highest given.  Rows of a transaction that has not
		-- committed are not seen, and get later positions once it has.
		EXECUTE pg_catalog.format('WITH pending AS (
				SELECT a.id, a.logged_at FROM naboom.audit_log a WHERE a.community_id = %1$s AND a.seq IS NULL
				ORDER BY a.logged_at, a.id LIMIT %3$s FOR UPDATE),
			numbered AS (
				SELECT p.id, p.logged_at, GREATEST((SELECT coalesce(max(x.seq), 0) FROM naboom.audit_log x
						WHERE x.community_id = %1$s), %2$s) + row_number() OVER (ORDER BY p.logged_at, p.id) AS seq
				FROM pending p),
			u AS (UPDATE naboom.audit_log a SET seq = n.seq FROM numbered n
				WHERE a.community_id = %1$s AND a.id = n.id AND a.logged_at = n.logged_at RETURNING a.seq)
			SELECT count(*), max(u.seq) FROM u', c, top, max_count) INTO n, last;
		CONTINUE WHEN n = 0;
		INSERT INTO naboom.audit_position AS p (community_id, numbered_through) VALUES (c, last)
			ON CONFLICT (community_id) DO UPDATE SET numbered_through = GREATEST(p.numbered_through, EXCLUDED.numbered_through);
		total := total + n;
	END LOOP;
	RETURN total;
END
$$;

COMMENT ON FUNCTION naboom.number_audit(integer) IS
	'On the coordinator of a distributed naboom: give each community''s committed audit rows without a position (naboom.audit_log.seq) the next ones, in the order they were logged, at most max_count a community; returns how many. Run by the background writer after every wake-up and by seal_audit; 0 elsewhere';

CREATE OR REPLACE FUNCTION naboom.seal_community_audit(max_rows integer) RETURNS naboom.audit_seal
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	p record;
	prev naboom.audit_seal;
	s naboom.audit_seal;
	made naboom.audit_seal;
	s_from bigint;
	s_to bigint;
	got record;
BEGIN
	IF NOT naboom.is_coordinator() THEN
		PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is sealed on the coordinator',
			'Each community''s chain of seals is kept on the coordinator.', 'Run naboom.seal_audit() on the coordinator.');
	END IF;
	-- One sealer at a time (seal_audit's lock; taken already when it called).
	IF NOT pg_catalog.pg_try_advisory_xact_lock(7089066834011223041) THEN
		RETURN NULL;
	END IF;
	PERFORM naboom.number_audit();
	FOR p IN SELECT x.community_id, x.numbered_through FROM naboom.audit_position x ORDER BY x.community_id LOOP
		prev := NULL;
		SELECT * INTO prev FROM naboom.audit_seal z WHERE z.community_id = p.community_id ORDER BY z.seal_id DESC LIMIT 1;
		s_from := coalesce(prev.seq_to, 1);
		CONTINUE WHEN p.numbered_through < s_from;
		s_to := least(p.numbered_through + 1, s_from + max_rows);
		-- the rows at those positions, read where the community's shard is
		EXECUTE pg_catalog.format('SELECT count(*)::integer AS n, array_agg(a.id ORDER BY a.seq) AS ids,
				string_agg(naboom.audit_row_hash(ROW(a.*)::naboom.audit_log), ''''::bytea ORDER BY a.seq) AS hashes,
				min(a.logged_at) AS first_at, max(a.logged_at) AS last_at, count(DISTINCT a.seq)::integer AS positions
			FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s AND a.seq < %s',
			p.community_id, s_from, s_to) INTO got;
		IF got.n <> s_to - s_from OR got.positions <> got.n THEN
			-- Positions are given densely under a lock: a hole or a repeat
			-- is a change to the log, which verify_audit reports; that
			-- community's chain is not extended over it.
			RAISE WARNING 'naboom audit: community % has % rows at positions % to % (expected %): not sealed',
				p.community_id, got.n, s_from, s_to - 1, s_to - s_from;
			CONTINUE;
		END IF;
		INSERT INTO naboom.audit_seal (xid_from, xid_to, first_logged_at, last_logged_at, row_count, ids, row_hashes,
			prev_hash, seal_hash, row_format, community_id, seq_from, seq_to)
		VALUES ('0', '0', got.first_at, got.last_at, got.n, got.ids, got.hashes, coalesce(prev.seal_hash, '\x'::bytea),
			naboom.audit_community_seal_hash(coalesce(prev.seal_hash, '\x'::bytea), p.community_id, s_from, s_to,
				got.ids, got.hashes),
			2, p.community_id, s_from, s_to)
		RETURNING * INTO s;
		RAISE LOG 'naboom audit seal %: community %, % rows, positions % to %, hash %', s.seal_id, s.community_id,
			s.row_count, s_from, s_to - 1, pg_catalog.encode(s.seal_hash, 'hex');
		made := s;
	END LOOP;
	RETURN made;
END
$$;

COMMENT ON FUNCTION naboom.seal_community_audit(integer) IS
	'naboom.seal_audit on a distributed naboom (coordinator only): number what is new, then seal each community''s rows since its last seal (at most max_rows a community) into that community''s chain; returns the last seal made, or NULL';

CREATE OR REPLACE FUNCTION naboom.verify_community_audit(from_time timestamptz, to_time timestamptz,
	OUT problem text, OUT seal_id bigint, OUT audit_id bigint, OUT logged_at timestamptz, OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	s naboom.audit_seal;
	before naboom.audit_seal;
	r record;
	now_rows record;
	n_rows bigint := 0;
	n_seals integer := 0;
	n_problems integer := 0;
	n_unsealed bigint := 0;
	n_expired bigint := 0;
	n_anonymised_v1 bigint := 0;
	-- rows of dropped months are gone with them (retention)
	expired_before timestamptz := (SELECT max(e.month_to) FROM naboom.audit_expiry e);
	k bigint;
BEGIN
	IF NOT naboom.is_coordinator() THEN
		PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is verified on the coordinator',
			'Each community''s chain of seals is kept on the coordinator.', 'Run naboom.verify_audit() on the coordinator.');
	END IF;
	-- Seals made before distribute() (community_id NULL: the single node's
	-- chain, by transaction range), then each community's chain (by position).
	FOR s IN
		SELECT * FROM naboom.audit_seal x WHERE x.last_logged_at >= from_time AND x.first_logged_at < to_time
		ORDER BY x.community_id NULLS FIRST, x.seal_id
	LOOP
		n_seals := n_seals + 1;
		n_rows := n_rows + s.row_count;
		IF pg_catalog.octet_length(s.row_hashes) <> 32 * pg_catalog.cardinality(s.ids)
			OR s.seal_hash IS DISTINCT FROM (CASE WHEN s.community_id IS NULL
				THEN naboom.audit_seal_hash(s.prev_hash, s.xid_from, s.xid_to, s.ids, s.row_hashes)
				ELSE naboom.audit_community_seal_hash(s.prev_hash, s.community_id, s.seq_from, s.seq_to, s.ids, s.row_hashes) END)
			OR (s.community_id IS NOT NULL AND pg_catalog.cardinality(s.ids) <> s.seq_to - s.seq_from) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'seal_changed', s.seal_id, NULL::bigint, s.sealed_at,
				'The seal''s fields no longer hash to its seal_hash.';
		END IF;
		-- Each seal names the hash of the one before in its chain and starts
		-- where that one ended; a community's first starts at position 1.
		before := NULL;
		SELECT * INTO before FROM naboom.audit_seal x
		WHERE x.community_id IS NOT DISTINCT FROM s.community_id AND x.seal_id < s.seal_id
		ORDER BY x.seal_id DESC LIMIT 1;
		IF (s.community_id IS NOT NULL AND (CASE WHEN before.seal_id IS NULL
					THEN s.prev_hash <> '\x'::bytea OR s.seq_from <> 1
					ELSE before.seal_hash <> s.prev_hash OR before.seq_to <> s.seq_from END))
			OR (s.community_id IS NULL AND before.seal_id IS NOT NULL
				AND (before.seal_hash <> s.prev_hash OR before.xid_to <> s.xid_from)) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
				format('The seal before %s (community %s) is missing or changed.', s.seal_id,
					coalesce(s.community_id::text, 'none'));
		END IF;
		-- The sealed rows as they are now: a community's positions from its
		-- shard (one routed statement); an older seal's ids from every shard.
		IF s.community_id IS NOT NULL THEN
			EXECUTE pg_catalog.format('SELECT coalesce(array_agg(a.seq ORDER BY a.seq, a.id), ''{}'') AS pos,
					coalesce(array_agg(a.id ORDER BY a.seq, a.id), ''{}'') AS ids,
					coalesce(array_agg(a.logged_at ORDER BY a.seq, a.id), ''{}'') AS ats,
					coalesce(array_agg(a.personal_digest IS NOT NULL ORDER BY a.seq, a.id), ''{}'') AS anon,
					coalesce(array_agg(naboom.audit_row_hash(ROW(a.*)::naboom.audit_log) ORDER BY a.seq, a.id), ''{}'') AS hashes
				FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s AND a.seq < %s',
				s.community_id, s.seq_from, s.seq_to) INTO now_rows;
		ELSE
			-- (the rows read on every shard, then gathered on the coordinator)
			EXECUTE 'WITH x AS MATERIALIZED (
					SELECT a.id, a.logged_at, a.personal_digest IS NOT NULL AS anon,
						CASE WHEN $2 = 2 THEN naboom.audit_row_hash(ROW(a.*)::naboom.audit_log)
							ELSE pg_catalog.sha256(pg_catalog.convert_to(naboom.audit_row_text(ROW(a.*)::naboom.audit_log), ''UTF8'')) END AS h
					FROM naboom.audit_log a WHERE a.id = ANY ($1))
				SELECT coalesce(array_agg(x.id ORDER BY x.id), ''{}'') AS pos, coalesce(array_agg(x.id ORDER BY x.id), ''{}'') AS ids,
					coalesce(array_agg(x.logged_at ORDER BY x.id), ''{}'') AS ats,
					coalesce(array_agg(x.anon ORDER BY x.id), ''{}'') AS anon,
					coalesce(array_agg(x.h ORDER BY x.id), ''{}'') AS hashes
				FROM x' INTO now_rows USING s.ids, s.row_format;
		END IF;
		FOR r IN
			SELECT w.id AS want_id, g.id AS got_id, g.at, g.anon
			FROM (SELECT u.id, CASE WHEN s.community_id IS NULL THEN u.id ELSE s.seq_from + u.ord - 1 END AS pos,
					pg_catalog.substr(s.row_hashes, (u.ord::integer - 1) * 32 + 1, 32) AS h
				FROM unnest(s.ids) WITH ORDINALITY u(id, ord)) w
			FULL JOIN unnest(now_rows.pos, now_rows.ids, now_rows.ats, now_rows.anon, now_rows.hashes) AS g(pos, id, at, anon, h)
				ON g.pos = w.pos AND g.id = w.id
			WHERE w.id IS NULL OR g.id IS NULL OR g.h <> w.h
		LOOP
			IF r.got_id IS NULL AND expired_before IS NOT NULL AND s.first_logged_at < expired_before THEN
				n_expired := n_expired + 1;
			ELSIF r.got_id IS NULL THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'removed', s.seal_id, r.want_id, NULL::timestamptz,
					format('Row %s of seal %s is gone.', r.want_id, s.seal_id);
			ELSIF r.want_id IS NULL THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'inserted', s.seal_id, r.got_id, r.at,
					format('Row %s sits at a position of seal %s (community %s) that the seal does not list.',
						r.got_id, s.seal_id, s.community_id);
			ELSIF r.anon AND s.row_format = 1 THEN
				-- Format 1 hashed the personal fields themselves.
				n_anonymised_v1 := n_anonymised_v1 + 1;
			ELSE
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'changed', s.seal_id, r.got_id, r.at,
					format('Row %s no longer matches its hash in seal %s.', r.got_id, s.seal_id);
			END IF;
		END LOOP;
	END LOOP;
	-- Rows of the range not sealed yet: without a position, or at a position
	-- after their community's last seal.
	EXECUTE 'SELECT count(*) FROM naboom.audit_log a WHERE a.logged_at >= $1 AND a.logged_at < $2 AND a.seq IS NULL'
		INTO k USING from_time, to_time;
	n_unsealed := k;
	FOR r IN
		SELECT p.community_id, coalesce((SELECT max(x.seq_to) FROM naboom.audit_seal x
			WHERE x.community_id = p.community_id), 1) AS sealed_to
		FROM naboom.audit_position p ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('SELECT count(*) FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s
			AND a.logged_at >= %L AND a.logged_at < %L', r.community_id, r.sealed_to, from_time, to_time) INTO k;
		n_unsealed := n_unsealed + k;
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

COMMENT ON FUNCTION naboom.verify_community_audit(timestamptz, timestamptz) IS
	'naboom.verify_audit on a distributed naboom (coordinator only): every community''s chain of seals touching [from_time, to_time) and the rows at its positions, read from the community''s shards (changed, removed, inserted at a sealed position, seal_changed, chain_broken), the seals made before distribute() by their ids, then the summary';

CREATE OR REPLACE FUNCTION naboom.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, distribution text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	fk record;
	pol record;
	w record;
	unprepared text;
	prep text[] := '{}';
	fks text[] := '{}';
	t text;
	jobs boolean;
	-- the small tables every community shares: a copy on every node
	reference_tables constant text[] := ARRAY['community', 'status', 'transition', 'retention_policy'];
	-- the domain tables, distributed by community_id and co-located with
	-- incident (the first one sets the co-location group)
	domain_tables constant text[] := ARRAY['incident', 'area', 'member', 'category', 'incident_timeline',
		'responder_position', 'subscription', 'alert', 'rate_counter', 'community_retention', 'legal_hold',
		'deleted_note', 'attachment', 'authority', 'forwarding_rule', 'forwarding', 'authority_update', 'event', 'erasure_step',
		'audit_log'];
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
		PERFORM naboom.fail('42501', 'naboom.superuser_only', 'only a superuser may distribute naboom',
			format('Role "%s" is not a superuser.', CURRENT_USER), 'Run naboom.distribute() as a superuser on the Citus coordinator.');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
		PERFORM naboom.fail('55000', 'naboom.citus_missing', 'Citus is not installed in this database',
			format('naboom.distribute() shards naboom by community with Citus, which database "%s" does not have.', pg_catalog.current_database()),
			'Install Citus 13 from its own packages, set shared_preload_libraries = ''citus,...'' (citus first) on every node, CREATE EXTENSION citus, add the workers, then call naboom.distribute() on the coordinator.');
	END IF;

	IF NOT naboom.is_distributed() THEN
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
		PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
		IF shard_count IS NOT NULL THEN
			PERFORM pg_catalog.set_config('citus.shard_count', shard_count::text, true);
		END IF;

		-- 1. Foreign keys are put back after the tables are distributed
		-- (Citus refuses to convert an extension's foreign-key graph piece by
		-- piece).  Every change before distribution is made here and on the
		-- workers, whose copies of naboom's tables (made by CREATE EXTENSION)
		-- are Citus's shells of the distributed tables.
		FOR fk IN
			SELECT c.conrelid::regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
			FROM pg_catalog.pg_constraint c
			WHERE c.contype = 'f' AND c.connamespace = 'naboom'::regnamespace
				AND c.confrelid <> 'naboom.retention_run'::regclass
			ORDER BY c.conrelid::regclass::text, c.conname
		LOOP
			prep := prep || pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.rel, fk.conname);
			-- (Citus cannot cascade an update of a key that includes the
			-- distribution column, nor set part of such a key to null: an
			-- authority's code is not renamed in place, an area with
			-- incidents is not deleted)
			fks := fks || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname,
				pg_catalog.replace(pg_catalog.replace(fk.def, ' ON UPDATE CASCADE', ''), ' ON DELETE SET NULL (area_id)', ''));
		END LOOP;

		-- Row-level security policies with subqueries (a member's reads of
		-- the tables themselves; the API's functions are SECURITY DEFINER and
		-- bypass them) are not supported by Citus on distributed tables:
		-- they are dropped, so that naboom_user reads those tables only
		-- through the API.  The policies that are plain conditions stay.
		FOR pol IN
			SELECT p.tablename, p.policyname FROM pg_catalog.pg_policies p
			WHERE p.schemaname = 'naboom'
				AND (p.qual ~* '\(\s*SELECT' OR coalesce(p.with_check, '') ~* '\(\s*SELECT')
		LOOP
			prep := prep || pg_catalog.format('DROP POLICY IF EXISTS %I ON naboom.%I', pol.policyname, pol.tablename);
		END LOOP;

		-- 2. Keys without community_id gain it: a distributed table enforces
		-- only uniqueness that includes its distribution column.  The
		-- reference stays unique across communities through incident_reference.
		prep := prep || ARRAY[
			'ALTER TABLE naboom.incident DROP CONSTRAINT IF EXISTS incident_reference_key, ADD CONSTRAINT incident_reference_key UNIQUE (community_id, reference)',
			'ALTER TABLE naboom.authority DROP CONSTRAINT IF EXISTS authority_authority_id_key, ADD CONSTRAINT authority_authority_id_key UNIQUE (community_id, authority_id)',
			'ALTER TABLE naboom.forwarding_rule DROP CONSTRAINT IF EXISTS forwarding_rule_rule_id_key, ADD CONSTRAINT forwarding_rule_rule_id_key UNIQUE (community_id, rule_id)',
			'ALTER TABLE naboom.forwarding DROP CONSTRAINT IF EXISTS forwarding_pkey, ADD CONSTRAINT forwarding_pkey PRIMARY KEY (community_id, forwarding_id), DROP CONSTRAINT IF EXISTS forwarding_idempotency_key_key, ADD CONSTRAINT forwarding_idempotency_key_key UNIQUE (community_id, idempotency_key)',
			'ALTER TABLE naboom.authority_update DROP CONSTRAINT IF EXISTS authority_update_pkey, ADD CONSTRAINT authority_update_pkey PRIMARY KEY (community_id, authority_id, update_id)',
			'ALTER TABLE naboom.attachment DROP CONSTRAINT IF EXISTS attachment_object_key_key, ADD CONSTRAINT attachment_object_key_key UNIQUE (community_id, object_key)',
			'ALTER TABLE naboom.legal_hold DROP CONSTRAINT IF EXISTS legal_hold_pkey, ADD CONSTRAINT legal_hold_pkey PRIMARY KEY (community_id, hold_id)',
			'ALTER TABLE naboom.event DROP CONSTRAINT IF EXISTS event_pkey, ADD CONSTRAINT event_pkey PRIMARY KEY (community_id, event_id), DROP CONSTRAINT IF EXISTS event_seq_key, ADD CONSTRAINT event_seq_key UNIQUE (community_id, seq)'];
		-- The audit log too is distributed by community, so that a
		-- community's log sits with it and moves with it: rows without a
		-- community are filed under 0 (which hashes as none, so sealed rows
		-- still verify; the guard lets only that and a position be set), and
		-- each community's rows get positions (seq) after commit.  The same
		-- monthly partitions on every node first.
		prep := prep || ARRAY(
			SELECT pg_catalog.format('CREATE TABLE IF NOT EXISTS naboom.%I PARTITION OF naboom.audit_log %s', c.relname,
				pg_catalog.pg_get_expr(c.relpartbound, c.oid))
			FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
			WHERE h.inhparent = 'naboom.audit_log'::regclass
				AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
			ORDER BY c.relname) || ARRAY[
			'UPDATE naboom.audit_log SET community_id = 0 WHERE community_id IS NULL',
			'ALTER TABLE naboom.audit_log ALTER COLUMN community_id SET DEFAULT 0, ALTER COLUMN community_id SET NOT NULL, DROP CONSTRAINT IF EXISTS audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (community_id, id, logged_at)',
			'CREATE INDEX IF NOT EXISTS audit_log_seq ON naboom.audit_log (community_id, seq)',
			'CREATE INDEX IF NOT EXISTS audit_log_unnumbered ON naboom.audit_log (community_id) WHERE seq IS NULL'];
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		FOREACH t IN ARRAY prep LOOP
			EXECUTE t;
		END LOOP;
		-- Every change is idempotent, and checked on every worker afterwards:
		-- now and then (a few seconds after the extension was created) one
		-- worker did not have them, though Citus reported success; it is
		-- prepared again, up to three times.
		FOR attempt IN 1..3 LOOP
			FOR w IN
				SELECT r.nodename, r.nodeport, r.success, r.result
				FROM run_command_on_workers('SET citus.enable_ddl_propagation TO off; ' || pg_catalog.array_to_string(prep, '; ')) r
			LOOP
				IF NOT w.success THEN
					RAISE EXCEPTION 'naboom.distribute: preparing worker %:% failed: %', w.nodename, w.nodeport, w.result;
				END IF;
			END LOOP;
			SELECT pg_catalog.string_agg(r.nodename || ':' || r.nodeport || ' ' || r.result, '; ') INTO unprepared
			FROM run_command_on_workers($check$
				SELECT pg_catalog.to_regclass('naboom.audit_log_unnumbered') IS NOT NULL
					AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
						WHERE c.connamespace = 'naboom'::pg_catalog.regnamespace AND c.contype = 'f'
							AND c.confrelid <> 'naboom.retention_run'::pg_catalog.regclass)
			$check$) r
			WHERE NOT (r.success AND r.result = 't');
			EXIT WHEN unprepared IS NULL;
			IF attempt = 3 THEN
				PERFORM naboom.fail('XX000', 'naboom.citus_prepare', 'a worker could not be prepared for distribution',
					unprepared, 'Check that naboom is installed on every worker, then run naboom.distribute() again.');
			END IF;
			RAISE WARNING 'naboom.distribute: preparing again: %', unprepared;
			PERFORM pg_catalog.pg_sleep(1);
		END LOOP;
		INSERT INTO naboom.incident_reference (reference, community_id)
			SELECT i.reference, i.community_id FROM naboom.incident i
			ON CONFLICT DO NOTHING;

		-- 3. Reference tables, then the domain tables by community.
		FOREACH t IN ARRAY reference_tables LOOP
			PERFORM create_reference_table(pg_catalog.format('naboom.%I', t)::regclass);
		END LOOP;
		FOREACH t IN ARRAY domain_tables LOOP
			PERFORM create_distributed_table(pg_catalog.format('naboom.%I', t)::regclass, 'community_id',
				colocate_with => CASE WHEN t = 'incident' THEN 'default' ELSE 'naboom.incident' END);
		END LOOP;
		PERFORM create_distributed_table('naboom.incident_reference', 'reference', colocate_with => 'none');

		-- (each dropped first, IF EXISTS: now and then a worker's shell had
		-- its foreign key back by now, and Citus repeats the command there)
		-- (Citus takes an ADD CONSTRAINT only as a command of its own)
		FOREACH t IN ARRAY fks LOOP
			EXECUTE pg_catalog.regexp_replace(t, '^ALTER TABLE (\S+) ADD CONSTRAINT (\S+) .*$',
				'ALTER TABLE \1 DROP CONSTRAINT IF EXISTS \2');
			EXECUTE t;
		END LOOP;

		-- The caller's identity reaches the workers as SET LOCAL (src/citus.c)
		EXECUTE pg_catalog.format('ALTER DATABASE %I SET naboom.distributed = on', pg_catalog.current_database());
		PERFORM pg_catalog.set_config('naboom.distributed', 'on', false);
	END IF;

	-- Ids made on a worker (alerts, timeline rows, events, audit rows ...)
	-- come from that node's own copies of naboom's sequences: they are the
	-- extension's, not Citus's shells, so Citus gave them no ranges, and
	-- after a community moved its new node handed out ids the community
	-- already had.  Each worker's sequences start at its group id << 48, as
	-- Citus does for its own (2^48 ids a node, every id below 2^53 for
	-- JavaScript clients); a sequence already in its range is left alone.
	-- Run distribute() again after citus_add_node.
	FOR t IN
		SELECT pg_catalog.format('%s:%s %s', cw.nodename, cw.nodeport, cw.result)
		FROM run_command_on_workers($cmd$
			SELECT pg_catalog.count(pg_catalog.setval(c.oid::pg_catalog.regclass, g.groupid::bigint << 48))
			FROM pg_catalog.pg_class c, pg_catalog.pg_dist_local_group g
			WHERE c.relkind = 'S' AND c.relnamespace = 'naboom'::pg_catalog.regnamespace
				AND coalesce(pg_catalog.pg_sequence_last_value(c.oid::pg_catalog.regclass), 0) < g.groupid::bigint << 48
		$cmd$) cw
		WHERE NOT cw.success
	LOOP
		PERFORM naboom.fail('XX000', 'naboom.citus_sequences', 'could not give a worker''s sequences their range',
			t, 'Check that naboom is installed on every worker (citus_add_node propagates it), then run naboom.distribute() again.');
	END LOOP;

	-- Citus routes a query with parameters to one shard only in a custom
	-- plan: the functions that force generic plans on a single node (where
	-- the plan is the same whatever the values) force custom plans instead
	-- (the default would still try a generic plan after five calls).
	FOR t IN
		SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		WHERE p.pronamespace IN ('naboom'::regnamespace, 'naboom_api'::regnamespace)
			AND 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET plan_cache_mode = force_custom_plan', t);
	END LOOP;

	-- pg_cron's jobs that each node must run for itself run on every node now.
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job j WHERE j.jobname LIKE ''naboom-%'')' INTO jobs;
		IF jobs THEN
			PERFORM naboom.schedule_jobs();
		END IF;
	END IF;

	RETURN QUERY
		SELECT p.logicalrelid::regclass::text,
			CASE p.partmethod WHEN 'n' THEN 'reference' ELSE 'by ' || pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END
		FROM pg_dist_partition p
		JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid
		WHERE c.relnamespace = 'naboom'::regnamespace
		ORDER BY 1;
END
$$;

COMMENT ON FUNCTION naboom.distribute(integer) IS
	'On a Citus coordinator, distribute naboom by community: the shared tables (community, status, transition, retention_policy) as reference tables, every domain table by community_id co-located with incident, incident_reference by reference. Idempotent; superuser only; naboom.citus_missing (55000) without Citus. Returns each distributed table and how';

CREATE OR REPLACE FUNCTION naboom.audit_default_route() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	month regclass := pg_catalog.to_regclass('naboom.audit_log_'
		|| pg_catalog.to_char(NEW.logged_at AT TIME ZONE 'UTC', 'YYYYMM'));
BEGIN
	-- (on a Citus worker it fires on a shard of the distributed default
	-- partition, where a month is a shard of its own: the row stays)
	IF month IS NULL OR TG_TABLE_NAME <> 'audit_log_default' THEN
		RETURN NEW;
	END IF;
	EXECUTE pg_catalog.format('INSERT INTO %s SELECT ($1).*', month) USING NEW;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.audit_default_route() IS
	'BEFORE INSERT on naboom.audit_log_default: a row written straight into the default partition (a restore loads every audit row there) whose month has a partition goes to that partition, unchanged';

-- END replaced functions

-- Grants and pinned search paths for what is new (list below, one block per
-- feature, as in 99_security.sql).
REVOKE ALL ON FUNCTION naboom.check_page_size(integer), naboom.page_cursor(text, text[]),
	naboom.page_cursor_parts(text, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.incident_visible(boolean, text, text, naboom.member_role, boolean),
	naboom.incident_items(text, naboom.incident[], text[]),
	naboom.incident_items_routed(text, naboom.incident[], text[]) FROM PUBLIC;
-- Issue 13, alerts.
REVOKE ALL ON FUNCTION naboom.check_alert_id(bigint), naboom.alert_state(text, integer),
	naboom_api.subscribe_area(text, text, text[], text, text), naboom_api.mark_alerts_seen(bigint),
	naboom_api.unread_alert_count() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.subscribe_area(text, text, text[], text, text),
	naboom_api.mark_alerts_seen(bigint), naboom_api.unread_alert_count()
	TO naboom_user, naboom_service;

-- Issue 13, queue, feed, my reports and assignments.
REVOKE ALL ON FUNCTION naboom.cursor_time(timestamptz), naboom.cursor_invalid(), naboom.cursor_bigint(text), naboom.cursor_timestamp(text),
	naboom.check_statuses(text[], boolean), naboom.check_area(naboom.community, text),
	naboom.sla_due(timestamptz, timestamptz, interval, interval), naboom.priority_rank(naboom.priority),
	naboom_api.incident_queue(text, text[], text[], text, text, text, boolean, text, integer),
	naboom_api.community_incidents(text, text[], text, text, timestamptz, timestamptz, text, text, integer),
	naboom_api.my_incidents(text[], text, integer), naboom_api.my_assignments() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.community_incidents(text, text[], text, text, timestamptz, timestamptz, text, text, integer)
	TO naboom_anon, naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION
	naboom_api.incident_queue(text, text[], text[], text, text, text, boolean, text, integer),
	naboom_api.my_incidents(text[], text, integer), naboom_api.my_assignments()
	TO naboom_user, naboom_service;

-- Issue 13, directory (as in 99_security.sql)
REVOKE ALL ON FUNCTION naboom.leave_member(bigint, text, timestamptz), naboom.health_probe(),
	naboom.health_problems(naboom_api.health), naboom.health_warnings(naboom_api.health) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom_api.communities(), naboom_api.categories(text), naboom_api.areas(text, boolean),
	naboom_api.statuses(), naboom_api.health(), naboom_api.my_memberships(),
	naboom_api.update_my_profile(text, text, text, text), naboom_api.leave_community(text),
	naboom_api.members(text, text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.communities(), naboom_api.categories(text), naboom_api.areas(text, boolean),
	naboom_api.statuses(), naboom_api.health()
	TO naboom_anon, naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION
	naboom_api.my_memberships(), naboom_api.update_my_profile(text, text, text, text),
	naboom_api.leave_community(text), naboom_api.members(text, text, text, text, integer)
	TO naboom_user, naboom_service;

-- Issue 13, offline sync (as in 99_security.sql): the horizon follows
-- every deletion of events; anyone may sync.
CREATE TRIGGER event_horizon AFTER DELETE ON naboom.event
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.event_horizon_advance();
ALTER TABLE naboom.event_horizon ENABLE ROW LEVEL SECURITY;
CREATE TRIGGER restore_seed BEFORE INSERT ON naboom.event_horizon
	FOR EACH ROW EXECUTE FUNCTION naboom.restore_seed('id');
SELECT pg_catalog.pg_extension_config_dump('naboom.event_horizon', '');
REVOKE ALL ON naboom.event_horizon FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.event_horizon_advance(), naboom_api.incident_changes(text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION naboom_api.incident_changes(text, integer, text)
	TO naboom_anon, naboom_user, naboom_service;

-- Issue 15, Open311 (as in 99_security.sql)
REVOKE ALL ON FUNCTION naboom.open311_time(timestamptz, text), naboom.open311_format(text),
	naboom.open311_jurisdiction(text), naboom.open311_date(text, text), naboom.open311_status(text),
	naboom.open311_document(jsonb, text, text), naboom.open311_error(text, integer, text, text, text),
	naboom.open311_request_json(naboom.incident, naboom.community, naboom.category, naboom.status),
	naboom.open311_visible(boolean, naboom.incident_kind, boolean),
	naboom_api.open311_services(text, text),
	naboom_api.open311_requests(text, text, text, text, text, text, text),
	naboom_api.open311_request(text, text, text),
	naboom_api.open311_post_request(text, text, double precision, double precision, text, text, text, text,
		text, text, text, text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.open311_services(text, text),
	naboom_api.open311_requests(text, text, text, text, text, text, text),
	naboom_api.open311_request(text, text, text)
	TO naboom_anon, naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION
	naboom_api.open311_post_request(text, text, double precision, double precision, text, text, text, text,
		text, text, text, text, text, text, text, text, text)
	TO naboom_user, naboom_service;
-- Issue 13, performance of the queue (as in 10_lists.sql and
-- 99_security.sql): every incident stamped once (live ones get their due
-- time, by the function the category trigger uses, so no version, event or
-- audit row per incident), then the index, the trigger and the grants.
SELECT naboom.restamp_queue_due(NULL, NULL);

CREATE INDEX incident_queue_idx ON naboom.incident (community_id, priority, queue_due_at, created_at, incident_id)
	WHERE queue_due_at IS NOT NULL;

CREATE TRIGGER category_targets_changed AFTER UPDATE OF ack_target, resolve_target ON naboom.category
	FOR EACH ROW WHEN (OLD.ack_target IS DISTINCT FROM NEW.ack_target OR OLD.resolve_target IS DISTINCT FROM NEW.resolve_target)
	EXECUTE FUNCTION naboom.category_targets_changed();

CREATE TRIGGER status_types_changed AFTER UPDATE OF status_type ON naboom.status
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.status_types_changed();

REVOKE ALL ON FUNCTION naboom.restamp_queue_due(bigint, text), naboom.category_targets_changed(),
	naboom.status_types_changed() FROM PUBLIC;
-- Issue 16, evidence (as in 13_evidence.sql and 99_security.sql): deleting
-- an attachment announces it; dumped, row-level secured, granted and
-- audited like the other domain tables.
CREATE TRIGGER attachment_deleted AFTER DELETE ON naboom.attachment
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.attachment_deleted();
SELECT pg_catalog.pg_extension_config_dump('naboom.attachment', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.attachment_attachment_id_seq', '');
ALTER TABLE naboom.attachment ENABLE ROW LEVEL SECURITY;
CREATE POLICY attachment_member ON naboom.attachment FOR SELECT TO naboom_user
	USING (hidden_at IS NULL
		AND (uploader_ref = (SELECT naboom.current_actor())
			OR community_id = ANY ((SELECT naboom.my_staff_community_ids())::bigint[])));
CREATE POLICY attachment_service ON naboom.attachment FOR SELECT TO naboom_service USING (true);
REVOKE ALL ON naboom.attachment FROM PUBLIC;
GRANT SELECT (community_id, attachment_id, incident_id, object_key, content_type, bytes, sha256, caption,
		taken_at, created_at)
	ON naboom.attachment TO naboom_user;
GRANT SELECT ON naboom.attachment TO naboom_service;
REVOKE ALL ON FUNCTION naboom.events_written(), naboom.attachment_deleted(), naboom.attachment_event(naboom.incident, text, jsonb),
	naboom.check_attachment_file(text, bigint), naboom.check_object_key(text, text), naboom.check_sha256(text),
	naboom.check_taken_at(timestamptz), naboom.attachment_out(naboom.attachment, naboom.incident, text, text, naboom.member_role),
	naboom.incident_attachments(naboom.incident, text, naboom.member_role, text),
	naboom_api.add_attachment(text, text, text, bigint, text, text, timestamptz),
	naboom_api.hide_attachment(text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.add_attachment(text, text, text, bigint, text, text, timestamptz),
	naboom_api.hide_attachment(text, bigint, text)
	TO naboom_user, naboom_service;
SELECT naboom.audit_table('naboom.attachment');

-- Issue 16, forwarding to authorities (as in 13_forwarding.sql and
-- 99_security.sql): the rule triggers on naboom.incident, row-level
-- security, dumps, audit and grants.
CREATE TRIGGER incident_needs_authority BEFORE INSERT OR UPDATE OF category_code, location, area_id, priority
	ON naboom.incident FOR EACH ROW EXECUTE FUNCTION naboom.incident_needs_authority();
CREATE TRIGGER incident_outbox AFTER INSERT ON naboom.incident
	FOR EACH ROW WHEN (NEW.requires_authority) EXECUTE FUNCTION naboom.incident_outbox();
CREATE TRIGGER incident_outbox_verified AFTER UPDATE OF status ON naboom.incident
	FOR EACH ROW WHEN (NEW.requires_authority AND NEW.status = 'verified' AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION naboom.incident_outbox();
ALTER TABLE naboom.authority ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.forwarding_rule ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.forwarding ENABLE ROW LEVEL SECURITY;
ALTER TABLE naboom.authority_update ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('naboom.authority', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding_rule', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.authority_update', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.authority_authority_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding_rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('naboom.forwarding_forwarding_id_seq', '');
SELECT naboom.audit_table(t) FROM unnest(ARRAY['naboom.authority', 'naboom.forwarding_rule', 'naboom.forwarding',
	'naboom.authority_update']::regclass[]) t;
REVOKE ALL ON naboom.authority, naboom.forwarding_rule, naboom.forwarding, naboom.authority_update FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.append_event(bigint, bigint, text, boolean, jsonb),
	naboom.forwarding_out(naboom.forwarding), naboom.authority_by_code(naboom.community, text),
	naboom.require_service(text), naboom.forwarding_payload(naboom.forwarding),
	naboom.enqueue_forwarding(bigint, bigint, text, integer, bigint, text, text, bigint, text, text),
	naboom.incident_needs_authority(), naboom.incident_outbox(), naboom.forwarding_dead(naboom.forwarding),
	naboom.forwarding_by_id(bigint), naboom.claim_due_forwardings(bigint, text, integer, interval),
	naboom_api.upsert_authority(text, text, text, text, text, text, boolean),
	naboom_api.upsert_forwarding_rule(text, text, text, text[], text, text[], text[], boolean),
	naboom_api.forward_incident(text, text, text), naboom_api.incident_forwardings(text),
	naboom_api.claim_forwardings(text, integer, interval), naboom_api.forwarding_delivered(bigint, text),
	naboom_api.forwarding_failed(bigint, text, interval),
	naboom_api.authority_update(text, text, text, text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	naboom_api.upsert_authority(text, text, text, text, text, text, boolean),
	naboom_api.upsert_forwarding_rule(text, text, text, text[], text, text[], text[], boolean),
	naboom_api.forward_incident(text, text, text), naboom_api.incident_forwardings(text)
	TO naboom_user, naboom_service;
GRANT EXECUTE ON FUNCTION
	naboom_api.claim_forwardings(text, integer, interval), naboom_api.forwarding_delivered(bigint, text),
	naboom_api.forwarding_failed(bigint, text, interval),
	naboom_api.authority_update(text, text, text, text, timestamptz, text)
	TO naboom_service;

SELECT naboom.pin_search_paths();

-- Issue 18, Citus (as in 14_citus.sql)
REVOKE ALL ON FUNCTION naboom.is_distributed(), naboom.distribute(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.erasure_step_run(), naboom.anonymise_audit_of(text[], bigint[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom.on_every_node(text, boolean), naboom.person_audit_rows(text),
	naboom.is_coordinator(), naboom.number_audit(integer), naboom.seal_community_audit(integer),
	naboom.verify_community_audit(timestamptz, timestamptz), naboom.audit_community(bigint),
	naboom.audit_community_seal_hash(bytea, bigint, bigint, bigint, bigint[], bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION naboom_api.events_since(bigint, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION naboom_api.events_since(bigint, integer, text) TO naboom_user, naboom_service;

-- 6. Tell PostgREST to reload its schema cache, except in a Citus worker
-- running this script for its coordinator (CREATE/ALTER EXTENSION propagated
-- in a two-phase commit: a transaction that has sent a NOTIFY cannot be
-- prepared).  PostgREST listens on the coordinator, which still sends it.
DO $pgrst$
BEGIN
	IF pg_catalog.current_setting('application_name') NOT LIKE 'citus\_internal gpid=%' THEN
		PERFORM pg_catalog.pg_notify('pgrst', 'reload schema');
	END IF;
END
$pgrst$;
