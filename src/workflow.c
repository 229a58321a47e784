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
 *	  timestamps, and the routing columns area_id, outside_boundary and
 *	  poor_accuracy): set only by this trigger;
 *	- workflow (status, status_note, assignee_ref, duplicate_of,
 *	  acknowledged_by): change only through an allowed transition or an
 *	  acknowledgement, checked against the cached transition table and the
 *	  actor's role in the incident's community;
 *	- content (everything else: title, priority, category, location, ...):
 *	  may be edited by a moderator or the service only.
 *
 * The actor comes from the JWT claims (identity.c).  Lookups run through SPI
 * with kept plans as the table owner, like the RI triggers, so a role that
 * may UPDATE the table needs no other privilege to be judged.  The timeline
 * entry for each change is written by the AFTER trigger in journal.c.
 * Routing (spatial.c) runs here too, on every INSERT and on every change of
 * location or accuracy, so no writer can file an incident in the wrong area
 * or outside its community.
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
#include "audit.h"
#include "reference.h"
#include "spatial.h"
#include "workflow.h"
#include "retention.h"

#define INITIAL_STATUS "reported"
#define MAX_REFERENCE_TRIES 16

typedef enum AttClass
{
	ATT_CONTENT,
	ATT_IMMUTABLE,
	ATT_MANAGED,
	ATT_WORKFLOW
} AttClass;

/* Everything the checks need about one row change. */
typedef struct Guard
{
	Relation	rel;
	TupleDesc	desc;
	const IncidentAtts *atts;
	const Workflow *wf;
	HeapTuple	oldtup;			/* NULL on INSERT */
	HeapTuple	newtup;
	const Bitmapset *updatedcols;	/* columns in the UPDATE's SET list */
	NaboomActor actor;
	NaboomRole	role;			/* actor's role in the community */
	int64		community_id;
	char	   *reference;
	TimestampTz now;
	/* the row being returned: start as newtup, replaced column by column */
	Datum	   *values;
	bool	   *nulls;
	bool	   *replace;
} Guard;

static SPIPlanPtr RolePlan = NULL;
static SPIPlanPtr ReopenPlan = NULL;
static SPIPlanPtr TargetPlan = NULL;
static SPIPlanPtr CyclePlan = NULL;
static SPIPlanPtr ReferencePlan = NULL;

/*
 * KeptPlan prepares a query once per backend and keeps it.  The query text
 * qualifies every name: nothing here depends on search_path.
 */
static SPIPlanPtr
KeptPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	return *plan;
}

/* Text value of a column of a tuple, or NULL. */
static char *
TextAtt(Guard *g, HeapTuple tup, AttrNumber att)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, g->desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
Int64Att(Guard *g, HeapTuple tup, AttrNumber att, bool *isnull)
{
	Datum		d = heap_getattr(tup, att, g->desc, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static bool
StrEqual(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Has column att a different value in newtup than in oldtup? */
static bool
AttChanged(Guard *g, AttrNumber att)
{
	Form_pg_attribute attr = TupleDescAttr(g->desc, att - 1);
	bool		oldnull,
				newnull;
	Datum		oldval = heap_getattr(g->oldtup, att, g->desc, &oldnull);
	Datum		newval = heap_getattr(g->newtup, att, g->desc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	return !datumIsEqual(oldval, newval, attr->attbyval, attr->attlen);
}

/*
 * Was column att named in the UPDATE's SET list?  A note repeated word for
 * word is still a note given with this transition.
 */
static bool
AttAssigned(Guard *g, AttrNumber att)
{
	return bms_is_member(att - FirstLowInvalidHeapAttributeNumber, g->updatedcols);
}

static void
SetAtt(Guard *g, AttrNumber att, Datum value, bool isnull)
{
	g->values[att - 1] = value;
	g->nulls[att - 1] = isnull;
	g->replace[att - 1] = true;
}

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
		att == a->acknowledged_at || IsRoutingAtt(a, att))
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
 * LookupRole returns a user's role in a community, MEMBER_NONE if they are
 * not a member.
 */
static NaboomRole
LookupRole(int64 community_id, const char *user_ref)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	NaboomRole	role = MEMBER_NONE;
	SPIPlanPtr	plan;

	if (user_ref == NULL)
		return MEMBER_NONE;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = KeptPlan(&RolePlan,
					"SELECT m.role::pg_catalog.text FROM naboom.member m"
					" WHERE m.community_id = $1 AND m.user_ref = $2",
					2, argtypes);
	args[0] = Int64GetDatum(community_id);
	args[1] = CStringGetTextDatum(user_ref);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up member role");
	if (SPI_processed == 1)
		role = NaboomRoleFromName(SPI_getvalue(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return role;
}

/*
 * WithinReopenWindow says whether the incident was resolved recently enough
 * (the community's reopen_window) for its reporter to reopen it.
 */
static bool
WithinReopenWindow(Guard *g)
{
	Oid			argtypes[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		args[2];
	bool		isnull;
	bool		result = false;
	Datum		resolved = heap_getattr(g->oldtup,
										g->atts->milestone[MILESTONE_RESOLVED],
										g->desc, &isnull);
	SPIPlanPtr	plan;

	if (isnull)
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = KeptPlan(&ReopenPlan,
					"SELECT $2 + c.reopen_window >= pg_catalog.now()"
					" FROM naboom.community c WHERE c.community_id = $1",
					2, argtypes);
	args[0] = Int64GetDatum(g->community_id);
	args[1] = resolved;
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the reopen window");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, 1, &isnull);

		result = !isnull && DatumGetBool(d);
	}
	SPI_finish();
	return result;
}

/*
 * ActorMay says whether the actor may make transition t.  With listing set
 * it answers "could they, with the right arguments" (a responder could
 * dispatch by assigning themself), for the list of allowed next statuses.
 */
static bool
ActorMay(Guard *g, const WorkflowTransition *t, const char *new_assignee,
		 bool listing)
{
	const char *me = g->actor.user_ref;
	char	   *reporter;
	char	   *assignee;
	bool		is_reporter;

	if (g->actor.is_service)
		return (t->allowed & RULE_SERVICE) != 0;
	if (g->role >= MEMBER_MODERATOR)
		return true;

	reporter = TextAtt(g, g->oldtup, g->atts->reporter_ref);
	assignee = TextAtt(g, g->oldtup, g->atts->assignee_ref);
	is_reporter = StrEqual(reporter, me);

	if ((t->allowed & RULE_VERIFIER) && g->role >= MEMBER_VERIFIED && !is_reporter)
		return true;
	if ((t->allowed & RULE_SELF_ASSIGN) && g->role >= MEMBER_RESPONDER &&
		(listing || StrEqual(new_assignee, me)))
		return true;
	if ((t->allowed & RULE_ASSIGNEE) && assignee != NULL && StrEqual(assignee, me))
		return true;
	if ((t->allowed & RULE_REPORTER) && is_reporter)
		return true;
	if ((t->allowed & RULE_REPORTER_REOPEN) && is_reporter && WithinReopenWindow(g))
		return true;
	return false;
}

/*
 * AllowedNext lists the statuses the actor may move the incident to from
 * its current status, for error messages.
 */
static char *
AllowedNext(Guard *g, int from)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < g->wf->ntransitions; i++)
	{
		const WorkflowTransition *t = &g->wf->transitions[i];

		if (t->from != from || !ActorMay(g, t, NULL, true))
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, g->wf->statuses[t->to].name);
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "none");
	return buf.data;
}

/*
 * WhoMay describes, for an error message, who besides moderators may make
 * a transition.
 */
static char *
WhoMay(const WorkflowTransition *t)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (t->allowed & RULE_VERIFIER)
		appendStringInfoString(&buf, "a verified member or responder other than the reporter, ");
	if (t->allowed & RULE_SELF_ASSIGN)
		appendStringInfoString(&buf, "a responder assigning themself, ");
	if (t->allowed & RULE_ASSIGNEE)
		appendStringInfoString(&buf, "the assignee, ");
	if (t->allowed & RULE_REPORTER)
		appendStringInfoString(&buf, "the reporter, ");
	if (t->allowed & RULE_REPORTER_REOPEN)
		appendStringInfoString(&buf, "the reporter within the reopen window, ");
	if (t->allowed & RULE_SERVICE)
		appendStringInfoString(&buf, "the naboom service, ");
	appendStringInfoString(&buf, "a moderator or an admin");
	return buf.data;
}

/*
 * CheckDuplicateTarget enforces the duplicate_of rules: not the incident
 * itself, an incident of the same community that is still live, and no
 * cycle.  The target row is locked so it cannot be closed meanwhile.
 */
static void
CheckDuplicateTarget(Guard *g, int64 target)
{
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		args[3];
	bool		isnull;
	int64		self = Int64Att(g, g->oldtup, g->atts->incident_id, &isnull);
	char	   *status;
	char	   *target_ref;
	int			idx;
	SPIPlanPtr	plan;

	if (target == self)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_self",
						("incident %s cannot be a duplicate of itself", g->reference),
						("Name the other, live incident this one repeats."),
						"duplicate_of must name another incident.");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = KeptPlan(&TargetPlan,
					"SELECT i.status, i.reference FROM naboom.incident i"
					" WHERE i.community_id = $1 AND i.incident_id = $2"
					" FOR NO KEY UPDATE",
					2, argtypes);
	args[0] = Int64GetDatum(g->community_id);
	args[1] = Int64GetDatum(target);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the duplicate target");
	if (SPI_processed != 1)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_unknown",
						("duplicate_of names no incident of this community"),
						("Merge only into an incident of the same community."),
						"Incident %s cannot be merged into incident id " INT64_FORMAT ".",
						g->reference, target);
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	target_ref = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	idx = NaboomStatusIndex(g->wf, status);
	if (idx < 0 || g->wf->statuses[idx].type != 'o')
		NaboomErrorHint(ERRCODE_NABOOM_CONFLICT, "naboom.duplicate_of_closed",
						("cannot merge %s into %s: it is %s", g->reference, target_ref, status),
						("Merge into a live incident, or reopen that one first."),
						"Incidents can only be merged into an open incident.");

	plan = KeptPlan(&CyclePlan,
					"WITH RECURSIVE chain(id, depth) AS ("
					"  SELECT $2::pg_catalog.int8, 0"
					"  UNION ALL"
					"  SELECT i.duplicate_of, c.depth + 1 FROM chain c"
					"  JOIN naboom.incident i ON i.community_id = $1 AND i.incident_id = c.id"
					"  WHERE i.duplicate_of IS NOT NULL AND c.depth < 1000)"
					" SELECT pg_catalog.bool_or(chain.id = $3) FROM chain",
					3, argtypes);
	args[2] = Int64GetDatum(self);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not follow the duplicate chain");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_cycle",
						("merging %s into %s would make a cycle", g->reference, target_ref),
						("Merge the other way round."),
						"%s is already, directly or indirectly, a duplicate of %s.",
						target_ref, g->reference);
	SPI_finish();
}

/*
 * CheckRequirements enforces what a transition needs: a note, an assignee
 * who is a responder, a valid duplicate_of.  It also fixes status_note to
 * the note given with this transition (NULL when none was).
 */
static void
CheckRequirements(Guard *g, const WorkflowTransition *t, const char *to)
{
	const IncidentAtts *a = g->atts;
	char	   *note = AttAssigned(g, a->status_note) || AttChanged(g, a->status_note) ?
		TextAtt(g, g->newtup, a->status_note) : NULL;
	char	   *assignee = TextAtt(g, g->newtup, a->assignee_ref);
	bool		dup_null;
	int64		dup = Int64Att(g, g->newtup, a->duplicate_of, &dup_null);

	if (note != NULL && strspn(note, " \t\r\n") == strlen(note))
		note = NULL;
	if (t->requires_note && note == NULL)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.note_required",
						("a note is required to move incident %s to %s", g->reference, to),
						("Say what was done or why, in the note."),
						"Moving to %s needs a note.", to);
	SetAtt(g, a->status_note, note ? CStringGetTextDatum(note) : (Datum) 0, note == NULL);

	if (AttChanged(g, a->assignee_ref) && !t->requires_assignee)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.assignee_not_allowed",
						("the assignee of incident %s can only change when it is dispatched", g->reference),
						("Use assign_incident, or transition to dispatched with an assignee."),
						"Moving to %s does not assign anyone.", to);
	if (t->requires_assignee)
	{
		if (assignee == NULL)
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.assignee_required",
							("an assignee is required to move incident %s to %s", g->reference, to),
							("Assign a responder with assign_incident."),
							"Moving to %s needs an assignee.", to);
		if (LookupRole(g->community_id, assignee) < MEMBER_RESPONDER)
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.assignee_not_responder",
							("\"%s\" is not a responder of this community", assignee),
							("Assign a member whose role is responder or higher."),
							"Only responders, moderators and admins can be assigned incidents.");
	}

	if (AttChanged(g, a->duplicate_of) && !t->requires_duplicate_of)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_not_allowed",
						("duplicate_of can only be set when marking incident %s as a duplicate", g->reference),
						("Transition to duplicate with duplicate_of."),
						"Moving to %s does not merge incidents.", to);
	if (t->requires_duplicate_of)
	{
		if (dup_null)
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_required",
							("duplicate_of is required to mark incident %s as a duplicate", g->reference),
							("Name the live incident this one repeats."),
							"Moving to %s needs duplicate_of.", to);
		CheckDuplicateTarget(g, dup);
	}
}

/*
 * StampMilestones sets the timestamp of the status entered, and clears
 * resolved_at/closed_at when an incident is reopened.
 */
static void
StampMilestones(Guard *g, int from, int to)
{
	const WorkflowStatus *target = &g->wf->statuses[to];

	if (from == to)
		return;
	if (target->milestone != MILESTONE_NONE)
		SetAtt(g, g->atts->milestone[target->milestone],
			   TimestampTzGetDatum(g->now), false);
	/* A closed or fixed incident no longer escalates. */
	if (target->type != 'o')
		SetAtt(g, g->atts->next_escalation_at, (Datum) 0, true);
	if (target->type == 'o' && g->wf->statuses[from].type != 'o')
	{
		SetAtt(g, g->atts->milestone[MILESTONE_RESOLVED], (Datum) 0, true);
		SetAtt(g, g->atts->milestone[MILESTONE_CLOSED], (Datum) 0, true);
	}
}

/*
 * CheckTransition judges a change of status, assignee or duplicate_of.
 */
static void
CheckTransition(Guard *g)
{
	const IncidentAtts *a = g->atts;
	char	   *from_name = TextAtt(g, g->oldtup, a->status);
	char	   *to_name = TextAtt(g, g->newtup, a->status);
	int			from = NaboomStatusIndex(g->wf, from_name);
	int			to = NaboomStatusIndex(g->wf, to_name);
	const WorkflowTransition *t;

	if (!AttChanged(g, a->status) && !AttChanged(g, a->assignee_ref) &&
		!AttChanged(g, a->duplicate_of))
	{
		if (AttChanged(g, a->status_note))
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.note_without_transition",
							("status_note of incident %s changes only with its status", g->reference),
							("Use add_note to add a note to an incident."),
							"status_note holds the note given with the latest transition.");
		return;
	}
	if (from < 0 || to < 0)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.unknown_status",
						("unknown status \"%s\"", from < 0 ? from_name : to_name),
						("Use one of the statuses in naboom.status."),
						"The workflow has no such status.");

	t = NaboomFindTransition(g->wf, from, to);
	if (t == NULL)
		NaboomErrorHint(ERRCODE_NABOOM_CONFLICT, "naboom.invalid_transition",
						("incident %s cannot move from %s to %s", g->reference, from_name, to_name),
						("Choose one of the allowed next statuses."),
						"Incident %s is %s; allowed next statuses for you: %s.",
						g->reference, from_name, AllowedNext(g, from));
	if (!ActorMay(g, t, TextAtt(g, g->newtup, a->assignee_ref), false))
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.transition_forbidden",
						("you may not move incident %s from %s to %s", g->reference, from_name, to_name),
						("Ask a moderator of the community."),
						"Only %s may do that; allowed next statuses for you: %s.",
						WhoMay(t), AllowedNext(g, from));

	CheckRequirements(g, t, to_name);
	StampMilestones(g, from, to);
}

/*
 * CheckAcknowledgement judges setting acknowledged_by: once, by a responder
 * (or higher) acknowledging for themself, while the incident is open.  It
 * stamps acknowledged_at and stops escalation.
 */
static void
CheckAcknowledgement(Guard *g)
{
	const IncidentAtts *a = g->atts;
	char	   *before = TextAtt(g, g->oldtup, a->acknowledged_by);
	char	   *after = TextAtt(g, g->newtup, a->acknowledged_by);
	char	   *status = TextAtt(g, g->newtup, a->status);
	int			idx = NaboomStatusIndex(g->wf, status);
	NaboomRole	role = g->role;

	if (StrEqual(before, after))
		return;
	if (before != NULL)
		NaboomErrorHint(ERRCODE_NABOOM_CONFLICT, "naboom.already_acknowledged",
						("incident %s was already acknowledged", g->reference),
						("Nothing to do: escalation has stopped; coordinate with the first responder."),
						"It was acknowledged by \"%s\".", before);
	if (!g->actor.is_service && !StrEqual(after, g->actor.user_ref))
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.forged_actor",
						("you can only acknowledge incident %s yourself", g->reference),
						("Set acknowledged_by to your own user reference."),
						"acknowledged_by names \"%s\", not the caller.", after);
	if (g->actor.is_service)
		role = LookupRole(g->community_id, after);
	if (role < MEMBER_RESPONDER)
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.acknowledge_forbidden",
						("only responders and moderators acknowledge incidents"),
						("Ask a responder of the community to acknowledge it."),
						"\"%s\" is a %s of this community.", after, NaboomRoleName(role));
	if (idx < 0 || g->wf->statuses[idx].type != 'o')
		NaboomErrorHint(ERRCODE_NABOOM_CONFLICT, "naboom.incident_closed",
						("incident %s is %s", g->reference, status),
						("Only live incidents can be acknowledged."),
						"Incident %s is no longer open.", g->reference);

	SetAtt(g, a->acknowledged_at, TimestampTzGetDatum(g->now), false);
	SetAtt(g, a->next_escalation_at, (Datum) 0, true);
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

		if (TupleDescAttr(g->desc, att - 1)->attisdropped || !AttChanged(g, att))
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
	g->role = LookupRole(g->community_id, g->actor.user_ref);
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

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = KeptPlan(&ReferencePlan,
					"SELECT 1 FROM naboom.incident i WHERE i.reference = $1",
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
	SetAtt(g, a->area_id, Int64GetDatum(area_id), area_null);
	SetAtt(g, a->outside_boundary, BoolGetDatum(outside), false);
	SetAtt(g, a->poor_accuracy, BoolGetDatum(poor), false);
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
	char	   *status = TextAtt(g, g->newtup, a->status);
	char	   *reporter = TextAtt(g, g->newtup, a->reporter_ref);
	char	   *ref = TextAtt(g, g->newtup, a->reference);
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
		SetAtt(g, a->reporter_ref, CStringGetTextDatum(g->actor.user_ref), false);
		SetAtt(g, a->created_at, TimestampTzGetDatum(g->now), false);
	}
	if (!StrEqual(status, INITIAL_STATUS))
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
		SetAtt(g, a->reference, CStringGetTextDatum(UniqueReference()), false);
	SetAtt(g, a->version, Int32GetDatum(1), false);
	SetAtt(g, a->updated_at, TimestampTzGetDatum(g->now), false);
	SetAtt(g, a->updated_by, g->actor.user_ref ?
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

	g->reference = TextAtt(g, g->oldtup, a->reference);
	ResolveActor(g);
	CheckColumns(g);
	CheckTransition(g);
	CheckAcknowledgement(g);
	if (a->routes && (AttChanged(g, a->location) || AttChanged(g, a->accuracy_m)))
		Route(g);

	SetAtt(g, a->version, Int32GetDatum(version + 1), false);
	SetAtt(g, a->updated_at, TimestampTzGetDatum(g->now), false);
	SetAtt(g, a->updated_by, g->actor.user_ref ?
		   CStringGetTextDatum(g->actor.user_ref) : (Datum) 0,
		   g->actor.user_ref == NULL);
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
	Oid			save_userid;
	int			save_sec;
	bool		isnull;
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

	memset(&g, 0, sizeof(g));
	g.rel = trigdata->tg_relation;
	g.desc = RelationGetDescr(g.rel);
	g.now = GetCurrentTransactionStartTimestamp();
	natts = g.desc->natts;
	g.values = palloc0(sizeof(Datum) * natts);
	g.nulls = palloc0(sizeof(bool) * natts);
	g.replace = palloc0(sizeof(bool) * natts);

	/* Judge and look up as the table owner, as the RI triggers do. */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(g.rel->rd_rel->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);

	g.atts = NaboomIncidentAtts(g.rel);
	g.wf = NaboomGetWorkflow();
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		g.newtup = trigdata->tg_trigtuple;
		g.community_id = Int64Att(&g, g.newtup, g.atts->community_id, &isnull);
		if (isnull)
			NaboomErrorHint(ERRCODE_NOT_NULL_VIOLATION, "naboom.community_required",
							("a new incident needs a community"),
							("Give the community_id of the community where it happened."),
							"community_id is NULL.");
		NaboomAuditSetSubject(g.community_id, Int64Att(&g, g.newtup, g.atts->incident_id, &isnull));
		GuardInsert(&g);
	}
	else
	{
		g.oldtup = trigdata->tg_trigtuple;
		g.newtup = trigdata->tg_newtuple;
		g.updatedcols = trigdata->tg_updatedcols;
		g.community_id = Int64Att(&g, g.oldtup, g.atts->community_id, &isnull);
		NaboomAuditSetSubject(g.community_id, Int64Att(&g, g.oldtup, g.atts->incident_id, &isnull));
		GuardUpdate(&g);
	}

	SetUserIdAndSecContext(save_userid, save_sec);
	NaboomAuditSetSubject(0, 0);

	result = heap_modify_tuple(g.newtup, g.desc, g.values, g.nulls, g.replace);
	return PointerGetDatum(result);
}
