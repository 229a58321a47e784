/*-------------------------------------------------------------------------
 *
 * audit_guard.c
 *	  Keeping the audit log append-only and its triggers on.
 *
 * naboom.audit_guard is a BEFORE UPDATE OR DELETE row trigger and a BEFORE
 * TRUNCATE statement trigger on naboom.audit_log, its partitions and
 * naboom.audit_seal, ENABLE ALWAYS.  It refuses everyone, the owner and
 * superusers included, except naboom's own C code that moves or expires
 * rows (NaboomAuditPrivileged, which SQL cannot set).
 *
 * naboom.audit_ddl is an event trigger: it refuses ALTER TABLE that would
 * switch off one of the audit triggers, named audit_* (DISABLE TRIGGER name / ALL /
 * USER, or ENABLE [REPLICA] TRIGGER, which makes it skippable with
 * session_replication_role), and DROP TRIGGER of them, outside extension
 * scripts; it records every other trigger enable/disable on an audited
 * table as a DDL entry.  A superuser can still drop the event trigger,
 * SET naboom.audit = off, or rewrite the files: see README "Audit".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "naboom.h"
#include "restore.h"
#include "audit.h"
#include "audit_guard.h"
#include "citus.h"
#include "spi_util.h"

/* Set only around naboom's own maintenance and retention code. */
bool		NaboomAuditPrivileged = false;

/*
 * PositionOnly: whether an UPDATE of an audit row changes nothing but what
 * anyone may change, once, on a distributed naboom (README "Citus"): its
 * position in its community's log (seq, from NULL to a number: the
 * coordinator's writer numbers committed rows) and, when naboom was
 * distributed, a row without a community filed under community 0 (which
 * hashes as none, audit_hash.c).  Every other column must stay as it was:
 * nothing a seal covers can change this way.
 */
static bool
PositionOnly(Relation rel, HeapTuple oldtup, HeapTuple newtup)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			seq = SPI_fnumber(desc, "seq");
	int			community = SPI_fnumber(desc, "community_id");
	int			a;

	if (seq <= 0 || community <= 0 || SPI_fnumber(desc, "xid") <= 0)
		return false;			/* not a row of the log (a seal) */
	for (a = 1; a <= desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		bool		old_null,
					new_null;
		Datum		old_value,
					new_value;

		if (att->attisdropped)
			continue;
		old_value = heap_getattr(oldtup, a, desc, &old_null);
		new_value = heap_getattr(newtup, a, desc, &new_null);
		if (old_null && new_null)
			continue;
		if (!old_null && !new_null &&
			datum_image_eq(old_value, new_value, att->attbyval, att->attlen))
			continue;
		if (a == seq && old_null)
			continue;
		if (a == community && old_null && DatumGetInt64(new_value) == 0)
			continue;
		return false;
	}
	return true;
}

PG_FUNCTION_INFO_V1(naboom_audit_guard);

/*
 * naboom_audit_guard refuses UPDATE, DELETE and TRUNCATE of audit rows and
 * seals.
 */
Datum
naboom_audit_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;
	Relation	rel;
	Oid			relid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_audit_guard: not called by trigger manager");
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		elog(ERROR, "naboom_audit_guard: must be fired BEFORE");

	if (NaboomAuditPrivileged)
	{
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_newtuple);
		if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_trigtuple);
		return PointerGetDatum(NULL);
	}

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		PositionOnly(trigdata->tg_relation, trigdata->tg_trigtuple, trigdata->tg_newtuple))
		return PointerGetDatum(trigdata->tg_newtuple);

	/* A partition is named by its parent: the month is not the point. */
	rel = trigdata->tg_relation;
	relid = rel->rd_rel->relispartition ? get_partition_parent(RelationGetRelid(rel), false) :
		RelationGetRelid(rel);
	what = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE";
	NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.audit_append_only",
					("the audit log is append-only"),
					("Audit rows expire only by naboom's retention, which drops whole months."),
					"%s of %s is refused for every role.", what, get_rel_name(relid));
	pg_unreachable();
}

/*
 * Triggers that keep the log complete and unchanged: audit_changes,
 * audit_inserts, audit_deletes on audited tables, audit_append_only and
 * audit_no_truncate on the log; every trigger named audit_*.
 */
static bool
IsProtectedTrigger(const char *name)
{
	return name != NULL &&
		strncmp(name, "audit_", 6) == 0;
}

/* Whether a table carries one of the protected triggers. */
static bool
HasProtectedTrigger(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		found = false;
	int			i;

	if (!RelationIsValid(rel))
		return false;
	if (rel->trigdesc != NULL)
		for (i = 0; i < rel->trigdesc->numtriggers && !found; i++)
			found = IsProtectedTrigger(rel->trigdesc->triggers[i].tgname);
	RelationClose(rel);
	return found;
}

static const char *
TriggerCommand(AlterTableType t)
{
	switch (t)
	{
		case AT_EnableTrig:
			return "ENABLE TRIGGER";
		case AT_EnableAlwaysTrig:
			return "ENABLE ALWAYS TRIGGER";
		case AT_EnableReplicaTrig:
			return "ENABLE REPLICA TRIGGER";
		case AT_DisableTrig:
			return "DISABLE TRIGGER";
		case AT_EnableTrigAll:
			return "ENABLE TRIGGER ALL";
		case AT_DisableTrigAll:
			return "DISABLE TRIGGER ALL";
		case AT_EnableTrigUser:
			return "ENABLE TRIGGER USER";
		case AT_DisableTrigUser:
			return "DISABLE TRIGGER USER";
		default:
			return NULL;
	}
}

/*
 * Whether a trigger subcommand would let a protected trigger be skipped:
 * disabling it (by name, ALL or USER), or any mode but ALWAYS for it by name.
 */
static bool
WeakensProtection(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
			return true;
		case AT_DisableTrig:
		case AT_EnableTrig:
		case AT_EnableReplicaTrig:
			return IsProtectedTrigger(cmd->name);
		default:
			return false;
	}
}

static void
RefuseTriggerChange(const char *table, const char *command)
{
	NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.audit_trigger_protected",
					("the audit triggers of %s cannot be switched off", table),
					("Disable other triggers by name. For a bulk load a superuser can SET naboom.audit = off in that session."),
					"%s would stop a trigger named audit_* (audit_changes, audit_append_only, ...) from firing.", command);
}

/* An ALTER TABLE: refuse or record its trigger subcommands. */
static void
AlterTableTriggers(AlterTableStmt *stmt)
{
	Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	char	   *table;
	ListCell   *lc;

	if (!OidIsValid(relid) || !HasProtectedTrigger(relid))
		return;
	table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									   get_rel_name(relid));
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		const char *command = TriggerCommand(cmd->subtype);
		StringInfoData detail;

		if (command == NULL)
			continue;
		if (creating_extension)
			continue;			/* naboom's own install and upgrade scripts */
		if (WeakensProtection(cmd))
			RefuseTriggerChange(table, command);
		/* Citus repeating the coordinator's DDL on a shard: audited there */
		if (NaboomCitusInternal())
			continue;
		/* A restore sets the audit triggers of the tables it makes ALWAYS again. */
		if (cmd->subtype == AT_EnableAlwaysTrig && NaboomRestoreSession())
			continue;
		initStringInfo(&detail);
		appendStringInfoString(&detail, "{\"command\":");
		escape_json(&detail, command);
		appendStringInfoString(&detail, ",\"trigger\":");
		if (cmd->name != NULL)
			escape_json(&detail, cmd->name);
		else
			appendStringInfoString(&detail, "null");
		appendStringInfoChar(&detail, '}');
		NaboomAuditWrite("DDL", table, NULL, NULL, NULL, NULL, NULL, detail.data);
	}
}

/* A DROP TRIGGER: refuse it for the protected triggers. */
static void
DropTriggers(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TRIGGER || creating_extension)
		return;
	foreach(lc, stmt->objects)
	{
		List	   *names = (List *) lfirst(lc);

		if (IsProtectedTrigger(strVal(llast(names))))
			RefuseTriggerChange(NameListToString(list_truncate(list_copy(names), list_length(names) - 1)),
								"DROP TRIGGER");
	}
}

PG_FUNCTION_INFO_V1(naboom_audit_ddl);

/*
 * naboom_audit_ddl is the event trigger behind naboom_audit_ddl
 * (ddl_command_end, ALTER TABLE) and naboom_audit_drop (ddl_command_start,
 * DROP TRIGGER).
 */
Datum
naboom_audit_ddl(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "naboom_audit_ddl: not called by event trigger manager");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!naboom_audit_enabled)
		PG_RETURN_NULL();
	if (IsA(trigdata->parsetree, AlterTableStmt))
		AlterTableTriggers((AlterTableStmt *) trigdata->parsetree);
	else if (IsA(trigdata->parsetree, DropStmt))
		DropTriggers((DropStmt *) trigdata->parsetree);
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(naboom_audit_move_default);

/*
 * naboom.audit_move_default(month, name): the month's rows were logged
 * while it had no partition and sit in audit_log_default.  A partition may
 * not be attached over rows of the default, so the rows move out first (as
 * they are: ids, times and content, which the seals cover), then the new
 * partition is created, then they move in.  Runs as the caller (the owner:
 * audit_maintain is not granted to anyone).
 */
Datum
naboom_audit_move_default(PG_FUNCTION_ARGS)
{
	DateADT		month = PG_GETARG_DATEADT(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			argtypes[1] = {DATEOID};
	Datum		args[1] = {DateADTGetDatum(month)};
	Oid			argtypes2[2] = {DATEOID, TEXTOID};
	Datum		args2[2] = {DateADTGetDatum(month), PointerGetDatum(cstring_to_text(name))};
	uint64		moved = 0;
	StringInfoData sql;

	NaboomSpiConnect();
	NaboomAuditPrivileged = true;
	PG_TRY();
	{
		if (SPI_execute_with_args("CREATE TEMP TABLE naboom_audit_moving ON COMMIT DROP AS"
								  " WITH gone AS (DELETE FROM naboom.audit_log_default d"
								  "  WHERE d.logged_at OPERATOR(pg_catalog.>=) ($1::pg_catalog.timestamp AT TIME ZONE 'UTC')"
								  "   AND d.logged_at OPERATOR(pg_catalog.<) (($1 OPERATOR(pg_catalog.+) '1 month'::pg_catalog.interval)::pg_catalog.timestamp AT TIME ZONE 'UTC')"
								  "  RETURNING d.*) SELECT * FROM gone",
								  1, argtypes, args, NULL, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not move audit rows out of the default partition");
		/* The bounds are midnight UTC, as audit_maintain makes them. */
		if (SPI_execute_with_args("SELECT pg_catalog.format('CREATE TABLE naboom.%I PARTITION OF naboom.audit_log"
								  " FOR VALUES FROM (%L) TO (%L)', $2::pg_catalog.text,"
								  " $1::pg_catalog.timestamp AT TIME ZONE 'UTC',"
								  " ($1 OPERATOR(pg_catalog.+) '1 month'::pg_catalog.interval)::pg_catalog.timestamp AT TIME ZONE 'UTC')",
								  2, argtypes2, args2, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not format the partition of %s", name);
		initStringInfo(&sql);
		appendStringInfoString(&sql, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not create %s", name);
		if (SPI_execute("INSERT INTO naboom.audit_log SELECT * FROM naboom_audit_moving", false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not move audit rows into %s", name);
		moved = SPI_processed;
		if (SPI_execute("DROP TABLE naboom_audit_moving", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not drop the moved rows' copy");
	}
	PG_FINALLY();
	{
		NaboomAuditPrivileged = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64((int64) moved);
}
