/*-------------------------------------------------------------------------
 *
 * naboom.c
 *	  Module magic, _PG_init and naboom's settings.
 *
 * Everything else lives in one file per concern; README.md ("Layout")
 * lists them in architecture order.  Each setting's variable lives in the
 * file that uses it; this file only registers them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "attachment.h"
#include "citus.h"
#include "audit_queue.h"
#include "audit_refusal.h"
#include "events.h"
#include "page.h"
#include "retention.h"
#include "spatial.h"
#include "validate.h"
#include "writer.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * An empty database name would only surface later, as the writer failing
 * to connect every few seconds; refuse it when the setting is read.  Unset
 * (NULL) is the default: writer.c then falls back to the other name or to
 * "postgres".
 */
static bool
CheckWriterDatabase(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] == '\0')
	{
		GUC_check_errdetail("The background writer needs the name of a database.");
		return false;
	}
	return true;
}

/* SHOW either name: the database the writer actually serves. */
static const char *
ShowWriterDatabase(void)
{
	return NaboomWriterDatabase();
}

/*
 * The background writer's settings, which size shared memory and start a
 * worker, so they exist only when naboom is preloaded.
 * naboom.audit_database is the deprecated name of naboom.writer_database,
 * kept for one release (writer.c warns when it is used).
 */
static void
DefineWriterSettings(void)
{
	DefineCustomStringVariable("naboom.writer_database",
							   "The database the background writer serves: it drains the audit ring and publishes the event stream there.",
							   "Audit entries queued in other databases are dropped and counted. Default: postgres.",
							   &naboom_writer_database,
							   NULL,
							   PGC_POSTMASTER, 0,
							   CheckWriterDatabase, NULL, ShowWriterDatabase);

	DefineCustomStringVariable("naboom.audit_database",
							   "Deprecated name of naboom.writer_database.",
							   "Used only when naboom.writer_database is not set; it goes in a later release.",
							   &naboom_audit_database,
							   NULL,
							   PGC_POSTMASTER, 0,
							   CheckWriterDatabase, NULL, ShowWriterDatabase);

	DefineCustomIntVariable("naboom.audit_queue_size",
							"Audit entries the audit writer's shared queue holds.",
							"Each entry takes about 2 kB of shared memory. When it is full, reads wait (naboom.audit_read_wait) and refusals go to the server log.",
							&naboom_audit_queue_size,
							4096, 16, 65536,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

/*
 * _PG_init registers the naboom.* settings.  Everything but the audit
 * writer works without shared_preload_libraries (the library is loaded by
 * the first call of one of its functions or triggers); preloaded, it also
 * starts the writer that records refused attempts.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("naboom.max_text_length",
							"Longest description or note a person may submit, in characters.",
							"Longer text is refused with naboom.text_too_long.",
							&naboom_max_text_length,
							4000, 100, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("naboom.max_radius_m",
							 "Largest search, subscription or responder radius a caller may ask for, in metres.",
							 "Larger radii are refused with naboom.invalid_radius.",
							 &naboom_max_radius_m,
							 50000.0, 100.0, 1000000.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.position_max_age",
							"How old a responder's last position may be for them to count as nearby.",
							"Older positions are ignored by nearest_responders and by alert fan-out.",
							&naboom_position_max_age,
							600, 10, 86400,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomRealVariable("naboom.poor_accuracy_m",
							 "Reported location accuracy, in metres, beyond which an incident's location is marked poor.",
							 "The location is kept; the incident's poor_accuracy flag is set.",
							 &naboom_poor_accuracy_m,
							 500.0, 1.0, 100000.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.max_map_features",
							"Most incidents one map (community_map_geojson, community_map_svg) shows.",
							"A map with more says so (truncated) and shows the most urgent and newest; callers may ask for fewer with max_features.",
							&naboom_max_map_features,
							1000, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	NaboomDefinePageSettings();
	NaboomDefineAttachmentSettings();
	NaboomDefineCitusSettings();

	DefineCustomBoolVariable("naboom.audit",
							 "Write audit log entries.",
							 "Only a superuser can switch it off, e.g. for a bulk load in one session.",
							 &naboom_audit_enabled,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.trusted_proxies",
							"How many proxies in front of the gateway append to X-Forwarded-For and are believed.",
							"The audit's client address is the entry that many places from the right of X-Forwarded-For; 0 ignores the header and takes the connection's peer.",
							&naboom_trusted_proxies,
							0, 0, 32,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("naboom.events",
							 "Write domain events to the event stream.",
							 "Only a superuser can switch it off, e.g. for a bulk load in one session.",
							 &naboom_events_enabled,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("naboom.panic_publish",
							 "Publish a panic's events from its own transaction, at its commit.",
							 "A transaction that wrote a panic event numbers and NOTIFYs the event stream itself instead of waiting for the background writer; off leaves it to the writer like every other event.",
							 &naboom_panic_publish,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.audit_read_wait",
							"How long a read of emergency data waits for room in a full audit queue.",
							"A read that still finds no room is refused (PT503, naboom.audit_unavailable) rather than left unrecorded; its entries go to the server log.",
							&naboom_audit_read_wait,
							500, 0, 60000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.retention_batch_size",
							"What naboom.run_retention changes per transaction: incidents (with their timeline, alerts and events), notes, audit rows or events.",
							"Members go in batches of a hundredth of it. Smaller batches hold their locks for less time; larger ones finish sooner.",
							&naboom_retention_batch_size,
							10000, 100, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.forwarding_max_attempts",
							"Delivery attempts of a forwarding before it is dead.",
							"After the last failed attempt the forwarding is dead: a forwarding.dead event and an alert to the community's moderators.",
							&naboom_forwarding_max_attempts,
							8, 1, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.forwarding_backoff",
							"Wait after a forwarding's first failed attempt; it doubles with every further one.",
							"At most 6 hours; an authority's Retry-After (forwarding_failed's retry_after) wins when it is later.",
							&naboom_forwarding_backoff,
							30000, 0, 21600000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("naboom.acting_authority",
							   "Set by authority_update while it moves an incident as an authority.",
							   "The workflow trigger then lets the service make only the transitions whose allowed contains authority. It never widens anyone's rights.",
							   &naboom_acting_authority,
							   "",
							   PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);

	/* The background writer and its audit ring, when naboom is preloaded. */
	if (process_shared_preload_libraries_in_progress)
		DefineWriterSettings();
	NaboomWriterInit();

	MarkGUCPrefixReserved("naboom");
}
