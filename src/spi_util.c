/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  SPI helpers: connecting, kept plans, statements that must succeed,
 *	  and running code as the owner of what naboom writes.
 *
 * Every file that queries through SPI uses these, so the rules of the
 * style guide hold in one place: the exact SPI_OK_* code is checked, plans
 * on hot paths are prepared once per backend and kept, and the switch to
 * the owner (SetUserIdAndSecContext, as ri_triggers.c does) is always
 * undone, also when the code in between raises an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "spi_util.h"

static char *PostgisSchema = NULL;

/*
 * NaboomSpiConnect connects to SPI; a failure is a can't-happen state.
 */
void
NaboomSpiConnect(void)
{
	NaboomSpiConnectExt(0);
}

/*
 * NaboomSpiConnectExt is NaboomSpiConnect with SPI_connect_ext's options
 * (SPI_OPT_NONATOMIC for a procedure that commits).
 */
void
NaboomSpiConnectExt(int options)
{
	int			rc = SPI_connect_ext(options);

	if (rc != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
}

/*
 * NaboomPostgisSchema returns the quoted name of the schema PostGIS is
 * installed in, looked up once per backend.  Call while connected to SPI.
 */
const char *
NaboomPostgisSchema(void)
{
	if (PostgisSchema == NULL)
	{
		char	   *nsp;

		if (SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e"
						" JOIN pg_catalog.pg_namespace n"
						"  ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
						" WHERE e.extname OPERATOR(pg_catalog.=) 'postgis'",
						true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "naboom needs the postgis extension");
		nsp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		PostgisSchema = MemoryContextStrdup(TopMemoryContext, quote_identifier(nsp));
	}
	return PostgisSchema;
}

/* The query text with "@." replaced by the PostGIS schema and a dot. */
char *
NaboomExpandPostgis(const char *sql)
{
	StringInfoData buf;
	const char *p;

	if (strstr(sql, "@.") == NULL)
		return pstrdup(sql);
	initStringInfo(&buf);
	for (p = sql; *p; p++)
	{
		if (p[0] == '@' && p[1] == '.')
		{
			appendStringInfoString(&buf, NaboomPostgisSchema());
			continue;
		}
		appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

/* Prepare once per backend with these cursor options and keep the plan. */
static SPIPlanPtr
KeepPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, int options)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare_cursor(NaboomExpandPostgis(sql), nargs, argtypes, options);

		if (prepared == NULL)
			elog(ERROR, "SPI_prepare failed (%s): %s",
				 SPI_result_code_string(SPI_result), sql);
		if (SPI_keepplan(prepared) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = prepared;
	}
	return *plan;
}

/*
 * NaboomKeptPlan prepares a query once per backend and keeps it in *plan.
 * Call between SPI_connect and SPI_finish.
 */
SPIPlanPtr
NaboomKeptPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return KeepPlan(plan, sql, nargs, argtypes, 0);
}

/*
 * NaboomKeptGenericPlan is NaboomKeptPlan for a plan that is always run
 * generic (CURSOR_OPT_GENERIC_PLAN): the plan cache would otherwise plan it
 * afresh with the parameters' values on every call while it judges a
 * custom plan cheaper, and for the alert fan-out the values change no plan
 * choice: the same indexes answer whatever the values are, so planning is
 * pure cost.  Use it only where EXPLAIN of the generic plan shows the same
 * plan.
 */
SPIPlanPtr
NaboomKeptGenericPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return KeepPlan(plan, sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * NaboomForgetPlan frees a kept plan, so that the next use prepares it
 * afresh (after an error that may have come from objects it refers to).
 */
void
NaboomForgetPlan(SPIPlanPtr *plan)
{
	if (*plan != NULL)
		SPI_freeplan(*plan);
	*plan = NULL;
}

/*
 * NaboomExecute runs one statement with $n parameters (none NULL); any
 * result but expect is a can't-happen state.
 */
void
NaboomExecute(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc != expect)
		elog(ERROR, "naboom: statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* Column col of row row of the last result, with its null flag. */
Datum
NaboomResultDatum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/* A bigint of the last result; NULL reads as 0. */
int64
NaboomResultInt8(int row, int col)
{
	bool		isnull;
	Datum		d = NaboomResultDatum(row, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * A varlena of the last result (an array), copied out of SPI's memory so
 * that it outlives the next statement and SPI_finish.  NULL is not
 * expected here: the queries return coalesce(..., '{}').
 */
Datum
NaboomResultTransfer(int row, int col)
{
	bool		isnull;
	Datum		d = NaboomResultDatum(row, col, &isnull);

	if (isnull)
		elog(ERROR, "naboom: unexpected NULL in column %d", col);
	return SPI_datumTransfer(d, false, -1);
}

/*
 * NaboomRunAsOwner calls fn(arg) as owner, with row security not forced,
 * and gives the caller their identity back however fn ends.
 */
void
NaboomRunAsOwner(Oid owner, void (*fn) (void *arg), void *arg)
{
	Oid			save_userid;
	int			save_sec;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}
