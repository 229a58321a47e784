-- bench/results.sql: the tables every measurement of a benchmark run goes
-- into, and the two functions around each pgbench run.  Run by bench/run.sh
-- as the superuser after load.sql and helpers.sql:
--   psql -f bench/results.sql
--
-- bench/run.sh only orchestrates: it runs pgbench and the timed steps and
-- writes what they measured here, as raw as it comes (counters before and
-- after, pgbench's own output, every transaction's latency, every event's
-- latency, what naboom.verify_audit and naboom.run_retention returned).
-- bench/report.sql computes every figure, ratio and verdict from these
-- tables alone, so a report can be printed again from a dump of them
-- (bench/out/results.dump, see bench/README.md) without the cluster that
-- measured it.  The tables are all named bench.run_* (plus
-- bench.retention_floor, written by bench/retention_floor.sql).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE bench.run_info (
	started_at timestamptz NOT NULL,
	ended_at timestamptz,
	cpus integer NOT NULL,
	scale text NOT NULL,
	duration integer NOT NULL,
	warmup integer NOT NULL,
	clients integer[] NOT NULL,
	listen_clients integer NOT NULL,
	profile boolean NOT NULL,
	incidents bigint NOT NULL,
	members bigint NOT NULL,
	onduty bigint NOT NULL,
	subscriptions bigint NOT NULL
);
COMMENT ON TABLE bench.run_info IS
	'One row: the benchmark run as a whole, its environment knobs (SCALE, DURATION, WARMUP, CLIENTS in their order, PROFILE) and the size of the data set';

CREATE TABLE bench.run_result (
	run_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL,
	script text NOT NULL,
	clients integer NOT NULL,
	seconds integer NOT NULL,
	hot_table text,
	started_at timestamptz,
	ended_at timestamptz,
	exit_code integer,
	output text,
	tps double precision,
	transactions bigint,
	failed bigint
);
COMMENT ON TABLE bench.run_result IS
	'One row per pgbench run (warm-ups too, named warmup-*): what ran, when pgbench started and returned, its exit code and its whole output, and the figures parsed from that output';
COMMENT ON COLUMN bench.run_result.name IS
	'The run''s name in the report: the script''s, or with a suffix saying how it differs (_noaudit, _noevents, _listen, _idle, _retention)';
COMMENT ON COLUMN bench.run_result.hot_table IS 'The table whose updates and HOT updates are counted (position runs)';
COMMENT ON COLUMN bench.run_result.tps IS 'pgbench''s tps without initial connection time';

CREATE TABLE bench.run_counter (
	run_id integer NOT NULL REFERENCES bench.run_result,
	phase text NOT NULL CHECK (phase IN ('before', 'after')),
	taken_at timestamptz NOT NULL,
	wal_bytes numeric NOT NULL,
	wal_fpi bigint NOT NULL,
	audit_rows bigint NOT NULL,
	last_event_id bigint NOT NULL,
	alerts bigint NOT NULL,
	alerts_subscription bigint NOT NULL,
	alerts_responder bigint NOT NULL,
	n_tup_upd bigint,
	n_tup_hot_upd bigint,
	PRIMARY KEY (run_id, phase)
);
COMMENT ON TABLE bench.run_counter IS
	'The cluster''s counters right before and right after each pgbench run: WAL (pg_stat_wal, read first), rows of naboom.audit_log (after naboom.audit_queue_wait), the largest event_id, alerts, and updates of the run''s hot_table (pg_stat_user_tables)';

CREATE TABLE bench.run_tx (
	run_id integer NOT NULL REFERENCES bench.run_result,
	latency_us bigint NOT NULL,
	ended_at timestamptz NOT NULL
);
CREATE INDEX ON bench.run_tx (run_id);
COMMENT ON TABLE bench.run_tx IS
	'Every transaction of every pgbench run, from its per-transaction logs (-l): latency of the whole transaction and when it ended';

CREATE TABLE bench.run_event (
	run_id integer NOT NULL REFERENCES bench.run_result,
	event_id bigint NOT NULL,
	seq bigint,
	published boolean NOT NULL,
	has_commit_ts boolean NOT NULL,
	publish_ms double precision,
	deliver_ms double precision
);
CREATE INDEX ON bench.run_event (run_id);
COMMENT ON TABLE bench.run_event IS
	'Every event a pgbench run wrote (event_id above the run''s before-counter), once published (naboom.events_wait): ms from the writer''s commit (pg_xact_commit_timestamp) to published_at, and, for the run with naboom-listen, to the line reaching the listener''s pipe (NULL: not received)';

CREATE TABLE bench.run_step (
	step text NOT NULL,
	clients integer,
	started_at timestamptz,
	ended_at timestamptz,
	seconds double precision,
	rows bigint,
	result text,
	detail text,
	error text,
	figures jsonb
);
COMMENT ON TABLE bench.run_step IS
	'Each timed step that is not a plain pgbench run: load, read_events, seal, verify, audit_writer, listen, retention_prepare, retention_fill, retention (errors of its section); error says why a step failed or was not measured; figures holds what is particular to the step';

CREATE TABLE bench.run_verify (
	step text NOT NULL,
	ord bigint NOT NULL,
	problem text,
	detail text,
	PRIMARY KEY (step, ord)
);
COMMENT ON TABLE bench.run_verify IS 'Every row naboom.verify_audit returned, in its order (the summary last), for the steps verify and retention_verify';

CREATE TABLE bench.run_retention (
	step text NOT NULL,
	clients integer,
	run_id bigint NOT NULL,
	outcome text NOT NULL,
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	call_started_at timestamptz,
	call_ended_at timestamptz,
	PRIMARY KEY (step, run_id)
);
COMMENT ON TABLE bench.run_retention IS
	'Each naboom.run_retention measured: retention (alone) or retention_bg (beside report_incident at clients), its naboom.retention_run row and the wall clock around the CALL';

CREATE TABLE bench.run_retention_step (
	run_id bigint NOT NULL,
	step integer NOT NULL,
	data_class text NOT NULL,
	target text NOT NULL,
	action text NOT NULL,
	rows bigint NOT NULL,
	held bigint NOT NULL,
	batches integer NOT NULL,
	seconds double precision NOT NULL,
	PRIMARY KEY (run_id, step)
);
COMMENT ON TABLE bench.run_retention_step IS 'naboom.retention_result of each run in bench.run_retention';

-- The counters of run_counter, now.  WAL first: the waits and counts after
-- it write no WAL of the run's.  stats_fetch_consistency = none: each read
-- of the statistics sees what backends have flushed so far.
CREATE FUNCTION bench.run_snapshot(p_run integer, p_phase text) RETURNS void
LANGUAGE plpgsql SET stats_fetch_consistency = none AS $$
DECLARE
	b numeric;
	f bigint;
	t text;
BEGIN
	SELECT w.wal_bytes, w.wal_fpi INTO b, f FROM pg_catalog.pg_stat_wal w;
	PERFORM naboom.audit_queue_wait(5000);
	IF p_phase = 'after' THEN
		PERFORM naboom.events_wait(10000);
	END IF;
	SELECT r.hot_table INTO t FROM bench.run_result r WHERE r.run_id = p_run;
	INSERT INTO bench.run_counter
	SELECT p_run, p_phase, pg_catalog.clock_timestamp(), b, f,
		(SELECT count(*) FROM naboom.audit_log),
		(SELECT coalesce(max(e.event_id), 0) FROM naboom.event e),
		a.n, a.s, a.r, u.n_tup_upd, u.n_tup_hot_upd
	FROM (SELECT count(*) AS n, count(*) FILTER (WHERE x.reason = 'subscription') AS s,
			count(*) FILTER (WHERE x.reason = 'responder') AS r FROM naboom.alert x) a
	LEFT JOIN pg_catalog.pg_stat_user_tables u ON u.relid = t::regclass;
END
$$;

-- run_start: a new run_result row and its before-counters; returns its id.
CREATE FUNCTION bench.run_start(p_name text, p_script text, p_clients integer, p_seconds integer,
	p_hot_table text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SET stats_fetch_consistency = none AS $$
DECLARE
	id integer;
BEGIN
	INSERT INTO bench.run_result (name, script, clients, seconds, hot_table)
	VALUES (p_name, p_script, p_clients, p_seconds, p_hot_table) RETURNING run_id INTO id;
	PERFORM bench.run_snapshot(id, 'before');
	-- WAL read again after the rows above are written, so that the run's
	-- WAL holds none of them (only this update and the commit)
	UPDATE bench.run_counter c SET wal_bytes = w.wal_bytes, wal_fpi = w.wal_fpi
	FROM pg_catalog.pg_stat_wal w WHERE c.run_id = id AND c.phase = 'before';
	RETURN id;
END
$$;

-- run_finish: right after pgbench, the after-counters, what pgbench printed
-- and the figures in it, and the run's events with their latency to
-- publication.  Returns a one-line summary for the progress log.
CREATE FUNCTION bench.run_finish(p_run integer, p_started double precision, p_ended double precision,
	p_exit_code integer, p_output text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	e0 bigint;
	r bench.run_result;
BEGIN
	PERFORM bench.run_snapshot(p_run, 'after');
	UPDATE bench.run_result SET started_at = pg_catalog.to_timestamp(p_started),
		ended_at = pg_catalog.to_timestamp(p_ended), exit_code = p_exit_code, output = p_output,
		tps = (substring(p_output FROM '(?n)^tps = ([0-9.]+) \(without initial connection time\)$'))::float8,
		transactions = (substring(p_output FROM '(?n)^number of transactions actually processed: ([0-9]+)'))::bigint,
		failed = (substring(p_output FROM '(?n)^number of failed transactions: ([0-9]+)'))::bigint
	WHERE run_id = p_run RETURNING * INTO r;
	SELECT c.last_event_id INTO e0 FROM bench.run_counter c WHERE c.run_id = p_run AND c.phase = 'before';
	INSERT INTO bench.run_event (run_id, event_id, seq, published, has_commit_ts, publish_ms)
	SELECT p_run, e.event_id, e.seq, e.published_at IS NOT NULL, c.ts IS NOT NULL,
		1000 * extract(epoch FROM e.published_at - c.ts)
	FROM naboom.event e
	CROSS JOIN LATERAL (SELECT pg_catalog.pg_xact_commit_timestamp(e.xid::xid) AS ts) c
	WHERE e.event_id > e0;
	RETURN format('%-28s c=%-2s tps=%-8s tx=%s', r.name, r.clients, round(r.tps::numeric), r.transactions);
END
$$;

-- retention_record: the first naboom.run_retention after run PREV, with its
-- steps, as STEP (at CLIENTS, for the run beside pgbench), timed by the
-- wall clock around its CALL when given (epoch seconds).
CREATE FUNCTION bench.retention_record(p_step text, p_clients integer, p_prev bigint,
	p_call_started double precision DEFAULT NULL, p_call_ended double precision DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
	WITH r AS (
		INSERT INTO bench.run_retention
		SELECT p_step, p_clients, x.run_id, x.outcome, x.started_at, x.finished_at,
			pg_catalog.to_timestamp(p_call_started), pg_catalog.to_timestamp(p_call_ended)
		FROM naboom.retention_run x WHERE x.run_id > p_prev ORDER BY x.run_id LIMIT 1
		RETURNING run_id),
	s AS (
		INSERT INTO bench.run_retention_step
		SELECT x.run_id, x.step, x.data_class, x.target, x.action, x.rows, x.held, x.batches, x.seconds
		FROM naboom.retention_result x JOIN r ON r.run_id = x.run_id)
	SELECT run_id FROM r
$$;
