/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit log: who changed what, who read which emergency record, and
 *	  who was refused.
 *
 * Changes: naboom.audit_trigger is an AFTER ROW trigger on every domain
 * table (naboom.audit_table installs it, ENABLE ALWAYS).  It writes one row
 * per changed row into naboom.audit_log in the same transaction, with a kept
 * plan run as the log's owner: the key, the changed columns' old and new
 * values (row_to_json of just those columns), the actor, the database role
 * and the request context the gateway set in request.headers.
 *
 * Reads: naboom.audit_access, called by the API functions that show
 * emergency data, hands a READ entry to the audit writer (audit_queue.c),
 * which keeps it whatever becomes of the reading transaction and works in
 * the read-only transactions PostgREST uses for GET.  Without a writer for
 * this database, a read-write transaction writes it itself; a read-only
 * one, or a hot standby, can only send it to the server log.
 *
 * Refusals: the transaction that was refused rolls back, so its own writes
 * are lost.  NaboomAuditRefusal copies the entry into the audit writer's
 * shared-memory queue before the error is raised; the writer commits it in
 * its own transaction.  Without the writer the server log has it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
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
#include "audit.h"
#include "retention.h"
#include "audit_queue.h"

bool		naboom_audit_enabled = true;

/* Set only around naboom's own maintenance and retention code. */
bool		NaboomAuditPrivileged = false;

/* The request context, re-read when the settings behind it change. */
typedef struct AuditContext
{
	bool		valid;
	Oid			outer_user;
	char	   *claims;			/* the raw settings it was built from */
	char	   *graphile;
	char	   *headers;
	char	   *actor;			/* the results */
	char	   *db_role;
	char	   *client_addr;
	char	   *user_agent;
	char	   *request_id;
} AuditContext;

static AuditContext Ctx;
static SPIPlanPtr InsertPlan = NULL;
static Oid	LogOwner = InvalidOid;
static bool CallbackRegistered = false;

/* What a refusal is about, when the code that refuses knows it. */
static int64 SubjectCommunity = 0;
static int64 SubjectIncident = 0;
static bool InRefusal = false;

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
	return LogOwner;
}

static char *
SettingOrNull(const char *name)
{
	const char *v = GetConfigOption(name, true, false);

	return (v == NULL || v[0] == '\0') ? NULL : (char *) v;
}

static bool
SameString(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static char *
KeepString(const char *s, int max_len)
{
	if (s == NULL)
		return NULL;
	return MemoryContextStrdup(TopMemoryContext,
							   pnstrdup(s, Min((int) strlen(s), max_len)));
}

/*
 * HeaderValue returns one request header from the gateway's request.headers
 * JSON object (PostgREST lower-cases the names), or NULL.  A value that is
 * not valid JSON is ignored: the headers are context, not identity.
 */
static char *
HeaderValue(Jsonb *headers, const char *name)
{
	JsonbValue	k;
	JsonbValue *v;

	if (headers == NULL)
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	v = findJsonbValueFromContainer(&headers->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static Jsonb *
ParseHeaders(const char *raw)
{
	JsonLexContext *lex;

	if (raw == NULL)
		return NULL;
	lex = makeJsonLexContextCstringLen((char *) raw, strlen(raw), GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return NULL;
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));
}

/* The first address of x-forwarded-for ("client, proxy1, proxy2"). */
static char *
FirstForwardedAddress(char *xff)
{
	char	   *end;

	if (xff == NULL)
		return NULL;
	while (*xff == ' ')
		xff++;
	end = strchr(xff, ',');
	if (end != NULL)
		*end = '\0';
	end = xff + strlen(xff);
	while (end > xff && end[-1] == ' ')
		*--end = '\0';
	return xff[0] == '\0' ? NULL : xff;
}

/*
 * LenientSubject is the JWT subject for an entry about a refusal: bad claims
 * (which may be what is being refused) leave it NULL instead of raising.
 */
static char *
LenientSubject(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile sub = NULL;

	PG_TRY();
	{
		sub = NaboomClaimedSubject();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		sub = NULL;
	}
	PG_END_TRY();
	return sub;
}

/* The connection's client address (inet_client_addr()), NULL over a socket. */
static char *
ConnectionAddress(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	d = inet_client_addr(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(inet_out, d));
}

static void
FreeContext(void)
{
	char	   *fields[] = {Ctx.claims, Ctx.graphile, Ctx.headers, Ctx.actor,
	Ctx.db_role, Ctx.client_addr, Ctx.user_agent, Ctx.request_id};
	int			i;

	for (i = 0; i < lengthof(fields); i++)
		if (fields[i] != NULL)
			pfree(fields[i]);
	memset(&Ctx, 0, sizeof(Ctx));
}

/*
 * CurrentContext returns who is acting and from where.  It is rebuilt only
 * when request.jwt.claims, jwt.claims.sub, request.headers or the outer role
 * changed since the last call: a request sets them once and then writes
 * many rows.  With strict set, bad claims raise naboom's identity error;
 * without (on the refusal path) they leave the actor NULL.
 */
static AuditContext *
CurrentContext(bool strict)
{
	char	   *claims = SettingOrNull("request.jwt.claims");
	char	   *graphile = SettingOrNull("jwt.claims.sub");
	char	   *headers = SettingOrNull("request.headers");
	Oid			outer = GetOuterUserId();
	char	   *sub = NULL;
	Jsonb	   *h;
	char	   *addr;

	if (Ctx.valid && Ctx.outer_user == outer && SameString(Ctx.claims, claims) &&
		SameString(Ctx.graphile, graphile) && SameString(Ctx.headers, headers))
		return &Ctx;

	if (strict)
		sub = NaboomClaimedSubject();
	else
		sub = LenientSubject();
	FreeContext();
	Ctx.outer_user = outer;
	Ctx.claims = KeepString(claims, INT_MAX);
	Ctx.graphile = KeepString(graphile, INT_MAX);
	Ctx.headers = KeepString(headers, INT_MAX);
	Ctx.actor = KeepString(sub != NULL ? sub :
						   GetUserNameFromId(GetSessionUserId(), false), 200);
	Ctx.db_role = KeepString(GetUserNameFromId(outer, false), NAMEDATALEN);
	h = ParseHeaders(headers);
	addr = FirstForwardedAddress(HeaderValue(h, "x-forwarded-for"));
	if (addr == NULL)
		addr = ConnectionAddress();
	Ctx.client_addr = KeepString(addr, 100);
	Ctx.user_agent = KeepString(HeaderValue(h, "user-agent"), 500);
	Ctx.request_id = KeepString(HeaderValue(h, "x-request-id"), 200);
	/* Only a context built from valid claims is reused. */
	Ctx.valid = strict;
	return &Ctx;
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

/*
 * WriteEntry appends one row to naboom.audit_log in the current transaction,
 * as the log's owner.  Any of the texts may be NULL; the JSON texts are
 * parsed as jsonb.
 */
void
NaboomAuditWrite(const char *action, const char *table_name,
				 const int64 *community_id, const int64 *incident_id,
				 const char *row_key, const char *old_values,
				 const char *new_values, const char *detail)
{
	static Oid	argtypes[13] = {TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	AuditContext *c = CurrentContext(true);
	Datum		args[13];
	char		nulls[13];
	const char *texts[13];
	Oid			save_userid;
	int			save_sec;
	int			ret;
	int			i;

	memset(nulls, ' ', sizeof(nulls));
	memset(texts, 0, sizeof(texts));
	texts[0] = action;
	texts[3] = table_name;
	texts[4] = row_key;
	texts[5] = old_values;
	texts[6] = new_values;
	texts[7] = c->actor;
	texts[8] = c->db_role;
	texts[9] = c->client_addr;
	texts[10] = c->user_agent;
	texts[11] = c->request_id;
	texts[12] = detail;
	for (i = 0; i < 13; i++)
	{
		if (argtypes[i] != TEXTOID)
			continue;
		if (texts[i] == NULL)
			nulls[i] = 'n';
		else
			args[i] = CStringGetTextDatum(texts[i]);
	}
	if (community_id != NULL)
		args[1] = Int64GetDatum(*community_id);
	else
		nulls[1] = 'n';
	if (incident_id != NULL)
		args[2] = Int64GetDatum(*incident_id);
	else
		nulls[2] = 'n';

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(NaboomAuditLogOwner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (InsertPlan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("INSERT INTO naboom.audit_log (action, community_id, incident_id,"
									" table_name, row_key, old_values, new_values, actor, db_role,"
									" client_addr, user_agent, request_id, detail)"
									" VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6::pg_catalog.jsonb,"
									" $7::pg_catalog.jsonb, $8, $9, $10, $11, $12, $13::pg_catalog.jsonb)",
									13, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the audit insert: %s",
				 SPI_result_code_string(SPI_result));
		InsertPlan = p;
	}
	ret = SPI_execute_plan(InsertPlan, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not write the audit log: %s", SPI_result_code_string(ret));
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
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

	if (rows == NULL)
		elog(ERROR, "naboom_audit_trigger: a statement trigger needs a transition table (REFERENCING)");
	if (!inserted && !TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: statement level is for INSERT and DELETE only");

	initStringInfo(&values);
	initStringInfo(&keys);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		HeapTuple	tup = ExecCopySlotHeapTuple(slot);

		appendStringInfoString(&values, n == 0 ? "[" : ",");
		appendStringInfoString(&values, TupleToJson(tup, desc, NULL));
		appendStringInfoString(&keys, n == 0 ? "[" : ",");
		appendStringInfoString(&keys, key != NULL ? TupleToJson(tup, desc, key) : "null");
		if (!Int8Column(tup, desc, "community_id", &v) || (n > 0 && v != community_id))
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
	NaboomAuditWrite(inserted ? "INSERT" : "DELETE", RelationQualifiedName(rel),
					 same_c ? &community_id : NULL, same_i ? &incident_id : NULL,
					 keys.data, inserted ? NULL : values.data, inserted ? values.data : NULL,
					 NULL);
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

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_audit_trigger: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: must be fired AFTER");
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		elog(ERROR, "naboom_audit_trigger: cannot be fired by TRUNCATE");
	/* Retention and erasure write one entry per batch instead. */
	if (!naboom_audit_enabled || NaboomRetentionActive)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
	{
		AuditStatement(trigdata);
		return PointerGetDatum(NULL);
	}

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
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

	NaboomAuditWrite(action, RelationQualifiedName(rel),
					 has_c ? &community_id : NULL, has_i ? &incident_id : NULL,
					 key_json, old_json, new_json, NULL);
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------- queue */

static void
AppendJsonField(StringInfo buf, const char *name, const char *value)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, name);
	appendStringInfoChar(buf, ':');
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * QueueOrLog hands an entry the current transaction cannot keep to the
 * audit writer, or, without one (not preloaded, full queue, hot standby),
 * to the server log.  Returns true if the writer has it.
 */
static char *
QueueEntry(const char *action, const int64 *community_id, const int64 *incident_id,
		   bool success, const char *detail_json)
{
	AuditContext *c = CurrentContext(false);
	StringInfoData buf;
	int64		us = (int64) GetCurrentTimestamp() +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	AppendJsonField(&buf, "action", action);
	appendStringInfo(&buf, ",\"logged_at_us\":" INT64_FORMAT, us);
	if (community_id != NULL)
		appendStringInfo(&buf, ",\"community_id\":" INT64_FORMAT, *community_id);
	if (incident_id != NULL)
		appendStringInfo(&buf, ",\"incident_id\":" INT64_FORMAT, *incident_id);
	AppendJsonField(&buf, "actor", c->actor);
	AppendJsonField(&buf, "db_role", c->db_role);
	AppendJsonField(&buf, "client_addr", c->client_addr);
	AppendJsonField(&buf, "user_agent", c->user_agent);
	AppendJsonField(&buf, "request_id", c->request_id);
	appendStringInfo(&buf, ",\"success\":%s,\"detail\":%s}", success ? "true" : "false",
					 detail_json != NULL ? detail_json : "null");
	return buf.data;
}

/*
 * Enqueue hands an entry that must outlive its transaction to the audit
 * writer.  False when there is none for this database (not preloaded,
 * another database, full ring, hot standby).
 */
static bool
Enqueue(const char *entry)
{
	return !RecoveryInProgress() && NaboomAuditEnqueue(entry);
}

/* The last resort: the server log. */
static void
LogEntry(const char *entry)
{
	ereport(LOG,
			(errmsg("naboom audit: %s", entry),
			 errhidestmt(true)));
}

/*
 * NaboomAuditSetSubject tells a later refusal which community and incident
 * it is about (0: unknown).  The workflow trigger sets it before judging.
 */
void
NaboomAuditSetSubject(int64 community_id, int64 incident_id)
{
	SubjectCommunity = community_id;
	SubjectIncident = incident_id;
}

/* Refusals worth an audit entry: forbidden, bad identity, illegal move, hidden. */
static bool
RefusalMatters(int sqlerrcode, const char *key)
{
	return sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE ||
		sqlerrcode == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ||
		strcmp(key, "naboom.invalid_transition") == 0 ||
		strcmp(key, "naboom.unknown_reference") == 0;
}

/*
 * NaboomAuditRefusal records a refused attempt just before its error is
 * raised (NaboomErrorHint and naboom.fail call it).  It never raises an
 * error itself: a failure to record must not replace the refusal.
 */
void
NaboomAuditRefusal(int sqlerrcode, const char *key, const char *message)
{
	MemoryContext cxt = CurrentMemoryContext;
	StringInfoData detail;
	char	   *entry;
	int64		c = SubjectCommunity;
	int64		i = SubjectIncident;
	FullTransactionId xid = GetTopFullTransactionIdIfAny();

	if (InRefusal || !naboom_audit_enabled || !RefusalMatters(sqlerrcode, key))
		return;
	InRefusal = true;
	SubjectCommunity = SubjectIncident = 0;
	PG_TRY();
	{
		initStringInfo(&detail);
		appendStringInfoChar(&detail, '{');
		AppendJsonField(&detail, "sqlstate", unpack_sql_state(sqlerrcode));
		AppendJsonField(&detail, "key", key);
		AppendJsonField(&detail, "message", message);
		if (FullTransactionIdIsValid(xid))
			appendStringInfo(&detail, ",\"attempt_xid\":" UINT64_FORMAT, U64FromFullTransactionId(xid));
		appendStringInfoChar(&detail, '}');
		entry = QueueEntry("DENIED", c != 0 ? &c : NULL, i != 0 ? &i : NULL, false, detail.data);
		if (!Enqueue(entry))
			LogEntry(entry);
	}
	PG_CATCH();
	{
		/* Out of memory or the like: the refusal itself goes on. */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	InRefusal = false;
}

PG_FUNCTION_INFO_V1(naboom_audit_refusal);

/*
 * naboom.audit_refusal(state, key, message): NaboomAuditRefusal for the SQL
 * functions (naboom.fail).
 */
Datum
naboom_audit_refusal(PG_FUNCTION_ARGS)
{
	char	   *state;
	char	   *key;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	state = text_to_cstring(PG_GETARG_TEXT_PP(0));
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strlen(state) != 5)
		PG_RETURN_VOID();
	NaboomAuditRefusal(MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]), key,
					   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(naboom_audit_access);

/*
 * naboom.audit_access(community_id, incident_id, what, detail) records that
 * the caller read emergency data through the API function "what".
 */
Datum
naboom_audit_access(PG_FUNCTION_ARGS)
{
	int64		c = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0);
	int64		i = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	StringInfoData detail;
	char	   *entry;

	if (!naboom_audit_enabled)
		PG_RETURN_VOID();
	initStringInfo(&detail);
	appendStringInfoChar(&detail, '{');
	AppendJsonField(&detail, "function", PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	appendStringInfo(&detail, ",\"args\":%s}", PG_ARGISNULL(3) ? "null" :
					 DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(3))));
	/*
	 * A read happened whatever becomes of its transaction: the writer keeps
	 * it.  Without one for this database, a read-write transaction keeps it
	 * itself (lost if it rolls back); a read-only one or a standby can only
	 * log it.
	 */
	entry = QueueEntry("READ", PG_ARGISNULL(0) ? NULL : &c, PG_ARGISNULL(1) ? NULL : &i, true, detail.data);
	if (Enqueue(entry))
		PG_RETURN_VOID();
	if (!XactReadOnly && !RecoveryInProgress())
		NaboomAuditWrite("READ", NULL, PG_ARGISNULL(0) ? NULL : &c, PG_ARGISNULL(1) ? NULL : &i,
						 NULL, NULL, NULL, detail.data);
	else
		LogEntry(entry);
	PG_RETURN_VOID();
}
