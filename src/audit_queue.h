/*-------------------------------------------------------------------------
 *
 * audit_queue.h
 *	  The shared-memory queue that carries audit entries of refused
 *	  attempts out of transactions that are about to roll back.
 *
 * A backend enqueues a JSON entry just before raising its error; the
 * "naboom audit writer" background worker writes it to naboom.audit_log in
 * its own transaction.  See audit_queue.c for the design and guarantees.
 * The queue exists only when naboom is in shared_preload_libraries.
 *
 * src/audit_queue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_QUEUE_H
#define NABOOM_AUDIT_QUEUE_H

/* Largest entry, including the terminating NUL. */
/* Wake the background writer (events committed). */
extern void NaboomWriterWake(void);

#define NABOOM_AUDIT_ENTRY_MAX 2048

/*
 * Called from _PG_init.  Does nothing unless naboom is being preloaded;
 * then defines naboom.audit_database and naboom.audit_queue_size, asks for
 * the shared memory and lock, and registers the audit writer.
 */
extern void NaboomAuditQueueInit(void);

/* true if the queue exists in this server (naboom was preloaded). */
extern bool NaboomAuditQueueAvailable(void);

/*
 * Copy entry_json (a JSON object, shorter than NABOOM_AUDIT_ENTRY_MAX
 * bytes) and MyDatabaseId into the queue and wake the writer.  Returns
 * false if the entry was not queued (no queue, too long, server in
 * recovery, queue full); the caller then writes it to the server log.
 * Never raises an error and does not allocate, so it is safe just before
 * ereport(ERROR).
 */
extern bool NaboomAuditEnqueue(const char *entry_json);

/*
 * Counters for monitoring: entries written to naboom.audit_log, dropped
 * because the queue was full, dropped because they came from a database
 * other than naboom.audit_database, and entries waiting.  All zero when
 * the queue does not exist.
 */
extern void NaboomAuditQueueStats(int64 *written, int64 *dropped_full,
								  int64 *dropped_other_db, int *pending);

#endif							/* NABOOM_AUDIT_QUEUE_H */
