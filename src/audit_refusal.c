/*-------------------------------------------------------------------------
 *
 * audit_refusal.c
 *	  Who is asking and from where, for every audit entry; and the entries
 *	  that must outlive their transaction: refused attempts and reads.
 *
 * The request context (actor, database role, client address, user agent,
 * request id) comes from the JWT claims and the request.headers the gateway
 * set, and is rebuilt only when those settings change.
 *
 * The client address is the one a trusted party saw.  Every proxy appends
 * the address of its peer to X-Forwarded-For, and anything left of what
 * the trusted proxies appended was written by the client itself.  With
 * naboom.trusted_proxies = N the address is the Nth entry from the right
 * (the one the outermost trusted proxy saw); with 0, the default, the
 * header is ignored and the address is the connection's peer, which for a
 * request through a gateway is the gateway itself: PostgREST does not pass
 * the address of its own peer.
 *
 * Refusals: the transaction that was refused rolls back, so its own writes
 * are lost.  NaboomAuditRefusal (called by NaboomErrorHint, naboom.h)
 * copies the entry into the audit writer's shared-memory ring
 * (audit_queue.c) before the error is raised; the writer (writer.c)
 * commits it in its own transaction.  Without the writer the server log has
 * it.  This file sits below every file that raises keyed errors, so it
 * reads the claims without raising (claims.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit_queue.h"
#include "audit_refusal.h"
#include "citus.h"
#include "claims.h"

/* naboom.audit: off skips every audit entry (superuser only). */
bool		naboom_audit_enabled = true;

/* naboom.trusted_proxies: X-Forwarded-For entries believed, from the right. */
int			naboom_trusted_proxies = 0;

static NaboomAuditContext Ctx;

/* What a refusal is about, when the code that refuses knows it. */
static int64 SubjectCommunity = 0;
static int64 SubjectIncident = 0;
static bool InRefusal = false;

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

/*
 * ForwardedAddress is the address the outermost of `hops` trusted proxies
 * saw: the hops-th entry from the right of x-forwarded-for ("client,
 * proxy1, proxy2"), or its leftmost when there are fewer entries (the
 * furthest trusted proxy saw that one).  NULL when hops is 0 or there is
 * no entry: then the connection's peer is all that can be believed.
 * Empty entries are skipped; xff is cut up in place.
 */
static char *
ForwardedAddress(char *xff, int hops)
{
	char	   *entries[64];
	int			n = 0;
	char	   *tok;
	char	   *save;

	if (xff == NULL || hops <= 0)
		return NULL;
	for (tok = strtok_r(xff, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (tok[0] == '\0')
			continue;
		/* Keep the rightmost entries: only they can matter. */
		if (n == lengthof(entries))
		{
			memmove(entries, entries + 1, sizeof(entries) - sizeof(entries[0]));
			n--;
		}
		entries[n++] = tok;
	}
	if (n == 0)
		return NULL;
	return entries[n >= hops ? n - hops : 0];
}

/*
 * ReadSubject is the JWT subject for an audit entry, and whether the claims
 * are valid: bad claims (which may be what is being refused) leave it NULL
 * instead of raising.  Reading can still fail on input the JSON parser
 * accepts and jsonb_in does not; that too leaves it NULL.
 */
static char *
ReadSubject(bool *valid)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile sub = NULL;
	volatile bool ok = false;

	PG_TRY();
	{
		NaboomClaimsError err;
		char	   *s;

		ok = NaboomReadClaims(&s, &err);
		sub = ok ? s : NULL;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		sub = NULL;
		ok = false;
	}
	PG_END_TRY();
	*valid = ok;
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

/* NaboomRequestAddress: see audit_refusal.h. */
char *
NaboomRequestAddress(void)
{
	Jsonb	   *h = ParseHeaders(SettingOrNull("request.headers"));
	char	   *addr = ForwardedAddress(HeaderValue(h, "x-forwarded-for"), naboom_trusted_proxies);

	return addr != NULL ? addr : ConnectionAddress();
}

static void
FreeContext(void)
{
	char	   *fields[] = {Ctx.claims, Ctx.graphile, Ctx.headers, Ctx.actor,
	Ctx.db_role, Ctx.client_addr, Ctx.user_agent, Ctx.request_id, Ctx.carried_addr};
	int			i;

	for (i = 0; i < lengthof(fields); i++)
		if (fields[i] != NULL)
			pfree(fields[i]);
	memset(&Ctx, 0, sizeof(Ctx));
}

/*
 * NaboomAuditCurrentContext returns who is acting and from where.  It is
 * rebuilt only when request.jwt.claims, jwt.claims.sub, request.headers,
 * naboom.trusted_proxies or the outer role changed since the last call: a
 * request sets them once and then writes many rows.  Bad claims leave the actor the session user and
 * claims_valid false; a writer that must refuse them (audit.c) raises
 * naboom's identity error then.
 */
NaboomAuditContext *
NaboomAuditCurrentContext(void)
{
	char	   *claims;
	char	   *graphile;
	char	   *headers;
	Oid			outer;
	char	   *sub = NULL;
	bool		valid;
	Jsonb	   *h;
	char	   *addr;
	char	   *carried;

	/* first: carrying them sets the settings again (new strings) */
	NaboomCarryRequest();
	claims = SettingOrNull("request.jwt.claims");
	graphile = SettingOrNull("jwt.claims.sub");
	headers = SettingOrNull("request.headers");
	outer = NaboomOuterUserId();
	carried = NaboomCarriedAddress();

	if (Ctx.valid && Ctx.outer_user == outer && SameString(Ctx.claims, claims) &&
		SameString(Ctx.graphile, graphile) && SameString(Ctx.headers, headers) &&
		Ctx.trusted_proxies == naboom_trusted_proxies && SameString(Ctx.carried_addr, carried))
		return &Ctx;

	sub = ReadSubject(&valid);
	FreeContext();
	Ctx.outer_user = outer;
	Ctx.claims = KeepString(claims, INT_MAX);
	Ctx.graphile = KeepString(graphile, INT_MAX);
	Ctx.headers = KeepString(headers, INT_MAX);
	Ctx.actor = KeepString(sub != NULL ? sub :
						   GetUserNameFromId(GetSessionUserId(), false), 200);
	Ctx.db_role = KeepString(GetUserNameFromId(outer, false), NAMEDATALEN);
	Ctx.trusted_proxies = naboom_trusted_proxies;
	h = ParseHeaders(headers);
	/*
	 * On a Citus worker the connection is the coordinator's: the address is
	 * the one the coordinator worked out for its client and carried.
	 */
	Ctx.carried_addr = KeepString(carried, 100);
	if (carried != NULL)
		addr = carried;
	else
	{
		addr = ForwardedAddress(HeaderValue(h, "x-forwarded-for"), naboom_trusted_proxies);
		if (addr == NULL)
			addr = ConnectionAddress();
	}
	Ctx.client_addr = KeepString(addr, 100);
	Ctx.user_agent = KeepString(HeaderValue(h, "user-agent"), 500);
	Ctx.request_id = KeepString(HeaderValue(h, "x-request-id"), 200);
	Ctx.claims_valid = valid;
	Ctx.valid = true;
	return &Ctx;
}

/* Append "name": value (a JSON string, or null) to a JSON object. */
void
NaboomAppendJsonField(StringInfo buf, const char *name, const char *value)
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
 * NaboomAuditQueueEntryHead is the start of an entry the current
 * transaction cannot keep, up to and including "detail": (the caller
 * appends the detail and the closing brace).  trim leaves out the request
 * context the client controls (client address, user agent, request id),
 * for an entry that would not fit a ring slot otherwise; the entry then
 * says so ("context_trimmed").
 */
char *
NaboomAuditQueueEntryHead(const char *action, const int64 *community_id, const int64 *incident_id,
						  bool success, bool trim)
{
	NaboomAuditContext *c = NaboomAuditCurrentContext();
	StringInfoData buf;
	int64		us = (int64) GetCurrentTimestamp() +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	NaboomAppendJsonField(&buf, "action", action);
	appendStringInfo(&buf, ",\"logged_at_us\":" INT64_FORMAT, us);
	if (community_id != NULL)
		appendStringInfo(&buf, ",\"community_id\":" INT64_FORMAT, *community_id);
	if (incident_id != NULL)
		appendStringInfo(&buf, ",\"incident_id\":" INT64_FORMAT, *incident_id);
	NaboomAppendJsonField(&buf, "actor", c->actor);
	NaboomAppendJsonField(&buf, "db_role", c->db_role);
	NaboomAppendJsonField(&buf, "client_addr", trim ? NULL : c->client_addr);
	NaboomAppendJsonField(&buf, "user_agent", trim ? NULL : c->user_agent);
	NaboomAppendJsonField(&buf, "request_id", trim ? NULL : c->request_id);
	if (trim)
		appendStringInfoString(&buf, ",\"context_trimmed\":true");
	appendStringInfo(&buf, ",\"success\":%s,\"detail\":", success ? "true" : "false");
	return buf.data;
}

/*
 * NaboomAuditQueueEntry is the JSON form of an entry the current
 * transaction cannot keep, for the audit writer or the server log.
 */
char *
NaboomAuditQueueEntry(const char *action, const int64 *community_id, const int64 *incident_id,
		   bool success, const char *detail_json)
{
	return psprintf("%s%s}", NaboomAuditQueueEntryHead(action, community_id, incident_id, success, false),
					detail_json != NULL ? detail_json : "null");
}

/*
 * NaboomAuditSend hands an entry that must outlive its transaction to the audit
 * writer.  False when there is none for this database (not preloaded,
 * another database, full ring, hot standby).
 */
bool
NaboomAuditSend(const char *entry)
{
	return !RecoveryInProgress() && NaboomAuditEnqueue(entry);
}

/* The last resort: the server log. */
void
NaboomAuditLogEntry(const char *entry)
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
		NaboomAppendJsonField(&detail, "sqlstate", unpack_sql_state(sqlerrcode));
		NaboomAppendJsonField(&detail, "key", key);
		NaboomAppendJsonField(&detail, "message", message);
		if (FullTransactionIdIsValid(xid))
			appendStringInfo(&detail, ",\"attempt_xid\":" UINT64_FORMAT, U64FromFullTransactionId(xid));
		appendStringInfoChar(&detail, '}');
		entry = NaboomAuditQueueEntry("DENIED", c != 0 ? &c : NULL, i != 0 ? &i : NULL, false, detail.data);
		if (!NaboomAuditSend(entry))
			NaboomAuditLogEntry(entry);
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
