/*-------------------------------------------------------------------------
 *
 * erasure.c
 *	  Anonymising members: the right to erasure, and retention of
 *	  personal data.
 *
 * naboom.erase_member (behind naboom_api.erase_my_data) and the
 * personal_data step of naboom.run_retention both call
 * NaboomAnonymiseMembers with a set of (community, user_ref) pairs, so the
 * two mean exactly the same thing.  For each pair:
 *
 *	- their reports lose the reporter, title (replaced by the category's
 *	  name), description, address, client_ref, accuracy and status note,
 *	  and keep category, kind, priority, area, status, every time stamp and
 *	  the timeline's status history; the location is snapped to a grid,
 *	  about 1 km for panics and sensitive categories (often a home), about
 *	  100 m otherwise;
 *	- on any incident they are no longer the assignee, acknowledger or last
 *	  updater; their timeline entries lose the actor and the text they
 *	  wrote, and assignments name no one;
 *	- their alerts, alert areas, positions, rate counters, deleted notes
 *	  and the attachments they added are deleted (each attachment's
 *	  deletion announces attachment.deleted, so the storage worker deletes
 *	  the object); holds they placed or lifted, and attachments they hid,
 *	  no longer name them;
 *	- the membership is deleted, unless an incident under legal hold still
 *	  names them: then only name and phone go, and the hold keeps the rest;
 *	- for an erasure, the audit rows by or about them are anonymised too
 *	  (retention needs not: audit rows are gone long before seven years),
 *	  except those of incidents under legal hold.
 *
 * naboom.leave_member (behind naboom_api.leave_community) does the same for
 * one membership, as retention does (the audit rows follow the audit_log
 * policy; erase_my_data anonymises them at once).
 *
 * Nothing can be undone: no mapping to the old values is kept anywhere,
 * and the audit keeps only digests of what it removed.  Incidents under
 * legal hold are left exactly as they are.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "naboom.h"
#include "attachment.h"
#include "audit_guard.h"
#include "audit_queue.h"
#include "audit_refusal.h"
#include "citus.h"
#include "erasure.h"
#include "retention_engine.h"
#include "spi_util.h"

/* The pairs: $1 bigint[] of communities, $2 text[] of user_refs. */
#define PAIRS \
	"WITH p AS (SELECT DISTINCT x.c, x.u" \
	" FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[])) AS x(c, u))"

/* Whether column col of the row names one of the pairs of its community. */
#define NAMED(col, community) \
	"EXISTS (SELECT 1 FROM p WHERE p.c = " community " AND p.u = " col ")"

static const char *IncidentsSql =
PAIRS ", d AS ("
" SELECT i.community_id, i.incident_id FROM p"
"  JOIN naboom.incident i ON i.reporter_ref = p.u AND i.community_id = p.c"
" UNION SELECT i.community_id, i.incident_id FROM p"
"  JOIN naboom.incident i ON i.assignee_ref = p.u AND i.community_id = p.c"
" UNION SELECT i.community_id, i.incident_id FROM p"
"  JOIN naboom.incident i ON i.updated_by = p.u AND i.community_id = p.c"
" UNION SELECT t.community_id, t.incident_id FROM p"
"  JOIN naboom.incident_timeline t ON t.actor_ref = p.u AND t.community_id = p.c"
"), x AS ("
" SELECT i.community_id, i.incident_id, i.legal_hold, i.category_code,"
"  " NAMED("i.reporter_ref", "i.community_id") " AS rep,"
"  " NAMED("i.updated_by", "i.community_id") " AS upd"
" FROM d JOIN naboom.incident i ON i.community_id = d.community_id AND i.incident_id = d.incident_id"
"), u AS ("
" UPDATE naboom.incident i SET"
"  reporter_ref = CASE WHEN x.rep THEN NULL ELSE i.reporter_ref END,"
"  title = CASE WHEN x.rep THEN cat.name_en ELSE i.title END,"
"  description = CASE WHEN x.rep THEN NULL ELSE i.description END,"
"  address = CASE WHEN x.rep THEN NULL ELSE i.address END,"
"  client_ref = CASE WHEN x.rep THEN NULL ELSE i.client_ref END,"
"  accuracy_m = CASE WHEN x.rep THEN NULL ELSE i.accuracy_m END,"
"  location = CASE WHEN x.rep THEN %s.ST_SnapToGrid(i.location,"
"   CASE WHEN i.kind = 'panic' OR cat.is_sensitive THEN 0.01 ELSE 0.001 END) ELSE i.location END,"
"  status_note = CASE WHEN x.rep OR x.upd THEN NULL ELSE i.status_note END,"
"  assignee_ref = CASE WHEN " NAMED("i.assignee_ref", "i.community_id") " THEN NULL ELSE i.assignee_ref END,"
"  acknowledged_by = CASE WHEN " NAMED("i.acknowledged_by", "i.community_id") " THEN NULL ELSE i.acknowledged_by END,"
"  updated_by = CASE WHEN x.upd THEN NULL ELSE i.updated_by END,"
"  anonymised_at = CASE WHEN x.rep THEN $3 ELSE i.anonymised_at END"
" FROM x JOIN naboom.category cat ON cat.community_id = x.community_id AND cat.code = x.category_code"
" WHERE i.community_id = x.community_id AND i.incident_id = x.incident_id AND NOT i.legal_hold"
" RETURNING x.rep, i.incident_id)"
" SELECT (SELECT count(*) FROM u WHERE u.rep),"
"  (SELECT count(*) FROM u WHERE NOT u.rep),"
"  (SELECT count(*) FROM x WHERE x.legal_hold),"
"  (SELECT coalesce(array_agg(u.incident_id), '{}') FROM u WHERE u.rep),"
"  (SELECT coalesce(array_agg(d.incident_id), '{}') FROM d)";

static const char *TimelineSql =
PAIRS ", d AS ("
" SELECT t.community_id, t.incident_id, t.seq FROM p"
"  JOIN naboom.incident_timeline t ON t.actor_ref = p.u AND t.community_id = p.c"
" UNION SELECT t.community_id, t.incident_id, t.seq FROM p"
"  JOIN naboom.incident_timeline t ON (t.detail->>'assignee') = p.u AND t.community_id = p.c"
"  AND t.detail ? 'assignee'"
")"
" UPDATE naboom.incident_timeline t SET"
"  actor_ref = CASE WHEN " NAMED("t.actor_ref", "t.community_id") " THEN NULL ELSE t.actor_ref END,"
"  note = CASE WHEN " NAMED("t.actor_ref", "t.community_id") " THEN NULL ELSE t.note END,"
"  detail = CASE WHEN " NAMED("t.detail->>'assignee'", "t.community_id")
"   THEN t.detail - 'assignee' ELSE t.detail END"
" FROM d WHERE t.community_id = d.community_id AND t.incident_id = d.incident_id AND t.seq = d.seq"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.community_id = t.community_id"
"   AND i.incident_id = t.incident_id AND i.legal_hold)";

/* Their timeline entries and deleted notes, by key, before they go. */
static const char *EntryKeysSql =
PAIRS ", k AS ("
" SELECT t.incident_id, t.seq FROM p"
"  JOIN naboom.incident_timeline t ON t.actor_ref = p.u AND t.community_id = p.c"
" UNION SELECT d.incident_id, d.seq FROM p"
"  JOIN naboom.deleted_note d ON d.actor_ref = p.u AND d.community_id = p.c)"
" SELECT coalesce(array_agg(k.incident_id), '{}'), coalesce(array_agg(k.seq), '{}') FROM k";

static const char *OwnRowsSql =
PAIRS ","
" al AS (DELETE FROM naboom.alert x USING p WHERE x.user_ref = p.u AND x.community_id = p.c"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = x.community_id"
"   AND h.incident_id = x.incident_id AND h.legal_hold)"
"  RETURNING x.incident_id),"
" su AS (DELETE FROM naboom.subscription x USING p WHERE x.user_ref = p.u AND x.community_id = p.c RETURNING 1),"
" po AS (DELETE FROM naboom.responder_position x USING p WHERE x.user_ref = p.u AND x.community_id = p.c"
"  RETURNING 1),"
" rc AS (DELETE FROM naboom.rate_counter x USING p WHERE x.user_ref = p.u AND x.community_id = p.c RETURNING 1),"
" dn AS (DELETE FROM naboom.deleted_note x USING p WHERE x.actor_ref = p.u AND x.community_id = p.c"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = x.community_id"
"   AND h.incident_id = x.incident_id AND h.legal_hold)"
"  RETURNING 1),"
" dr AS (UPDATE naboom.deleted_note x SET requested_by = NULL FROM p"
"  WHERE x.requested_by = p.u AND x.community_id = p.c AND NOT " NAMED("x.actor_ref", "x.community_id")
"  RETURNING 1),"
" lh AS (UPDATE naboom.legal_hold x SET"
"   placed_by = CASE WHEN " NAMED("x.placed_by", "x.community_id") " THEN NULL ELSE x.placed_by END,"
"   lifted_by = CASE WHEN " NAMED("x.lifted_by", "x.community_id") " THEN NULL ELSE x.lifted_by END"
"  WHERE " NAMED("x.placed_by", "x.community_id") " OR " NAMED("x.lifted_by", "x.community_id")
"  RETURNING 1)"
"%s"
" SELECT (SELECT count(*) FROM al), (SELECT count(*) FROM su), (SELECT count(*) FROM po),"
"  (SELECT count(*) FROM rc), (SELECT count(*) FROM dn) + (SELECT count(*) FROM dr),"
"  (SELECT count(*) FROM lh), (SELECT coalesce(array_agg(DISTINCT al.incident_id), '{}') FROM al),"
"  %s";

/*
 * The attachments they added go (not those of incidents under legal hold);
 * those they hid no longer name them.  Where the database has attachments
 * (0.7.0 on).
 */
#define ATTACHMENTS_CTES \
"," \
" fa AS (DELETE FROM naboom.attachment x USING p WHERE x.uploader_ref = p.u AND x.community_id = p.c" \
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = x.community_id" \
"   AND h.incident_id = x.incident_id AND h.legal_hold)" \
"  RETURNING 1)," \
" ah AS (UPDATE naboom.attachment x SET hidden_by = NULL FROM p" \
"  WHERE x.hidden_by = p.u AND x.community_id = p.c AND NOT " NAMED("x.uploader_ref", "x.community_id") \
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = x.community_id" \
"   AND h.incident_id = x.incident_id AND h.legal_hold)" \
"  RETURNING 1)"

static const char *MembersSql =
PAIRS ","
" held AS (SELECT m.community_id, m.user_ref FROM naboom.member m JOIN p ON m.community_id = p.c AND m.user_ref = p.u"
"  WHERE EXISTS (SELECT 1 FROM naboom.incident i WHERE i.community_id = m.community_id"
"   AND (i.reporter_ref = m.user_ref OR i.assignee_ref = m.user_ref))),"
" gone AS (DELETE FROM naboom.member m USING p WHERE m.community_id = p.c AND m.user_ref = p.u"
"  AND NOT EXISTS (SELECT 1 FROM held h WHERE h.community_id = m.community_id AND h.user_ref = m.user_ref)"
"  RETURNING 1),"
" kept AS (UPDATE naboom.member m SET display_name = 'Erased member', phone = NULL, on_duty = false"
"  FROM held h WHERE m.community_id = h.community_id AND m.user_ref = h.user_ref RETURNING 1)"
" SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept)";

/*
 * Audit rows by or about the people ($1 text[] of user_refs): what they
 * did, rows keyed by them, every row of the incidents they reported ($2),
 * rows of other incidents they were named on or alerted about ($3) whose
 * values hold their user_ref (exactly, at any depth), and every row about
 * a timeline entry or deleted note they wrote ($4 incident ids, $5 seqs: a
 * moderator's change of their note keeps its text, not their name).
 */
static const char *AuditSql =
"WITH refs AS (SELECT DISTINCT u FROM pg_catalog.unnest($1::pg_catalog.text[]) u),"
" r AS ("
" SELECT a.id, a.logged_at FROM naboom.audit_log a JOIN refs ON a.actor = refs.u"
" UNION SELECT a.id, a.logged_at FROM naboom.audit_log a JOIN refs"
"  ON a.row_key ? 'user_ref' AND (a.row_key->>'user_ref') = refs.u"
" UNION SELECT a.id, a.logged_at FROM naboom.audit_log a"
"  WHERE a.incident_id = ANY ($2::pg_catalog.int8[])"
" UNION SELECT a.id, a.logged_at FROM naboom.audit_log a"
"  WHERE a.incident_id = ANY ($3::pg_catalog.int8[])"
"  AND EXISTS (SELECT 1 FROM refs WHERE pg_catalog.jsonb_path_exists(pg_catalog.jsonb_build_array(a.row_key,"
"   a.old_values, a.new_values, a.detail), '$.** ? (@ == $u)', pg_catalog.jsonb_build_object('u', refs.u)))"
" UNION SELECT a.id, a.logged_at FROM naboom.audit_log a"
"  JOIN ROWS FROM (pg_catalog.unnest($4::pg_catalog.int8[]), pg_catalog.unnest($5::pg_catalog.int4[])) AS k(i, s)"
"  ON a.incident_id = k.i AND a.table_name IN ('naboom.incident_timeline', 'naboom.deleted_note')"
"  AND a.row_key->>'seq' = k.s::text)"
" UPDATE naboom.audit_log a SET" NABOOM_AUDIT_REDACT_SET
" FROM r WHERE a.id = r.id AND a.logged_at = r.logged_at AND a.personal_digest IS NULL"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = a.community_id"
"   AND h.incident_id = a.incident_id AND h.legal_hold)";

/*
 * On a distributed naboom, AnonymiseBody runs in the trigger of a
 * naboom.erasure_step row on the worker that holds the community
 * (ShardCommunity >= 0 there): its statements name that node's shards of
 * the community, so they run as plain local statements, and the audit rows
 * it anonymises are this node's of that community.
 */
static int64 ShardCommunity = -1;

static const char *
Local(const char *sql)
{
	char	   *local;

	if (ShardCommunity < 0)
		return sql;
	local = NaboomShardLocalSql(sql, ShardCommunity);
	return local != NULL ? local : sql;
}

/* The statements of NaboomAnonymiseMembers, in order. */
static void
AnonymiseBody(Datum communities, Datum user_refs, TimestampTz as_of, bool with_audit, NaboomErasure *out)
{
	Oid			types[3] = {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZOID};
	Datum		values[3] = {communities, user_refs, TimestampTzGetDatum(as_of)};
	Datum		reported = (Datum) 0;
	Datum		touched = (Datum) 0;
	Datum		alerted = (Datum) 0;
	Datum		entry_incidents = (Datum) 0;
	Datum		entry_seqs = (Datum) 0;
	char	   *sql = psprintf(IncidentsSql, NaboomPostgisSchema());

	NaboomExecute(Local(sql), 3, types, values, SPI_OK_SELECT);
	out->incidents_anonymised += NaboomResultInt8(0, 1);
	out->incidents_detached += NaboomResultInt8(0, 2);
	out->incidents_held += NaboomResultInt8(0, 3);
	if (with_audit)
	{
		reported = NaboomResultTransfer(0, 4);
		touched = NaboomResultTransfer(0, 5);
	}

	if (with_audit)
	{
		NaboomExecute(Local(EntryKeysSql), 2, types, values, SPI_OK_SELECT);
		entry_incidents = NaboomResultTransfer(0, 1);
		entry_seqs = NaboomResultTransfer(0, 2);
	}

	NaboomExecute(Local(TimelineSql), 2, types, values, SPI_OK_UPDATE);
	out->timeline_entries += SPI_processed;

	NaboomExecute(Local(psprintf(OwnRowsSql, NaboomAttachmentsInstalled() ? ATTACHMENTS_CTES : "",
								 NaboomAttachmentsInstalled() ? "(SELECT count(*) FROM fa)" : "0")),
				  2, types, values, SPI_OK_SELECT);
	out->alerts += NaboomResultInt8(0, 1);
	out->subscriptions += NaboomResultInt8(0, 2);
	out->positions += NaboomResultInt8(0, 3);
	out->rate_counters += NaboomResultInt8(0, 4);
	out->deleted_notes += NaboomResultInt8(0, 5);
	out->holds_detached += NaboomResultInt8(0, 6);
	if (with_audit)
		alerted = NaboomResultTransfer(0, 7);
	out->attachments += NaboomResultInt8(0, 8);

	NaboomExecute(Local(MembersSql), 2, types, values, SPI_OK_SELECT);
	out->members_deleted += NaboomResultInt8(0, 1);
	out->members_kept += NaboomResultInt8(0, 2);

	if (with_audit)
	{
		Oid			atypes[5] = {TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID};
		Datum		avalues[5];

		/* Other incidents they were named on, or alerted about. */
		avalues[0] = user_refs;
		avalues[1] = reported;
		avalues[2] = DirectFunctionCall2(array_cat, touched, alerted);
		avalues[3] = entry_incidents;
		avalues[4] = entry_seqs;
		NaboomAuditPrivileged = true;
		/* on a shard: this node's audit rows of the community only */
		NaboomExecute(ShardCommunity < 0 ? AuditSql :
					  Local(psprintf("%s AND a.community_id OPERATOR(pg_catalog.=) " INT64_FORMAT,
									 AuditSql, ShardCommunity)),
					  5, atypes, avalues, SPI_OK_UPDATE);
		NaboomAuditPrivileged = false;
		out->audit_rows += SPI_processed;
	}
}

/* NaboomErasure is a row of int64 counters: as an array, field by field. */
#define ERASURE_COUNTERS ((int) (sizeof(NaboomErasure) / sizeof(int64)))

/*
 * AuditOfUsersSql: audit rows by the people ($1 text[]) or keyed by them,
 * except rows of incidents under legal hold ($2 communities, $3 incidents):
 * what an erasure anonymises in a log that holds none of their
 * communities' rows (a Citus coordinator's, another worker's).  Rows
 * locked are left: on a worker, they are the ones the erasure's own
 * transaction is anonymising there (its shard step), which this
 * statement, in a connection of its own, would otherwise wait for forever;
 * only an anonymisation takes such a lock (the audit guard refuses every
 * other change of an audit row).
 */
static const char *AuditOfUsersSql =
"WITH r AS ("
" SELECT a.id, a.logged_at FROM naboom.audit_log a"
" WHERE (a.actor = ANY ($1::pg_catalog.text[])"
"   OR a.row_key ? 'user_ref' AND (a.row_key->>'user_ref') = ANY ($1::pg_catalog.text[]))"
"  AND a.personal_digest IS NULL"
"  AND NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.int8[]),"
"   pg_catalog.unnest($3::pg_catalog.int8[])) AS h(c, i)"
"   WHERE h.c = a.community_id AND h.i = a.incident_id)"
" FOR UPDATE OF a SKIP LOCKED)"
" UPDATE naboom.audit_log a SET" NABOOM_AUDIT_REDACT_SET
" FROM r WHERE a.id = r.id AND a.logged_at = r.logged_at";

/*
 * AnonymiseAuditHere runs AuditOfUsersSql on this node's part of the audit
 * log: on a distributed naboom each of its shards here (the log is
 * distributed by community; a node without shards of it has nothing to
 * do), as naboom's own code.  How many rows.
 */
static int64
AnonymiseAuditHere(Oid *types, Datum *values)
{
	List	   *targets = NaboomAuditLogTargets(CurrentMemoryContext);
	ListCell   *lc;
	int64		n = 0;

	foreach(lc, targets)
	{
		PG_TRY();
		{
			NaboomAuditPrivileged = true;
			NaboomExecute(NaboomOnAuditTarget(AuditOfUsersSql, (const char *) lfirst(lc)), 3, types, values,
						  SPI_OK_UPDATE);
		}
		PG_FINALLY();
		{
			NaboomAuditPrivileged = false;
		}
		PG_END_TRY();
		n += (int64) SPI_processed;
	}
	return n;
}

/*
 * AnonymiseThroughShards is NaboomAnonymiseMembers on a distributed
 * naboom's coordinator.  Its statements join and update several of a
 * community's tables at once, which Citus can only run on the node that
 * holds the community: so for each community it inserts a
 * naboom.erasure_step row (distributed by community_id, co-located), whose
 * BEFORE INSERT trigger does the work on that node, in this transaction,
 * and hands the counts back in the row (without the people's user_refs);
 * the row is deleted again at once.  For an erasure, the audit rows by or
 * about the people in every other node's log are anonymised too (this
 * node's in this transaction; the workers' through run_command_on_workers,
 * last, in connections of their own: they commit even if this transaction
 * is then rolled back, which only anonymises early what an erasure asked
 * for, and an erasure run again finds nothing more there).
 */
static void
AnonymiseThroughShards(Datum communities, Datum user_refs, TimestampTz as_of, bool with_audit,
					   NaboomErasure *out)
{
	Datum	   *cs,
			   *us;
	int			n,
				m,
				k,
				j;
	int64	   *counters = (int64 *) out;

	deconstruct_array(DatumGetArrayTypeP(communities), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &cs, NULL, &n);
	deconstruct_array(DatumGetArrayTypeP(user_refs), TEXTOID, -1, false, TYPALIGN_INT, &us, NULL, &m);
	if (n != m)
		elog(ERROR, "naboom: communities and user_refs differ in length");

	for (k = 0; k < n; k++)
	{
		Oid			types[5] = {INT8OID, UUIDOID, TEXTARRAYOID, TIMESTAMPTZOID, BOOLOID};
		Datum		values[5];
		Datum	   *refs = palloc(sizeof(Datum) * n);
		int			nrefs = 0;
		bool		seen = false;
		bool		isnull;
		Datum		step;

		for (j = 0; j < k && !seen; j++)
			seen = DatumGetInt64(cs[j]) == DatumGetInt64(cs[k]);
		/* once per community; 0 is "no membership": no community rows */
		if (seen || DatumGetInt64(cs[k]) == 0)
			continue;
		for (j = k; j < n; j++)
			if (DatumGetInt64(cs[j]) == DatumGetInt64(cs[k]))
				refs[nrefs++] = us[j];

		step = DirectFunctionCall1(gen_random_uuid, (Datum) 0);
		values[0] = cs[k];
		values[1] = step;
		values[2] = PointerGetDatum(construct_array(refs, nrefs, TEXTOID, -1, false, TYPALIGN_INT));
		values[3] = TimestampTzGetDatum(as_of);
		values[4] = BoolGetDatum(with_audit);
		NaboomExecute("INSERT INTO naboom.erasure_step (community_id, step_id, user_refs, as_of, with_audit)"
					  " VALUES ($1, $2, $3, $4, $5) RETURNING counts",
					  5, types, values, SPI_OK_INSERT_RETURNING);
		if (SPI_processed != 1)
			elog(ERROR, "naboom: the erasure step of community " INT64_FORMAT " did not run",
				 DatumGetInt64(cs[k]));
		{
			Datum		counts = NaboomResultDatum(0, 1, &isnull);
			Datum	   *c;
			int			nc,
						f;

			if (isnull)
				elog(ERROR, "naboom: the erasure step of community " INT64_FORMAT " gave no counts",
					 DatumGetInt64(cs[k]));
			deconstruct_array(DatumGetArrayTypeP(counts), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
							  &c, NULL, &nc);
			for (f = 0; f < nc && f < ERASURE_COUNTERS; f++)
				counters[f] += DatumGetInt64(c[f]);
		}
		NaboomExecute("DELETE FROM naboom.erasure_step WHERE community_id = $1 AND step_id = $2",
					  2, types, values, SPI_OK_DELETE);
	}

	if (with_audit)
	{
		Oid			types[3] = {TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
		Datum		values[3];

		values[0] = user_refs;
		NaboomExecute("SELECT coalesce(pg_catalog.array_agg(i.community_id), '{}'),"
					  " coalesce(pg_catalog.array_agg(i.incident_id), '{}')"
					  " FROM naboom.incident i WHERE i.legal_hold",
					  0, NULL, NULL, SPI_OK_SELECT);
		values[1] = NaboomResultTransfer(0, 1);
		values[2] = NaboomResultTransfer(0, 2);
		out->audit_rows += AnonymiseAuditHere(types, values);
		NaboomExecute("SELECT coalesce(pg_catalog.sum(r.result::pg_catalog.int8)"
					  "  FILTER (WHERE r.success), 0)::pg_catalog.int8,"
					  " pg_catalog.string_agg(r.nodename || ':' || r.nodeport || ' ' || r.result, '; ')"
					  "  FILTER (WHERE NOT r.success)"
					  " FROM pg_catalog.run_command_on_workers(pg_catalog.format("
					  "  'SELECT naboom.anonymise_audit_of(%L, %L, %L)', $1, $2, $3)) r",
					  3, types, values, SPI_OK_SELECT);
		{
			bool		isnull;
			Datum		failed = NaboomResultDatum(0, 2, &isnull);

			if (!isnull)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("naboom: the audit rows on a worker could not be anonymised"),
						 errdetail("%s", TextDatumGetCString(failed)),
						 errhint("Nothing of this erasure is kept; run it again once every worker answers.")));
			out->audit_rows += NaboomResultInt8(0, 1);
		}
	}
}

PG_FUNCTION_INFO_V1(naboom_anonymise_audit_of);

/*
 * naboom.anonymise_audit_of(user_refs, held_communities, held_incidents):
 * AuditOfUsersSql on this node's shards of the audit log (an erasure on a
 * Citus cluster runs it on every worker); how many rows.  Superuser only.
 */
Datum
naboom_anonymise_audit_of(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Datum		values[3];
	int64		n;

	if (!superuser())
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.superuser_only",
						("naboom.anonymise_audit_of is for naboom's erasure on a Citus cluster"),
						("Call naboom_api.erase_my_data() instead."),
						"It anonymises any person's audit rows; %s is not a superuser.",
						GetUserNameFromId(GetUserId(), false));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_INT64(0);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	NaboomSpiConnect();
	n = AnonymiseAuditHere(types, values);
	SPI_finish();
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(naboom_erasure_step_run);

/*
 * naboom.erasure_step_run(): BEFORE INSERT trigger on naboom.erasure_step
 * (see AnonymiseThroughShards).  On a worker it runs in Citus's connection
 * for the shard, so its statements name this node's shards of the
 * community.  The row keeps the counts, never the user_refs.
 */
Datum
naboom_erasure_step_run(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	bool		isnull;
	int64		community;
	Datum		refs;
	TimestampTz as_of;
	bool		with_audit;
	Datum	   *ids;
	Datum	   *counts;
	int			n,
				k;
	NaboomErasure e;
	int64	   *counters = (int64 *) &e;
	int			cols[2];
	Datum		replace[2];
	bool		nulls[2] = {true, false};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "naboom.erasure_step_run() is a BEFORE INSERT row trigger");
	desc = trigdata->tg_relation->rd_att;
	tuple = trigdata->tg_trigtuple;
	community = DatumGetInt64(heap_getattr(tuple, 1, desc, &isnull));
	refs = heap_getattr(tuple, 3, desc, &isnull);
	if (isnull)
		elog(ERROR, "naboom: an erasure step without user_refs");
	as_of = DatumGetTimestampTz(heap_getattr(tuple, 4, desc, &isnull));
	with_audit = DatumGetBool(heap_getattr(tuple, 5, desc, &isnull));

	n = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(refs)), ARR_DIMS(DatumGetArrayTypeP(refs)));
	ids = palloc(sizeof(Datum) * Max(n, 1));
	for (k = 0; k < n; k++)
		ids[k] = Int64GetDatum(community);

	memset(&e, 0, sizeof(e));
	NaboomSpiConnect();
	ShardCommunity = community;
	PG_TRY();
	{
		NaboomAnonymiseMembers(PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
							   refs, as_of, with_audit, &e);
	}
	PG_FINALLY();
	{
		ShardCommunity = -1;
	}
	PG_END_TRY();
	SPI_finish();

	counts = palloc(sizeof(Datum) * ERASURE_COUNTERS);
	for (k = 0; k < ERASURE_COUNTERS; k++)
		counts[k] = Int64GetDatum(counters[k]);
	cols[0] = 3;				/* user_refs: not kept */
	replace[0] = (Datum) 0;
	cols[1] = 6;				/* counts */
	replace[1] = PointerGetDatum(construct_array(counts, ERASURE_COUNTERS, INT8OID, 8, FLOAT8PASSBYVAL,
												 TYPALIGN_DOUBLE));
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 2, cols, replace, nulls));
}

/*
 * NaboomAnonymiseMembers anonymises the members (communities[i],
 * user_refs[i]) as the file header describes, in the caller's transaction,
 * with the single-row triggers standing aside.  Counts go to *out.
 */
void
NaboomAnonymiseMembers(Datum communities, Datum user_refs, TimestampTz as_of,
					   bool with_audit, NaboomErasure *out)
{
	bool		was_active = NaboomRetentionActive;

	NaboomRetentionActive = true;
	PG_TRY();
	{
		if (ShardCommunity < 0 && NaboomCitusDistributed())
			AnonymiseThroughShards(communities, user_refs, as_of, with_audit, out);
		else
			AnonymiseBody(communities, user_refs, as_of, with_audit, out);
	}
	PG_FINALLY();
	{
		NaboomRetentionActive = was_active;
		NaboomAuditPrivileged = false;
	}
	PG_END_TRY();
}

static void
AppendCount(StringInfo buf, const char *name, int64 n)
{
	appendStringInfo(buf, "%s\"%s\":" INT64_FORMAT, buf->data[buf->len - 1] == '{' ? "" : ",", name, n);
}

/*
 * LockMemberships finds and locks the person's memberships (a concurrent
 * join or report waits) as the (communities, user_refs) arrays
 * NaboomAnonymiseMembers takes.  With none (never joined, or erased
 * before) no community row can name them, but the audit may (refused
 * attempts, reads): then the pair is (0, user_ref).
 */
static void
LockMemberships(text *user_ref, Datum *communities, Datum *refs)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {PointerGetDatum(user_ref)};

	if (NaboomCitusDistributed())
	{
		/*
		 * On a distributed naboom each membership is locked in its own
		 * community (Citus refuses a FOR UPDATE over every shard), in
		 * community order as below; one that appeared meanwhile is not.
		 */
		Oid			lock_types[2] = {INT8OID, TEXTOID};
		Datum		lock_values[2];
		Datum		found;
		Datum	   *ids;
		int			n,
					k;

		NaboomExecute("SELECT coalesce(array_agg(m.community_id ORDER BY m.community_id), '{}')"
					  " FROM naboom.member m WHERE m.user_ref = $1",
					  1, types, values, SPI_OK_SELECT);
		found = NaboomResultTransfer(0, 1);
		deconstruct_array(DatumGetArrayTypeP(found), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &ids, NULL, &n);
		for (k = 0; k < n; k++)
		{
			lock_values[0] = ids[k];
			lock_values[1] = PointerGetDatum(user_ref);
			NaboomExecute("SELECT 1 FROM naboom.member m"
						  " WHERE m.community_id = $1 AND m.user_ref = $2 FOR UPDATE",
						  2, lock_types, lock_values, SPI_OK_SELECT);
		}
	}
	NaboomExecute(psprintf("SELECT coalesce(array_agg(m.community_id), '{}'), coalesce(array_agg(m.user_ref), '{}'), count(*)"
						   " FROM (SELECT m.community_id, m.user_ref FROM naboom.member m WHERE m.user_ref = $1"
						   "  ORDER BY m.community_id%s) m",
						   NaboomCitusDistributed() ? "" : " FOR UPDATE"),
				  1, types, values, SPI_OK_SELECT);
	*communities = NaboomResultTransfer(0, 1);
	*refs = NaboomResultTransfer(0, 2);
	if (NaboomResultInt8(0, 3) == 0)
	{
		Datum		zero = Int64GetDatum(0);
		Datum		ref = PointerGetDatum(user_ref);

		*communities = PointerGetDatum(construct_array(&zero, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		*refs = PointerGetDatum(construct_array(&ref, 1, TEXTOID, -1, false, TYPALIGN_INT));
	}
}

/* What was erased, per kind, as a JSON object. */
static char *
ErasedCounts(const NaboomErasure *e)
{
	StringInfoData counts;

	initStringInfo(&counts);
	appendStringInfoChar(&counts, '{');
	AppendCount(&counts, "memberships", e->members_deleted);
	AppendCount(&counts, "reports_anonymised", e->incidents_anonymised);
	AppendCount(&counts, "incidents_no_longer_naming_you", e->incidents_detached);
	AppendCount(&counts, "timeline_entries", e->timeline_entries);
	AppendCount(&counts, "alerts", e->alerts);
	AppendCount(&counts, "alert_areas", e->subscriptions);
	AppendCount(&counts, "positions", e->positions);
	AppendCount(&counts, "rate_counters", e->rate_counters);
	AppendCount(&counts, "deleted_notes", e->deleted_notes);
	AppendCount(&counts, "attachments", e->attachments);
	AppendCount(&counts, "legal_holds_no_longer_naming_you", e->holds_detached);
	AppendCount(&counts, "audit_entries_anonymised", e->audit_rows);
	appendStringInfoChar(&counts, '}');
	return counts.data;
}

/* The answer of erase_member: what was erased, what was kept and why. */
static char *
ErasureAnswer(const NaboomErasure *e, const char *erasure_id, TimestampTz as_of,
			  const char *counts)
{
	StringInfoData result;

	initStringInfo(&result);
	appendStringInfo(&result, "{\"erasure_id\":\"%s\",\"erased_at\":\"%s\",\"erased\":%s,\"kept\":[",
					 erasure_id, timestamptz_to_str(as_of), counts);
	appendStringInfo(&result,
					 "{\"what\":\"your reports, anonymised\",\"count\":" INT64_FORMAT ","
					 "\"why\":\"Emergency records are kept for the period the law and the community's policy require"
					 " (naboom_api.retention_policies); they no longer name you or say what you wrote, and their"
					 " location is coarse.\"},",
					 e->incidents_anonymised);
	appendStringInfo(&result,
					 "{\"what\":\"incidents under legal hold that name you\",\"count\":" INT64_FORMAT ","
					 "\"why\":\"A legal hold keeps an incident exactly as it is until the hold is lifted.\"},",
					 e->incidents_held);
	appendStringInfo(&result,
					 "{\"what\":\"memberships those incidents need, without your name and phone\",\"count\":"
					 INT64_FORMAT ",\"why\":\"An incident under legal hold still refers to you; erase again when"
					 " the hold is lifted.\"},",
					 e->members_kept);
	appendStringInfoString(&result,
						   "{\"what\":\"one audit entry of this erasure\",\"count\":1,"
						   "\"why\":\"The audit log must show that an erasure happened; the entry does not name you.\"}]}");
	return result.data;
}

PG_FUNCTION_INFO_V1(naboom_erase_member);

/*
 * naboom_erase_member(user_ref, as_of) erases one person from every
 * community and returns what was erased, what was kept and why.
 */
Datum
naboom_erase_member(PG_FUNCTION_ARGS)
{
	text	   *user_ref = PG_GETARG_TEXT_PP(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	NaboomErasure e;
	Datum		communities;
	Datum		refs;
	char	   *erasure_id;
	char	   *counts;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;

	memset(&e, 0, sizeof(e));
	/* Entries about them still in the audit writer's queue land first. */
	(void) NaboomAuditQueueWait(2000);

	NaboomSpiConnect();
	LockMemberships(user_ref, &communities, &refs);
	NaboomAnonymiseMembers(communities, refs, as_of, true, &e);

	/* What outlives SPI_finish is made in the caller's context. */
	old = MemoryContextSwitchTo(caller);
	erasure_id = DatumGetCString(DirectFunctionCall1(uuid_out, DirectFunctionCall1(gen_random_uuid, (Datum) 0)));
	counts = ErasedCounts(&e);
	MemoryContextSwitchTo(old);

	NaboomWriteErasedEntry(psprintf("{\"what\":\"erase_my_data\",\"erasure_id\":\"%s\",\"count\":%s}",
									erasure_id, counts));
	SPI_finish();

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(ErasureAnswer(&e, erasure_id, as_of, counts))));
}

PG_FUNCTION_INFO_V1(naboom_leave_member);

/*
 * naboom_leave_member(community_id, user_ref, as_of) anonymises one
 * membership as retention's personal_data step does (the caller has locked
 * it and checked that it may go), and writes one ERASED audit entry for
 * the community that names no one.  Returns what was erased, per kind.
 */
Datum
naboom_leave_member(PG_FUNCTION_ARGS)
{
	Datum		community = PG_GETARG_DATUM(0);
	Datum		user_ref = PG_GETARG_DATUM(1);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(2);
	NaboomErasure e;
	Datum		communities;
	Datum		refs;
	char	   *counts;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext old;

	memset(&e, 0, sizeof(e));
	communities = PointerGetDatum(construct_array(&community, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	refs = PointerGetDatum(construct_array(&user_ref, 1, TEXTOID, -1, false, TYPALIGN_INT));

	NaboomSpiConnect();
	NaboomAnonymiseMembers(communities, refs, as_of, false, &e);

	old = MemoryContextSwitchTo(caller);
	counts = ErasedCounts(&e);
	MemoryContextSwitchTo(old);

	if (naboom_audit_enabled)
	{
		Oid			types[2] = {INT8OID, JSONBOID};
		Datum		values[2];

		values[0] = community;
		values[1] = DirectFunctionCall1(jsonb_in,
										CStringGetDatum(psprintf("{\"what\":\"leave_community\",\"count\":%s}",
																 counts)));
		NaboomExecute("INSERT INTO naboom.audit_log (community_id, action, actor, db_role, success, detail)"
					  " VALUES ($1, 'ERASED', NULL, SESSION_USER, true, $2)",
					  2, types, values, SPI_OK_INSERT);
	}
	SPI_finish();

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(counts)));
}
