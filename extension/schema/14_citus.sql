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
	'Run a command (its first value) on this node and, on a distributed naboom, on every worker: for what each node does for itself. One row per node; strict: naboom.node_failed (XX000) as soon as a node fails. Superuser only';

CREATE FUNCTION naboom.is_coordinator() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
		RETURN true;
	END IF;
	EXECUTE 'SELECT coalesce((SELECT g.groupid = 0 FROM pg_catalog.pg_dist_local_group g), true)' INTO found;
	RETURN found;
END
$$;

COMMENT ON FUNCTION naboom.is_coordinator() IS
	'False on a Citus worker; true on the coordinator and on a single node';

-- Where each community's audit log stands, on the coordinator of a Citus
-- cluster: the highest position (naboom.audit_log.seq) its rows have been
-- given.  Numbering continues above it, so a position is never given twice,
-- even after retention dropped the community's oldest months.  Node-local;
-- empty and unused on a single node.
CREATE TABLE naboom.audit_position (
	community_id bigint PRIMARY KEY,
	numbered_through bigint NOT NULL CHECK (numbered_through >= 0)
);

COMMENT ON TABLE naboom.audit_position IS
	'On a Citus coordinator (naboom.distribute), the highest position each community''s audit rows have been given (naboom.number_audit); the seals of its chain cover positions up to it. Empty on a single node';

REVOKE ALL ON naboom.audit_position FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('naboom.audit_position', '');

CREATE FUNCTION naboom.number_audit(max_count integer DEFAULT 10000) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	c bigint;
	top bigint;
	n bigint;
	last bigint;
	total bigint := 0;
BEGIN
	IF max_count IS NULL OR max_count < 1 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'max_count must be at least 1',
			format('It is %s.', coalesce(max_count::text, 'NULL')), 'Use e.g. 10000.');
	END IF;
	IF NOT naboom.is_distributed() OR NOT naboom.is_coordinator() THEN
		RETURN 0;
	END IF;
	-- One numberer at a time (the background writer, seal_audit).
	PERFORM pg_catalog.pg_advisory_xact_lock(7089066834011223043);
	FOR c IN EXECUTE 'SELECT DISTINCT a.community_id FROM naboom.audit_log a WHERE a.seq IS NULL ORDER BY 1' LOOP
		top := coalesce((SELECT x.numbered_through FROM naboom.audit_position x WHERE x.community_id = c), 0);
		-- One statement Citus routes to the community's shard: its committed
		-- rows without a position, in the order they were logged, numbered
		-- above the highest given.  Rows of a transaction that has not
		-- committed are not seen, and get later positions once it has.
		EXECUTE pg_catalog.format('WITH pending AS (
				SELECT a.id, a.logged_at FROM naboom.audit_log a WHERE a.community_id = %1$s AND a.seq IS NULL
				ORDER BY a.logged_at, a.id LIMIT %3$s FOR UPDATE),
			numbered AS (
				SELECT p.id, p.logged_at, GREATEST((SELECT coalesce(max(x.seq), 0) FROM naboom.audit_log x
						WHERE x.community_id = %1$s), %2$s) + row_number() OVER (ORDER BY p.logged_at, p.id) AS seq
				FROM pending p),
			u AS (UPDATE naboom.audit_log a SET seq = n.seq FROM numbered n
				WHERE a.community_id = %1$s AND a.id = n.id AND a.logged_at = n.logged_at RETURNING a.seq)
			SELECT count(*), max(u.seq) FROM u', c, top, max_count) INTO n, last;
		CONTINUE WHEN n = 0;
		INSERT INTO naboom.audit_position AS p (community_id, numbered_through) VALUES (c, last)
			ON CONFLICT (community_id) DO UPDATE SET numbered_through = GREATEST(p.numbered_through, EXCLUDED.numbered_through);
		total := total + n;
	END LOOP;
	RETURN total;
END
$$;

COMMENT ON FUNCTION naboom.number_audit(integer) IS
	'On the coordinator of a distributed naboom: give each community''s committed audit rows without a position (naboom.audit_log.seq) the next ones, in the order they were logged, at most max_count a community; returns how many. Run by the background writer after every wake-up and by seal_audit; 0 elsewhere';

CREATE FUNCTION naboom.seal_community_audit(max_rows integer) RETURNS naboom.audit_seal
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	p record;
	prev naboom.audit_seal;
	s naboom.audit_seal;
	made naboom.audit_seal;
	s_from bigint;
	s_to bigint;
	got record;
BEGIN
	IF NOT naboom.is_coordinator() THEN
		PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is sealed on the coordinator',
			'Each community''s chain of seals is kept on the coordinator.', 'Run naboom.seal_audit() on the coordinator.');
	END IF;
	-- One sealer at a time (seal_audit's lock; taken already when it called).
	IF NOT pg_catalog.pg_try_advisory_xact_lock(7089066834011223041) THEN
		RETURN NULL;
	END IF;
	PERFORM naboom.number_audit();
	FOR p IN SELECT x.community_id, x.numbered_through FROM naboom.audit_position x ORDER BY x.community_id LOOP
		prev := NULL;
		SELECT * INTO prev FROM naboom.audit_seal z WHERE z.community_id = p.community_id ORDER BY z.seal_id DESC LIMIT 1;
		s_from := coalesce(prev.seq_to, 1);
		CONTINUE WHEN p.numbered_through < s_from;
		s_to := least(p.numbered_through + 1, s_from + max_rows);
		-- the rows at those positions, read where the community's shard is
		EXECUTE pg_catalog.format('SELECT count(*)::integer AS n, array_agg(a.id ORDER BY a.seq) AS ids,
				string_agg(naboom.audit_row_hash(ROW(a.*)::naboom.audit_log), ''''::bytea ORDER BY a.seq) AS hashes,
				min(a.logged_at) AS first_at, max(a.logged_at) AS last_at, count(DISTINCT a.seq)::integer AS positions
			FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s AND a.seq < %s',
			p.community_id, s_from, s_to) INTO got;
		IF got.n <> s_to - s_from OR got.positions <> got.n THEN
			-- Positions are given densely under a lock: a hole or a repeat
			-- is a change to the log, which verify_audit reports; that
			-- community's chain is not extended over it.
			RAISE WARNING 'naboom audit: community % has % rows at positions % to % (expected %): not sealed',
				p.community_id, got.n, s_from, s_to - 1, s_to - s_from;
			CONTINUE;
		END IF;
		INSERT INTO naboom.audit_seal (xid_from, xid_to, first_logged_at, last_logged_at, row_count, ids, row_hashes,
			prev_hash, seal_hash, row_format, community_id, seq_from, seq_to)
		VALUES ('0', '0', got.first_at, got.last_at, got.n, got.ids, got.hashes, coalesce(prev.seal_hash, '\x'::bytea),
			naboom.audit_community_seal_hash(coalesce(prev.seal_hash, '\x'::bytea), p.community_id, s_from, s_to,
				got.ids, got.hashes),
			2, p.community_id, s_from, s_to)
		RETURNING * INTO s;
		RAISE LOG 'naboom audit seal %: community %, % rows, positions % to %, hash %', s.seal_id, s.community_id,
			s.row_count, s_from, s_to - 1, pg_catalog.encode(s.seal_hash, 'hex');
		made := s;
	END LOOP;
	RETURN made;
END
$$;

COMMENT ON FUNCTION naboom.seal_community_audit(integer) IS
	'naboom.seal_audit on a distributed naboom (coordinator only): number what is new, then seal each community''s rows since its last seal (at most max_rows a community) into that community''s chain; returns the last seal made, or NULL';

CREATE FUNCTION naboom.verify_community_audit(from_time timestamptz, to_time timestamptz,
	OUT problem text, OUT seal_id bigint, OUT audit_id bigint, OUT logged_at timestamptz, OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	s naboom.audit_seal;
	before naboom.audit_seal;
	r record;
	now_rows record;
	n_rows bigint := 0;
	n_seals integer := 0;
	n_problems integer := 0;
	n_unsealed bigint := 0;
	n_expired bigint := 0;
	n_anonymised_v1 bigint := 0;
	-- rows of dropped months are gone with them (retention)
	expired_before timestamptz := (SELECT max(e.month_to) FROM naboom.audit_expiry e);
	k bigint;
BEGIN
	IF NOT naboom.is_coordinator() THEN
		PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is verified on the coordinator',
			'Each community''s chain of seals is kept on the coordinator.', 'Run naboom.verify_audit() on the coordinator.');
	END IF;
	-- Seals made before distribute() (community_id NULL: the single node's
	-- chain, by transaction range), then each community's chain (by position).
	FOR s IN
		SELECT * FROM naboom.audit_seal x WHERE x.last_logged_at >= from_time AND x.first_logged_at < to_time
		ORDER BY x.community_id NULLS FIRST, x.seal_id
	LOOP
		n_seals := n_seals + 1;
		n_rows := n_rows + s.row_count;
		IF pg_catalog.octet_length(s.row_hashes) <> 32 * pg_catalog.cardinality(s.ids)
			OR s.seal_hash IS DISTINCT FROM (CASE WHEN s.community_id IS NULL
				THEN naboom.audit_seal_hash(s.prev_hash, s.xid_from, s.xid_to, s.ids, s.row_hashes)
				ELSE naboom.audit_community_seal_hash(s.prev_hash, s.community_id, s.seq_from, s.seq_to, s.ids, s.row_hashes) END)
			OR (s.community_id IS NOT NULL AND pg_catalog.cardinality(s.ids) <> s.seq_to - s.seq_from) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'seal_changed', s.seal_id, NULL::bigint, s.sealed_at,
				'The seal''s fields no longer hash to its seal_hash.';
		END IF;
		-- Each seal names the hash of the one before in its chain and starts
		-- where that one ended; a community's first starts at position 1.
		before := NULL;
		SELECT * INTO before FROM naboom.audit_seal x
		WHERE x.community_id IS NOT DISTINCT FROM s.community_id AND x.seal_id < s.seal_id
		ORDER BY x.seal_id DESC LIMIT 1;
		IF (s.community_id IS NOT NULL AND (CASE WHEN before.seal_id IS NULL
					THEN s.prev_hash <> '\x'::bytea OR s.seq_from <> 1
					ELSE before.seal_hash <> s.prev_hash OR before.seq_to <> s.seq_from END))
			OR (s.community_id IS NULL AND before.seal_id IS NOT NULL
				AND (before.seal_hash <> s.prev_hash OR before.xid_to <> s.xid_from)) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
				format('The seal before %s (community %s) is missing or changed.', s.seal_id,
					coalesce(s.community_id::text, 'none'));
		END IF;
		-- The sealed rows as they are now: a community's positions from its
		-- shard (one routed statement); an older seal's ids from every shard.
		IF s.community_id IS NOT NULL THEN
			EXECUTE pg_catalog.format('SELECT coalesce(array_agg(a.seq ORDER BY a.seq, a.id), ''{}'') AS pos,
					coalesce(array_agg(a.id ORDER BY a.seq, a.id), ''{}'') AS ids,
					coalesce(array_agg(a.logged_at ORDER BY a.seq, a.id), ''{}'') AS ats,
					coalesce(array_agg(a.personal_digest IS NOT NULL ORDER BY a.seq, a.id), ''{}'') AS anon,
					coalesce(array_agg(naboom.audit_row_hash(ROW(a.*)::naboom.audit_log) ORDER BY a.seq, a.id), ''{}'') AS hashes
				FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s AND a.seq < %s',
				s.community_id, s.seq_from, s.seq_to) INTO now_rows;
		ELSE
			-- (the rows read on every shard, then gathered on the coordinator)
			EXECUTE 'WITH x AS MATERIALIZED (
					SELECT a.id, a.logged_at, a.personal_digest IS NOT NULL AS anon,
						CASE WHEN $2 = 2 THEN naboom.audit_row_hash(ROW(a.*)::naboom.audit_log)
							ELSE pg_catalog.sha256(pg_catalog.convert_to(naboom.audit_row_text(ROW(a.*)::naboom.audit_log), ''UTF8'')) END AS h
					FROM naboom.audit_log a WHERE a.id = ANY ($1))
				SELECT coalesce(array_agg(x.id ORDER BY x.id), ''{}'') AS pos, coalesce(array_agg(x.id ORDER BY x.id), ''{}'') AS ids,
					coalesce(array_agg(x.logged_at ORDER BY x.id), ''{}'') AS ats,
					coalesce(array_agg(x.anon ORDER BY x.id), ''{}'') AS anon,
					coalesce(array_agg(x.h ORDER BY x.id), ''{}'') AS hashes
				FROM x' INTO now_rows USING s.ids, s.row_format;
		END IF;
		FOR r IN
			SELECT w.id AS want_id, g.id AS got_id, g.at, g.anon
			FROM (SELECT u.id, CASE WHEN s.community_id IS NULL THEN u.id ELSE s.seq_from + u.ord - 1 END AS pos,
					pg_catalog.substr(s.row_hashes, (u.ord::integer - 1) * 32 + 1, 32) AS h
				FROM unnest(s.ids) WITH ORDINALITY u(id, ord)) w
			FULL JOIN unnest(now_rows.pos, now_rows.ids, now_rows.ats, now_rows.anon, now_rows.hashes) AS g(pos, id, at, anon, h)
				ON g.pos = w.pos AND g.id = w.id
			WHERE w.id IS NULL OR g.id IS NULL OR g.h <> w.h
		LOOP
			IF r.got_id IS NULL AND expired_before IS NOT NULL AND s.first_logged_at < expired_before THEN
				n_expired := n_expired + 1;
			ELSIF r.got_id IS NULL THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'removed', s.seal_id, r.want_id, NULL::timestamptz,
					format('Row %s of seal %s is gone.', r.want_id, s.seal_id);
			ELSIF r.want_id IS NULL THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'inserted', s.seal_id, r.got_id, r.at,
					format('Row %s sits at a position of seal %s (community %s) that the seal does not list.',
						r.got_id, s.seal_id, s.community_id);
			ELSIF r.anon AND s.row_format = 1 THEN
				-- Format 1 hashed the personal fields themselves.
				n_anonymised_v1 := n_anonymised_v1 + 1;
			ELSE
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'changed', s.seal_id, r.got_id, r.at,
					format('Row %s no longer matches its hash in seal %s.', r.got_id, s.seal_id);
			END IF;
		END LOOP;
	END LOOP;
	-- Rows of the range not sealed yet: without a position, or at a position
	-- after their community's last seal.
	EXECUTE 'SELECT count(*) FROM naboom.audit_log a WHERE a.logged_at >= $1 AND a.logged_at < $2 AND a.seq IS NULL'
		INTO k USING from_time, to_time;
	n_unsealed := k;
	FOR r IN
		SELECT p.community_id, coalesce((SELECT max(x.seq_to) FROM naboom.audit_seal x
			WHERE x.community_id = p.community_id), 1) AS sealed_to
		FROM naboom.audit_position p ORDER BY 1
	LOOP
		EXECUTE pg_catalog.format('SELECT count(*) FROM naboom.audit_log a WHERE a.community_id = %s AND a.seq >= %s
			AND a.logged_at >= %L AND a.logged_at < %L', r.community_id, r.sealed_to, from_time, to_time) INTO k;
		n_unsealed := n_unsealed + k;
	END LOOP;
	RETURN QUERY SELECT CASE WHEN n_problems = 0 THEN 'verified' ELSE 'broken' END, NULL::bigint, NULL::bigint,
		NULL::timestamptz,
		format('%s sealed rows in %s seals checked, %s problems; %s rows not sealed yet', n_rows, n_seals,
			n_problems, n_unsealed)
		|| CASE WHEN n_expired > 0 THEN format('; %s rows expired with their month', n_expired) ELSE '' END
		|| CASE WHEN n_anonymised_v1 > 0
			THEN format('; %s anonymised rows under format-1 seals checked for presence only', n_anonymised_v1)
			ELSE '' END;
END
$$;

COMMENT ON FUNCTION naboom.verify_community_audit(timestamptz, timestamptz) IS
	'naboom.verify_audit on a distributed naboom (coordinator only): every community''s chain of seals touching [from_time, to_time) and the rows at its positions, read from the community''s shards (changed, removed, inserted at a sealed position, seal_changed, chain_broken), the seals made before distribute() by their ids, then the summary';

CREATE FUNCTION naboom.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, distribution text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	fk record;
	pol record;
	w record;
	unprepared text;
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
		'deleted_note', 'attachment', 'authority', 'forwarding_rule', 'forwarding', 'authority_update', 'event', 'erasure_step',
		'audit_log'];
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
		-- The audit log too is distributed by community, so that a
		-- community's log sits with it and moves with it: rows without a
		-- community are filed under 0 (which hashes as none, so sealed rows
		-- still verify; the guard lets only that and a position be set), and
		-- each community's rows get positions (seq) after commit.  The same
		-- monthly partitions on every node first.
		prep := prep || ARRAY(
			SELECT pg_catalog.format('CREATE TABLE IF NOT EXISTS naboom.%I PARTITION OF naboom.audit_log %s', c.relname,
				pg_catalog.pg_get_expr(c.relpartbound, c.oid))
			FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
			WHERE h.inhparent = 'naboom.audit_log'::regclass
				AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
			ORDER BY c.relname) || ARRAY[
			'UPDATE naboom.audit_log SET community_id = 0 WHERE community_id IS NULL',
			'ALTER TABLE naboom.audit_log ALTER COLUMN community_id SET DEFAULT 0, ALTER COLUMN community_id SET NOT NULL, DROP CONSTRAINT IF EXISTS audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (community_id, id, logged_at)',
			'CREATE INDEX IF NOT EXISTS audit_log_seq ON naboom.audit_log (community_id, seq)',
			'CREATE INDEX IF NOT EXISTS audit_log_unnumbered ON naboom.audit_log (community_id) WHERE seq IS NULL'];
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.forwarding ADD CONSTRAINT forwarding_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		fks := pg_catalog.array_replace(fks,
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (authority_id) REFERENCES naboom.authority(authority_id) ON DELETE CASCADE',
			'ALTER TABLE naboom.authority_update ADD CONSTRAINT authority_update_authority_id_fkey FOREIGN KEY (community_id, authority_id) REFERENCES naboom.authority(community_id, authority_id) ON DELETE CASCADE');
		FOREACH t IN ARRAY prep LOOP
			EXECUTE t;
		END LOOP;
		-- Every change is idempotent, and checked on every worker afterwards:
		-- now and then (a few seconds after the extension was created) one
		-- worker did not have them, though Citus reported success; it is
		-- prepared again, up to three times.
		FOR attempt IN 1..3 LOOP
			FOR w IN
				SELECT r.nodename, r.nodeport, r.success, r.result
				FROM run_command_on_workers('SET citus.enable_ddl_propagation TO off; ' || pg_catalog.array_to_string(prep, '; ')) r
			LOOP
				IF NOT w.success THEN
					RAISE EXCEPTION 'naboom.distribute: preparing worker %:% failed: %', w.nodename, w.nodeport, w.result;
				END IF;
			END LOOP;
			SELECT pg_catalog.string_agg(r.nodename || ':' || r.nodeport || ' ' || r.result, '; ') INTO unprepared
			FROM run_command_on_workers($check$
				SELECT pg_catalog.to_regclass('naboom.audit_log_unnumbered') IS NOT NULL
					AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
						WHERE c.connamespace = 'naboom'::pg_catalog.regnamespace AND c.contype = 'f'
							AND c.confrelid <> 'naboom.retention_run'::pg_catalog.regclass)
			$check$) r
			WHERE NOT (r.success AND r.result = 't');
			EXIT WHEN unprepared IS NULL;
			IF attempt = 3 THEN
				PERFORM naboom.fail('XX000', 'naboom.citus_prepare', 'a worker could not be prepared for distribution',
					unprepared, 'Check that naboom is installed on every worker, then run naboom.distribute() again.');
			END IF;
			RAISE WARNING 'naboom.distribute: preparing again: %', unprepared;
			PERFORM pg_catalog.pg_sleep(1);
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

		-- (each dropped first, IF EXISTS: now and then a worker's shell had
		-- its foreign key back by now, and Citus repeats the command there)
		-- (Citus takes an ADD CONSTRAINT only as a command of its own)
		FOREACH t IN ARRAY fks LOOP
			EXECUTE pg_catalog.regexp_replace(t, '^ALTER TABLE (\S+) ADD CONSTRAINT (\S+) .*$',
				'ALTER TABLE \1 DROP CONSTRAINT IF EXISTS \2');
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
