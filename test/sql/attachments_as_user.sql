-- pgTAP: evidence (issue 16) as a gateway calls it -- a login-less,
-- non-superuser role in naboom_user, identity in request.jwt.claims, an
-- EMPTY search_path -- and as naboom_anon.  Who may attach, every error
-- with its SQLSTATE and key, the count and rate limits, what get_incident
-- shows to residents, responders, moderators, another community and the
-- public (a sensitive incident's attachments never to the public), hiding,
-- row-level security on the table, export, and erasure's attachment.deleted.
BEGIN;
SELECT tap.plan(51);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_ev_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

SELECT pg_temp.tap_community('tap-ev', 'Tap Evidence', 'ev-admin', 'Ev Admin') AS ev \gset
SELECT pg_temp.tap_community('tap-ev-b', 'Tap Evidence B', 'evb-admin', 'EvB Admin', 'modimolle') AS evb \gset

CREATE FUNCTION pg_temp.sha(n integer) RETURNS text LANGUAGE sql AS $$
	SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('tap file ' || n, 'UTF8')), 'hex')
$$;
-- add_attachment as the current caller; the key is tap-ev/<ref>/<n>.jpg.
CREATE FUNCTION pg_temp.attach(ref text, n integer, content_type text DEFAULT 'image/jpeg',
	bytes bigint DEFAULT 1000) RETURNS text LANGUAGE sql AS $$
	SELECT pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, %s, %L)', ref,
		'tap-ev/' || ref || '/' || n || '.jpg', content_type, bytes, pg_temp.sha(n))
$$;
-- get_incident's attachments as "n:hidden" by file number, in order.
CREATE FUNCTION pg_temp.seen(ref text) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(pg_catalog.string_agg(pg_catalog.split_part(pg_catalog.split_part(x->>'object_key', '/', 3), '.', 1)
		|| CASE WHEN (x->>'hidden')::boolean THEN ':hidden' ELSE '' END, ' ' ORDER BY (x->>'id')::bigint), '-')
	FROM naboom_api.get_incident(ref) i, pg_catalog.jsonb_array_elements(i.attachments) x
$$;

SET LOCAL ROLE tap_ev_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-ev', 'ev-res', 'Ev Reporter');
	PERFORM pg_temp.tap_join('tap-ev', 'ev-res2', 'Ev Neighbour');
	PERFORM pg_temp.tap_join('tap-ev', 'ev-resp', 'Ev Responder', 'responder', 'ev-admin');
	PERFORM pg_temp.tap_join('tap-ev', 'ev-mod', 'Ev Moderator', 'moderator', 'ev-admin');
	PERFORM pg_temp.tap_join('tap-ev-b', 'evb-res', 'EvB Resident');
	PERFORM pg_temp.tap_category('tap-ev', 'ev-admin', 'theft', 'Theft', 'Diefstal');
	PERFORM pg_temp.tap_category('tap-ev', 'ev-admin', 'abuse', 'Abuse', 'Mishandeling', 'high', true);
END
$fixtures$;

SET LOCAL request.jwt.claims = '{"sub":"ev-res"}';
SELECT i.reference AS theft FROM naboom_api.report_incident('tap-ev', 'theft', -24.5, 28.7, 'Bicycle taken') i \gset
SELECT i.reference AS abuse FROM naboom_api.report_incident('tap-ev', 'abuse', -24.5, 28.7, 'Child left alone') i \gset
SELECT i.reference AS hidden_case FROM naboom_api.report_incident('tap-ev', 'theft', -24.5, 28.7, 'Private',
	is_public => false) i \gset

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
		AND pg_catalog.pg_has_role(CURRENT_USER, 'naboom_user', 'MEMBER'),
	'calls run as a non-superuser gateway role in naboom_user');

------------------------------------------------------------------------------
-- Adding: the reporter and responders; idempotent
------------------------------------------------------------------------------
SELECT a.id AS first_id, a.content_type || ' ' || a.bytes || ' ' || a.uploader_name || ' ' || a.is_mine AS first_row,
	pg_catalog.current_setting('response.status', true) AS first_status
FROM naboom_api.add_attachment(:'theft', 'tap-ev/' || :'theft' || '/1.jpg', 'IMAGE/JPEG', 1000, pg_temp.sha(1),
	'The lock, cut') a \gset
SELECT tap.is(:'first_row'::text, 'image/jpeg 1000 Ev Reporter true', 'add_attachment(): the reporter attaches a photo');
SELECT tap.is(:'first_status'::text, '201', 'add_attachment(): 201 when created');
SELECT tap.is((SELECT a.id FROM naboom_api.add_attachment(:'theft', 'tap-ev/' || :'theft' || '/1.jpg', 'image/jpeg', 1000,
		pg_temp.sha(1)) a), :'first_id'::bigint, 'add_attachment(): a resubmit returns the same attachment');
SELECT tap.is((SELECT a.id FROM naboom_api.add_attachment(:'theft', 'tap-ev/' || :'theft' || '/1b.jpg', 'image/jpeg',
		1000, pg_temp.sha(1)) a), :'first_id'::bigint, 'add_attachment(): the same file under another key is the same attachment');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'abuse', 2)), 'ok', 'add_attachment(): the reporter of a sensitive case attaches');
SET LOCAL request.jwt.claims = '{"sub":"ev-resp"}';
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 3, 'video/mp4', 50000000)), 'ok',
	'add_attachment(): a responder attaches a video');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'abuse', 4)), 'ok', 'add_attachment(): a responder attaches to the sensitive case');
SET LOCAL request.jwt.claims = '{"sub":"ev-res2"}';
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 5)), '42501 naboom.attachment_forbidden',
	'add_attachment(): another resident may not');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'hidden_case', 5)), 'PT404 naboom.unknown_reference',
	'add_attachment(): a private incident one cannot see is not found');
SET LOCAL request.jwt.claims = '{"sub":"evb-res"}';
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 5)), '42501 naboom.not_a_member',
	'add_attachment(): a member of another community may not');

------------------------------------------------------------------------------
-- Every check
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ev-res"}';
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 6, 'application/zip')), '22023 naboom.content_type_not_allowed',
	'add_attachment(): a type not on naboom.attachment_types');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 6, 'jpeg')), '22023 naboom.invalid_content_type',
	'add_attachment(): not a content type');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 6, 'image/jpeg', -5)), '22023 naboom.invalid_bytes',
	'add_attachment(): a size below 1');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 6, 'image/png', 30000000)), '22023 naboom.attachment_too_large',
	'add_attachment(): a photo over naboom.attachment_max_size');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L)', :'theft',
		'tap-ev/x.jpg', 'image/jpeg', 'xyz')), '22023 naboom.invalid_sha256', 'add_attachment(): a digest that is not 64 hex digits');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L)', :'theft',
		'tap-ev-b/x.jpg', 'image/jpeg', pg_temp.sha(6))), '22023 naboom.invalid_object_key',
	'add_attachment(): a key outside the community''s prefix');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L)', :'theft',
		'tap-ev/../x.jpg', 'image/jpeg', pg_temp.sha(6))), '22023 naboom.invalid_object_key',
	'add_attachment(): a key with a .. segment');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L, %L)', :'theft',
		'tap-ev/x.jpg', 'image/jpeg', pg_temp.sha(6), pg_catalog.repeat('c', 501))), '22023 naboom.text_too_long',
	'add_attachment(): a caption over 500 characters');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L, NULL, %L)', :'theft',
		'tap-ev/x.jpg', 'image/jpeg', pg_temp.sha(6), pg_catalog.now() + interval '1 day')), '22023 naboom.invalid_taken_at',
	'add_attachment(): taken_at in the future');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 10, %L)', 'NB-XXXX-XXXX',
		'tap-ev/x.jpg', 'image/jpeg', pg_temp.sha(6))), '22023 naboom.invalid_reference', 'add_attachment(): a bad reference');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.add_attachment(%L, %L, %L, 1000, %L)', :'abuse',
		'tap-ev/' || :'theft' || '/1.jpg', 'image/jpeg', pg_temp.sha(1))), 'PT409 naboom.object_key_reused',
	'add_attachment(): a key already attached to another incident');

-- The count limit (a superuser's setting) and the rate limit.
RESET ROLE;
SET LOCAL naboom.attachments_per_incident = 2;
SET LOCAL ROLE tap_ev_gw;
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 7)), 'PT409 naboom.attachment_limit',
	'add_attachment(): no more than naboom.attachments_per_incident on one incident');
RESET ROLE;
SET LOCAL naboom.attachments_per_incident = 20;
UPDATE naboom.community SET settings = settings || '{"rate_limits": {"attachment": [3, 3600]}}' WHERE slug = 'tap-ev';
SET LOCAL ROLE tap_ev_gw;
-- (ev-res has made two; resubmits did not count)
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 7)), 'ok', 'add_attachment(): within the rate limit (the third)');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 8)), 'PT429 naboom.rate_limited',
	'add_attachment(): over the member''s rate limit');
RESET ROLE;
UPDATE naboom.community SET settings = settings - 'rate_limits' WHERE slug = 'tap-ev';
SET LOCAL ROLE tap_ev_gw;

------------------------------------------------------------------------------
-- What get_incident shows
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ev-res"}';
SELECT tap.is(pg_temp.seen(:'theft'), '1 3 7', 'get_incident(): the reporter sees every attachment');
SELECT tap.is(pg_temp.seen(:'abuse'), '2 4', 'get_incident(): the reporter of a sensitive case sees its attachments');
SET LOCAL request.jwt.claims = '{"sub":"ev-res2"}';
SELECT tap.is(pg_temp.seen(:'theft'), '1 3 7', 'get_incident(): a resident sees a public incident''s attachments');
SELECT tap.is(pg_temp.seen(:'abuse'), '-', 'get_incident(): a resident sees none of a sensitive case''s');
SET LOCAL request.jwt.claims = '{"sub":"evb-res"}';
SELECT tap.is(pg_temp.seen(:'abuse'), '-', 'get_incident(): another community sees none of a sensitive case''s');
SET LOCAL request.jwt.claims = '{"sub":"ev-resp"}';
SELECT tap.is(pg_temp.seen(:'abuse'), '2 4', 'get_incident(): a responder sees a sensitive case''s attachments');
RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.seen(:'theft'), '1 3 7', 'get_incident(): the public sees a public incident''s attachments');
SELECT tap.is(pg_temp.seen(:'abuse'), '-', 'get_incident(): the public never sees a sensitive case''s');
RESET ROLE;
SET LOCAL ROLE tap_ev_gw;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '{"sub":"ev-resp"}';

------------------------------------------------------------------------------
-- Hiding
------------------------------------------------------------------------------
SELECT a.id AS video FROM naboom_api.add_attachment(:'theft', 'tap-ev/' || :'theft' || '/3.jpg', 'video/mp4', 50000000,
	pg_temp.sha(3)) a \gset
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'theft', :video, 'Gore')),
	'42501 naboom.insufficient_role', 'hide_attachment(): not for a responder');
SET LOCAL request.jwt.claims = '{"sub":"evb-admin"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'theft', :video, 'Gore')),
	'42501 naboom.not_a_member', 'hide_attachment(): not for another community''s admin');
SET LOCAL request.jwt.claims = '{"sub":"ev-mod"}';
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'theft', :video, '')),
	'22023 naboom.text_required', 'hide_attachment(): a reason is required');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'abuse', :video, 'Gore')),
	'PT404 naboom.unknown_attachment', 'hide_attachment(): an attachment of another incident is not found');
SELECT tap.is((SELECT a.hidden::text || ' ' || a.hidden_reason FROM naboom_api.hide_attachment(:'theft', :video, 'Shows the victim') a),
	'true Shows the victim', 'hide_attachment(): a moderator hides, with a reason');
SELECT tap.is(pg_temp.error_of(pg_catalog.format('SELECT naboom_api.hide_attachment(%L, %s, %L)', :'theft', :video, 'Gore')),
	'PT409 naboom.already_hidden', 'hide_attachment(): hiding twice is a conflict');
SELECT tap.is(pg_temp.seen(:'theft'), '1 3:hidden 7', 'get_incident(): a moderator sees the hidden attachment');
SET LOCAL request.jwt.claims = '{"sub":"ev-resp"}';
SELECT tap.is(pg_temp.seen(:'theft'), '1 7', 'get_incident(): its uploader no longer sees it');
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 3, 'video/mp4', 50000000)), 'PT409 naboom.attachment_hidden',
	'add_attachment(): a hidden file is not brought back by attaching it again');

------------------------------------------------------------------------------
-- Row-level security on the table itself
------------------------------------------------------------------------------
SELECT tap.is((SELECT pg_catalog.string_agg(pg_catalog.split_part(pg_catalog.split_part(a.object_key, '/', 3), '.', 1), ' '
		ORDER BY a.attachment_id) FROM naboom.attachment a), '1 2 4 7',
	'a responder reads the community''s attachments, not the hidden one');
SET LOCAL request.jwt.claims = '{"sub":"ev-res2"}';
SELECT tap.is((SELECT pg_catalog.count(*) FROM naboom.attachment a), 0::bigint,
	'a resident reads none of others'' attachments from the table');
SET LOCAL request.jwt.claims = '{"sub":"evb-admin"}';
SELECT tap.is((SELECT pg_catalog.count(*) FROM naboom.attachment a), 0::bigint,
	'another community''s admin reads none from the table');
SELECT tap.is(pg_temp.error_of($$SELECT a.hidden_by FROM naboom.attachment a$$), '42501 ',
	'who hid an attachment is not readable from the table');

------------------------------------------------------------------------------
-- Export and erasure
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"ev-res"}';
SELECT tap.is((SELECT pg_catalog.jsonb_array_length(e.data->'attachments') FROM naboom_api.export_my_data() e), 3,
	'export_my_data(): the attachments one added');
SELECT tap.is((SELECT (e.erased->>'attachments')::integer FROM naboom_api.erase_my_data() e), 3,
	'erase_my_data(): one''s attachments go');
RESET ROLE;
SELECT tap.is((SELECT pg_catalog.string_agg(pg_catalog.split_part(pg_catalog.split_part(e.payload->>'object_key', '/', 3), '.', 1)
		|| CASE WHEN e.is_public OR e.incident_id IS NOT NULL THEN '!' ELSE '' END, ' ' ORDER BY e.event_id)
		FROM naboom.event e WHERE e.topic = 'attachment.deleted' AND e.community_id = (SELECT c.community_id
			FROM naboom.community c WHERE c.slug = 'tap-ev')),
	'1 2 7', 'erase_my_data(): a private attachment.deleted event per object, with its key');

------------------------------------------------------------------------------
-- naboom_anon attaches nothing
------------------------------------------------------------------------------
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.is(pg_temp.error_of(pg_temp.attach(:'theft', 9)), '42501 ', 'add_attachment(): not for naboom_anon (no EXECUTE)');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
