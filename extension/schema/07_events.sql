------------------------------------------------------------------------------
-- The durable event stream (design.md section 5) and what rides on it:
-- escalation of unacknowledged panics, rate limits, the SLA report, and the
-- pg_cron jobs.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- The event stream
------------------------------------------------------------------------------
CREATE SEQUENCE naboom.event_id_seq;

CREATE TABLE naboom.event (
	event_id bigint NOT NULL DEFAULT pg_catalog.nextval('naboom.event_id_seq') PRIMARY KEY,
	seq bigint UNIQUE,
	xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	published_at timestamptz,
	community_id bigint NOT NULL,
	incident_id bigint,
	topic text NOT NULL CHECK (topic ~ '^[a-z_]+\.[a-z_]+$'),
	is_public boolean NOT NULL DEFAULT true,
	payload jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
);

ALTER SEQUENCE naboom.event_id_seq OWNED BY naboom.event.event_id;

CREATE INDEX event_pending ON naboom.event (event_id) WHERE seq IS NULL;

CREATE INDEX event_incident ON naboom.event (community_id, incident_id, seq);

CREATE INDEX event_created_idx ON naboom.event USING brin (created_at);

COMMENT ON TABLE naboom.event IS
	'The event stream: one row per domain event, written in the transaction of the change; seq is assigned after commit by naboom.publish_events (the background writer), in commit order, and is the id consumers see';

COMMENT ON COLUMN naboom.event.event_id IS 'Insertion order; transactions that commit out of order leave it out of order, so consumers never see it';

COMMENT ON COLUMN naboom.event.seq IS 'The stream position: assigned only to committed events, by one publisher at a time, strictly increasing in the order events became visible; NULL until published';

COMMENT ON COLUMN naboom.event.published_at IS 'When the publisher numbered it and sent its NOTIFY (delivered when that transaction commits)';

COMMENT ON COLUMN naboom.event.is_public IS 'false for events of private incidents and internal notes: only the service, the community''s responders and moderators, and the reporter see them';

CREATE FUNCTION naboom.publish_events(max_count integer DEFAULT 10000) RETURNS integer
AS 'MODULE_PATHNAME', 'naboom_publish_events' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.publish_events(integer) IS
	'Number the committed, unpublished events in commit order and NOTIFY them (naboom_events; naboom_panic for panic topics); waits for a concurrent publisher. The background writer runs it after every committing writer; callable by hand or from pg_cron when naboom is not preloaded';

CREATE FUNCTION naboom.events_wait(timeout_ms integer DEFAULT 5000) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => greatest(timeout_ms, 0) / 1000.0);
BEGIN
	-- Each check sees what has committed by then: unpublished events of
	-- transactions still running are invisible and do not hold it up.
	WHILE EXISTS (SELECT 1 FROM naboom.event e WHERE e.seq IS NULL) LOOP
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN true;
END
$$;

COMMENT ON FUNCTION naboom.events_wait(integer) IS
	'Wait until every event committed before the call has been published (for tests and scripts); false on timeout';

CREATE TYPE naboom_api.event AS (
	id bigint,
	topic text,
	community text,
	reference text,
	at timestamptz,
	payload jsonb
);

COMMENT ON TYPE naboom_api.event IS 'One event of the stream as a consumer sees it; id is the stream position';

CREATE FUNCTION naboom_api.events_since(after_id bigint DEFAULT 0, max_count integer DEFAULT 100, community text DEFAULT NULL)
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

CREATE FUNCTION naboom.run_escalation(max_count integer DEFAULT 100) RETURNS integer
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

------------------------------------------------------------------------------
-- Auto-close: a resolved incident is closed by the service once its
-- community's grace period (community.auto_close_after) has passed without
-- the reporter reopening it.  The workflow trigger allows resolved ->
-- closed to the service and writes the timeline entry and the
-- incident.status_changed event, as for any transition.
------------------------------------------------------------------------------
CREATE FUNCTION naboom.run_auto_close(max_count integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	i record;
	done integer := 0;
BEGIN
	IF NOT naboom.is_service() THEN
		PERFORM naboom.fail('42501', 'naboom.service_only', 'only the naboom service closes incidents automatically',
			'naboom.run_auto_close acts as the service: without JWT claims, as naboom_service or a superuser.',
			'Run it from pg_cron (naboom.schedule_jobs() schedules it), or as naboom_service without claims.');
	END IF;
	-- Claimed with FOR UPDATE SKIP LOCKED, like escalation: two runs at once
	-- close different incidents, and an incident someone is changing (its
	-- reporter reopening it) is left for the next run.
	FOR i IN
		SELECT x.community_id, x.incident_id
		FROM naboom.incident x
		JOIN naboom.community c ON c.community_id = x.community_id
		WHERE x.status = 'resolved' AND x.resolved_at + c.auto_close_after <= now()
		ORDER BY x.resolved_at, x.incident_id
		LIMIT greatest(coalesce(max_count, 1000), 1)
		FOR UPDATE OF x SKIP LOCKED
	LOOP
		UPDATE naboom.incident x
		SET status = 'closed', status_note = 'Closed automatically after the community''s grace period.'
		WHERE x.community_id = i.community_id AND x.incident_id = i.incident_id AND x.status = 'resolved';
		done := done + 1;
	END LOOP;
	RETURN done;
END
$$;

COMMENT ON FUNCTION naboom.run_auto_close(integer) IS
	'Close, as the service, every resolved incident whose community''s auto_close_after has passed since resolved_at (at most max_count): a timeline entry and an incident.status_changed event each. Run every five minutes by pg_cron; two runs at once never close the same incident twice';

-- A critical report escalates like a panic until acknowledged.
CREATE FUNCTION naboom.escalation_start() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	-- A restore loads the escalation clock as it was (naboom.restoring).
	IF NEW.priority = 'critical' AND NEW.next_escalation_at IS NULL AND NEW.acknowledged_at IS NULL
		AND NOT naboom.restoring() THEN
		NEW.next_escalation_at := now() + (SELECT c.escalation_interval FROM naboom.community c
			WHERE c.community_id = NEW.community_id);
	END IF;
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION naboom.escalation_start() IS 'BEFORE INSERT on naboom.incident: a critical incident gets its first escalation time, as a panic does';

CREATE TRIGGER escalation_start BEFORE INSERT ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.escalation_start();

------------------------------------------------------------------------------
-- Rate limits
------------------------------------------------------------------------------
CREATE TABLE naboom.rate_counter (
	community_id bigint NOT NULL,
	user_ref text NOT NULL,
	action text NOT NULL,
	window_start timestamptz NOT NULL,
	hits integer NOT NULL,
	PRIMARY KEY (community_id, user_ref, action, window_start)
);

COMMENT ON TABLE naboom.rate_counter IS
	'Requests per community, member, action and fixed window (naboom.rate_limit): limits are per community; a row lock per member and action makes the count exact across concurrent sessions';

CREATE FUNCTION naboom.rate_limit(community_id bigint, user_ref text, action text) RETURNS void
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

CREATE FUNCTION naboom.rate_limit_incident() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	-- Rows a restore loads are no new request (naboom.restoring).
	IF naboom.restoring() THEN
		RETURN NEW;
	END IF;
	PERFORM naboom.rate_limit(NEW.community_id, naboom.current_actor(),
		CASE WHEN NEW.kind = 'panic' THEN 'panic' ELSE 'report' END);
	RETURN NEW;
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_incident() IS 'BEFORE INSERT on naboom.incident: reports and panics count against their limits, whoever inserts them';

CREATE TRIGGER rate_limit BEFORE INSERT ON naboom.incident
	FOR EACH ROW EXECUTE FUNCTION naboom.rate_limit_incident();

-- Alert-area changes made by retention or erasure are not the member's, nor
-- are the alert areas a restore loads.
CREATE FUNCTION naboom.rate_limit_subscription() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.retention_active() OR naboom.restoring() THEN
		RETURN coalesce(NEW, OLD);
	END IF;
	PERFORM naboom.rate_limit(coalesce(NEW.community_id, OLD.community_id), naboom.current_actor(), 'subscription');
	RETURN coalesce(NEW, OLD);
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_subscription() IS 'BEFORE INSERT OR DELETE on naboom.subscription: alert area changes count against their limit';

CREATE TRIGGER rate_limit BEFORE INSERT OR DELETE ON naboom.subscription
	FOR EACH ROW EXECUTE FUNCTION naboom.rate_limit_subscription();

-- Notes: every note inserted counts, whoever inserts it (add_note, or a
-- role granted INSERT); status changes and the other entries the workflow
-- writes do not (the WHEN clause keeps them off this path).
CREATE FUNCTION naboom.rate_limit_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF naboom.retention_active() OR naboom.restoring() THEN
		RETURN coalesce(NEW, OLD);
	END IF;
	PERFORM naboom.rate_limit(coalesce(NEW.community_id, OLD.community_id), naboom.current_actor(), TG_ARGV[0]);
	RETURN coalesce(NEW, OLD);
END
$$;

COMMENT ON FUNCTION naboom.rate_limit_write() IS
	'BEFORE row trigger: the write counts against the limit of the action named by the trigger''s argument, for the calling member in the row''s community (not while retention or erasure runs, nor for rows a restore loads)';

CREATE TRIGGER rate_limit BEFORE INSERT ON naboom.incident_timeline
	FOR EACH ROW WHEN (NEW.entry_kind = 'note') EXECUTE FUNCTION naboom.rate_limit_write('note');

------------------------------------------------------------------------------
-- SLA
------------------------------------------------------------------------------
CREATE TYPE naboom_api.sla_row AS (
	category text,
	area text,
	incidents bigint,
	acknowledged bigint,
	resolved bigint,
	ack_p50 interval,
	ack_p90 interval,
	resolve_p50 interval,
	resolve_p90 interval,
	ack_breaches bigint,
	resolve_breaches bigint,
	open_overdue_now bigint
);

COMMENT ON TYPE naboom_api.sla_row IS 'Service levels of one category in one area (area NULL: outside every area)';

CREATE FUNCTION naboom_api.sla_report(community text, from_time timestamptz, to_time timestamptz)
RETURNS SETOF naboom_api.sla_row
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	c naboom.community := naboom.community_by_slug(community);
	my_role naboom.member_role := naboom.require_role(c, naboom.require_actor(), 'moderator');
BEGIN
	IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'from_time must be before to_time',
			format('The range is [%s, %s).', from_time, to_time), 'Give a time range, e.g. the last month.');
	END IF;
	RETURN QUERY
	SELECT cat.code, a.code, count(*),
		count(i.acknowledged_at), count(i.resolved_at),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY i.acknowledged_at - i.created_at),
		percentile_cont(0.9) WITHIN GROUP (ORDER BY i.acknowledged_at - i.created_at),
		percentile_cont(0.5) WITHIN GROUP (ORDER BY i.resolved_at - i.created_at),
		percentile_cont(0.9) WITHIN GROUP (ORDER BY i.resolved_at - i.created_at),
		count(*) FILTER (WHERE coalesce(i.acknowledged_at, CASE WHEN st.status_type = 'open' THEN now() END)
			- i.created_at > cat.ack_target),
		count(*) FILTER (WHERE coalesce(i.resolved_at, CASE WHEN st.status_type = 'open' THEN now() END)
			- i.created_at > cat.resolve_target),
		count(*) FILTER (WHERE st.status_type = 'open' AND now() - i.created_at > cat.resolve_target)
	FROM naboom.incident i
	JOIN naboom.category cat ON cat.community_id = i.community_id AND cat.code = i.category_code
	JOIN naboom.status st ON st.status = i.status
	LEFT JOIN naboom.area a ON a.community_id = i.community_id AND a.area_id = i.area_id
	WHERE i.community_id = c.community_id AND i.created_at >= from_time AND i.created_at < to_time
		AND i.status NOT IN ('duplicate', 'rejected')
	GROUP BY cat.code, a.code
	ORDER BY cat.code, a.code NULLS LAST;
END
$$;

COMMENT ON FUNCTION naboom_api.sla_report(text, timestamptz, timestamptz) IS
	E'@simpleCollections only\nPer category and area, incidents reported in [from_time, to_time) (duplicates and rejected left out): counts, p50/p90 time to acknowledge and to resolve, breaches of the category''s ack_target and resolve_target (still-open incidents count once their target has passed), and open incidents overdue now. Moderators and admins';

------------------------------------------------------------------------------
-- Scheduling: the pg_cron jobs
------------------------------------------------------------------------------
CREATE FUNCTION naboom.schedule_jobs(OUT job text, OUT schedule text, OUT command text)
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
