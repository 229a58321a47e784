-- bench/helpers.sql: the login role pgbench connects as, and the one helper
-- function of the transition benchmark.  Run by bench/run.sh after load.sql:
--   psql -v pw=... -f bench/helpers.sql

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- pgbench connects like a gateway's authenticator: a plain login role with
-- naboom_user's privileges (not a superuser), and the JWT claims set per
-- transaction.
CREATE ROLE naboom_bench LOGIN PASSWORD :'pw' IN ROLE naboom_user;
GRANT USAGE ON SCHEMA bench TO naboom_bench;
GRANT SELECT, INSERT, UPDATE ON bench.floor_incident TO naboom_bench;
GRANT USAGE ON SEQUENCE bench.floor_incident_incident_id_seq TO naboom_bench;
GRANT SELECT ON bench.pool TO naboom_bench;
GRANT SELECT, UPDATE ON bench.floor_position TO naboom_bench;
-- the floor draws its references like the workflow trigger does
GRANT EXECUTE ON FUNCTION naboom.new_reference() TO naboom_bench;
-- the spatial floors draw their search boxes like naboom does
GRANT EXECUTE ON FUNCTION naboom.search_box(double precision, double precision, double precision) TO naboom_bench;

-- next_step moves pool incident p one step round a legal loop, as the
-- moderator of its community (the caller sets the claims):
--   verified -> dispatched (assign_incident to the given responder)
--   -> en_route -> on_scene -> resolved (with a note)
--   -> verified (a moderator reopens, with a note) -> ...
-- Its own work is one primary-key read of the current status; everything
-- else is the API.  SECURITY DEFINER only so that read bypasses the
-- incident RLS policy; no SET search_path, to add nothing to the measured
-- path (every name is qualified).
CREATE FUNCTION bench.next_step(p integer, responder text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
	ref text;
	st text;
BEGIN
	SELECT i.reference, i.status INTO ref, st
	FROM bench.pool b
	JOIN naboom.incident i ON i.community_id = b.community_id AND i.incident_id = b.incident_id
	WHERE b.id = p;
	CASE st
		WHEN 'verified' THEN RETURN (naboom_api.assign_incident(ref, responder)).status;
		WHEN 'dispatched' THEN RETURN (naboom_api.transition_incident(ref, 'en_route')).status;
		WHEN 'en_route' THEN RETURN (naboom_api.transition_incident(ref, 'on_scene')).status;
		WHEN 'on_scene' THEN RETURN (naboom_api.transition_incident(ref, 'resolved', 'Resolved (bench)')).status;
		WHEN 'resolved' THEN RETURN (naboom_api.transition_incident(ref, 'verified', 'Reopened (bench)')).status;
	END CASE;
END
$$;
REVOKE ALL ON FUNCTION bench.next_step(integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bench.next_step(integer, text) TO naboom_bench;

VACUUM (ANALYZE) naboom.community, naboom.area, naboom.member, naboom.category,
	naboom.incident, naboom.incident_timeline, naboom.responder_position, naboom.subscription,
	naboom.alert, bench.floor_incident, bench.floor_position, bench.pool;
CHECKPOINT;

-- The same-work floors (bench/samework_prepare.sql): floor_report_work and
-- floor_transition_work write the copies and read the fan-out's.
GRANT SELECT, INSERT, UPDATE ON bench.floor_timeline, bench.floor_alert, bench.floor_event,
	bench.floor_audit, bench.floor_member TO naboom_bench;
GRANT SELECT ON bench.floor_subscription TO naboom_bench;
VACUUM (ANALYZE) bench.floor_timeline, bench.floor_alert, bench.floor_event, bench.floor_audit,
	bench.floor_subscription, bench.floor_member;
