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

/*
 * naboom.panic_publish: a transaction that wrote a panic event numbers and
 * NOTIFYs the stream itself, at its commit (superuser only).
 */
extern bool naboom_panic_publish;

/*
 * Forwarding to authorities (13_forwarding.sql): naboom.forwarding_max_attempts,
 * naboom.forwarding_backoff (ms), and naboom.acting_authority, set by
 * authority_update while it moves an incident as an authority.
 */
extern int	naboom_forwarding_max_attempts;
extern int	naboom_forwarding_backoff;
extern char *naboom_acting_authority;

/* Append one event in the current transaction (as a role that may). */
extern void NaboomEventAppend(int64 community_id, const int64 *incident_id,
							  const char *topic, bool is_public, const char *payload_json);

/* Number and announce up to max_count committed events; how many. */
extern int	NaboomPublishEvents(int max_count);

/* On a Citus coordinator: wake the publisher at commit (events on a worker). */
extern void NaboomEventsMaybeWritten(void);

/* Drop the kept plans after an error in the background writer. */
extern void NaboomEventsForgetPlans(void);

#endif							/* NABOOM_EVENTS_H */
