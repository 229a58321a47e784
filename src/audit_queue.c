/*-------------------------------------------------------------------------
 *
 * audit_queue.c
 *	  The shared-memory ring that carries audit entries out of
 *	  transactions that may roll back.
 *
 * naboom audits refused attempts (forbidden access, illegal transitions).
 * The transaction that made the attempt rolls back, and everything it
 * wrote with it, so the audit row cannot be inserted there.  Instead the
 * backend copies the entry (a JSON object) and its database OID into this
 * ring and then raises its error; the background writer (writer.c) takes
 * entries out in the order they were queued and writes them.
 *
 * What the ring guarantees:
 *
 * - An entry is in the ring before its error is raised.  Enqueueing holds
 *	 a lock only for a memcpy, never raises an error and never allocates,
 *	 so it cannot itself fail on the way to the error.
 * - Every enqueue sets the writer's latch (the writer registers it here).
 * - The ring is not durable: entries still in it are lost if the server
 *	 crashes or is stopped in immediate mode.  The fallback is the server
 *	 log line the caller writes, which it does only for an entry that could
 *	 not be queued.
 * - A refusal (NaboomAuditEnqueue) never waits: a full ring turns it away
 *	 and counts it (dropped_full); the caller logs it.
 * - A read (NaboomAuditEnqueueReads) waits for room, at most
 *	 naboom.audit_read_wait, with the writer woken; the writer broadcasts on
 *	 a condition variable each time it takes entries out.  The entries of
 *	 one read go in together, or none of them (a read larger than the whole
 *	 ring goes in ring-sized parts).  If there is still no room the caller
 *	 refuses the read and logs its entries: counted in full_waits,
 *	 dropped_full and reads_refused.  No read is ever kept only by a
 *	 transaction that may roll back.
 * - An entry from a database other than the writer's is refused, so the
 *	 caller keeps it.
 *
 * All of this needs naboom in shared_preload_libraries.  Without it there
 * is no ring: NaboomAuditEnqueue returns false and the caller writes the
 * entry to the server log only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "audit_queue.h"

#define AUDIT_TRANCHE "naboom_audit_queue"

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
	ConditionVariable space;	/* broadcast when the writer takes entries */
	pg_atomic_uint64 written;
	pg_atomic_uint64 dropped_full;
	pg_atomic_uint64 full_waits;	/* reads that found the ring full */
	pg_atomic_uint64 reads_refused; /* of them, refused after waiting */
	pg_atomic_uint64 dropped_other_db;
	pg_atomic_uint64 enqueued;	/* entries ever queued (under the lock) */
	pg_atomic_uint64 finished;	/* of those, handled: committed or lost */
	NaboomAuditSlot slots[FLEXIBLE_ARRAY_MEMBER];
} AuditQueueShared;

int			naboom_audit_queue_size = 4096;
int			naboom_audit_read_wait = 500;

/* The writer's database, by name, until the writer has connected. */
static const char *WriterDatabase = NULL;

static AuditQueueShared *AuditQueue = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;


/* ---------- setup (postmaster) ---------- */

static Size
AuditQueueShmemSize(void)
{
	return add_size(offsetof(AuditQueueShared, slots),
					mul_size(naboom_audit_queue_size, sizeof(NaboomAuditSlot)));
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
		ConditionVariableInit(&AuditQueue->space);
		pg_atomic_init_u64(&AuditQueue->written, 0);
		pg_atomic_init_u64(&AuditQueue->dropped_full, 0);
		pg_atomic_init_u64(&AuditQueue->full_waits, 0);
		pg_atomic_init_u64(&AuditQueue->reads_refused, 0);
		pg_atomic_init_u64(&AuditQueue->dropped_other_db, 0);
		pg_atomic_init_u64(&AuditQueue->enqueued, 0);
		pg_atomic_init_u64(&AuditQueue->finished, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * NaboomAuditQueueInit is called from _PG_init (through writer.c) while
 * preloading: the ring is sized once at postmaster start.
 */
void
NaboomAuditQueueInit(const char *writer_database)
{
	WriterDatabase = writer_database;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = AuditQueueShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = AuditQueueShmemStartup;
}


/* ---------- producers and monitoring (any backend) ---------- */

bool
NaboomAuditQueueAvailable(void)
{
	return AuditQueue != NULL;
}

/*
 * IsWriterDatabase says whether this backend's database is the one named
 * by naboom.writer_database, for the moments before the writer has
 * connected (at start, or after a restart).  Looked up once per backend.
 */
static bool
IsWriterDatabase(void)
{
	static int	is_writer = -1;

	if (is_writer < 0)
	{
		char	   *name = OidIsValid(MyDatabaseId) ? get_database_name(MyDatabaseId) : NULL;

		is_writer = name != NULL && WriterDatabase != NULL &&
			strcmp(name, WriterDatabase) == 0;
	}
	return is_writer == 1;
}

/*
 * WriterServesUs says whether the ring takes this backend's entries: there
 * is a ring, the server is not a standby (nothing would drain the ring
 * until a promotion that may never come; the server log is the better
 * place), and this is the writer's database (it can write only there; an
 * entry from another one is refused here, so the caller keeps it in its
 * own transaction or the server log instead of losing it).  writer_db is
 * read without the lock: an Oid read is atomic, and a stale value only
 * picks the name check instead.
 */
static bool
WriterServesUs(void)
{
	Oid			writer_db;

	if (AuditQueue == NULL || RecoveryInProgress())
		return false;
	writer_db = AuditQueue->writer_db;
	return OidIsValid(writer_db) ? writer_db == MyDatabaseId : IsWriterDatabase();
}

/* Copy one entry into the tail slot; the caller holds the lock and checked room. */
static void
PutEntry(const char *entry_json, size_t len)
{
	NaboomAuditSlot *slot = &AuditQueue->slots[AuditQueue->tail];

	slot->dbid = MyDatabaseId;
	slot->len = (int) len;
	memcpy(slot->data, entry_json, len + 1);
	AuditQueue->tail = (AuditQueue->tail + 1) % AuditQueue->capacity;
	AuditQueue->count++;
	pg_atomic_fetch_add_u64(&AuditQueue->enqueued, 1);
}

/*
 * NaboomAuditEnqueue runs just before the caller raises its error, so it
 * must not fail or allocate (but for the database name, looked up once per
 * backend, before the lock): it only checks, copies under the lock, and
 * sets the writer's latch after releasing the lock.  A latch pointer read
 * just before the writer exits is still a valid PGPROC latch; setting it
 * then is a harmless spurious wakeup.
 */
bool
NaboomAuditEnqueue(const char *entry_json)
{
	size_t		len;
	Latch	   *writer;
	bool		queued = false;

	if (entry_json == NULL || !WriterServesUs())
		return false;
	len = strnlen(entry_json, NABOOM_AUDIT_ENTRY_MAX);
	if (len >= NABOOM_AUDIT_ENTRY_MAX)
		return false;

	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	if (AuditQueue->count < AuditQueue->capacity)
	{
		PutEntry(entry_json, len);
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

/*
 * NaboomAuditEnqueueReads queues the n entries of one read (see
 * audit_queue.h).  They go in together when the ring has room for all of
 * them (a read with more entries than the ring holds goes in ring-sized
 * parts, in order).  Without room it wakes the writer and sleeps on the
 * ring's condition variable, which the writer broadcasts after taking
 * entries out, until there is room or wait_ms have passed since it first
 * found the ring full.  It may raise an error (query cancel while
 * waiting): the read then fails, which is what a read that cannot be
 * recorded must do.
 */
NaboomAuditQueueResult
NaboomAuditEnqueueReads(char *const *entries, int n, int wait_ms, int *queued)
{
	size_t	   *lens;
	int			done = 0;
	bool		waiting = false;
	TimestampTz deadline = 0;
	int			i;

	*queued = 0;
	if (n <= 0)
		return NABOOM_AUDIT_QUEUED;
	if (!WriterServesUs())
		return NABOOM_AUDIT_NO_WRITER;

	lens = palloc(sizeof(size_t) * n);
	for (i = 0; i < n; i++)
	{
		lens[i] = strnlen(entries[i], NABOOM_AUDIT_ENTRY_MAX);
		if (lens[i] >= NABOOM_AUDIT_ENTRY_MAX)
			elog(ERROR, "naboom audit entry of %zu bytes does not fit the ring", strlen(entries[i]));
	}

	while (done < n)
	{
		int			part = Min(n - done, AuditQueue->capacity);
		bool		room;
		Latch	   *writer;
		long		left;

		LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
		room = AuditQueue->capacity - AuditQueue->count >= part;
		if (room)
			for (i = done; i < done + part; i++)
				PutEntry(entries[i], lens[i]);
		writer = AuditQueue->writer_latch;
		LWLockRelease(AuditQueue->lock);
		if (writer != NULL)
			SetLatch(writer);
		if (room)
		{
			done += part;
			continue;
		}

		if (!waiting)
		{
			waiting = true;
			pg_atomic_fetch_add_u64(&AuditQueue->full_waits, 1);
			deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(wait_ms, 0));
			ConditionVariablePrepareToSleep(&AuditQueue->space);
		}
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (left <= 0)
			break;
		/* At most 100 ms at a time: a writer that was down may be back. */
		(void) ConditionVariableTimedSleep(&AuditQueue->space, Min(left, 100L),
										   PG_WAIT_EXTENSION);
	}
	if (waiting)
		ConditionVariableCancelSleep();
	pfree(lens);

	*queued = done;
	if (done == n)
		return NABOOM_AUDIT_QUEUED;
	pg_atomic_fetch_add_u64(&AuditQueue->dropped_full, n - done);
	pg_atomic_fetch_add_u64(&AuditQueue->reads_refused, 1);
	return NABOOM_AUDIT_FULL;
}

/* NaboomAuditQueueStats reads the counters (see audit_queue.h). */
void
NaboomAuditQueueStats(NaboomAuditQueueCounters *c)
{
	memset(c, 0, sizeof(*c));
	if (AuditQueue == NULL)
		return;

	c->written = (int64) pg_atomic_read_u64(&AuditQueue->written);
	c->dropped_full = (int64) pg_atomic_read_u64(&AuditQueue->dropped_full);
	c->dropped_other_db = (int64) pg_atomic_read_u64(&AuditQueue->dropped_other_db);
	c->full_waits = (int64) pg_atomic_read_u64(&AuditQueue->full_waits);
	c->reads_refused = (int64) pg_atomic_read_u64(&AuditQueue->reads_refused);

	LWLockAcquire(AuditQueue->lock, LW_SHARED);
	c->pending = AuditQueue->count;
	LWLockRelease(AuditQueue->lock);
}

/*
 * NaboomAuditQueueWriterServing says whether the writer is running and
 * attached to the ring for this backend's database (so refusals and reads
 * queued here are written, and events committed here are published), and
 * how full the ring is (*fill, 0 to 1; 0 without a ring).  For health().
 */
bool
NaboomAuditQueueWriterServing(double *fill)
{
	bool		serving;

	*fill = 0;
	if (AuditQueue == NULL)
		return false;
	LWLockAcquire(AuditQueue->lock, LW_SHARED);
	serving = AuditQueue->writer_latch != NULL && AuditQueue->writer_db == MyDatabaseId;
	*fill = (double) AuditQueue->count / AuditQueue->capacity;
	LWLockRelease(AuditQueue->lock);
	return serving;
}

/*
 * naboom.audit_queue_stats() reports the counters, so that monitoring can
 * tell a server that is losing audit entries from one that is not, and one
 * whose ring is too small (full_waits, reads_refused) from one that is
 * fine.  Without preloading it says so and reports zeros.
 */
PG_FUNCTION_INFO_V1(naboom_audit_queue_stats);

Datum
naboom_audit_queue_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	NaboomAuditQueueCounters c;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	NaboomAuditQueueStats(&c);
	values[0] = BoolGetDatum(NaboomAuditQueueAvailable());
	values[1] = Int32GetDatum(c.pending);
	values[2] = Int64GetDatum(c.written);
	values[3] = Int64GetDatum(c.dropped_full);
	values[4] = Int64GetDatum(c.dropped_other_db);
	values[5] = Int64GetDatum(c.full_waits);
	values[6] = Int64GetDatum(c.reads_refused);
	/* A database not yet updated has the first five columns only. */

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}


/* ---------- the consumer (the writer) ---------- */

/*
 * NaboomAuditQueueAttachWriter publishes the writer's latch, so producers
 * can wake it, and its database, so they know whose entries it can write.
 */
void
NaboomAuditQueueAttachWriter(Latch *latch, Oid dbid)
{
	if (AuditQueue == NULL)
		elog(FATAL, "naboom audit queue is not in shared memory");
	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	AuditQueue->writer_latch = latch;
	AuditQueue->writer_db = dbid;
	LWLockRelease(AuditQueue->lock);
}

/* Stop backends from setting the writer's latch once it is gone. */
void
NaboomAuditQueueDetachWriter(Latch *latch)
{
	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	if (AuditQueue->writer_latch == latch)
		AuditQueue->writer_latch = NULL;
	LWLockRelease(AuditQueue->lock);
}

/*
 * NaboomAuditQueueWakeWriter sets the writer's latch, e.g. when a
 * transaction that wrote events has committed.  Harmless without a writer.
 */
void
NaboomAuditQueueWakeWriter(void)
{
	Latch	   *writer;

	if (AuditQueue == NULL)
		return;
	writer = AuditQueue->writer_latch;
	if (writer != NULL)
		SetLatch(writer);
}

/* Entries the ring holds: the most the writer drains per wake-up. */
int
NaboomAuditQueueCapacity(void)
{
	return AuditQueue->capacity;
}

/*
 * NaboomAuditDequeue takes up to max of the oldest entries out of the ring
 * into batch, and wakes the reads waiting for room.  Copying out keeps the
 * lock short and independent of how long the writer's transaction takes.
 */
int
NaboomAuditDequeue(NaboomAuditSlot *batch, int max)
{
	int			n = 0;

	LWLockAcquire(AuditQueue->lock, LW_EXCLUSIVE);
	while (n < max && AuditQueue->count > 0)
	{
		NaboomAuditSlot *slot = &AuditQueue->slots[AuditQueue->head];

		memcpy(&batch[n++], slot, NaboomAuditSlotUsed(slot));
		AuditQueue->head = (AuditQueue->head + 1) % AuditQueue->capacity;
		AuditQueue->count--;
	}
	LWLockRelease(AuditQueue->lock);
	if (n > 0)
		ConditionVariableBroadcast(&AuditQueue->space);
	return n;
}

/*
 * NaboomAuditQueueDone counts what the writer did with dequeued entries:
 * finished (handled: written, or lost and logged), of them written, and
 * dropped because they came from another database.
 */
void
NaboomAuditQueueDone(int finished, int written, int dropped_other_db)
{
	pg_atomic_fetch_add_u64(&AuditQueue->written, written);
	pg_atomic_fetch_add_u64(&AuditQueue->dropped_other_db, dropped_other_db);
	pg_atomic_fetch_add_u64(&AuditQueue->finished, finished);
}

PG_FUNCTION_INFO_V1(naboom_audit_queue_wait);

/*
 * naboom.audit_queue_wait(timeout_ms): NaboomAuditQueueWait, so a test or a
 * session about to read its own refusals sees them.
 */
Datum
naboom_audit_queue_wait(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NaboomAuditQueueWait(PG_GETARG_INT32(0)));
}

/*
 * NaboomAuditQueueWait waits until the writer has handled (committed, or
 * lost and logged) every entry queued before the call.  False on timeout,
 * or when naboom was not preloaded.
 */
bool
NaboomAuditQueueWait(int timeout_ms)
{
	uint64		target;
	TimestampTz deadline;

	if (AuditQueue == NULL)
		return false;
	target = pg_atomic_read_u64(&AuditQueue->enqueued);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(timeout_ms, 0));
	while (pg_atomic_read_u64(&AuditQueue->finished) < target)
	{
		if (GetCurrentTimestamp() >= deadline)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}
