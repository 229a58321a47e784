-- The audit log (0.3.0): every change to a domain table, reads of
-- emergency data, refused attempts, append-only refusals, protected
-- triggers, partitions, seals and verify_audit, the API's audit trail.
\pset format unaligned
\pset tuples_only on
\i test/include/responders.psql

-- Entries after a mark, with the columns that do not vary between runs:
-- times (keys ending in _at) and references are masked.
CREATE FUNCTION t.clean(j jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT t.mask(coalesce(CASE jsonb_typeof(j)
		WHEN 'object' THEN (SELECT jsonb_object_agg(k, CASE WHEN k ~ '(^|_)at$|^attempt_xid$' THEN '"…"'::jsonb ELSE v END)
			FROM jsonb_each(j) e(k, v))::text
		WHEN 'array' THEN '[' || (SELECT string_agg(t.clean(e), ', ' ORDER BY n) FROM jsonb_array_elements(j) WITH ORDINALITY a(e, n)) || ']'
		ELSE j::text END, '-'))
$$;
CREATE FUNCTION t.audit_after(mark bigint) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT concat_ws(' | ', a.action, a.table_name, a.row_key::text, t.clean(a.old_values), t.clean(a.new_values),
		a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id, a.success, t.clean(a.detail),
		(SELECT c.slug FROM naboom.community c WHERE c.community_id = a.community_id),
		a.incident_id IS NOT NULL)
	FROM naboom.audit_log a WHERE a.id > mark ORDER BY a.id
$$;
CREATE FUNCTION t.mark() RETURNS bigint LANGUAGE sql AS $$
	SELECT coalesce(max(id), 0) FROM naboom.audit_log
$$;
CREATE TABLE t.marks (name text PRIMARY KEY, id bigint);
CREATE FUNCTION t.set_mark(name text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO t.marks VALUES (name, t.mark()) ON CONFLICT (name) DO UPDATE SET id = excluded.id
$$;
-- Reads and refusals are written by the audit writer: wait for it first.
CREATE FUNCTION t.since(name text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT naboom.audit_queue_wait(20000) THEN
		RAISE EXCEPTION 'the audit writer did not catch up';
	END IF;
	RETURN QUERY SELECT t.audit_after((SELECT id FROM t.marks m WHERE m.name = since.name));
END
$$;

-- The audit writer starts a few seconds after the database is created:
-- let it write the refusals and reads of the earlier files first.
SELECT naboom.audit_queue_wait(30000);

------------------------------------------------------------------------------
-- Every domain table is audited, the trigger fires ALWAYS
------------------------------------------------------------------------------
SELECT string_agg(t::text, ', ') FROM naboom.audited_tables() t;
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit\_%' AND tgenabled <> 'A';
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'naboom.alert'::regclass AND tgname LIKE 'audit\_%' ORDER BY 1;
-- The log is partitioned by month, this month and three ahead exist.
SELECT count(*) >= 4 FROM pg_inherits WHERE inhparent = 'naboom.audit_log'::regclass;
SELECT count(*) FROM pg_partition_tree('naboom.audit_log')
WHERE relid::text = 'naboom.audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM');

------------------------------------------------------------------------------
-- A report through the gateway: the actor from the claims, the request
-- context from request.headers (behind two trusted proxies, an edge proxy
-- and a load balancer: the x-forwarded-for address the edge saw, second
-- from the right; sql/13_gateway.sql has the rule)
------------------------------------------------------------------------------
SET naboom.trusted_proxies = 2;
SELECT t.set_mark('report');
SELECT t.as_user('u-res1');
SELECT set_config('request.headers',
	'{"x-forwarded-for": "196.25.1.9, 10.0.0.2", "user-agent": "NaboomApp/2.1 (Android 14)", "x-request-id": "req-0001"}', false);
SELECT t.mask(reference) AS ref FROM naboom_api.report_incident('mookgophong', 'burglary', -24.521, 28.711,
	'Back door forced (audit)', accuracy_m => 8, is_public => false) \gset
SELECT t.since('report');
-- The INSERT carries the whole new row, location as GeoJSON.
SELECT a.new_values->'location'->>'type', a.new_values->>'reporter_ref', a.new_values->>'description'
FROM naboom.audit_log a WHERE a.id > (SELECT id FROM t.marks WHERE name = 'report') AND a.table_name = 'naboom.incident';
SELECT reference AS burglary FROM naboom.incident WHERE description = 'Back door forced (audit)' ORDER BY incident_id DESC LIMIT 1 \gset

-- A transition: only the changed columns, old and new.
SELECT t.set_mark('verify');
SELECT t.as_user('u-mod');
SELECT set_config('request.headers', '{"x-forwarded-for": "41.13.7.7", "x-request-id": "req-0002"}', false);
SELECT status FROM naboom_api.transition_incident(:'burglary', 'verified', 'Checked with the neighbour');
SELECT t.since('verify');

-- A read of an incident through the API is an access entry, written by the
-- audit writer: it stays even if the reading transaction rolls back.
SELECT t.set_mark('read');
BEGIN;
SELECT status FROM naboom_api.get_incident(:'burglary');
ROLLBACK;
SELECT t.since('read');

-- In a READ ONLY transaction (how PostgREST runs a GET of a STABLE
-- function) nothing can be written, and the read is recorded all the same.
SELECT t.set_mark('readonly');
BEGIN READ ONLY;
SELECT status FROM naboom_api.get_incident(:'burglary');
COMMIT;
SELECT t.since('readonly');

-- No request headers: the client address is the connection's (none over a
-- Unix socket), user agent and request id are empty.
SELECT set_config('request.headers', '', false);
SELECT t.set_mark('plain');
SELECT status FROM naboom_api.get_incident(:'burglary');
SELECT t.since('plain');

-- Not JSON in request.headers: context is left out, the request goes on.
SELECT set_config('request.headers', 'not json', false);
SELECT t.set_mark('badheaders');
SELECT status FROM naboom_api.get_incident(:'burglary');
SELECT t.since('badheaders');
SELECT set_config('request.headers', '', false);

-- Without claims the actor is the session role (here a superuser acting as
-- the service); a DELETE carries the whole old row.
SELECT t.as_service();
SELECT t.set_mark('service');
SELECT code FROM naboom_api.upsert_category('mookgophong', 'lost_pet', 'Lost pet', 'Verlore troeteldier', 'low');
DELETE FROM naboom.category WHERE community_id = (SELECT community_id FROM naboom.community WHERE slug = 'mookgophong')
	AND code = 'lost_pet';
SELECT t.since('service');
SELECT (SELECT count(*) FROM naboom.audit_log a WHERE a.id > (SELECT id FROM t.marks WHERE name = 'service')
	AND a.actor = session_user AND a.db_role = current_user) = 2;

-- An UPDATE that changes nothing writes nothing.
SELECT t.set_mark('noop');
UPDATE naboom.community SET name = name WHERE slug = 'mookgophong';
SELECT count(*) FROM t.since('noop');

------------------------------------------------------------------------------
-- Reads of private incidents by incidents_near, and nearest_responders
------------------------------------------------------------------------------
SELECT t.as_user('u-resp1');
SELECT t.set_mark('near');
SELECT count(*) > 0 FROM naboom_api.incidents_near(-24.521, 28.711, 200) n WHERE n.reference = :'burglary';
SELECT count(*) FROM naboom_api.nearest_responders(:'burglary');
SELECT t.since('near');
-- A public incident found by incidents_near is not an access entry.
SELECT t.as_user('u-res2');
SELECT t.set_mark('public');
SELECT count(*) >= 0 FROM naboom_api.incidents_near(-24.52, 28.71, 5000, category => 'pothole');
SELECT count(*) FROM t.since('public');

------------------------------------------------------------------------------
-- Refused attempts are audited although their transaction rolled back: the
-- audit writer (naboom is preloaded) commits them in its own transaction.
------------------------------------------------------------------------------
SELECT preloaded FROM naboom.audit_queue_stats();
SELECT t.set_mark('denied');
-- A resident of the community tries to close a private incident that is not
-- theirs: to them it does not exist (naboom.unknown_reference).
SELECT t.as_user('u-res2');
SELECT set_config('request.headers', '{"x-forwarded-for": "102.1.1.1", "x-request-id": "req-evil"}', false);
SELECT t.err(format($$SELECT naboom_api.transition_incident(%L, 'closed', 'I close it')$$, :'burglary'));
-- An illegal move by a moderator (C: naboom.invalid_transition).
SELECT t.as_user('u-mod');
SELECT set_config('request.headers', '', false);
SELECT t.err(format($$SELECT naboom_api.transition_incident(%L, 'on_scene')$$, :'burglary'));
-- Another community's member looks for the private incident (SQL:
-- naboom.unknown_reference).
SELECT t.as_user('u-other');
SELECT t.err(format($$SELECT naboom_api.get_incident(%L)$$, :'burglary'));
-- No identity at all (naboom.missing_identity, 28000) as a plain role.
RESET ROLE;
SELECT t.as_service();
SET ROLE naboom_user;
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'fire', -24.52, 28.71, 'x')$$);
RESET ROLE;
-- A refusal that does not matter (bad input) is not audited.
SELECT t.as_user('u-res1');
SELECT t.err($$SELECT naboom_api.report_incident('mookgophong', 'fire', 'NaN', 28.71, 'x')$$);
SELECT naboom.audit_queue_wait(10000);
SELECT t.since('denied');
SELECT dropped_full, dropped_other_db FROM naboom.audit_queue_stats();

------------------------------------------------------------------------------
-- The log is append-only: UPDATE, DELETE and TRUNCATE are refused for
-- everyone, the owner and superusers included; so is switching the audit
-- triggers off.  Other triggers may be disabled; that is recorded.
------------------------------------------------------------------------------
SELECT t.as_service();
SELECT t.set_mark('append');
SELECT t.err($$UPDATE naboom.audit_log SET actor = 'nobody' WHERE id = (SELECT max(id) FROM naboom.audit_log)$$);
SELECT t.err($$DELETE FROM naboom.audit_log WHERE id = (SELECT max(id) FROM naboom.audit_log)$$);
SELECT t.err($$TRUNCATE naboom.audit_log$$);
SELECT t.err($$TRUNCATE naboom.audit_log_default$$);
SELECT t.err(format('TRUNCATE naboom.%I', 'audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')));
SELECT t.err($$ALTER TABLE naboom.incident DISABLE TRIGGER audit_changes$$);
SELECT t.err($$ALTER TABLE naboom.incident DISABLE TRIGGER ALL$$);
SELECT t.err($$ALTER TABLE naboom.incident DISABLE TRIGGER USER$$);
SELECT t.err($$ALTER TABLE naboom.incident ENABLE REPLICA TRIGGER audit_changes$$);
SELECT t.err($$ALTER TABLE naboom.audit_log DISABLE TRIGGER audit_append_only$$);
SELECT t.err($$DROP TRIGGER audit_changes ON naboom.member$$);
SELECT t.err($$DROP TRIGGER audit_append_only ON naboom.audit_log$$);
-- (The refusals reach the log through the writer: let it finish first.)
SELECT naboom.audit_queue_wait(10000);
ALTER TABLE naboom.incident DISABLE TRIGGER incident_reach;
ALTER TABLE naboom.incident ENABLE TRIGGER incident_reach;
-- Under session_replication_role = replica the audit trigger still fires.
SET session_replication_role = replica;
UPDATE naboom.member SET display_name = 'Resident One (replica)' WHERE user_ref = 'u-res1';
RESET session_replication_role;
SELECT naboom.audit_queue_wait(10000);
SELECT t.since('append');
-- Nothing was changed.
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit\_%' AND tgenabled <> 'A';

------------------------------------------------------------------------------
-- Auditing a new table is one call
------------------------------------------------------------------------------
CREATE TABLE public.farm_watch (community_id bigint, farm text PRIMARY KEY, patrols integer);
SELECT naboom.audit_table('public.farm_watch');
SELECT naboom.audit_table('public.farm_watch');	-- idempotent
SELECT t.err($$SELECT naboom.audit_table('naboom.audit_log_id_seq')$$);
SELECT t.set_mark('farm');
INSERT INTO public.farm_watch VALUES (1, 'Rietfontein', 2);
UPDATE public.farm_watch SET patrols = 3;
SELECT t.since('farm');
DROP TABLE public.farm_watch;

------------------------------------------------------------------------------
-- Seals and verification
------------------------------------------------------------------------------
-- A seal takes the rows of the transactions below the oldest one still
-- running (pg_snapshot_xmin).  Before each seal and count here, wait until
-- the audit writer has written the queued reads and every transaction that
-- began before now has ended (the background writer's, pg_cron's):
-- otherwise one of them, still open, leaves this file's last rows for the
-- next seal, and the counts below differ from run to run.
CREATE FUNCTION t.settle() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	target xid8;
BEGIN
	IF NOT naboom.audit_queue_wait(10000) THEN
		RETURN false;
	END IF;
	target := pg_snapshot_xmax(pg_current_snapshot());
	FOR i IN 1..1000 LOOP
		IF pg_snapshot_xmin(pg_current_snapshot()) >= target THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN false;
END
$$;
SELECT t.settle();
SELECT row_count > 0, xid_from = '0'::xid8, prev_hash = '\x'::bytea FROM naboom.seal_audit();
-- Nothing new: no seal.
SELECT naboom.seal_audit() IS NULL;
SELECT t.as_user('u-res1');
SELECT status FROM naboom_api.get_incident(:'burglary');
SELECT t.as_service();
-- A row written since the last seal is reported as not sealed yet.
SELECT t.settle();
SELECT problem, regexp_replace(detail, '^[0-9]+ sealed', 'N sealed') FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day');
SELECT t.settle();
SELECT s.row_count, s.prev_hash = p.seal_hash FROM naboom.seal_audit() s, naboom.audit_seal p WHERE p.seal_id = s.seal_id - 1;
SELECT problem, regexp_replace(detail, '^[0-9]+ sealed', 'N sealed') FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day');
SELECT t.err($$SELECT * FROM naboom.verify_audit('2026-02-01', '2026-01-01')$$);
SELECT t.err($$SELECT naboom.seal_audit(0)$$);
-- Seals are append-only too.
SELECT t.err($$DELETE FROM naboom.audit_seal$$);
SELECT t.err($$UPDATE naboom.audit_seal SET row_count = 0$$);
SELECT t.err($$TRUNCATE naboom.audit_seal$$);

-- What the guard lets anyone set on a row, once, for a distributed naboom
-- (README "Citus"): its position in its community's log, and community 0
-- for a row without a community, which hashes as none (sealed rows still
-- verify).  Nothing else, and neither twice.  (In a transaction that rolls
-- back: a single node has no positions.)
BEGIN;
SELECT id AS bare_id, naboom.audit_row_hash(a) AS bare_hash FROM naboom.audit_log a
WHERE community_id IS NULL AND action = 'DDL' ORDER BY id LIMIT 1 \gset
UPDATE naboom.audit_log SET seq = 7 WHERE id = :bare_id;
UPDATE naboom.audit_log SET community_id = 0 WHERE id = :bare_id;
SELECT seq, community_id, naboom.audit_row_hash(a) = :'bare_hash' AS same_hash FROM naboom.audit_log a WHERE id = :bare_id;
SELECT t.err(format($$UPDATE naboom.audit_log SET seq = 8 WHERE id = %s$$, :bare_id));
SELECT t.err(format($$UPDATE naboom.audit_log SET seq = NULL WHERE id = %s$$, :bare_id));
SELECT t.err(format($$UPDATE naboom.audit_log SET community_id = NULL WHERE id = %s$$, :bare_id));
SELECT t.err($$UPDATE naboom.audit_log SET community_id = 1 WHERE community_id IS NULL$$);
SELECT t.err($$UPDATE naboom.audit_log SET seq = 9, actor = 'someone' WHERE seq IS NULL AND actor IS NOT NULL$$);
SELECT t.err($$UPDATE naboom.audit_seal SET community_id = 0, seq_from = 1, seq_to = 2 WHERE community_id IS NULL$$);
SELECT problem FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day');
ROLLBACK;

-- A seal that rolls back (its transaction aborted, or the server crashed
-- while it ran: test/faults.sh) leaves its seal_id unused.  The chain is
-- followed by hash and transaction range, not by id, so the hole is no
-- break (0.5.0 called it chain_broken).
UPDATE naboom.member SET display_name = 'Resident One (before a rolled-back seal)' WHERE user_ref = 'u-res1';
SELECT t.settle();
BEGIN;
SELECT seal_id AS rolled_back_seal FROM naboom.seal_audit() \gset
ROLLBACK;
SELECT count(*) FROM naboom.audit_seal WHERE seal_id = :rolled_back_seal;
UPDATE naboom.member SET display_name = 'Resident One' WHERE user_ref = 'u-res1';
SELECT t.settle();
SELECT s.seal_id > :rolled_back_seal, p.seal_id < :rolled_back_seal, s.prev_hash = p.seal_hash, s.xid_from = p.xid_to
FROM naboom.seal_audit() s,
	LATERAL (SELECT * FROM naboom.audit_seal x WHERE x.seal_id < s.seal_id ORDER BY x.seal_id DESC LIMIT 1) p;
SELECT problem, regexp_replace(detail, '^[0-9]+ sealed', 'N sealed') FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day');
-- A seal removed beside that hole still breaks the chain: the seal after
-- the hole names a hash that no seal before it has.
BEGIN;
SET LOCAL naboom.audit = off;
ALTER TABLE naboom.audit_seal DISABLE TRIGGER audit_append_only;
DELETE FROM naboom.audit_seal WHERE seal_id = (SELECT max(seal_id) FROM naboom.audit_seal WHERE seal_id < :rolled_back_seal);
ALTER TABLE naboom.audit_seal ENABLE ALWAYS TRIGGER audit_append_only;
SELECT problem, seal_id > :rolled_back_seal AS after_the_hole
FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day')
WHERE problem IN ('seal_changed', 'chain_broken', 'broken') ORDER BY 1;
ROLLBACK;

-- Behind its back (a superuser with the guard disabled): a changed row, a
-- removed row, a row inserted into a sealed range, a changed seal.
SELECT id AS changed_id FROM naboom.audit_log WHERE action = 'READ' ORDER BY id LIMIT 1 \gset
SELECT id AS removed_id FROM naboom.audit_log WHERE action = 'DENIED' ORDER BY id LIMIT 1 \gset
SELECT xid AS old_xid FROM naboom.audit_log ORDER BY id LIMIT 1 \gset
SET naboom.audit = off;
ALTER TABLE naboom.audit_log DISABLE TRIGGER audit_append_only;
UPDATE naboom.audit_log SET actor = 'someone-else' WHERE id = :changed_id;
DELETE FROM naboom.audit_log WHERE id = :removed_id;
INSERT INTO naboom.audit_log (xid, action, db_role, detail) VALUES (:'old_xid', 'READ', 'postgres', '{"forged": true}');
SELECT max(id) AS forged_id FROM naboom.audit_log \gset
ALTER TABLE naboom.audit_log ENABLE ALWAYS TRIGGER audit_append_only;
RESET naboom.audit;
SELECT problem, audit_id = :changed_id AS is_changed, audit_id = :removed_id AS is_removed,
	audit_id = :forged_id AS is_forged, seal_id IS NOT NULL
FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day') ORDER BY problem, audit_id;
-- A changed seal is found; a removed seal breaks the chain at the next.
SET naboom.audit = off;
ALTER TABLE naboom.audit_seal DISABLE TRIGGER audit_append_only;
UPDATE naboom.audit_seal SET ids = ids[2:] || ids[1:1] WHERE seal_id = (SELECT min(seal_id) FROM naboom.audit_seal);
ALTER TABLE naboom.audit_seal ENABLE ALWAYS TRIGGER audit_append_only;
RESET naboom.audit;
SELECT min(seal_id) AS first_seal FROM naboom.audit_seal \gset
SELECT problem, seal_id - :first_seal AS seal
FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day')
WHERE problem IN ('seal_changed', 'chain_broken', 'broken') ORDER BY 1;
SET naboom.audit = off;
ALTER TABLE naboom.audit_seal DISABLE TRIGGER audit_append_only;
DELETE FROM naboom.audit_seal WHERE seal_id = :first_seal;
ALTER TABLE naboom.audit_seal ENABLE ALWAYS TRIGGER audit_append_only;
RESET naboom.audit;
SELECT problem, seal_id - :first_seal AS seal
FROM naboom.verify_audit(now() - interval '1 day', now() + interval '1 day')
WHERE problem IN ('seal_changed', 'chain_broken', 'broken') ORDER BY 1;

------------------------------------------------------------------------------
-- Partitions: rows of a month without a partition land in the default and
-- move when audit_maintain creates it
------------------------------------------------------------------------------
SELECT t.err($$SELECT naboom.audit_maintain(-1)$$);
SELECT naboom.audit_maintain(3) = '{}';	-- nothing new to make
SET naboom.audit = off;
INSERT INTO naboom.audit_log (logged_at, action, db_role, detail)
VALUES ('2031-05-17 10:00+00', 'READ', 'postgres', '{"future": true}');
RESET naboom.audit;
SELECT tableoid::regclass FROM naboom.audit_log WHERE detail->>'future' = 'true';
SELECT naboom.audit_maintain(0);
SELECT tableoid::regclass, logged_at FROM naboom.audit_log WHERE detail->>'future' = 'true';
SELECT count(*) FROM naboom.audit_log_default;

------------------------------------------------------------------------------
-- The API: a moderator sees the incident's trail, an admin the community's
-- log; nobody else, and nobody another community's
------------------------------------------------------------------------------
SELECT naboom.audit_queue_wait(20000);
SELECT t.as_user('u-mod');
SELECT t.mask(string_agg(action || ' ' || coalesce(table_name, detail->>'function', detail->>'key'), ', ' ORDER BY id))
FROM naboom_api.incident_audit(:'burglary');
-- Paging: newest first, before_id.
SELECT count(*) FROM naboom_api.incident_audit(:'burglary', max_count => 2);
SELECT count(*) = (SELECT count(*) - 2 FROM naboom_api.incident_audit(:'burglary'))
FROM naboom_api.incident_audit(:'burglary', before_id => (SELECT min(id) FROM naboom_api.incident_audit(:'burglary', max_count => 2)));
SELECT t.err(format($$SELECT * FROM naboom_api.incident_audit(%L, max_count => 0)$$, :'burglary'));
SELECT t.as_user('u-resp1');
SELECT t.err(format($$SELECT * FROM naboom_api.incident_audit(%L)$$, :'burglary'));
SELECT t.err($$SELECT * FROM naboom_api.community_audit('mookgophong')$$);
SELECT t.as_user('u-admin');
SELECT count(*) > 20, bool_and(c.slug = 'mookgophong')
FROM naboom_api.community_audit('mookgophong', max_count => 1000) a
JOIN naboom.audit_log l ON l.id = a.id JOIN naboom.community c ON c.community_id = l.community_id;
SELECT t.err($$SELECT * FROM naboom_api.community_audit('modimolle')$$);
-- The API roles cannot read or write the log directly, nor number, seal or
-- verify it.
SET ROLE naboom_user;
SELECT t.err($$SELECT count(*) FROM naboom.audit_log$$);
SELECT t.err($$INSERT INTO naboom.audit_log (action, db_role) VALUES ('READ', 'x')$$);
SELECT t.err($$SELECT naboom.verify_audit(now() - interval '1 day', now())$$);
SELECT t.err($$SELECT naboom.number_audit()$$);
SELECT t.err($$SELECT naboom.seal_community_audit(10)$$);
SELECT t.err($$SELECT * FROM naboom.verify_community_audit(now() - interval '1 day', now())$$);
SELECT t.err($$SELECT count(*) FROM naboom.audit_position$$);
RESET ROLE;
-- A single node gives no positions (the writer's numbering is a cluster's);
-- a count below 1 is refused.  Every row's community is its own there.
SELECT naboom.number_audit(), count(*) FILTER (WHERE seq IS NOT NULL) AS numbered FROM naboom.audit_log;
SELECT t.err($$SELECT naboom.number_audit(0)$$);
SELECT naboom.audit_community(NULL) IS NULL AS no_community, naboom.audit_community(7) AS seven,
	naboom.is_coordinator() AS coordinator;
