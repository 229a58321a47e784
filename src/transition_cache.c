/*-------------------------------------------------------------------------
 *
 * transition_cache.c
 *	  The workflow (naboom.status + naboom.transition) cached per backend.
 *
 * The transition trigger consults the workflow on every status change, so
 * each backend loads the two small tables once into a child of
 * CacheMemoryContext.  A statement trigger on both tables
 * (naboom_workflow_changed) sends a relcache invalidation for the table at
 * commit; our relcache callback then marks the cache stale in every
 * backend, as pg_cron does for its job table.  The column numbers of
 * naboom.incident are cached the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/rel.h"

#include "spi_util.h"
#include "transition_cache.h"

static MemoryContext WorkflowContext = NULL;
static Workflow CachedWorkflow;
static bool WorkflowValid = false;
static uint64 WorkflowInvalidations = 0;
static IncidentAtts CachedAtts;
static bool CallbackRegistered = false;
static Oid	StatusRelid = InvalidOid;
static Oid	TransitionRelid = InvalidOid;

static const char *const MilestoneColumns[MILESTONE_COUNT] = {
	NULL, "dispatched_at", "en_route_at", "on_scene_at", "resolved_at", "closed_at"
};

/*
 * InvalidateWorkflow is the relcache callback.  An invalidation of one of
 * the workflow tables, or a reset of the whole relcache (InvalidOid), makes
 * the workflow stale; one of naboom.incident makes its column numbers stale.
 * No catalog access here: callbacks may run at awkward moments.
 */
static void
InvalidateWorkflow(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == CachedAtts.relid)
		CachedAtts.relid = InvalidOid;
	if (relid == InvalidOid || relid == StatusRelid || relid == TransitionRelid)
	{
		WorkflowValid = false;
		WorkflowInvalidations++;
	}
}

static void
EnsureCallback(void)
{
	if (!CallbackRegistered)
	{
		CacheRegisterRelcacheCallback(InvalidateWorkflow, (Datum) 0);
		CallbackRegistered = true;
	}
}

/*
 * ParseMilestone maps naboom.status.milestone to its enum.
 */
static Milestone
ParseMilestone(const char *name)
{
	int			i;

	if (name == NULL)
		return MILESTONE_NONE;
	for (i = 1; i < MILESTONE_COUNT; i++)
		if (strcmp(name, MilestoneColumns[i]) == 0)
			return (Milestone) i;
	elog(ERROR, "unknown milestone column \"%s\" in naboom.status", name);
	pg_unreachable();
}

/*
 * ParseRules turns a comma-separated list of naboom.actor_rule labels into
 * ActorRule bits.
 */
static int
ParseRules(char *list)
{
	static const struct
	{
		const char *name;
		ActorRule	bit;
	}			rules[] = {
		{"verifier", RULE_VERIFIER},
		{"self_assign", RULE_SELF_ASSIGN},
		{"assignee", RULE_ASSIGNEE},
		{"reporter", RULE_REPORTER},
		{"reporter_reopen", RULE_REPORTER_REOPEN},
		{"service", RULE_SERVICE},
		{"authority", RULE_AUTHORITY},
	};
	int			bits = 0;
	char	   *tok;
	char	   *save;
	int			i;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		for (i = 0; i < lengthof(rules); i++)
			if (strcmp(tok, rules[i].name) == 0)
				bits |= rules[i].bit;
	}
	return bits;
}

static char *
GetText(HeapTuple tup, TupleDesc desc, int col)
{
	return SPI_getvalue(tup, desc, col);
}

static bool
GetBool(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/* The OIDs of the two tables, for the relcache callback. */
static void
LoadRelids(void)
{
	bool		isnull;
	int			ret;

	ret = SPI_execute("SELECT 'naboom.status'::pg_catalog.regclass::pg_catalog.oid,"
					  " 'naboom.transition'::pg_catalog.regclass::pg_catalog.oid",
					  true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the naboom workflow tables: %d", ret);
	StatusRelid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
	TransitionRelid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 2, &isnull));
}

/* naboom.status into CachedWorkflow, in WorkflowContext. */
static void
LoadStatuses(void)
{
	MemoryContext old;
	int			i;
	int			ret;

	ret = SPI_execute("SELECT s.status, s.status_type::pg_catalog.text, s.milestone"
					  " FROM naboom.status s ORDER BY s.sort_order, s.status",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read naboom.status: %d", ret);

	old = MemoryContextSwitchTo(WorkflowContext);
	CachedWorkflow.nstatuses = SPI_processed;
	CachedWorkflow.statuses = palloc0(sizeof(WorkflowStatus) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		WorkflowStatus *s = &CachedWorkflow.statuses[i];

		s->name = GetText(tup, desc, 1);
		s->type = GetText(tup, desc, 2)[0];
		s->milestone = ParseMilestone(GetText(tup, desc, 3));
	}
	MemoryContextSwitchTo(old);
}

/* naboom.transition into CachedWorkflow, after the statuses. */
static void
LoadTransitions(void)
{
	MemoryContext old;
	int			i;
	int			ret;

	ret = SPI_execute("SELECT t.from_status, t.to_status,"
					  " pg_catalog.array_to_string(t.allowed, ','),"
					  " t.requires_note, t.requires_assignee, t.requires_duplicate_of"
					  " FROM naboom.transition t",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read naboom.transition: %d", ret);

	old = MemoryContextSwitchTo(WorkflowContext);
	CachedWorkflow.ntransitions = SPI_processed;
	CachedWorkflow.transitions = palloc0(sizeof(WorkflowTransition) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		WorkflowTransition *t = &CachedWorkflow.transitions[i];
		char	   *rules = GetText(tup, desc, 3);

		t->from = NaboomStatusIndex(&CachedWorkflow, GetText(tup, desc, 1));
		t->to = NaboomStatusIndex(&CachedWorkflow, GetText(tup, desc, 2));
		t->allowed = rules ? ParseRules(rules) : 0;
		t->requires_note = GetBool(tup, desc, 4);
		t->requires_assignee = GetBool(tup, desc, 5);
		t->requires_duplicate_of = GetBool(tup, desc, 6);
	}
	MemoryContextSwitchTo(old);
}

/*
 * LoadWorkflow reads both tables through SPI into WorkflowContext.
 */
static void
LoadWorkflow(void)
{
	if (WorkflowContext == NULL)
		WorkflowContext = AllocSetContextCreate(CacheMemoryContext,
												"naboom workflow",
												ALLOCSET_SMALL_SIZES);
	MemoryContextReset(WorkflowContext);
	memset(&CachedWorkflow, 0, sizeof(CachedWorkflow));

	NaboomSpiConnect();

	/*
	 * Read with the latest snapshot, not the transaction's: in REPEATABLE
	 * READ the transaction snapshot may predate a committed change whose
	 * invalidation we have already consumed, and caching that old state
	 * would outlive the transaction.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	LoadRelids();
	LoadStatuses();
	LoadTransitions();
	PopActiveSnapshot();
	SPI_finish();
}

/*
 * NaboomGetWorkflow returns the cached workflow, loading it if stale.  The
 * caller must already run as a role that may read the naboom tables.
 */
const Workflow *
NaboomGetWorkflow(void)
{
	uint64		before;

	EnsureCallback();

	/*
	 * A statement that already holds its locks does not read the
	 * invalidation queue by itself; a change committed meanwhile must count.
	 */
	AcceptInvalidationMessages();
	if (!WorkflowValid)
	{
		/* An invalidation arriving during the load makes the result stale. */
		before = WorkflowInvalidations;
		LoadWorkflow();
		WorkflowValid = (before == WorkflowInvalidations);
	}
	return &CachedWorkflow;
}

/*
 * NaboomStatusIndex returns the index of a status, or -1.
 */
int
NaboomStatusIndex(const Workflow *wf, const char *name)
{
	int			i;

	for (i = 0; i < wf->nstatuses; i++)
		if (strcmp(wf->statuses[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * NaboomFindTransition returns the transition from -> to, or NULL.
 */
const WorkflowTransition *
NaboomFindTransition(const Workflow *wf, int from, int to)
{
	int			i;

	for (i = 0; i < wf->ntransitions; i++)
		if (wf->transitions[i].from == from && wf->transitions[i].to == to)
			return &wf->transitions[i];
	return NULL;
}

/*
 * Column lookup that must succeed: the trigger is only installed on
 * naboom.incident.
 */
static AttrNumber
RequireAtt(TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		elog(ERROR, "naboom.incident has no column \"%s\"", name);
	return (AttrNumber) attno;
}

/*
 * NaboomIncidentAtts returns the column numbers of naboom.incident.
 */
const IncidentAtts *
NaboomIncidentAtts(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	EnsureCallback();
	if (CachedAtts.relid == RelationGetRelid(rel))
		return &CachedAtts;

	CachedAtts.community_id = RequireAtt(desc, "community_id");
	CachedAtts.incident_id = RequireAtt(desc, "incident_id");
	CachedAtts.reference = RequireAtt(desc, "reference");
	CachedAtts.kind = RequireAtt(desc, "kind");
	CachedAtts.status = RequireAtt(desc, "status");
	CachedAtts.status_note = RequireAtt(desc, "status_note");
	CachedAtts.reporter_ref = RequireAtt(desc, "reporter_ref");
	CachedAtts.assignee_ref = RequireAtt(desc, "assignee_ref");
	CachedAtts.duplicate_of = RequireAtt(desc, "duplicate_of");
	CachedAtts.client_ref = RequireAtt(desc, "client_ref");
	CachedAtts.version = RequireAtt(desc, "version");
	CachedAtts.created_at = RequireAtt(desc, "created_at");
	CachedAtts.updated_at = RequireAtt(desc, "updated_at");
	CachedAtts.updated_by = RequireAtt(desc, "updated_by");
	CachedAtts.acknowledged_at = RequireAtt(desc, "acknowledged_at");
	CachedAtts.acknowledged_by = RequireAtt(desc, "acknowledged_by");
	CachedAtts.next_escalation_at = RequireAtt(desc, "next_escalation_at");
	CachedAtts.location = RequireAtt(desc, "location");
	CachedAtts.accuracy_m = RequireAtt(desc, "accuracy_m");
	CachedAtts.area_id = RequireAtt(desc, "area_id");
	CachedAtts.outside_boundary = RequireAtt(desc, "outside_boundary");
	/*
	 * Routing columns arrived in 0.2.0.  Until ALTER EXTENSION naboom UPDATE
	 * has run, the new library keeps the 0.1.0 behaviour: the SQL layer
	 * routes and the trigger does not.
	 */
	CachedAtts.poor_accuracy = SPI_fnumber(desc, "poor_accuracy");
	if (CachedAtts.poor_accuracy <= 0)
		CachedAtts.poor_accuracy = InvalidAttrNumber;
	CachedAtts.routes = CachedAtts.poor_accuracy != InvalidAttrNumber;
	CachedAtts.milestone[MILESTONE_NONE] = InvalidAttrNumber;
	for (i = 1; i < MILESTONE_COUNT; i++)
		CachedAtts.milestone[i] = RequireAtt(desc, MilestoneColumns[i]);
	CachedAtts.relid = RelationGetRelid(rel);
	return &CachedAtts;
}

PG_FUNCTION_INFO_V1(naboom_workflow_changed);

/*
 * naboom_workflow_changed is an AFTER ... FOR EACH STATEMENT trigger on
 * naboom.status and naboom.transition.  It queues a relcache invalidation of
 * the changed table, delivered to every backend when the change commits.
 */
Datum
naboom_workflow_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_workflow_changed: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		elog(ERROR, "naboom_workflow_changed: must be fired AFTER ... FOR EACH STATEMENT");

	CacheInvalidateRelcache(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}
