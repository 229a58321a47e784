/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  The caller's identity on a Citus cluster's workers.
 *
 * A gateway names the caller with set_config('request.jwt.claims', ...,
 * true) (PostgREST) or jwt.claims.sub (PostGraphile), and switches to its
 * role; the API's functions are SECURITY DEFINER.  Citus runs the part of a
 * statement that touches a shard (and the shard's triggers) in a connection
 * of its own to the worker, as the current user (the functions' owner), and
 * carries none of those settings: a trigger on a shard would see no claims
 * and a superuser, i.e. the service.  Citus does carry SET LOCAL commands to
 * the workers of the transaction when citus.propagate_set_commands is
 * 'local' (naboom.distribute() sets it for the database), so before naboom
 * first reads the caller in a transaction it repeats the gateway's settings
 * as SET LOCAL: the claims, the request headers (the audit's client address
 * and request id) and, inside a SECURITY DEFINER function, the role outside
 * it as naboom.caller_role (a superuser-only setting), which identity.c and
 * claims.c take for the outer role when it is set.  Again only when a
 * setting changed.  Nothing happens without Citus's setting.
 *
 * src/citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "naboom.h"
#include "citus.h"
#include "claims.h"

/* naboom.caller_role: the outer role, as the coordinator carried it */
static char *naboom_caller_role = NULL;

/* what was carried last, and in which transaction */
static LocalTransactionId CarriedLxid = InvalidLocalTransactionId;
static char *CarriedKey = NULL;

static const char *const CarriedSettings[] = {
	"request.jwt.claims", "jwt.claims.sub", "request.headers"
};

void
NaboomDefineCitusSettings(void)
{
	DefineCustomStringVariable("naboom.caller_role",
							   "On a Citus worker: the role the caller had outside naboom's SECURITY DEFINER functions on the coordinator.",
							   "Set by naboom itself with SET LOCAL (carried by Citus); empty means the session's own role.",
							   &naboom_caller_role,
							   "",
							   PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
}

/*
 * NaboomOuterUserId: the role outside any SECURITY DEFINER function, or the
 * one the coordinator carried.
 */
Oid
NaboomOuterUserId(void)
{
	if (naboom_caller_role != NULL && naboom_caller_role[0] != '\0')
	{
		Oid			role = get_role_oid(naboom_caller_role, true);

		if (OidIsValid(role))
			return role;
	}
	return GetOuterUserId();
}

static void
AppendSetLocal(StringInfo cmd, const char *name, const char *value)
{
	appendStringInfo(cmd, "SET LOCAL %s TO %s", quote_identifier(name),
					 quote_literal_cstr(value));
}

/*
 * NaboomCarryRequest repeats the gateway's settings as SET LOCAL, for Citus
 * to carry to the workers (see the file's comment).
 */
void
NaboomCarryRequest(void)
{
	const char *mode = GetConfigOption("citus.propagate_set_commands", true, false);
	const char *app;
	StringInfoData key;
	const char *role = NULL;
	int			i;

	if (mode == NULL || strcmp(mode, "local") != 0 || !IsTransactionState())
		return;
	/* a worker's connection from Citus has nothing to carry further */
	app = GetConfigOption("application_name", true, false);
	if (app != NULL && strncmp(app, "citus_internal gpid=", 20) == 0)
		return;

	initStringInfo(&key);
	for (i = 0; i < lengthof(CarriedSettings); i++)
	{
		const char *v = GetConfigOption(CarriedSettings[i], true, false);

		appendStringInfo(&key, "%s%c", v ? v : "", '\x1f');
	}
	if (GetUserId() != GetOuterUserId() && superuser())
		role = GetUserNameFromId(NaboomOuterUserId(), false);
	appendStringInfoString(&key, role ? role : "");

	if (CarriedLxid == MyProc->lxid && CarriedKey != NULL && strcmp(CarriedKey, key.data) == 0)
		return;

	SPI_connect();
	for (i = 0; i < lengthof(CarriedSettings); i++)
	{
		const char *v = GetConfigOption(CarriedSettings[i], true, false);
		StringInfoData cmd;

		if (v == NULL || v[0] == '\0')
			continue;
		initStringInfo(&cmd);
		AppendSetLocal(&cmd, CarriedSettings[i], v);
		if (SPI_execute(cmd.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not carry %s to the Citus workers", CarriedSettings[i]);
	}
	if (role != NULL)
	{
		StringInfoData cmd;

		initStringInfo(&cmd);
		AppendSetLocal(&cmd, "naboom.caller_role", role);
		if (SPI_execute(cmd.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not carry the caller's role to the Citus workers");
	}
	SPI_finish();

	if (CarriedKey != NULL)
		pfree(CarriedKey);
	CarriedKey = MemoryContextStrdup(TopMemoryContext, key.data);
	CarriedLxid = MyProc->lxid;
}
