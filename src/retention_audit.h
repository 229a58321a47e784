/*-------------------------------------------------------------------------
 *
 * retention_audit.h
 *	  The audit_log data class of a retention run (retention_audit.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_AUDIT_H
#define NABOOM_RETENTION_AUDIT_H

#include "retention_engine.h"

extern void NaboomRetainAudit(Run *r);

#endif							/* NABOOM_RETENTION_AUDIT_H */
