/*-------------------------------------------------------------------------
 *
 * audit_guard.h
 *	  Keeping the audit log append-only (audit_guard.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_AUDIT_GUARD_H
#define NABOOM_AUDIT_GUARD_H

/*
 * True only inside naboom's own code that may rewrite or move audit rows
 * (retention, erasure, moving rows out of the default partition); SQL
 * cannot set it.
 */
extern bool NaboomAuditPrivileged;

#endif							/* NABOOM_AUDIT_GUARD_H */
