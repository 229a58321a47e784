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
 * the workers of the transaction while citus.propagate_set_commands is
 * 'local', so before naboom first reads the caller in a transaction (once
 * naboom.distribute() has set naboom.distributed for the database) it
 * switches that on, repeats the gateway's settings as SET LOCAL, and
 * switches it back: the claims, the request headers (the audit's client address
 * and request id) and, inside a SECURITY DEFINER function, the role outside
 * it as naboom.caller_role (a superuser-only setting), which identity.c and
 * claims.c take for the outer role when it is set.  Again only when a
 * setting changed.  Nothing happens on a single node.
 *
 * Outside a transaction block Citus does neither half of that: it repeats
 * a SET LOCAL only in what it takes for a multi-statement transaction (a
 * block, a DO block, a procedure, a function's query; not a function called
 * as a simple expression, which is how naboom's API reads the caller), and
 * runs a read without a transaction block on the worker, so without the
 * SET LOCALs.  A client in autocommit (a plain SELECT
 * naboom_api.get_incident(...)) had its shard reads run with no claims and
 * the owner's role, as the service: the public was shown a hidden
 * attachment.  So naboom makes the transaction a Citus coordinated one
 * (every remote statement then runs in a block that starts with the SET
 * LOCALs) and runs its SET LOCALs as Citus runs a DO block's, through two
 * symbols citus.so exports: UseCoordinatedTransaction() and DoBlockLevel.
 *
 * src/citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "naboom.h"
#include "citus.h"
#include "audit_refusal.h"
#include "claims.h"
#include "events.h"
#include "spi_util.h"

/* naboom.caller_role: the outer role, as the coordinator carried it */
static char *naboom_caller_role = NULL;

/* naboom.caller_addr: the client's address, as the coordinator carried it */
static char *naboom_caller_addr = NULL;

/* naboom.distributed: set for the database by naboom.distribute() */
static bool naboom_distributed = false;

/* what was carried last, and in which transaction */
static LocalTransactionId CarriedLxid = InvalidLocalTransactionId;
static char *CarriedKey = NULL;

/* Citus's UseCoordinatedTransaction() and DoBlockLevel, looked up once */
typedef void (*UseCoordinatedTransactionFn) (void);
static UseCoordinatedTransactionFn UseCoordinated = NULL;
static int *CitusDoBlockLevel = NULL;

static const char *const CarriedSettings[] = {
	"request.jwt.claims", "jwt.claims.sub", "request.headers"
};

void
NaboomDefineCitusSettings(void)
{
	DefineCustomStringVariable("naboom.caller_role",
							   "On a Citus worker: the role the caller had outside naboom's SECURITY DEFINER functions on the coordinator.",
							   "Set by naboom itself with SET LOCAL (carried by Citus); empty means the session's own role. Honoured only in Citus's own connections of a superuser (see NaboomOuterUserId).",
							   &naboom_caller_role,
							   "",
							   PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("naboom.caller_addr",
							   "On a Citus worker: the client's address as the coordinator's naboom worked it out (x-forwarded-for through the trusted proxies, else its connection's).",
							   "Set by naboom itself with SET LOCAL (carried by Citus); honoured only where naboom.caller_role is (see NaboomOuterUserId), for the audit's client_addr.",
							   &naboom_caller_addr,
							   "",
							   PGC_USERSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("naboom.distributed",
							 "Whether naboom.distribute() has distributed naboom in this database (Citus).",
							 "Set for the database by naboom.distribute(); off turns the carrying of the caller's identity to the workers off (tests).",
							 &naboom_distributed,
							 false,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
}

/*
 * NaboomOuterUserId: the role outside any SECURITY DEFINER function, or the
 * one the coordinator carried.
 *
 * The setting is anyone's to set: Citus repeats a transaction's SET LOCAL
 * on every connection of the transaction, including one it opened as the
 * gateway's role for a direct read, where a superuser-only setting failed
 * the whole transaction.  So it is believed only where the coordinator's
 * naboom put it: in a Citus connection (application_name citus_internal
 * gpid=...) whose session user is a superuser (Citus connects as the
 * current user: the functions' owner inside naboom's SECURITY DEFINER
 * functions).  A gateway's role can open neither.
 */
Oid
NaboomOuterUserId(void)
{
	const char *app;

	if (naboom_caller_role != NULL && naboom_caller_role[0] != '\0' &&
		superuser_arg(GetSessionUserId()) &&
		(app = GetConfigOption("application_name", true, false)) != NULL &&
		strncmp(app, "citus_internal gpid=", 20) == 0)
	{
		Oid			role = get_role_oid(naboom_caller_role, true);

		if (OidIsValid(role))
			return role;
	}
	return GetOuterUserId();
}

/*
 * NaboomCarriedAddress: the client's address the coordinator carried, where
 * it is believed (as naboom.caller_role is: in Citus's own connection of a
 * superuser), else NULL.
 */
char *
NaboomCarriedAddress(void)
{
	if (naboom_caller_addr == NULL || naboom_caller_addr[0] == '\0' ||
		!superuser_arg(GetSessionUserId()) || !NaboomCitusInternal())
		return NULL;
	return naboom_caller_addr;
}

static void
AppendSetLocal(StringInfo cmd, const char *name, const char *value)
{
	appendStringInfo(cmd, "SET LOCAL %s TO %s", quote_identifier(name),
					 quote_literal_cstr(value));
}

/*
 * SetLocals runs the SET LOCAL commands that carry the request (see
 * NaboomCarryRequest), inside SPI.
 */
static void
SetLocals(const char *mode, const char *role, const char *addr)
{
	bool		switched;
	int			i;

	/*
	 * Citus repeats SET LOCAL on the workers only while its setting is
	 * 'local'; naboom switches it on for its own statements and back at
	 * once, so that the client's own SET LOCAL statements (SET LOCAL ROLE
	 * above all: Citus would run naboom's functions as the caller on the
	 * workers) stay where the client made them.
	 */
	switched = strcmp(mode, "local") != 0;
	if (switched && SPI_execute("SET LOCAL citus.propagate_set_commands TO local", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not switch on Citus's SET propagation");
	for (i = 0; i < lengthof(CarriedSettings); i++)
	{
		const char *v = GetConfigOption(CarriedSettings[i], true, false);
		StringInfoData cmd;

		/*
		 * An empty one is carried too once something was carried in this
		 * transaction: the workers would otherwise keep the earlier value
		 * (a client that moved from request.jwt.claims to jwt.claims.sub
		 * was refused there as naboom.conflicting_claims).
		 */
		if (v == NULL || (v[0] == '\0' && CarriedLxid != MyProc->lxid))
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
	{
		StringInfoData cmd;

		initStringInfo(&cmd);
		AppendSetLocal(&cmd, "naboom.caller_addr", addr != NULL ? addr : "");
		if (SPI_execute(cmd.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not carry the client's address to the Citus workers");
	}
	if (switched)
	{
		StringInfoData cmd;

		initStringInfo(&cmd);
		AppendSetLocal(&cmd, "citus.propagate_set_commands", mode);
		if (SPI_execute(cmd.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not switch Citus's SET propagation back");
	}
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
	char	   *addr;
	int			i;

	if (!naboom_distributed || mode == NULL || !IsTransactionState())
		return;
	/* a worker's connection from Citus has nothing to carry further */
	app = GetConfigOption("application_name", true, false);
	if (app != NULL && strncmp(app, "citus_internal gpid=", 20) == 0)
		return;
	/* its events, if it writes any, are written on a worker (events.c) */
	NaboomEventsMaybeWritten();

	initStringInfo(&key);
	for (i = 0; i < lengthof(CarriedSettings); i++)
	{
		const char *v = GetConfigOption(CarriedSettings[i], true, false);

		appendStringInfo(&key, "%s%c", v ? v : "", '\x1f');
	}
	if (GetUserId() != GetOuterUserId() && superuser())
		role = GetUserNameFromId(NaboomOuterUserId(), false);
	appendStringInfoString(&key, role ? role : "");
	addr = NaboomRequestAddress();
	appendStringInfo(&key, "%c%s", '\x1f', addr ? addr : "");

	if (CarriedLxid == MyProc->lxid && CarriedKey != NULL && strcmp(CarriedKey, key.data) == 0)
		return;

	if (UseCoordinated == NULL || CitusDoBlockLevel == NULL)
	{
		UseCoordinated = (UseCoordinatedTransactionFn)
			load_external_function("citus", "UseCoordinatedTransaction", true, NULL);
		CitusDoBlockLevel = (int *) load_external_function("citus", "DoBlockLevel", true, NULL);
	}
	/* remote statements in blocks that start with the SET LOCALs ... */
	UseCoordinated();

	/* ... which Citus repeats as it would a DO block's */
	SPI_connect();
	(*CitusDoBlockLevel)++;
	PG_TRY();
	{
		SetLocals(mode, role, addr);
	}
	PG_FINALLY();
	{
		(*CitusDoBlockLevel)--;
	}
	PG_END_TRY();
	SPI_finish();

	if (CarriedKey != NULL)
		pfree(CarriedKey);
	CarriedKey = MemoryContextStrdup(TopMemoryContext, key.data);
	CarriedLxid = MyProc->lxid;
}

/*
 * NaboomCitusGroup: see citus.h.  Cheap without Citus (one catalog lookup);
 * with it, one query on Citus's metadata.  Unlike naboom.distributed, it
 * answers on the workers too.
 */
int
NaboomCitusGroup(void)
{
	bool		isnull;
	int32		group;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)))
		return -1;
	if (SPI_execute("SELECT g.groupid FROM pg_catalog.pg_dist_local_group g"
					" WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p"
					"  WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'naboom.event'::pg_catalog.regclass)",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read Citus's metadata");
	if (SPI_processed == 0)
		return -1;
	group = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return isnull ? -1 : (int) group;
}

/*
 * NaboomCitusDistributed: see citus.h.  naboom.distribute() sets
 * naboom.distributed for the database, so reading it is the whole test.
 */
bool
NaboomCitusDistributed(void)
{
	return naboom_distributed;
}

/*
 * NaboomShardLocalSql: see citus.h.  Citus lets a trigger on a shard run
 * only queries on co-located shards of the same node; a query it cannot
 * route to one shard (the alert fan-out: a CTE read three times, DISTINCT
 * ON, LIMIT) it would plan as a distributed INSERT ... SELECT that connects
 * back into its own node.  Naming the shards makes it a local query, which
 * is what the trigger means: one community, on this node.
 */
char *
NaboomShardLocalSql(const char *sql, int64 community_id)
{
	const char *app = GetConfigOption("application_name", true, false);
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(community_id)};
	char	   *expanded;
	StringInfoData out;
	const char *p;
	uint64		n;
	char	  **names;
	char	  **shards;
	uint64		i;

	if (app == NULL || strncmp(app, "citus_internal gpid=", 20) != 0 ||
		GetConfigOption("citus.propagate_set_commands", true, false) == NULL)
		return NULL;
	if (SPI_execute_with_args(
			"SELECT c.relname::pg_catalog.text, pg_catalog.shard_name(p.logicalrelid,"
			" CASE WHEN p.partmethod OPERATOR(pg_catalog.=) 'n'"
			"  THEN (SELECT pg_catalog.min(s.shardid) FROM pg_catalog.pg_dist_shard s"
			"   WHERE s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid)"
			"  ELSE pg_catalog.get_shard_id_for_distribution_column(p.logicalrelid, $1) END)"
			" FROM pg_catalog.pg_dist_partition p"
			" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid"
			" JOIN pg_catalog.pg_namespace ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace"
			" WHERE ns.nspname OPERATOR(pg_catalog.=) 'naboom'"
			"  AND c.relname OPERATOR(pg_catalog.<>) 'incident_reference'",
			1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed == 0)
		return NULL;
	n = SPI_processed;
	names = palloc(sizeof(char *) * n);
	shards = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		shards[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}

	expanded = NaboomExpandPostgis(sql);
	initStringInfo(&out);
	for (p = expanded; *p;)
	{
		/*
		 * The table written stays the distributed one: Citus routes the rows
		 * to this node's shard and fills their identity columns (a shard has
		 * no defaults of its own).
		 */
		bool		written = (p - expanded >= 12 && strncmp(p - 12, "INSERT INTO ", 12) == 0);

		/* (a type named after a table, ::naboom.audit_log, stays) */
		if (!written && strncmp(p, "naboom.", 7) == 0 &&
			(p == expanded || !(isalnum((unsigned char) p[-1]) || p[-1] == '_' || p[-1] == ':')))
		{
			const char *id = p + 7;
			size_t		len = 0;
			bool		done = false;

			while (isalnum((unsigned char) id[len]) || id[len] == '_')
				len++;
			for (i = 0; i < n && !done; i++)
				if (strlen(names[i]) == len && strncmp(names[i], id, len) == 0)
				{
					appendStringInfoString(&out, shards[i]);
					p = id + len;
					done = true;
				}
			if (done)
				continue;
		}
		appendStringInfoChar(&out, *p++);
	}
	return out.data;
}

/*
 * NaboomCitusInternal: whether this is one of Citus's own connections (a
 * coordinator running a task on this node), by its application_name.
 */
bool
NaboomCitusInternal(void)
{
	const char *app = GetConfigOption("application_name", true, false);

	return app != NULL && strncmp(app, "citus_internal gpid=", 20) == 0;
}

/* Shards seen by NaboomCitusShardOf, forgotten at any relcache invalidation. */
#define SHARD_CACHE_SIZE 64
typedef struct ShardSeen
{
	Oid			shard;
	Oid			logical;		/* InvalidOid: not a shard of a distributed table */
} ShardSeen;
static ShardSeen ShardCache[SHARD_CACHE_SIZE];
static int	ShardCacheUsed = 0;
static bool ShardCallbackRegistered = false;

static void
ShardCacheReset(Datum arg, Oid relid)
{
	ShardCacheUsed = 0;
}

/*
 * NaboomCitusShardOf: the distributed (hash) table whose shard relid is, or
 * InvalidOid (a reference table's copy, a local table, a shard not placed
 * here yet, no Citus).  One query on Citus's metadata per relation, then
 * cached once found.
 */
Oid
NaboomCitusShardOf(Oid relid)
{
	const char *name = get_rel_name(relid);
	const char *digits;
	Oid			logical = InvalidOid;
	int			i;

	if (!ShardCallbackRegistered)
	{
		CacheRegisterRelcacheCallback(ShardCacheReset, (Datum) 0);
		ShardCallbackRegistered = true;
	}
	for (i = 0; i < ShardCacheUsed; i++)
		if (ShardCache[i].shard == relid)
			return ShardCache[i].logical;
	digits = name ? strrchr(name, '_') : NULL;
	if (digits != NULL && digits[1] != '\0' && strspn(digits + 1, "0123456789") == strlen(digits + 1) &&
		OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)))
	{
		Oid			argtypes[1] = {INT8OID};
		Datum		args[1] = {Int64GetDatum(strtoi64(digits + 1, NULL, 10))};
		bool		isnull;

		NaboomSpiConnect();
		/*
		 * A shard this node holds: not one Citus is copying here while it
		 * moves a shard group (its placement here is made at the end), whose
		 * rows are no change.
		 */
		if (SPI_execute_with_args("SELECT s.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_shard s"
								  " JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid OPERATOR(pg_catalog.=) s.logicalrelid"
								  " WHERE s.shardid OPERATOR(pg_catalog.=) $1 AND p.partmethod OPERATOR(pg_catalog.=) 'h'"
								  "  AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement pl"
								  "   JOIN pg_catalog.pg_dist_local_group g ON g.groupid OPERATOR(pg_catalog.=) pl.groupid"
								  "   WHERE pl.shardid OPERATOR(pg_catalog.=) s.shardid)",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read Citus's shards");
		if (SPI_processed == 1)
			logical = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
	}
	/* only what holds: a shard being copied here is asked about again */
	if (!OidIsValid(logical))
		return logical;
	if (ShardCacheUsed == SHARD_CACHE_SIZE)
		ShardCacheUsed = 0;
	ShardCache[ShardCacheUsed].shard = relid;
	ShardCache[ShardCacheUsed].logical = logical;
	ShardCacheUsed++;
	return logical;
}

/*
 * NaboomAuditLogTargets: see citus.h.
 */
List *
NaboomAuditLogTargets(MemoryContext cxt)
{
	List	   *out = NIL;
	MemoryContext old;
	uint64		i;

	if (!OidIsValid(get_relname_relid("pg_dist_placement", PG_CATALOG_NAMESPACE)) ||
		SPI_execute("SELECT pg_catalog.shard_name(s.logicalrelid, s.shardid)"
					" FROM pg_catalog.pg_dist_shard s"
					" JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid"
					" JOIN pg_catalog.pg_dist_local_group g ON g.groupid OPERATOR(pg_catalog.=) p.groupid"
					" WHERE s.logicalrelid OPERATOR(pg_catalog.=) 'naboom.audit_log'::pg_catalog.regclass"
					" ORDER BY s.shardid", true, 0) != SPI_OK_SELECT)
	{
		old = MemoryContextSwitchTo(cxt);
		out = list_make1(pstrdup("naboom.audit_log"));
		MemoryContextSwitchTo(old);
		return out;
	}
	if (SPI_processed == 0)
	{
		/* not distributed, or no shard of it here */
		bool		distributed;

		if (SPI_execute("SELECT 1 FROM pg_catalog.pg_dist_partition p"
						" WHERE p.logicalrelid OPERATOR(pg_catalog.=) 'naboom.audit_log'::pg_catalog.regclass",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read Citus's metadata");
		distributed = SPI_processed > 0;
		old = MemoryContextSwitchTo(cxt);
		if (!distributed)
			out = list_make1(pstrdup("naboom.audit_log"));
		MemoryContextSwitchTo(old);
		return out;
	}
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		old = MemoryContextSwitchTo(cxt);
		out = lappend(out, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	return out;
}

/*
 * NaboomOnAuditTarget: see citus.h.
 */
char *
NaboomOnAuditTarget(const char *sql, const char *target)
{
	static const char name[] = "naboom.audit_log";
	StringInfoData out;
	const char *p = sql;

	if (strcmp(target, name) == 0)
		return pstrdup(sql);
	initStringInfo(&out);
	while (*p)
	{
		if (strncmp(p, name, sizeof(name) - 1) == 0 &&
			!(isalnum((unsigned char) p[sizeof(name) - 1]) || p[sizeof(name) - 1] == '_') &&
			(p == sql || !(isalnum((unsigned char) p[-1]) || p[-1] == '_' || p[-1] == '.' || p[-1] == ':')))
		{
			appendStringInfoString(&out, target);
			p += sizeof(name) - 1;
			continue;
		}
		appendStringInfoChar(&out, *p++);
	}
	return out.data;
}
