-- Issue 16, evidence: add_attachment (who may, every check, idempotent
-- resubmits, the count and rate limits), hide_attachment, what
-- get_incident shows to whom, export, audit, and the attachment.deleted
-- events of erasure, leaving and retention (a legal hold keeps them).
\pset format unaligned
\pset tuples_only on
\i test/include/town.psql

-- A valid SHA-256 per file number.
CREATE FUNCTION t.sha(n integer) RETURNS text LANGUAGE sql AS $$
	SELECT encode(sha256(convert_to('file ' || n, 'UTF8')), 'hex')
$$;
-- One attachment row as the caller gets it, without the random reference.
CREATE FUNCTION t.att(a naboom_api.attachment) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(' | ', a.community, t.mask(a.object_key), a.content_type, a.bytes, left(a.sha256, 8), a.caption,
		a.uploader_name, a.is_mine, a.hidden, a.hidden_reason)
$$;
-- get_incident's attachments, one line each.
CREATE FUNCTION t.seen(ref text) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(concat_ws(':', t.mask(x->>'object_key'), coalesce(x->>'uploader_name', '-'), x->>'is_mine',
		x->>'hidden', coalesce(x->>'hidden_reason', '-')), ', ' ORDER BY (x->>'id')::bigint), '(none)')
	FROM naboom_api.get_incident(ref) i, jsonb_array_elements(i.attachments) x
$$;

-- Piet (u-res1) reports a burglary, Mpho (u-res2) a sensitive case (gbv),
-- Piet a private one.
SELECT t.report('u-res1', 'burglary', 'Back door forced, TV gone') AS burglary \gset
SELECT t.report('u-res2', 'gbv', 'Neighbour shouting, sounds of a beating') AS gbv \gset
SELECT t.as_user('u-res1');
SELECT reference AS private FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.52, 28.71,
	'Two calves missing', is_public => false) \gset

------------------------------------------------------------------------------
-- 1. The reporter attaches a photo: 201, the row as stored.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT t.att(a), current_setting('response.status', true) AS status, a.taken_at = '2026-01-01 08:00Z',
	a.created_at = now()
FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/door.jpg', ' Image/JPEG ', 2400000,
	upper(t.sha(1)), 'The back door', '2026-01-01 10:00+02') a;
-- Resubmitted after a timeout (same key): the same attachment, 200.
SELECT a.id = (SELECT max(attachment_id) FROM naboom.attachment), t.att(a),
	coalesce(nullif(current_setting('response.status', true), ''), '200') AS status
FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/door.jpg', 'image/jpeg', 2400000,
	t.sha(1)) a;
-- The same file again under a new key: still that one attachment (its key
-- says which object naboom keeps).
SELECT t.att(a), (SELECT count(*) FROM naboom.attachment)
FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/door-again.jpg', 'image/jpeg',
	2400000, t.sha(1)) a;
-- A video, within the video limit though over the photo limit.
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/street.mp4',
	'video/mp4', 90 * 1024 * 1024, t.sha(2), 'Car leaving') a;

------------------------------------------------------------------------------
-- 2. Who may: the reporter, responders and moderators; not another
-- resident, not another community, not an outsider to a private incident.
------------------------------------------------------------------------------
SELECT t.as_user('u-resp1');
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/print.jpg',
	'image/png', 51200, t.sha(3), 'Fingerprint on the frame') a;
SELECT t.as_user('u-res2');
SELECT t.err(format($$SELECT naboom_api.add_attachment(%L, 'mookgophong/x/y.jpg', 'image/jpeg', 100, %L)$$,
	:'burglary', t.sha(4)));
SELECT t.err(format($$SELECT naboom_api.add_attachment(%L, 'mookgophong/x/y.jpg', 'image/jpeg', 100, %L)$$,
	:'private', t.sha(4)));
SELECT t.as_user('u-other');
SELECT t.err(format($$SELECT naboom_api.add_attachment(%L, 'mookgophong/x/y.jpg', 'image/jpeg', 100, %L)$$,
	:'burglary', t.sha(4)));
SELECT t.as_user('u-nobody');
SELECT t.err(format($$SELECT naboom_api.add_attachment(%L, 'mookgophong/x/y.jpg', 'image/jpeg', 100, %L)$$,
	:'burglary', t.sha(4)));
-- The service may (integrations), and is named naboom.
SELECT t.as_service();
SELECT t.att(a) FROM naboom_api.add_attachment(:'private', 'mookgophong/' || :'private' || '/saps-form.png',
	'image/png', 1000, t.sha(5)) a;

------------------------------------------------------------------------------
-- 3. Every check, before anything is written.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');
SELECT count(*) AS before FROM naboom.attachment \gset
CREATE FUNCTION t.try(ref text, object_key text, content_type text, bytes bigint, sha256 text,
	caption text DEFAULT NULL, taken_at timestamptz DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
	SELECT t.err(format('SELECT naboom_api.add_attachment(%L, %L, %L, %s, %L, %L, %L)', ref, object_key, content_type,
		coalesce(bytes::text, 'NULL'), sha256, caption, taken_at))
$$;
SELECT t.try(:'burglary', 'mookgophong/a.pdf', 'application/pdf', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg; charset=x', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', NULL, 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 0, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', NULL, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 25 * 1024 * 1024 + 1, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.mp4', 'video/mp4', 100 * 1024 * 1024 + 1, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, 'abc');
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, repeat('g', 64));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, NULL);
SELECT t.try(:'burglary', 'modimolle/a.jpg', 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/../modimolle/a.jpg', 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong//a.jpg', 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a b.jpg', 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/dir/', 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/' || repeat('x', 520), 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', NULL, 'image/jpeg', 1000, t.sha(10));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, t.sha(10), repeat('c', 501));
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, t.sha(10), NULL, now() + interval '1 hour');
SELECT t.try(:'burglary', 'mookgophong/a.jpg', 'image/jpeg', 1000, t.sha(10), NULL, 'infinity');
SELECT t.try('NB-XXXX-XXXX', 'mookgophong/a.jpg', 'image/jpeg', 1000, t.sha(10));
-- A key already attached elsewhere (or with other content) is refused.
SELECT t.try(:'private', 'mookgophong/' || :'burglary' || '/door.jpg', 'image/jpeg', 2400000, t.sha(1));
SELECT t.try(:'burglary', 'mookgophong/' || :'burglary' || '/door.jpg', 'image/jpeg', 2400001, t.sha(1));
SELECT count(*) = :before AS nothing_written FROM naboom.attachment;
-- A few minutes of a fast phone clock are forgiven.
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/b.heic', 'image/heic', 1000, t.sha(11),
	taken_at => now() + interval '2 minutes') a;

------------------------------------------------------------------------------
-- 4. The settings: allowed types and sizes, and the count per incident.
------------------------------------------------------------------------------
SHOW naboom.attachment_types;
SHOW naboom.attachment_max_size;
SHOW naboom.attachment_max_video_size;
SHOW naboom.attachments_per_incident;
SET naboom.attachment_types = 'image/jpeg, application/pdf';
SET naboom.attachment_max_size = '1kB';
SELECT t.try(:'burglary', 'mookgophong/c.png', 'image/png', 100, t.sha(12));
SELECT t.try(:'burglary', 'mookgophong/c.pdf', 'application/pdf', 1025, t.sha(12));
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/c.pdf', 'application/pdf', 1024, t.sha(12)) a;
SELECT t.err($$SET naboom.attachment_types = 'image/jpeg, Nonsense'$$);
SELECT t.err($$SET naboom.attachment_types = ''$$);
RESET naboom.attachment_types;
RESET naboom.attachment_max_size;
-- Five on the burglary now; at most five.
SELECT count(*) FROM naboom.attachment a JOIN naboom.incident i USING (community_id, incident_id)
WHERE i.reference = :'burglary';
SET naboom.attachments_per_incident = 5;
SELECT t.try(:'burglary', 'mookgophong/d.jpg', 'image/jpeg', 100, t.sha(13));
-- A resubmit of one it has is still answered.
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/' || :'burglary' || '/door.jpg', 'image/jpeg',
	2400000, t.sha(1)) a;
RESET naboom.attachments_per_incident;

------------------------------------------------------------------------------
-- 5. The rate limit per member (attachment: 60 an hour by default; here 2
-- an hour for the community).  Resubmits do not count.
------------------------------------------------------------------------------
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"attachment": [2, 3600]}}' WHERE slug = 'mookgophong';
SELECT t.as_user('u-resp2');
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/' || :'gbv' || '/1.jpg', 'image/jpeg', 100, t.sha(20)) a;
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/' || :'gbv' || '/1.jpg', 'image/jpeg', 100, t.sha(20)) a;
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/' || :'gbv' || '/2.jpg', 'image/jpeg', 100, t.sha(21)) a;
SELECT regexp_replace(t.try(:'gbv', 'mookgophong/' || :'gbv' || '/3.jpg', 'image/jpeg', 100, t.sha(22)),
	'\d+ seconds', 'N seconds', 'g');
UPDATE naboom.community SET settings = settings - 'rate_limits' WHERE slug = 'mookgophong';
SELECT t.as_user('u-res2');
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/' || :'gbv' || '/mine.jpg', 'image/jpeg', 100,
	t.sha(23), 'From my window') a;

------------------------------------------------------------------------------
-- 6. What get_incident shows: the incident's visibility; a sensitive
-- incident's only to its reporter, responders and moderators.
------------------------------------------------------------------------------
SELECT t.as_user('u-res1');  SELECT 'reporter', t.seen(:'burglary');
SELECT t.as_user('u-res2');  SELECT 'resident', t.seen(:'burglary');
SELECT t.as_user('u-other'); SELECT 'other community', t.seen(:'burglary');
SET ROLE naboom_anon;
SELECT t.as_service();       SELECT 'public', t.seen(:'burglary');
SELECT t.err(format('SELECT t.seen(%L)', :'private'));
RESET ROLE;
SELECT t.as_user('u-res2');  SELECT 'gbv reporter', t.seen(:'gbv');
SELECT t.as_user('u-ver');   SELECT 'gbv verified member', t.seen(:'gbv');
SET ROLE naboom_anon;
SELECT t.as_service();       SELECT 'gbv public', t.seen(:'gbv');
RESET ROLE;
SELECT t.as_user('u-resp1'); SELECT 'gbv responder', t.seen(:'gbv');
SELECT t.as_user('u-resp1'); SELECT 'private responder', t.seen(:'private');
-- A responder sending the reporter's own file of the sensitive case gets
-- that attachment back, without the reporter's name; a moderator sees it.
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/copy.jpg', 'image/jpeg', 100, t.sha(23)) a;
SELECT t.as_user('u-mod');
SELECT t.att(a) FROM naboom_api.add_attachment(:'gbv', 'mookgophong/copy.jpg', 'image/jpeg', 100, t.sha(23)) a;
-- Other readers of an incident do not carry attachments.
SELECT t.as_user('u-res1');
SELECT attachments IS NULL FROM naboom_api.transition_incident(:'burglary', 'cancelled');

------------------------------------------------------------------------------
-- 7. hide_attachment: moderators, with a reason.
------------------------------------------------------------------------------
SELECT attachment_id AS print FROM naboom.attachment WHERE object_key LIKE '%/print.jpg' \gset
SELECT t.as_user('u-res1');
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', :print, 'Not relevant'));
SELECT t.as_user('u-resp1');
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', :print, 'Not relevant'));
SELECT t.as_user('u-mod');
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', :print, 'no'));
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', :print, NULL));
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', 999999, 'Not relevant'));
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'private', :print, 'Not relevant'));
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, NULL, %L)', :'burglary', 'Not relevant'));
SELECT t.att(a), a.hidden_at = now() FROM naboom_api.hide_attachment(:'burglary', :print, 'Shows a neighbour''s face') a;
SELECT t.err(format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'burglary', :print, 'Again'));
SELECT 'moderator', t.seen(:'burglary');
SELECT t.as_user('u-resp1'); SELECT 'responder', t.seen(:'burglary');
SELECT t.as_user('u-res1');  SELECT 'reporter', t.seen(:'burglary');
-- Its uploader cannot bring it back by attaching it again.
SELECT t.as_user('u-resp1');
SELECT t.try(:'burglary', 'mookgophong/' || :'burglary' || '/print.jpg', 'image/png', 51200, t.sha(3));
SELECT t.try(:'burglary', 'mookgophong/print2.png', 'image/png', 51200, t.sha(3));
-- A moderator attaching the same file gets the hidden attachment back.
SELECT t.as_user('u-mod');
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/print2.png', 'image/png', 51200, t.sha(3)) a;
SELECT t.att(a) FROM naboom_api.add_attachment(:'burglary', 'mookgophong/mod.jpg', 'image/jpeg', 700, t.sha(6)) a;

-- Each new attachment and each hiding is an event of its incident: public
-- for the public burglary (the hiding too: whoever saw the file drops it);
-- private for the private incident and the sensitive case.
SELECT e.topic, e.is_public, count(*), bool_and(e.payload ? 'id' AND NOT e.payload ? 'object_key')
FROM naboom.event e WHERE e.topic IN ('attachment.added', 'attachment.hidden') GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- 8. Audited like every domain table; exported with the person's data.
------------------------------------------------------------------------------
SELECT a.action, CASE WHEN a.actor LIKE 'u-%' THEN a.actor ELSE '(service)' END, a.row_key ? 'attachment_id',
	a.incident_id IS NOT NULL,
	coalesce(a.new_values->>'hidden_reason', a.new_values->>'caption', '-')
FROM naboom.audit_log a WHERE a.table_name = 'naboom.attachment' ORDER BY a.id;
SELECT t.as_user('u-res1');
SELECT x->>'community', x->>'reference' = :'burglary', t.mask(x->>'object_key'), x->>'content_type', x->>'bytes',
	x->>'caption', x->>'taken_at' IS NOT NULL
FROM naboom_api.export_my_data() e, jsonb_array_elements(e.data->'attachments') x ORDER BY x->>'object_key';

------------------------------------------------------------------------------
-- 9. When a person's data goes, their attachments go, and the storage
-- worker is told which objects to delete.  A legal hold keeps them.
------------------------------------------------------------------------------
CREATE TABLE t.mark AS SELECT coalesce(max(event_id), 0) AS id FROM naboom.event;
CREATE FUNCTION t.deleted() RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(t.mask(e.payload->>'object_key') || CASE WHEN e.is_public THEN ' PUBLIC' ELSE '' END
		|| CASE WHEN e.incident_id IS NOT NULL THEN ' WITH INCIDENT' ELSE '' END
		|| CASE WHEN e.payload - 'object_key' <> '{}' THEN ' MORE' ELSE '' END, ', ' ORDER BY e.event_id), '(none)')
	FROM naboom.event e WHERE e.event_id > (SELECT id FROM t.mark) AND e.topic = 'attachment.deleted'
$$;
-- Mpho's gbv case goes under legal hold; then Mpho erases herself.
SELECT t.as_user('u-admin');
SELECT legal_hold FROM naboom_api.place_legal_hold(:'gbv', 'SAPS case 123/2026');
SELECT t.as_user('u-res2');
SELECT e.erased->'attachments' FROM naboom_api.erase_my_data() e;
SELECT t.deleted();
SELECT count(*) FROM naboom.attachment WHERE object_key LIKE '%/mine.jpg';
-- Piet erases himself: his own attachments go; the responder's, the
-- moderator's and the service's stay with the anonymised reports.
SELECT t.as_user('u-res1');
SELECT e.erased->'attachments' FROM naboom_api.erase_my_data() e;
SELECT t.deleted();
SELECT string_agg(t.mask(object_key), ', ' ORDER BY attachment_id) FROM naboom.attachment;
-- The events reach the stream, for the service (and the community's staff).
SELECT naboom.events_wait(10000);
SELECT t.as_service();
SELECT e.topic, e.reference IS NULL, t.mask(e.payload::text) FROM naboom_api.events_since(0, 1000) e
WHERE e.topic = 'attachment.deleted' ORDER BY e.id;
SELECT t.as_user('u-ver');
SELECT count(*) FROM naboom_api.events_since(0, 1000) e WHERE e.topic = 'attachment.deleted';
-- A responder leaves: their attachments go (the hidden one is evidence of
-- a closed incident, not under hold, so it goes too).
SELECT t.as_user('u-resp1');
SELECT erased->'attachments' FROM naboom_api.leave_community('mookgophong');
SELECT t.deleted();
-- A moderator who hid an attachment and is erased is no longer named by it.
SELECT t.as_user('u-mod');
SELECT t.att(a) FROM naboom_api.hide_attachment(:'private',
	(SELECT attachment_id FROM naboom.attachment WHERE object_key LIKE '%/saps-form.png'), 'Personal details of a SAPS member') a;
SELECT e.erased->'attachments' FROM naboom_api.erase_my_data() e;
SELECT count(*) FILTER (WHERE hidden_by = 'u-mod'), string_agg(hidden_reason, ', ') FROM naboom.attachment;

------------------------------------------------------------------------------
-- 9b. A forwarding to an authority carries the references of the incident's
-- attachments (a sensitive case's too: authorities need them), never a
-- hidden one.
------------------------------------------------------------------------------
SELECT t.as_user('u-admin');
SELECT code FROM naboom_api.upsert_authority('mookgophong', 'saps', 'SAPS Mookgophong', 'SAPS Mookgophong', 'police',
	'https://saps.example/cases');
SELECT seq FROM naboom_api.forward_incident(:'gbv', 'saps', 'Case opened');
SELECT seq FROM naboom_api.forward_incident(:'private', 'saps', 'Stock theft');
SELECT t.as_service();
SELECT CASE c.reference WHEN :'gbv' THEN 'gbv' ELSE 'private' END,
	(SELECT coalesce(string_agg(t.mask(x->>'object_key') || ' ' || (x->>'content_type') || ' ' || (x->>'bytes') || ' '
		|| left(x->>'sha256', 8) || ' ' || coalesce(x->>'caption', '-'), ', ' ORDER BY (x->>'id')::bigint), '(none)')
		FROM jsonb_array_elements(c.payload->'attachments') x),
	(SELECT bool_and(NOT x ? 'hidden_reason' AND NOT x ? 'uploader_ref') FROM jsonb_array_elements(c.payload->'attachments') x)
FROM naboom_api.claim_forwardings('saps', 10, '1 minute') c ORDER BY 1;

------------------------------------------------------------------------------
-- 10. Retention: an expired incident's attachments go with it; under legal
-- hold they stay.
------------------------------------------------------------------------------
-- (A run as of ten years on also expires the events themselves, a year
-- after they were written, so they are caught as they are written.)
CREATE TABLE t.caught (object_key text, is_public boolean, incident_id bigint);
CREATE FUNCTION t.catch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO t.caught VALUES (NEW.payload->>'object_key', NEW.is_public, NEW.incident_id);
	RETURN NULL;
END
$$;
CREATE TRIGGER t_catch AFTER INSERT ON naboom.event
	FOR EACH ROW WHEN (NEW.topic = 'attachment.deleted') EXECUTE FUNCTION t.catch();
SELECT CASE i.reference WHEN :'gbv' THEN 'gbv' WHEN :'private' THEN 'private' ELSE 'burglary' END, t.mask(a.object_key)
FROM naboom.attachment a JOIN naboom.incident i USING (community_id, incident_id) ORDER BY a.attachment_id;
SELECT t.as_user('u-admin');
SELECT status FROM naboom_api.transition_incident(:'private', 'rejected', 'Calves found');
SELECT status FROM naboom_api.transition_incident(:'gbv', 'rejected', 'Withdrawn by the complainant');
CALL naboom.run_retention(false, now() + interval '10 years 1 day') \gset r_
SELECT x->>'target', x->>'rows', x->>'held' FROM jsonb_array_elements(:'r_results'::jsonb) x
WHERE x->>'class' = 'emergency_record' AND x->>'target' = 'naboom.incident';
SELECT t.mask(object_key), is_public, incident_id FROM t.caught;
DROP TRIGGER t_catch ON naboom.event;
SELECT i.reference = :'gbv', a.object_key LIKE '%/mine.jpg'
FROM naboom.attachment a JOIN naboom.incident i USING (community_id, incident_id) ORDER BY a.attachment_id;
