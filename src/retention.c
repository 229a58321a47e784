/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  naboom.run_retention: one run of the retention policies of design.md
 *	  section 7, through the data classes in order.
 *
 * A procedure, so that when it is CALLed outside a transaction block (as
 * pg_cron does) every batch of naboom.retention_batch_size rows is its own
 * short transaction: live reporting never waits on it for longer than one
 * batch, and no run holds back vacuum.  Called inside a transaction block
 * it does the same work in that one transaction.  A session advisory lock
 * makes a second concurrent run return at once.  The order:
 *
 *	emergency_record, personal_data, deleted_note	(retention_classes.c)
 *	audit_log										(retention_audit.c)
 *
 * Each step is recorded in naboom.retention_result; each batch writes one
 * ERASED audit entry in place of the per-row entries, which would copy
 * what is being erased (retention_engine.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "naboom.h"
#include "audit_guard.h"
#include "citus.h"
#include "retention.h"
#include "retention_audit.h"
#include "retention_classes.h"
#include "retention_engine.h"
#include "spi_util.h"

int			naboom_retention_batch_size = 10000;

/* One run at a time (pg_try_advisory_lock(7089066834011223043) in SQL). */
#define RETENTION_LOCK_KEY INT64CONST(7089066834011223043)

/* Give the session its search_path back (set to pg_catalog for the run). */
static void
RestorePath(const char *path)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(path)};

	NaboomExecute("SELECT pg_catalog.set_config('search_path', $1, false)", 1, types, values, SPI_OK_SELECT);
}

/* Start the run's row, after marking runs that died without finishing. */
static void
StartRun(Run *r)
{
	Oid			types[3] = {TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		values[3];

	NaboomExecute("UPDATE naboom.retention_run SET outcome = 'interrupted', finished_at = pg_catalog.clock_timestamp()"
			" WHERE outcome = 'running'", 0, NULL, NULL, SPI_OK_UPDATE);
	values[0] = TimestampTzGetDatum(r->as_of);
	values[1] = BoolGetDatum(r->dry_run);
	values[2] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	NaboomExecute("INSERT INTO naboom.retention_run (as_of, dry_run, run_by) VALUES ($1, $2, $3) RETURNING run_id",
			3, types, values, SPI_OK_INSERT_RETURNING);
	r->run_id = NaboomResultInt8(0, 1);
	RetentionCommit(r);
}

/* Mark the run's row done. */
static void
FinishRun(Run *r)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(r->run_id)};

	NaboomExecute("UPDATE naboom.retention_run SET outcome = 'done', finished_at = pg_catalog.clock_timestamp()"
			" WHERE run_id = $1", 1, types, values, SPI_OK_UPDATE);
	RetentionCommit(r);
}

/*
 * RunSteps is the run itself, between taking the lock and releasing it: the
 * path pinned, the run's row, the classes in order, the path restored.
 */
/*
 * On a distributed naboom's coordinator: every worker's audit log, each by
 * a run of its own on that worker (in the worker's retention_run, which
 * the step here names), through run_command_on_workers (in a DO block: it
 * takes commands of one result column).  A worker that
 * fails fails this run, which the next run repeats.
 */
static void
RetainWorkersAudit(Run *r)
{
	Step		s;
	Oid			types[2] = {BOOLOID, TIMESTAMPTZOID};
	Datum		values[2] = {BoolGetDatum(r->dry_run), TimestampTzGetDatum(r->as_of)};
	bool		isnull;
	Datum		failed;

	RetentionStepStart(&s);
	NaboomExecute("SELECT pg_catalog.count(*) FILTER (WHERE w.success),"
				  " pg_catalog.string_agg(w.nodename || ':' || w.nodeport || ' ' || w.result, '; ')"
				  "  FILTER (WHERE NOT w.success)"
				  " FROM pg_catalog.run_command_on_workers(pg_catalog.format("
				  "  'DO $run$ DECLARE i bigint; j jsonb; BEGIN"
				  "  CALL naboom.run_retention(%L, %L, i, j); END $run$', $1, $2)) w",
				  2, types, values, SPI_OK_SELECT);
	failed = NaboomResultDatum(0, 2, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("naboom: retention of a worker's audit log failed"),
				 errdetail("%s", TextDatumGetCString(failed)),
				 errhint("The next run repeats it; see that worker's naboom.retention_run.")));
	s.rows = NaboomResultInt8(0, 1);
	s.batches = (int) s.rows;
	RetentionRecord(r, &s, "audit_log", "the workers' audit logs (a run on each)",
					r->dry_run ? "checked" : "retained");
	RetentionCommit(r);
}

static void
RunSteps(Run *r, const char *saved_path)
{
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	int			group;

	initStringInfo(&r->results);
	appendStringInfoChar(&r->results, '[');
	MemoryContextSwitchTo(old);

	NaboomSpiConnectExt(r->nonatomic ? SPI_OPT_NONATOMIC : 0);
	/* A procedure that commits cannot have a SET clause: pin it here. */
	NaboomExecute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)", 0, NULL, NULL,
				  SPI_OK_SELECT);
	StartRun(r);
	group = NaboomCitusGroup();
	/* a Citus worker's run is its own audit log's: the rest is the coordinator's */
	if (group <= 0)
	{
		NaboomRetainEmergencyRecords(r);
		NaboomRetainPersonalData(r);
		NaboomRetainDeletedNotes(r);
	}
	NaboomRetainAudit(r);
	if (group == 0)
		RetainWorkersAudit(r);
	FinishRun(r);
	RestorePath(saved_path);
	SPI_finish();
}

/*
 * RunLocked runs under the advisory lock; on error it undoes what would
 * outlive the run (the flags, the lock, the pinned path) and re-throws.
 */
static void
RunLocked(Run *r, LOCKTAG *tag)
{
	char	   *saved_path;

	r->cxt = AllocSetContextCreate(TopMemoryContext, "naboom retention", ALLOCSET_DEFAULT_SIZES);
	saved_path = MemoryContextStrdup(r->cxt, namespace_search_path);
	PG_TRY();
	{
		RunSteps(r, saved_path);
	}
	PG_CATCH();
	{
		NaboomRetentionActive = false;
		NaboomAuditPrivileged = false;
		LockRelease(tag, ExclusiveLock, true);
		/* The path set in an earlier, committed batch would outlive the run. */
		SetConfigOption("search_path", saved_path, PGC_USERSET, PGC_S_SESSION);
		MemoryContextDelete(r->cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	LockRelease(tag, ExclusiveLock, true);
}

/* The run's arguments, checked. */
static void
ReadArguments(FunctionCallInfo fcinfo, Run *r)
{
	memset(r, 0, sizeof(*r));
	r->dry_run = PG_ARGISNULL(0) ? false : PG_GETARG_BOOL(0);
	r->as_of = PG_ARGISNULL(1) ? GetCurrentTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
	r->batch = naboom_retention_batch_size;
	r->nonatomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	if (TIMESTAMP_NOT_FINITE(r->as_of))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_time",
						("as_of must be a finite time"),
						("Leave it out for now, or give the time to evaluate the policies at."),
						"as_of is %s.", r->as_of < 0 ? "-infinity" : "infinity");
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
	Datum		result;

	ReadArguments(fcinfo, &r);
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
	RunLocked(&r, &tag);

	MemoryContextSwitchTo(caller);
	appendStringInfoChar(&r.results, ']');
	out[0] = Int64GetDatum(r.run_id);
	out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r.results.data));
	nulls[0] = nulls[1] = false;
	result = HeapTupleGetDatum(heap_form_tuple(desc, out, nulls));
	MemoryContextDelete(r.cxt);
	PG_RETURN_DATUM(result);
}
