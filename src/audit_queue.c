/*-------------------------------------------------------------------------
 *
 * audit_queue.c
 *	  Audit entries of refused attempts, carried out of the refused
 *	  transaction through shared memory and written by a background worker.
 *
 * naboom audits refused attempts (forbidden access, illegal transitions).
 * The transaction that made the attempt rolls back, and everything it
 * wrote with it, so the audit row cannot be inserted there.  Instead the
 * backend copies the entry (a JSON object) and its database OID into a
 * ring in shared memory and then raises its error.  A background worker,
 * "naboom audit writer", connected to naboom.audit_database, takes entries
 * out in the order they were queued, up to AUDIT_BATCH_MAX at a time, and
 * writes each batch through naboom.audit_insert_queued(jsonb) in a
 * transaction of its own.
 *
 * What this guarantees:
 *
 * - A refused attempt is in the ring before its error is raised.
 *	 Enqueueing holds a lock only for a memcpy, never raises an error and
 *	 never allocates, so it cannot itself fail on the way to the error.
 * - Every enqueue sets the writer's latch, and the writer also polls each
 *	 second, so an entry reaches naboom.audit_log within about a second,
 *	 in enqueue order, in the writer's own transaction.
 * - The ring is not durable: entries still in it are lost if the server
 *	 crashes or is stopped in immediate mode.  The fallback is the server
 *	 log line the caller writes, which it does only for an entry that could
 *	 not be queued.  On a smart or fast shutdown the writer drains the ring
 *	 before it exits.
 * - A full ring drops the new entry and counts it (dropped_full); the
 *	 caller sees false and logs the entry.  Entries from a database other
 *	 than naboom.audit_database cannot be written by this writer; they are
 *	 dropped and counted (dropped_other_db).  A batch whose transaction
 *	 fails is lost, with its error and its size in the server log.
 *
 * All of this needs naboom in shared_preload_libraries.  Without it there
 * is no ring and no writer: NaboomAuditEnqueue returns false and the
 * caller writes the entry to the server log only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit_queue.h"
#include "events.h"

/* Entries the writer takes out of the ring per transaction. */
#define AUDIT_BATCH_MAX 100

/* How long the writer sleeps when nobody wakes it, in milliseconds. */
#define AUDIT_POLL_MS 1000L

#define AUDIT_TRANCHE "naboom_audit_queue"

/* Fully qualified: the writer must not depend on its search_path. */
#define AUDIT_INSERT_SQL \
	"SELECT naboom.audit_insert_queued($1::pg_catalog.jsonb)"

/* One queued entry; the writer's batch uses the same layout. */
typedef struct AuditSlot
{
	Oid			dbid;			/* database of the refused attempt */
	int			len;			/* strlen(data) */
	char		data[NABOOM_AUDIT_ENTRY_MAX];
} AuditSlot;

/* Bytes of a slot that are in use: header, text and its NUL. */
#define AuditSlotUsed(slot) (offsetof(AuditSlot, data) + (slot)->len + 1)

/*
 * The ring.  The lock protects the ring and writer_latch; the counters are
 * atomics so that the writer and monitoring need not take it.
 */
typedef struct AuditQueueShared
{
	LWLock	   *lock;
	Latch	   *writer_latch;	/* NULL while the writer is not running */
	Oid			writer_db;		/* its database once it has connected */
	int			capacity;		/* naboom.audit_queue_size at startup */
	int			head;			/* oldest entry, next to be written */
	int			tail;			/* next free slot */
	int			count;			/* entries waiting */
	pg_atomic_uint64 written;
	pg_atomic_uint64 dropped_full;
	pg_atomic_uint64 dropped_other_db;
	pg_atomic_uint64 enqueued;	/* entries ever queued (under the lock) */
	pg_atomic_uint64 finished;	/* of those, handled: committed or lost */
	AuditSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} AuditQueueShared;

/* naboom.audit_database and naboom.audit_queue_size */
static char *naboom_audit_database = NULL;
static int	naboom_audit_queue_size = 4096;

static AuditQueueShared *AuditQueue = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Writer state. */
static volatile sig_atomic_t got_sigterm = false;
static SPIPlanPtr InsertPlan = NULL;

PGDLLEXPORT void naboom_audit_writer_main(Datum main_arg);


/* ---------- setup (postmaster) ---------- */

/*
 * An empty name would only surface later, as the writer failing to
 * connect every few seconds; refuse it when the setting is read.
 */
static bool
CheckAuditDatabase(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("naboom.audit_database must name a database.");
		return false;
	}
	return true;
}

static void
DefineAuditSettings(void)
{
	DefineCustomStringVariable("naboom.audit_database",
							   "Database whose naboom.audit_log the audit writer fills.",
							   "Refused attempts audited in other databases are dropped and counted.",
							   &naboom_audit_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   CheckAuditDatabase, NULL, NULL);

	DefineCustomIntVariable("naboom.audit_queue_size",
							"Audit entries the shared queue holds before new ones are dropped.",
							"Each entry takes about 2 kB of shared memory.",
							&naboom_audit_queue_size,
							4096, 16, 65536,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

static Size
AuditQueueShmemSize(void)
{
	return add_size(offsetof(AuditQueueShared, slots),
					mul_size(naboom_audit_queue_size, sizeof(AuditSlot)));
}

/*
 * PG15 accepts requests for shared memory and LWLocks only from
 * shmem_request_hook.
 */
static void
AuditQueueShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(AuditQueueShmemSize());
	RequestNamedLWLockTranche(AUDIT_TRANCHE, 1);
}

/*
 * Create the ring, or attach to it (EXEC_BACKEND children run this too,
 * hence the "found" test).
 */
static void
AuditQueueShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	AuditQueue = ShmemInitStruct("naboom audit queue",
								 AuditQueueShmemSize(), &found);
	if (!found)
	{
		AuditQueue->lock = &(GetNamedLWLockTranche(AUDIT_TRANCHE))->lock;
		AuditQueue->writer_latch = NULL;
		AuditQueue->writer_db = InvalidOid;
		AuditQueue->capacity = naboom_audit_queue_size;
		AuditQueue->head = 0;
		AuditQueue->tail = 0;
		AuditQueue->count = 0;
		pg_atomic_init_u64(&AuditQueue->written, 0);
		pg_atomic_init_u64(&AuditQueue->dropped_full, 0);
		pg_atomic_init_u64(&AuditQueue->dropped_other_db, 0);
		pg_atomic_init_u64(&AuditQueue->enqueued, 0);
		pg_atomic_init_u64(&AuditQueue->finished, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * One writer for the whole server, restarted 5 s after it exits, so a
 * failed connection does not spin.  It waits for the end of recovery
 * because a standby cannot write.
 */
static void
RegisterAuditWriter(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "naboom", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "naboom_audit_writer_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "naboom audit writer", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "naboom audit writer", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/*
 * NaboomAuditQueueInit is called from _PG_init, before
 * MarkGUCPrefixReserved.  The ring is sized once at postmaster start, so
 * without shared_preload_libraries there is nothing to do.
 */
void
NaboomAuditQueueInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineAuditSettings();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AuditQueueShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AuditQueueShmemStartup;

	RegisterAuditWriter();
}


/* ---------- producers and monitoring (any backend) ---------- */

bool
NaboomAuditQueueAvailable(void)
{
	return AuditQueue != NULL;
}

/*
 * NaboomAuditEnqueue runs just before the caller raises its error, so it
 * must not fail or allocate (but for the database name, looked up once per
 * backend, before the lock): it only checks, copies under the lock, and
 * sets the writer's latch after releasing the lock.  A latch pointer read
 * just before the writer exits is still a valid PGPROC latch; setting it
 * then is a harmless spurious wakeup.
 */
/*
 * IsWriterDatabase says whether this backend's database is the one named
 * by naboom.audit_database, for the moments before the writer has
 * connected (at start, or after a restart).  Looked up once per backend.
 */
static bool
IsWriterDatabase(void)
{
	static int	is_writer = -1;

	if (is_writer < 0)
	{
		char	   *name = OidIsValid(MyDatabaseId) ? get_database_name(MyDatabaseId) : NULL;

		is_writer = name != NULL && naboom_audit_database != NULL &&
			strcmp(name, naboom_audit_database) == 0;
	}
	return is_writer == 1;
}

bool
NaboomAuditEnqueue(const char *entry_json)
{
	size_t		len;
	AuditSlot  *slot;
	Latch	   *writer;
	Oid			writer_db;
	bool		queued = false;

	if (AuditQueue == NULL || entry_json == NULL)
		return false;
	len = strnlen(entry_json, NABOOM_AUDIT_ENTRY_MAX);
	if (len >= NABOOM_AUDIT_ENTRY_MAX)
		return false;

	/*
	 * On a standby nothing drains the ring until a promotion that may never
	 * come; the server log is the better place for these entries.
	 */
	if (RecoveryInProgress())
		return false;

	/*
	 * The writer can write only to its own database: an entry from another
	 * one is refused here, so the caller keeps it in its own transaction or
	 * the server log instead of losing it.  (writer_db is read without the
	 * lock: an Oid read is atomic, and a stale value only picks the name
	 * check instead.)
	 */
	writer_db = AuditQueue->writer_db;
	if (OidIsValid(writer_db) ? writer_db != MyDatabaseId : !IsWriterDatabase())
		return false;

	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	if (AuditQueue->count < AuditQueue->capacity)
	{
		slot = &AuditQueue->slots[AuditQueue->tail];
		slot->dbid = MyDatabaseId;
		slot->len = (int) len;
		memcpy(slot->data, entry_json, len + 1);
		AuditQueue->tail = (AuditQueue->tail + 1) % AuditQueue->capacity;
		AuditQueue->count++;
		pg_atomic_fetch_add_u64(&AuditQueue->enqueued, 1);
		queued = true;
	}
	writer = AuditQueue->writer_latch;
	LWLockRelease(AuditQueue->lock);

	if (writer != NULL)
		SetLatch(writer);
	if (!queued)
		pg_atomic_fetch_add_u64(&AuditQueue->dropped_full, 1);
	return queued;
}

void
NaboomAuditQueueStats(int64 *written, int64 *dropped_full,
					  int64 *dropped_other_db, int *pending)
{
	if (AuditQueue == NULL)
	{
		*written = 0;
		*dropped_full = 0;
		*dropped_other_db = 0;
		*pending = 0;
		return;
	}

	*written = (int64) pg_atomic_read_u64(&AuditQueue->written);
	*dropped_full = (int64) pg_atomic_read_u64(&AuditQueue->dropped_full);
	*dropped_other_db = (int64) pg_atomic_read_u64(&AuditQueue->dropped_other_db);

	LWLockAcquire(AuditQueue->lock, LW_SHARED);
	*pending = AuditQueue->count;
	LWLockRelease(AuditQueue->lock);
}

/*
 * naboom.audit_queue_stats() reports the counters, so that monitoring can
 * tell a server that is losing audit entries from one that is not.  Without
 * preloading it says so and reports zeros.
 */
PG_FUNCTION_INFO_V1(naboom_audit_queue_stats);

Datum
naboom_audit_queue_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int64		written;
	int64		dropped_full;
	int64		dropped_other_db;
	int			pending;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	NaboomAuditQueueStats(&written, &dropped_full, &dropped_other_db, &pending);
	values[0] = BoolGetDatum(NaboomAuditQueueAvailable());
	values[1] = Int32GetDatum(pending);
	values[2] = Int64GetDatum(written);
	values[3] = Int64GetDatum(dropped_full);
	values[4] = Int64GetDatum(dropped_other_db);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}


/* ---------- the writer (background worker) ---------- */

/*
 * SIGTERM only sets a flag, rather than die(), so that a batch in flight
 * commits and the ring is drained before the writer exits.
 */
static void
AuditWriterSigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Stop backends from setting our latch once we are gone. */
static void
AuditWriterDetach(int code, Datum arg)
{
	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	if (AuditQueue->writer_latch == MyLatch)
		AuditQueue->writer_latch = NULL;
	LWLockRelease(AuditQueue->lock);
}

/*
 * Take up to AUDIT_BATCH_MAX of the oldest entries out of the ring into
 * batch.  Copying out keeps the lock short and independent of how long the
 * transaction takes.
 */
static int
AuditPopBatch(AuditSlot *batch)
{
	int			n = 0;

	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	while (n < AUDIT_BATCH_MAX && AuditQueue->count > 0)
	{
		AuditSlot  *slot = &AuditQueue->slots[AuditQueue->head];

		memcpy(&batch[n++], slot, AuditSlotUsed(slot));
		AuditQueue->head = (AuditQueue->head + 1) % AuditQueue->capacity;
		AuditQueue->count--;
	}
	LWLockRelease(AuditQueue->lock);
	return n;
}

/*
 * Keep, in order, only the entries of the writer's own database: a
 * transaction can write to one database only.  The others are counted and
 * reported once per batch; the usual cause is naboom.audit_database not
 * naming the database naboom is used in.
 */
static pg_noinline int
AuditKeepOwnDatabase(AuditSlot *batch, int n)
{
	int			kept = 0;
	int			dropped = 0;
	Oid			first_other = InvalidOid;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (batch[i].dbid != MyDatabaseId)
		{
			if (dropped++ == 0)
				first_other = batch[i].dbid;
			continue;
		}
		if (kept != i)
			memcpy(&batch[kept], &batch[i], AuditSlotUsed(&batch[i]));
		kept++;
	}

	if (dropped > 0)
	{
		pg_atomic_fetch_add_u64(&AuditQueue->dropped_other_db, dropped);
		ereport(LOG,
				(errmsg_plural("naboom audit writer dropped %d audit entry from another database",
							   "naboom audit writer dropped %d audit entries from other databases",
							   dropped, dropped),
				 errdetail("The first came from the database with OID %u; the writer writes only to database \"%s\".",
						   first_other, naboom_audit_database),
				 errhint("Set naboom.audit_database to the database naboom is used in.")));
	}
	return kept;
}

static SPIPlanPtr
AuditPrepareInsert(void)
{
	Oid			argtypes[1] = {TEXTOID};
	SPIPlanPtr	plan;

	plan = SPI_prepare(AUDIT_INSERT_SQL, 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 AUDIT_INSERT_SQL, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * The entry goes in as text and is cast to jsonb in SQL, so a malformed
 * entry fails here, inside the batch's transaction, and not in a backend.
 */
static void
AuditInsertEntry(const char *json)
{
	Datum		value;
	int			rc;

	if (InsertPlan == NULL)
		InsertPlan = AuditPrepareInsert();

	value = CStringGetTextDatum(json);
	rc = SPI_execute_plan(InsertPlan, &value, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan returned %s for \"%s\"",
			 SPI_result_code_string(rc), AUDIT_INSERT_SQL);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Write the batch in one transaction, in order.  If naboom is not installed
 * in this database there is no table to write to: the batch is lost and
 * said so once, rather than failing on every entry.
 */
static void
AuditInsertBatch(AuditSlot *batch, int n)
{
	bool		installed;
	int			i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	debug_query_string = AUDIT_INSERT_SQL;
	pgstat_report_activity(STATE_RUNNING, AUDIT_INSERT_SQL);

	installed = OidIsValid(get_extension_oid("naboom", true));
	if (installed)
	{
		/*
		 * The entries were in volatile shared memory until now, so an
		 * asynchronous commit gives up nothing the ring had not: it only
		 * stops the writer waiting for a WAL flush per batch under load.
		 */
		if (SPI_execute("SET LOCAL synchronous_commit = off", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not set synchronous_commit for the audit batch");
		for (i = 0; i < n; i++)
			AuditInsertEntry(batch[i].data);
	}
	else
		ereport(LOG,
				(errmsg_plural("naboom audit writer lost %d audit entry",
							   "naboom audit writer lost %d audit entries",
							   n, n),
				 errdetail("The naboom extension is not installed in database \"%s\".",
						   naboom_audit_database)));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	debug_query_string = NULL;
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (installed)
		pg_atomic_fetch_add_u64(&AuditQueue->written, n);
}

/*
 * Error recovery for a failed batch: report the error, abort, and say how
 * many entries were lost.  Putting them back would retry a poison entry
 * forever and block every entry behind it.  The kept plan is dropped so
 * that the next batch prepares it afresh, e.g. after ALTER EXTENSION
 * naboom UPDATE created naboom.audit_insert_queued.
 */
static void
AuditRecoverFromError(int n)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(TopMemoryContext);
	EmitErrorReport();
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);

	if (InsertPlan != NULL)
	{
		SPI_freeplan(InsertPlan);
		InsertPlan = NULL;
	}

	ereport(LOG,
			(errmsg_plural("naboom audit writer lost %d audit entry",
						   "naboom audit writer lost %d audit entries",
						   n, n),
			 errdetail("Writing them to naboom.audit_log failed: %s",
					   edata->message),
			 edata->sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ?
			 errhint("Run ALTER EXTENSION naboom UPDATE in database \"%s\".",
					 naboom_audit_database) : 0));
	FreeErrorData(edata);
	RESUME_INTERRUPTS();
}

/*
 * Write one batch; an error costs the batch, never the writer, which
 * would otherwise restart and lose the same way.
 */
static void
AuditWriteBatch(AuditSlot *batch, int n)
{
	volatile int own = AuditKeepOwnDatabase(batch, n);

	if (own == 0)
		return;

	PG_TRY();
	{
		AuditInsertBatch(batch, own);
	}
	PG_CATCH();
	{
		AuditRecoverFromError(own);
	}
	PG_END_TRY();
}

/*
 * Write batches until the ring is empty, but at most one ring's worth, so
 * that a steady stream of entries cannot keep the writer from its signals.
 */
static void
AuditDrain(AuditSlot *batch)
{
	int			budget = AuditQueue->capacity;
	int			n;

	while (budget > 0 && (n = AuditPopBatch(batch)) > 0)
	{
		AuditWriteBatch(batch, n);
		pg_atomic_fetch_add_u64(&AuditQueue->finished, n);
		budget -= n;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * WriterPublish numbers and announces the events committed since the last
 * call (events.c), in its own transaction, when this database's naboom has
 * an event stream (0.4.0 and later).  An error costs nothing but a log
 * line: the events stay unpublished and the next wake-up tries again.
 */
static void
WriterPublish(void)
{
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (OidIsValid(get_extension_oid("naboom", true)) &&
			OidIsValid(get_relname_relid("event", get_namespace_oid("naboom", true))))
		{
			pgstat_report_activity(STATE_RUNNING, "naboom: publishing events");
			while (NaboomPublishEvents(1000) == 1000)
				CHECK_FOR_INTERRUPTS();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		NaboomEventsForgetPlans();
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
}

/*
 * NaboomWriterWake sets the background writer's latch: a transaction that
 * wrote events has committed.  Harmless when there is no writer.
 */
void
NaboomWriterWake(void)
{
	Latch	   *writer;

	if (AuditQueue == NULL)
		return;
	writer = AuditQueue->writer_latch;
	if (writer != NULL)
		SetLatch(writer);
}

/*
 * naboom_audit_writer_main is the writer's entry point.  It publishes its
 * latch so that producers can wake it, then waits and drains until
 * SIGTERM; a last drain writes what was queued during shutdown.  It exits
 * with 1 so that the postmaster restarts it after pg_terminate_backend.
 */
void
naboom_audit_writer_main(Datum main_arg)
{
	AuditSlot  *batch;

	pqsignal(SIGTERM, AuditWriterSigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (AuditQueue == NULL)
		elog(FATAL, "naboom audit queue is not in shared memory");

	BackgroundWorkerInitializeConnection(naboom_audit_database, NULL, 0);
	batch = MemoryContextAlloc(TopMemoryContext,
							   AUDIT_BATCH_MAX * sizeof(AuditSlot));

	before_shmem_exit(AuditWriterDetach, (Datum) 0);
	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	AuditQueue->writer_latch = MyLatch;
	AuditQueue->writer_db = MyDatabaseId;
	LWLockRelease(AuditQueue->lock);

	ereport(LOG,
			(errmsg("naboom audit writer started for database \"%s\"",
					naboom_audit_database)));

	while (!got_sigterm)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 AUDIT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		AuditDrain(batch);
		WriterPublish();
	}

	AuditDrain(batch);
	WriterPublish();
	proc_exit(1);
}

PG_FUNCTION_INFO_V1(naboom_audit_queue_wait);

/*
 * naboom.audit_queue_wait(timeout_ms): wait until the writer has handled
 * (committed, or lost and logged) every entry queued before the call, so a
 * test or a session about to read its own refusals sees them.  False on
 * timeout, or when naboom was not preloaded.
 */
Datum
naboom_audit_queue_wait(PG_FUNCTION_ARGS)
{
	int			timeout_ms = PG_GETARG_INT32(0);
	uint64		target;
	TimestampTz deadline;

	if (AuditQueue == NULL)
		PG_RETURN_BOOL(false);
	target = pg_atomic_read_u64(&AuditQueue->enqueued);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(timeout_ms, 0));
	while (pg_atomic_read_u64(&AuditQueue->finished) < target)
	{
		if (GetCurrentTimestamp() >= deadline)
			PG_RETURN_BOOL(false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_BOOL(true);
}
