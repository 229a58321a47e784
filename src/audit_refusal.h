/*-------------------------------------------------------------------------
 *
 * audit_refusal.h
 *	  The request context of audit entries, and entries that must outlive
 *	  their transaction: refused attempts and reads (audit_refusal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_REFUSAL_H
#define NABOOM_AUDIT_REFUSAL_H

#include "lib/stringinfo.h"

/* naboom.audit: off skips every audit entry (superuser only). */
extern bool naboom_audit_enabled;

/*
 * naboom.trusted_proxies: how many proxies in front of the gateway append
 * to X-Forwarded-For and are believed; 0 ignores the header (superuser
 * only).
 */
extern int	naboom_trusted_proxies;

/* The request context, re-read when the settings behind it change. */
typedef struct NaboomAuditContext
{
	bool		valid;
	bool		claims_valid;	/* false: the claims would be refused */
	Oid			outer_user;
	char	   *claims;			/* the raw settings it was built from */
	char	   *graphile;
	char	   *headers;
	int			trusted_proxies;
	char	   *actor;			/* the results */
	char	   *db_role;
	char	   *client_addr;
	char	   *user_agent;
	char	   *request_id;
	char	   *carried_addr;	/* the address a Citus coordinator carried, if any */
} NaboomAuditContext;

extern NaboomAuditContext *NaboomAuditCurrentContext(void);

/*
 * The client's address as the audit records it: the x-forwarded-for address
 * the trusted proxies saw, else the connection's (NULL over a socket).
 */
extern char *NaboomRequestAddress(void);

/* Tell a later refusal which community and incident it is about (0: unknown). */
extern void NaboomAuditSetSubject(int64 community_id, int64 incident_id);

/*
 * Record a refused attempt just before its error is raised (NaboomErrorHint
 * calls it).  Never raises an error itself.
 */
extern void NaboomAuditRefusal(int sqlerrcode, const char *key, const char *message);

/* Entries the current transaction cannot keep: build, queue, or log. */
extern void NaboomAppendJsonField(StringInfo buf, const char *name, const char *value);
extern char *NaboomAuditQueueEntryHead(const char *action, const int64 *community_id,
									   const int64 *incident_id, bool success, bool trim);
extern char *NaboomAuditQueueEntry(const char *action, const int64 *community_id,
								   const int64 *incident_id, bool success,
								   const char *detail_json);
extern bool NaboomAuditSend(const char *entry);
extern void NaboomAuditLogEntry(const char *entry);

#endif							/* NABOOM_AUDIT_REFUSAL_H */
