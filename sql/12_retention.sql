-- Retention and privacy (0.5.0): policies as data and their bounds, legal
-- holds, deleted notes, run_retention at each class's exact boundary (time
-- is controlled by as_of), dry runs, the audit log anonymised but still
-- verified, expired months dropped with their seals, export_my_data,
-- erase_my_data, and the retention job run by pg_cron for real.
\pset format unaligned
\pset tuples_only on
\i test/include/fresh.psql
-- (locking the background writer's tables first makes the drop wait for
-- its transaction instead of deadlocking with it)
BEGIN;
LOCK TABLE naboom.audit_log, naboom.event, naboom.member, naboom.incident, naboom.community IN ACCESS EXCLUSIVE MODE;
DROP EXTENSION naboom CASCADE;
COMMIT;
CREATE EXTENSION naboom;
SELECT extversion FROM pg_extension WHERE extname = 'naboom';

-- What a retention run did, as rows (only steps that found something;
-- audit counts depend on everything before, so only whether there were any).
CREATE FUNCTION t.due(dry boolean, as_of timestamptz) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
	r jsonb;
BEGIN
	CALL naboom.run_retention(dry, as_of, id, r);
	RETURN QUERY SELECT concat_ws(' | ', e->>'class', e->>'target', e->>'action',
		CASE WHEN e->>'class' = 'audit_log' THEN ((e->>'rows')::bigint > 0)::text ELSE e->>'rows' END,
		'held ' || (e->>'held'))
	FROM jsonb_array_elements(r) e
	WHERE (e->>'rows')::bigint > 0 OR (e->>'held')::bigint > 0;
END
$$;
-- Every table of naboom (partitions included, named by their parent) with
-- a row whose text contains one of the needles.
CREATE FUNCTION t.find_person(needles text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	rel regclass;
	label text;
	n bigint;
BEGIN
	FOR rel, label IN
		SELECT c.oid::regclass, coalesce((SELECT h.inhparent::regclass::text FROM pg_inherits h WHERE h.inhrelid = c.oid),
			c.oid::regclass::text)
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = 'naboom' AND c.relkind = 'r' ORDER BY 2, 1
	LOOP
		EXECUTE format('SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM unnest($1) k WHERE strpos(x::text, k) > 0)', rel)
			INTO n USING needles;
		IF n > 0 THEN
			RETURN NEXT format('%s: %s rows', label, n);
		END IF;
	END LOOP;
END
$$;
-- A fingerprint of the domain tables and the audit log, to show that a dry
-- run changes nothing.
CREATE FUNCTION t.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(i::text, ',' ORDER BY incident_id) FROM naboom.incident i),
		(SELECT string_agg(m::text, ',' ORDER BY community_id, user_ref) FROM naboom.member m),
		(SELECT string_agg(x::text, ',' ORDER BY community_id, incident_id, seq) FROM naboom.incident_timeline x),
		(SELECT string_agg(d::text, ',' ORDER BY seq) FROM naboom.deleted_note d),
		(SELECT count(*) || '/' || count(personal_digest) FROM naboom.audit_log),
		(SELECT count(*) FROM naboom.audit_seal),
		(SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
			WHERE h.inhparent = 'naboom.audit_log'::regclass)))
$$;

------------------------------------------------------------------------------
-- A town, and Ben, whose whole life in it happens first
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT slug FROM naboom_api.create_community('ret', 'Retention town',
	'{"type":"Polygon","coordinates":[[[28.6,-24.6],[28.8,-24.6],[28.8,-24.4],[28.6,-24.4],[28.6,-24.6]]]}',
	admin_ref => 'r-admin', admin_name => 'Rita Admin');
SELECT t.as_user('r-admin');
SELECT code FROM naboom_api.upsert_category('ret', 'burglary', 'Burglary', 'Inbraak', 'high');
SELECT code FROM naboom_api.upsert_category('ret', 'abuse', 'Domestic abuse', 'Huishoudelike geweld', 'high',
	is_sensitive => true);
SELECT t.as_user('r-ben');
SELECT role FROM naboom_api.join_community('ret', 'Ben Inactive', '+27 82 555 0201');
SELECT reference AS ben_ref FROM naboom_api.report_incident('ret', 'burglary', -24.51234, 28.71234,
	'Ben''s shed was opened', address => '3 Ben Street') \gset
SELECT greatest(m.last_active_at, (SELECT max(i.created_at) FROM naboom.incident i WHERE i.reporter_ref = 'r-ben'),
	(SELECT max(x.at) FROM naboom.incident_timeline x WHERE x.actor_ref = 'r-ben')) AS ben_last
FROM naboom.member m WHERE m.user_ref = 'r-ben' \gset
SELECT pg_sleep(0.01);

-- Everyone else acts after Ben; the admin too (as the daily activity touch
-- would record after a day of her work).
SELECT t.as_service();
UPDATE naboom.member SET last_active_at = clock_timestamp() WHERE user_ref = 'r-admin';
SELECT t.as_user('r-mod');
SELECT role FROM naboom_api.join_community('ret', 'Moses Moderator');
SELECT t.as_user('r-admin');
SELECT role FROM naboom_api.set_member_role('ret', 'r-mod', 'moderator');
SELECT t.as_user('r-ann');
SELECT role FROM naboom_api.join_community('ret', 'Anna Erasmus', '+27 82 555 0199', 'af');
SELECT t.as_user('r-cas');
SELECT role FROM naboom_api.join_community('ret', 'Cas Held', '+27 82 555 0177');
SELECT t.as_user('r-admin');
SELECT role FROM naboom_api.set_member_role('ret', 'r-ann', 'responder');

-- Ben's report is rejected (closed); a moderator's note on it is deleted.
SELECT t.as_user('r-mod');
SELECT status FROM naboom_api.transition_incident(:'ben_ref', 'rejected', 'Nothing missing');
SELECT seq AS mod_note FROM naboom_api.add_note(:'ben_ref', 'Spoke to the neighbour, Mr Smit') \gset
SELECT kind, note IS NULL FROM naboom_api.delete_note(:'ben_ref', :mod_note);
SELECT requested_at AS note_deleted_at FROM naboom.deleted_note \gset
-- The note has left the timeline; its text is out of reach.
SELECT x.seq, x.kind, x.note FROM naboom_api.get_incident(:'ben_ref') i, jsonb_to_recordset(i.timeline) AS x(seq int, kind text, note text)
ORDER BY x.seq;
SELECT t.err($$SELECT naboom_api.delete_note('$$ || :'ben_ref' || $$', $$ || :mod_note || $$)$$);
SELECT t.as_user('r-ann');
SELECT t.err($$SELECT naboom_api.delete_note('$$ || :'ben_ref' || $$', 1)$$);

------------------------------------------------------------------------------
-- Anna: a responder with every kind of personal data
------------------------------------------------------------------------------
SELECT t.as_user('r-ann');
SELECT on_duty FROM naboom_api.update_position(-24.5201, 28.7101, true, 15);
SELECT radius_m FROM naboom_api.subscribe('ret', -24.5200, 28.7100, 2000, label => 'Home');
SELECT reference AS ann_ref FROM naboom_api.report_incident('ret', 'abuse', -24.52013, 28.71017,
	'Shouting next door at number 12', address => '12 Erasmus Lane, the house with the red gate') \gset
SELECT reference AS ann_panic FROM naboom_api.raise_panic('ret', -24.52011, 28.71011) \gset
SELECT seq AS ann_note FROM naboom_api.add_note(:'ann_ref', 'Anna here, call me on +27 82 555 0199') \gset
SELECT seq AS ann_note2 FROM naboom_api.add_note(:'ann_ref', 'Written by mistake') \gset
SELECT kind FROM naboom_api.delete_note(:'ann_ref', :ann_note2);
-- Someone else's report near her alert area alerts her; she is assigned to it.
SELECT t.as_user('r-cas');
SELECT reference AS cas_ref FROM naboom_api.report_incident('ret', 'burglary', -24.5210, 28.7110,
	'Cas''s car broken into') \gset
SELECT t.as_user('r-mod');
SELECT status FROM naboom_api.transition_incident(:'cas_ref', 'verified');
SELECT assignee_name FROM naboom_api.assign_incident(:'cas_ref', 'r-ann');
SELECT t.as_user('r-ann');
SELECT acknowledged_by_name FROM naboom_api.acknowledge_incident(:'cas_ref');
-- Her note on Cas's incident, deleted by the moderator: its audit rows hold
-- her words but not her name.
SELECT seq AS ann_cas_note FROM naboom_api.add_note(:'cas_ref', 'On site, the gate code is 4455') \gset
SELECT t.as_user('r-mod');
SELECT kind FROM naboom_api.delete_note(:'cas_ref', :ann_cas_note);

------------------------------------------------------------------------------
-- Policies: defaults, a community's own periods within the DBA's bounds
------------------------------------------------------------------------------
SELECT t.as_user('r-ann');
SELECT data_class, keep, then_action, source, min_keep, max_keep FROM naboom_api.retention_policies('ret');
SELECT t.err($$SELECT naboom_api.set_retention('ret', 'deleted_note', '3 years')$$);
SELECT t.as_user('r-admin');
SELECT t.err($$SELECT naboom_api.set_retention('ret', 'tweets', '3 years')$$);
SELECT t.err($$SELECT naboom_api.set_retention('ret', 'audit_log', '2 years')$$);
SELECT t.err($$SELECT naboom_api.set_retention('ret', 'personal_data', '8 years')$$);
SELECT t.err($$SELECT naboom_api.set_retention('ret', 'emergency_record', '1 year')$$);
SELECT data_class, keep, source FROM naboom_api.set_retention('ret', 'deleted_note', '3 years');
-- The change is audited.
SELECT action, table_name, new_values->>'keep' FROM naboom.audit_log
WHERE table_name = 'naboom.community_retention' ORDER BY id;
SELECT data_class, keep, source FROM naboom_api.set_retention('ret', 'deleted_note', NULL);
-- The DBA narrowing the bounds clamps a community's own period.
SELECT data_class, keep, source FROM naboom_api.set_retention('ret', 'personal_data', '2 years');
SELECT t.as_service();
UPDATE naboom.retention_policy SET min_keep = '3 years' WHERE data_class = 'personal_data';
SELECT keep, source FROM naboom.retention_effective e JOIN naboom.community c USING (community_id)
WHERE c.slug = 'ret' AND e.data_class = 'personal_data';
UPDATE naboom.retention_policy SET min_keep = '1 year' WHERE data_class = 'personal_data';
DELETE FROM naboom.community_retention;

-- Activity: a member's first call of a day records it (at most one write a
-- day), so an active moderator never looks inactive.
UPDATE naboom.member SET last_active_at = now() - interval '2 days' WHERE user_ref = 'r-mod';
SELECT t.as_user('r-mod');
SELECT count(*) FROM naboom_api.retention_policies('ret');
SELECT t.as_service();
SELECT last_active_at > now() - interval '1 minute' FROM naboom.member WHERE user_ref = 'r-mod';

------------------------------------------------------------------------------
-- Legal hold: admins only, with a reason, audited
------------------------------------------------------------------------------
SELECT t.as_user('r-mod');
SELECT t.err($$SELECT naboom_api.place_legal_hold('$$ || :'cas_ref' || $$', 'Case 12/2026')$$);
SELECT t.as_user('r-admin');
SELECT t.err($$SELECT naboom_api.place_legal_hold('$$ || :'cas_ref' || $$', 'x')$$);
SELECT t.err($$SELECT naboom_api.lift_legal_hold('$$ || :'cas_ref' || $$', 'Case closed')$$);
SELECT legal_hold, reason FROM naboom_api.place_legal_hold(:'cas_ref', 'SAPS case 12/2026');
SELECT t.err($$SELECT naboom_api.place_legal_hold('$$ || :'cas_ref' || $$', 'Again')$$);
SELECT t.as_user('r-mod');
SELECT status FROM naboom_api.transition_incident(:'cas_ref', 'resolved', 'Insurance matter');
SELECT t.as_service();
SELECT status FROM naboom_api.transition_incident(:'cas_ref', 'closed');
SELECT t.as_service();
SELECT action, table_name, actor, coalesce(new_values->>'reason', new_values->>'legal_hold') FROM naboom.audit_log
WHERE (table_name = 'naboom.legal_hold') OR (table_name = 'naboom.incident' AND new_values ? 'legal_hold')
ORDER BY id;

------------------------------------------------------------------------------
-- Export: everything about Anna, every kind of row
------------------------------------------------------------------------------
SELECT t.as_user('r-ann');
SELECT k, jsonb_typeof(v), CASE WHEN jsonb_typeof(v) = 'array' THEN jsonb_array_length(v) > 0 END
FROM jsonb_each((naboom_api.export_my_data()).data) AS e(k, v) ORDER BY k;
SELECT user_ref, exported_at = now() FROM naboom_api.export_my_data();
SELECT x->>'title', x->>'address' FROM jsonb_array_elements((naboom_api.export_my_data()).data->'reports') x ORDER BY 1;
SELECT x->>'note' FROM jsonb_array_elements((naboom_api.export_my_data()).data->'deleted_notes') x;
SELECT t.as_service();
-- The export is itself audited.
SELECT naboom.audit_queue_wait(10000);
SELECT action, actor, detail->>'function', detail->'args'->>'count' FROM naboom.audit_log WHERE detail->>'function' = 'export_my_data' ORDER BY id LIMIT 1;
SELECT t.err($$SELECT naboom_api.export_my_data()$$);

------------------------------------------------------------------------------
-- Erasure: Anna, at once.  Cas's incident, which names her as its
-- responder, is under legal hold: it keeps her until the hold is lifted.
------------------------------------------------------------------------------
SELECT t.as_user('r-ann');
-- (The count of audit rows depends on the refused attempts the writer
-- logged; it is shown as whether there were any.)
SELECT jsonb_pretty(jsonb_build_object('erased', jsonb_set(e.erased, '{audit_entries_anonymised}',
	to_jsonb((e.erased->>'audit_entries_anonymised')::int > 0)), 'kept', e.kept)), e.erased_at = now()
FROM naboom_api.erase_my_data() e;
SELECT t.as_service();
-- Her name, phone and words are gone everywhere; her user_ref stays only
-- where the held incident needs it.
SELECT t.find_person(ARRAY['Anna Erasmus', '555 0199', 'Erasmus Lane', 'next door', 'Anna here', 'by mistake']);
SELECT t.find_person(ARRAY['r-ann']);
-- The held incident keeps its audit trail whole too (her words in it).
SELECT t.find_person(ARRAY['gate code is 4455']);
SELECT display_name, phone, role FROM naboom.member WHERE user_ref = 'r-ann';
-- Her reports are anonymised emergency records; the places are coarse
-- (about 1 km: a panic, and a sensitive category).
SELECT kind, reporter_ref, title, description, address, round(ST_X(location)::numeric, 4), round(ST_Y(location)::numeric, 4),
	anonymised_at IS NOT NULL FROM naboom.incident WHERE reference IN (:'ann_ref', :'ann_panic') ORDER BY kind;
SELECT x.seq, x.kind, x.from_status, x.to_status, x.note
FROM naboom_api.get_incident(:'ann_ref') i, jsonb_to_recordset(i.timeline) AS x(seq int, kind text, from_status text, to_status text, note text)
ORDER BY x.seq;

-- The hold is lifted; erasing again finishes the job.
SELECT t.as_user('r-admin');
SELECT legal_hold, lift_reason FROM naboom_api.lift_legal_hold(:'cas_ref', 'Statement taken');
SELECT t.as_user('r-ann');
SELECT x->>'what', x->>'count' FROM naboom_api.erase_my_data() e, jsonb_array_elements(e.kept) x;
SELECT t.as_service();
SELECT t.find_person(ARRAY['r-ann', 'Anna Erasmus', '555 0199', 'Erasmus Lane', 'next door', 'Anna here', 'by mistake',
	'gate code is 4455']);
SELECT assignee, acknowledged_by_name FROM naboom_api.get_incident(:'cas_ref');
-- The audit keeps that each erasure happened, without naming her, and
-- still verifies.
SELECT action, actor, detail->>'what', detail->'count'->>'memberships' FROM naboom.audit_log
WHERE action = 'ERASED' AND detail->>'what' = 'erase_my_data' ORDER BY id;
SELECT row_count > 0 FROM naboom.seal_audit();
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');
-- Asking again finds nothing more.
SELECT t.as_user('r-ann');
SELECT e.erased->>'reports_anonymised', e.erased->>'memberships', e.erased->>'audit_entries_anonymised'
FROM naboom_api.erase_my_data() e;
-- The hold goes back on Cas's incident, for the runs below.
SELECT t.as_user('r-admin');
SELECT legal_hold FROM naboom_api.place_legal_hold(:'cas_ref', 'SAPS case 12/2026, reopened');
SELECT t.as_service();

------------------------------------------------------------------------------
-- The audit log: rows are anonymised exactly six months after logging, and
-- the sealed log still verifies
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT row_count > 0 FROM naboom.seal_audit();
SELECT id AS ben_row, logged_at AS ben_logged FROM naboom.audit_log
WHERE table_name = 'naboom.incident' AND action = 'INSERT' AND actor = 'r-ben' \gset
SELECT count(*) > 0 FROM naboom.audit_log WHERE logged_at > :'ben_logged' AND personal_digest IS NULL;
SELECT t.due(false, :'ben_logged'::timestamptz + interval '6 months' - interval '1 microsecond');
SELECT personal_digest IS NULL, actor FROM naboom.audit_log WHERE id = :ben_row;
SELECT t.due(false, :'ben_logged'::timestamptz + interval '6 months');
SELECT personal_digest IS NOT NULL, actor, new_values->>'title', new_values->>'status', new_values->>'category_code'
FROM naboom.audit_log WHERE id = :ben_row;
-- That run anonymised exactly the row logged at the boundary.
SELECT rows FROM naboom.retention_report() WHERE target = 'naboom.audit_log';
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');

------------------------------------------------------------------------------
-- Dry runs count and change nothing
------------------------------------------------------------------------------
SELECT t.fingerprint() AS fp \gset
SELECT t.due(true, now() + interval '30 years');
SELECT t.fingerprint() = :'fp';
SELECT dry_run, outcome FROM naboom.retention_run ORDER BY run_id DESC LIMIT 1;
SELECT t.err($$CALL naboom.run_retention(true, 'infinity')$$);

------------------------------------------------------------------------------
-- Each class at its boundary, not a microsecond before
------------------------------------------------------------------------------
-- Deleted notes: five years after the request.
SELECT t.due(true, :'note_deleted_at'::timestamptz + interval '5 years' - interval '1 microsecond');
SELECT t.due(true, :'note_deleted_at'::timestamptz + interval '5 years');
-- Personal data: seven years after Ben's last activity.
SELECT t.due(true, :'ben_last'::timestamptz + interval '7 years' - interval '1 microsecond');
SELECT t.due(true, :'ben_last'::timestamptz + interval '7 years');
-- Emergency records: ten years after closing; Cas's incident is held.
SELECT closed_at AS ben_closed FROM naboom.incident WHERE reference = :'ben_ref' \gset
SELECT closed_at AS cas_closed FROM naboom.incident WHERE reference = :'cas_ref' \gset
SELECT t.due(true, :'ben_closed'::timestamptz + interval '10 years' - interval '1 microsecond');
SELECT t.due(true, :'ben_closed'::timestamptz + interval '10 years');
SELECT t.due(true, :'cas_closed'::timestamptz + interval '10 years');
-- A community's own period moves the boundary.
SELECT t.as_user('r-admin');
SELECT keep FROM naboom_api.set_retention('ret', 'emergency_record', '5 years');
SELECT t.due(true, :'ben_closed'::timestamptz + interval '5 years');
SELECT keep FROM naboom_api.set_retention('ret', 'emergency_record', NULL);
SELECT t.as_service();

------------------------------------------------------------------------------
-- Real runs, in the order time would bring them (each CALL commits per batch)
------------------------------------------------------------------------------
-- Five years: the deleted note goes; every audit month has passed its year.
CALL naboom.run_retention(false, :'note_deleted_at'::timestamptz + interval '5 years', NULL, NULL) \gset run_
SELECT x->>'class', x->>'target', x->>'action', CASE WHEN x->>'class' = 'audit_log' THEN ((x->>'rows')::int > 0)::text ELSE x->>'rows' END
FROM jsonb_array_elements(:'run_results'::jsonb) x WHERE (x->>'rows')::int > 0 ORDER BY 1, 2;
SELECT data_class, target, action FROM naboom.retention_report(:run_run_id) WHERE rows > 0 ORDER BY step;
SELECT count(*) FROM naboom.deleted_note WHERE incident_id = (SELECT incident_id FROM naboom.incident WHERE reference = :'ben_ref');
SELECT count(*) FROM pg_inherits WHERE inhparent = 'naboom.audit_log'::regclass AND inhrelid::regclass::text <> 'naboom.audit_log_default';
SELECT count(*), sum(rows) > 0, sum(seals_retired) > 0 FROM naboom.audit_expiry;
SELECT action, detail->>'class', detail ? 'partition' FROM naboom.audit_log WHERE action = 'ERASED' ORDER BY id;
-- The log is still verified: the retired seals anchor the next one.
SELECT row_count > 0 FROM naboom.seal_audit();
SELECT problem FROM naboom.verify_audit(now() - interval '1 hour', now() + interval '1 hour');
SELECT prev_hash = (SELECT anchor_hash FROM naboom.audit_expiry ORDER BY anchor_seal_id DESC NULLS LAST LIMIT 1)
FROM naboom.audit_seal ORDER BY seal_id LIMIT 1;

-- Seven years: Ben is anonymised; his rejected report keeps what the
-- community needs.
CALL naboom.run_retention(false, :'ben_last'::timestamptz + interval '7 years') \gset r_
SELECT count(*) FROM naboom.member WHERE user_ref = 'r-ben';
SELECT reporter_ref, title, description, address, round(ST_X(location)::numeric, 4), round(ST_Y(location)::numeric, 4),
	category_code, status, area_id IS NOT DISTINCT FROM area_id, anonymised_at IS NOT NULL, closed_at IS NOT NULL
FROM naboom.incident WHERE reference = :'ben_ref';
SELECT seq, entry_kind, actor_ref, from_status, to_status FROM naboom.incident_timeline
WHERE incident_id = (SELECT incident_id FROM naboom.incident WHERE reference = :'ben_ref') ORDER BY seq;
SELECT t.find_person(ARRAY['r-ben', 'Ben Inactive', '555 0201', 'Ben''s shed', 'Ben Street']);

-- Ten years: Ben's record is deleted; Cas's is held until the hold is lifted.
CALL naboom.run_retention(false, :'ben_closed'::timestamptz + interval '10 years') \gset r_
SELECT reference = :'ben_ref' AS ben, legal_hold FROM naboom.incident ORDER BY incident_id;
SELECT data_class, target, rows, held FROM naboom.retention_report() WHERE data_class = 'emergency_record' ORDER BY step;
-- Ten years on, Rita's own membership has expired: the naboom service (the
-- integration the police liaison uses) lifts the hold.
SELECT count(*) FROM naboom.member WHERE user_ref = 'r-admin';
SELECT legal_hold, lift_reason FROM naboom_api.lift_legal_hold(:'cas_ref', 'Case withdrawn');
CALL naboom.run_retention(false, :'cas_closed'::timestamptz + interval '10 years') \gset r_
SELECT count(*) FROM naboom.incident WHERE reference = :'cas_ref';
SELECT count(*) FROM naboom.legal_hold;
-- Cas herself, whose report kept her membership while it was held, is
-- anonymised by the same run.
SELECT t.find_person(ARRAY['r-cas', 'Cas Held', '555 0177']);

------------------------------------------------------------------------------
-- The retention job, run by pg_cron for real
------------------------------------------------------------------------------
CREATE EXTENSION pg_cron;
SELECT count(*) FROM naboom.schedule_jobs() WHERE job = 'naboom-retention';
SELECT schedule, command FROM cron.job WHERE jobname = 'naboom-retention';
SELECT max(run_id) AS before_cron FROM naboom.retention_run \gset
-- The daily job's command, every minute, until it has run once.
SELECT cron.schedule('naboom-retention-now', '* * * * *',
	(SELECT command FROM cron.job WHERE jobname = 'naboom-retention')) > 0;
DO $$
BEGIN
	FOR i IN 1..1500 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
			WHERE j.jobname = 'naboom-retention-now' AND d.status IN ('succeeded', 'failed'));
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'naboom-retention-now' ORDER BY d.runid LIMIT 1;
SELECT cron.unschedule(jobname) FROM cron.job WHERE jobname LIKE 'naboom-%' ORDER BY jobname;
SELECT dry_run, outcome FROM naboom.retention_run WHERE run_id > :before_cron ORDER BY run_id LIMIT 1;
DROP EXTENSION pg_cron;
