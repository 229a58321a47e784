/*-------------------------------------------------------------------------
 *
 * retention_run.h
 *	  One run of naboom.run_retention, shared by retention.c (the run, the
 *	  domain classes) and retention_audit.c (the audit log class).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_RUN_H
#define NABOOM_RETENTION_RUN_H

#include "lib/stringinfo.h"
#include "portability/instr_time.h"

typedef struct Run
{
	int64		run_id;
	bool		dry_run;
	bool		nonatomic;
	TimestampTz as_of;
	int			batch;
	int			step;
	MemoryContext cxt;			/* survives the batches' commits */
	StringInfoData results;		/* JSON array of the steps */
} Run;

typedef struct Step
{
	instr_time	start;
	int64		rows;
	int64		held;
	int			batches;
} Step;

/* Whether incident i (community c) has an open legal hold. */
#define HELD(c, i) \
	"EXISTS (SELECT 1 FROM naboom.incident h WHERE h.community_id = " c \
	" AND h.incident_id = " i " AND h.legal_hold)"

extern void RetentionCommit(Run *r);
extern void RetentionExecute(const char *sql, int nargs, Oid *types, Datum *values, int expect);
extern int64 RetentionInt8At(int row, int col);
extern int64 RetentionCount(Run *r, const char *sql);
extern void RetentionBatch(Run *r, const char *sql, int limit, int expect);
extern void RetentionStepStart(Step *s);
extern void RetentionRecord(Run *r, Step *s, const char *data_class, const char *target, const char *action);
extern void RetentionErased(Run *r, const char *data_class, const char *extra);
extern void NaboomRetainAudit(Run *r);

#endif							/* NABOOM_RETENTION_RUN_H */
