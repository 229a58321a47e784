/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  naboom.run_retention: the retention policies of design.md section 7.
 *
 * A procedure, so that when it is CALLed outside a transaction block (as
 * pg_cron does) every batch of naboom.retention_batch_size rows is its own
 * short transaction: live reporting never waits on it for longer than one
 * batch, and no run holds back vacuum.  Called inside a transaction block
 * it does the same work in that one transaction.
 *
 * Each batch claims its rows with FOR UPDATE SKIP LOCKED and changes them
 * in the same statement, so rows a live transaction holds are left for the
 * next run, and a row is never processed twice; a session advisory lock
 * makes a second concurrent run return at once.  The order:
 *
 *	emergency_record	closed incidents past their period (with timeline,
 *						alerts, events, holds, deleted notes) are deleted;
 *	personal_data		members inactive past their period are anonymised
 *						(erasure.c);
 *	deleted_note		note texts past their period are deleted;
 *	audit_log			audit rows past anonymise_after are anonymised (their
 *						seals still verify); months past keep are dropped,
 *						with their seals; events, alerts and rate counters
 *						past keep are deleted.
 *
 * Incidents under legal hold, and members whose incidents are, are never
 * touched; they are counted as held.  Each step is recorded in
 * naboom.retention_result; each batch writes one ERASED audit entry in
 * place of the per-row entries (which would copy what is being erased).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "naboom.h"
#include "audit.h"
#include "retention.h"

bool		NaboomRetentionActive = false;
int			naboom_retention_batch_size = 10000;

/* One run at a time (pg_try_advisory_lock(7089066834011223043) in SQL). */
#define RETENTION_LOCK_KEY INT64CONST(7089066834011223043)

typedef struct Run
{
	int64		run_id;
	bool		dry_run;
	bool		nonatomic;
	TimestampTz as_of;
	int			batch;
	int			step;
	MemoryContext cxt;			/* survives the batches' commits */
	StringInfoData results;		/* JSON array of the steps */
} Run;

typedef struct Step
{
	instr_time	start;
	int64		rows;
	int64		held;
	int			batches;
} Step;

/* The incidents whose emergency_record period has passed at $1. */
#define EXPIRED_INCIDENTS \
	" FROM naboom.incident i JOIN naboom.retention_effective r" \
	"  ON r.community_id = i.community_id AND r.data_class = 'emergency_record'" \
	" WHERE i.closed_at IS NOT NULL AND i.closed_at <= $1 - r.keep"

/* Whether incident i (community c) has an open legal hold. */
#define HELD(c, i) \
	"EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = " c \
	" AND h.incident_id = " i " AND h.legal_hold)"

/*
 * The members whose personal_data period has passed at $1: no activity of
 * theirs (joining or a profile change, a daily API call, a report, a
 * timeline entry, a position) since, and no alert area: a member whose
 * alert area still alerts them is using naboom, even if they only read.
 */
#define EXPIRED_MEMBERS \
	" FROM naboom.member m JOIN naboom.retention_effective r" \
	"  ON r.community_id = m.community_id AND r.data_class = 'personal_data'" \
	" WHERE m.last_active_at <= $1 - r.keep" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.reporter_ref = m.user_ref" \
	"   AND i.community_id = m.community_id AND i.created_at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.incident_timeline t WHERE t.actor_ref = m.user_ref" \
	"   AND t.community_id = m.community_id AND t.at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.responder_position p WHERE p.user_ref = m.user_ref" \
	"   AND p.community_id = m.community_id AND p.reported_at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.subscription s WHERE s.user_ref = m.user_ref" \
	"   AND s.community_id = m.community_id)"

#define MEMBER_HELD \
	"EXISTS (SELECT 1 FROM naboom.incident i WHERE i.community_id = m.community_id" \
	" AND (i.reporter_ref = m.user_ref OR i.assignee_ref = m.user_ref) AND i.legal_hold)"

#define EXPIRED_NOTES \
	" FROM naboom.deleted_note d JOIN naboom.retention_effective r" \
	"  ON r.community_id = d.community_id AND r.data_class = 'deleted_note'" \
	" WHERE d.requested_at <= $1 - r.keep"

/* ---------------------------------------------------------------- plumbing */

/* End the batch: its own transaction when the run is not atomic. */
static void
Commit(Run *r)
{
	if (r->nonatomic)
	{
		SPI_commit();
		SPI_start_transaction();
	}
}

static void
Execute(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "naboom retention: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

static int64
Int8At(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* A query of one bigint ($1 = as_of, $2 = cutoff or batch). */
static int64
Count(Run *r, const char *sql)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};

	Execute(sql, 1, types, values, SPI_OK_SELECT);
	return Int8At(0, 1);
}

/* Run a batch statement with $1 = as_of and $2 = the batch size. */
static void
Batch(Run *r, const char *sql, int limit, int expect)
{
	Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(limit)};

	NaboomRetentionActive = true;
	Execute(sql, 2, types, values, expect);
	NaboomRetentionActive = false;
}

static void
StepStart(Step *s)
{
	memset(s, 0, sizeof(*s));
	INSTR_TIME_SET_CURRENT(s->start);
}

/*
 * Record one step in naboom.retention_result and in the results returned.
 */
static void
Record(Run *r, Step *s, const char *data_class, const char *target, const char *action)
{
	instr_time	now;
	double		seconds;
	Oid			types[9] = {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT4OID, FLOAT8OID};
	Datum		values[9];
	MemoryContext old;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, s->start);
	seconds = INSTR_TIME_GET_DOUBLE(now);
	r->step++;
	values[0] = Int64GetDatum(r->run_id);
	values[1] = Int32GetDatum(r->step);
	values[2] = CStringGetTextDatum(data_class);
	values[3] = CStringGetTextDatum(target);
	values[4] = CStringGetTextDatum(action);
	values[5] = Int64GetDatum(s->rows);
	values[6] = Int64GetDatum(s->held);
	values[7] = Int32GetDatum(s->batches);
	values[8] = Float8GetDatum(seconds);
	Execute("INSERT INTO naboom.retention_result (run_id, step, data_class, target, action, rows, held, batches,"
			" seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, types, values, SPI_OK_INSERT);

	old = MemoryContextSwitchTo(r->cxt);
	if (r->results.len > 1)
		appendStringInfoChar(&r->results, ',');
	appendStringInfoString(&r->results, "{\"class\":");
	escape_json(&r->results, data_class);
	appendStringInfoString(&r->results, ",\"target\":");
	escape_json(&r->results, target);
	appendStringInfoString(&r->results, ",\"action\":");
	escape_json(&r->results, action);
	appendStringInfo(&r->results, ",\"rows\":" INT64_FORMAT ",\"held\":" INT64_FORMAT ",\"batches\":%d,"
					 "\"seconds\":%.3f}", s->rows, s->held, s->batches, seconds);
	MemoryContextSwitchTo(old);
}

/* One ERASED audit entry for a batch of a class. */
static void
ErasedEntry(Run *r, const char *data_class, const char *extra)
{
	NaboomWriteErasedEntry(psprintf("{\"what\":\"retention\",\"run_id\":" INT64_FORMAT ",\"class\":\"%s\"%s%s}",
									r->run_id, data_class, extra[0] ? "," : "", extra));
}

/* ------------------------------------------------------ emergency records */

/*
 * One community's batch: claim expired incidents ($1 as_of, $2 batch size,
 * $3 community, $4 its period), then delete them and theirs by key, so every
 * table is probed through its index however large it is.
 */
static const char *ClaimIncidentsSql =
"SELECT coalesce(array_agg(c.incident_id), '{}') FROM (SELECT i.incident_id FROM naboom.incident i"
" WHERE i.community_id = $3 AND i.closed_at IS NOT NULL AND i.closed_at <= $1 - $4::pg_catalog.interval"
"  AND NOT i.legal_hold"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident d WHERE d.community_id = i.community_id"
"   AND d.duplicate_of = i.incident_id)"
" LIMIT $2 FOR UPDATE OF i SKIP LOCKED) c";

#define OF_BATCH " WHERE x.community_id = $1 AND x.incident_id = ANY ($2::pg_catalog.int8[]) RETURNING 1)"

static const char *DeleteIncidentsSql =
"WITH t AS (DELETE FROM naboom.incident_timeline x" OF_BATCH ","
" a AS (DELETE FROM naboom.alert x" OF_BATCH ","
" e AS (DELETE FROM naboom.event x" OF_BATCH ","
" h AS (DELETE FROM naboom.legal_hold x" OF_BATCH ","
" n AS (DELETE FROM naboom.deleted_note x" OF_BATCH ","
" i AS (DELETE FROM naboom.incident x" OF_BATCH
" SELECT (SELECT count(*) FROM i),"
"  (SELECT count(*) FROM t) + (SELECT count(*) FROM a) + (SELECT count(*) FROM e)"
"   + (SELECT count(*) FROM h) + (SELECT count(*) FROM n)";

/* Delete one community's expired incidents, batch by batch. */
static void
EmergencyCommunity(Run *r, Datum community, Datum keep, Step *inc, Step *rel)
{
	Oid			ctypes[4] = {TIMESTAMPTZOID, INT4OID, INT8OID, INTERVALOID};
	Datum		cvalues[4] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(r->batch), community, keep};
	Oid			dtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		dvalues[2];
	bool		isnull;

	for (;;)
	{
		int64		n;
		char	   *ids;

		Execute(ClaimIncidentsSql, 4, ctypes, cvalues, SPI_OK_SELECT);
		dvalues[0] = community;
		dvalues[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ids = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(ids, "{}") == 0)
			break;
		NaboomRetentionActive = true;
		Execute(DeleteIncidentsSql, 2, dtypes, dvalues, SPI_OK_SELECT);
		NaboomRetentionActive = false;
		n = Int8At(0, 1);
		inc->rows += n;
		rel->rows += Int8At(0, 2);
		inc->batches++;
		ErasedEntry(r, "emergency_record",
					psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT ",\"ids\":[%s]",
							 n, Int8At(0, 2), pnstrdup(ids + 1, strlen(ids) - 2)));
		Commit(r);
	}
}

static void
EmergencyRecords(Run *r)
{
	Step		inc;
	Step		rel;

	StepStart(&inc);
	StepStart(&rel);
	inc.held = Count(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND i.legal_hold");
	if (r->dry_run)
	{
		inc.rows = Count(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND NOT i.legal_hold");
		rel.rows = Count(r, "SELECT coalesce(sum("
						 " (SELECT count(*) FROM naboom.incident_timeline x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)"
						 " + (SELECT count(*) FROM naboom.alert x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)"
						 " + (SELECT count(*) FROM naboom.event x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)), 0)::bigint"
						 EXPIRED_INCIDENTS " AND NOT i.legal_hold");
	}
	else
	{
		uint64		i;
		uint64		n;
		Datum	   *communities;
		Datum	   *keeps;
		bool		isnull;
		MemoryContext old;

		/* The communities and their periods, kept across the batches' commits. */
		Execute("SELECT e.community_id, e.keep FROM naboom.retention_effective e"
				" WHERE e.data_class = 'emergency_record' ORDER BY e.community_id", 0, NULL, NULL, SPI_OK_SELECT);
		n = SPI_processed;
		old = MemoryContextSwitchTo(r->cxt);
		communities = palloc(sizeof(Datum) * Max(n, 1));
		keeps = palloc(sizeof(Datum) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			communities[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			keeps[i] = datumCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull),
								 false, sizeof(Interval));
		}
		MemoryContextSwitchTo(old);
		for (i = 0; i < n; i++)
			EmergencyCommunity(r, communities[i], keeps[i], &inc, &rel);
		rel.batches = inc.batches;
	}
	Record(r, &inc, "emergency_record", "naboom.incident", r->dry_run ? "due for deletion" : "deleted");
	Record(r, &rel, "emergency_record", "their timeline, alerts, events, holds and deleted notes",
		   r->dry_run ? "due for deletion" : "deleted");
	Commit(r);
}

/* ----------------------------------------------------------- personal data */

static void
PersonalData(Run *r)
{
	Step		mem;
	Step		inc;
	Step		tl;
	Step		own;
	int			limit = Max(1, r->batch / 100);

	StepStart(&mem);
	StepStart(&inc);
	StepStart(&tl);
	StepStart(&own);
	mem.held = Count(r, "SELECT count(*)" EXPIRED_MEMBERS " AND " MEMBER_HELD);
	if (r->dry_run)
		mem.rows = Count(r, "SELECT count(*)" EXPIRED_MEMBERS " AND NOT " MEMBER_HELD);
	else
	{
		for (;;)
		{
			NaboomErasure e;
			Datum		communities;
			Datum		refs;
			bool		isnull;

			Batch(r, "SELECT coalesce(array_agg(x.community_id), '{}'), coalesce(array_agg(x.user_ref), '{}'),"
				  " count(*) FROM (SELECT m.community_id, m.user_ref" EXPIRED_MEMBERS " AND NOT " MEMBER_HELD
				  " LIMIT $2 FOR UPDATE OF m SKIP LOCKED) x", limit, SPI_OK_SELECT);
			if (Int8At(0, 3) == 0)
				break;
			communities = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
											false, -1);
			refs = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
									 false, -1);
			memset(&e, 0, sizeof(e));
			NaboomAnonymiseMembers(communities, refs, r->as_of, false, &e);
			mem.rows += e.members_deleted + e.members_kept;
			inc.rows += e.incidents_anonymised + e.incidents_detached;
			tl.rows += e.timeline_entries;
			own.rows += e.alerts + e.subscriptions + e.positions + e.rate_counters + e.deleted_notes;
			mem.batches++;
			ErasedEntry(r, "personal_data",
						psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT,
								 e.members_deleted + e.members_kept,
								 e.incidents_anonymised + e.incidents_detached + e.timeline_entries + e.alerts +
								 e.subscriptions + e.positions + e.rate_counters + e.deleted_notes));
			Commit(r);
		}
		inc.batches = tl.batches = own.batches = mem.batches;
	}
	Record(r, &mem, "personal_data", "naboom.member", r->dry_run ? "due for anonymisation" : "anonymised");
	if (!r->dry_run)
	{
		Record(r, &inc, "personal_data", "naboom.incident", "anonymised");
		Record(r, &tl, "personal_data", "naboom.incident_timeline", "anonymised");
		Record(r, &own, "personal_data", "their alerts, alert areas, positions, rate counters, deleted notes",
			   "deleted");
	}
	Commit(r);
}

/* ----------------------------------------------------------- deleted notes */

static void
DeletedNotes(Run *r)
{
	Step		s;

	StepStart(&s);
	s.held = Count(r, "SELECT count(*)" EXPIRED_NOTES " AND " HELD("d.community_id", "d.incident_id"));
	if (r->dry_run)
		s.rows = Count(r, "SELECT count(*)" EXPIRED_NOTES " AND NOT " HELD("d.community_id", "d.incident_id"));
	else
		for (;;)
		{
			Batch(r, "WITH c AS (SELECT d.community_id, d.incident_id, d.seq" EXPIRED_NOTES
				  "  AND NOT " HELD("d.community_id", "d.incident_id") " LIMIT $2 FOR UPDATE OF d SKIP LOCKED)"
				  " DELETE FROM naboom.deleted_note x USING c WHERE x.community_id = c.community_id"
				  "  AND x.incident_id = c.incident_id AND x.seq = c.seq", r->batch, SPI_OK_DELETE);
			if (SPI_processed == 0)
				break;
			s.rows += SPI_processed;
			s.batches++;
			ErasedEntry(r, "deleted_note", psprintf("\"count\":" UINT64_FORMAT, SPI_processed));
			Commit(r);
		}
	Record(r, &s, "deleted_note", "naboom.deleted_note", r->dry_run ? "due for deletion" : "deleted");
	Commit(r);
}

/* --------------------------------------------------------------- audit log */

/*
 * Anonymise audit rows logged in (from, to]: batches in id order, each
 * committed.  The rows keep their seal (format 2, see the upgrade script).
 */
static int64
AnonymiseAudit(Run *r, Step *s, Datum from, Datum to)
{
	Oid			types[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT4OID};
	Datum		values[4] = {from, to, Int64GetDatum(0), Int32GetDatum(r->batch)};
	int64		total = 0;

	for (;;)
	{
		bool		isnull;
		Datum		last;

		NaboomAuditPrivileged = true;
		Execute("WITH b AS (SELECT a.id, a.logged_at FROM naboom.audit_log a"
				"  WHERE a.logged_at > $1 AND a.logged_at <= $2 AND a.personal_digest IS NULL AND a.id > $3"
				"  ORDER BY a.id LIMIT $4),"
				" u AS (UPDATE naboom.audit_log a SET" NABOOM_AUDIT_REDACT_SET
				"  FROM b WHERE a.id = b.id AND a.logged_at = b.logged_at AND a.personal_digest IS NULL"
				"   AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = a.community_id"
				"    AND h.incident_id = a.incident_id AND h.legal_hold)"
				"  RETURNING 1)"
				" SELECT (SELECT max(b.id) FROM b), (SELECT count(*) FROM u)",
				4, types, values, SPI_OK_SELECT);
		NaboomAuditPrivileged = false;
		last = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			break;
		total += Int8At(0, 2);
		s->batches++;
		values[2] = last;
		SPI_freetuptable(SPI_tuptable);
		Commit(r);
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

	Execute(psprintf("SELECT count(*) FROM %s", qname), 0, NULL, NULL, SPI_OK_SELECT);
	rows = Int8At(0, 1);
	values[0] = to;
	Execute("SELECT max(s.seal_id), count(*) FROM naboom.audit_seal s WHERE s.seal_id < coalesce("
			" (SELECT min(x.seal_id) FROM naboom.audit_seal x WHERE x.last_logged_at >= $1),"
			" (SELECT max(x.seal_id) + 1 FROM naboom.audit_seal x))", 1, types, values, SPI_OK_SELECT);
	last = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	retired = Int8At(0, 2);
	values[1] = CStringGetTextDatum(name);
	values[2] = isnull ? Int64GetDatum(0) : last;
	Execute(psprintf("INSERT INTO naboom.audit_seal_expired (seal_id, partition, ids)"
					 " SELECT s.seal_id, $2, array_agg(u.id ORDER BY u.id)"
					 " FROM naboom.audit_seal s CROSS JOIN LATERAL pg_catalog.unnest(s.ids) u(id)"
					 " WHERE s.seal_id > $3 AND s.first_logged_at < $1"
					 "  AND EXISTS (SELECT 1 FROM %s a WHERE a.id = u.id)"
					 " GROUP BY s.seal_id", qname), 3, types, values, SPI_OK_INSERT);
	values[3] = from;
	values[4] = Int64GetDatum(r->run_id);
	values[5] = Int64GetDatum(rows);
	NaboomAuditPrivileged = true;
	Execute("WITH anchor AS (SELECT s.seal_id, s.seal_hash, s.xid_to FROM naboom.audit_seal s WHERE s.seal_id = $3),"
			" gone AS (DELETE FROM naboom.audit_seal s WHERE s.seal_id <= $3 RETURNING 1)"
			" INSERT INTO naboom.audit_expiry (partition, month_from, month_to, run_id, rows, seals_retired,"
			"  anchor_seal_id, anchor_hash, anchor_xid_to)"
			" SELECT $2, $4, $1, $5, $6, (SELECT count(*) FROM gone),"
			"  (SELECT a.seal_id FROM anchor a), (SELECT a.seal_hash FROM anchor a), (SELECT a.xid_to FROM anchor a)",
			6, types, values, SPI_OK_INSERT);
	NaboomAuditPrivileged = false;
	/* Dropping a partition locks the log briefly; do not queue behind a long writer. */
	Execute("SET LOCAL lock_timeout = '5s'", 0, NULL, NULL, SPI_OK_UTILITY);
	/* Months made by the extension script belong to the extension. */
	Execute(psprintf("SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					 " AND d.objid = '%s'::pg_catalog.regclass AND d.deptype = 'e'", qname),
			0, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
		Execute(psprintf("ALTER EXTENSION naboom DROP TABLE %s", qname), 0, NULL, NULL, SPI_OK_UTILITY);
	Execute(psprintf("DROP TABLE %s", qname), 0, NULL, NULL, SPI_OK_UTILITY);
	ErasedEntry(r, "audit_log", psprintf("\"partition\":\"%s\",\"rows\":" INT64_FORMAT ",\"count\":" INT64_FORMAT,
										 name, rows, retired));
	return rows;
}

/* Delete rows of a log table older than the audit period, in batches. */
static void
DeleteOld(Run *r, const char *target, const char *count_sql, const char *delete_sql)
{
	Step		s;

	StepStart(&s);
	if (r->dry_run)
		s.rows = Count(r, count_sql);
	else
		for (;;)
		{
			Batch(r, delete_sql, r->batch, SPI_OK_DELETE);
			if (SPI_processed == 0)
				break;
			s.rows += SPI_processed;
			s.batches++;
			Commit(r);
		}
	Record(r, &s, "audit_log", target, r->dry_run ? "due for deletion" : "deleted");
	Commit(r);
}

#define AUDIT_KEEP "(SELECT p.keep FROM naboom.retention_policy p WHERE p.data_class = 'audit_log')"

static void
AuditLog(Run *r)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};
	Datum		from;
	Datum		to;
	bool		isnull;
	Step		anon;
	Step		drop;
	uint64		i;
	uint64		n;
	SPITupleTable *months;

	/* Drop whole months past keep, oldest first, each in its own transaction. */
	StepStart(&drop);
	Execute("SELECT c.relname::text, m.month_from, m.month_to"
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

		from = SPI_getbinval(months->vals[i], months->tupdesc, 2, &isnull);
		to = SPI_getbinval(months->vals[i], months->tupdesc, 3, &isnull);
		if (r->dry_run)
		{
			Execute(psprintf("SELECT count(*) FROM naboom.%s", quote_identifier(name)), 0, NULL, NULL, SPI_OK_SELECT);
			drop.rows += Int8At(0, 1);
		}
		else
		{
			drop.rows += DropAuditMonth(r, name, from, to);
			Commit(r);
		}
		drop.batches++;
	}
	Record(r, &drop, "audit_log", psprintf("%d audit month partitions", drop.batches),
		   r->dry_run ? "due for dropping" : "dropped");
	Commit(r);

	/* Anonymise what passed anonymise_after since the watermark. */
	StepStart(&anon);
	Execute("SELECT coalesce((SELECT s.at FROM naboom.retention_state s WHERE s.name = 'audit_anonymised_before'),"
			"  '-infinity'), $1 - p.anonymise_after,"
			"  least($1, pg_catalog.clock_timestamp()) - p.anonymise_after"
			" FROM naboom.retention_policy p WHERE p.data_class = 'audit_log'", 1, types, values, SPI_OK_SELECT);
	from = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	to = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (r->dry_run)
	{
		Oid			t2[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		v2[2] = {from, to};

		Execute("SELECT count(*) FROM naboom.audit_log a WHERE a.logged_at > $1 AND a.logged_at <= $2"
				" AND a.personal_digest IS NULL", 2, t2, v2, SPI_OK_SELECT);
		anon.rows = Int8At(0, 1);
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
		Execute("UPDATE naboom.retention_state s SET at = $1 WHERE s.name = 'audit_anonymised_before'"
				" AND s.at < $1 AND s.ctid = (SELECT x.ctid FROM naboom.retention_state x"
				"  WHERE x.name = 'audit_anonymised_before' FOR UPDATE SKIP LOCKED)",
				1, types, values, SPI_OK_UPDATE);
		values[0] = TimestampTzGetDatum(r->as_of);
	}
	Record(r, &anon, "audit_log", "naboom.audit_log", r->dry_run ? "due for anonymisation" : "anonymised");
	Commit(r);

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


/* ------------------------------------------------------------------ a run */

/* Give the session its search_path back (set to pg_catalog for the run). */
static void
RestorePath(const char *path)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(path)};

	Execute("SELECT pg_catalog.set_config('search_path', $1, false)", 1, types, values, SPI_OK_SELECT);
}

/* Start the run's row, after marking runs that died without finishing. */
static void
StartRun(Run *r)
{
	Oid			types[3] = {TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		values[3];

	Execute("UPDATE naboom.retention_run SET outcome = 'interrupted', finished_at = pg_catalog.clock_timestamp()"
			" WHERE outcome = 'running'", 0, NULL, NULL, SPI_OK_UPDATE);
	values[0] = TimestampTzGetDatum(r->as_of);
	values[1] = BoolGetDatum(r->dry_run);
	values[2] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	Execute("INSERT INTO naboom.retention_run (as_of, dry_run, run_by) VALUES ($1, $2, $3) RETURNING run_id",
			3, types, values, SPI_OK_INSERT_RETURNING);
	r->run_id = Int8At(0, 1);
	Commit(r);
}

static void
FinishRun(Run *r)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(r->run_id)};

	Execute("UPDATE naboom.retention_run SET outcome = 'done', finished_at = pg_catalog.clock_timestamp()"
			" WHERE run_id = $1", 1, types, values, SPI_OK_UPDATE);
	Commit(r);
}

PG_FUNCTION_INFO_V1(naboom_run_retention);

/*
 * naboom_run_retention(dry_run, as_of, INOUT run_id, INOUT results) is the
 * procedure naboom.run_retention.
 */
Datum
naboom_run_retention(PG_FUNCTION_ARGS)
{
	Run			r;
	LOCKTAG		tag;
	TupleDesc	desc;
	Datum		out[2];
	bool		nulls[2] = {true, true};
	MemoryContext caller = CurrentMemoryContext;
	char	   *saved_path;

	memset(&r, 0, sizeof(r));
	r.dry_run = PG_ARGISNULL(0) ? false : PG_GETARG_BOOL(0);
	r.as_of = PG_ARGISNULL(1) ? GetCurrentTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
	r.batch = naboom_retention_batch_size;
	r.nonatomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	if (TIMESTAMP_NOT_FINITE(r.as_of))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_time",
						("as_of must be a finite time"),
						("Leave it out for now, or give the time to evaluate the policies at."),
						"as_of is %s.", r.as_of < 0 ? "-infinity" : "infinity");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "naboom_run_retention: must be called as a procedure with INOUT parameters");
	desc = BlessTupleDesc(desc);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (RETENTION_LOCK_KEY >> 32),
						 (uint32) RETENTION_LOCK_KEY, 1);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		/* Another run is at work: this one has nothing to do. */
		ereport(NOTICE, (errmsg("another naboom.run_retention is running; this one did nothing")));
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, nulls)));
	}

	r.cxt = AllocSetContextCreate(TopMemoryContext, "naboom retention", ALLOCSET_DEFAULT_SIZES);
	saved_path = MemoryContextStrdup(r.cxt, namespace_search_path);
	PG_TRY();
	{
		MemoryContext old = MemoryContextSwitchTo(r.cxt);

		initStringInfo(&r.results);
		appendStringInfoChar(&r.results, '[');
		MemoryContextSwitchTo(old);

		if (SPI_connect_ext(r.nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
			elog(ERROR, "naboom_run_retention: SPI_connect failed");
		/* A procedure that commits cannot have a SET clause: pin it here. */
		Execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)", 0, NULL, NULL,
				SPI_OK_SELECT);
		StartRun(&r);
		EmergencyRecords(&r);
		PersonalData(&r);
		DeletedNotes(&r);
		AuditLog(&r);
		FinishRun(&r);
		RestorePath(saved_path);
		SPI_finish();
	}
	PG_CATCH();
	{
		NaboomRetentionActive = false;
		NaboomAuditPrivileged = false;
		LockRelease(&tag, ExclusiveLock, true);
		/* The path set in an earlier, committed batch would outlive the run. */
		SetConfigOption("search_path", saved_path, PGC_USERSET, PGC_S_SESSION);
		MemoryContextDelete(r.cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	LockRelease(&tag, ExclusiveLock, true);

	MemoryContextSwitchTo(caller);
	appendStringInfoChar(&r.results, ']');
	out[0] = Int64GetDatum(r.run_id);
	out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r.results.data));
	nulls[0] = nulls[1] = false;
	{
		Datum		result = HeapTupleGetDatum(heap_form_tuple(desc, out, nulls));

		MemoryContextDelete(r.cxt);
		PG_RETURN_DATUM(result);
	}
}

PG_FUNCTION_INFO_V1(naboom_retention_active);

/* naboom.retention_active(): whether retention or erasure is changing rows. */
Datum
naboom_retention_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NaboomRetentionActive);
}
