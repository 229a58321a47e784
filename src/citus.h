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

#include "nodes/pg_list.h"

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

/* The client's address a Citus coordinator carried, where believed; else NULL. */
extern char *NaboomCarriedAddress(void);

/* One of Citus's own connections (a coordinator's task on this node). */
extern bool NaboomCitusInternal(void);

/*
 * The distributed (hash) table of which relid is a shard on this node, or
 * InvalidOid: a reference table's copy, a local table, no Citus.
 */
extern Oid	NaboomCitusShardOf(Oid relid);

/*
 * The tables an anonymising statement on naboom.audit_log runs on here: the
 * log itself on a single node; on a distributed naboom this node's shards of
 * it (none on a node that holds none), each statement run locally, where
 * naboom's own code may change audit rows (audit_guard.c).  Allocated in
 * cxt.  Call between SPI_connect and SPI_finish.
 */
extern List *NaboomAuditLogTargets(MemoryContext cxt);

/* sql with every naboom.audit_log replaced by target (one of the above). */
extern char *NaboomOnAuditTarget(const char *sql, const char *target);

#endif							/* NABOOM_CITUS_H */
