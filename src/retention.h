/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention and erasure (retention.c, erasure.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_H
#define NABOOM_RETENTION_H

#include "datatype/timestamp.h"

/*
 * True while retention or erasure changes rows: the workflow guard, the
 * journal, the event stream and the per-row audit stand aside (each batch
 * writes one audit entry of its own instead).
 */
extern bool NaboomRetentionActive;

/* naboom.retention_batch_size: rows per retention transaction. */
extern int	naboom_retention_batch_size;

/* What anonymising a set of members did. */
typedef struct NaboomErasure
{
	int64		incidents_anonymised;	/* their reports, now anonymous */
	int64		incidents_detached;	/* others' incidents they were named on */
	int64		timeline_entries;	/* their timeline entries, actor and text gone */
	int64		alerts;
	int64		subscriptions;
	int64		positions;
	int64		rate_counters;
	int64		deleted_notes;
	int64		holds_detached;	/* holds they placed or lifted */
	int64		members_deleted;
	int64		members_kept;	/* kept (name and phone gone) for a legal hold */
	int64		audit_rows;		/* audit rows anonymised */
	int64		incidents_held; /* incidents naming them under legal hold */
} NaboomErasure;

extern void NaboomAnonymiseMembers(Datum communities, Datum user_refs, TimestampTz as_of,
								   bool with_audit, NaboomErasure *out);
extern void NaboomWriteErasedEntry(const char *detail_json);


#endif							/* NABOOM_RETENTION_H */

/*
 * The SET list that anonymises an audit row (alias a): the digest of its
 * personal fields is kept so its format-2 seal hash is unchanged.
 */
#define NABOOM_AUDIT_REDACT_SET \
	" personal_digest = coalesce(a.personal_digest, naboom.audit_personal_digest(a))," \
	" row_key = naboom.audit_redact_json(a.row_key)," \
	" old_values = naboom.audit_redact_json(a.old_values)," \
	" new_values = naboom.audit_redact_json(a.new_values)," \
	" detail = naboom.audit_redact_json(a.detail)," \
	" actor = NULL, client_addr = NULL, user_agent = NULL, request_id = NULL"
