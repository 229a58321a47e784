-- pgTAP: the directory (issue 13) as a gateway calls it -- a login-less,
-- non-superuser role that is a member of naboom_user, identity in
-- request.jwt.claims, an EMPTY search_path -- and naboom_anon for the
-- public pickers and health().  Phones only for moderators and admins,
-- members() refused to residents and responders, another community's
-- member list and profile refused, the profile and leaving as the person,
-- and health() anonymous without anything private in it.
BEGIN;
SELECT tap.plan(30);

\ir ../include/as_user.psql
\ir ../include/fixtures.psql

CREATE ROLE tap_dir_gw NOLOGIN NOSUPERUSER INHERIT IN ROLE naboom_user;

SELECT pg_temp.tap_community('tap-dir', 'Tap Directory', 'dir-admin', 'Dir Admin') AS dir \gset
SELECT pg_temp.tap_community('tap-dir-b', 'Tap Directory B', 'dirb-admin', 'DirB Admin', 'modimolle') AS dirb \gset

SET LOCAL ROLE tap_dir_gw;
SET LOCAL search_path = '';

DO $fixtures$
BEGIN
	PERFORM pg_temp.tap_join('tap-dir', 'dir-res', 'Dir Resident', phone => '+27 82 555 1001');
	PERFORM pg_temp.tap_join('tap-dir', 'dir-res2', 'Another Resident', phone => '+27 82 555 1002');
	PERFORM pg_temp.tap_join('tap-dir', 'dir-resp', 'Dir Responder', 'responder', 'dir-admin', '+27 82 555 1003');
	PERFORM pg_temp.tap_join('tap-dir', 'dir-mod', 'Dir Moderator', 'moderator', 'dir-admin', '+27 82 555 1004');
	PERFORM pg_temp.tap_join('tap-dir-b', 'dirb-res', 'DirB Resident', phone => '+27 82 555 2001');
	PERFORM pg_temp.tap_category('tap-dir', 'dir-admin', 'fire', 'Veld fire', 'Veldbrand', 'high');
END
$fixtures$;

SELECT tap.is(pg_catalog.current_setting('search_path'), '""', 'the rest of this file runs with an empty search_path');
SELECT tap.ok((SELECT NOT r.rolsuper AND NOT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
		AND pg_catalog.pg_has_role(CURRENT_USER, 'naboom_user', 'MEMBER'),
	'calls run as a non-superuser gateway role in naboom_user');

------------------------------------------------------------------------------
-- members(): moderators and admins only, phones shown to them
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"dir-res"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.members('tap-dir')$$), '42501 naboom.insufficient_role',
	'members(): refused to a resident');
SET LOCAL request.jwt.claims = '{"sub":"dir-resp"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.members('tap-dir')$$), '42501 naboom.insufficient_role',
	'members(): refused to a responder');
SET LOCAL request.jwt.claims = '{"sub":"dir-mod"}';
SELECT tap.is((SELECT pg_catalog.string_agg(m.user_ref || '=' || coalesce(m.phone, '-'), ' ' ORDER BY m.display_name, m.user_ref)
		FROM naboom_api.members('tap-dir') m),
	'dir-res2=+27 82 555 1002 dir-admin=- dir-mod=+27 82 555 1004 dir-res=+27 82 555 1001 dir-resp=+27 82 555 1003',
	'members(): a moderator sees every member, by name, with their phones');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.members('tap-dir-b')$$), '42501 naboom.not_a_member',
	'members(): another community''s list is refused');
SELECT m.cursor AS dir_c2 FROM naboom_api.members('tap-dir', max_count => 2) m
	ORDER BY m.display_name DESC, m.user_ref DESC LIMIT 1 \gset
SELECT tap.is((SELECT pg_catalog.string_agg(m.user_ref, ' ' ORDER BY m.display_name, m.user_ref)
		FROM naboom_api.members('tap-dir', after => :'dir_c2', max_count => 2) m),
	'dir-mod dir-res', 'members(): the next page starts after the cursor of the last row');
SELECT tap.is((SELECT pg_catalog.string_agg(m.user_ref, ' ') FROM naboom_api.members('tap-dir', role => 'responder') m),
	'dir-resp', 'members(): filtered by role');
SELECT tap.is((SELECT pg_catalog.string_agg(m.user_ref, ' ' ORDER BY m.user_ref)
		FROM naboom_api.members('tap-dir', search => 'RESID') m),
	'dir-res dir-res2', 'members(): search matches part of the name, in any case');
SET LOCAL request.jwt.claims = '{"sub":"dir-admin"}';
SELECT tap.is((SELECT m.phone FROM naboom_api.members('tap-dir', search => 'Dir Resident') m),
	'+27 82 555 1001', 'members(): an admin sees phones too');

------------------------------------------------------------------------------
-- Phones stay hidden from non-staff; my memberships are mine
------------------------------------------------------------------------------
SET LOCAL request.jwt.claims = '{"sub":"dir-res"}';
SELECT tap.is(pg_temp.error_of($$SELECT m.phone FROM naboom.member m$$), '42501 ',
	'a resident cannot read member phones from the table');
SELECT tap.is((SELECT pg_catalog.string_agg(m.community || ':' || m.role || ':' || coalesce(m.phone, '-'), ' ')
		FROM naboom_api.my_memberships() m),
	'tap-dir:resident:+27 82 555 1001', 'my_memberships(): my one community, my role and my own phone');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.update_my_profile('tap-dir-b', display_name => 'X')$$),
	'42501 naboom.not_a_member', 'update_my_profile(): another community''s profile is refused');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.leave_community('tap-dir-b')$$),
	'42501 naboom.not_a_member', 'leave_community(): a community one is not in is refused');

------------------------------------------------------------------------------
-- The profile and leaving, as the person
------------------------------------------------------------------------------
SELECT tap.is((SELECT p.display_name || ' ' || coalesce(p.phone, '-') || ' ' || p.language
		FROM naboom_api.update_my_profile('tap-dir', display_name => 'Dir R. Resident', phone => '', language => 'af') p),
	'Dir R. Resident - af', 'update_my_profile(): name and language corrected, phone removed');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.update_my_profile('tap-dir', phone => 'none')$$),
	'22023 naboom.invalid_phone', 'update_my_profile(): a bad phone number is refused');
SET LOCAL request.jwt.claims = '{"sub":"dir-res2"}';
SELECT tap.is((SELECT d.community || ' ' || (d.erased->>'memberships') FROM naboom_api.leave_community('tap-dir') d),
	'tap-dir 1', 'leave_community(): a resident leaves');
SELECT tap.is((SELECT pg_catalog.count(*) FROM naboom_api.my_memberships()), 0::bigint,
	'my_memberships(): the community left is gone');
SET LOCAL request.jwt.claims = '{"sub":"dir-admin"}';
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.leave_community('tap-dir')$$), 'PT409 naboom.last_admin',
	'leave_community(): the last admin stays');
SELECT tap.is((SELECT pg_catalog.count(*) FROM naboom_api.members('tap-dir') m WHERE m.user_ref = 'dir-res2'), 0::bigint,
	'members(): the member who left is not listed');

------------------------------------------------------------------------------
-- naboom_anon: the pickers and health(), nothing private
------------------------------------------------------------------------------
RESET ROLE;
SET LOCAL ROLE naboom_anon;
SET LOCAL search_path = '';
SET LOCAL request.jwt.claims = '';
SELECT tap.ok((SELECT pg_catalog.count(*) = 2 FROM naboom_api.communities() c WHERE c.slug IN ('tap-dir', 'tap-dir-b')),
	'communities(): public, both communities listed');
SELECT tap.is((SELECT c.min_lat || ' ' || c.min_lon || ' ' || c.max_lat || ' ' || c.max_lon
		FROM naboom_api.communities() c WHERE c.slug = 'tap-dir'),
	'-24.6 28.6 -24.4 28.85', 'communities(): the bounding box of the boundary');
SELECT tap.is((SELECT pg_catalog.string_agg(k.code, ' ' ORDER BY k.code) FROM naboom_api.categories('tap-dir') k),
	'fire panic', 'categories(): public');
SELECT tap.is((SELECT pg_catalog.count(*) FROM naboom_api.statuses()), 10::bigint, 'statuses(): public');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.members('tap-dir')$$), '42501 ',
	'members(): not for naboom_anon (no EXECUTE)');
SELECT tap.is(pg_temp.error_of($$SELECT * FROM naboom_api.my_memberships()$$), '42501 ',
	'my_memberships(): not for naboom_anon (no EXECUTE)');
SELECT h.ok AS health_ok, h::text AS health_row FROM naboom_api.health() h \gset
SELECT tap.ok(:'health_ok' IS NOT NULL, 'health(): answers naboom_anon');
SELECT tap.is(coalesce(pg_catalog.current_setting('response.status', true), ''),
	CASE WHEN :'health_ok'::boolean THEN '' ELSE '503' END, 'health(): 503 exactly when not ok');
SELECT tap.ok(:'health_row' !~ '(dir-|Resident|Admin|Moderator|\+27|tap-dir)',
	'health(): no member, name, phone or community in it');
SELECT tap.ok((SELECT h.extension_version = h.library_version AND h.cron_jobs_expected = 6
		AND h.problems IS NOT NULL AND (h.ok = (pg_catalog.cardinality(h.problems) = 0))
		FROM naboom_api.health() h),
	'health(): versions match, six jobs expected, ok means no problems');

RESET ROLE;
RESET search_path;
SELECT * FROM tap.finish();
ROLLBACK;
