/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  naboom.run_retention (retention.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_H
#define NABOOM_RETENTION_H

/* naboom.retention_batch_size: rows per retention transaction. */
extern int	naboom_retention_batch_size;

#endif							/* NABOOM_RETENTION_H */
