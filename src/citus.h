/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  The caller's identity on a Citus cluster's workers (citus.c).
 *
 * src/citus.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_CITUS_H
#define NABOOM_CITUS_H

extern void NaboomDefineCitusSettings(void);

/* The role outside SECURITY DEFINER functions, or the one carried to a worker. */
extern Oid	NaboomOuterUserId(void);

/* Repeat the gateway's settings as SET LOCAL for Citus to carry to the workers. */
extern void NaboomCarryRequest(void);

#endif							/* NABOOM_CITUS_H */
