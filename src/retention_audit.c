/*-------------------------------------------------------------------------
 *
 * retention_audit.c
 *	  The audit_log class of naboom.run_retention: audit rows anonymised
 *	  after anonymise_after (their format-2 seals still verify), whole
 *	  months dropped after keep with their seals retired, and events,
 *	  alerts and dead rate counters deleted.  Incidents under legal hold
 *	  keep their audit rows, events and alerts, except for a whole month
 *	  dropped after its year.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit_guard.h"
#include "citus.h"
#include "retention_audit.h"
#include "retention_engine.h"
#include "spi_util.h"

/*
 * Anonymise audit rows logged in (from, to]: batches in id order, each
 * committed.  The rows keep their seal (format 2, see the upgrade script).
 */
static int64
AnonymiseAudit(Run *r, Step *s, Datum from, Datum to)
{
	Oid			types[6] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT4OID, INT8ARRAYOID, INT8ARRAYOID};
	Datum		values[6] = {from, to, Int64GetDatum(0), Int32GetDatum(r->batch), (Datum) 0, (Datum) 0};
	int64		total = 0;
	bool		distributed = NaboomCitusGroup() >= 0;	/* the coordinator or a worker */
	List	   *targets;
	ListCell   *lc;

	/*
	 * On a distributed naboom the incidents under legal hold are read first (Citus cannot join a local
	 * table's UPDATE to a distributed table); kept in the run's context,
	 * which outlives the batches' commits.
	 */
	if (distributed)
	{
		MemoryContext old;
		bool		isnull;

		NaboomExecute("SELECT coalesce(pg_catalog.array_agg(i.community_id), '{}'),"
					  " coalesce(pg_catalog.array_agg(i.incident_id), '{}')"
					  " FROM naboom.incident i WHERE i.legal_hold", 0, NULL, NULL, SPI_OK_SELECT);
		old = MemoryContextSwitchTo(r->cxt);
		values[4] = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
		values[5] = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull), false, -1);
		MemoryContextSwitchTo(old);
	}

	/*
	 * A distributed log is anonymised on each node for its own shards of it
	 * (each shard by itself), where naboom's own code may change audit rows.
	 */
	targets = NaboomAuditLogTargets(r->cxt);
	foreach(lc, targets)
	{
		values[2] = Int64GetDatum(0);
		for (;;)
		{
			bool		isnull;
			Datum		last;

			NaboomAuditPrivileged = true;
			NaboomExecute(NaboomOnAuditTarget(psprintf("WITH b AS (SELECT a.id, a.logged_at FROM naboom.audit_log a"
								   "  WHERE a.logged_at > $1 AND a.logged_at <= $2 AND a.personal_digest IS NULL AND a.id > $3"
								   "  ORDER BY a.id LIMIT $4),"
								   " u AS (UPDATE naboom.audit_log a SET" NABOOM_AUDIT_REDACT_SET
								   "  FROM b WHERE a.id = b.id AND a.logged_at = b.logged_at AND a.personal_digest IS NULL"
								   "   AND NOT EXISTS (%s)"
								   "  RETURNING 1)"
								   " SELECT (SELECT max(b.id) FROM b), (SELECT count(*) FROM u)",
								   distributed ?
								   "SELECT 1 FROM ROWS FROM (pg_catalog.unnest($5::pg_catalog.int8[]),"
								   " pg_catalog.unnest($6::pg_catalog.int8[])) AS h(c, i)"
								   " WHERE h.c = a.community_id AND h.i = a.incident_id" :
								   "SELECT 1 FROM naboom.incident h WHERE h.community_id = a.community_id"
								   " AND h.incident_id = a.incident_id AND h.legal_hold"), (const char *) lfirst(lc)),
						  distributed ? 6 : 4, types, values, SPI_OK_SELECT);
			NaboomAuditPrivileged = false;
			last = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (isnull)
				break;
			total += NaboomResultInt8(0, 2);
			s->batches++;
			values[2] = last;
			SPI_freetuptable(SPI_tuptable);
			RetentionCommit(r);
		}
	}
	return total;
}

/*
 * Drop the audit month partition (name, [from, to)) whose keep has passed:
 * retire the seals that hold only rows of dropped months (keeping the last
 * one's hash as the anchor the next seal chains to), list the rows of this
 * month that remaining seals hold (verify_audit counts them as expired),
 * then drop it.  Returns its row count.
 */
static int64
DropAuditMonth(Run *r, const char *name, Datum from, Datum to)
{
	char	   *qname = psprintf("naboom.%s", quote_identifier(name));
	Oid			types[6] = {TIMESTAMPTZOID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID};
	Datum		values[6];
	bool		isnull;
	int64		rows;
	int64		retired;
	Datum		last;

	NaboomExecute(psprintf("SELECT count(*) FROM %s", qname), 0, NULL, NULL, SPI_OK_SELECT);
	rows = NaboomResultInt8(0, 1);
	values[0] = to;
	/*
	 * (Only a single node's chain, by transaction range, is retired with its
	 * months.  A distributed naboom keeps its communities' seals, and
	 * verify_audit counts their rows of dropped months as expired.)
	 */
	NaboomExecute("SELECT max(s.seal_id), count(*) FROM naboom.audit_seal s WHERE s.community_id IS NULL"
			" AND s.seal_id < coalesce("
			" (SELECT min(x.seal_id) FROM naboom.audit_seal x WHERE x.community_id IS NULL AND x.last_logged_at >= $1),"
			" (SELECT max(x.seal_id) + 1 FROM naboom.audit_seal x WHERE x.community_id IS NULL))",
			1, types, values, SPI_OK_SELECT);
	last = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	retired = NaboomResultInt8(0, 2);
	values[1] = CStringGetTextDatum(name);
	values[2] = isnull ? Int64GetDatum(0) : last;
	if (NaboomCitusGroup() < 0)
		NaboomExecute(psprintf("INSERT INTO naboom.audit_seal_expired (seal_id, partition, ids)"
						 " SELECT s.seal_id, $2, array_agg(u.id ORDER BY u.id)"
						 " FROM naboom.audit_seal s CROSS JOIN LATERAL pg_catalog.unnest(s.ids) u(id)"
						 " WHERE s.seal_id > $3 AND s.first_logged_at < $1"
						 "  AND EXISTS (SELECT 1 FROM %s a WHERE a.id = u.id)"
						 " GROUP BY s.seal_id", qname), 3, types, values, SPI_OK_INSERT);
	values[3] = from;
	values[4] = Int64GetDatum(r->run_id);
	values[5] = Int64GetDatum(rows);
	NaboomAuditPrivileged = true;
	NaboomExecute("WITH anchor AS (SELECT s.seal_id, s.seal_hash, s.xid_to FROM naboom.audit_seal s WHERE s.seal_id = $3),"
			" gone AS (DELETE FROM naboom.audit_seal s WHERE s.community_id IS NULL AND s.seal_id <= $3 RETURNING 1)"
			" INSERT INTO naboom.audit_expiry (partition, month_from, month_to, run_id, rows, seals_retired,"
			"  anchor_seal_id, anchor_hash, anchor_xid_to)"
			" SELECT $2, $4, $1, $5, $6, (SELECT count(*) FROM gone),"
			"  (SELECT a.seal_id FROM anchor a), (SELECT a.seal_hash FROM anchor a), (SELECT a.xid_to FROM anchor a)",
			6, types, values, SPI_OK_INSERT);
	NaboomAuditPrivileged = false;
	/* Dropping a partition locks the log briefly; do not queue behind a long writer. */
	NaboomExecute("SET LOCAL lock_timeout = '5s'", 0, NULL, NULL, SPI_OK_UTILITY);
	/* Months made by the extension script belong to the extension. */
	NaboomExecute(psprintf("SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					 " AND d.objid = '%s'::pg_catalog.regclass AND d.deptype = 'e'", qname),
			0, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
		NaboomExecute(psprintf("ALTER EXTENSION naboom DROP TABLE %s", qname), 0, NULL, NULL, SPI_OK_UTILITY);
	NaboomExecute(psprintf("DROP TABLE %s", qname), 0, NULL, NULL, SPI_OK_UTILITY);
	RetentionErased(r, "audit_log", psprintf("\"partition\":\"%s\",\"rows\":" INT64_FORMAT ",\"count\":" INT64_FORMAT,
										 name, rows, retired));
	return rows;
}

/*
 * On a distributed naboom's coordinator, after a month was dropped: the
 * month's table on every worker (Citus's shell of it there, which belongs to
 * the extension the worker's CREATE EXTENSION made, so Citus leaves it), so
 * that the worker's log no longer names it.  A worker that fails is told in
 * a WARNING: a leftover shell holds no rows.
 */
static void
DropWorkersMonth(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(psprintf("naboom.%s", quote_identifier(name)))};
	bool		isnull;
	Datum		failed;

	NaboomExecute("SELECT pg_catalog.string_agg(w.nodename || ':' || w.nodeport || ' ' || w.result, '; ')"
				  "  FILTER (WHERE NOT w.success)"
				  " FROM pg_catalog.run_command_on_workers(pg_catalog.format("
				  "  'SET citus.enable_ddl_propagation TO off; DO $d$ BEGIN"
				  "   IF pg_catalog.to_regclass(%1$L) IS NOT NULL THEN"
				  "    IF EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = ''pg_catalog.pg_class''::pg_catalog.regclass"
				  "     AND d.objid = pg_catalog.to_regclass(%1$L) AND d.deptype = ''e'') THEN"
				  "     EXECUTE pg_catalog.format(''ALTER EXTENSION naboom DROP TABLE %%s'', %1$L);"
				  "    END IF;"
				  "    EXECUTE pg_catalog.format(''DROP TABLE %%s'', %1$L);"
				  "   END IF; END $d$', $1)) w",
				  1, types, values, SPI_OK_SELECT);
	failed = NaboomResultDatum(0, 1, &isnull);
	if (!isnull)
		ereport(WARNING,
				(errmsg("naboom: a dropped audit month is left on a worker"),
				 errdetail("%s", TextDatumGetCString(failed))));
}

/* Delete rows of a log table older than the audit period, in batches. */
static void
DeleteOld(Run *r, const char *target, const char *count_sql, const char *delete_sql)
{
	Step		s;

	RetentionStepStart(&s);
	if (r->dry_run)
		s.rows = RetentionCount(r, count_sql);
	else
		for (;;)
		{
			RetentionBatch(r, delete_sql, r->batch, SPI_OK_DELETE);
			if (SPI_processed == 0)
				break;
			s.rows += SPI_processed;
			s.batches++;
			RetentionCommit(r);
		}
	RetentionRecord(r, &s, "audit_log", target, r->dry_run ? "due for deletion" : "deleted");
	RetentionCommit(r);
}

#define AUDIT_KEEP "(SELECT p.keep FROM naboom.retention_policy p WHERE p.data_class = 'audit_log')"

/*
 * DropMonths drops whole months past keep, oldest first, each in its own
 * transaction (a dry run counts their rows).
 */
static void
DropMonths(Run *r)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};
	bool		isnull;
	Step		drop;
	uint64		i;
	uint64		n;
	SPITupleTable *months;

	RetentionStepStart(&drop);
	NaboomExecute("SELECT c.relname::text, m.month_from, m.month_to"
			" FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid"
			" CROSS JOIN LATERAL (SELECT pg_catalog.to_date(pg_catalog.substr(c.relname, 11), 'YYYYMM') AS d) d"
			" CROSS JOIN LATERAL (SELECT d.d::timestamp AT TIME ZONE 'UTC' AS month_from,"
			"  (d.d + interval '1 month') AT TIME ZONE 'UTC' AS month_to) m"
			" WHERE h.inhparent = 'naboom.audit_log'::pg_catalog.regclass AND c.relname ~ '^audit_log_[0-9]{6}$'"
			"  AND m.month_to <= $1 - " AUDIT_KEEP
			" ORDER BY m.month_from", 1, types, values, SPI_OK_SELECT);
	months = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		char	   *name = MemoryContextStrdup(r->cxt, SPI_getvalue(months->vals[i], months->tupdesc, 1));
		Datum		from = SPI_getbinval(months->vals[i], months->tupdesc, 2, &isnull);
		Datum		to = SPI_getbinval(months->vals[i], months->tupdesc, 3, &isnull);

		if (r->dry_run)
		{
			NaboomExecute(psprintf("SELECT count(*) FROM naboom.%s", quote_identifier(name)), 0, NULL, NULL, SPI_OK_SELECT);
			drop.rows += NaboomResultInt8(0, 1);
		}
		else
		{
			drop.rows += DropAuditMonth(r, name, from, to);
			RetentionCommit(r);
			if (NaboomCitusGroup() == 0)
				DropWorkersMonth(name);
		}
		drop.batches++;
	}
	RetentionRecord(r, &drop, "audit_log", psprintf("%d audit month partitions", drop.batches),
		   r->dry_run ? "due for dropping" : "dropped");
	RetentionCommit(r);
}

/*
 * AnonymiseDue anonymises what passed anonymise_after since the watermark
 * (a dry run counts it), and moves the watermark.
 */
static void
AnonymiseDue(Run *r)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};
	Datum		from;
	Datum		to;
	bool		isnull;
	Step		anon;

	RetentionStepStart(&anon);
	NaboomExecute("SELECT coalesce((SELECT s.at FROM naboom.retention_state s WHERE s.name = 'audit_anonymised_before'),"
			"  '-infinity'), $1 - p.anonymise_after,"
			"  least($1, pg_catalog.clock_timestamp()) - p.anonymise_after"
			" FROM naboom.retention_policy p WHERE p.data_class = 'audit_log'", 1, types, values, SPI_OK_SELECT);
	from = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	to = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (r->dry_run)
	{
		Oid			t2[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		v2[2] = {from, to};

		NaboomExecute("SELECT count(*) FROM naboom.audit_log a WHERE a.logged_at > $1 AND a.logged_at <= $2"
				" AND a.personal_digest IS NULL", 2, t2, v2, SPI_OK_SELECT);
		anon.rows = NaboomResultInt8(0, 1);
	}
	else
	{
		/*
		 * The watermark never passes the real clock's horizon: a run with
		 * as_of in the future leaves later rows to later runs.
		 */
		Datum		mark = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);

		anon.rows = AnonymiseAudit(r, &anon, from, to);
		values[0] = mark;
		/* A run in an open transaction holding the row keeps its own mark. */
		NaboomExecute("UPDATE naboom.retention_state s SET at = $1 WHERE s.name = 'audit_anonymised_before'"
				" AND s.at < $1 AND s.ctid = (SELECT x.ctid FROM naboom.retention_state x"
				"  WHERE x.name = 'audit_anonymised_before' FOR UPDATE SKIP LOCKED)",
				1, types, values, SPI_OK_UPDATE);
	}
	RetentionRecord(r, &anon, "audit_log", "naboom.audit_log", r->dry_run ? "due for anonymisation" : "anonymised");
	RetentionCommit(r);
}

/*
 * NaboomRetainAudit is the audit_log class: months dropped, rows
 * anonymised, and events, alerts and dead rate counters deleted.
 */
void
NaboomRetainAudit(Run *r)
{
	/*
	 * A Citus worker's run anonymises its own shards of the audit log; the
	 * months (partitions of the distributed log) and the tables are the
	 * coordinator's.
	 */
	if (NaboomCitusGroup() > 0)
	{
		AnonymiseDue(r);
		return;
	}
	DropMonths(r);
	AnonymiseDue(r);
	DeleteOld(r, "naboom.event",
			  "SELECT count(*) FROM naboom.event e WHERE e.created_at <= $1 - " AUDIT_KEEP " AND e.seq IS NOT NULL"
			  " AND NOT " HELD("e.community_id", "e.incident_id"),
			  "DELETE FROM naboom.event x WHERE x.event_id IN (SELECT e.event_id FROM naboom.event e"
			  " WHERE e.created_at <= $1 - " AUDIT_KEEP " AND e.seq IS NOT NULL"
			  " AND NOT " HELD("e.community_id", "e.incident_id") " LIMIT $2)");
	DeleteOld(r, "naboom.alert",
			  "SELECT count(*) FROM naboom.alert a WHERE a.created_at <= $1 - " AUDIT_KEEP
			  " AND NOT " HELD("a.community_id", "a.incident_id"),
			  "DELETE FROM naboom.alert x WHERE (x.community_id, x.alert_id) IN (SELECT a.community_id, a.alert_id"
			  " FROM naboom.alert a WHERE a.created_at <= $1 - " AUDIT_KEEP
			  " AND NOT " HELD("a.community_id", "a.incident_id") " LIMIT $2)");
	/* Rate windows are an hour at most: a day-old counter is dead. */
	DeleteOld(r, "naboom.rate_counter",
			  "SELECT count(*) FROM naboom.rate_counter c WHERE c.window_start <= $1 - interval '1 day'",
			  "DELETE FROM naboom.rate_counter x WHERE (x.community_id, x.user_ref, x.action, x.window_start) IN"
			  " (SELECT c.community_id, c.user_ref, c.action, c.window_start FROM naboom.rate_counter c"
			  "  WHERE c.window_start <= $1 - interval '1 day' LIMIT $2)");
}


