/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  naboom's background writer: it drains the audit ring into
 *	  naboom.audit_log and publishes the event stream, in the database
 *	  naboom.writer_database names.
 *
 * One background worker, "naboom audit writer", connected to
 * naboom.writer_database, sleeps on its latch.  Producers set it: a
 * backend that queued an audit entry (audit_queue.c), a transaction that
 * wrote events and committed (events.c).  Each wake-up it
 *
 * - takes entries out of the ring in the order they were queued, up to
 *	 AUDIT_BATCH_MAX at a time, and writes each batch through
 *	 naboom.audit_insert_queued(jsonb) in a transaction of its own;
 * - numbers and announces the committed events (NaboomPublishEvents).
 *
 * What this guarantees, with the ring's own guarantees (audit_queue.c):
 *
 * - The writer also polls each second, so an entry reaches
 *	 naboom.audit_log within about a second, in enqueue order.
 * - On a smart or fast shutdown the writer drains the ring before it
 *	 exits.
 * - Entries from a database other than the writer's cannot be written;
 *	 they are dropped and counted (dropped_other_db).  A batch whose
 *	 transaction fails is written again entry by entry; an entry that
 *	 still fails goes to the server log, with its error.
 *
 * naboom.writer_database was called naboom.audit_database before 0.5.1;
 * the old name still works for one release (NaboomWriterInit).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit_queue.h"
#include "citus.h"
#include "events.h"
#include "spi_util.h"
#include "writer.h"

/* Entries the writer takes out of the ring per transaction. */
#define AUDIT_BATCH_MAX 100

/* How long the writer sleeps when nobody wakes it, in milliseconds. */
#define AUDIT_POLL_MS 1000L

/* The database the writer serves when neither setting names one. */
#define DEFAULT_WRITER_DATABASE "postgres"

/* Fully qualified: the writer must not depend on its search_path. */
#define AUDIT_INSERT_SQL \
	"SELECT naboom.audit_insert_queued($1::pg_catalog.jsonb)"

/* naboom.writer_database and its deprecated alias naboom.audit_database. */
char	   *naboom_writer_database = NULL;
char	   *naboom_audit_database = NULL;

/* Writer state. */
static volatile sig_atomic_t got_sigterm = false;
static SPIPlanPtr InsertPlan = NULL;

PGDLLEXPORT void naboom_audit_writer_main(Datum main_arg);


/* ---------- setup (postmaster) ---------- */

/*
 * NaboomWriterDatabase is the database the writer serves: the new setting
 * when it is set, else the deprecated alias, else "postgres".  (Both are
 * server-start settings, NULL while unset.)
 */
const char *
NaboomWriterDatabase(void)
{
	if (naboom_writer_database != NULL)
		return naboom_writer_database;
	if (naboom_audit_database != NULL)
		return naboom_audit_database;
	return DEFAULT_WRITER_DATABASE;
}

/* Say once, at server start, that the old name is deprecated. */
static void
WarnDeprecatedSetting(void)
{
	if (naboom_audit_database == NULL)
		return;
	if (naboom_writer_database == NULL)
		ereport(WARNING,
				(errmsg("naboom.audit_database is deprecated: use naboom.writer_database"),
				 errdetail("The background writer serves database \"%s\", as naboom.audit_database says.",
						   naboom_audit_database),
				 errhint("Rename the setting to naboom.writer_database; the old name goes in a later release.")));
	else if (strcmp(naboom_writer_database, naboom_audit_database) != 0)
		ereport(WARNING,
				(errmsg("naboom.audit_database is deprecated and ignored: naboom.writer_database is set"),
				 errdetail("The background writer serves database \"%s\" (naboom.writer_database), not \"%s\" (naboom.audit_database).",
						   naboom_writer_database, naboom_audit_database),
				 errhint("Remove naboom.audit_database.")));
	else
		ereport(WARNING,
				(errmsg("naboom.audit_database is deprecated: use naboom.writer_database"),
				 errhint("Remove naboom.audit_database; naboom.writer_database names the same database.")));
}

/*
 * One writer for the whole server, restarted 5 s after it exits, so a
 * failed connection does not spin.  It waits for the end of recovery
 * because a standby cannot write.
 */
static void
RegisterWriter(void)
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
 * NaboomWriterInit is called from _PG_init after the settings are defined.
 * The ring is sized once at postmaster start, so without
 * shared_preload_libraries there is no writer and nothing to do.
 */
void
NaboomWriterInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	WarnDeprecatedSetting();
	NaboomAuditQueueInit(NaboomWriterDatabase());
	RegisterWriter();
}


/* ---------- the writer (background worker) ---------- */

/*
 * SIGTERM only sets a flag, rather than die(), so that a batch in flight
 * commits and the ring is drained before the writer exits.
 */
static void
WriterSigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Stop backends from setting our latch once we are gone. */
static void
WriterDetach(int code, Datum arg)
{
	NaboomAuditQueueDetachWriter(MyLatch);
}

/*
 * Keep, in order, only the entries of the writer's own database: a
 * transaction can write to one database only.  The others are counted and
 * reported once per batch; the usual cause is naboom.writer_database not
 * naming the database naboom is used in.
 */
static pg_noinline int
AuditKeepOwnDatabase(NaboomAuditSlot *batch, int n)
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
			memcpy(&batch[kept], &batch[i], NaboomAuditSlotUsed(&batch[i]));
		kept++;
	}

	if (dropped > 0)
	{
		ereport(LOG,
				(errmsg_plural("naboom audit writer dropped %d audit entry from another database",
							   "naboom audit writer dropped %d audit entries from other databases",
							   dropped, dropped),
				 errdetail("The first came from the database with OID %u; the writer writes only to database \"%s\".",
						   first_other, NaboomWriterDatabase()),
				 errhint("Set naboom.writer_database to the database naboom is used in.")));
	}
	NaboomAuditQueueDone(0, 0, dropped);
	return kept;
}

/*
 * The entry goes in as text and is cast to jsonb in SQL, so a malformed
 * entry fails here, inside the batch's transaction, and not in a backend.
 */
static void
AuditInsertEntry(const char *json)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		value;
	int			rc;

	NaboomKeptPlan(&InsertPlan, AUDIT_INSERT_SQL, 1, argtypes);

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
AuditInsertBatch(NaboomAuditSlot *batch, int n)
{
	bool		installed;
	int			i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	NaboomSpiConnect();
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
						   NaboomWriterDatabase())));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	debug_query_string = NULL;
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (installed)
		NaboomAuditQueueDone(0, n, 0);
}

/*
 * Error recovery for a failed transaction: report the error and abort.
 * The kept plan is dropped so that the next batch prepares it afresh, e.g.
 * after ALTER EXTENSION naboom UPDATE created naboom.audit_insert_queued.
 * For a batch, say that its entries are tried one by one; for one entry,
 * send it to the server log, where it is kept instead (putting it back
 * would retry a poison entry forever and block every entry behind it).
 */
static void
AuditRecoverFromError(int n, const NaboomAuditSlot *one)
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

	NaboomForgetPlan(&InsertPlan);

	if (one == NULL)
		ereport(LOG,
				(errmsg("naboom audit writer could not write a batch of %d audit entries: writing them one by one", n),
				 errdetail("Writing them to naboom.audit_log failed: %s", edata->message)));
	else
		ereport(LOG,
				(errmsg("naboom audit: %s", one->data),
				 errdetail("The audit writer could not write this entry to naboom.audit_log: %s",
						   edata->message),
				 edata->sqlerrcode == ERRCODE_UNDEFINED_FUNCTION ?
				 errhint("Run ALTER EXTENSION naboom UPDATE in database \"%s\".",
						 NaboomWriterDatabase()) : 0));
	FreeErrorData(edata);
	RESUME_INTERRUPTS();
}

/*
 * Write one batch; an error costs neither the writer (which would restart
 * and fail the same way) nor the other entries of the batch: they are
 * written one by one, and an entry that still fails goes to the server
 * log.
 */
static void
AuditWriteBatch(NaboomAuditSlot *batch, int n)
{
	volatile int own = AuditKeepOwnDatabase(batch, n);
	volatile bool failed = false;
	volatile int i;

	if (own == 0)
		return;

	PG_TRY();
	{
		AuditInsertBatch(batch, own);
	}
	PG_CATCH();
	{
		AuditRecoverFromError(own, own == 1 ? &batch[0] : NULL);
		failed = true;
	}
	PG_END_TRY();

	if (!failed || own == 1)
		return;
	for (i = 0; i < own; i++)
	{
		PG_TRY();
		{
			AuditInsertBatch(&batch[i], 1);
		}
		PG_CATCH();
		{
			AuditRecoverFromError(1, &batch[i]);
		}
		PG_END_TRY();
	}
}

/*
 * Write batches until the ring is empty, but at most one ring's worth, so
 * that a steady stream of entries cannot keep the writer from its signals.
 */
static void
AuditDrain(NaboomAuditSlot *batch)
{
	int			budget = NaboomAuditQueueCapacity();
	int			n;

	while (budget > 0 && (n = NaboomAuditDequeue(batch, AUDIT_BATCH_MAX)) > 0)
	{
		AuditWriteBatch(batch, n);
		NaboomAuditQueueDone(n, 0, 0);
		budget -= n;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * InOwnTransaction runs work in a transaction of its own.  An error costs
 * nothing but a log line (and forget, if given, drops kept plans): the next
 * wake-up tries again.
 */
static void
InOwnTransaction(void (*work) (void), void (*forget) (void))
{
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (OidIsValid(get_extension_oid("naboom", true)))
			work();
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
		if (forget != NULL)
			forget();
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
}

/*
 * PublishWork numbers and announces the events committed since the last
 * call (events.c), when this database's naboom has an event stream (0.4.0
 * and later); the events of a failed call stay unpublished.
 */
static void
PublishWork(void)
{
	if (!OidIsValid(get_relname_relid("event", get_namespace_oid("naboom", true))))
		return;
	pgstat_report_activity(STATE_RUNNING, "naboom: publishing events");
	while (NaboomPublishEvents(1000) >= 1000)
		CHECK_FOR_INTERRUPTS();
}

/*
 * NumberAuditWork gives the committed audit rows of a distributed naboom's
 * communities their positions (naboom.number_audit), on the coordinator;
 * elsewhere it does nothing.  After a failed call the rows wait for the
 * next.
 */
static void
NumberAuditWork(void)
{
	bool		coordinator;

	NaboomSpiConnect();
	coordinator = NaboomCitusGroup() == 0 &&
		SPI_execute("SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname OPERATOR(pg_catalog.=) 'number_audit'"
					" AND p.pronamespace OPERATOR(pg_catalog.=) 'naboom'::pg_catalog.regnamespace",
					true, 0) == SPI_OK_SELECT && SPI_processed == 1;
	if (coordinator)
	{
		pgstat_report_activity(STATE_RUNNING, "naboom: numbering audit rows");
		if (SPI_execute("SELECT naboom.number_audit()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not number the audit rows");
	}
	SPI_finish();
}

static void
WriterPublish(void)
{
	InOwnTransaction(PublishWork, NaboomEventsForgetPlans);
}

/*
 * WriterNumberAudit: NumberAuditWork at most once a poll interval (always
 * at shutdown).  The writer is woken at every API commit on a Citus
 * coordinator, and each numbering asks every shard of the log first;
 * positions a second late cost nothing (the seals follow them).
 */
static void
WriterNumberAudit(bool always)
{
	static TimestampTz last = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (!always && last != 0 && !TimestampDifferenceExceeds(last, now, (int) AUDIT_POLL_MS))
		return;
	last = now;
	InOwnTransaction(NumberAuditWork, NULL);
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
	NaboomAuditSlot *batch;

	pqsignal(SIGTERM, WriterSigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	if (!NaboomAuditQueueAvailable())
		elog(FATAL, "naboom audit queue is not in shared memory");

	BackgroundWorkerInitializeConnection(NaboomWriterDatabase(), NULL, 0);
	batch = MemoryContextAlloc(TopMemoryContext,
							   AUDIT_BATCH_MAX * sizeof(NaboomAuditSlot));

	before_shmem_exit(WriterDetach, (Datum) 0);
	NaboomAuditQueueAttachWriter(MyLatch, MyDatabaseId);

	ereport(LOG,
			(errmsg("naboom audit writer started for database \"%s\"",
					NaboomWriterDatabase())));

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
		WriterNumberAudit(false);
	}

	AuditDrain(batch);
	WriterPublish();
	WriterNumberAudit(true);
	proc_exit(1);
}
