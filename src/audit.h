/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The audit log (audit.c, audit_guard.c, audit_seal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_H
#define NABOOM_AUDIT_H

/* naboom.audit: off skips every audit entry (superuser only). */
extern bool naboom_audit_enabled;

/* True only inside naboom's own code that may rewrite or move audit rows. */
extern bool NaboomAuditPrivileged;

extern Oid	NaboomAuditLogOwner(void);
extern void NaboomAuditWrite(const char *action, const char *table_name,
							 const int64 *community_id, const int64 *incident_id,
							 const char *row_key, const char *old_values,
							 const char *new_values, const char *detail);
extern void NaboomAuditSetSubject(int64 community_id, int64 incident_id);
extern void NaboomAuditRefusal(int sqlerrcode, const char *key, const char *message);

#endif							/* NABOOM_AUDIT_H */
