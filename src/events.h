/*-------------------------------------------------------------------------
 *
 * events.h
 *	  The event stream (events.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_EVENTS_H
#define NABOOM_EVENTS_H

/* naboom.events: off writes no events (superuser only). */
extern bool naboom_events_enabled;

extern void NaboomEventAppend(int64 community_id, const int64 *incident_id,
							  const char *topic, bool is_public, const char *payload_json);
extern int	NaboomPublishEvents(int max_count);
extern void NaboomEventsForgetPlans(void);

#endif							/* NABOOM_EVENTS_H */
