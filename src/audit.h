/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  Writing the audit log (audit.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_H
#define NABOOM_AUDIT_H

/* The owner of naboom.audit_log, as whom entries are written. */
extern Oid	NaboomAuditLogOwner(void);

/* Append one row to naboom.audit_log in the current transaction. */
extern void NaboomAuditWrite(const char *action, const char *table_name,
							 const int64 *community_id, const int64 *incident_id,
							 const char *row_key, const char *old_values,
							 const char *new_values, const char *detail);

#endif							/* NABOOM_AUDIT_H */
