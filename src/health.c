/*-------------------------------------------------------------------------
 *
 * health.c
 *	  What naboom_api.health() needs to know that only the loaded library
 *	  can tell: its own version, and the state of the background writer
 *	  and its audit ring in shared memory.
 *
 * The library is built with NABOOM_VERSION, the default_version of
 * naboom.control (the Makefile passes it), so health() can tell an
 * installed extension that was not yet updated (ALTER EXTENSION naboom
 * UPDATE) from one that matches the library the server loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "audit_queue.h"

#ifndef NABOOM_VERSION
#error "NABOOM_VERSION must be defined (the Makefile passes naboom.control's default_version)"
#endif

PG_FUNCTION_INFO_V1(naboom_health_probe);

/*
 * naboom.health_probe() returns the library's version, whether naboom was
 * preloaded (without it there is no writer and no ring), whether the
 * writer is attached to the ring for this database, and how full the ring
 * is (0 to 1; NULL without a ring).  Reads shared memory only: cheap
 * enough for a load balancer to call every second, and it works on a hot
 * standby.
 */
Datum
naboom_health_probe(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	double		fill;
	bool		preloaded = NaboomAuditQueueAvailable();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = CStringGetTextDatum(NABOOM_VERSION);
	values[1] = BoolGetDatum(preloaded);
	values[2] = BoolGetDatum(NaboomAuditQueueWriterServing(&fill));
	values[3] = Float8GetDatum(fill);
	nulls[3] = !preloaded;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
