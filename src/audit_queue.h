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
 * it to the server log.  Never raises an error and does not allocate, so
 * it is safe just before ereport(ERROR).
 */
extern bool NaboomAuditEnqueue(const char *entry_json);

/* The consumer's side, for the writer. */
extern void NaboomAuditQueueAttachWriter(Latch *latch, Oid dbid);
extern void NaboomAuditQueueDetachWriter(Latch *latch);
extern void NaboomAuditQueueWakeWriter(void);
extern int	NaboomAuditQueueCapacity(void);
extern int	NaboomAuditDequeue(NaboomAuditSlot *batch, int max);
extern void NaboomAuditQueueDone(int finished, int written, int dropped_other_db);

/*
 * Counters for monitoring: entries written to naboom.audit_log, dropped
 * because the ring was full, dropped because they came from a database
 * other than the writer's, and entries waiting.  All zero without a ring.
 */
extern void NaboomAuditQueueStats(int64 *written, int64 *dropped_full,
								  int64 *dropped_other_db, int *pending);

/*
 * Wait until every entry queued before the call is handled (written, or
 * lost and logged).  False on timeout, or without a ring.
 */
extern bool NaboomAuditQueueWait(int timeout_ms);

#endif							/* NABOOM_AUDIT_QUEUE_H */
