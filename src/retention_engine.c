/*-------------------------------------------------------------------------
 *
 * retention_engine.c
 *	  The machinery of naboom.run_retention: steps, batches, commits and
 *	  the ERASED audit entries, which every data class uses the same way.
 *
 * A run (retention.c) goes through the data classes (retention_classes.c,
 * retention_audit.c) in order.  Each class counts what is due, or changes
 * it in batches of naboom.retention_batch_size: RetentionBatch runs one
 * with the single-row triggers standing aside (NaboomRetentionActive),
 * RetentionErased writes the batch's one ERASED audit entry in place of
 * the per-row entries, RetentionCommit ends it (its own transaction when
 * the run is not atomic), and RetentionRecord adds the class's step to
 * naboom.retention_result and to the results the run returns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit_refusal.h"
#include "retention_engine.h"
#include "spi_util.h"

bool		NaboomRetentionActive = false;

/*
 * RetentionCommit ends a batch: its own transaction when the run is not
 * atomic (CALLed outside a transaction block).
 */
void
RetentionCommit(Run *r)
{
	if (r->nonatomic)
	{
		SPI_commit();
		SPI_start_transaction();
	}
}

/* A query of one bigint, with $1 = as_of. */
int64
RetentionCount(Run *r, const char *sql)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(r->as_of)};

	NaboomExecute(sql, 1, types, values, SPI_OK_SELECT);
	return NaboomResultInt8(0, 1);
}

/*
 * RetentionBatch runs a batch statement with $1 = as_of and $2 = the batch
 * size, with the single-row triggers standing aside.
 */
void
RetentionBatch(Run *r, const char *sql, int limit, int expect)
{
	Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(limit)};

	NaboomRetentionActive = true;
	NaboomExecute(sql, 2, types, values, expect);
	NaboomRetentionActive = false;
}

/* RetentionStepStart starts the clock and the counts of a step. */
void
RetentionStepStart(Step *s)
{
	memset(s, 0, sizeof(*s));
	INSTR_TIME_SET_CURRENT(s->start);
}

/*
 * RetentionRecord records one step in naboom.retention_result and in the results returned.
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
	NaboomExecute("INSERT INTO naboom.retention_result (run_id, step, data_class, target, action, rows, held, batches,"
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

/* RetentionErased writes one ERASED audit entry for a batch of a class. */
void
RetentionErased(Run *r, const char *data_class, const char *extra)
{
	NaboomWriteErasedEntry(psprintf("{\"what\":\"retention\",\"run_id\":" INT64_FORMAT ",\"class\":\"%s\"%s%s}",
									r->run_id, data_class, extra[0] ? "," : "", extra));
}

/*
 * NaboomWriteErasedEntry writes one ERASED audit entry (no actor: the
 * person erased must not be named by the entry that records it).
 */
void
NaboomWriteErasedEntry(const char *detail_json)
{
	Oid			types[1] = {JSONBOID};
	Datum		values[1];

	if (!naboom_audit_enabled)
		return;
	values[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(detail_json));
	NaboomExecute("INSERT INTO naboom.audit_log (action, actor, db_role, success, detail)"
			" VALUES ('ERASED', NULL, SESSION_USER, true, $1)",
			1, types, values, SPI_OK_INSERT);
}

PG_FUNCTION_INFO_V1(naboom_retention_active);

/* naboom.retention_active(): whether retention or erasure is changing rows. */
Datum
naboom_retention_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NaboomRetentionActive);
}
