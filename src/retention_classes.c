/*-------------------------------------------------------------------------
 *
 * retention_classes.c
 *	  The domain data classes of naboom.run_retention (design.md section 7):
 *
 *	emergency_record	closed incidents past their period (with timeline,
 *						alerts, events, holds, deleted notes, attachments)
 *						are deleted;
 *	personal_data		members inactive past their period are anonymised
 *						(erasure.c);
 *	deleted_note		note texts past their period are deleted.
 *
 * The audit_log class is in retention_audit.c; the run that goes through
 * them in order, in retention.c; steps, batches and commits in
 * retention_engine.c.  Each batch claims its rows with FOR UPDATE SKIP
 * LOCKED and changes them in the same statement, so rows a live
 * transaction holds are left for the next run, and a row is never
 * processed twice.  Incidents under legal hold, and members whose
 * incidents are, are never touched; they are counted as held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "attachment.h"
#include "citus.h"
#include "erasure.h"
#include "retention_classes.h"
#include "retention_engine.h"
#include "spi_util.h"

/* The incidents whose emergency_record period has passed at $1. */
#define EXPIRED_INCIDENTS \
	" FROM naboom.incident i JOIN naboom.retention_effective r" \
	"  ON r.community_id = i.community_id AND r.data_class = 'emergency_record'" \
	" WHERE i.closed_at IS NOT NULL AND i.closed_at <= $1 - r.keep"

/*
 * The members whose personal_data period has passed at $1: no activity of
 * theirs (joining or a profile change, a daily API call, a report, a
 * timeline entry, a position) since, and no alert area: a member whose
 * alert area still alerts them is using naboom, even if they only read.
 */
#define EXPIRED_MEMBERS \
	" FROM naboom.member m JOIN naboom.retention_effective r" \
	"  ON r.community_id = m.community_id AND r.data_class = 'personal_data'" \
	" WHERE m.last_active_at <= $1 - r.keep" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.incident i WHERE i.reporter_ref = m.user_ref" \
	"   AND i.community_id = m.community_id AND i.created_at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.incident_timeline t WHERE t.actor_ref = m.user_ref" \
	"   AND t.community_id = m.community_id AND t.at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.responder_position p WHERE p.user_ref = m.user_ref" \
	"   AND p.community_id = m.community_id AND p.reported_at > $1 - r.keep)" \
	"  AND NOT EXISTS (SELECT 1 FROM naboom.subscription s WHERE s.user_ref = m.user_ref" \
	"   AND s.community_id = m.community_id)"

#define MEMBER_HELD \
	"EXISTS (SELECT 1 FROM naboom.incident i WHERE i.community_id = m.community_id" \
	" AND (i.reporter_ref = m.user_ref OR i.assignee_ref = m.user_ref) AND i.legal_hold)"

#define EXPIRED_NOTES \
	" FROM naboom.deleted_note d JOIN naboom.retention_effective r" \
	"  ON r.community_id = d.community_id AND r.data_class = 'deleted_note'" \
	" WHERE d.requested_at <= $1 - r.keep"

/*
 * On a distributed naboom (Citus) a batch that claims rows with FOR UPDATE
 * must stay inside one community (Citus refuses a FOR UPDATE over every
 * shard), so the personal data and deleted notes classes run their batches
 * community by community there ($3, with BY_COMMUNITY in the statement);
 * on a single node there is one pass over all communities, as before.
 * The ids are kept in the run's context, which outlives the batches'
 * commits.
 */
static int
BatchCommunities(Run *r, Datum **ids)
{
	int			n,
				i;
	bool		isnull;

	if (!NaboomCitusDistributed())
	{
		*ids = MemoryContextAlloc(r->cxt, sizeof(Datum));
		(*ids)[0] = (Datum) 0;
		return 1;
	}
	NaboomExecute("SELECT c.community_id FROM naboom.community c ORDER BY 1", 0, NULL, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	*ids = MemoryContextAlloc(r->cxt, sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		(*ids)[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
	return n;
}

/* the filter of a batch in one community (on a cluster), or nothing */
#define BY_COMMUNITY(col) (NaboomCitusDistributed() ? " AND " col " = $3" : "")

/* A batch statement, in one community on a cluster (see BatchCommunities). */
static void
CommunityBatch(Run *r, const char *sql, int limit, int expect, Datum community)
{
	Oid			types[3] = {TIMESTAMPTZOID, INT4OID, INT8OID};
	Datum		values[3] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(limit), community};

	NaboomRetentionActive = true;
	NaboomExecute(sql, NaboomCitusDistributed() ? 3 : 2, types, values, expect);
	NaboomRetentionActive = false;
}

/* ------------------------------------------------------ emergency records */

/*
 * One community's batch: claim expired incidents ($1 as_of, $2 batch size,
 * $3 community, $4 its period), then delete them and theirs by key, so every
 * table is probed through its index however large it is.
 */
static const char *ClaimIncidentsSql =
"SELECT coalesce(array_agg(c.incident_id), '{}') FROM (SELECT i.incident_id FROM naboom.incident i"
" WHERE i.community_id = $3 AND i.closed_at IS NOT NULL AND i.closed_at <= $1 - $4::pg_catalog.interval"
"  AND NOT i.legal_hold"
"  AND NOT EXISTS (SELECT 1 FROM naboom.incident d WHERE d.community_id = i.community_id"
"   AND d.duplicate_of = i.incident_id)"
" LIMIT $2 FOR UPDATE OF i SKIP LOCKED) c";

#define OF_BATCH " WHERE x.community_id = $1 AND x.incident_id = ANY ($2::pg_catalog.int8[]) RETURNING 1)"

static const char *DeleteIncidentsSql =
"WITH t AS (DELETE FROM naboom.incident_timeline x" OF_BATCH ","
" a AS (DELETE FROM naboom.alert x" OF_BATCH ","
" e AS (DELETE FROM naboom.event x WHERE x.community_id = $1 AND x.incident_id = ANY ($2::pg_catalog.int8[])"
"  RETURNING x.seq),"
" h AS (DELETE FROM naboom.legal_hold x" OF_BATCH ","
" n AS (DELETE FROM naboom.deleted_note x" OF_BATCH ","
"%s"
" i AS (DELETE FROM naboom.incident x" OF_BATCH
" SELECT (SELECT count(*) FROM i),"
"  (SELECT count(*) FROM t) + (SELECT count(*) FROM a) + (SELECT count(*) FROM e)"
"   + (SELECT count(*) FROM h) + (SELECT count(*) FROM n)%s,"
"  (SELECT pg_catalog.max(e.seq) FROM e)";

/*
 * On a cluster, the highest stream number of the community deleted: its
 * sync horizon, kept on the coordinator beside where its stream stands (a
 * single node's naboom.event_horizon is moved by event's statement trigger,
 * which on a cluster fires on the worker's shard).
 */
static const char *CommunityHorizonSql =
"INSERT INTO naboom.event_position AS p (community_id, published_through, deleted_through) VALUES ($1, $2, $2)"
" ON CONFLICT (community_id) DO UPDATE"
" SET published_through = GREATEST(p.published_through, EXCLUDED.published_through),"
"  deleted_through = GREATEST(p.deleted_through, EXCLUDED.deleted_through)";

/* Their attachments, where the database has them (0.7.0 on). */
#define ATTACHMENTS_CTE " f AS (DELETE FROM naboom.attachment x" OF_BATCH ","
#define ATTACHMENTS_COUNT " + (SELECT count(*) FROM f)"

/* Delete one community's expired incidents, batch by batch. */
static void
EmergencyCommunity(Run *r, Datum community, Datum keep, Step *inc, Step *rel)
{
	Oid			ctypes[4] = {TIMESTAMPTZOID, INT4OID, INT8OID, INTERVALOID};
	Datum		cvalues[4] = {TimestampTzGetDatum(r->as_of), Int32GetDatum(r->batch), community, keep};
	Oid			dtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		dvalues[2];
	bool		isnull;
	bool		with_attachments = NaboomAttachmentsInstalled();
	char	   *delete_sql = psprintf(DeleteIncidentsSql, with_attachments ? ATTACHMENTS_CTE : "",
									  with_attachments ? ATTACHMENTS_COUNT : "");

	for (;;)
	{
		int64		n;
		int64		related;
		Datum		horizon;
		char	   *ids;

		NaboomExecute(ClaimIncidentsSql, 4, ctypes, cvalues, SPI_OK_SELECT);
		dvalues[0] = community;
		dvalues[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ids = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(ids, "{}") == 0)
			break;
		NaboomRetentionActive = true;
		NaboomExecute(delete_sql, 2, dtypes, dvalues, SPI_OK_SELECT);
		NaboomRetentionActive = false;
		n = NaboomResultInt8(0, 1);
		related = NaboomResultInt8(0, 2);
		horizon = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (!isnull && NaboomCitusDistributed())
		{
			Oid			htypes[2] = {INT8OID, INT8OID};
			Datum		hvalues[2] = {community, horizon};

			NaboomExecute(CommunityHorizonSql, 2, htypes, hvalues, SPI_OK_INSERT);
		}
		inc->rows += n;
		rel->rows += related;
		inc->batches++;
		RetentionErased(r, "emergency_record",
					psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT ",\"ids\":[%s]",
							 n, related, pnstrdup(ids + 1, strlen(ids) - 2)));
		RetentionCommit(r);
	}
}

/*
 * NaboomRetainEmergencyRecords deletes closed incidents past their
 * emergency_record period, with their timeline, alerts, events, holds,
 * deleted notes and attachments (whose deletion announces attachment.deleted
 * for the storage worker), one community at a time; incidents under legal
 * hold are counted as held.
 */
void
NaboomRetainEmergencyRecords(Run *r)
{
	Step		inc;
	Step		rel;

	RetentionStepStart(&inc);
	RetentionStepStart(&rel);
	inc.held = RetentionCount(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND i.legal_hold");
	if (r->dry_run)
	{
		inc.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_INCIDENTS " AND NOT i.legal_hold");
		rel.rows = RetentionCount(r, psprintf("SELECT coalesce(sum("
						 " (SELECT count(*) FROM naboom.incident_timeline x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)"
						 " + (SELECT count(*) FROM naboom.alert x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)"
						 " + (SELECT count(*) FROM naboom.event x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)%s), 0)::bigint"
						 EXPIRED_INCIDENTS " AND NOT i.legal_hold",
						 NaboomAttachmentsInstalled() ?
						 " + (SELECT count(*) FROM naboom.attachment x WHERE x.community_id = i.community_id"
						 "   AND x.incident_id = i.incident_id)" : ""));
	}
	else
	{
		uint64		i;
		uint64		n;
		Datum	   *communities;
		Datum	   *keeps;
		bool		isnull;
		MemoryContext old;

		/* The communities and their periods, kept across the batches' commits. */
		NaboomExecute("SELECT e.community_id, e.keep FROM naboom.retention_effective e"
				" WHERE e.data_class = 'emergency_record' ORDER BY e.community_id", 0, NULL, NULL, SPI_OK_SELECT);
		n = SPI_processed;
		old = MemoryContextSwitchTo(r->cxt);
		communities = palloc(sizeof(Datum) * Max(n, 1));
		keeps = palloc(sizeof(Datum) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			communities[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			keeps[i] = datumCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull),
								 false, sizeof(Interval));
		}
		MemoryContextSwitchTo(old);
		for (i = 0; i < n; i++)
			EmergencyCommunity(r, communities[i], keeps[i], &inc, &rel);
		rel.batches = inc.batches;
	}
	RetentionRecord(r, &inc, "emergency_record", "naboom.incident", r->dry_run ? "due for deletion" : "deleted");
	RetentionRecord(r, &rel, "emergency_record", "their timeline, alerts, events, holds, deleted notes and attachments",
		   r->dry_run ? "due for deletion" : "deleted");
	RetentionCommit(r);
}

/* ----------------------------------------------------------- personal data */

/*
 * NaboomRetainPersonalData anonymises members inactive past their
 * personal_data period (erasure.c), a hundredth of a batch at a time;
 * members an incident under legal hold names are counted as held.
 */
void
NaboomRetainPersonalData(Run *r)
{
	Step		mem;
	Step		inc;
	Step		tl;
	Step		own;
	int			limit = Max(1, r->batch / 100);

	RetentionStepStart(&mem);
	RetentionStepStart(&inc);
	RetentionStepStart(&tl);
	RetentionStepStart(&own);
	mem.held = RetentionCount(r, "SELECT count(*)" EXPIRED_MEMBERS " AND " MEMBER_HELD);
	if (r->dry_run)
		mem.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_MEMBERS " AND NOT " MEMBER_HELD);
	else
	{
		Datum	   *ids;
		int			nids = BatchCommunities(r, &ids);
		int			k = 0;
		char	   *sql = MemoryContextStrdup(r->cxt,
											  psprintf("SELECT coalesce(array_agg(x.community_id), '{}'), coalesce(array_agg(x.user_ref), '{}'),"
													   " count(*) FROM (SELECT m.community_id, m.user_ref" EXPIRED_MEMBERS "%s AND NOT " MEMBER_HELD
													   " LIMIT $2 FOR UPDATE OF m SKIP LOCKED) x",
													   BY_COMMUNITY("m.community_id")));

		while (k < nids)
		{
			NaboomErasure e;
			Datum		communities;
			Datum		refs;
			bool		isnull;

			CommunityBatch(r, sql, limit, SPI_OK_SELECT, ids[k]);
			if (NaboomResultInt8(0, 3) == 0)
			{
				k++;			/* this community is done */
				continue;
			}
			communities = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
											false, -1);
			refs = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
									 false, -1);
			memset(&e, 0, sizeof(e));
			NaboomAnonymiseMembers(communities, refs, r->as_of, false, &e);
			mem.rows += e.members_deleted + e.members_kept;
			inc.rows += e.incidents_anonymised + e.incidents_detached;
			tl.rows += e.timeline_entries;
			own.rows += e.alerts + e.subscriptions + e.positions + e.rate_counters + e.deleted_notes + e.attachments;
			mem.batches++;
			RetentionErased(r, "personal_data",
						psprintf("\"count\":" INT64_FORMAT ",\"rows\":" INT64_FORMAT,
								 e.members_deleted + e.members_kept,
								 e.incidents_anonymised + e.incidents_detached + e.timeline_entries + e.alerts +
								 e.subscriptions + e.positions + e.rate_counters + e.deleted_notes + e.attachments));
			RetentionCommit(r);
		}
		inc.batches = tl.batches = own.batches = mem.batches;
	}
	RetentionRecord(r, &mem, "personal_data", "naboom.member", r->dry_run ? "due for anonymisation" : "anonymised");
	if (!r->dry_run)
	{
		RetentionRecord(r, &inc, "personal_data", "naboom.incident", "anonymised");
		RetentionRecord(r, &tl, "personal_data", "naboom.incident_timeline", "anonymised");
		RetentionRecord(r, &own, "personal_data", "their alerts, alert areas, positions, rate counters, deleted notes, attachments",
			   "deleted");
	}
	RetentionCommit(r);
}

/* ----------------------------------------------------------- deleted notes */

/*
 * NaboomRetainDeletedNotes deletes the kept texts of deleted notes past
 * their deleted_note period.
 */
void
NaboomRetainDeletedNotes(Run *r)
{
	Step		s;

	RetentionStepStart(&s);
	s.held = RetentionCount(r, "SELECT count(*)" EXPIRED_NOTES " AND " HELD("d.community_id", "d.incident_id"));
	if (r->dry_run)
		s.rows = RetentionCount(r, "SELECT count(*)" EXPIRED_NOTES " AND NOT " HELD("d.community_id", "d.incident_id"));
	else
	{
		Datum	   *ids;
		int			nids = BatchCommunities(r, &ids);
		int			k = 0;
		char	   *sql = MemoryContextStrdup(r->cxt,
											  psprintf("WITH c AS (SELECT d.community_id, d.incident_id, d.seq" EXPIRED_NOTES
													   "%s AND NOT " HELD("d.community_id", "d.incident_id") " LIMIT $2 FOR UPDATE OF d SKIP LOCKED)"
													   " DELETE FROM naboom.deleted_note x USING c WHERE x.community_id = c.community_id"
													   "  AND x.incident_id = c.incident_id AND x.seq = c.seq%s",
													   BY_COMMUNITY("d.community_id"), BY_COMMUNITY("x.community_id")));

		while (k < nids)
		{
			CommunityBatch(r, sql, r->batch, SPI_OK_DELETE, ids[k]);
			if (SPI_processed == 0)
			{
				k++;			/* this community is done */
				continue;
			}
			s.rows += SPI_processed;
			s.batches++;
			RetentionErased(r, "deleted_note", psprintf("\"count\":" UINT64_FORMAT, SPI_processed));
			RetentionCommit(r);
		}
	}
	RetentionRecord(r, &s, "deleted_note", "naboom.deleted_note", r->dry_run ? "due for deletion" : "deleted");
	RetentionCommit(r);
}
