-- naboom demo: small helpers in schema "demo" (not part of naboom).
--
-- They only make the demo's output pleasant to read; every change still goes
-- through the naboom_api functions, exactly as a gateway such as PostgREST
-- would call them.  Loaded by scripts/demo.sh before town.sql and story.sql.

\set ON_ERROR_STOP 1

DROP SCHEMA IF EXISTS demo CASCADE;
CREATE SCHEMA demo;
COMMENT ON SCHEMA demo IS 'Helpers of the naboom demo (scripts/demo.sh); not part of naboom';

-- The public may call the refusal helper too (the story shows what an
-- anonymous visitor is refused); the helper runs with the caller's rights.
GRANT USAGE ON SCHEMA demo TO naboom_anon, naboom_user;

-- request_headers(sub): the HTTP request headers PostgREST passes on in
-- request.headers, as if the person's phone app made the request through the
-- town's gateway: the app's user agent, x-forwarded-for (the phone's address,
-- then the load balancer's) and x-request-id (a new one per request).  naboom's
-- audit log keeps the first forwarded address, the user agent and the request
-- id with every entry.  The addresses are from the documentation ranges of
-- RFC 5737, one phone per person.
CREATE SEQUENCE demo.request_seq;

CREATE FUNCTION demo.request_headers(sub text) RETURNS text
LANGUAGE sql AS $$
	SELECT json_build_object(
		'user-agent', 'NaboomApp/2.4.1 (' || coalesce(p.device, 'Android 14') || ')',
		'x-forwarded-for', coalesce(p.addr, '203.0.113.' || (abs(hashtext(sub)) % 200 + 20)) || ', 10.8.0.2',
		'x-request-id', 'req-' || lpad(nextval('demo.request_seq')::text, 4, '0'))::text
	FROM (SELECT 1) one
	LEFT JOIN (VALUES
		('annelie.steyn',    '198.51.100.11', 'iOS 17.5; iPhone 14'),
		('mahlatse.ledwaba', '198.51.100.12', 'Android 14; SM-A546E'),
		('gerrit.pretorius', '198.51.100.23', 'Android 13; SM-A145F'),
		('tshepo.kekana',    '198.51.100.24', 'Android 14; Redmi 13C'),
		('lerato.mphahlele', '198.51.100.25', 'iOS 17.4; iPhone 12'),
		('johan.smit',       '198.51.100.26', 'Android 12; Nokia G21'),
		('koos.vdmerwe',     '198.51.100.37', 'Android 14; SM-A256E'),
		('mpho.sebola',      '198.51.100.38', 'Android 13; Hisense E50'),
		('hennie.venter',    '198.51.100.49', 'Android 11; SM-A125F'),
		('elsabe.duplessis', '198.51.100.50', 'iOS 16.7; iPhone 8'),
		('kgomotso.maake',   '198.51.100.51', 'Android 13; Mobicel R4'),
		('sarah.thompson',   '198.51.100.52', 'iOS 17.5; iPhone 13'),
		('grace.mabotja',    '198.51.100.53', 'Android 12; Tecno Spark 8'),
		('willem.nel',       '198.51.100.54', 'Android 14; SM-A055F')
	) AS p(sub, addr, device) ON p.sub = request_headers.sub
$$;

-- act_as(sub): become a person, the way PostgREST does for every request:
-- it puts the verified JWT claims in request.jwt.claims (and the request's
-- headers in request.headers).  Returns a line for the transcript naming the
-- person and their role in the community.
CREATE FUNCTION demo.act_as(sub text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	who text;
BEGIN
	PERFORM set_config('request.jwt.claims', json_build_object('sub', sub)::text, false);
	PERFORM set_config('request.headers', demo.request_headers(sub), false);
	SELECT format('%s, %s', m.display_name, m.role) INTO who
	FROM naboom.member m JOIN naboom.community c USING (community_id)
	WHERE c.slug = 'mookgophong' AND m.user_ref = sub;
	RETURN format('   [as %s]  request.jwt.claims = {"sub":"%s"}', coalesce(who, 'a new member'), sub);
END
$$;

-- new_request(): the next request of the same person from the same phone:
-- a new x-request-id, the other headers unchanged (each API call below is
-- one HTTP request).
CREATE FUNCTION demo.new_request() RETURNS void
LANGUAGE sql AS $$
	SELECT set_config('request.headers', (coalesce(nullif(current_setting('request.headers', true), ''), '{}')::jsonb
		|| jsonb_build_object('x-request-id', 'req-' || lpad(nextval('demo.request_seq')::text, 4, '0')))::text, false);
	SELECT NULL::void
$$;

GRANT USAGE ON SEQUENCE demo.request_seq TO naboom_anon, naboom_user;

-- public_visit(): the request headers of a visitor to the public map in a
-- phone's browser (not logged in: no claims), for the acts "as the public".
CREATE FUNCTION demo.public_visit() RETURNS void
LANGUAGE sql AS $$
	SELECT set_config('request.headers', json_build_object(
		'user-agent', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36',
		'x-forwarded-for', '203.0.113.77, 10.8.0.2',
		'x-request-id', 'req-' || lpad(nextval('demo.request_seq')::text, 4, '0'))::text, false);
	SELECT NULL::void
$$;

-- area_name(code): 'town (Town centre / Dorp)', for reading area codes.
CREATE FUNCTION demo.area_name(code text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce(
		(SELECT format('%s (%s)', a.code,
			CASE WHEN a.name_en = a.name_af THEN a.name_en ELSE a.name_en || ' / ' || a.name_af END)
		 FROM naboom.area a JOIN naboom.community c USING (community_id)
		 WHERE c.slug = 'mookgophong' AND a.code = area_name.code),
		code)
$$;

-- sast(t): a time as a person in Limpopo reads it.
CREATE FUNCTION demo.sast(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'Africa/Johannesburg', 'HH24:MI:SS')
$$;

-- wrap(text, width): word-wrapped text, so long notes and messages keep the
-- tables narrow (psql marks the line breaks with ↵).
CREATE FUNCTION demo.wrap(t text, width integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT rtrim(regexp_replace(t, '(.{1,' || width || '})(\s+|$)', E'\\1\n', 'g'), E'\n')
$$;

-- indent(text, by, width): word-wrapped to width, every line indented.
CREATE FUNCTION demo.indent(t text, by integer, width integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT repeat(' ', by) || replace(demo.wrap(t, width), E'\n', E'\n' || repeat(' ', by))
$$;

-- refused(statement, expected_key): run a statement that naboom must refuse,
-- and return the refusal as a row (SQLSTATE, message, the stable key from the
-- DETAIL, the rest of the detail, the hint) so the script carries on.  If the
-- statement is accepted, or refused for another reason than expected_key,
-- that is a bug: raise, so the demo stops with a non-zero exit.
CREATE TYPE demo.refusal AS (
	attempt text,
	sqlstate text,
	message text,
	key text,
	detail text,
	hint text
);

CREATE FUNCTION demo.refused(statement text, expected_key text) RETURNS demo.refusal
LANGUAGE plpgsql AS $$
DECLARE
	r demo.refusal;
	v_state text;
	v_message text;
	v_detail text;
	v_hint text;
BEGIN
	r.attempt := regexp_replace(statement, '^\s*SELECT\s+(\S+\s+FROM\s+)?(naboom_api\.)?', '');
	BEGIN
		EXECUTE statement;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
			v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
		r.sqlstate := v_state;
		r.message := v_message;
		r.key := substring(v_detail FROM '^([a-z0-9_]+\.[a-z0-9_]+):');
		r.detail := coalesce(nullif(regexp_replace(v_detail, '^[a-z0-9_]+\.[a-z0-9_]+: ?', ''), ''), v_detail);
		r.hint := nullif(v_hint, '');
		IF r.key IS DISTINCT FROM expected_key THEN
			RAISE EXCEPTION 'demo: expected naboom to refuse with %, got % (%): %',
				expected_key, coalesce(r.key, 'no key'), v_state, v_message
				USING DETAIL = coalesce(v_detail, ''), HINT = 'statement: ' || statement;
		END IF;
		r.message := demo.wrap(r.message, 80);
		r.detail := demo.wrap(r.detail, 80);
		r.hint := demo.wrap(r.hint, 80);
		RETURN r;
	END;
	RAISE EXCEPTION 'demo: naboom accepted a statement it should refuse with %', expected_key
		USING HINT = 'statement: ' || statement;
END
$$;

GRANT EXECUTE ON FUNCTION demo.refused(text, text) TO naboom_anon, naboom_user;

-- line(incident): the transcript line(s) for an incident after a call.
CREATE FUNCTION demo.line(i naboom_api.incident) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT rtrim(format('   %s  %-10s  %-24s  version %-2s %s', i.reference, i.status,
		i.status_en || ' / ' || i.status_af, i.version,
		CASE WHEN i.assignee_name IS NOT NULL THEN 'assignee: ' || i.assignee_name END))
		|| CASE WHEN i.status_note IS NOT NULL
			THEN E'\n' || demo.indent('note: "' || i.status_note || '"', 17, 72) ELSE '' END
$$;

-- note_line(entry): the transcript lines for a note just added.
CREATE FUNCTION demo.note_line(t naboom_api.timeline_entry) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT format(E'   %s  note #%s, %s, by %s\n%s', t.reference, t.seq,
		CASE WHEN t.is_public THEN 'public' ELSE 'internal (responders and moderators only)' END,
		t.actor_name, demo.indent('"' || t.note || '"', 17, 72))
$$;

-- http(): the HTTP status PostgREST would answer for the call just made.
CREATE FUNCTION demo.http() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE coalesce(nullif(current_setting('response.status', true), ''), '200')
		WHEN '201' THEN '201 Created' WHEN '200' THEN '200 OK'
		ELSE current_setting('response.status', true) END
$$;

-- dur(interval): '2 min', '4 h', '3 days'.
CREATE FUNCTION demo.dur(d interval) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN d >= '1 day' AND extract(epoch FROM d)::bigint % 86400 = 0 AND d < '2 days' THEN '1 day'
		WHEN extract(epoch FROM d)::bigint % 86400 = 0 THEN extract(epoch FROM d)::bigint / 86400 || ' days'
		WHEN extract(epoch FROM d)::bigint % 3600 = 0 THEN extract(epoch FROM d)::bigint / 3600 || ' h'
		WHEN extract(epoch FROM d)::bigint % 60 = 0 THEN extract(epoch FROM d)::bigint / 60 || ' min'
		ELSE extract(epoch FROM d)::bigint || ' s' END
$$;

-- km(metres): '95 m', '3.3 km': a distance as a person says it.
CREATE FUNCTION demo.km(m double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN m IS NULL THEN '?'
		WHEN m < 1000 THEN round(m)::text || ' m'
		WHEN round(m)::bigint % 1000 = 0 THEN (round(m)::bigint / 1000)::text || ' km'
		ELSE to_char(m / 1000, 'FM999990.0') || ' km' END
$$;

-- position_line(position, place): the transcript line for update_position.
CREATE FUNCTION demo.position_line(p naboom_api.position, place text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p.on_duty
		THEN format('   on duty (%s) at %s, %s ±%s m: %s', array_to_string(p.communities, ', '),
			to_char(p.lat, 'FM990.0000'), to_char(p.lon, 'FM990.0000'), round(p.accuracy_m), place)
		ELSE format('   off duty (%s): no position kept, lat and lon are %s. %s',
			array_to_string(p.communities, ', '),
			CASE WHEN p.lat IS NULL AND p.lon IS NULL THEN 'NULL' ELSE p.lat || ', ' || p.lon END, place) END
$$;

-- subscription_line(subscription): the transcript line for subscribe.
CREATE FUNCTION demo.subscription_line(s naboom_api.subscription) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT format(E'   alert area #%s "%s": %s around %s, %s   (%s)\n   categories: %s; priority %s and up',
		s.id, s.label, demo.km(s.radius_m), to_char(s.lat, 'FM990.0000'), to_char(s.lon, 'FM990.0000'),
		demo.http(), coalesce(array_to_string(s.categories, ', '), 'all'), s.min_priority)
$$;

-- alerted(reference): who naboom alerted about an incident, and how far
-- away they were, read as the DBA from naboom.alert (each member reads their
-- own with naboom_api.my_alerts).
CREATE FUNCTION demo.alerted(ref text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT coalesce(string_agg(format('     %-20s %-38s %s', m.display_name,
			CASE a.reason
				WHEN 'responder' THEN format('nearest on-duty %s', m.role)
				ELSE format('alert area "%s"', coalesce(s.label, '#' || a.subscription_id)) END,
			demo.km(a.distance_m) || CASE a.reason WHEN 'responder' THEN ' away' ELSE ' from its centre' END),
			E'\n' ORDER BY a.distance_m, m.display_name),
		'     nobody')
	FROM naboom.alert a
	JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
	JOIN naboom.member m ON m.community_id = a.community_id AND m.user_ref = a.user_ref
	LEFT JOIN naboom.subscription s ON s.community_id = a.community_id AND s.subscription_id = a.subscription_id
	WHERE i.reference = ref
$$;

-- audit_written(): as the DBA, wait (up to 5 s) until naboom's audit writer
-- has written every refused attempt queued so far; their own transactions
-- rolled back, so the writer commits them in its own.  Stops the demo if it
-- cannot (naboom not in shared_preload_libraries).
CREATE FUNCTION demo.audit_written() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT naboom.audit_queue_wait(5000) THEN
		RAISE EXCEPTION 'demo: the audit writer did not write the refused attempts'
			USING HINT = 'Preload naboom (shared_preload_libraries) and set naboom.writer_database.';
	END IF;
	RETURN '   [as the DBA]  SELECT naboom.audit_queue_wait(5000);  → true: the audit writer is done';
END
$$;

-- audit_what(entry): what an audit entry says happened, in a few words.
CREATE FUNCTION demo.audit_what(a naboom_api.audit_entry) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN a.action = 'DENIED' THEN
			'refused: ' || coalesce(regexp_replace(substring(a.detail->>'message' FROM 'from \w+ to \w+$'),
				'^from (\w+) to (\w+)$', '\1 → \2') || ' ', '')
			|| format('(%s)', a.detail->>'sqlstate')
		WHEN a.action = 'READ' THEN
			CASE WHEN (a.detail->'args'->>'private')::boolean THEN 'read (private)' ELSE 'read' END
		WHEN a.table_name = 'naboom.alert' THEN
			format('%s alerts: %s', jsonb_array_length(a.new_values),
				(SELECT string_agg(e->>'user_ref', ', ' ORDER BY (e->>'distance_m')::float8)
				 FROM jsonb_array_elements(a.new_values) e))
		WHEN a.table_name = 'naboom.incident' AND a.action = 'INSERT' THEN
			format('new: %s, %s priority', a.new_values->>'status', a.new_values->>'priority')
		WHEN a.table_name = 'naboom.incident' AND a.action = 'UPDATE' THEN
			concat_ws(', ',
				CASE WHEN a.new_values ? 'status'
					THEN format('%s → %s', a.old_values->>'status', a.new_values->>'status') END,
				CASE WHEN a.new_values ? 'assignee_ref'
					THEN 'assignee ' || coalesce(a.new_values->>'assignee_ref', 'none') END)
		WHEN a.table_name = 'naboom.incident_timeline' THEN
			format('#%s %s%s', a.new_values->>'seq', a.new_values->>'entry_kind',
				CASE WHEN (a.new_values->>'is_public')::boolean THEN '' ELSE ' (internal)' END)
		ELSE concat_ws(' → ', a.old_values::text, a.new_values::text) END
$$;

-- audit_verified(): stops the demo if verify_audit finds a problem in the
-- audit log of the last day.
CREATE FUNCTION demo.audit_verified() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	bad record;
BEGIN
	SELECT * INTO bad FROM naboom.verify_audit(now() - interval '1 day', now()) v
	WHERE v.problem <> 'verified' LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'demo: verify_audit found a problem: % (seal %, row %)', bad.problem, bad.seal_id, bad.audit_id
			USING DETAIL = coalesce(bad.detail, '');
	END IF;
END
$$;

-- took(interval): how long something took, as the SLA act reads it: '4.2 s',
-- '3 min 5 s', '2 h 10 min'; NULL stays NULL (psql shows ·).
CREATE FUNCTION demo.took(d interval) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN d IS NULL THEN NULL
		WHEN extract(epoch FROM d) < 60 THEN to_char(extract(epoch FROM d), 'FM990.0') || ' s'
		WHEN extract(epoch FROM d) < 3600 THEN
			floor(extract(epoch FROM d) / 60) || ' min ' || floor(extract(epoch FROM d))::bigint % 60 || ' s'
		ELSE floor(extract(epoch FROM d) / 3600) || ' h ' || floor(extract(epoch FROM d) / 60)::bigint % 60 || ' min' END
$$;

-- published(): as the DBA, wait (up to 5 s) until naboom's background writer
-- has published every event committed so far (numbered it and sent its
-- NOTIFY), so the story can then read what naboom-listen printed.  Stops the
-- demo if it cannot (naboom not in shared_preload_libraries).
CREATE FUNCTION demo.published() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT naboom.events_wait(5000) THEN
		RAISE EXCEPTION 'demo: the background writer did not publish the events'
			USING HINT = 'Preload naboom (shared_preload_libraries).';
	END IF;
END
$$;

-- heard(line, prefix): a line naboom-listen printed to demo/out/events.log
-- (read back by demo/listener-line.sh), its tabs shown as two spaces.  Stops
-- the demo if the listener did not print it.
CREATE FUNCTION demo.heard(line text, prefix text DEFAULT '   ') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	IF coalesce(line, '') = '' THEN
		RAISE EXCEPTION 'demo: naboom-listen did not print the event within 5 s'
			USING HINT = 'See demo/out/events.log and demo/out/listen.log.';
	END IF;
	RETURN prefix || replace(line, E'\t', '  ');
END
$$;

-- escalation_step(reference, level): what one escalation step of an incident
-- did, read as the DBA: the radius it searched (the community's alert radius
-- × escalation_radius_factor^level, at most naboom.max_radius_m) and who it
-- alerted (naboom.alert rows of that escalation_level, by reason).
CREATE FUNCTION demo.escalation_step(ref text, step integer) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT format('   step %s · level %s, radius %s: %s', step, i.escalation_level,
		demo.km(least(c.alert_radius_m * power(c.escalation_radius_factor, step),
			current_setting('naboom.max_radius_m')::float8)),
		coalesce((SELECT string_agg(format('+%s %s%s: %s', r.n, r.reason, CASE WHEN r.n > 1 THEN 's' END, r.who), '; ')
			FROM (SELECT a.reason, count(*) AS n,
					string_agg(m.display_name || coalesce(' ' || demo.km(a.distance_m), ''), ', '
						ORDER BY a.distance_m NULLS LAST, m.display_name) AS who
				FROM naboom.alert a
				JOIN naboom.member m ON m.community_id = a.community_id AND m.user_ref = a.user_ref
				WHERE a.community_id = i.community_id AND a.incident_id = i.incident_id
					AND a.escalation_level = step
				GROUP BY a.reason ORDER BY a.reason DESC) r),
			'nobody new'))
	FROM naboom.incident i JOIN naboom.community c USING (community_id)
	WHERE i.reference = ref
$$;

-- tables_naming(needles): every table of schema naboom (audit partitions
-- included) with a row whose text contains one of the needles: the DBA's
-- check after an erasure.
CREATE FUNCTION demo.tables_naming(needles text[]) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	rel regclass;
	n bigint;
BEGIN
	FOR rel IN
		SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'naboom'::regnamespace AND c.relkind = 'r'
		ORDER BY 1
	LOOP
		EXECUTE format('SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM unnest($1) k WHERE strpos(x::text, k) > 0)',
			rel) INTO n USING needles;
		IF n > 0 THEN
			RETURN NEXT format('%s (%s rows)', rel, n);
		END IF;
	END LOOP;
END
$$;

-- cron_ran(job): wait (at most 75 s) until pg_cron has run the job once;
-- stops the demo if it did not.
CREATE FUNCTION demo.cron_ran(job text) RETURNS interval
LANGUAGE plpgsql AS $$
DECLARE
	started timestamptz := clock_timestamp();
BEGIN
	LOOP
		IF EXISTS (SELECT 1 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
				WHERE j.jobname = job AND d.status IN ('succeeded', 'failed')) THEN
			RETURN clock_timestamp() - started;
		END IF;
		IF clock_timestamp() > started + interval '75 seconds' THEN
			RAISE EXCEPTION 'pg_cron did not run job % within 75 seconds', job;
		END IF;
		PERFORM pg_sleep(0.2);
	END LOOP;
END
$$;
