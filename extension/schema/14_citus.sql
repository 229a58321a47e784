------------------------------------------------------------------------------
-- 14_citus: naboom distributed by community on a Citus cluster (issue 18).
--
-- naboom.distribute() turns an installed naboom on a Citus coordinator into a
-- distributed one: the small shared tables become reference tables (a copy
-- on every node), every domain table is distributed by community_id and
-- co-located with naboom.incident, so that everything one community does
-- runs on one node.  The keys that named a row without its community gain
-- community_id (a hash-distributed table can only enforce uniqueness that
-- includes its distribution column); the incident reference, read over the
-- radio without its community, stays globally unique through
-- naboom.incident_reference, a directory distributed by the reference itself.
-- The README's "Citus" section says what differs from a single node.
------------------------------------------------------------------------------

-- Where a reference lives: one row per incident, distributed by reference
-- on a Citus cluster (naboom.distribute), so that a reference read over the
-- radio is resolved on the node that holds it, and two communities can never
-- draw the same one.  On a single node it stays empty and unused (the unique
-- index on naboom.incident.reference does the same there).
CREATE TABLE naboom.incident_reference (
	reference text PRIMARY KEY,
	community_id bigint NOT NULL
);

COMMENT ON TABLE naboom.incident_reference IS
	'On a Citus cluster (naboom.distribute), which community holds each incident reference: distributed by reference, so a reference is unique across communities and found without its community. Empty on a single node';

REVOKE ALL ON naboom.incident_reference FROM PUBLIC;

-- Its rows are data (a cluster's directory): pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('naboom.incident_reference', '');

-- Where each community's event stream stands, on the coordinator of a Citus
-- cluster (events.c, PublishCommunity): the highest number handed out to the
-- community, so numbering continues above it even after retention deleted
-- all of the community's events on its worker.  Node-local; empty and unused
-- on a single node.
CREATE TABLE naboom.event_position (
	community_id bigint PRIMARY KEY,
	published_through bigint NOT NULL,
	deleted_through bigint NOT NULL DEFAULT 0 CHECK (deleted_through >= 0)
);

COMMENT ON TABLE naboom.event_position IS
	'On a Citus coordinator (naboom.distribute), the highest event stream number each community has been given: the per-community stream never reuses one. Empty on a single node';

COMMENT ON COLUMN naboom.event_position.deleted_through IS
	'The highest number of the community''s stream that retention has deleted (its event_horizon on a cluster): a sync cursor of the community behind it is expired (naboom_api.incident_changes)';

REVOKE ALL ON naboom.event_position FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('naboom.event_position', '');

-- Erasure on a distributed naboom (erasure.c, AnonymiseThroughShards): the
-- coordinator inserts one row per community, and the row's BEFORE INSERT
-- trigger anonymises the people in that community on the node that holds
-- it, in the erasure's transaction; the row comes back with the counts
-- (never the user_refs) and is deleted at once.  Unused on a single node.
CREATE TABLE naboom.erasure_step (
	community_id bigint NOT NULL,
	step_id uuid NOT NULL,
	user_refs text[],
	as_of timestamptz NOT NULL,
	with_audit boolean NOT NULL,
	counts bigint[],
	PRIMARY KEY (community_id, step_id)
);

COMMENT ON TABLE naboom.erasure_step IS
	'On a Citus cluster, one community''s part of an erasure, done by its insert trigger on the node that holds the community; deleted in the same transaction. Always empty';

CREATE FUNCTION naboom.erasure_step_run() RETURNS trigger
AS 'MODULE_PATHNAME', 'naboom_erasure_step_run' LANGUAGE C;

COMMENT ON FUNCTION naboom.erasure_step_run() IS
	'BEFORE INSERT trigger on naboom.erasure_step: anonymise the row''s people in its community, here (on a Citus worker: in this node''s shards), and keep only the counts';

CREATE TRIGGER erasure_step_run BEFORE INSERT ON naboom.erasure_step
	FOR EACH ROW EXECUTE FUNCTION naboom.erasure_step_run();

CREATE FUNCTION naboom.anonymise_audit_of(user_refs text[], held_communities bigint[], held_incidents bigint[])
RETURNS bigint AS 'MODULE_PATHNAME', 'naboom_anonymise_audit_of' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.anonymise_audit_of(text[], bigint[], bigint[]) IS
	'This node''s audit rows by or keyed by these people, anonymised, except rows of the incidents under legal hold given: an erasure on a Citus cluster runs it on every worker. Superuser only; returns how many';

REVOKE ALL ON naboom.erasure_step FROM PUBLIC;

CREATE FUNCTION naboom.is_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = ''naboom.incident''::regclass)'
		INTO found;
	RETURN found;
END
$$;

COMMENT ON FUNCTION naboom.is_distributed() IS
	'True once naboom.distribute() has distributed naboom.incident on this Citus cluster';

CREATE FUNCTION naboom.on_every_node(command text, strict boolean DEFAULT false)
RETURNS TABLE (node text, success boolean, result text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r record;
BEGIN
	IF NOT (SELECT x.rolsuper FROM pg_catalog.pg_roles x WHERE x.rolname = current_user) THEN
		-- (raised here, not by naboom.fail: a role that got EXECUTE on this
		-- by mistake may not have it on that)
		RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'naboom.on_every_node is for a superuser',
			DETAIL = 'naboom.superuser_only: It runs a command on every node of the cluster.',
			HINT = 'Run it as the cluster''s superuser (pg_cron''s jobs do).';
	END IF;
	-- This node first, then every worker (in connections of their own).
	node := 'local';
	IF strict THEN
		EXECUTE command INTO result;
		success := true;
	ELSE
		BEGIN
			EXECUTE command INTO result;
			success := true;
		EXCEPTION WHEN OTHERS THEN
			success := false;
			result := SQLERRM;
		END;
	END IF;
	RETURN NEXT;
	IF naboom.is_distributed() THEN
		FOR r IN EXECUTE 'SELECT w.nodename || '':'' || w.nodeport AS node, w.success, w.result'
			' FROM pg_catalog.run_command_on_workers($1) w ORDER BY 1' USING command
		LOOP
			node := r.node;
			success := r.success;
			result := r.result;
			IF strict AND NOT success THEN
				PERFORM naboom.fail('XX000', 'naboom.node_failed', format('the command failed on %s', node),
					result, 'Check that node, then run it again.');
			END IF;
			RETURN NEXT;
		END LOOP;
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.on_every_node(text, boolean) IS
	'Run a command (its first value) on this node and, on a distributed naboom, on every worker: for what each node does for itself (sealing and verifying its audit log, audit partitions). One row per node; strict: naboom.node_failed (XX000) as soon as a node fails. Superuser only';

CREATE FUNCTION naboom.audit_rows_everywhere(condition text, max_count integer)
RETURNS SETOF naboom.audit_log
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	q text := format('SELECT a.* FROM naboom.audit_log a WHERE %s ORDER BY a.id DESC LIMIT %s', condition, max_count);
	r record;
BEGIN
	-- condition is built by naboom's own functions, with format's %L.
	RETURN QUERY EXECUTE q;
	IF naboom.is_distributed() THEN
		FOR r IN EXECUTE 'SELECT w.nodename || '':'' || w.nodeport AS node, w.success, w.result'
			' FROM pg_catalog.run_command_on_workers($1) w'
			USING format('SELECT coalesce(pg_catalog.json_agg(x), ''[]'') FROM (%s) x', q)
		LOOP
			IF NOT r.success THEN
				PERFORM naboom.fail('08006', 'naboom.node_unreachable', 'a node''s audit log could not be read',
					format('%s: %s', r.node, r.result), 'Try again when every node of the cluster answers.');
			END IF;
			RETURN QUERY SELECT x.* FROM pg_catalog.json_populate_recordset(NULL::naboom.audit_log, r.result::json) x;
		END LOOP;
	END IF;
END
$$;

COMMENT ON FUNCTION naboom.audit_rows_everywhere(text, integer) IS
	'The audit rows that meet condition (SQL on a, built by naboom''s functions) in this node''s log and, on a distributed naboom, every worker''s: at most max_count of each node, newest first per node. Each node keeps its own log';

CREATE FUNCTION naboom.verify_audit_everywhere(from_time timestamptz, to_time timestamptz)
RETURNS TABLE (node text, problem text, seal_id bigint, audit_id bigint, logged_at timestamptz, detail text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT * FROM naboom.on_every_node(format(
			'SELECT coalesce(pg_catalog.json_agg(v), ''[]'') FROM naboom.verify_audit(%L, %L) v', from_time, to_time))
	LOOP
		IF NOT r.success THEN
			node := r.node;
			problem := 'unreachable';
			seal_id := NULL;
			audit_id := NULL;
			logged_at := NULL;
			detail := r.result;
			RETURN NEXT;
			CONTINUE;
		END IF;
		RETURN QUERY SELECT r.node, v.problem, v.seal_id, v.audit_id, v.logged_at, v.detail
			FROM pg_catalog.json_to_recordset(r.result::json)
				AS v(problem text, seal_id bigint, audit_id bigint, logged_at timestamptz, detail text);
	END LOOP;
END
$$;

COMMENT ON FUNCTION naboom.verify_audit_everywhere(timestamptz, timestamptz) IS
	'naboom.verify_audit on this node and, on a distributed naboom, on every worker (each node seals and verifies its own chain): its rows, each with the node; a node that does not answer is a problem (unreachable). Superuser only';

CREATE FUNCTION naboom.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, distribution text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	fk record;
	pol record;
	w record;
	prep text[] := '{}';
	fks text[] := '{}';
	t text;
	jobs boolean;
	-- the small tables every community shares: a copy on every node
	reference_tables constant text[] := ARRAY['community', 'status', 'transition', 'retention_policy'];
	-- the domain tables, distributed by community_id and co-located with
	-- incident (the first one sets the co-location group)
	domain_tables constant text[] := ARRAY['incident', 'area', 'member', 'category', 'incident_timeline',
		'responder_position', 'subscription', 'alert', 'rate_counter', 'community_retention', 'legal_hold',
		'deleted_note', 'attachment', 'authority', 'forwarding_rule', 'forwarding', 'authority_update', 'event', 'erasure_step'];
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
		PERFORM naboom.fail('42501', 'naboom.superuser_only', 'only a superuser may distribute naboom',
			format('Role "%s" is not a superuser.', CURRENT_USER), 'Run naboom.distribute() as a superuser on the Citus coordinator.');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
		PERFORM naboom.fail('55000', 'naboom.citus_missing', 'Citus is not installed in this database',
			format('naboom.distribute() shards naboom by community with Citus, which database "%s" does not have.', pg_catalog.current_database()),
			'Install Citus 13 from its own packages, set shared_preload_libraries = ''citus,...'' (citus first) on every node, CREATE EXTENSION citus, add the workers, then call naboom.distribute() on the coordinator.');
	END IF;

	IF NOT naboom.is_distributed() THEN
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
		PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
		IF shard_count IS NOT NULL THEN
			PERFORM pg_catalog.set_config('citus.shard_count', shard_count::text, true);
		END IF;

		-- 1. Foreign keys are put back after the tables are distributed
		-- (Citus refuses to convert an extension's foreign-key graph piece by
		-- piece).  Every change before distribution is made here and on the
		-- workers, whose copies of naboom's tables (made by CREATE EXTENSION)
		-- are Citus's shells of the distributed tables.
		FOR fk IN
			SELECT c.conrelid::regclass AS rel, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
			FROM pg_catalog.pg_constraint c
			WHERE c.contype = 'f' AND c.connamespace = 'naboom'::regnamespace
				AND c.confrelid <> 'naboom.retention_run'::regclass
			ORDER BY c.conrelid::regclass::text, c.conname
		LOOP
			prep := prep || pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', fk.rel, fk.conname);
			-- (Citus cannot cascade an update of a key that includes the
			-- distribution column, nor set part of such a key to null: an
			-- authority's code is not renamed in place, an area with
			-- incidents is not deleted)
			fks := fks || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.rel, fk.conname,
				pg_catalog.replace(pg_catalog.replace(fk.def, ' ON UPDATE CASCADE', ''), ' ON DELETE SET NULL (area_id)', ''));
		END LOOP;

		-- Row-level security policies with subqueries (a member's reads of
		-- the tables themselves; the API's functions are SECURITY DEFINER and
		-- bypass them) are not supported by Citus on distributed tables:
		-- they are dropped, so that naboom_user reads those tables only
		-- through the API.  The policies that are plain conditions stay.
		FOR pol IN
			SELECT p.tablename, p.policyname FROM pg_catalog.pg_policies p
			WHERE p.schemaname = 'naboom'
				AND (p.qual ~* '\(\s*SELECT' OR coalesce(p.with_check, '') ~* '\(\s*SELECT')
		LOOP
			prep := prep || pg_catalog.format('DROP POLICY IF EXISTS %I ON naboom.%I', pol.policyname, pol.tablename);
		END LOOP;

		-- 2. Keys without community_id gain it: a distributed table enforces
		-- only uniqueness that includes its distribution column.  The
		-- reference stays unique across communities through incident_reference.
		prep := prep || ARRAY[
			'ALTER TABLE naboom.incident DROP CONSTRAINT IF EXISTS incident_reference_key, ADD CONSTRAINT incident_reference_key UNIQUE (community_id, reference)',
			'ALTER TABLE naboom.authority DROP CONSTRAINT IF EXISTS authority_authority_id_key, ADD CONSTRAINT authority_authority_id_key UNIQUE (community_id, authority_id)',
			'ALTER TABLE naboom.forwarding_rule DROP CONSTRAINT IF EXISTS forwarding_rule_rule_id_key, ADD CONSTRAINT forwarding_rule_rule_id_key UNIQUE (community_id, rule_id)',
			'ALTER TABLE naboom.forwarding DROP CONSTRAINT IF EXISTS forwarding_pkey, ADD CONSTRAINT forwarding_pkey PRIMARY KEY (community_id, forwarding_id), DROP CONSTRAINT IF EXISTS forwarding_idempotency_key_key, ADD CONSTRAINT forwarding_idempotency_key_key UNIQUE (community_id, idempotency_key)',
			'ALTER TABLE naboom.authority_update DROP CONSTRAINT IF EXISTS authority_update_pkey, ADD CONSTRAINT authority_update_pkey PRIMARY KEY (community_id, authority_id, update_id)',
			'ALTER TABLE naboom.attachment DROP CONSTRAINT IF EXISTS attachment_object_key_key, ADD CONSTRAINT attachment_object_key_key UNIQUE (community_id, object_key)',
			'ALTER TABLE naboom.legal_hold DROP CONSTRAINT IF EXISTS legal_hold_pkey, ADD CONSTRAINT legal_hold_pkey PRIMARY KEY (community_id, hold_id)',
			'ALTER TABLE naboom.event DROP CONSTRAINT IF EXISTS event_pkey, ADD CONSTRAINT event_pkey PRIMARY KEY (community_id, event_id), DROP CONSTRAINT IF EXISTS event_seq_key, ADD CONSTRAINT event_seq_key UNIQUE (community_id, seq)'];
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		FOREACH t IN ARRAY prep LOOP
			EXECUTE t;
		END LOOP;
		FOR w IN
			SELECT r.nodename, r.nodeport, r.success, r.result
			FROM run_command_on_workers('SET citus.enable_ddl_propagation TO off; ' || pg_catalog.array_to_string(prep, '; ')) r
		LOOP
			IF NOT w.success THEN
				RAISE EXCEPTION 'naboom.distribute: preparing worker %:% failed: %', w.nodename, w.nodeport, w.result;
			END IF;
		END LOOP;
		INSERT INTO naboom.incident_reference (reference, community_id)
			SELECT i.reference, i.community_id FROM naboom.incident i
			ON CONFLICT DO NOTHING;

		-- 3. Reference tables, then the domain tables by community.
		FOREACH t IN ARRAY reference_tables LOOP
			PERFORM create_reference_table(pg_catalog.format('naboom.%I', t)::regclass);
		END LOOP;
		FOREACH t IN ARRAY domain_tables LOOP
			PERFORM create_distributed_table(pg_catalog.format('naboom.%I', t)::regclass, 'community_id',
				colocate_with => CASE WHEN t = 'incident' THEN 'default' ELSE 'naboom.incident' END);
		END LOOP;
		PERFORM create_distributed_table('naboom.incident_reference', 'reference', colocate_with => 'none');

		FOREACH t IN ARRAY fks LOOP
			EXECUTE t;
		END LOOP;

		-- The caller's identity reaches the workers as SET LOCAL (src/citus.c)
		EXECUTE pg_catalog.format('ALTER DATABASE %I SET naboom.distributed = on', pg_catalog.current_database());
		PERFORM pg_catalog.set_config('naboom.distributed', 'on', false);
	END IF;

	-- Ids made on a worker (alerts, timeline rows, events, audit rows ...)
	-- come from that node's own copies of naboom's sequences: they are the
	-- extension's, not Citus's shells, so Citus gave them no ranges, and
	-- after a community moved its new node handed out ids the community
	-- already had.  Each worker's sequences start at its group id << 48, as
	-- Citus does for its own (2^48 ids a node, every id below 2^53 for
	-- JavaScript clients); a sequence already in its range is left alone.
	-- Run distribute() again after citus_add_node.
	FOR t IN
		SELECT pg_catalog.format('%s:%s %s', cw.nodename, cw.nodeport, cw.result)
		FROM run_command_on_workers($cmd$
			SELECT pg_catalog.count(pg_catalog.setval(c.oid::pg_catalog.regclass, g.groupid::bigint << 48))
			FROM pg_catalog.pg_class c, pg_catalog.pg_dist_local_group g
			WHERE c.relkind = 'S' AND c.relnamespace = 'naboom'::pg_catalog.regnamespace
				AND coalesce(pg_catalog.pg_sequence_last_value(c.oid::pg_catalog.regclass), 0) < g.groupid::bigint << 48
		$cmd$) cw
		WHERE NOT cw.success
	LOOP
		PERFORM naboom.fail('XX000', 'naboom.citus_sequences', 'could not give a worker''s sequences their range',
			t, 'Check that naboom is installed on every worker (citus_add_node propagates it), then run naboom.distribute() again.');
	END LOOP;

	-- Citus routes a query with parameters to one shard only in a custom
	-- plan: the functions that force generic plans on a single node (where
	-- the plan is the same whatever the values) force custom plans instead
	-- (the default would still try a generic plan after five calls).
	FOR t IN
		SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		WHERE p.pronamespace IN ('naboom'::regnamespace, 'naboom_api'::regnamespace)
			AND 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET plan_cache_mode = force_custom_plan', t);
	END LOOP;

	-- pg_cron's jobs that each node must run for itself run on every node now.
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron') THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job j WHERE j.jobname LIKE ''naboom-%'')' INTO jobs;
		IF jobs THEN
			PERFORM naboom.schedule_jobs();
		END IF;
	END IF;

	RETURN QUERY
		SELECT p.logicalrelid::regclass::text,
			CASE p.partmethod WHEN 'n' THEN 'reference' ELSE 'by ' || pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END
		FROM pg_dist_partition p
		JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid
		WHERE c.relnamespace = 'naboom'::regnamespace
		ORDER BY 1;
END
$$;

COMMENT ON FUNCTION naboom.distribute(integer) IS
	'On a Citus coordinator, distribute naboom by community: the shared tables (community, status, transition, retention_policy) as reference tables, every domain table by community_id co-located with incident, incident_reference by reference. Idempotent; superuser only; naboom.citus_missing (55000) without Citus. Returns each distributed table and how';

REVOKE ALL ON FUNCTION naboom.distribute(integer) FROM PUBLIC;
