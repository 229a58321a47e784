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
 *	audit_log			(retention_audit.c) months past keep are dropped with
 *						their seals; audit rows past anonymise_after are
 *						anonymised (their seals still verify); events,
 *						alerts and rate counters past keep are deleted.
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
#include "retention_run.h"

bool		NaboomRetentionActive = false;
int			naboom_retention_batch_size = 10000;

/* One run at a time (pg_try_advisory_lock(7089066834011223043) in SQL). */
#define RETENTION_LOCK_KEY INT64CONST(7089066834011223043)


/* The incidents whose emergency_record period has passed at $1. */
#define EXPIRED_INCIDENTS \
	" FROM naboom.incident i JOIN naboom.retention_effective r" \
	"  ON r.community_id = i.community_id AND r.data_class = 'emergency_record'" \
	" WHERE i.closed_at IS NOT NULL AND i.closed_at <= $1 - r.keep"

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
void
RetentionCommit(Run *r)
{
	if (r->nonatomic)
	{
		SPI_commit();
		SPI_start_transaction();
	}
}

void
RetentionExecute(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "naboom retention: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

int64
RetentionInt8At(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* A query of one bigint ($1 = as_of, $2 = cutoff or batch). */
int64
RetentionCount(Run *r, const char *sql)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};

	RetentionExecute(sql, 1, types, values, SPI_OK_SELECT);
	return RetentionInt8At(0, 1);
}

/* Run a batch statement with $1 = as_of and $2 = the batch size. */
void
RetentionBatch(Run *r, const char *sql, int limit, int expect)
{
	Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(limit)};

	NaboomRetentionActive = true;
	RetentionExecute(sql, 2, types, values, expect);
	NaboomRetentionActive = false;
}

void
RetentionStepStart(Step *s)
{
	memset(s, 0, sizeof(*s));
	INSTR_TIME_SET_CURRENT(s->start);
}

/*
 * Record one step in naboom.retention_result and in the results returned.
 */
void
RetentionRecord(Run *r, Step *s, const char *data_class, const char *target, const char *action)
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
	RetentionExecute("INSERT INTO naboom.retention_result (run_id, step, data_class, target, action, rows, held, batches,"
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
void
RetentionErased(Run *r, const char *data_class, const char *extra)
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

		RetentionExecute(ClaimIncidentsSql, 4, ctypes, cvalues, SPI_OK_SELECT);
		dvalues[0] = community;
		dvalues[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ids = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(ids, "{}") == 0)
			break;
		NaboomRetentionActive = true;
		RetentionExecute(DeleteIncidentsSql, 2, dtypes, dvalues, SPI_OK_SELECT);
		NaboomRetentionActive = false;
		n = RetentionInt8At(0, 1);
		inc->rows += n;
		rel->rows += RetentionInt8At(0, 2);
		inc->batches++;
		RetentionErased(r, "emergency_record",
					psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT ",\"ids\":[%s]",
							 n, RetentionInt8At(0, 2), pnstrdup(ids + 1, strlen(ids) - 2)));
		RetentionCommit(r);
	}
}

static void
EmergencyRecords(Run *r)
{
	Step		inc;
	Step		rel;

	RetentionStepStart(&inc);
	RetentionStepStart(&rel);
	inc.held = RetentionCount(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND i.legal_hold");
	if (r->dry_run)
	{
		inc.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND NOT i.legal_hold");
		rel.rows = RetentionCount(r, "SELECT coalesce(sum("
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
		RetentionExecute("SELECT e.community_id, e.keep FROM naboom.retention_effective e"
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
	RetentionRecord(r, &inc, "emergency_record", "naboom.incident", r->dry_run ? "due for deletion" : "deleted");
	RetentionRecord(r, &rel, "emergency_record", "their timeline, alerts, events, holds and deleted notes",
		   r->dry_run ? "due for deletion" : "deleted");
	RetentionCommit(r);
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

	RetentionStepStart(&mem);
	RetentionStepStart(&inc);
	RetentionStepStart(&tl);
	RetentionStepStart(&own);
	mem.held = RetentionCount(r, "SELECT count(*)" EXPIRED_MEMBERS " AND " MEMBER_HELD);
	if (r->dry_run)
		mem.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_MEMBERS " AND NOT " MEMBER_HELD);
	else
	{
		for (;;)
		{
			NaboomErasure e;
			Datum		communities;
			Datum		refs;
			bool		isnull;

			RetentionBatch(r, "SELECT coalesce(array_agg(x.community_id), '{}'), coalesce(array_agg(x.user_ref), '{}'),"
				  " count(*) FROM (SELECT m.community_id, m.user_ref" EXPIRED_MEMBERS " AND NOT " MEMBER_HELD
				  " LIMIT $2 FOR UPDATE OF m SKIP LOCKED) x", limit, SPI_OK_SELECT);
			if (RetentionInt8At(0, 3) == 0)
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
			RetentionErased(r, "personal_data",
						psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT,
								 e.members_deleted + e.members_kept,
								 e.incidents_anonymised + e.incidents_detached + e.timeline_entries + e.alerts +
								 e.subscriptions + e.positions + e.rate_counters + e.deleted_notes));
			RetentionCommit(r);
		}
		inc.batches = tl.batches = own.batches = mem.batches;
	}
	RetentionRecord(r, &mem, "personal_data", "naboom.member", r->dry_run ? "due for anonymisation" : "anonymised");
	if (!r->dry_run)
	{
		RetentionRecord(r, &inc, "personal_data", "naboom.incident", "anonymised");
		RetentionRecord(r, &tl, "personal_data", "naboom.incident_timeline", "anonymised");
		RetentionRecord(r, &own, "personal_data", "their alerts, alert areas, positions, rate counters, deleted notes",
			   "deleted");
	}
	RetentionCommit(r);
}

/* ----------------------------------------------------------- deleted notes */

static void
DeletedNotes(Run *r)
{
	Step		s;

	RetentionStepStart(&s);
	s.held = RetentionCount(r, "SELECT count(*)" EXPIRED_NOTES " AND " HELD("d.community_id", "d.incident_id"));
	if (r->dry_run)
		s.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_NOTES " AND NOT " HELD("d.community_id", "d.incident_id"));
	else
		for (;;)
		{
			RetentionBatch(r, "WITH c AS (SELECT d.community_id, d.incident_id, d.seq" EXPIRED_NOTES
				  "  AND NOT " HELD("d.community_id", "d.incident_id") " LIMIT $2 FOR UPDATE OF d SKIP LOCKED)"
				  " DELETE FROM naboom.deleted_note x USING c WHERE x.community_id = c.community_id"
				  "  AND x.incident_id = c.incident_id AND x.seq = c.seq", r->batch, SPI_OK_DELETE);
			if (SPI_processed == 0)
				break;
			s.rows += SPI_processed;
			s.batches++;
			RetentionErased(r, "deleted_note", psprintf("\"count\":" UINT64_FORMAT, SPI_processed));
			RetentionCommit(r);
		}
	RetentionRecord(r, &s, "deleted_note", "naboom.deleted_note", r->dry_run ? "due for deletion" : "deleted");
	RetentionCommit(r);
}

/* ------------------------------------------------------------------ a run */

/* Give the session its search_path back (set to pg_catalog for the run). */
static void
RestorePath(const char *path)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(path)};

	RetentionExecute("SELECT pg_catalog.set_config('search_path', $1, false)", 1, types, values, SPI_OK_SELECT);
}

/* Start the run's row, after marking runs that died without finishing. */
static void
StartRun(Run *r)
{
	Oid			types[3] = {TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		values[3];

	RetentionExecute("UPDATE naboom.retention_run SET outcome = 'interrupted', finished_at = pg_catalog.clock_timestamp()"
			" WHERE outcome = 'running'", 0, NULL, NULL, SPI_OK_UPDATE);
	values[0] = TimestampTzGetDatum(r->as_of);
	values[1] = BoolGetDatum(r->dry_run);
	values[2] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	RetentionExecute("INSERT INTO naboom.retention_run (as_of, dry_run, run_by) VALUES ($1, $2, $3) RETURNING run_id",
			3, types, values, SPI_OK_INSERT_RETURNING);
	r->run_id = RetentionInt8At(0, 1);
	RetentionCommit(r);
}

static void
FinishRun(Run *r)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(r->run_id)};

	RetentionExecute("UPDATE naboom.retention_run SET outcome = 'done', finished_at = pg_catalog.clock_timestamp()"
			" WHERE run_id = $1", 1, types, values, SPI_OK_UPDATE);
	RetentionCommit(r);
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
		RetentionExecute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)", 0, NULL, NULL,
				SPI_OK_SELECT);
		StartRun(&r);
		EmergencyRecords(&r);
		PersonalData(&r);
		DeletedNotes(&r);
		NaboomRetainAudit(&r);
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
