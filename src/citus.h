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

/*
 * This node's Citus group once naboom.event is distributed: 0 on the
 * coordinator, > 0 on a worker; -1 on a single node (or before
 * distribute()).  Call between SPI_connect and SPI_finish.
 */
extern int	NaboomCitusGroup(void);

/* On a node of a Citus cluster where naboom.distribute() ran (cheap). */
extern bool NaboomCitusDistributed(void);

/* Repeat the gateway's settings as SET LOCAL for Citus to carry to the workers. */
extern void NaboomCarryRequest(void);

/*
 * In a Citus worker's connection (a trigger on a shard): the query with each
 * naboom.<distributed table> replaced by its shard for community_id (and
 * each reference table by its local copy), so it runs as a plain local
 * query; NULL anywhere else.  Call between SPI_connect and SPI_finish.
 */
extern char *NaboomShardLocalSql(const char *sql, int64 community_id);

#endif							/* NABOOM_CITUS_H */
