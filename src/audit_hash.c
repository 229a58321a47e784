/*-------------------------------------------------------------------------
 *
 * audit_hash.c
 *	  The format-2 hash of an audit row, and anonymising its personal fields.
 *
 * A sealed row must still verify after retention or an erasure has
 * anonymised it.  So the hash of a row (naboom.audit_row_hash) is SHA-256 of
 *
 *	core	id, logged_at (microseconds since 1970), xid, community,
 *			incident, action, table, database role, success: facts that
 *			name nobody and never change;
 *	P		SHA-256 of the personal fields (row key, old and new values,
 *			actor, client address, user agent, request id, detail), or,
 *			once anonymised, the digest of them kept in personal_digest;
 *	R		SHA-256 of the personal fields as anonymisation leaves them:
 *			the redacted JSON (naboom.audit_redact_json of row key, values
 *			and detail) and no actor, address, agent or request id; once
 *			anonymised, what is stored (so writing over it changes R).
 *
 * Anonymising stores P (naboom.audit_personal_digest) and replaces the
 * personal fields by their redacted form, which redacting again does not
 * change: the hash is the same before and after, and changing what is left
 * still changes it.  In C because the sealer and verify_audit hash every
 * row they touch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "naboom.h"

/* Keys whose values name nobody: workflow, times, references, error keys. */
static const char *const KeptKeys[] = {
	"community_id", "incident_id", "area_id", "seq", "alert_id", "subscription_id", "hold_id", "data_class",
	"category_code", "kind", "priority", "status", "from_status", "to_status", "entry_kind", "is_public",
	"version", "escalation_level", "created_at", "updated_at", "acknowledged_at", "dispatched_at",
	"en_route_at", "on_scene_at", "resolved_at", "closed_at", "outside_boundary", "poor_accuracy",
	"legal_hold", "anonymised_at", "role", "min_priority", "code", "slug", "name_en", "name_af",
	"default_priority", "is_sensitive", "duplicate_of", "reference", "joined_at", "keep", "at",
	"key", "sqlstate", "what", "table", "trigger", "command", "count", "rows", "erasure_id", "run_id",
	"ids", "class", "partition", "function"
};

static bool
KeptKey(const char *key, int len)
{
	int			i;

	for (i = 0; i < lengthof(KeptKeys); i++)
		if ((int) strlen(KeptKeys[i]) == len && memcmp(KeptKeys[i], key, len) == 0)
			return true;
	return false;
}

/*
 * RedactJsonb returns the object with every value whose key is not kept set
 * to null; NULL for NULL or a non-object.
 */
static Jsonb *
RedactJsonb(Jsonb *in)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbIteratorToken tok;
	bool		keep = false;

	if (in == NULL || !JB_ROOT_IS_OBJECT(in))
		return NULL;
	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			keep = KeptKey(v.val.string.val, v.val.string.len);
			res = pushJsonbValue(&state, tok, &v);
		}
		else if (tok == WJB_VALUE)
		{
			if (!keep)
				v.type = jbvNull;
			res = pushJsonbValue(&state, tok, &v);
		}
		else
			res = pushJsonbValue(&state, tok, NULL);
	}
	return JsonbValueToJsonb(res);
}

PG_FUNCTION_INFO_V1(naboom_audit_redact_json);

/*
 * naboom.audit_redact_json(jsonb): an audit row's JSON with the value of
 * every key that can hold personal data set to null.  Idempotent.
 */
Datum
naboom_audit_redact_json(PG_FUNCTION_ARGS)
{
	Jsonb	   *out = RedactJsonb(PG_GETARG_JSONB_P(0));

	if (out == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(out);
}

/* The audit_log columns the hash reads, found by name once per call site. */
enum
{
	A_ID, A_LOGGED_AT, A_XID, A_COMMUNITY, A_INCIDENT, A_ACTION, A_TABLE, A_ROW_KEY, A_OLD, A_NEW,
	A_ACTOR, A_DB_ROLE, A_ADDR, A_AGENT, A_REQUEST, A_SUCCESS, A_DETAIL, A_DIGEST, A_COUNT
};
static const char *const AuditColumns[A_COUNT] = {
	"id", "logged_at", "xid", "community_id", "incident_id", "action", "table_name", "row_key", "old_values",
	"new_values", "actor", "db_role", "client_addr", "user_agent", "request_id", "success", "detail",
	"personal_digest"
};

typedef struct AuditRow
{
	Datum		values[A_COUNT];
	bool		nulls[A_COUNT];
} AuditRow;

typedef struct ColumnMap
{
	Oid			type_id;
	int			attno[A_COUNT];
} ColumnMap;

/* Read the row's columns (by name, so column order does not matter). */
static void
ReadRow(FunctionCallInfo fcinfo, AuditRow *row)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			type_id = HeapTupleHeaderGetTypeId(th);
	ColumnMap  *map = (ColumnMap *) fcinfo->flinfo->fn_extra;
	TupleDesc	desc = lookup_rowtype_tupdesc(type_id, HeapTupleHeaderGetTypMod(th));
	HeapTupleData tuple;
	int			i;

	if (map == NULL || map->type_id != type_id)
	{
		map = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ColumnMap));
		map->type_id = type_id;
		for (i = 0; i < A_COUNT; i++)
		{
			int			a;

			map->attno[i] = 0;
			for (a = 0; a < desc->natts; a++)
				if (!TupleDescAttr(desc, a)->attisdropped &&
					strcmp(NameStr(TupleDescAttr(desc, a)->attname), AuditColumns[i]) == 0)
					map->attno[i] = a + 1;
			if (map->attno[i] == 0)
				elog(ERROR, "naboom audit hash: the row has no column \"%s\"", AuditColumns[i]);
		}
		fcinfo->flinfo->fn_extra = map;
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	for (i = 0; i < A_COUNT; i++)
		row->values[i] = heap_getattr(&tuple, map->attno[i], desc, &row->nulls[i]);
	ReleaseTupleDesc(desc);
}

static void
AppendText(StringInfo buf, AuditRow *row, int col)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '\x1f');
	if (row->nulls[col])
		appendStringInfoChar(buf, '-');
	else
		appendStringInfoString(buf, TextDatumGetCString(row->values[col]));
}

static void
AppendJsonb(StringInfo buf, Jsonb *j)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '\x1f');
	if (j == NULL)
		appendStringInfoChar(buf, '-');
	else
		(void) JsonbToCString(buf, &j->root, VARSIZE(j));
}

static Jsonb *
JsonbOf(AuditRow *row, int col)
{
	return row->nulls[col] ? NULL : DatumGetJsonbP(row->values[col]);
}

static void
Sha256(const char *data, size_t len, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 || pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "naboom audit hash: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* SHA-256 of the personal fields as they are now. */
static void
PersonalDigest(AuditRow *row, uint8 *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	AppendJsonb(&buf, JsonbOf(row, A_ROW_KEY));
	AppendJsonb(&buf, JsonbOf(row, A_OLD));
	AppendJsonb(&buf, JsonbOf(row, A_NEW));
	AppendText(&buf, row, A_ACTOR);
	AppendText(&buf, row, A_ADDR);
	AppendText(&buf, row, A_AGENT);
	AppendText(&buf, row, A_REQUEST);
	AppendJsonb(&buf, JsonbOf(row, A_DETAIL));
	Sha256(buf.data, buf.len, out);
	pfree(buf.data);
}

static bytea *
ToBytea(const uint8 *digest)
{
	bytea	   *b = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(b, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(b), digest, PG_SHA256_DIGEST_LENGTH);
	return b;
}

static void
AppendHex(StringInfo buf, const uint8 *digest)
{
	int			i;

	appendStringInfoChar(buf, '\x1f');
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		appendStringInfo(buf, "%02x", digest[i]);
}

PG_FUNCTION_INFO_V1(naboom_audit_personal_digest);

/*
 * naboom.audit_personal_digest(audit_log): SHA-256 of the row's personal
 * fields, which anonymising keeps in personal_digest.
 */
Datum
naboom_audit_personal_digest(PG_FUNCTION_ARGS)
{
	AuditRow	row;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	ReadRow(fcinfo, &row);
	PersonalDigest(&row, digest);
	PG_RETURN_BYTEA_P(ToBytea(digest));
}

PG_FUNCTION_INFO_V1(naboom_audit_row_hash);

/*
 * naboom.audit_row_hash(audit_log): the format-2 hash of a row (see the
 * file header).
 */
Datum
naboom_audit_row_hash(PG_FUNCTION_ARGS)
{
	AuditRow	row;
	StringInfoData buf;
	uint8		personal[PG_SHA256_DIGEST_LENGTH];
	uint8		redacted[PG_SHA256_DIGEST_LENGTH];
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	TimestampTz logged_at;
	bool		anonymised;

	ReadRow(fcinfo, &row);
	if (row.nulls[A_ID] || row.nulls[A_LOGGED_AT] || row.nulls[A_XID] || row.nulls[A_ACTION] ||
		row.nulls[A_DB_ROLE] || row.nulls[A_SUCCESS])
		elog(ERROR, "naboom audit hash: a NOT NULL column of the row is NULL");

	/*
	 * R: the row's personal fields as anonymisation leaves them.  Before,
	 * that is the redacted JSON and no actor, address, agent or request id;
	 * after, it is what is stored, so anything written over an anonymised
	 * row changes R.
	 */
	initStringInfo(&buf);
	anonymised = !row.nulls[A_DIGEST];
	AppendJsonb(&buf, anonymised ? JsonbOf(&row, A_ROW_KEY) : RedactJsonb(JsonbOf(&row, A_ROW_KEY)));
	AppendJsonb(&buf, anonymised ? JsonbOf(&row, A_OLD) : RedactJsonb(JsonbOf(&row, A_OLD)));
	AppendJsonb(&buf, anonymised ? JsonbOf(&row, A_NEW) : RedactJsonb(JsonbOf(&row, A_NEW)));
	AppendJsonb(&buf, anonymised ? JsonbOf(&row, A_DETAIL) : RedactJsonb(JsonbOf(&row, A_DETAIL)));
	if (anonymised)
	{
		AppendText(&buf, &row, A_ACTOR);
		AppendText(&buf, &row, A_ADDR);
		AppendText(&buf, &row, A_AGENT);
		AppendText(&buf, &row, A_REQUEST);
	}
	else
		appendStringInfoString(&buf, "\x1f-\x1f-\x1f-\x1f-");
	Sha256(buf.data, buf.len, redacted);

	/* P: the personal fields, or their digest once they are gone. */
	if (!row.nulls[A_DIGEST])
	{
		bytea	   *d = DatumGetByteaPP(row.values[A_DIGEST]);

		if (VARSIZE_ANY_EXHDR(d) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "naboom audit hash: personal_digest is not a SHA-256 digest");
		memcpy(personal, VARDATA_ANY(d), PG_SHA256_DIGEST_LENGTH);
	}
	else
		PersonalDigest(&row, personal);

	/* The core, then P and R in hex. */
	resetStringInfo(&buf);
	logged_at = DatumGetTimestampTz(row.values[A_LOGGED_AT]);
	appendStringInfo(&buf, INT64_FORMAT "\x1f" INT64_FORMAT "\x1f" UINT64_FORMAT,
					 DatumGetInt64(row.values[A_ID]),
					 (int64) (logged_at + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY),
					 U64FromFullTransactionId(DatumGetFullTransactionId(row.values[A_XID])));
	/*
	 * Community 0 is "no community" on a distributed naboom, whose log
	 * cannot hold NULL in its distribution column: it hashes as NULL, so a
	 * row filed under 0 when naboom was distributed still verifies.
	 */
	if (row.nulls[A_COMMUNITY] || DatumGetInt64(row.values[A_COMMUNITY]) == 0)
		appendStringInfoString(&buf, "\x1f-");
	else
		appendStringInfo(&buf, "\x1f" INT64_FORMAT, DatumGetInt64(row.values[A_COMMUNITY]));
	if (row.nulls[A_INCIDENT])
		appendStringInfoString(&buf, "\x1f-");
	else
		appendStringInfo(&buf, "\x1f" INT64_FORMAT, DatumGetInt64(row.values[A_INCIDENT]));
	AppendText(&buf, &row, A_ACTION);
	AppendText(&buf, &row, A_TABLE);
	AppendText(&buf, &row, A_DB_ROLE);
	appendStringInfo(&buf, "\x1f%c", DatumGetBool(row.values[A_SUCCESS]) ? 't' : 'f');
	AppendHex(&buf, personal);
	AppendHex(&buf, redacted);
	Sha256(buf.data, buf.len, hash);
	pfree(buf.data);
	PG_RETURN_BYTEA_P(ToBytea(hash));
}
