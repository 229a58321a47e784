/*-------------------------------------------------------------------------
 *
 * timeline.h
 *	  The incident timeline (timeline.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_TIMELINE_H
#define NABOOM_TIMELINE_H

/*
 * Add one entry to an incident's timeline.  The caller holds the incident's
 * row lock and runs as a role that may write the timeline.
 */
extern void NaboomTimelineAppend(int64 community_id, int64 incident_id,
								 const char *actor_ref, const char *kind,
								 const char *from_status, const char *to_status,
								 const char *note, bool is_public,
								 const char *detail_json);

#endif							/* NABOOM_TIMELINE_H */
