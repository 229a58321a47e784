/*-------------------------------------------------------------------------
 *
 * workflow.c
 *	  The BEFORE INSERT OR UPDATE trigger on naboom.incident that holds every
 *	  write, from the API or a direct UPDATE, to the incident workflow.
 *
 * Columns fall into four classes:
 *	- immutable (community, id, reference, kind, reporter, client_ref,
 *	  created_at): never change;
 *	- managed (version, updated_at/by, acknowledged_at, the milestone
 *	  timestamps, the routing columns area_id, outside_boundary and
 *	  poor_accuracy, and queue_due_at): set only by this trigger;
 *	- workflow (status, status_note, assignee_ref, duplicate_of,
 *	  acknowledged_by): change only through an allowed transition or an
 *	  acknowledgement, checked against the cached transition table and the
 *	  actor's role in the incident's community;
 *	- content (everything else: title, priority, category, location, ...):
 *	  may be edited by a moderator or the service only.
 *
 * Transitions and acknowledgements are judged in transition.c.  The actor
 * comes from the JWT claims (identity.c).  Lookups run through SPI
 * with kept plans as the table owner, like the RI triggers, so a role that
 * may UPDATE the table needs no other privilege to be judged.  The timeline
 * entry for each change is written by the AFTER trigger in timeline.c.
 * Routing (spatial.c) runs here too, on every INSERT and on every change of
 * location or accuracy, so no writer can file an incident in the wrong area
 * or outside its community.  So does the queue's due time (queue_due_at):
 * the SLA time of a live incident that falls due first, stamped on every
 * change of status, acknowledgement or category, so the control room's
 * queue (incident_queue) reads its order from an index.  A change of a
 * category's targets re-stamps the category's live incidents
 * (naboom.restamp_queue_due).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "naboom.h"
#include "restore.h"
#include "identity.h"
#include "reference.h"
#include "retention_engine.h"
#include "spatial.h"
#include "spi_util.h"
#include "transition.h"
#include "transition_cache.h"

#define INITIAL_STATUS "reported"
#define MAX_REFERENCE_TRIES 16

typedef enum AttClass
{
	ATT_CONTENT,
	ATT_IMMUTABLE,
	ATT_MANAGED,
	ATT_WORKFLOW
} AttClass;


static SPIPlanPtr ReferencePlan = NULL;
static SPIPlanPtr DuePlan = NULL;


/* Columns routing sets from the location (spatial.c). */
static bool
IsRoutingAtt(const IncidentAtts *a, AttrNumber att)
{
	return a->routes && (att == a->area_id || att == a->outside_boundary ||
						 att == a->poor_accuracy);
}

static AttClass
ClassifyAtt(const IncidentAtts *a, AttrNumber att)
{
	int			i;

	if (att == a->community_id || att == a->incident_id ||
		att == a->reference || att == a->kind || att == a->reporter_ref ||
		att == a->client_ref || att == a->created_at)
		return ATT_IMMUTABLE;
	if (att == a->version || att == a->updated_at || att == a->updated_by ||
		att == a->acknowledged_at || IsRoutingAtt(a, att) ||
		(a->queue_due_at != InvalidAttrNumber && att == a->queue_due_at))
		return ATT_MANAGED;
	for (i = 1; i < MILESTONE_COUNT; i++)
		if (att == a->milestone[i])
			return ATT_MANAGED;
	if (att == a->status || att == a->status_note || att == a->assignee_ref ||
		att == a->duplicate_of || att == a->acknowledged_by)
		return ATT_WORKFLOW;
	return ATT_CONTENT;
}

/*
 * CheckColumns refuses changes to immutable and managed columns, and content
 * edits by anyone but a moderator or the service.
 */
static void
CheckColumns(Guard *g)
{
	int			att;

	for (att = 1; att <= g->desc->natts; att++)
	{
		AttClass	cls;
		const char *name = NameStr(TupleDescAttr(g->desc, att - 1)->attname);

		if (TupleDescAttr(g->desc, att - 1)->attisdropped || !GuardChanged(g, att))
			continue;
		cls = ClassifyAtt(g->atts, att);
		if (cls == ATT_IMMUTABLE)
			NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.immutable_column",
							("column %s of incident %s cannot be changed", name, g->reference),
							("It is fixed when the incident is reported."),
							"%s is immutable.", name);
		if (cls == ATT_MANAGED)
			NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.managed_column",
							("column %s of incident %s cannot be changed", name, g->reference),
							("%s", IsRoutingAtt(g->atts, att) ?
							 "naboom sets it from the location; change the location instead." :
							 att == g->atts->queue_due_at ?
							 "naboom sets it from the status, the acknowledgement and the category's targets." :
							 "naboom sets it; change the status instead."),
							"%s is maintained by the workflow trigger.", name);
		if (cls == ATT_CONTENT && !g->actor.is_service && g->role < MEMBER_MODERATOR)
			NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.edit_forbidden",
							("only moderators may edit %s of incident %s", name, g->reference),
							("Add a note instead, or ask a moderator."),
							"You are a %s of this community.", NaboomRoleName(g->role));
	}
}

/*
 * ResolveActor finds the actor and their role in the incident's community;
 * a member actor who is not a member of it is refused.
 */
static void
ResolveActor(Guard *g)
{
	g->actor = NaboomCurrentActor();
	g->role = MEMBER_NONE;
	if (g->actor.is_service)
		return;
	g->role = NaboomLookupRole(g->community_id, g->actor.user_ref);
	if (g->role == MEMBER_NONE)
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.not_a_member",
						("you are not a member of this community"),
						("Join the community first with join_community."),
						"\"%s\" has no role in community " INT64_FORMAT ".",
						g->actor.user_ref, g->community_id);
}

/*
 * UniqueReference draws random references until one is not in use.  Two
 * sessions drawing the same unused 35-bit value at the same moment is left
 * to the unique index.
 */
static char *
UniqueReference(void)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *ref = palloc(NABOOM_REFERENCE_LEN + 1);
	SPIPlanPtr	plan;
	int			i;

	NaboomSpiConnect();
	plan = NaboomKeptPlan(&ReferencePlan,
						  "SELECT 1 FROM naboom.incident i WHERE i.reference OPERATOR(pg_catalog.=) $1",
						  1, argtypes);
	for (i = 0; i < MAX_REFERENCE_TRIES; i++)
	{
		NaboomReferenceGenerate(ref);
		args[0] = CStringGetTextDatum(ref);
		if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not probe incident references");
		if (SPI_processed == 0)
			break;
	}
	SPI_finish();
	if (i == MAX_REFERENCE_TRIES)
		elog(ERROR, "could not find an unused incident reference");
	return ref;
}

/*
 * Route sets area_id, outside_boundary and poor_accuracy from the row's
 * location and accuracy (spatial.c), refusing a location outside the
 * community unless the community allows that.
 */
static void
Route(Guard *g)
{
	const IncidentAtts *a = g->atts;
	bool		isnull;
	bool		acc_null;
	Datum		location = heap_getattr(g->newtup, a->location, g->desc, &isnull);
	Datum		accuracy = heap_getattr(g->newtup, a->accuracy_m, g->desc, &acc_null);
	int64		area_id;
	bool		area_null;
	bool		outside;
	bool		poor;

	if (isnull)
		NaboomErrorHint(ERRCODE_NOT_NULL_VIOLATION, "naboom.invalid_coordinates",
						("a new incident needs a location"),
						("Send WGS84 decimal degrees, latitude first (e.g. -24.52, 28.71)."),
						"location is NULL.");
	NaboomRouteIncident(g->community_id, location,
						TupleDescAttr(g->desc, a->location - 1)->atttypid,
						!acc_null, acc_null ? 0 : DatumGetFloat8(accuracy),
						&area_id, &area_null, &outside, &poor);
	GuardSet(g, a->area_id, Int64GetDatum(area_id), area_null);
	GuardSet(g, a->outside_boundary, BoolGetDatum(outside), false);
	GuardSet(g, a->poor_accuracy, BoolGetDatum(poor), false);
}

/* The value a column of the row being returned will have. */
static Datum
GuardFinal(Guard *g, AttrNumber att, bool *isnull)
{
	if (g->replace[att - 1])
	{
		*isnull = g->nulls[att - 1];
		return g->values[att - 1];
	}
	return heap_getattr(g->newtup, att, g->desc, isnull);
}

/*
 * StampQueueDue sets queue_due_at: for a live incident (a status of type
 * open) the SLA time that falls due first (naboom.sla_due, from the
 * category's targets), NULL otherwise.  On an UPDATE it is stamped again
 * only when what it depends on changed: the status, the acknowledgement
 * or the category (created_at never changes).
 */
static void
StampQueueDue(Guard *g)
{
	const IncidentAtts *a = g->atts;
	Oid			argtypes[4] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;
	char	   *status;
	int			s;
	Datum		due = (Datum) 0;
	bool		due_null = true;
	SPIPlanPtr	plan;

	if (a->queue_due_at == InvalidAttrNumber)
		return;
	if (g->oldtup != NULL && !GuardChanged(g, a->status) &&
		!GuardChanged(g, a->category_code) &&
		!g->replace[a->acknowledged_at - 1] && !GuardChanged(g, a->acknowledged_at))
		return;

	status = GuardText(g, g->newtup, a->status);
	s = status ? NaboomStatusIndex(g->wf, status) : -1;
	if (s >= 0 && g->wf->statuses[s].type == 'o')
	{
		args[0] = Int64GetDatum(g->community_id);
		args[1] = GuardFinal(g, a->category_code, &isnull);
		if (isnull)
			nulls[1] = 'n';
		args[2] = GuardFinal(g, a->created_at, &isnull);
		if (isnull)
			nulls[2] = 'n';
		args[3] = GuardFinal(g, a->acknowledged_at, &isnull);
		if (isnull)
			nulls[3] = 'n';
		NaboomSpiConnect();
		plan = NaboomKeptPlan(&DuePlan,
							  "SELECT naboom.sla_due($3, $4, c.ack_target, c.resolve_target)"
							  " FROM naboom.category c"
							  " WHERE c.community_id OPERATOR(pg_catalog.=) $1"
							  " AND c.code OPERATOR(pg_catalog.=) $2",
							  4, argtypes);
		if (SPI_execute_plan(plan, args, nulls, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not look up the category's SLA targets");
		/* (no row: the foreign key refuses the category when the row is written) */
		if (SPI_processed == 1)
			due = NaboomResultDatum(0, 1, &due_null);
		SPI_finish();
	}
	GuardSet(g, a->queue_due_at, due, due_null);
}

/* Columns that must be empty on a new incident. */
static void
CheckEmptyOnInsert(Guard *g, AttrNumber att)
{
	bool		isnull;

	(void) heap_getattr(g->newtup, att, g->desc, &isnull);
	if (!isnull)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.managed_column",
						("column %s must be empty on a new incident",
						 NameStr(TupleDescAttr(g->desc, att - 1)->attname)),
						("Leave it out: the workflow sets it."),
						"A new incident starts as %s.", INITIAL_STATUS);
}

/*
 * GuardInsert: a new incident starts "reported", reported by the actor
 * (the service may file on behalf of a member and may import history),
 * with a fresh reference.
 */
static void
GuardInsert(Guard *g)
{
	const IncidentAtts *a = g->atts;
	char	   *status = GuardText(g, g->newtup, a->status);
	char	   *reporter = GuardText(g, g->newtup, a->reporter_ref);
	char	   *ref = GuardText(g, g->newtup, a->reference);
	int			i;

	g->reference = ref ? ref : "(new)";
	ResolveActor(g);
	if (!g->actor.is_service)
	{
		if (reporter != NULL && strcmp(reporter, g->actor.user_ref) != 0)
			NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.forged_reporter",
							("you can only report incidents as yourself"),
							("Leave reporter_ref out; it is taken from your token."),
							"reporter_ref names \"%s\", not the caller.", reporter);
		GuardSet(g, a->reporter_ref, CStringGetTextDatum(g->actor.user_ref), false);
		GuardSet(g, a->created_at, TimestampTzGetDatum(g->now), false);
	}
	if (!NaboomStrEqual(status, INITIAL_STATUS))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_initial_status",
						("a new incident must start as %s", INITIAL_STATUS),
						("Leave status out."),
						"The status given was \"%s\".", status ? status : "NULL");

	CheckEmptyOnInsert(g, a->status_note);
	CheckEmptyOnInsert(g, a->assignee_ref);
	CheckEmptyOnInsert(g, a->duplicate_of);
	CheckEmptyOnInsert(g, a->acknowledged_by);
	CheckEmptyOnInsert(g, a->acknowledged_at);
	for (i = 1; i < MILESTONE_COUNT; i++)
		CheckEmptyOnInsert(g, a->milestone[i]);

	if (a->routes)
		Route(g);
	if (ref == NULL)
		GuardSet(g, a->reference, CStringGetTextDatum(UniqueReference()), false);
	StampQueueDue(g);
	GuardSet(g, a->version, Int32GetDatum(1), false);
	GuardSet(g, a->updated_at, TimestampTzGetDatum(g->now), false);
	GuardSet(g, a->updated_by, g->actor.user_ref ?
		   CStringGetTextDatum(g->actor.user_ref) : (Datum) 0,
		   g->actor.user_ref == NULL);
}

/*
 * GuardUpdate: judge the change, then stamp version and updated_at/by.
 */
static void
GuardUpdate(Guard *g)
{
	const IncidentAtts *a = g->atts;
	bool		isnull;
	int32		version = DatumGetInt32(heap_getattr(g->oldtup, a->version, g->desc, &isnull));

	g->reference = GuardText(g, g->oldtup, a->reference);
	ResolveActor(g);
	CheckColumns(g);
	NaboomCheckTransition(g);
	NaboomCheckAcknowledgement(g);
	if (a->routes && (GuardChanged(g, a->location) || GuardChanged(g, a->accuracy_m)))
		Route(g);
	StampQueueDue(g);

	GuardSet(g, a->version, Int32GetDatum(version + 1), false);
	GuardSet(g, a->updated_at, TimestampTzGetDatum(g->now), false);
	GuardSet(g, a->updated_by, g->actor.user_ref ?
		   CStringGetTextDatum(g->actor.user_ref) : (Datum) 0,
		   g->actor.user_ref == NULL);
}

/*
 * GuardAsOwner judges one row change; it runs as the table owner, so the
 * lookups need no privilege of the caller.
 */
static void
GuardAsOwner(void *arg)
{
	Guard	   *g = (Guard *) arg;
	TriggerData *trigdata = g->trigdata;
	bool		isnull;

	g->atts = NaboomIncidentAtts(g->rel);
	g->wf = NaboomGetWorkflow();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		g->newtup = trigdata->tg_trigtuple;
		g->community_id = GuardInt64(g, g->newtup, g->atts->community_id, &isnull);
		if (isnull)
			NaboomErrorHint(ERRCODE_NOT_NULL_VIOLATION, "naboom.community_required",
							("a new incident needs a community"),
							("Give the community_id of the community where it happened."),
							"community_id is NULL.");
		NaboomAuditSetSubject(g->community_id, GuardInt64(g, g->newtup, g->atts->incident_id, &isnull));
		GuardInsert(g);
	}
	else
	{
		g->oldtup = trigdata->tg_trigtuple;
		g->newtup = trigdata->tg_newtuple;
		g->updatedcols = trigdata->tg_updatedcols;
		g->community_id = GuardInt64(g, g->oldtup, g->atts->community_id, &isnull);
		NaboomAuditSetSubject(g->community_id, GuardInt64(g, g->oldtup, g->atts->incident_id, &isnull));
		GuardUpdate(g);
	}
}

PG_FUNCTION_INFO_V1(naboom_incident_guard);

/*
 * naboom_incident_guard is the BEFORE INSERT OR UPDATE FOR EACH ROW trigger
 * on naboom.incident.
 */
Datum
naboom_incident_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Guard		g;
	int			natts;
	HeapTuple	result;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_incident_guard: not called by trigger manager");
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		elog(ERROR, "naboom_incident_guard: must be fired BEFORE");
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "naboom_incident_guard: must be fired FOR EACH ROW");
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		elog(ERROR, "naboom_incident_guard: must be fired by INSERT or UPDATE");

	/*
	 * Retention and erasure change only what they anonymise, as the
	 * extension owner, outside the workflow: the row stays as they wrote it.
	 */
	if (NaboomRetentionActive && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_newtuple);

	/*
	 * A restore loads incidents as the workflow left them (restore.c): their
	 * status, milestones and version are already the workflow's.
	 */
	if (NaboomRestoring())
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);

	memset(&g, 0, sizeof(g));
	g.rel = trigdata->tg_relation;
	g.desc = RelationGetDescr(g.rel);
	g.now = GetCurrentTransactionStartTimestamp();
	natts = g.desc->natts;
	g.values = palloc0(sizeof(Datum) * natts);
	g.nulls = palloc0(sizeof(bool) * natts);
	g.replace = palloc0(sizeof(bool) * natts);

	/* Judge and look up as the table owner, as the RI triggers do. */
	g.trigdata = trigdata;
	NaboomRunAsOwner(g.rel->rd_rel->relowner, GuardAsOwner, &g);
	NaboomAuditSetSubject(0, 0);

	result = heap_modify_tuple(g.newtup, g.desc, g.values, g.nulls, g.replace);
	return PointerGetDatum(result);
}


PG_FUNCTION_INFO_V1(naboom_restamp_queue_due);

/*
 * naboom.restamp_queue_due(community_id, category_code) stamps queue_due_at
 * again on the live incidents of one category (both NULL: of every
 * category), after its SLA targets changed, and returns how many rows it
 * changed.  A new deadline is no change of the incident: no version, no
 * timeline entry, no event, no audit row per incident (the change of the
 * category is audited), so the UPDATE runs with the single-row triggers
 * standing aside, as retention's do.  Not for callers: naboom.category's
 * trigger and the 0.7.0 upgrade call it.
 */
Datum
naboom_restamp_queue_due(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	bool		was_active = NaboomRetentionActive;
	int64		n = 0;
	int			rc;

	if (PG_ARGISNULL(0) != PG_ARGISNULL(1))
		elog(ERROR, "naboom.restamp_queue_due: give both community and category, or neither");
	args[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	args[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	if (PG_ARGISNULL(0))
		nulls[0] = nulls[1] = 'n';

	NaboomSpiConnect();
	NaboomRetentionActive = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(
			"UPDATE naboom.incident i"
			" SET queue_due_at = CASE WHEN s.status_type OPERATOR(pg_catalog.=) 'open'"
			"   THEN naboom.sla_due(i.created_at, i.acknowledged_at, c.ack_target, c.resolve_target) END"
			" FROM naboom.category c, naboom.status s"
			" WHERE c.community_id OPERATOR(pg_catalog.=) i.community_id"
			" AND c.code OPERATOR(pg_catalog.=) i.category_code"
			" AND s.status OPERATOR(pg_catalog.=) i.status"
			" AND ($1 IS NULL OR i.community_id OPERATOR(pg_catalog.=) $1 AND i.category_code OPERATOR(pg_catalog.=) $2"
			"   AND s.status_type OPERATOR(pg_catalog.=) 'open')"
			" AND i.queue_due_at IS DISTINCT FROM CASE WHEN s.status_type OPERATOR(pg_catalog.=) 'open'"
			"   THEN naboom.sla_due(i.created_at, i.acknowledged_at, c.ack_target, c.resolve_target) END",
			2, argtypes, args, nulls, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "naboom: could not stamp the queue's due times (%s)", SPI_result_code_string(rc));
		n = (int64) SPI_processed;
	}
	PG_FINALLY();
	{
		NaboomRetentionActive = was_active;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(n);
}
