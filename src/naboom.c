/*-------------------------------------------------------------------------
 *
 * naboom.c
 *	  Module magic, _PG_init and naboom's settings.
 *
 * Everything else lives in one file per concern: identity.c (claims to
 * actor), reference.c (incident references), workflow.c (the transition
 * trigger), transition_cache.c (the cached transition table) and
 * journal.c (the incident timeline), spatial.c (routing, duplicates,
 * nearest responders), alerts.c (alert fan-out), audit.c (the audit
 * trigger, reads and refusals), audit_guard.c (append-only, protected
 * triggers), audit_seal.c (seals and verification) and audit_queue.c (the
 * audit writer for entries that outlive their transaction).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "naboom.h"
#include "spatial.h"
#include "audit.h"
#include "audit_queue.h"
#include "retention.h"
#include "events.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Spatial limits (spatial.c). */
double		naboom_max_radius_m = 50000.0;
int			naboom_position_max_age = 600;
double		naboom_poor_accuracy_m = 500.0;

/* Longest free text (description, note) a person may submit, in characters. */
int			naboom_max_text_length = 4000;

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

	DefineCustomBoolVariable("naboom.audit",
							 "Write audit log entries.",
							 "Only a superuser can switch it off, e.g. for a bulk load in one session.",
							 &naboom_audit_enabled,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("naboom.events",
							 "Write domain events to the event stream.",
							 "Only a superuser can switch it off, e.g. for a bulk load in one session.",
							 &naboom_events_enabled,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.retention_batch_size",
							"What naboom.run_retention changes per transaction: incidents (with their timeline, alerts and events), notes, audit rows or events.",
							"Members go in batches of a hundredth of it. Smaller batches hold their locks for less time; larger ones finish sooner.",
							&naboom_retention_batch_size,
							10000, 100, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	/* The audit writer and its queue, when naboom is preloaded. */
	NaboomAuditQueueInit();

	MarkGUCPrefixReserved("naboom");
}
