/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The event stream: written with each change, numbered and announced
 *	  after commit.
 *
 * Writers append rows to naboom.event in their own transaction (the timeline
 * and alert triggers call NaboomEventAppend) and never NOTIFY: on
 * PostgreSQL 15 a transaction that notifies takes one cluster-wide lock at
 * commit, which would serialise every writer.  Instead, a committing writer
 * sets the latch of naboom's background writer (writer.c), which runs
 * NaboomPublishEvents: under one advisory lock, it gives every committed,
 * unpublished event the next stream number (seq) in event_id order and sends
 * one NOTIFY per event, in one transaction.  So the stream position is
 * assigned only to committed events, by one publisher, in the order they
 * became visible: a consumer reading events_since(last seq) never skips an
 * event that committed late with a smaller event_id; it simply gets a
 * larger seq.  Only the publisher's transaction notifies.
 *
 * Without the background writer (naboom not preloaded), naboom.publish_events
 * does the same when called, e.g. every minute from pg_cron.
 *
 * Panics first.  A transaction that appended a panic.* event does not wait
 * for the publisher's next round: just before it commits (a pre-commit
 * callback, PublishPanic) it takes the publisher's lock itself and runs
 * NaboomPublishEvents in its own transaction, numbering the committed,
 * unpublished events and its own, and queuing their NOTIFYs, which
 * PostgreSQL delivers when it commits.  The lock is held until that commit,
 * as the publisher holds it until its own, so no later number becomes
 * visible first and the stream keeps its guarantees.  Only panics do this
 * (they are rare), so ordinary writers still never NOTIFY.  It is skipped,
 * and the events left to the publisher, when naboom.panic_publish is off,
 * under REPEATABLE READ or SERIALIZABLE (the transaction's snapshot cannot
 * see what committed after it began, so it would miss events and reuse
 * numbers), and when anything in it fails: it runs in a subtransaction, and
 * an error there is logged and rolled back, never the panic.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "naboom.h"
#include "audit_queue.h"
#include "citus.h"
#include "events.h"
#include "retention_engine.h"
#include "spi_util.h"

bool		naboom_events_enabled = true;
bool		naboom_panic_publish = true;
int			naboom_forwarding_max_attempts = 8;
int			naboom_forwarding_backoff = 30000;
char	   *naboom_acting_authority = NULL;

static SPIPlanPtr AppendPlan = NULL;
static SPIPlanPtr PublishPlan = NULL;
static SPIPlanPtr PublishPlanHorizon = NULL;
static bool EventsWritten = false;
static bool PanicWritten = false;	/* a panic.* event, in this transaction */
static bool CallbackRegistered = false;

static void PublishPanic(void);

/*
 * At commit, a transaction that wrote events wakes the background writer
 * to publish them.  One that wrote a panic event publishes first, just
 * before it commits (PublishPanic); it still wakes the writer, which then
 * finds nothing or what a later step of the commit wrote.
 */
static void
EventsXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT && PanicWritten)
		PublishPanic();
	if (event == XACT_EVENT_COMMIT && EventsWritten)
		NaboomAuditQueueWakeWriter();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		EventsWritten = false;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		PanicWritten = false;
}

/*
 * NaboomEventAppend writes one event in the current transaction.  The
 * caller runs as a role that may write naboom.event (the table owner, in
 * naboom's triggers).  payload_json must be a JSON object or NULL.
 */
void
NaboomEventAppend(int64 community_id, const int64 *incident_id,
				  const char *topic, bool is_public, const char *payload_json)
{
	Oid			argtypes[5] = {INT8OID, INT8OID, TEXTOID, BOOLOID, TEXTOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (!naboom_events_enabled || NaboomRetentionActive)
		return;
	/* A schema older than 0.4.0 (before ALTER EXTENSION UPDATE) has none. */
	if (!OidIsValid(get_relname_relid("event", get_namespace_oid("naboom", false))))
		return;
	if (!CallbackRegistered)
	{
		RegisterXactCallback(EventsXactCallback, NULL);
		CallbackRegistered = true;
	}
	NaboomSpiConnect();
	NaboomKeptPlan(&AppendPlan,
				   "INSERT INTO naboom.event (community_id, incident_id, topic, is_public, payload)"
				   " VALUES ($1, $2, $3, $4, COALESCE($5::pg_catalog.jsonb, '{}'))",
				   5, argtypes);
	args[0] = Int64GetDatum(community_id);
	if (incident_id != NULL)
		args[1] = Int64GetDatum(*incident_id);
	else
		nulls[1] = 'n';
	args[2] = CStringGetTextDatum(topic);
	args[3] = BoolGetDatum(is_public);
	if (payload_json != NULL)
		args[4] = CStringGetTextDatum(payload_json);
	else
		nulls[4] = 'n';
	if (SPI_execute_plan(AppendPlan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not append to the event stream");
	SPI_finish();
	EventsWritten = true;
	if (strncmp(topic, "panic.", 6) == 0)
		PanicWritten = true;
}

/*
 * NaboomEventsMaybeWritten wakes the writer at this transaction's commit:
 * for SQL that inserts into naboom.event itself (naboom.events_written),
 * and on a Citus coordinator (citus.c), where a transaction that ran
 * naboom's API wrote its events, if any, on a worker's shard, which this
 * node's callbacks never see; the coordinator's writer publishes them.
 */
void
NaboomEventsMaybeWritten(void)
{
	if (!CallbackRegistered)
	{
		RegisterXactCallback(EventsXactCallback, NULL);
		CallbackRegistered = true;
	}
	EventsWritten = true;
}

PG_FUNCTION_INFO_V1(naboom_events_written);

/*
 * naboom.events_written() is for SQL that inserts into naboom.event itself
 * (the attachment.deleted trigger, which must write during retention and
 * erasure too): at commit the background writer is woken to publish, as
 * for events written by NaboomEventAppend.
 */
Datum
naboom_events_written(PG_FUNCTION_ARGS)
{
	NaboomEventsMaybeWritten();
	PG_RETURN_VOID();
}

/*
 * NotifyEvent sends the small announcement of one published event: ids and
 * topic, never content (far below NOTIFY's 8000-byte limit); panics also on
 * their own channel.
 */
static void
NotifyEvent(int64 seq, const char *topic, const char *slug, const char *reference)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"id\":" INT64_FORMAT ",\"topic\":", seq);
	escape_json(&buf, topic);
	appendStringInfoString(&buf, ",\"community\":");
	escape_json(&buf, slug);
	appendStringInfoString(&buf, ",\"reference\":");
	if (reference != NULL)
		escape_json(&buf, reference);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoChar(&buf, '}');
	Async_Notify("naboom_events", buf.data);
	if (strncmp(topic, "panic.", 6) == 0)
		Async_Notify("naboom_panic", buf.data);
}

/* A published event: its stream number and its row in the SPI result. */
typedef struct PublishedEvent
{
	int64		seq;
	uint64		row;
} PublishedEvent;

static int
ComparePublished(const void *a, const void *b)
{
	int64		x = ((const PublishedEvent *) a)->seq;
	int64		y = ((const PublishedEvent *) b)->seq;

	return (x > y) - (x < y);
}

/*
 * NaboomEventsForgetPlans drops the kept plans after an error in the
 * background writer (a failed plan may refer to dropped objects).
 */
void
NaboomEventsForgetPlans(void)
{
	NaboomForgetPlan(&PublishPlan);
	NaboomForgetPlan(&PublishPlanHorizon);
}

/*
 * The publisher's statement; highest is the highest number handed out so far.
 */
#define PUBLISH_SQL(highest) \
	"WITH pending AS (" \
	"  SELECT e.event_id FROM naboom.event e WHERE e.seq IS NULL" \
	"  ORDER BY e.event_id LIMIT $1 FOR UPDATE)," \
	" numbered AS (" \
	"  SELECT p.event_id, " highest \
	"   OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER (ORDER BY p.event_id) AS seq" \
	"  FROM pending p)" \
	" UPDATE naboom.event e SET seq = n.seq, published_at = pg_catalog.clock_timestamp()" \
	" FROM numbered n, naboom.community c" \
	" WHERE e.event_id OPERATOR(pg_catalog.=) n.event_id" \
	"  AND c.community_id OPERATOR(pg_catalog.=) e.community_id" \
	" RETURNING e.seq, e.topic, c.slug," \
	"  (SELECT i.reference FROM naboom.incident i" \
	"   WHERE i.community_id OPERATOR(pg_catalog.=) e.community_id" \
	"   AND i.incident_id OPERATOR(pg_catalog.=) e.incident_id)"

/*
 * On a Citus cluster (naboom.distribute), naboom.event is distributed by
 * community_id and each community's events sit in one shard on one node:
 * the stream is per community (README, "Citus").  The publisher runs on the
 * coordinator only (a worker's writer leaves them: a worker's query on
 * naboom.event would be a distributed query of its own, and the numbers of
 * one community must come from one place).  For each community with
 * committed, unpublished events it numbers them in one statement Citus
 * routes to that community's shard: max + 1 of the community, in event_id
 * order, under the publisher's lock as on a single node.  A consumer reads
 * one community's stream from one node, in one snapshot, so what holds on a
 * single node holds per community: numbers only for committed events,
 * handed out in the order they became visible, none skipped.
 *
 * The highest number each community has been given is also kept on the
 * coordinator (naboom.event_position, a local table) and numbering
 * continues above it, so a number is never handed out twice even after
 * retention deleted all of a community's events on its worker (whose
 * event_horizon the coordinator cannot see).
 */
typedef enum EventsPlacement
{
	EVENTS_LOCAL,				/* a single node, or a Citus cluster before distribute() */
	EVENTS_COORDINATOR,			/* distributed, and this is the coordinator */
	EVENTS_WORKER				/* distributed, and this is a worker */
} EventsPlacement;

/* EventsPlacementHere tells where this node stands (citus.c). */
static EventsPlacement
EventsPlacementHere(void)
{
	int			group = NaboomCitusGroup();

	return group < 0 ? EVENTS_LOCAL : group == 0 ? EVENTS_COORDINATOR : EVENTS_WORKER;
}

/*
 * PublishCommunity numbers up to max_count committed, unpublished events of
 * one community (on a cluster) and queues their NOTIFYs.  Returns how many.
 */
static int
PublishCommunity(int64 community_id, int max_count)
{
	Oid			argtypes[4] = {INT4OID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[4];
	Oid			refargtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		refargs[2];
	bool		isnull;
	int64		floor_seq = 0;
	int64		top = 0;
	uint64		i,
				n;
	SPITupleTable *numbered;
	PublishedEvent *ev;
	Datum	   *ids;
	char	   *slug;
	char	  **refs;

	/* above the highest ever given, here or (horizon) deleted on this node */
	args[0] = Int64GetDatum(community_id);
	if (SPI_execute_with_args(
			"SELECT GREATEST("
			" (SELECT p.published_through FROM naboom.event_position p"
			"  WHERE p.community_id OPERATOR(pg_catalog.=) $1),"
			" (SELECT h.deleted_through FROM naboom.event_horizon h), 0)",
			1, &argtypes[1], args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read where community " INT64_FORMAT "'s stream stands", community_id);
	floor_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* one statement, routed by Citus to the community's shard */
	args[0] = Int32GetDatum(max_count);
	args[1] = Int64GetDatum(community_id);
	args[2] = Int64GetDatum(floor_seq);
	/* (Citus refuses a volatile function in a distributed UPDATE) */
	args[3] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (SPI_execute_with_args(
			"WITH pending AS ("
			"  SELECT e.event_id FROM naboom.event e"
			"  WHERE e.community_id OPERATOR(pg_catalog.=) $2 AND e.seq IS NULL"
			"  ORDER BY e.event_id LIMIT $1 FOR UPDATE),"
			" numbered AS ("
			"  SELECT p.event_id, GREATEST((SELECT COALESCE(pg_catalog.max(x.seq), 0) FROM naboom.event x"
			"    WHERE x.community_id OPERATOR(pg_catalog.=) $2), $3)"
			"   OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER (ORDER BY p.event_id) AS seq"
			"  FROM pending p)"
			" UPDATE naboom.event e SET seq = n.seq, published_at = $4"
			" FROM numbered n"
			" WHERE e.community_id OPERATOR(pg_catalog.=) $2"
			"  AND e.event_id OPERATOR(pg_catalog.=) n.event_id"
			" RETURNING e.seq, e.topic, e.incident_id",
			4, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not publish community " INT64_FORMAT "'s events", community_id);
	n = SPI_processed;
	if (n == 0)
		return 0;
	numbered = SPI_tuptable;

	ev = palloc(sizeof(PublishedEvent) * n);
	ids = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		ev[i].seq = DatumGetInt64(SPI_getbinval(numbered->vals[i], numbered->tupdesc, 1, &isnull));
		ev[i].row = i;
		top = Max(top, ev[i].seq);
		ids[i] = SPI_getbinval(numbered->vals[i], numbered->tupdesc, 3, &isnull);
		if (isnull)
			ids[i] = Int64GetDatum(0);
	}
	qsort(ev, n, sizeof(PublishedEvent), ComparePublished);

	args[0] = Int64GetDatum(community_id);
	args[1] = Int64GetDatum(top);
	if (SPI_execute_with_args(
			"INSERT INTO naboom.event_position AS p (community_id, published_through) VALUES ($1, $2)"
			" ON CONFLICT (community_id) DO UPDATE"
			" SET published_through = GREATEST(p.published_through, EXCLUDED.published_through)",
			2, &argtypes[1], args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not keep where community " INT64_FORMAT "'s stream stands", community_id);

	/* the announcement's community and references (routed reads) */
	if (SPI_execute_with_args(
			"SELECT c.slug FROM naboom.community c WHERE c.community_id OPERATOR(pg_catalog.=) $1",
			1, &argtypes[1], args, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "community " INT64_FORMAT " is missing", community_id);
	slug = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	refargs[0] = Int64GetDatum(community_id);
	refargs[1] = PointerGetDatum(construct_array(ids, (int) n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(
			"SELECT x.id, i.reference FROM pg_catalog.unnest($2) WITH ORDINALITY x(id, k)"
			" LEFT JOIN naboom.incident i ON i.community_id OPERATOR(pg_catalog.=) $1"
			"  AND i.incident_id OPERATOR(pg_catalog.=) x.id"
			" ORDER BY x.k",
			2, refargtypes, refargs, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != n)
		elog(ERROR, "could not read the references of community " INT64_FORMAT "'s events", community_id);
	refs = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		refs[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

	for (i = 0; i < n; i++)
		NotifyEvent(ev[i].seq, SPI_getvalue(numbered->vals[ev[i].row], numbered->tupdesc, 2),
					slug, refs[ev[i].row]);
	return (int) n;
}

/*
 * PublishDistributed: NaboomPublishEvents on a Citus coordinator, community
 * by community (see above).  Returns how many it published in all.
 */
static int
PublishDistributed(int max_count)
{
	uint64		i,
				n;
	int64	   *communities;
	int			total = 0;
	bool		isnull;

	if (SPI_execute("SELECT DISTINCT e.community_id FROM naboom.event e WHERE e.seq IS NULL"
					" ORDER BY 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not find the communities with unpublished events");
	n = SPI_processed;
	communities = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
		communities[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	for (i = 0; i < n; i++)
	{
		total += PublishCommunity(communities[i], max_count);
		CHECK_FOR_INTERRUPTS();
	}
	return total;
}

/*
 * NaboomPublishEvents numbers up to max_count committed, unpublished events
 * and queues their NOTIFYs (sent when the caller's transaction commits).
 * Called inside a transaction that itself wrote events, it numbers those
 * too; that is safe because the publisher's lock is held until the caller
 * commits (no later number can be handed out before) and a rollback takes
 * the numbers and the NOTIFYs back with it.
 * Returns how many.  Runs inside a transaction, as a role that may update
 * naboom.event.
 */
int
NaboomPublishEvents(int max_count)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	uint64		i,
				n;
	SPIPlanPtr	plan;
	EventsPlacement placement;

	NaboomSpiConnect();
	placement = EventsPlacementHere();
	if (placement == EVENTS_WORKER)
	{
		/* the coordinator publishes a cluster's events */
		SPI_finish();
		return 0;
	}
	/* One publisher at a time, so seq numbers are handed out in order. */
	if (SPI_execute("SELECT pg_catalog.pg_advisory_xact_lock(7089066834011223042)", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not take the publisher's lock");
	if (placement == EVENTS_COORDINATOR)
	{
		int			total = PublishDistributed(max_count);

		SPI_finish();
		return total;
	}
	/*
	 * Numbers continue from the highest ever handed out: the highest left
	 * in the table, or the highest retention deleted (naboom.event_horizon,
	 * 0.7.0), so a number is never handed out twice even when every event
	 * has been deleted.  A schema not yet updated to 0.7.0 has no horizon.
	 */
	if (OidIsValid(get_relname_relid("event_horizon", get_namespace_oid("naboom", false))))
		plan = NaboomKeptPlan(&PublishPlanHorizon, PUBLISH_SQL(
			"GREATEST((SELECT COALESCE(pg_catalog.max(x.seq), 0) FROM naboom.event x),"
			" (SELECT h.deleted_through FROM naboom.event_horizon h))"), 1, argtypes);
	else
		plan = NaboomKeptPlan(&PublishPlan, PUBLISH_SQL(
			"(SELECT COALESCE(pg_catalog.max(x.seq), 0) FROM naboom.event x)"), 1, argtypes);
	args[0] = Int32GetDatum(max_count);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not publish events");
	n = SPI_processed;

	/* NOTIFY in stream order (RETURNING order is not guaranteed). */
	{
		PublishedEvent *ev = palloc(sizeof(PublishedEvent) * Max(n, 1));
		bool		isnull;

		for (i = 0; i < n; i++)
		{
			ev[i].seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			ev[i].row = i;
		}
		qsort(ev, n, sizeof(PublishedEvent), ComparePublished);
		for (i = 0; i < n; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[ev[i].row];
			TupleDesc	d = SPI_tuptable->tupdesc;

			NotifyEvent(ev[i].seq, SPI_getvalue(t, d, 2), SPI_getvalue(t, d, 3),
						SPI_getvalue(t, d, 4));
		}
	}
	SPI_finish();
	return (int) n;
}

/* PublishPanic's work, as the owner of naboom.event: everything committed. */
static void
PublishAll(void *arg)
{
	while (NaboomPublishEvents(1000) >= 1000)
		CHECK_FOR_INTERRUPTS();
}

/*
 * PublishPanic runs just before a transaction that wrote a panic event
 * commits (see the file header): it numbers and announces, in this
 * transaction, every committed event not yet published and this
 * transaction's own.  The lock it takes is released only after the commit.
 * Anything that fails rolls back its subtransaction only: the events are
 * then left to the publisher, which the commit wakes as for any writer.
 * A lock wait here is a wait like any other: statement_timeout, lock_timeout
 * and the deadlock detector end it, and the events go to the publisher.
 */
static void
PublishPanic(void)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	if (!naboom_panic_publish || IsolationUsesXactSnapshot() || IsInParallelMode())
		return;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		Oid			relid = get_relname_relid("event", get_namespace_oid("naboom", false));
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		Oid			owner;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "naboom.event is missing");
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);

		PushActiveSnapshot(GetTransactionSnapshot());
		NaboomRunAsOwner(owner, PublishAll, NULL);
		PopActiveSnapshot();

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		NaboomEventsForgetPlans();
		ereport(LOG,
				(errmsg("naboom: a panic's events are left to the publisher"),
				 errdetail("Publishing them in the panic's own transaction failed: %s",
						   edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(naboom_publish_events);

/*
 * naboom.publish_events(max_count): NaboomPublishEvents for pg_cron, tests
 * and installations without the background writer.
 */
Datum
naboom_publish_events(PG_FUNCTION_ARGS)
{
	int			max_count = PG_GETARG_INT32(0);

	if (max_count < 1 || max_count > 1000000)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_count",
						("max_count must be between 1 and 1000000"),
						("Use e.g. 10000."),
						"It is %d.", max_count);
	PG_RETURN_INT32(NaboomPublishEvents(max_count));
}

PG_FUNCTION_INFO_V1(naboom_append_event);

/*
 * naboom.append_event(community_id, incident_id, topic, is_public, payload):
 * NaboomEventAppend for naboom's SQL functions (forwarding), so their events
 * wake the publisher at commit like the triggers' do.
 */
Datum
naboom_append_event(PG_FUNCTION_ARGS)
{
	int64		incident_id;
	char	   *payload = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		elog(ERROR, "naboom.append_event needs a community, a topic and is_public");
	if (!PG_ARGISNULL(1))
		incident_id = PG_GETARG_INT64(1);
	if (!PG_ARGISNULL(4))
		payload = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(4)));
	NaboomEventAppend(PG_GETARG_INT64(0), PG_ARGISNULL(1) ? NULL : &incident_id,
					  text_to_cstring(PG_GETARG_TEXT_PP(2)), PG_GETARG_BOOL(3), payload);
	PG_RETURN_VOID();
}
