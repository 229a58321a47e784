/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Recognising a restore of a naboom database (restore.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RESTORE_H
#define NABOOM_RESTORE_H

/* Whether the row being written is loaded by a pg_dump script or pg_restore. */
extern bool NaboomRestoring(void);

/* Whether this session runs a pg_dump script or pg_restore (its DDL too). */
extern bool NaboomRestoreSession(void);

#endif							/* NABOOM_RESTORE_H */
