/*-------------------------------------------------------------------------
 *
 * audit_queue.h
 *	  The shared-memory ring that carries audit entries out of
 *	  transactions that may roll back (audit_queue.c).
 *
 * A backend enqueues a JSON entry just before raising its error; the
 * background writer (writer.c) dequeues entries and writes them to
 * naboom.audit_log in its own transaction.  The ring exists only when
 * naboom is in shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_QUEUE_H
#define NABOOM_AUDIT_QUEUE_H

#include "storage/latch.h"

/* Largest entry, including the terminating NUL. */
#define NABOOM_AUDIT_ENTRY_MAX 2048

/* One queued entry; the writer's batch uses the same layout. */
typedef struct NaboomAuditSlot
{
	Oid			dbid;			/* database of the entry */
	int			len;			/* strlen(data) */
	char		data[NABOOM_AUDIT_ENTRY_MAX];
} NaboomAuditSlot;

/* Bytes of a slot that are in use: header, text and its NUL. */
#define NaboomAuditSlotUsed(slot) (offsetof(NaboomAuditSlot, data) + (slot)->len + 1)

/* naboom.audit_queue_size: entries the ring holds (server start). */
extern int	naboom_audit_queue_size;

/* naboom.audit_read_wait: how long a read waits for room, in ms. */
extern int	naboom_audit_read_wait;

/* What became of the entries of a read (NaboomAuditEnqueueReads). */
typedef enum NaboomAuditQueueResult
{
	NABOOM_AUDIT_QUEUED,		/* all of them are in the ring */
	NABOOM_AUDIT_NO_WRITER,		/* none: no ring, a standby, or another
								 * database than the writer's */
	NABOOM_AUDIT_FULL			/* the ring stayed full: not all of them */
} NaboomAuditQueueResult;

/*
 * Called from _PG_init while preloading (writer.c): ask for the shared
 * memory and lock.  writer_database is the database whose entries the
 * writer can write; entries of others are refused at enqueue.
 */
extern void NaboomAuditQueueInit(const char *writer_database);

/* true if the ring exists in this server (naboom was preloaded). */
extern bool NaboomAuditQueueAvailable(void);

/*
 * Copy entry_json (a JSON object, shorter than NABOOM_AUDIT_ENTRY_MAX
 * bytes) and MyDatabaseId into the ring and wake the writer.  Returns false
 * if the entry was not queued (no ring, too long, server in recovery,
 * another database than the writer's, ring full); the caller then writes
 * it to the server log.  Never raises an error, never waits and does not
 * allocate, so it is safe just before ereport(ERROR).  For refusals.
 */
extern bool NaboomAuditEnqueue(const char *entry_json);

/*
 * Queue the n entries of one read, waiting up to wait_ms for room if the
 * ring is full (the writer is woken).  *queued: how many went in (all or
 * none, unless n is more than the ring holds: then ring-sized parts, in
 * order).  NABOOM_AUDIT_FULL counts the read in reads_refused and the
 * entries left out in dropped_full: the caller logs them and refuses the
 * read.  Raises an error for an entry too long for a slot.
 */
extern NaboomAuditQueueResult NaboomAuditEnqueueReads(char *const *entries, int n,
													  int wait_ms, int *queued);

/* The consumer's side, for the writer. */
extern void NaboomAuditQueueAttachWriter(Latch *latch, Oid dbid);
extern void NaboomAuditQueueDetachWriter(Latch *latch);
extern void NaboomAuditQueueWakeWriter(void);
extern int	NaboomAuditQueueCapacity(void);
extern int	NaboomAuditDequeue(NaboomAuditSlot *batch, int max);
extern void NaboomAuditQueueDone(int finished, int written, int dropped_other_db);

/*
 * Counters for monitoring, all zero without a ring: entries waiting,
 * written to naboom.audit_log, turned away by a full ring (each went to the
 * server log instead), dropped because they came from a database other
 * than the writer's; reads that found the ring full and waited, and of
 * those the ones refused because it stayed full.
 */
typedef struct NaboomAuditQueueCounters
{
	int			pending;
	int64		written;
	int64		dropped_full;
	int64		dropped_other_db;
	int64		full_waits;
	int64		reads_refused;
} NaboomAuditQueueCounters;

extern void NaboomAuditQueueStats(NaboomAuditQueueCounters *counters);

/*
 * Whether the writer is attached to the ring for this database, and how
 * full the ring is (0 to 1); false and 0 without a ring.
 */
extern bool NaboomAuditQueueWriterServing(double *fill);

/*
 * Wait until every entry queued before the call is handled (written, or
 * lost and logged).  False on timeout, or without a ring.
 */
extern bool NaboomAuditQueueWait(int timeout_ms);

#endif							/* NABOOM_AUDIT_QUEUE_H */
