/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit log: who changed what, and who read which emergency record.
 *
 * Changes: naboom.audit_trigger is an AFTER ROW trigger on every domain
 * table (naboom.audit_table installs it, ENABLE ALWAYS).  It writes one row
 * per changed row into naboom.audit_log in the same transaction, with a kept
 * plan run as the log's owner: the key, the changed columns' old and new
 * values (row_to_json of just those columns), the actor, the database role
 * and the request context the gateway set in request.headers
 * (audit_refusal.c builds it).
 *
 * Reads: naboom.audit_access (one record) and naboom.audit_reads (many,
 * e.g. every private incident incidents_near returns), called by the API
 * functions that show emergency data, hand READ entries to the audit writer
 * (writer.c), which keeps them whatever becomes of the reading transaction
 * and works in the read-only transactions PostgREST uses for GET.  A full
 * ring makes the read wait and then refuses it: a read is recorded or it
 * does not happen (AuditReads).  Without a writer for this database, a
 * read-write transaction writes the rows itself; a read-only one, or a hot
 * standby, can only send them to the server log.
 *
 * Refused attempts are audited by audit_refusal.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "replication/worker_internal.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "naboom.h"
#include "restore.h"
#include "audit.h"
#include "citus.h"
#include "audit_queue.h"
#include "identity.h"
#include "retention_engine.h"
#include "spi_util.h"

static SPIPlanPtr InsertPlan = NULL;
static Oid	LogOwner = InvalidOid;
static bool LogCommunityRequired = false;	/* with LogOwner */
static bool CallbackRegistered = false;

/* One audit row, as NaboomAuditWrite hands it to InsertEntry as the owner. */
typedef struct AuditRow
{
	Datum		args[13];
	char		nulls[13];
} AuditRow;

/* The log's owner is looked up again after any relcache invalidation. */
static void
AuditRelcacheCallback(Datum arg, Oid relid)
{
	LogOwner = InvalidOid;
}

/*
 * AuditLogOwner is the owner of naboom.audit_log: entries are written as
 * that role, because no caller may write the log.
 */
Oid
NaboomAuditLogOwner(void)
{
	Oid			nsp;
	Oid			relid;
	HeapTuple	tup;

	if (!CallbackRegistered)
	{
		CacheRegisterRelcacheCallback(AuditRelcacheCallback, (Datum) 0);
		CallbackRegistered = true;
	}
	if (OidIsValid(LogOwner))
		return LogOwner;
	nsp = get_namespace_oid("naboom", false);
	relid = get_relname_relid("audit_log", nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "naboom.audit_log does not exist");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	LogOwner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	/*
	 * distribute() makes community_id the log's NOT NULL distribution
	 * column.  (A worker added later has the log its CREATE EXTENSION made
	 * as Citus's shell of it: Citus's metadata says so there.)
	 */
	tup = SearchSysCacheAttName(relid, "community_id");
	LogCommunityRequired = HeapTupleIsValid(tup) && ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	if (HeapTupleIsValid(tup))
		ReleaseSysCache(tup);
	if (!LogCommunityRequired && OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(relid)};

		NaboomSpiConnect();
		if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition p"
								  " WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read Citus's metadata");
		LogCommunityRequired = SPI_processed > 0;
		SPI_finish();
	}
	return LogOwner;
}
/*
 * TupleToJson is row_to_json of the given columns of a row (all columns
 * when atts is NULL), so every value has its JSON form (numbers, booleans,
 * GeoJSON for PostGIS geometry).
 */
static char *
TupleToJson(HeapTuple tup, TupleDesc desc, Bitmapset *atts)
{
	TupleDesc	sub;
	Datum	   *values;
	bool	   *nulls;
	int			n = 0;
	int			att = -1;
	Datum		row;

	if (atts == NULL)
		row = heap_copy_tuple_as_datum(tup, desc);
	else
	{
		sub = CreateTemplateTupleDesc(bms_num_members(atts));
		values = palloc(sizeof(Datum) * bms_num_members(atts));
		nulls = palloc(sizeof(bool) * bms_num_members(atts));
		while ((att = bms_next_member(atts, att)) >= 0)
		{
			TupleDescCopyEntry(sub, n + 1, desc, att);
			values[n] = heap_getattr(tup, att, desc, &nulls[n]);
			n++;
		}
		sub = BlessTupleDesc(sub);
		row = HeapTupleGetDatum(heap_form_tuple(sub, values, nulls));
	}
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(row_to_json, row)));
}

/* The user columns whose values differ between the old and the new row. */
static Bitmapset *
ChangedColumns(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc)
{
	Bitmapset  *changed = NULL;
	int			i;

	for (i = 1; i <= desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i - 1);
		bool		n1,
					n2;
		Datum		d1,
					d2;

		if (a->attisdropped)
			continue;
		d1 = heap_getattr(oldtup, i, desc, &n1);
		d2 = heap_getattr(newtup, i, desc, &n2);
		if (n1 != n2 || (!n1 && !datum_image_eq(d1, d2, a->attbyval, a->attlen)))
			changed = bms_add_member(changed, i);
	}
	return changed;
}

/* The primary key columns of a table (attribute numbers), or NULL. */
static Bitmapset *
KeyColumns(Relation rel)
{
	Bitmapset  *raw = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	Bitmapset  *key = NULL;
	int			x = -1;

	while ((x = bms_next_member(raw, x)) >= 0)
		key = bms_add_member(key, x + FirstLowInvalidHeapAttributeNumber);
	return key;
}

/* A bigint column by name, or false if the table has none or it is NULL. */
static bool
Int8Column(HeapTuple tup, TupleDesc desc, const char *name, int64 *value)
{
	int			att = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (att <= 0 || TupleDescAttr(desc, att - 1)->atttypid != INT8OID)
		return false;
	d = heap_getattr(tup, att, desc, &isnull);
	if (isnull)
		return false;
	*value = DatumGetInt64(d);
	return true;
}

/* Insert one audit row; runs as the log's owner (NaboomRunAsOwner). */
static void
InsertEntry(void *arg)
{
	static Oid	argtypes[13] = {TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	AuditRow   *row = (AuditRow *) arg;
	int			ret;

	NaboomSpiConnect();
	NaboomKeptPlan(&InsertPlan,
				   "INSERT INTO naboom.audit_log (action, community_id, incident_id,"
				   " table_name, row_key, old_values, new_values, actor, db_role,"
				   " client_addr, user_agent, request_id, detail)"
				   " VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6::pg_catalog.jsonb,"
				   " $7::pg_catalog.jsonb, $8, $9, $10, $11, $12, $13::pg_catalog.jsonb)",
				   13, argtypes);
	ret = SPI_execute_plan(InsertPlan, row->args, row->nulls, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not write the audit log: %s", SPI_result_code_string(ret));
	SPI_finish();
}

/* A text argument of an audit row, NULL when s is. */
static void
TextArg(AuditRow *row, int i, const char *s)
{
	row->nulls[i] = s == NULL ? 'n' : ' ';
	row->args[i] = s == NULL ? (Datum) 0 : CStringGetTextDatum(s);
}

/*
 * NaboomAuditWrite appends one row to naboom.audit_log in the current
 * transaction, as the log's owner.  Any of the texts may be NULL; the JSON
 * texts are parsed as jsonb.  Claims that would be refused are refused here
 * too, before anything is written.
 */
void
NaboomAuditWrite(const char *action, const char *table_name,
				 const int64 *community_id, const int64 *incident_id,
				 const char *row_key, const char *old_values,
				 const char *new_values, const char *detail)
{
	NaboomAuditContext *c = NaboomAuditCurrentContext();
	AuditRow	row;
	static const int64 no_community = 0;

	/* a distributed naboom files rows without a community under 0 (README "Citus") */
	(void) NaboomAuditLogOwner();
	if (community_id == NULL && LogCommunityRequired)
		community_id = &no_community;
	if (!c->claims_valid)
		(void) NaboomClaimedSubject();	/* raises naboom's identity error */
	TextArg(&row, 0, action);
	row.args[1] = community_id ? Int64GetDatum(*community_id) : (Datum) 0;
	row.nulls[1] = community_id ? ' ' : 'n';
	row.args[2] = incident_id ? Int64GetDatum(*incident_id) : (Datum) 0;
	row.nulls[2] = incident_id ? ' ' : 'n';
	TextArg(&row, 3, table_name);
	TextArg(&row, 4, row_key);
	TextArg(&row, 5, old_values);
	TextArg(&row, 6, new_values);
	TextArg(&row, 7, c->actor);
	TextArg(&row, 8, c->db_role);
	TextArg(&row, 9, c->client_addr);
	TextArg(&row, 10, c->user_agent);
	TextArg(&row, 11, c->request_id);
	TextArg(&row, 12, detail);
	NaboomRunAsOwner(NaboomAuditLogOwner(), InsertEntry, &row);
}

/*
 * RelationQualifiedName is schema.table, quoted where needed.
 */
static char *
RelationQualifiedName(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/*
 * AuditedName is the name an audited table's change is filed under, or NULL
 * when it is not audited here.  In Citus's own connections on a worker a
 * change to a shard of a distributed table is audited under the table's name
 * (its community's log is the same wherever the shard moves); a reference
 * table's copy is not, nor is anything else Citus repeats there: the node
 * where the change was made audits it once.
 */
static char *
AuditedName(Relation rel)
{
	Oid			logical;

	if (!NaboomCitusInternal())
		return RelationQualifiedName(rel);
	logical = NaboomCitusShardOf(RelationGetRelid(rel));
	if (!OidIsValid(logical))
		return NULL;
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(logical)), get_rel_name(logical));
}

/*
 * AuditStatementRows writes the entry of a statement's rows: all of them,
 * or (only) those of one community.
 */
static void
AuditStatementRows(TriggerData *trigdata, const char *table, const int64 *only)
{
	bool		inserted = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	Tuplestorestate *rows = inserted ? trigdata->tg_newtable : trigdata->tg_oldtable;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot;
	Bitmapset  *key = KeyColumns(rel);
	StringInfoData values;
	StringInfoData keys;
	int64		community_id = 0,
				incident_id = 0,
				v = 0;
	bool		same_c = true,
				same_i = true;
	int			n = 0;

	initStringInfo(&values);
	initStringInfo(&keys);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		HeapTuple	tup = ExecCopySlotHeapTuple(slot);
		bool		has_c = Int8Column(tup, desc, "community_id", &v);

		if (only != NULL && (!has_c || v != *only))
			continue;
		appendStringInfoString(&values, n == 0 ? "[" : ",");
		appendStringInfoString(&values, TupleToJson(tup, desc, NULL));
		appendStringInfoString(&keys, n == 0 ? "[" : ",");
		appendStringInfoString(&keys, key != NULL ? TupleToJson(tup, desc, key) : "null");
		if (!has_c || (n > 0 && v != community_id))
			same_c = false;
		community_id = v;
		if (!Int8Column(tup, desc, "incident_id", &v) || (n > 0 && v != incident_id))
			same_i = false;
		incident_id = v;
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	if (n == 0)
		return;
	appendStringInfoChar(&values, ']');
	appendStringInfoChar(&keys, ']');
	NaboomAuditWrite(inserted ? "INSERT" : "DELETE", table,
					 same_c ? &community_id : NULL, same_i ? &incident_id : NULL,
					 keys.data, inserted ? NULL : values.data, inserted ? values.data : NULL,
					 NULL);
}

/*
 * AuditStatement writes one entry for all the rows a statement inserted or
 * deleted, from its transition table: for tables whose rows come in bursts
 * (alert fan-out writes dozens per report).  row_key and new_values /
 * old_values are then JSON arrays in the same order; community and
 * incident are filled in when all rows share them.
 */
static void
AuditStatement(TriggerData *trigdata)
{
	bool		inserted = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	Tuplestorestate *rows = inserted ? trigdata->tg_newtable : trigdata->tg_oldtable;
	Relation	rel = trigdata->tg_relation;
	char	   *table = AuditedName(rel);

	if (table == NULL)
		return;
	if (rows == NULL)
		elog(ERROR, "naboom_audit_trigger: a statement trigger needs a transition table (REFERENCING)");
	if (!inserted && !TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: statement level is for INSERT and DELETE only");

	/*
	 * On a Citus worker a shard holds several communities, and each
	 * community's log sits with its own shards: a statement's rows are
	 * written as one entry per community there.
	 */
	if (NaboomCitusInternal())
	{
		TupleDesc	desc = RelationGetDescr(rel);
		TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
		int64	   *seen = NULL;
		int			nseen = 0,
					i;

		tuplestore_rescan(rows);
		while (tuplestore_gettupleslot(rows, true, false, slot))
		{
			HeapTuple	tup = ExecCopySlotHeapTuple(slot);
			int64		v;

			if (!Int8Column(tup, desc, "community_id", &v))
				continue;
			for (i = 0; i < nseen && seen[i] != v; i++)
				;
			if (i == nseen)
			{
				seen = nseen == 0 ? palloc(sizeof(int64) * 8) :
					(nseen % 8 == 0 ? repalloc(seen, sizeof(int64) * (nseen + 8)) : seen);
				seen[nseen++] = v;
			}
		}
		ExecDropSingleTupleTableSlot(slot);
		if (nseen > 1)
		{
			for (i = 0; i < nseen; i++)
				AuditStatementRows(trigdata, table, &seen[i]);
			return;
		}
	}
	AuditStatementRows(trigdata, table, NULL);
}

PG_FUNCTION_INFO_V1(naboom_audit_trigger);

/*
 * naboom_audit_trigger is the AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW
 * trigger of an audited table (and, for tables audited per statement, the
 * AFTER INSERT / AFTER DELETE statement trigger with a transition table).
 * An UPDATE that changes nothing writes nothing.
 */
Datum
naboom_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	row;
	Bitmapset  *changed = NULL;
	const char *action;
	char	   *old_json = NULL;
	char	   *new_json = NULL;
	char	   *key_json = NULL;
	Bitmapset  *key;
	int64		community_id;
	int64		incident_id;
	bool		has_c;
	bool		has_i;
	char	   *table;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_audit_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: must be fired AFTER");
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: cannot be fired by TRUNCATE");
	/*
	 * Retention and erasure write one entry per batch instead.  A restore
	 * loads the audit log as it was, and its rows are no change (restore.c).
	 */
	if (!naboom_audit_enabled || NaboomRetentionActive || NaboomRestoring())
		return PointerGetDatum(NULL);
	/*
	 * Nor are rows a logical replication worker applies: they were audited
	 * where they were written (Citus moves shards this way too).
	 */
	if (MyLogicalRepWorker != NULL)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
	{
		AuditStatement(trigdata);
		return PointerGetDatum(NULL);
	}

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	table = AuditedName(rel);
	if (table == NULL)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		action = "INSERT";
		row = trigdata->tg_trigtuple;
		new_json = TupleToJson(row, desc, NULL);
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		action = "DELETE";
		row = trigdata->tg_trigtuple;
		old_json = TupleToJson(row, desc, NULL);
	}
	else
	{
		action = "UPDATE";
		row = trigdata->tg_newtuple;
		changed = ChangedColumns(trigdata->tg_trigtuple, row, desc);
		if (bms_is_empty(changed))
			return PointerGetDatum(NULL);
		old_json = TupleToJson(trigdata->tg_trigtuple, desc, changed);
		new_json = TupleToJson(row, desc, changed);
	}
	key = KeyColumns(rel);
	if (key != NULL)
		key_json = TupleToJson(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_trigtuple : row, desc, key);
	has_c = Int8Column(row, desc, "community_id", &community_id);
	has_i = Int8Column(row, desc, "incident_id", &incident_id);

	NaboomAuditWrite(action, table,
					 has_c ? &community_id : NULL, has_i ? &incident_id : NULL,
					 key_json, old_json, new_json, NULL);
	return PointerGetDatum(NULL);
}

/* ---------- reads ---------- */

/* PostgREST maps SQLSTATE PTxyz to HTTP status xyz: 503, try again. */
#define ERRCODE_NABOOM_UNAVAILABLE	MAKE_SQLSTATE('P','T','5','0','3')

/* The longest entry head kept whole; longer ones lose the client's context. */
#define READ_HEAD_MAX	(NABOOM_AUDIT_ENTRY_MAX / 2)

/* One record a read showed: its community and incident (if any), its args. */
typedef struct ReadItem
{
	bool		has_c;
	int64		c;
	bool		has_i;
	int64		i;
	const char *args;			/* JSON text, or NULL */
} ReadItem;

/* The detail of one READ row: {"function": ..., "args": ...}. */
static char *
ReadDetail(const char *what, const char *args)
{
	StringInfoData d;

	initStringInfo(&d);
	appendStringInfoChar(&d, '{');
	NaboomAppendJsonField(&d, "function", what);
	appendStringInfo(&d, ",\"args\":%s}", args != NULL ? args : "null");
	return d.data;
}

/* The head of a READ entry, trimmed if the client's context is too long. */
static char *
ReadHead(const ReadItem *one, bool success)
{
	const int64 *c = one != NULL && one->has_c ? &one->c : NULL;
	const int64 *i = one != NULL && one->has_i ? &one->i : NULL;
	char	   *head = NaboomAuditQueueEntryHead("READ", c, i, success, false);

	if (strlen(head) > READ_HEAD_MAX)
		head = NaboomAuditQueueEntryHead("READ", c, i, success, true);
	return head;
}

static void
TooLong(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("the audit entry of a read through %s is too long", what),
			 errdetail("naboom.audit_entry_too_long: An audit entry may have at most %d bytes.",
					   NABOOM_AUDIT_ENTRY_MAX - 1)));
}

/*
 * ReadEntries are the ring entries of a read of n records.  One record is
 * one entry, as a READ row looks.  More are packed, in order, into as few
 * entries as fit a slot: {"function": ..., "reads": [[community, incident,
 * args], ...]} as the detail, which naboom.audit_insert_queued unpacks
 * into one READ row per record.  An entry that cannot be made to fit
 * refuses the read.
 */
static char **
ReadEntries(const char *what, const ReadItem *items, int n, int *nentries)
{
	char	  **entries = palloc(sizeof(char *) * n);
	char	   *head;
	StringInfoData prefix;
	StringInfoData cur;
	int			k = 0;
	int			j;

	if (n == 1)
	{
		entries[0] = psprintf("%s%s}", ReadHead(&items[0], true), ReadDetail(what, items[0].args));
		if (strlen(entries[0]) >= NABOOM_AUDIT_ENTRY_MAX)
			TooLong(what);
		*nentries = 1;
		return entries;
	}

	head = ReadHead(NULL, true);
	initStringInfo(&prefix);
	appendStringInfo(&prefix, "%s{\"function\":", head);
	escape_json(&prefix, what);
	appendStringInfoString(&prefix, ",\"reads\":[");

	initStringInfo(&cur);
	for (j = 0; j < n; j++)
	{
		StringInfoData item;

		initStringInfo(&item);
		appendStringInfoChar(&item, '[');
		if (items[j].has_c)
			appendStringInfo(&item, INT64_FORMAT, items[j].c);
		else
			appendStringInfoString(&item, "null");
		if (items[j].has_i)
			appendStringInfo(&item, "," INT64_FORMAT, items[j].i);
		else
			appendStringInfoString(&item, ",null");
		appendStringInfo(&item, ",%s]", items[j].args != NULL ? items[j].args : "null");

		/* prefix, items, commas, "]}}" and the NUL must fit */
		if (cur.len > 0 && prefix.len + cur.len + 1 + item.len + 4 > NABOOM_AUDIT_ENTRY_MAX)
		{
			entries[k++] = psprintf("%s%s]}}", prefix.data, cur.data);
			resetStringInfo(&cur);
		}
		if (prefix.len + item.len + 4 > NABOOM_AUDIT_ENTRY_MAX)
			TooLong(what);
		if (cur.len > 0)
			appendStringInfoChar(&cur, ',');
		appendBinaryStringInfo(&cur, item.data, item.len);
		pfree(item.data);
	}
	if (cur.len > 0)
		entries[k++] = psprintf("%s%s]}}", prefix.data, cur.data);
	*nentries = k;
	return entries;
}

/*
 * LogRefusedRead sends an entry the full ring did not take to the server
 * log, marked as the read that was refused: success false, and the key of
 * the refusal first in its detail.  (The head is naboom's own text and
 * every value in it is escaped, so its first ,"success":true,"detail":{ is
 * the field itself.)
 */
static void
LogRefusedRead(const char *entry)
{
	const char *mark = ",\"success\":true,\"detail\":{";
	const char *at = strstr(entry, mark);

	if (at == NULL)
	{
		NaboomAuditLogEntry(entry);
		return;
	}
	NaboomAuditLogEntry(psprintf("%.*s,\"success\":false,\"detail\":{\"refused\":\"naboom.audit_unavailable\",%s",
								 (int) (at - entry), entry, at + strlen(mark)));
}

/*
 * AuditReads records a read of n records through the API function "what",
 * before any of them reaches the caller (and raises an error instead if
 * it cannot be recorded).  A read has happened whatever becomes of its
 * transaction, so its entries go to the audit writer, all of them or none:
 *
 * - The ring takes them: the writer commits them within about a second.
 * - The ring is full and stays full for naboom.audit_read_wait: the read
 *   is refused (PT503, naboom.audit_unavailable: a gateway's 503, try
 *   again) and its entries go to the server log, marked refused.
 * - No writer for this database (not preloaded, another database, a hot
 *   standby): a read-write transaction writes the rows itself (lost if it
 *   rolls back); a read-only one or a standby sends them to the server
 *   log, one line per record.
 */
static void
AuditReads(const char *what, const ReadItem *items, int n)
{
	char	  **entries;
	int			nentries;
	int			queued;
	int			j;

	if (!naboom_audit_enabled || n <= 0)
		return;
	entries = ReadEntries(what, items, n, &nentries);
	switch (NaboomAuditEnqueueReads(entries, nentries, naboom_audit_read_wait, &queued))
	{
		case NABOOM_AUDIT_QUEUED:
			return;
		case NABOOM_AUDIT_FULL:
			for (j = queued; j < nentries; j++)
				LogRefusedRead(entries[j]);
			ereport(ERROR,
					(errcode(ERRCODE_NABOOM_UNAVAILABLE),
					 errmsg("the audit log cannot keep up: try again"),
					 errdetail("naboom.audit_unavailable: A read through %s waited %d ms for room in the audit writer's queue; a read of emergency data is refused rather than left unrecorded.",
							   what, naboom_audit_read_wait),
					 errhint("Retry in a moment. If this persists, the DBA can raise naboom.audit_queue_size or check that the audit writer is running.")));
			break;
		case NABOOM_AUDIT_NO_WRITER:
			break;
	}

	for (j = 0; j < n; j++)
	{
		const ReadItem *it = &items[j];
		char	   *detail = ReadDetail(what, it->args);

		if (!XactReadOnly && !RecoveryInProgress())
			NaboomAuditWrite("READ", NULL, it->has_c ? &it->c : NULL, it->has_i ? &it->i : NULL,
							 NULL, NULL, NULL, detail);
		else
			NaboomAuditLogEntry(psprintf("%s%s}", ReadHead(it, true), detail));
	}
}

PG_FUNCTION_INFO_V1(naboom_audit_access);

/*
 * naboom.audit_access(community_id, incident_id, what, detail) records that
 * the caller read emergency data through the API function "what".
 */
Datum
naboom_audit_access(PG_FUNCTION_ARGS)
{
	ReadItem	item;

	item.has_c = !PG_ARGISNULL(0);
	item.c = item.has_c ? PG_GETARG_INT64(0) : 0;
	item.has_i = !PG_ARGISNULL(1);
	item.i = item.has_i ? PG_GETARG_INT64(1) : 0;
	item.args = PG_ARGISNULL(3) ? NULL :
		DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(3)));
	AuditReads(PG_ARGISNULL(2) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(2)), &item, 1);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(naboom_audit_reads);

/*
 * naboom.audit_reads(what, community_ids, incident_ids, args) records that
 * the caller read the given records (one element of each array per
 * record) through the API function "what": one READ row each, recorded
 * together (AuditReads).
 */
Datum
naboom_audit_reads(PG_FUNCTION_ARGS)
{
	Datum	   *cs,
			   *is,
			   *as;
	bool	   *cnull,
			   *inull,
			   *anull;
	int			nc,
				ni,
				na;
	ReadItem   *items;
	int			j;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_VOID();
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &cs, &cnull, &nc);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &is, &inull, &ni);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), JSONBOID, -1, false, TYPALIGN_INT,
					  &as, &anull, &na);
	if (nc != ni || nc != na)
		elog(ERROR, "naboom.audit_reads: the arrays differ in length (%d, %d, %d)", nc, ni, na);
	items = palloc(sizeof(ReadItem) * Max(nc, 1));
	for (j = 0; j < nc; j++)
	{
		items[j].has_c = !cnull[j];
		items[j].c = cnull[j] ? 0 : DatumGetInt64(cs[j]);
		items[j].has_i = !inull[j];
		items[j].i = inull[j] ? 0 : DatumGetInt64(is[j]);
		items[j].args = anull[j] ? NULL : DatumGetCString(DirectFunctionCall1(jsonb_out, as[j]));
	}
	AuditReads(PG_ARGISNULL(0) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(0)), items, nc);
	PG_RETURN_VOID();
}
