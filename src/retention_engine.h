/*-------------------------------------------------------------------------
 *
 * retention_engine.h
 *	  The machinery of a retention run (retention_engine.c): its steps,
 *	  batches and commits, shared by the data classes
 *	  (retention_classes.c, retention_audit.c), the run (retention.c) and
 *	  erasure (erasure.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_RETENTION_ENGINE_H
#define NABOOM_RETENTION_ENGINE_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"

/*
 * True while retention or erasure changes rows: the workflow guard, the
 * timeline, the event stream and the per-row audit stand aside (each batch
 * writes one audit entry of its own instead).
 */
extern bool NaboomRetentionActive;

/* One run of naboom.run_retention. */
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

/* One step of a run: a class, a table, an action. */
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

/*
 * The SET list that anonymises an audit row (alias a): the digest of its
 * personal fields is kept so its format-2 seal hash is unchanged.
 */
#define NABOOM_AUDIT_REDACT_SET \
	" personal_digest = coalesce(a.personal_digest, naboom.audit_personal_digest(ROW(a.*)::naboom.audit_log))," \
	" row_key = naboom.audit_redact_json(a.row_key)," \
	" old_values = naboom.audit_redact_json(a.old_values)," \
	" new_values = naboom.audit_redact_json(a.new_values)," \
	" detail = naboom.audit_redact_json(a.detail)," \
	" actor = NULL, client_addr = NULL, user_agent = NULL, request_id = NULL"

extern void RetentionCommit(Run *r);
extern int64 RetentionCount(Run *r, const char *sql);
extern void RetentionBatch(Run *r, const char *sql, int limit, int expect);
extern void RetentionStepStart(Step *s);
extern void RetentionRecord(Run *r, Step *s, const char *data_class,
							const char *target, const char *action);
extern void RetentionErased(Run *r, const char *data_class, const char *extra);

/* One ERASED audit entry, naming no one (retention and erasure). */
extern void NaboomWriteErasedEntry(const char *detail_json);

#endif							/* NABOOM_RETENTION_ENGINE_H */
