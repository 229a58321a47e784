------------------------------------------------------------------------------
-- The audit log (design.md section 6): every change to every domain table
-- and every read of emergency data, written by a C trigger through the
-- background writer, append-only, partitioned by month, sealed in chains
-- that a verifier checks; and the audit trail API for moderators.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- The log
------------------------------------------------------------------------------
CREATE SEQUENCE naboom.audit_log_id_seq;

CREATE TABLE naboom.audit_log (
	id bigint NOT NULL DEFAULT pg_catalog.nextval('naboom.audit_log_id_seq'),
	logged_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	community_id bigint,
	incident_id bigint,
	action text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'READ', 'DENIED', 'DDL', 'ERASED')),
	table_name text,
	row_key jsonb,
	old_values jsonb,
	new_values jsonb,
	actor text,
	db_role text NOT NULL,
	client_addr text,
	user_agent text,
	request_id text,
	success boolean NOT NULL DEFAULT true,
	detail jsonb,
	personal_digest bytea,
	seq bigint,
	PRIMARY KEY (id, logged_at)
) PARTITION BY RANGE (logged_at);

COMMENT ON COLUMN naboom.audit_log.personal_digest IS
	'Set when the row''s personal fields were anonymised (retention after six months, or an erasure): SHA-256 of them as they were, so the seal still verifies';

COMMENT ON COLUMN naboom.audit_log.seq IS
	'On a distributed naboom (Citus): the row''s position in its community''s log, 1, 2, ... in the order rows became visible, given once after commit by the coordinator''s background writer (naboom.number_audit); the community''s seals cover ranges of it. NULL on a single node';

ALTER SEQUENCE naboom.audit_log_id_seq OWNED BY naboom.audit_log.id;

CREATE INDEX audit_log_community ON naboom.audit_log (community_id, id);

CREATE INDEX audit_log_incident ON naboom.audit_log (incident_id, id) WHERE incident_id IS NOT NULL;

CREATE INDEX audit_log_xid ON naboom.audit_log (xid);

COMMENT ON TABLE naboom.audit_log IS
	'Append-only audit log: every change to a domain table, reads of emergency data through the API, refused attempts and trigger DDL on domain tables. Partitioned by month (naboom.audit_maintain); sealed by naboom.seal_audit, checked by naboom.verify_audit';

COMMENT ON COLUMN naboom.audit_log.xid IS 'Top-level transaction that wrote the row (the sealer''s horizon)';

COMMENT ON COLUMN naboom.audit_log.action IS
	'INSERT, UPDATE, DELETE (row changes), READ (emergency data read through the API), DENIED (a refused attempt, written by the audit writer after the attempt rolled back), DDL (a trigger disabled or enabled on an audited table), ERASED (personal data erased)';

COMMENT ON COLUMN naboom.audit_log.row_key IS 'Primary key of the changed row, as JSON';

COMMENT ON COLUMN naboom.audit_log.old_values IS 'UPDATE: the changed columns before; DELETE: the whole row';

COMMENT ON COLUMN naboom.audit_log.new_values IS 'UPDATE: the changed columns after; INSERT: the whole row';

COMMENT ON COLUMN naboom.audit_log.actor IS 'The JWT subject of the request, else the session role';

COMMENT ON COLUMN naboom.audit_log.db_role IS 'The database role of the request (after SET ROLE, outside SECURITY DEFINER functions)';

COMMENT ON COLUMN naboom.audit_log.client_addr IS 'First address of the x-forwarded-for request header the gateway passed, else the connection''s client address';

COMMENT ON COLUMN naboom.audit_log.success IS 'false for refused attempts (action DENIED)';

-- Rows whose month has no partition yet still land somewhere; audit_maintain
-- moves them out when it creates their month.
CREATE TABLE naboom.audit_log_default PARTITION OF naboom.audit_log DEFAULT;

CREATE TABLE naboom.audit_seal (
	seal_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sealed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	xid_from xid8 NOT NULL,
	xid_to xid8 NOT NULL,
	first_logged_at timestamptz,
	last_logged_at timestamptz,
	row_count integer NOT NULL,
	ids bigint[] NOT NULL,
	row_hashes bytea NOT NULL,
	prev_hash bytea NOT NULL,
	seal_hash bytea NOT NULL,
	row_format smallint NOT NULL DEFAULT 2 CHECK (row_format IN (1, 2)),
	community_id bigint,
	seq_from bigint,
	seq_to bigint,
	CHECK (xid_from <= xid_to),
	CONSTRAINT audit_seal_community_range CHECK ((community_id IS NULL AND seq_from IS NULL AND seq_to IS NULL)
		OR (community_id IS NOT NULL AND seq_from >= 1 AND seq_to > seq_from)),
	CHECK (pg_catalog.octet_length(row_hashes) = 32 * row_count)
);

CREATE INDEX audit_seal_time ON naboom.audit_seal (last_logged_at);

CREATE INDEX audit_seal_community ON naboom.audit_seal (community_id, seal_id) WHERE community_id IS NOT NULL;

COMMENT ON COLUMN naboom.audit_seal.community_id IS
	'On a distributed naboom: the community whose chain this seal is part of (0: rows without a community); NULL for a seal of a single node''s log, chained by transaction range';

COMMENT ON COLUMN naboom.audit_seal.seq_from IS
	'On a distributed naboom: the first position (naboom.audit_log.seq) of the community''s log this seal covers; it covers [seq_from, seq_to), ids and row_hashes in that order';

COMMENT ON TABLE naboom.audit_seal IS
	'Seals of the audit log: each holds the ids and SHA-256 hashes of every row written by transactions with xid_from <= xid < xid_to, chained to the previous seal. Written by naboom.seal_audit';

COMMENT ON COLUMN naboom.audit_seal.row_hashes IS 'SHA-256 of each row''s canonical text (naboom.audit_row_text), 32 bytes per row in id order';

COMMENT ON COLUMN naboom.audit_seal.seal_hash IS
	'SHA-256 of prev_hash, the xid range, the ids and the row hashes: the chain head to copy somewhere a superuser of this server cannot write';

------------------------------------------------------------------------------
-- C functions (src/audit.c, src/audit_guard.c, src/audit_hash.c, src/audit_queue.c)
------------------------------------------------------------------------------
CREATE FUNCTION naboom.audit_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'naboom_audit_trigger' LANGUAGE C;

COMMENT ON FUNCTION naboom.audit_trigger() IS
	'AFTER INSERT OR UPDATE OR DELETE row trigger: writes the change to naboom.audit_log. Install with naboom.audit_table';

CREATE FUNCTION naboom.audit_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'naboom_audit_guard' LANGUAGE C;

COMMENT ON FUNCTION naboom.audit_guard() IS
	'Refuses UPDATE, DELETE and TRUNCATE of audit rows and seals, except by naboom''s own retention and maintenance code';

CREATE FUNCTION naboom.audit_ddl() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'naboom_audit_ddl' LANGUAGE C;

COMMENT ON FUNCTION naboom.audit_ddl() IS
	'ddl_command_end event trigger: refuses disabling the audit trigger of an audited table and records every other trigger enable/disable on one';

CREATE FUNCTION naboom.audit_access(community_id bigint, incident_id bigint, what text, detail jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'naboom_audit_access' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_access(bigint, bigint, text, jsonb) IS
	'Record a READ entry (who looked at what) through the audit writer; a full queue makes it wait (naboom.audit_read_wait) and then refuses the read (PT503 naboom.audit_unavailable). Without a writer: in the transaction when it can write, else in the server log';

CREATE FUNCTION naboom.audit_reads(what text, community_ids bigint[], incident_ids bigint[], args jsonb[])
RETURNS void
AS 'MODULE_PATHNAME', 'naboom_audit_reads' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_reads(text, bigint[], bigint[], jsonb[]) IS
	'Record one READ entry per element of the arrays (a read of many records through the API function what), packed into few queue entries and recorded all together as audit_access records one; or refuse the read';

CREATE FUNCTION naboom.audit_refusal(state text, key text, detail text) RETURNS void
AS 'MODULE_PATHNAME', 'naboom_audit_refusal' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_refusal(text, text, text) IS
	'Record a DENIED entry for a refusal that matters (insufficient privilege, bad identity, illegal transition, hidden incident) before the error is raised; it survives the rollback through the audit writer';

CREATE FUNCTION naboom.audit_queue_stats(OUT preloaded boolean, OUT pending integer, OUT written bigint,
	OUT dropped_full bigint, OUT dropped_other_db bigint, OUT full_waits bigint, OUT reads_refused bigint) RETURNS record
AS 'MODULE_PATHNAME', 'naboom_audit_queue_stats' LANGUAGE C VOLATILE;

COMMENT ON FUNCTION naboom.audit_queue_stats() IS
	'The audit writer''s queue since server start: whether naboom was preloaded, entries waiting, written, turned away by a full queue (each in the server log instead), dropped for another database; reads that found the queue full and waited, and of those the ones refused (PT503) because it stayed full';

CREATE FUNCTION naboom.audit_queue_wait(timeout_ms integer DEFAULT 5000) RETURNS boolean
AS 'MODULE_PATHNAME', 'naboom_audit_queue_wait' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.audit_queue_wait(integer) IS
	'Wait until the audit writer has committed every entry queued before the call; false on timeout or when naboom is not preloaded';

CREATE FUNCTION naboom.audit_row_text(a naboom.audit_log) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.concat_ws(E'\x1f', a.id, (EXTRACT(epoch FROM a.logged_at) * 1000000)::bigint,
		a.xid, coalesce(NULLIF(a.community_id, 0)::text, '-'), coalesce(a.incident_id::text, '-'), a.action,
		coalesce(a.table_name, '-'), coalesce(a.row_key::text, '-'), coalesce(a.old_values::text, '-'),
		coalesce(a.new_values::text, '-'), coalesce(a.actor, '-'), a.db_role, coalesce(a.client_addr, '-'),
		coalesce(a.user_agent, '-'), coalesce(a.request_id, '-'), a.success, coalesce(a.detail::text, '-'))
$$;

COMMENT ON FUNCTION naboom.audit_row_text(naboom.audit_log) IS
	'The canonical text of an audit row that its seal hash covers (independent of TimeZone and DateStyle)';

CREATE FUNCTION naboom.audit_seal_hash(prev_hash bytea, xid_from xid8, xid_to xid8, ids bigint[], row_hashes bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.sha256(prev_hash || pg_catalog.convert_to(xid_from::text || ':' || xid_to::text || ':'
		|| pg_catalog.array_to_string(ids, ','), 'UTF8') || row_hashes)
$$;

COMMENT ON FUNCTION naboom.audit_seal_hash(bytea, xid8, xid8, bigint[], bytea) IS
	'The hash of a seal: SHA-256 of the previous seal''s hash, the xid range, the ids and the row hashes';

CREATE FUNCTION naboom.audit_community_seal_hash(prev_hash bytea, community_id bigint, seq_from bigint, seq_to bigint,
	ids bigint[], row_hashes bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT pg_catalog.sha256(prev_hash || pg_catalog.convert_to('community ' || community_id::text || ':' || seq_from::text
		|| ':' || seq_to::text || ':' || pg_catalog.array_to_string(ids, ','), 'UTF8') || row_hashes)
$$;

COMMENT ON FUNCTION naboom.audit_community_seal_hash(bytea, bigint, bigint, bigint, bigint[], bytea) IS
	'The hash of a seal of a community''s chain (a distributed naboom): SHA-256 of the previous seal''s hash, the community, the range of positions, the ids and the row hashes';

------------------------------------------------------------------------------
-- Sealing and verifying: chains of seals over committed rows, row hashes in
-- format 2 (see naboom.audit_row_hash), months expired by retention
------------------------------------------------------------------------------
CREATE FUNCTION naboom.seal_audit(max_rows integer DEFAULT 100000) RETURNS naboom.audit_seal
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	prev naboom.audit_seal;
	anchor naboom.audit_expiry;
	x_from xid8 := '0';
	x_to xid8;
	cut xid8;
	s naboom.audit_seal;
BEGIN
	IF max_rows IS NULL OR max_rows < 1 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'max_rows must be at least 1',
			format('It is %s.', coalesce(max_rows::text, 'NULL')), 'Use e.g. 100000.');
	END IF;
	-- One sealer at a time; a second run has nothing to do.
	IF NOT pg_try_advisory_xact_lock(7089066834011223041) THEN
		RETURN NULL;
	END IF;
	-- A distributed naboom seals each community's chain by position.
	IF naboom.is_distributed() THEN
		RETURN naboom.seal_community_audit(max_rows);
	END IF;
	SELECT * INTO prev FROM naboom.audit_seal ORDER BY seal_id DESC LIMIT 1;
	IF FOUND THEN
		x_from := prev.xid_to;
		-- Transaction ids only go up in one cluster.  Behind the last seal,
		-- this is a restore into a cluster whose ids start lower: new rows
		-- would never be sealed, so say so instead of sealing nothing.
		IF pg_current_xact_id() < prev.xid_to THEN
			PERFORM naboom.fail('55000', 'naboom.xid_behind_seals',
				'the audit log was sealed up to transaction ids this cluster has not reached',
				format('The last seal (%s) ends at transaction %s; this cluster is at %s. The database was restored into another cluster.',
					prev.seal_id, prev.xid_to, pg_current_xact_id()),
				'Set this cluster''s transaction id epoch above the original''s with pg_resetwal -e, as README "Backup and restore" says, then seal again.');
		END IF;
	ELSE
		-- Every seal retired with its months: chain to the last one.
		SELECT * INTO anchor FROM naboom.audit_expiry e WHERE e.anchor_seal_id IS NOT NULL
		ORDER BY e.anchor_seal_id DESC LIMIT 1;
		IF FOUND THEN
			x_from := anchor.anchor_xid_to;
			prev.seal_hash := anchor.anchor_hash;
		END IF;
	END IF;
	-- Every transaction below the oldest one still running has finished:
	-- its rows are all visible now and no new row can get such an xid.
	x_to := pg_snapshot_xmin(pg_current_snapshot());
	-- At most about max_rows rows, never splitting a transaction's rows.
	SELECT a.xid INTO cut FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to
	ORDER BY a.xid OFFSET max_rows LIMIT 1;
	IF cut IS NOT NULL THEN
		IF cut = x_from THEN
			SELECT min(a.xid) INTO cut FROM naboom.audit_log a WHERE a.xid > x_from AND a.xid < x_to;
		END IF;
		x_to := coalesce(cut, x_to);
	END IF;
	IF x_to <= x_from OR NOT EXISTS (SELECT 1 FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to) THEN
		RETURN NULL;
	END IF;
	WITH r AS (
		SELECT a.id, a.xid, a.logged_at, naboom.audit_row_hash(a) AS h
		FROM naboom.audit_log a WHERE a.xid >= x_from AND a.xid < x_to
	), agg AS (
		SELECT count(*)::integer AS n, array_agg(r.id ORDER BY r.xid, r.id) AS ids,
			string_agg(r.h, ''::bytea ORDER BY r.xid, r.id) AS hashes,
			min(r.logged_at) AS first_at, max(r.logged_at) AS last_at
		FROM r
	)
	INSERT INTO naboom.audit_seal (xid_from, xid_to, first_logged_at, last_logged_at, row_count, ids,
		row_hashes, prev_hash, seal_hash, row_format)
	SELECT x_from, x_to, agg.first_at, agg.last_at, agg.n, agg.ids, agg.hashes,
		coalesce(prev.seal_hash, '\x'::bytea),
		naboom.audit_seal_hash(coalesce(prev.seal_hash, '\x'::bytea), x_from, x_to, agg.ids, agg.hashes), 2
	FROM agg
	RETURNING * INTO s;
	-- The chain head also goes to the server log: a copy outside the tables.
	RAISE LOG 'naboom audit seal %: % rows, xid % to %, hash %', s.seal_id, s.row_count, x_from, x_to,
		encode(s.seal_hash, 'hex');
	RETURN s;
END
$$;

COMMENT ON FUNCTION naboom.seal_audit(integer) IS
	'Seal the audit rows of every transaction that has finished since the last seal (at most about max_rows, never splitting a transaction), format 2 (naboom.audit_row_hash). NULL if another seal_audit holds the lock or nothing is new. Run every minute by pg_cron';

CREATE FUNCTION naboom.verify_audit(from_time timestamptz, to_time timestamptz,
	OUT problem text, OUT seal_id bigint, OUT audit_id bigint, OUT logged_at timestamptz, OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	s naboom.audit_seal;
	before naboom.audit_seal;
	anchor naboom.audit_expiry;
	r record;
	n_rows bigint := 0;
	n_seals integer := 0;
	n_problems integer := 0;
	n_unsealed bigint := 0;
	n_expired bigint := 0;
	n_anonymised_v1 bigint := 0;
	last_to xid8;
BEGIN
	IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_range', 'from_time must be before to_time',
			format('The range is [%s, %s).', from_time, to_time), 'Give a time range, e.g. the last month.');
	END IF;
	-- A distributed naboom verifies each community's chain by position.
	IF naboom.is_distributed() THEN
		RETURN QUERY SELECT * FROM naboom.verify_community_audit(from_time, to_time);
		RETURN;
	END IF;
	SELECT * INTO anchor FROM naboom.audit_expiry e WHERE e.anchor_seal_id IS NOT NULL
	ORDER BY e.anchor_seal_id DESC LIMIT 1;
	FOR s IN
		SELECT * FROM naboom.audit_seal x WHERE x.last_logged_at >= from_time AND x.first_logged_at < to_time
		ORDER BY x.seal_id
	LOOP
		n_seals := n_seals + 1;
		n_rows := n_rows + s.row_count;
		-- The seal itself, and its link to the one before.
		IF s.seal_hash IS DISTINCT FROM naboom.audit_seal_hash(s.prev_hash, s.xid_from, s.xid_to, s.ids, s.row_hashes)
			OR pg_catalog.octet_length(s.row_hashes) <> 32 * pg_catalog.cardinality(s.ids) THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'seal_changed', s.seal_id, NULL::bigint, s.sealed_at,
				'The seal''s fields no longer hash to its seal_hash.';
		END IF;
		-- The chain is followed by hash and transaction range, not by id: seal
		-- ids come from a sequence, which skips values after a rolled-back
		-- or crashed seal_audit.  Each seal must name the hash of the seal
		-- before it and start where that one ended, so a removed or changed
		-- seal still breaks the chain.
		SELECT * INTO before FROM naboom.audit_seal x WHERE x.seal_id < s.seal_id ORDER BY x.seal_id DESC LIMIT 1;
		IF before.seal_id IS NULL THEN
			-- The first seal left: the start of the chain, or the seal after
			-- the last one retired with its months.
			IF NOT coalesce((s.prev_hash = '\x'::bytea AND s.xid_from = '0'::xid8 AND anchor.anchor_seal_id IS NULL)
				OR (anchor.anchor_seal_id < s.seal_id AND anchor.anchor_hash = s.prev_hash
					AND anchor.anchor_xid_to = s.xid_from), false) THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
					format('The seal before %s is missing or changed.', s.seal_id);
			END IF;
		ELSIF before.seal_hash <> s.prev_hash OR before.xid_to <> s.xid_from THEN
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'chain_broken', s.seal_id, NULL::bigint, s.sealed_at,
				format('The seal before %s is missing or changed.', s.seal_id);
		END IF;
		-- Every sealed row, as it is now.
		FOR r IN
			SELECT u.id, u.ord, a.logged_at AS at, a.id IS NULL AS gone, a.personal_digest IS NOT NULL AS anonymised,
				EXISTS (SELECT 1 FROM naboom.audit_seal_expired x JOIN naboom.audit_expiry e ON e.partition = x.partition
					WHERE x.seal_id = s.seal_id AND u.id = ANY (x.ids)) AS expired
			FROM unnest(s.ids) WITH ORDINALITY u(id, ord)
			LEFT JOIN naboom.audit_log a ON a.id = u.id
			WHERE a.id IS NULL OR CASE WHEN s.row_format = 1
					THEN pg_catalog.sha256(pg_catalog.convert_to(naboom.audit_row_text(a), 'UTF8'))
					ELSE naboom.audit_row_hash(a) END
				<> pg_catalog.substr(s.row_hashes, (u.ord::integer - 1) * 32 + 1, 32)
		LOOP
			IF r.gone AND r.expired THEN
				n_expired := n_expired + 1;
			ELSIF NOT r.gone AND r.anonymised AND s.row_format = 1 THEN
				-- Format 1 hashed the personal fields themselves.
				n_anonymised_v1 := n_anonymised_v1 + 1;
			ELSIF r.gone THEN
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'removed', s.seal_id, r.id, NULL::timestamptz,
					format('Row %s of seal %s is gone.', r.id, s.seal_id);
			ELSE
				n_problems := n_problems + 1;
				RETURN QUERY SELECT 'changed', s.seal_id, r.id, r.at,
					format('Row %s no longer matches its hash in seal %s.', r.id, s.seal_id);
			END IF;
		END LOOP;
		-- Rows in the seal's transactions that the seal does not list.
		FOR r IN
			SELECT a.id, a.logged_at AS at FROM naboom.audit_log a
			WHERE a.xid >= s.xid_from AND a.xid < s.xid_to AND NOT (a.id = ANY (s.ids))
		LOOP
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'inserted', s.seal_id, r.id, r.at,
				format('Row %s belongs to the transactions of seal %s but was not there when it was sealed.', r.id, s.seal_id);
		END LOOP;
	END LOOP;
	-- Rows of the range from transactions that no seal covers.
	SELECT x.xid_to INTO last_to FROM naboom.audit_seal x ORDER BY x.seal_id DESC LIMIT 1;
	last_to := coalesce(last_to, anchor.anchor_xid_to);
	FOR r IN
		SELECT a.id, a.logged_at AS at, a.xid FROM naboom.audit_log a
		WHERE a.logged_at >= from_time AND a.logged_at < to_time
			AND (last_to IS NULL OR a.xid >= last_to
				OR NOT EXISTS (SELECT 1 FROM naboom.audit_seal x WHERE a.xid >= x.xid_from AND a.xid < x.xid_to))
	LOOP
		IF last_to IS NULL OR r.xid >= last_to THEN
			n_unsealed := n_unsealed + 1;
		ELSE
			n_problems := n_problems + 1;
			RETURN QUERY SELECT 'inserted', NULL::bigint, r.id, r.at,
				format('Row %s has a transaction id below the sealed horizon but no seal covers it.', r.id);
		END IF;
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

COMMENT ON FUNCTION naboom.verify_audit(timestamptz, timestamptz) IS
	'Prove that no audit row of the seals touching [from_time, to_time) was changed, removed or inserted afterwards: one row per problem (changed, removed, inserted, seal_changed, chain_broken) with the seal and row, then a summary row (verified or broken) with the counts, the rows not sealed yet and the rows expired with a dropped month. Anonymised rows verify (format 2)';

CREATE FUNCTION naboom.apply_member_touch(community_id bigint, user_ref text, active_at timestamptz) RETURNS void
LANGUAGE sql VOLATILE AS $$
	-- The member's own activity: the audit entry of the update names them.
	SELECT pg_catalog.set_config('request.jwt.claims', pg_catalog.json_build_object('sub', user_ref)::text, true);
	UPDATE naboom.member m SET last_active_at = active_at
	WHERE m.community_id = apply_member_touch.community_id AND m.user_ref = apply_member_touch.user_ref
		AND m.last_active_at < active_at - interval '1 day';
	SELECT pg_catalog.set_config('request.jwt.claims', '', true);
$$;

COMMENT ON FUNCTION naboom.apply_member_touch(bigint, text, timestamptz) IS
	'Record a member''s activity that a read-only transaction queued (naboom.touch_member), at most one write a day; called by the audit writer only';

CREATE FUNCTION naboom.audit_community(community_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF community_id IS NOT NULL THEN
		RETURN community_id;
	END IF;
	-- (a worker added after distribute() has the shell its CREATE EXTENSION
	-- made: Citus's metadata tells there)
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute t WHERE t.attrelid = 'naboom.audit_log'::pg_catalog.regclass
			AND t.attname = 'community_id' AND t.attnotnull) OR naboom.is_distributed() THEN
		RETURN 0;
	END IF;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION naboom.audit_community(bigint) IS
	'The community an audit row is filed under: its own, or none (NULL), which a distributed naboom files under 0 (its log''s distribution column is NOT NULL; 0 hashes as none)';

CREATE FUNCTION naboom.audit_insert_queued(entry jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
	-- A member's activity queued by a read-only transaction (action TOUCH)
	-- is applied, not logged.
	SELECT naboom.apply_member_touch((entry->>'community_id')::bigint, entry->>'actor',
		timestamptz 'epoch' + (entry->>'logged_at_us')::bigint * interval '1 microsecond')
	WHERE entry->>'action' = 'TOUCH';
	-- A read of many records comes packed (naboom.audit_reads): detail
	-- {"function": f, "reads": [[community, incident, args], ...]} is one
	-- row per record, with detail {"function": f, "args": args}.
	INSERT INTO naboom.audit_log (logged_at, community_id, incident_id, action, table_name, row_key,
		actor, db_role, client_addr, user_agent, request_id, success, detail)
	SELECT coalesce(timestamptz 'epoch' + (entry->>'logged_at_us')::bigint * interval '1 microsecond',
			pg_catalog.clock_timestamp()),
		coalesce(CASE WHEN r.packed THEN (r.rec->>0)::bigint ELSE (entry->>'community_id')::bigint END,
			naboom.audit_community(NULL)),
		CASE WHEN r.packed THEN (r.rec->>1)::bigint ELSE (entry->>'incident_id')::bigint END,
		entry->>'action',
		entry->>'table_name', entry->'row_key', entry->>'actor', coalesce(entry->>'db_role', '?'),
		entry->>'client_addr', entry->>'user_agent', entry->>'request_id',
		coalesce((entry->>'success')::boolean, false),
		CASE WHEN r.packed THEN pg_catalog.jsonb_build_object('function', entry->'detail'->'function', 'args', r.rec->2)
			ELSE entry->'detail' END
	FROM (SELECT false AS packed, NULL::jsonb AS rec
			WHERE pg_catalog.jsonb_typeof(entry->'detail'->'reads') IS DISTINCT FROM 'array'
		UNION ALL
		SELECT true, e.rec FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(entry->'detail'->'reads') = 'array'
			THEN entry->'detail'->'reads' END) AS e(rec)) r
	WHERE entry->>'action' IS DISTINCT FROM 'TOUCH'
$$;

COMMENT ON FUNCTION naboom.audit_insert_queued(jsonb) IS
	'Write one entry of the audit writer''s queue (a refused attempt, a read, or a read of many records packed by audit_reads: one row each), or apply a queued member activity (action TOUCH); called by the audit writer only';

------------------------------------------------------------------------------
-- Partitions
------------------------------------------------------------------------------
CREATE FUNCTION naboom.audit_maintain(months_ahead integer DEFAULT 3) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	m date;
	-- Months are calendar months in UTC.
	this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
	name text;
	made text[] := '{}';
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		PERFORM naboom.fail('22023', 'naboom.invalid_count', 'months_ahead must be between 0 and 120',
			format('It is %s.', coalesce(months_ahead::text, 'NULL')), 'Use e.g. 3.');
	END IF;
	-- A distributed log is partitioned on the coordinator (Citus makes each
	-- month's shards, with the month's trigger).
	IF naboom.is_distributed() THEN
		IF NOT naboom.is_coordinator() THEN
			PERFORM naboom.fail('55000', 'naboom.coordinator_only', 'a distributed naboom''s audit log is partitioned on the coordinator',
				'Citus makes the shards of each month the coordinator makes.', 'Run naboom.audit_maintain() on the coordinator.');
		END IF;
		PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	END IF;
	-- Months that already have rows in the default partition come first.
	FOR m IN
		SELECT DISTINCT date_trunc('month', d.logged_at AT TIME ZONE 'UTC')::date FROM naboom.audit_log_default d
		UNION
		SELECT (this_month + make_interval(months => k))::date FROM generate_series(0, months_ahead) k
		ORDER BY 1
	LOOP
		name := 'audit_log_' || to_char(m, 'YYYYMM');
		CONTINUE WHEN to_regclass('naboom.' || name) IS NOT NULL;
		IF EXISTS (SELECT 1 FROM naboom.audit_log_default d
				WHERE d.logged_at >= m::timestamp AT TIME ZONE 'UTC'
					AND d.logged_at < (m + interval '1 month')::timestamp AT TIME ZONE 'UTC') THEN
			-- Rows logged before their month had a partition: the new
			-- partition may not overlap the default's rows, so they move.
			-- (Not on a distributed naboom, whose default partition is in
			-- shards: that month stays in the default partition.)
			IF naboom.is_distributed() THEN
				RAISE WARNING 'naboom.audit_maintain: % has rows in the default partition; on a distributed naboom it gets no partition', name
					USING HINT = 'Its rows stay in naboom.audit_log_default and retention does not drop them; the daily job makes each month''s partition three months ahead so that this does not happen.';
				CONTINUE;
			END IF;
			PERFORM naboom.audit_move_default(m, name);
		ELSE
			EXECUTE format('CREATE TABLE naboom.%I PARTITION OF naboom.audit_log FOR VALUES FROM (%L) TO (%L)',
				name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
		END IF;
		EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.%I
			FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard()', name);
		EXECUTE format('ALTER TABLE naboom.%I ENABLE ALWAYS TRIGGER audit_no_truncate', name);
		-- Every partition belongs to the extension, as those of the install
		-- script do: pg_dump then leaves their definitions to CREATE
		-- EXTENSION and dumps their rows with the default partition's (see
		-- 99_security), so a restore in another month finds no clash.
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
					AND d.objid = ('naboom.' || pg_catalog.quote_ident(name))::pg_catalog.regclass
					AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e') THEN
			EXECUTE format('ALTER EXTENSION naboom ADD TABLE naboom.%I', name);
		END IF;
		made := made || name;
	END LOOP;
	RETURN made;
END
$$;

COMMENT ON FUNCTION naboom.audit_maintain(integer) IS
	'Create the monthly partitions of naboom.audit_log from this month to months_ahead months ahead (and for any month whose rows are in the default partition); returns the partitions made, each a member of the extension so that pg_dump dumps its rows with the default partition''s. Run daily by pg_cron';

CREATE FUNCTION naboom.audit_move_default(month date, name text) RETURNS bigint
AS 'MODULE_PATHNAME', 'naboom_audit_move_default' LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION naboom.audit_move_default(date, text) IS
	'Create the partition of a month whose rows are in the default partition and move them into it (ids, content and seals unchanged)';

------------------------------------------------------------------------------
-- Auditing a table
------------------------------------------------------------------------------
CREATE FUNCTION naboom.audit_table(target regclass, per_statement boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF target IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
			WHERE c.oid = target AND c.relkind IN ('r', 'p')) THEN
		PERFORM naboom.fail('22023', 'naboom.not_a_table', format('%s is not a table', target),
			'Only ordinary and partitioned tables can be audited.', 'Name a table.');
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = target AND t.tgname = 'audit_changes') THEN
		RETURN;
	END IF;
	IF coalesce(per_statement, false) THEN
		-- Rows written in bursts: one entry per statement for INSERT and
		-- DELETE (all rows, from the transition table), per row for UPDATE.
		EXECUTE format('CREATE TRIGGER audit_changes AFTER UPDATE ON %s
			FOR EACH ROW EXECUTE FUNCTION naboom.audit_trigger()', target);
		EXECUTE format('CREATE TRIGGER audit_inserts AFTER INSERT ON %s REFERENCING NEW TABLE AS naboom_new
			FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_trigger()', target);
		EXECUTE format('CREATE TRIGGER audit_deletes AFTER DELETE ON %s REFERENCING OLD TABLE AS naboom_old
			FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_trigger()', target);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_inserts', target);
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_deletes', target);
	ELSE
		EXECUTE format('CREATE TRIGGER audit_changes AFTER INSERT OR UPDATE OR DELETE ON %s
			FOR EACH ROW EXECUTE FUNCTION naboom.audit_trigger()', target);
	END IF;
	-- ALWAYS: session_replication_role = replica does not switch it off.
	-- The name sorts before naboom's other AFTER triggers (incident_alert,
	-- incident_journal), so a row's entry comes before those of the rows
	-- its triggers write.
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_changes', target);
END
$$;

COMMENT ON FUNCTION naboom.audit_table(regclass, boolean) IS
	'Audit every INSERT, UPDATE and DELETE of a table from now on (idempotent); per_statement: one entry per INSERT or DELETE statement holding all its rows (for tables written in bursts). Its community_id and incident_id columns, if it has them, file the entries under that community and incident';

CREATE FUNCTION naboom.audited_tables() RETURNS SETOF regclass
LANGUAGE sql STABLE AS $$
	SELECT t.tgrelid::regclass FROM pg_catalog.pg_trigger t
	WHERE t.tgname = 'audit_changes' AND NOT t.tgisinternal ORDER BY t.tgrelid
$$;

COMMENT ON FUNCTION naboom.audited_tables() IS 'Tables with the audit_changes trigger, in the order they were created (oid)';

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON naboom.audit_log
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.audit_log_default
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON naboom.audit_seal
	FOR EACH ROW EXECUTE FUNCTION naboom.audit_guard();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON naboom.audit_seal
	FOR EACH STATEMENT EXECUTE FUNCTION naboom.audit_guard();

ALTER TABLE naboom.audit_log ENABLE ALWAYS TRIGGER audit_append_only;

ALTER TABLE naboom.audit_log ENABLE ALWAYS TRIGGER audit_no_truncate;

ALTER TABLE naboom.audit_log_default ENABLE ALWAYS TRIGGER audit_no_truncate;

ALTER TABLE naboom.audit_seal ENABLE ALWAYS TRIGGER audit_append_only;

ALTER TABLE naboom.audit_seal ENABLE ALWAYS TRIGGER audit_no_truncate;

CREATE EVENT TRIGGER naboom_audit_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION naboom.audit_ddl();

CREATE EVENT TRIGGER naboom_audit_drop ON ddl_command_start WHEN TAG IN ('DROP TRIGGER')
	EXECUTE FUNCTION naboom.audit_ddl();

-- Event triggers too would otherwise not fire under session_replication_role = replica.
ALTER EVENT TRIGGER naboom_audit_ddl ENABLE ALWAYS;

ALTER EVENT TRIGGER naboom_audit_drop ENABLE ALWAYS;

------------------------------------------------------------------------------
-- The API: the audit trail for moderators and admins
------------------------------------------------------------------------------
CREATE TYPE naboom_api.audit_entry AS (
	id bigint,
	logged_at timestamptz,
	action text,
	table_name text,
	reference text,
	row_key jsonb,
	old_values jsonb,
	new_values jsonb,
	actor text,
	db_role text,
	client_addr text,
	user_agent text,
	request_id text,
	success boolean,
	detail jsonb
);

COMMENT ON TYPE naboom_api.audit_entry IS 'One audit log entry as a moderator or admin sees it';

CREATE FUNCTION naboom.audit_rows(community_id bigint, incident_id bigint, before_id bigint, max_count integer)
RETURNS SETOF naboom_api.audit_entry
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
	IF NOT naboom.is_distributed() THEN
		RETURN QUERY
		SELECT a.id, a.logged_at, a.action, a.table_name, i.reference, a.row_key, a.old_values, a.new_values,
			a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id, a.success, a.detail
		FROM naboom.audit_log a
		LEFT JOIN naboom.incident i ON i.community_id = a.community_id AND i.incident_id = a.incident_id
		WHERE a.community_id = community_id
			AND (incident_id IS NULL OR a.incident_id = incident_id)
			AND (before_id IS NULL OR a.id < before_id)
		ORDER BY a.id DESC
		LIMIT max_count;
		RETURN;
	END IF;
	-- On a Citus cluster the community's log sits with its shards, in the
	-- order of its positions (seq; rows get theirs a moment after commit):
	-- one statement Citus routes to the community's node, then named.  An
	-- entry's id there is its position, as an event's is in the stream.
	RETURN QUERY EXECUTE 'SELECT a.seq, a.logged_at, a.action, a.table_name, i.reference, a.row_key, a.old_values,
			a.new_values, a.actor, a.db_role, a.client_addr, a.user_agent, a.request_id, a.success, a.detail
		FROM naboom.audit_log a
		LEFT JOIN naboom.incident i ON i.community_id = $1 AND i.community_id = a.community_id
			AND i.incident_id = a.incident_id
		WHERE a.community_id = $1 AND a.seq IS NOT NULL AND ($2::bigint IS NULL OR a.incident_id = $2)
			AND ($3::bigint IS NULL OR a.seq < $3)
		ORDER BY a.seq DESC LIMIT $4'
		USING community_id, incident_id, before_id, max_count;
END
$$;

COMMENT ON FUNCTION naboom.audit_rows(bigint, bigint, bigint, integer) IS
	'A community''s audit entries (of one incident if incident_id is given), newest first, before before_id';

CREATE FUNCTION naboom.person_audit_rows(user_ref text)
RETURNS SETOF naboom.audit_log
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
	IF NOT naboom.is_distributed() THEN
		RETURN QUERY
		SELECT x.* FROM naboom.audit_log x WHERE x.actor = user_ref
		UNION
		SELECT x.* FROM naboom.audit_log x WHERE x.row_key ? 'user_ref' AND x.row_key->>'user_ref' = user_ref;
		RETURN;
	END IF;
	-- a distributed naboom: every community's log, on every node
	RETURN QUERY EXECUTE 'SELECT x.* FROM naboom.audit_log x WHERE x.actor = $1
		OR (x.row_key ? ''user_ref'' AND x.row_key->>''user_ref'' = $1)
		ORDER BY x.community_id, x.seq NULLS LAST, x.id' USING user_ref;
END
$$;

COMMENT ON FUNCTION naboom.person_audit_rows(text) IS
	'The audit rows by or keyed by a person (their export), from every community''s log on a distributed naboom';

CREATE FUNCTION naboom_api.incident_audit(reference text, before_id bigint DEFAULT NULL, max_count integer DEFAULT 100)
RETURNS SETOF naboom_api.audit_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 1000);
	actor text := naboom.current_actor();
	f record := naboom.find_incident(reference, actor, false);
	i naboom.incident := f.incident;
BEGIN
	IF NOT (actor IS NULL AND naboom.is_service()) AND coalesce(f.actor_role < 'moderator', true) THEN
		PERFORM naboom.fail('42501', 'naboom.insufficient_role', 'only moderators and admins see the audit trail',
			format('You are %s of this incident''s community.', coalesce('a ' || f.actor_role::text, 'not a member')),
			'Ask a moderator of the community.');
	END IF;
	RETURN QUERY SELECT * FROM naboom.audit_rows(i.community_id, i.incident_id, before_id, n);
END
$$;

COMMENT ON FUNCTION naboom_api.incident_audit(text, bigint, integer) IS
	E'@simpleCollections only\nThe audit trail of one incident (its row, timeline, alerts, reads and refused attempts), newest first; page with before_id = the last id seen. Moderators and admins of its community';

CREATE FUNCTION naboom_api.community_audit(community text, before_id bigint DEFAULT NULL, max_count integer DEFAULT 100)
RETURNS SETOF naboom_api.audit_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_variable
DECLARE
	n integer := naboom.check_count('max_count', max_count, 1000);
	c naboom.community := naboom.community_by_slug(community);
	my_role naboom.member_role := naboom.require_role(c, naboom.require_actor(), 'admin');
BEGIN
	RETURN QUERY SELECT * FROM naboom.audit_rows(c.community_id, NULL, before_id, n);
END
$$;

COMMENT ON FUNCTION naboom_api.community_audit(text, bigint, integer) IS
	E'@simpleCollections only\nA community''s whole audit log, newest first; page with before_id = the last id seen. Admins of the community';

CREATE INDEX audit_log_actor ON naboom.audit_log (actor, id) WHERE actor IS NOT NULL;

CREATE INDEX audit_log_user_ref ON naboom.audit_log ((row_key->>'user_ref')) WHERE row_key ? 'user_ref';

CREATE INDEX audit_log_logged_at ON naboom.audit_log USING brin (logged_at);

COMMENT ON COLUMN naboom.audit_seal.row_format IS
	'1: row_hashes are SHA-256 of naboom.audit_row_text (seals before 0.5.0); 2: of naboom.audit_row_hash, which anonymisation preserves';

CREATE FUNCTION naboom.audit_redact_json(j jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'naboom_audit_redact_json' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.audit_redact_json(jsonb) IS
	'An audit row''s JSON (row_key, old_values, new_values, detail) with the value of every key that can hold personal data set to null: what is kept is a fixed list of workflow, time and reference keys (src/audit_hash.c). Applying it twice changes nothing';

CREATE FUNCTION naboom.audit_personal_digest(a naboom.audit_log) RETURNS bytea
AS 'MODULE_PATHNAME', 'naboom_audit_personal_digest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.audit_personal_digest(naboom.audit_log) IS
	'SHA-256 of the fields of an audit row that can identify a person (row key, old and new values, actor, client address, user agent, request id, detail): what anonymising keeps in personal_digest';

CREATE FUNCTION naboom.audit_row_hash(a naboom.audit_log) RETURNS bytea
AS 'MODULE_PATHNAME', 'naboom_audit_row_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION naboom.audit_row_hash(naboom.audit_log) IS
	'Format-2 hash of an audit row: SHA-256 of its core fields, of the SHA-256 of its personal fields (personal_digest once anonymised) and of its anonymised JSON. Anonymising a row leaves it unchanged; any other change alters it';

