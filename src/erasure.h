/*-------------------------------------------------------------------------
 *
 * erasure.h
 *	  Anonymising members (erasure.c): the right to erasure, and the
 *	  personal_data class of retention.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_ERASURE_H
#define NABOOM_ERASURE_H

#include "datatype/timestamp.h"

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
	int64		attachments;	/* attachments they added */
	int64		holds_detached;	/* holds they placed or lifted */
	int64		members_deleted;
	int64		members_kept;	/* kept (name and phone gone) for a legal hold */
	int64		audit_rows;		/* audit rows anonymised */
	int64		incidents_held; /* incidents naming them under legal hold */
} NaboomErasure;

extern void NaboomAnonymiseMembers(Datum communities, Datum user_refs, TimestampTz as_of,
								   bool with_audit, NaboomErasure *out);

#endif							/* NABOOM_ERASURE_H */
