/*-------------------------------------------------------------------------
 *
 * activity.c
 *	  A member's activity seen in a read-only transaction, handed to the
 *	  background writer to record.
 *
 * Personal data expires some years after a member's last activity
 * (naboom.member.last_active_at), which naboom.touch_member records at most
 * once a day.  A read-only transaction (PostgREST runs every GET that way)
 * cannot write it, so touch_member queues a "TOUCH" entry in the audit
 * writer's ring instead (audit_queue.c); the writer applies it in its own
 * transaction through naboom.audit_insert_queued, which hands it to
 * naboom.apply_member_touch.  A touch is not an audit entry: it only moves
 * last_active_at forward.
 *
 * The read path stays cheap: touch_member queues only when the member row
 * says the day's touch is due, and each backend queues a member's touch at
 * most once an hour however many reads come before the writer applies it.
 * Nothing is queued on a hot standby (its ring is never drained) or
 * without a writer for this database: such reads are not counted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit_refusal.h"

/* How long a backend waits before it queues the same member's touch again. */
#define TOUCH_REQUEUE_USECS (USECS_PER_SEC * SECS_PER_HOUR)

/* Members remembered per backend before the memory starts afresh. */
#define TOUCH_MEMORY_MAX 10000

typedef struct TouchKey
{
	int64		community_id;
	char		user_ref[256];	/* MAX_USER_REF_LEN + 1, zero-padded */
} TouchKey;

typedef struct TouchEntry
{
	TouchKey	key;
	TimestampTz queued_at;
} TouchEntry;

static HTAB *Queued = NULL;

/* The backend's memory of touches it queued, made on first use. */
static HTAB *
QueuedTouches(void)
{
	HASHCTL		ctl;

	if (Queued != NULL && hash_get_num_entries(Queued) < TOUCH_MEMORY_MAX)
		return Queued;
	if (Queued != NULL)
		hash_destroy(Queued);
	ctl.keysize = sizeof(TouchKey);
	ctl.entrysize = sizeof(TouchEntry);
	ctl.hcxt = TopMemoryContext;
	Queued = hash_create("naboom queued touches", 256, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return Queued;
}

PG_FUNCTION_INFO_V1(naboom_queue_member_touch);

/*
 * naboom.queue_member_touch(community_id, user_ref) hands the member's
 * activity to the background writer; true if it was queued now.
 */
Datum
naboom_queue_member_touch(PG_FUNCTION_ARGS)
{
	int64		community_id = PG_GETARG_INT64(0);
	char	   *user_ref = text_to_cstring(PG_GETARG_TEXT_PP(1));
	TimestampTz now = GetCurrentTimestamp();
	TouchKey	key;
	TouchEntry *entry;
	bool		found;
	StringInfoData buf;

	if (strlen(user_ref) >= sizeof(key.user_ref))
		PG_RETURN_BOOL(false);	/* no member has such a user_ref */
	memset(&key, 0, sizeof(key));
	key.community_id = community_id;
	strcpy(key.user_ref, user_ref);
	entry = hash_search(QueuedTouches(), &key, HASH_ENTER, &found);
	if (found && now - entry->queued_at < TOUCH_REQUEUE_USECS)
		PG_RETURN_BOOL(false);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	NaboomAppendJsonField(&buf, "action", "TOUCH");
	appendStringInfo(&buf, ",\"logged_at_us\":" INT64_FORMAT,
					 (int64) now + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	appendStringInfo(&buf, ",\"community_id\":" INT64_FORMAT, community_id);
	NaboomAppendJsonField(&buf, "actor", user_ref);
	appendStringInfoChar(&buf, '}');
	if (!NaboomAuditSend(buf.data))
	{
		hash_search(Queued, &key, HASH_REMOVE, NULL);
		PG_RETURN_BOOL(false);
	}
	entry->queued_at = now;
	PG_RETURN_BOOL(true);
}
