-- naboom demo: a day and a night in Mookgophong, told through the API.
--
-- Run by scripts/demo.sh after demo/helpers.sql and demo/town.sql.  Every
-- step is one call to a naboom_api function, made as the person in the story:
-- demo.act_as(sub) sets request.jwt.claims exactly as PostgREST does after it
-- has verified a JWT.  Where naboom must refuse, demo.refused() catches the
-- error and shows its fields (and stops the demo if naboom did not refuse).
--
-- The few reads straight from schema naboom are marked "as the DBA".

\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

\pset footer off
\pset null '·'
\pset linestyle unicode
-- two output modes: tables with headers, and plain transcript lines
\set tables '\\pset tuples_only off \\pset format aligned'
\set lines '\\pset tuples_only on \\pset format unaligned'
:tables

\echo
\echo '   Every step below is one call to a naboom_api function, made as the person in the'
\echo '   story: the demo sets request.jwt.claims exactly as PostgREST does for each request.'
\echo '   Who may do what, and in which order, is decided inside the database.'
\echo '   (The story is compressed: hours pass between its acts, seconds here.)'

------------------------------------------------------------------------------
\echo
\echo '══ Act 1 · Dawn on the Roedtan road ════════════════════════════════════════════════'
\echo '   Hennie Venter walks the north camp of Rietfontein and finds the fence cut: seven'
\echo '   Nguni cows are gone, truck tracks lead to the road. He reports it from the gap.'
SELECT demo.act_as('hennie.venter') AS who \gset
\echo :who

\x on
\t on
SELECT r.reference,
	r.category_en || ' / ' || r.category_af AS category,
	r.priority,
	demo.area_name(r.area) AS "routed to area",
	r.status_en || ' / ' || r.status_af AS status,
	r.version,
	demo.http() AS "HTTP status"
FROM naboom_api.report_incident(
	community => 'mookgophong', category => 'stock_theft',
	lat => -24.5552, lon => 28.8148, accuracy_m => 12,
	title => 'Seven Nguni cows stolen',
	description => 'Fence cut at the north camp, seven Nguni cows gone. Truck tracks towards the Roedtan road.',
	address => 'Rietfontein, Roedtan road',
	client_ref => 'hv-cattle-1') AS r;
\t off
\x off

-- psql keeps the reference for the acts below (as the DBA)
SELECT reference AS ref FROM naboom.incident WHERE reporter_ref = 'hennie.venter' AND client_ref = 'hv-cattle-1' \gset

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 2 · One bar of signal ═══════════════════════════════════════════════════════'
\echo '   The app timed out waiting for an answer, so it sends the same report again with'
\echo '   the same client_ref. naboom answers with the same incident: HTTP 200 instead of'
\echo '   201, and there is still only one report on file.'
\echo :who
SELECT r.reference, r.status_en, r.status_af, r.version, demo.http() AS "HTTP status"
FROM naboom_api.report_incident('mookgophong', 'stock_theft', -24.5552, 28.8148,
	'Fence cut at the north camp, seven Nguni cows gone. Truck tracks towards the Roedtan road.',
	title => 'Seven Nguni cows stolen', address => 'Rietfontein, Roedtan road', accuracy_m => 12,
	client_ref => 'hv-cattle-1') AS r;
:lines
SELECT format('   Reports on file with client_ref hv-cattle-1 (as the DBA): %s', count(*))
FROM naboom.incident WHERE reporter_ref = 'hennie.venter' AND client_ref = 'hv-cattle-1';
:tables
\echo

------------------------------------------------------------------------------
------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 3 · A neighbour confirms ════════════════════════════════════════════════════'
\echo '   Koos van der Merwe, a verified member farming next door, drives over, sees the cut'
\echo '   fence and the tracks, and verifies the report.'
SELECT demo.act_as('koos.vdmerwe') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'verified') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 4 · Who goes? ═══════════════════════════════════════════════════════════════'
\echo '   Mpho Sebola wants to help and tries to dispatch himself. He is a verified member,'
\echo '   not a responder, so naboom says no, and says why:'
SELECT demo.act_as('mpho.sebola') AS who \gset
\echo :who
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.transition_incident(%L, %L)', :'ref', 'dispatched'),
	'naboom.transition_forbidden');
\t off
\x off
\echo '   Gerrit Pretorius of the farm watch takes it: a responder dispatches himself.'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'dispatched',
	'Plaaswag: two bakkies leaving the co-op now.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 5 · Not so fast ═════════════════════════════════════════════════════════════'
\echo '   Hennie''s son phones: "I think I see cows by the dam." Hennie taps Close. But the'
\echo '   farm watch is dispatched, and a dispatched incident cannot simply be closed:'
SELECT demo.act_as('hennie.venter') AS who \gset
\echo :who
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.transition_incident(%L, %L)', :'ref', 'closed'),
	'naboom.invalid_transition');
\t off
\x off

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 6 · On the trail ════════════════════════════════════════════════════════════'
\echo '   (The cows by the dam were the neighbour''s.) Gerrit is on his way, then on scene.'
\echo '   He leaves an internal note for responders and moderators, and resolves the'
\echo '   incident with a resolution note, which naboom requires.'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'en_route') AS r;
SELECT pg_sleep(1) \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'on_scene') AS r;
SELECT demo.note_line(n) FROM naboom_api.add_note(:'ref',
	'Tracks lead to a loading ramp near the old siding. SAPS stock theft unit informed.') AS n;
SELECT pg_sleep(1) \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'resolved',
	'Five of the seven cows found in a kraal 6 km east. SAPS case opened for the other two.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 7 · Dankie, manne ═══════════════════════════════════════════════════════════'
\echo '   Five cows are back in the camp. The incident is resolved, so Hennie may close it.'
SELECT demo.act_as('hennie.venter') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'closed') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 8 · Night, by the vlei ══════════════════════════════════════════════════════'
\echo '   Elsabé du Plessis is alone on her farm near Nylsvley. The dogs go quiet; someone'
\echo '   is at the back door. She holds the panic button. A panic is critical and private,'
\echo '   and its escalation clock starts: every minute until a responder acknowledges it,'
\echo '   it reaches further (wider radius, more responders, then the moderators).'
SELECT demo.act_as('elsabe.duplessis') AS who \gset
\echo :who
\x on
\t on
SELECT r.reference,
	r.kind,
	r.priority,
	CASE WHEN r.is_public THEN 'public' ELSE 'private (Elsabé, responders, moderators)' END AS visibility,
	r.status_en || ' / ' || r.status_af AS status,
	demo.area_name(r.area) AS "routed to area",
	r.escalation_level AS "escalation level",
	demo.http() AS "HTTP status"
FROM naboom_api.raise_panic('mookgophong', -24.6203, 28.6318, accuracy_m => 25,
	note => 'Someone at the back door. I am alone.', client_ref => 'edp-sos-1') AS r;
\t off
\x off
-- psql keeps the reference; the escalation clock is read as the DBA
SELECT reference AS panic FROM naboom.incident WHERE reporter_ref = 'elsabe.duplessis' AND client_ref = 'edp-sos-1' \gset
:lines
SELECT format('   Next escalation (as the DBA): %s SAST, %s s after the alarm, unless acknowledged.',
	demo.sast(i.next_escalation_at), round(extract(epoch FROM i.next_escalation_at - i.created_at)))
FROM naboom.incident i WHERE i.reference = :'panic';
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 9 · On my way ═══════════════════════════════════════════════════════════════'
\echo '   Lerato Mphahlele, the paramedic on duty, acknowledges first. Acknowledging is a'
\echo '   milestone, not a status: the panic is still Reported, but its escalation stops.'
SELECT demo.act_as('lerato.mphahlele') AS who \gset
\echo :who
SELECT r.reference, r.acknowledged_by_name AS "acknowledged by", demo.sast(r.acknowledged_at) AS "at (SAST)",
	r.status_en, r.status_af
FROM naboom_api.acknowledge_incident(:'panic') AS r;
:lines
SELECT format('   Next escalation (as the DBA): %s.',
	coalesce(demo.sast(i.next_escalation_at) || ' SAST', 'none, escalation has stopped'))
FROM naboom.incident i WHERE i.reference = :'panic';
:tables
\echo
\echo '   A moment later Tshepo Kekana (neighbourhood watch) taps Acknowledge too. There is'
\echo '   one first responder, and Tshepo is told so clearly:'
SELECT demo.act_as('tshepo.kekana') AS who \gset
\echo :who
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.acknowledge_incident(%L)', :'panic'),
	'naboom.already_acknowledged');
\t off
\x off
\echo '   Lerato dispatches herself and drives, the farm watch behind her. The intruder runs'
\echo '   when their lights come up the drive.'
SELECT demo.act_as('lerato.mphahlele') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'dispatched') AS r;
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'en_route') AS r;
SELECT pg_sleep(1) \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'on_scene') AS r;
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'resolved',
	'Elsabé unharmed. Back door forced, intruder fled on foot towards the vlei. SAPS took her statement.') AS r;
:tables
\echo

------------------------------------------------------------------------------
\echo '══ Act 10 · The record ═════════════════════════════════════════════════════════════'
\echo '   Next morning Gerrit opens the stock theft with get_incident. Its timeline holds'
\echo '   every step, who took it and when (times in Africa/Johannesburg). As a responder'
\echo '   he also sees the internal note.'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
SELECT t.seq,
	to_char(t.at AT TIME ZONE 'Africa/Johannesburg', 'HH24:MI:SS') AS time,
	t.kind,
	concat_ws(' → ', t.from_status, t.to_status) AS "from → to",
	t.actor_name AS actor,
	demo.wrap(CASE WHEN t.is_public THEN '' ELSE '(internal) ' END || coalesce(t.note, ''), 36) AS note
FROM naboom_api.get_incident(:'ref') AS i,
	jsonb_to_recordset(i.timeline) AS t(seq int, at timestamptz, kind text, from_status text,
		to_status text, actor_name text, note text, is_public boolean)
ORDER BY t.seq;

------------------------------------------------------------------------------
\echo '══ Act 11 · What the public sees ═══════════════════════════════════════════════════'
\echo '   Anyone may look up a public incident without logging in (role naboom_anon, no JWT).'
\echo '   The reporter and the responders are not named, and the internal note is left out.'
SET ROLE naboom_anon;
RESET request.jwt.claims;
\echo '   [as the public]  SET ROLE naboom_anon; RESET request.jwt.claims;'
\x on
\t on
SELECT i.reference, i.category_en || ' / ' || i.category_af AS category,
	i.status_en || ' / ' || i.status_af AS status,
	i.area,
	coalesce(i.reporter_name, '(not shown)') AS reporter,
	coalesce(i.assignee_name, '(not shown)') AS responder
FROM naboom_api.get_incident(:'ref') AS i;
\t off
\x off
SELECT t.seq, to_char(t.at AT TIME ZONE 'Africa/Johannesburg', 'HH24:MI:SS') AS time, t.kind,
	concat_ws(' → ', t.from_status, t.to_status) AS "from → to",
	coalesce(t.actor_name, '(not shown)') AS actor, demo.wrap(coalesce(t.note, ''), 36) AS note
FROM naboom_api.get_incident(:'ref') AS i,
	jsonb_to_recordset(i.timeline) AS t(seq int, at timestamptz, kind text, from_status text,
		to_status text, actor_name text, note text, is_public boolean)
ORDER BY t.seq;
\echo '   And Elsabé''s panic is private: to the public it does not exist.'
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.get_incident(%L)', :'panic'),
	'naboom.unknown_reference');
\t off
\x off
RESET ROLE;

\echo '══ Fin ═════════════════════════════════════════════════════════════════════════════'
\echo '   The cows are home and Elsabé is safe. Everything above is in the database: the'
\echo '   incidents, their timelines and who did what, under the same rules for every client.'
