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
\echo '══ Act 1 · Before sunrise ══════════════════════════════════════════════════════════'
\echo '   The day shift comes on duty. Each responder''s app calls update_position with the'
\echo '   phone''s position and its accuracy; naboom keeps only the last one, and counts it'
\echo '   as fresh for 10 minutes (naboom.position_max_age).'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.position_line(p, 'farm watch bakkie on the Roedtan road')
FROM naboom_api.update_position(lat => -24.5400, lon => 28.7800, on_duty => true, accuracy_m => 8) AS p;
:tables
SELECT demo.act_as('tshepo.kekana') AS who \gset
\echo :who
:lines
SELECT demo.position_line(p, 'foot patrol, Kerkstraat in town')
FROM naboom_api.update_position(-24.5195, 28.7105, true, 5) AS p;
:tables
SELECT demo.act_as('lerato.mphahlele') AS who \gset
\echo :who
:lines
SELECT demo.position_line(p, 'ambulance on the R101 towards Modimolle')
FROM naboom_api.update_position(-24.5650, 28.6750, true, 10) AS p;
:tables
SELECT demo.act_as('johan.smit') AS who \gset
\echo :who
:lines
SELECT demo.position_line(p, 'Nylsvley road, by the reserve gate')
FROM naboom_api.update_position(-24.6050, 28.6600, true, 15) AS p;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 2 · An eye on home ══════════════════════════════════════════════════════════'
\echo '   Residents choose what they want to hear about, and where: subscribe takes a centre,'
\echo '   a radius in metres, optional categories and a minimum priority. When something is'
\echo '   reported inside the circle, the alert is written in the same transaction.'
SELECT demo.act_as('koos.vdmerwe') AS who \gset
\echo :who
:lines
SELECT demo.subscription_line(s) FROM naboom_api.subscribe('mookgophong', -24.5480, 28.8050, 5000,
	min_priority => 'medium', label => 'Home farm') AS s;
:tables
SELECT demo.act_as('sarah.thompson') AS who \gset
\echo :who
:lines
SELECT demo.subscription_line(s) FROM naboom_api.subscribe('mookgophong', -24.5175, 28.7095, 1000,
	label => 'Home, Stasiestraat') AS s;
:tables
SELECT demo.act_as('elsabe.duplessis') AS who \gset
\echo :who
:lines
SELECT demo.subscription_line(s) FROM naboom_api.subscribe('mookgophong', -24.6203, 28.6318, 4000,
	categories => '{fire,farm_attack,stock_theft,suspicious_vehicle}', label => 'Farm by the vlei') AS s;
:tables

------------------------------------------------------------------------------
\echo
\echo '══ Act 3 · Dawn on the Roedtan road ════════════════════════════════════════════════'
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
\echo '   naboom put the report in the smallest area that contains it, and alerted, in the'
\echo '   same transaction, the subscribers whose circle covers it and (it is high priority)'
\echo '   the nearest on-duty responders within 10 km (as the DBA, from naboom.alert):'
:lines
SELECT demo.alerted(:'ref');
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 4 · One bar of signal ═══════════════════════════════════════════════════════'
\echo '   The app timed out waiting for an answer, so it sends the same report again with'
\echo '   the same client_ref. naboom answers with the same incident: HTTP 200 instead of'
\echo '   201, and there is still only one report on file.'
\echo :who
SELECT demo.new_request() \gset
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
\echo '══ Act 5 · A neighbour confirms ════════════════════════════════════════════════════'
\echo '   Koos van der Merwe, a verified member farming next door, has the alert on his phone:'
\echo '   his app asks my_alerts for anything newer than the last alert it showed (after_id).'
SELECT demo.act_as('koos.vdmerwe') AS who \gset
\echo :who
SELECT a.id, a.reference, a.category_en || ' / ' || a.category_af AS category, a.priority,
	a.reason, demo.km(a.distance_m) AS "from centre", demo.sast(a.created_at) AS "at (SAST)"
FROM naboom_api.my_alerts(after_id => 0, max_count => 20) AS a;
\echo '   He drives over, sees the cut fence and the tracks, and verifies the report.'
SELECT demo.new_request() \gset
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'verified') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 6 · Who goes? ═══════════════════════════════════════════════════════════════'
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
\echo '   Gerrit Pretorius of the farm watch, who was alerted (he is 4 km away), takes it:'
\echo '   a responder dispatches himself.'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'dispatched',
	'Plaaswag: two bakkies on the Roedtan road, 4 km away.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 7 · Not so fast ═════════════════════════════════════════════════════════════'
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
\echo '══ Act 8 · On the trail ════════════════════════════════════════════════════════════'
\echo '   (The cows by the dam were the neighbour''s.) Gerrit is on his way, then on scene.'
\echo '   He leaves an internal note for responders and moderators, and resolves the'
\echo '   incident with a resolution note, which naboom requires.'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'en_route') AS r;
SELECT pg_sleep(1) \gset
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'on_scene') AS r;
SELECT demo.new_request() \gset
SELECT demo.note_line(n) FROM naboom_api.add_note(:'ref',
	'Tracks lead to a loading ramp near the old siding. SAPS stock theft unit informed.') AS n;
SELECT pg_sleep(1) \gset
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'resolved',
	'Five of the seven cows found in a kraal 6 km east. SAPS case opened for the other two.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 9 · Dankie, manne ═══════════════════════════════════════════════════════════'
\echo '   Five cows are back in the camp. The incident is resolved, so Hennie may close it.'
SELECT demo.act_as('hennie.venter') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'ref', 'closed') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 10 · Smoke behind the station ═══════════════════════════════════════════════'
\echo '   Midday. Sarah Thompson sees flames in the long grass behind the railway station'
\echo '   and reports a veld fire. The spot lies in the town centre ward and in patrol'
\echo '   sector 1 inside it; naboom routes it to the smallest area that contains it.'
SELECT demo.act_as('sarah.thompson') AS who \gset
\echo :who
\x on
\t on
SELECT r.reference,
	r.category_en || ' / ' || r.category_af AS category,
	r.priority,
	to_char(r.lat, 'FM990.0000') || ', ' || to_char(r.lon, 'FM990.0000') AS "lat, lon",
	demo.area_name(r.area) AS "routed to area",
	(SELECT string_agg(a.code, ', ' ORDER BY a.area_m2) FROM naboom.area a
	 WHERE ST_Covers(a.boundary, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326))) AS "areas there (as the DBA)",
	jsonb_array_length(r.duplicate_candidates) AS "duplicate candidates",
	demo.http() AS "HTTP status"
FROM naboom_api.report_incident('mookgophong', 'fire', -24.5166, 28.7122,
	'Grass burning behind the railway station, spreading towards the goods shed.',
	title => 'Grass fire behind the station', accuracy_m => 6, client_ref => 'st-fire-1') AS r;
\t off
\x off
SELECT reference AS fire FROM naboom.incident WHERE reporter_ref = 'sarah.thompson' AND client_ref = 'st-fire-1' \gset
\echo '   Alerted at once (as the DBA, from naboom.alert):'
:lines
SELECT demo.alerted(:'fire');
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 11 · Same smoke, second phone ═══════════════════════════════════════════════'
\echo '   Kgomotso Maake, at the taxi rank, sees the smoke too. Before she sends, her app asks'
\echo '   duplicate_candidates: live reports of the same category nearby, within the category''s'
\echo '   duplicate radius and time window, nearest first.'
SELECT demo.act_as('kgomotso.maake') AS who \gset
\echo :who
:lines
SELECT format(E'   is this the same as %s? %s away\n     "%s", %s, %s priority, filed at %s SAST',
	d.reference, demo.km(d.distance_m), d.title, d.status, d.priority, demo.sast(d.created_at))
FROM naboom_api.duplicate_candidates('mookgophong', 'fire', -24.5172, 28.71287) AS d;
:tables
\echo '   She cannot see the station from the rank and sends her report anyway. naboom keeps'
\echo '   it, and its answer lists the same candidate, so nobody has to guess:'
SELECT demo.new_request() \gset
\x on
\t on
SELECT r.reference, demo.area_name(r.area) AS "routed to area", r.status,
	(SELECT string_agg(format('%s, %s away', d->>'reference', demo.km((d->>'distance_m')::float8)), '; ')
	 FROM jsonb_array_elements(r.duplicate_candidates) d) AS "duplicate candidates",
	demo.http() AS "HTTP status"
FROM naboom_api.report_incident('mookgophong', 'fire', -24.5172, 28.71287,
	'Big smoke behind the station, near the goods shed.', client_ref => 'km-fire-1') AS r;
\t off
\x off
SELECT reference AS fire2 FROM naboom.incident WHERE reporter_ref = 'kgomotso.maake' AND client_ref = 'km-fire-1' \gset
\echo '   Sarah''s alert area covers the station, so she hears of it (and the same responders):'
:lines
SELECT demo.alerted(:'fire2');
:tables
\echo '   In the control room Mahlatse Ledwaba, the moderator, merges the second report into the'
\echo '   first: one fire, one incident to dispatch.'
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
\echo :who
:lines
SELECT demo.line(r) || E'\n' || format('                 duplicate of %s', r.duplicate_of)
FROM naboom_api.transition_incident(:'fire2', 'duplicate', duplicate_of => :'fire') AS r;
:tables
\echo '   Tshepo Kekana of the neighbourhood watch, a few streets away, takes the fire.'
SELECT demo.act_as('tshepo.kekana') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'fire', 'dispatched',
	'On foot with two beaters; fire brigade called.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 12 · What is going on in town? ══════════════════════════════════════════════'
\echo '   A visitor opens the public map on the town centre: incidents_near lists the live'
\echo '   public incidents within 500 m, nearest first, with the true distance in metres'
\echo '   (on the WGS84 spheroid). No login needed; nobody is named.'
SELECT demo.public_visit() \gset
SET ROLE naboom_anon;
RESET request.jwt.claims;
\echo '   [as the public]  SET ROLE naboom_anon; RESET request.jwt.claims;'
SELECT n.reference, n.category_en || ' / ' || n.category_af AS category, n.title,
	n.status_en AS status, n.area, round(n.distance_m) AS metres
FROM naboom_api.incidents_near(lat => -24.5200, lon => 28.7100, radius_m => 500) AS n;
RESET ROLE;

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 13 · Roughly here ═══════════════════════════════════════════════════════════'
\echo '   On Vaalkop, Willem Nel sees a truck without lights at the cattle dip. His phone has'
\echo '   no GPS fix, only the cell tower: accurate to about 2 km. naboom keeps the report'
\echo '   (a rough place is better than none) and flags it, so nobody trusts it to the metre.'
SELECT demo.act_as('willem.nel') AS who \gset
\echo :who
\x on
\t on
SELECT r.reference, r.category_en || ' / ' || r.category_af AS category, r.priority,
	demo.area_name(r.area) AS "routed to area",
	demo.km(r.accuracy_m) AS accuracy,
	CASE WHEN r.poor_accuracy THEN 'yes: worse than naboom.poor_accuracy_m (' ||
		current_setting('naboom.poor_accuracy_m') || ' m); kept, flagged' ELSE 'no' END AS "poor accuracy",
	r.status_en || ' / ' || r.status_af AS status,
	demo.http() AS "HTTP status"
FROM naboom_api.report_incident('mookgophong', 'suspicious_vehicle', -24.4300, 28.7200,
	'Truck without lights parked at the Vaalkop cattle dip, engine running.',
	title => 'Truck without lights at the dip', accuracy_m => 2000, client_ref => 'wn-0002') AS r;
\t off
\x off

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 14 · Not our town ═══════════════════════════════════════════════════════════'
\echo '   Mpho Sebola is visiting family in Modimolle, 35 km south-west, and tries to report a'
\echo '   burglary there in the Mookgophong app. It is outside the community''s boundary, so'
\echo '   naboom refuses, with a stable key the app can translate:'
SELECT demo.act_as('mpho.sebola') AS who \gset
\echo :who
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.report_incident(%L, %L, %s, %s, %L)',
	'mookgophong', 'burglary', -24.7000, 28.4100, 'House next door broken into'),
	'naboom.outside_community');
\t off
\x off

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 15 · Night, by the vlei ═════════════════════════════════════════════════════'
\echo '   22:00. Gerrit signs off; his app tells naboom, which forgets where he is:'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
:lines
SELECT demo.position_line(p, 'Home to sleep.')
FROM naboom_api.update_position(-24.5400, 28.7800, on_duty => false) AS p;
:tables
\echo
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
\echo '   The nearest on-duty responders within 10 km are alerted at once, in the same'
\echo '   transaction as the panic (as the DBA, from naboom.alert):'
:lines
SELECT demo.alerted(:'panic');
SELECT format('   Next escalation (as the DBA): %s SAST, %s s after the alarm, unless acknowledged.',
	demo.sast(i.next_escalation_at), round(extract(epoch FROM i.next_escalation_at - i.created_at)))
FROM naboom.incident i WHERE i.reference = :'panic';
-- naboom-listen runs beside the story (scripts/demo.sh); its line is read
-- back from its log once naboom's background writer has published the event
SELECT demo.published() \gset
\echo '   The control room''s listener (naboom-listen, demo/out/events.log) has it already: after'
\echo '   commit naboom''s background writer published it, with NOTIFY on naboom_panic:'
\set heard `sh listener-line.sh :'events_log' panic.raised :'panic'`
SELECT demo.heard(:'heard');
:tables
\echo '   In the control room, Mahlatse asks nearest_responders who could reach her, up to 20 km.'
\echo '   Gerrit is off duty, so he is not on the list.'
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
\echo :who
SELECT n.display_name AS responder, demo.km(n.distance_m) AS distance, n.distance_m AS "distance_m",
	'±' || round(n.accuracy_m) || ' m' AS accuracy, demo.sast(n.position_at) AS "position at (SAST)"
FROM naboom_api.nearest_responders(:'panic', max_count => 5, max_radius_m => 20000) AS n;

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 16 · On my way ══════════════════════════════════════════════════════════════'
\echo '   Lerato Mphahlele, the paramedic, is first on the button. Acknowledging is a'
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
\echo '   A moment later Johan Smit (farm watch, 3 km away) taps Acknowledge too. There is'
\echo '   one first responder, and Johan is told so clearly:'
SELECT demo.act_as('johan.smit') AS who \gset
\echo :who
\x on
\t on
SELECT * FROM demo.refused(format('SELECT naboom_api.acknowledge_incident(%L)', :'panic'),
	'naboom.already_acknowledged');
\t off
\x off
\echo '   Lerato dispatches herself and drives; Johan is already on his way. The intruder'
\echo '   runs when their lights come up the drive.'
SELECT demo.act_as('lerato.mphahlele') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'dispatched') AS r;
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'en_route') AS r;
SELECT pg_sleep(1) \gset
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'on_scene') AS r;
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'panic', 'resolved',
	'Elsabé unharmed. Back door forced, intruder fled on foot towards the vlei. SAPS took her statement.') AS r;
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 17 · Nobody answers ═════════════════════════════════════════════════════════'
\echo '   01:10. The truck without lights is back on Vaalkop, at Willem Nel''s house on the far'
\echo '   northern end: no responder on duty is within 10 km. He holds the panic button, and'
\echo '   in the dark he keeps pressing it:'
SELECT demo.act_as('willem.nel') AS who \gset
\echo :who
-- his presses must fall in one minute of the rate limit (10 panics a minute)
SELECT pg_sleep(CASE WHEN extract(second FROM clock_timestamp()) >= 55
	THEN 60.2 - extract(second FROM clock_timestamp()) ELSE 0 END) \gset
:lines
SELECT format('   press 1:    %s  %s, %s, %s, routed to %s   (%s)', r.reference, r.kind, r.priority,
	CASE WHEN r.is_public THEN 'public' ELSE 'private' END, demo.area_name(r.area), demo.http())
FROM naboom_api.raise_panic('mookgophong', -24.4000, 28.7300, accuracy_m => 30,
	note => 'The truck is back. Someone is trying the kitchen door.', client_ref => 'wn-sos-1') AS r;
SELECT reference AS sos FROM naboom.incident WHERE reporter_ref = 'willem.nel' AND client_ref = 'wn-sos-1' \gset
SELECT '   alerted at once (as the DBA, from naboom.alert): ' || ltrim(demo.alerted(:'sos'));
-- one call per press (in the select list: a function in FROM would run once)
SELECT format('   press 2-10: the app sends the same panic again (same client_ref): %s, %s each time',
	string_agg(DISTINCT r.reference, ', '), demo.http())
FROM (SELECT (naboom_api.raise_panic('mookgophong', -24.4000, 28.7300, accuracy_m => 30,
		client_ref => 'wn-sos-1')).reference
	FROM generate_series(2, 10) AS press) AS r;
SELECT format('   press 11:   %s %s: %s. %s', f.sqlstate, f.key, f.message, f.detail)
FROM demo.refused(format('SELECT naboom_api.raise_panic(%L, %s, %s, accuracy_m => 30, client_ref => %L)',
	'mookgophong', -24.4000, 28.7300, 'wn-sos-1'), 'naboom.rate_limited') AS f;
\echo '   Nobody acknowledges. Every minute pg_cron (job naboom-escalation) runs run_escalation();'
\echo '   here the DBA makes each step due now instead of waiting. Each step is an event,'
\echo '   incident.escalated, and the listener prints it (heard):'
RESET request.jwt.claims;
RESET request.headers;
\echo '   [as the DBA]  UPDATE naboom.incident SET next_escalation_at = now() …;  SELECT naboom.run_escalation();'
BEGIN;
UPDATE naboom.incident SET next_escalation_at = now() WHERE reference = :'sos';
SELECT naboom.run_escalation() AS escalated \gset
COMMIT;
SELECT demo.escalation_step(:'sos', 1);
SELECT demo.published() \gset
\set heard `sh listener-line.sh :'events_log' incident.escalated :'sos' '"level": 1'`
SELECT demo.heard(:'heard', '            heard: ');
BEGIN;
UPDATE naboom.incident SET next_escalation_at = now() WHERE reference = :'sos';
SELECT naboom.run_escalation() AS escalated \gset
COMMIT;
SELECT demo.escalation_step(:'sos', 2);
SELECT demo.published() \gset
\set heard `sh listener-line.sh :'events_log' incident.escalated :'sos' '"level": 2'`
SELECT demo.heard(:'heard', '            heard: ');
:tables
\echo

------------------------------------------------------------------------------
SELECT pg_sleep(1) \gset
\echo '══ Act 18 · Ek kom! ════════════════════════════════════════════════════════════════'
\echo '   Johan Smit, home from Elsabé''s, wakes to the second ring and acknowledges:'
SELECT demo.act_as('johan.smit') AS who \gset
\echo :who
:lines
SELECT format('   %s acknowledged by %s at %s SAST; escalation level %s, next escalation: %s',
	r.reference, r.acknowledged_by_name, demo.sast(r.acknowledged_at), r.escalation_level,
	coalesce(demo.sast(r.next_escalation_at), 'none'))
FROM naboom_api.acknowledge_incident(:'sos') AS r;
SELECT demo.published() \gset
\set heard `sh listener-line.sh :'events_log' incident.acknowledged :'sos'`
SELECT demo.heard(:'heard', '            heard: ');
RESET request.jwt.claims;
RESET request.headers;
\echo '   [as pg_cron, a minute later]  SELECT naboom.run_escalation();'
SELECT naboom.run_escalation() AS escalated \gset
SELECT format('   It passes %s by: still level %s, next escalation: %s. Step %s, which would also'
	|| E'\n' || '   have woken the moderators (%s), never comes.', i.reference, i.escalation_level,
	coalesce(demo.sast(i.next_escalation_at) || ' SAST', 'none'), c.escalation_steps,
	(SELECT string_agg(m.display_name, ', ' ORDER BY m.role DESC, m.display_name) FROM naboom.member m
	 WHERE m.community_id = i.community_id AND m.role >= 'moderator'))
FROM naboom.incident i JOIN naboom.community c USING (community_id)
WHERE i.reference = :'sos';
:tables
\echo '   He drives over with his son. The truck is gone; Willem and his wife are unhurt.'
SELECT demo.act_as('johan.smit') AS who \gset
\echo :who
:lines
SELECT demo.line(r) FROM naboom_api.transition_incident(:'sos', 'dispatched') AS r;
SELECT demo.new_request() \gset
SELECT demo.line(r) FROM naboom_api.transition_incident(:'sos', 'resolved',
	'Truck gone when I arrived, tracks towards the N1. Kitchen door lock damaged. SAPS informed.') AS r;
:tables
\echo

------------------------------------------------------------------------------
\echo '══ Act 19 · The record ═════════════════════════════════════════════════════════════'
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
\echo '══ Act 20 · What the public sees ═══════════════════════════════════════════════════'
\echo '   Anyone may look up a public incident without logging in (role naboom_anon, no JWT).'
\echo '   The reporter and the responders are not named, and the internal note is left out.'
SELECT demo.public_visit() \gset
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
SELECT demo.new_request() \gset
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
SELECT demo.new_request() \gset
SELECT * FROM demo.refused(format('SELECT naboom_api.get_incident(%L)', :'panic'),
	'naboom.unknown_reference');
\t off
\x off
RESET ROLE;

------------------------------------------------------------------------------
\echo '══ Act 21 · The map ════════════════════════════════════════════════════════════════'
\echo '   Annelie Steyn, the admin, prints the live map for the CPF meeting. PostGIS draws it'
\echo '   inside the database: community_map_svg (boundary, areas, live incidents coloured by'
\echo '   priority) and community_map_geojson (the same incidents as GeoJSON). Each shows what'
\echo '   the caller may see: the admin sees everything, the public only public incidents.'
SELECT demo.act_as('annelie.steyn') AS who \gset
\echo :who
SELECT f->'properties'->>'priority' AS priority,
	CASE f->'properties'->>'priority' WHEN 'critical' THEN 'red' WHEN 'high' THEN 'orange'
		WHEN 'medium' THEN 'amber' ELSE 'green' END AS dot,
	f->>'id' AS reference, f->'properties'->>'category_en' AS category, f->'properties'->>'title' AS title,
	f->'properties'->>'status' AS status,
	to_char((f->'geometry'->'coordinates'->>1)::numeric, 'FM990.0000') AS lat,
	to_char((f->'geometry'->'coordinates'->>0)::numeric, 'FM990.0000') AS lon
FROM naboom_api.community_map_geojson('mookgophong') AS m, jsonb_array_elements(m->'features') AS f
ORDER BY array_position('{critical,high,medium,low}'::text[], f->'properties'->>'priority'),
	f->'properties'->>'title';
:lines
SELECT format('   community_map_svg(''mookgophong'', 900): %s characters of SVG, %s dots.',
	length(svg), (length(svg) - length(replace(svg, '<circle ', ''))) / length('<circle '))
FROM naboom_api.community_map_svg('mookgophong', 900) AS svg;
SELECT demo.public_visit() \gset
SET ROLE naboom_anon;
RESET request.jwt.claims;
SELECT format('   The public''s map of the same moment has %s dots: private incidents are left out.',
	jsonb_array_length(m->'features'))
FROM naboom_api.community_map_geojson('mookgophong') AS m;
RESET ROLE;
:tables
\echo

------------------------------------------------------------------------------
\echo '══ Act 22 · How fast were we? ══════════════════════════════════════════════════════'
\echo '   Mahlatse shows the CPF how fast the town was answered that day: sla_report gives, per'
\echo '   category and area, the times to acknowledge and to resolve (median and 90th percentile)'
\echo '   and the breaches of each category''s targets (listed at the top; the story is compressed).'
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
\echo :who
\echo '   SELECT * FROM naboom_api.sla_report(''mookgophong'', now() - interval ''1 day'', now());'
SELECT s.category, s.area, s.incidents AS n, s.acknowledged AS "ack'd", s.resolved,
	demo.took(s.ack_p50) AS "ack p50", demo.took(s.ack_p90) AS "ack p90",
	demo.took(s.resolve_p50) AS "resolve p50", demo.took(s.resolve_p90) AS "resolve p90",
	s.ack_breaches || ' / ' || s.resolve_breaches AS breaches,
	s.open_overdue_now AS overdue
FROM naboom_api.sla_report('mookgophong', now() - interval '1 day', now()) AS s;
:lines
SELECT format('   Breaches (ack / resolve): %s / %s of %s incidents; open and overdue now: %s.',
	sum(s.ack_breaches), sum(s.resolve_breaches), sum(s.incidents), sum(s.open_overdue_now))
FROM naboom_api.sla_report('mookgophong', now() - interval '1 day', now()) AS s;
:tables
\echo

------------------------------------------------------------------------------
\echo '══ Act 23 · Who was it? ════════════════════════════════════════════════════════════'
\echo '   At the CPF meeting Hennie asks who touched his stock theft, and did anyone meddle?'
\echo '   Mahlatse opens its audit trail (incident_audit): who changed or read it, from which'
\echo '   phone, and the refused attempts, which naboom''s audit writer commits after rollback:'
RESET request.jwt.claims;
RESET request.headers;
:lines
SELECT demo.audit_written();
:tables
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
\echo :who
SELECT demo.sast(a.logged_at) AS time, a.action,
	coalesce(replace(a.table_name, 'naboom.', ''), a.detail->>'function' || '()',
		replace(a.detail->>'key', 'naboom.', '')) AS "on",
	CASE WHEN a.db_role = 'naboom_anon' THEN 'the public' ELSE a.actor END AS who,
	demo.audit_what(a) AS "what",
	concat_ws('  ', a.client_addr, a.request_id) AS "from · request"
FROM naboom_api.incident_audit(:'ref', max_count => 100) AS a
WHERE a.table_name IS DISTINCT FROM 'naboom.incident_timeline' OR a.new_values->>'entry_kind' = 'note'
ORDER BY a.logged_at, a.id;
:lines
SELECT format(E'   Not shown: %s incident_timeline rows, one written with each change of status. Every\n'
	'   entry also keeps the app''s user agent, e.g. "%s".', count(*),
	min(a.user_agent) FILTER (WHERE a.actor = 'hennie.venter'))
FROM naboom_api.incident_audit(:'ref', max_count => 100) AS a
WHERE a.table_name = 'naboom.incident_timeline' AND a.new_values->>'entry_kind' <> 'note';
:tables
\echo

------------------------------------------------------------------------------
\echo '══ Act 24 · Sealed ═════════════════════════════════════════════════════════════════'
\echo '   The log is append-only, even for the DBA. Every minute pg_cron runs naboom.seal_audit()'
\echo '   (job naboom-seal-audit): it hashes the rows written since the last seal into a seal'
\echo '   chained to the one before. The service seals once more now, and verify_audit proves'
\echo '   that no row of the day was changed, removed or slipped in since.'
RESET request.jwt.claims;
RESET request.headers;
\echo '   [as the service]  RESET request.jwt.claims;  SELECT naboom.seal_audit();'
-- NULL when there was nothing new to seal (pg_cron was just here)
SELECT coalesce(s.seal_id, 0) AS new_seal FROM naboom.seal_audit() AS s \gset
SELECT x.seal_id AS seal, demo.sast(x.sealed_at) AS "sealed at", x.row_count AS rows,
	CASE WHEN x.seal_id = :new_seal THEN 'this call' ELSE 'pg_cron job' END AS "sealed by",
	coalesce(nullif(left(encode(x.prev_hash, 'hex'), 12), '') || '…', '(first)') AS "prev_hash",
	left(encode(x.seal_hash, 'hex'), 12) || '…' AS "seal_hash"
FROM naboom.audit_seal AS x ORDER BY x.seal_id;
\echo '   SELECT * FROM naboom.verify_audit(now() - interval ''1 day'', now());'
SELECT v.problem AS result, v.detail FROM naboom.verify_audit(now() - interval '1 day', now()) AS v;
-- the demo stops if the log does not verify
SELECT demo.audit_verified() \gset

------------------------------------------------------------------------------
\echo '══ Act 25 · Kept for the court ═════════════════════════════════════════════════════'
\echo '   SAPS opened a case for Hennie''s cattle. Annelie, the admin, puts the incident under'
\echo '   legal hold: whatever the retention policies say, naboom will not anonymise or delete'
\echo '   it, or Hennie''s membership, until the hold is lifted (both are audited, with reasons).'
SELECT reference AS cattle FROM naboom.incident WHERE client_ref = 'hv-cattle-1' \gset
SELECT demo.act_as('annelie.steyn') AS who \gset
:lines
\echo :who
:tables
SELECT h.reference, h.legal_hold, h.reason, demo.sast(h.placed_at) AS placed
FROM naboom_api.place_legal_hold(:'cattle', 'SAPS Mookgophong CAS 41/11/2026 (stock theft)') AS h;
\echo '   A moderator may not (only admins place or lift holds):'
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
SELECT * FROM demo.refused(format('SELECT naboom_api.lift_legal_hold(%L, %L)', :'cattle', 'Not needed'),
	'naboom.insufficient_role');
\echo

------------------------------------------------------------------------------
\echo '══ Act 26 · What do you know about me? ═════════════════════════════════════════════'
\echo '   Grace is moving to Polokwane. First she asks naboom for everything it holds about her'
\echo '   (POPIA section 23): one JSON document, every community, every kind of row.'
SELECT demo.act_as('grace.mabotja') AS who \gset
:lines
\echo :who
\echo '   SELECT naboom_api.export_my_data();'
:tables
SELECT e.key AS "part", CASE jsonb_typeof(e.value) WHEN 'array' THEN jsonb_array_length(e.value)::text
	ELSE e.value #>> '{}' END AS "rows / value"
FROM jsonb_each((naboom_api.export_my_data()).data) AS e ORDER BY e.key;
SELECT r->>'reference' AS reference, r->>'category' AS category, r->>'description' AS "what she wrote",
	r->>'lat' AS lat, r->>'lon' AS lon
FROM jsonb_array_elements((naboom_api.export_my_data()).data->'reports') AS r;
\echo

------------------------------------------------------------------------------
\echo '══ Act 27 · Forget me ══════════════════════════════════════════════════════════════'
\echo '   Then she asks naboom to erase her (right to erasure). It happens at once. Her report'
\echo '   stays as an anonymised emergency record, because the law requires the record; but it'
\echo '   no longer names her or says what she wrote, and its place is now a 1 km square.'
:lines
\echo :who
\echo '   SELECT naboom_api.erase_my_data();'
:tables
SELECT to_jsonb(e) AS erasure FROM naboom_api.erase_my_data() AS e \gset
SELECT e.key AS erased, e.value AS "rows"
FROM jsonb_each(:'erasure'::jsonb->'erased') AS e WHERE e.value::int > 0 ORDER BY e.key;
SELECT k->>'what' AS kept, k->>'count' AS "rows", demo.wrap(k->>'why', 60) AS why
FROM jsonb_array_elements(:'erasure'::jsonb->'kept') AS k WHERE (k->>'count')::int > 0;
\echo '   [as the DBA]  every table of naboom, searched for her id, name and phone:'
SELECT coalesce(string_agg(n, ', '), 'none') AS "tables that still name Grace"
FROM demo.tables_naming(ARRAY['grace.mabotja', 'Grace Mabotja', '555 0112', 'She is safe at my house']) AS n;
SELECT i.reference, i.category_code AS category, coalesce(i.reporter_ref, '—') AS reporter,
	coalesce(i.description, '—') AS description, round(ST_Y(i.location)::numeric, 4) AS lat,
	round(ST_X(i.location)::numeric, 4) AS lon, demo.sast(i.anonymised_at) AS anonymised
FROM naboom.incident i WHERE i.client_ref IS NULL AND i.anonymised_at IS NOT NULL;
\echo

------------------------------------------------------------------------------
\echo '══ Act 28 · Ten years from now ════════════════════════════════════════════════════'
\echo '   The DBA asks what the retention policies would do ten years and a day from now'
\echo '   (a dry run: it counts and changes nothing). Emergency records go ten years after'
\echo '   closing; members are anonymised seven years after their last activity; audit months'
\echo '   are dropped after a year (anonymised after six months). The held stock theft stays.'
RESET request.jwt.claims;
RESET request.headers;
:lines
\echo '   [as the DBA]  CALL naboom.run_retention(dry_run => true, as_of => now() + interval ''10 years 1 day'');'
:tables
CALL naboom.run_retention(true, now() + interval '10 years 1 day') \gset dry_
SELECT r.data_class AS class, r.target, r.action, r.rows, r.held AS "kept: legal hold"
FROM naboom.retention_report(:dry_run_id) AS r WHERE r.rows > 0 OR r.held > 0 ORDER BY r.step;
SELECT data_class AS class, keep, then_action AS "then", anonymise_after AS "anonymised after"
FROM naboom.retention_policy ORDER BY keep DESC;
\echo

------------------------------------------------------------------------------
\echo '══ Act 29 · Every night at 02:41 ══════════════════════════════════════════════════'
\echo '   pg_cron runs naboom''s jobs: naboom.schedule_jobs() registered them at start-up. The'
\echo '   retention job runs nightly; to watch one, the DBA schedules the same command for the'
\echo '   next minute, waits for pg_cron to run it, and reads what it did.'
:lines
\echo '   [as the DBA]  SELECT cron.schedule(''naboom-retention-now'', ''* * * * *'', ''CALL naboom.run_retention(false)'');'
:tables
SELECT max(run_id) AS before_cron FROM naboom.retention_run \gset
SELECT cron.schedule('naboom-retention-now', '* * * * *', 'CALL naboom.run_retention(false)') AS job \gset
SELECT demo.cron_ran('naboom-retention-now') AS waited \gset
SELECT cron.unschedule('naboom-retention-now') AS unscheduled \gset
SELECT j.jobname AS job, j.schedule, count(d.runid) AS runs,
	count(d.runid) FILTER (WHERE d.status = 'succeeded') AS succeeded,
	demo.sast(max(d.end_time)) AS "last run"
FROM cron.job j LEFT JOIN cron.job_run_details d USING (jobid)
WHERE j.jobname LIKE 'naboom-%' GROUP BY j.jobname, j.schedule ORDER BY j.jobname;
SELECT d.status, d.command, d.return_message, demo.sast(d.start_time) AS started
FROM cron.job_run_details d WHERE d.jobid = :job ORDER BY d.runid LIMIT 1;
SELECT r.data_class AS class, r.target, r.action, r.rows, r.batches, round(r.seconds::numeric, 3) AS seconds
FROM naboom.retention_report((SELECT min(x.run_id) FROM naboom.retention_run x WHERE x.run_id > :before_cron)) AS r
ORDER BY r.step;
\echo

------------------------------------------------------------------------------
\echo '══ Act 30 · A morning in the control room ══════════════════════════════════════════'
\echo '   Morning. Hennie''s phone last synced before he drove out to the far camp, where there'
\echo '   is no signal; his app kept the cursor of that sync.'
SELECT demo.act_as('hennie.venter') AS who \gset
:lines
\echo :who
\echo '   [Hennie''s app]  incident_changes()  (to the end: the app keeps the last cursor)'
:tables
SELECT count(*) AS synced, (array_agg(c.cursor ORDER BY c.ordinality DESC))[1] AS hennie_cursor
FROM naboom_api.incident_changes(max_count => 500) WITH ORDINALITY AS c \gset
\echo '   ' :synced 'incidents on Hennie''s phone, as he may see them.'
\echo
\echo '   The safety forum wants burglaries acknowledged within a minute (story time: the demo'
\echo '   cannot wait hours). Annelie, the admin, tightens the target; the diesel theft Willem'
\echo '   reported last night has waited longer than that.'
SELECT demo.act_as('annelie.steyn') AS who \gset
:lines
\echo :who
\echo '   [as the admin]  upsert_category(''mookgophong'', ''burglary'', ''Burglary'', ''Inbraak'', ''high'', ack_target => ''1 minute'', ...)'
:tables
SELECT code, name_en, name_af, demo.dur(ack_target) AS "ack in", demo.dur(resolve_target) AS "resolve in"
FROM naboom_api.upsert_category('mookgophong', 'burglary', 'Burglary', 'Inbraak', 'high', false,
	'1 minute', '24 hours', 200, '6 hours');
SELECT pg_sleep(greatest(0, extract(epoch FROM i.created_at + interval '1 minute' - clock_timestamp()) + 1)) AS waited
FROM naboom.incident i WHERE i.reporter_ref = 'willem.nel' AND i.client_ref = 'wn-0001' \gset
\echo
\echo '   Mahlatse opens the control room''s queue: live incidents by urgency, overdue first,'
\echo '   then priority, then the deadline that falls due first.'
SELECT demo.act_as('mahlatse.ledwaba') AS who \gset
:lines
\echo :who
\echo '   [as the moderator]  incident_queue(''mookgophong'', max_count => 6)'
:tables
SELECT q.reference, CASE WHEN q.overdue THEN 'OVERDUE' ELSE '' END AS "!", q.priority, q.category_en AS category,
	left(q.title, 30) AS title, q.status,
	CASE WHEN q.acknowledged THEN 'yes' ELSE 'no' END AS ack,
	CASE WHEN NOT q.acknowledged THEN demo.sast(q.ack_due_at) END AS "ack by",
	demo.sast(q.resolve_due_at) AS "resolve by", coalesce(q.assignee_name, '—') AS assignee
FROM naboom_api.incident_queue('mookgophong', max_count => 6) AS q;
SELECT q.reference AS diesel, q.cursor AS queue_cursor
FROM naboom_api.incident_queue('mookgophong', overdue_only => true, category => 'burglary') AS q LIMIT 1 \gset
\echo '   The next page starts after the last row''s cursor: keyset, never OFFSET:'
\echo '   [as the moderator]  incident_queue(''mookgophong'', after => <cursor of row 6>, max_count => 6)'
SELECT (SELECT q.cursor FROM naboom_api.incident_queue('mookgophong', max_count => 6) q OFFSET 5) AS page1_end \gset
SELECT q.reference, q.priority, q.category_en AS category, left(q.title, 30) AS title, q.status
FROM naboom_api.incident_queue('mookgophong', after => :'page1_end', max_count => 6) AS q;
\echo '   She acknowledges the diesel theft and assigns Gerrit of the farm watch:'
SELECT demo.new_request();
SELECT demo.line(r) AS "acknowledge_incident" FROM naboom_api.acknowledge_incident(:'diesel') AS r;
SELECT demo.line(r) AS "assign_incident" FROM naboom_api.assign_incident(:'diesel', 'gerrit.pretorius') AS r;
SELECT q.reference, CASE WHEN q.overdue THEN 'OVERDUE' ELSE '' END AS "!", q.status,
	CASE WHEN q.acknowledged THEN 'yes' ELSE 'no' END AS ack, demo.sast(q.resolve_due_at) AS "resolve by",
	q.assignee_name AS assignee
FROM naboom_api.incident_queue('mookgophong', category => 'burglary') AS q WHERE q.reference = :'diesel';
\echo
\echo '   Gerrit''s phone shows what is his:'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
\echo '   [as a responder]  my_assignments()'
SELECT a.reference, a.priority, left(a.title, 30) AS title, a.status, demo.sast(a.resolve_due_at) AS "resolve by"
FROM naboom_api.my_assignments() AS a;
\echo
\echo '   Willem opens "my reports" in the app:'
SELECT demo.act_as('willem.nel') AS who \gset
\echo :who
\echo '   [as a resident]  my_incidents()'
SELECT m.reference, left(m.title, 30) AS title, m.status_en || ' / ' || m.status_af AS status,
	demo.sast(m.created_at) AS reported, coalesce(m.assignee_name, '—') AS assignee, m.version
FROM naboom_api.my_incidents() AS m;
\echo
\echo '   Back in signal, Hennie''s app asks what changed since its cursor: each incident once,'
\echo '   at its latest version, in commit order.'
SELECT demo.act_as('hennie.venter') AS who \gset
\echo :who
\echo '   [Hennie''s app]  incident_changes(after => <the cursor it kept>)'
SELECT c.reference, left(c.title, 30) AS title, c.status, c.version, coalesce(c.assignee_name, '—') AS assignee,
	demo.sast(c.changed_at) AS changed
FROM naboom_api.incident_changes(after => :'hennie_cursor') AS c WHERE NOT c.removed;
\echo
\echo '   The load balancer in front of the gateways asks, anonymously, whether this node is well:'
RESET request.jwt.claims;
SELECT demo.public_visit();
\echo '   [as the load balancer]  health()'
SELECT h.ok, h.extension_version AS version, h.writer_connected AS writer, h.events_unpublished AS unpublished,
	h.cron_jobs_present || ' of ' || h.cron_jobs_expected AS "pg_cron jobs",
	coalesce(nullif(array_to_string(h.problems || h.warnings, ', '), ''), 'none') AS "problems, warnings", demo.http() AS http
FROM naboom_api.health() AS h;
\echo
\echo '   The municipality''s FixMyStreet speaks Open311 GeoReport v2. Through the gateway,'
\echo '   GET /open311/v2/requests.json?jurisdiction_id=mookgophong is (the newest request shown;'
\echo '   private reports, panics and sensitive categories never appear):'
SELECT demo.public_visit() \gset
SET ROLE naboom_anon;
\echo '   [as the public]  open311_requests(''mookgophong'')'
:lines
SELECT jsonb_pretty(naboom_api.open311_requests('mookgophong')::jsonb->0);
:tables
RESET ROLE;
\echo

\echo '══ Act 31 · The case number ══════════════════════════════════════════════════════'
\echo '   Hennie''s stock theft went to SAPS the moment he reported it: a rule of the town sends'
\echo '   every stock theft there, written in the same transaction as the report. The integrator''s'
\echo '   forwarding worker claims it, POSTs it with its idempotency key, and says it arrived.'
\echo '   Gerrit photographed the tracks at the ramp; the app put the photo in object storage and'
\echo '   records it (naboom keeps the key, type, size and SHA-256; the payload refers to it):'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
\echo '   [as a responder]  add_attachment(<the stock theft>, ''mookgophong/tracks-0412.jpg'', ''image/jpeg'', ...)'
SELECT a.object_key, a.content_type, a.bytes, a.caption, a.uploader_name AS "by"
FROM naboom_api.add_attachment(:'cattle', 'mookgophong/tracks-0412.jpg', 'image/jpeg', 2841207,
	'9f2c4e1b7a5d3c8e0f6a2b4d1c7e9a3f5b8d0c2e4a6f1b3d5c7e9a0b2d4f6a81', 'Tracks at the loading ramp',
	now() - interval '2 hours') AS a;
RESET request.jwt.claims;
:lines
\echo '   [as the forwarding worker, naboom_service: no JWT claims]  claim_forwardings(''saps'', 10, ''1 minute'')'
:tables
SELECT c.reference, c.seq, c.idempotency_key, c.attempt, c.endpoint,
	c.payload->'incident'->>'category' AS category, c.payload->'reporter'->>'name' AS reporter,
	jsonb_array_length(c.payload->'attachments') AS photos
FROM naboom_api.claim_forwardings('saps', 10, '1 minute') AS c WHERE c.reference = :'cattle';
SELECT f.id AS cattle_fwd FROM naboom_api.incident_forwardings(:'cattle') AS f WHERE f.seq = 1 \gset
\echo '   [as the forwarding worker]  forwarding_delivered(id, ''CAS 41/11/2026'')'
SELECT d.reference, d.authority_en, d.state, d.external_id, d.attempts
FROM naboom_api.forwarding_delivered(:cattle_fwd, 'CAS 41/11/2026') AS d;
\echo
\echo '   SAPS opens the case and says so; their system sends the update twice (a retry), and'
\echo '   naboom records it once.'
\echo '   [as the SAPS integration]  authority_update(''saps'', ''CAS 41/11/2026'', ''case_opened'', ...)'
SELECT u.reference, u.external_id, u.status, u.repeated
FROM naboom_api.authority_update('saps', 'CAS 41/11/2026', 'case_opened',
	'Case opened by the stock theft unit, Sgt. Maluleke.', now(), 'saps-upd-0001') AS u
UNION ALL
SELECT u.reference, u.external_id, u.status, u.repeated
FROM naboom_api.authority_update('saps', 'CAS 41/11/2026', 'case_opened',
	'Case opened by the stock theft unit, Sgt. Maluleke.', now(), 'saps-upd-0001') AS u;
\echo
\echo '   Gerrit sees the case number on the timeline, as SAPS:'
SELECT demo.act_as('gerrit.pretorius') AS who \gset
\echo :who
\echo '   [as a responder]  get_incident(<the stock theft>)  (its last timeline entry)'
SELECT e->>'kind' AS kind, e->>'actor_name' AS "by", e->'detail'->>'external_id' AS "case",
	e->'detail'->>'status' AS status, e->>'note' AS note
FROM naboom_api.get_incident(:'cattle') AS g, jsonb_array_elements(g.timeline) AS e
WHERE e->>'kind' = 'authority_update';
\echo

\echo '══ Fin ═════════════════════════════════════════════════════════════════════════════'
\echo '   The cows are home, and Elsabé and Willem are safe. Everything above is in the database:'
\echo '   the incidents, where they were, who was alerted, their timelines, their events, and who'
\echo '   did what, under the same rules for every client.'
