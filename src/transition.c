/*-------------------------------------------------------------------------
 *
 * transition.c
 *	  Judging a change of status, assignee or duplicate_of, and an
 *	  acknowledgement, for the workflow trigger (workflow.c).
 *
 * The change is looked up in the cached transition table
 * (transition_cache.c) and the actor's role in the incident's community; a
 * refused transition names the current status and the statuses this
 * caller may move it to.  Then what the transition requires is checked (a
 * note, an assignee who is a responder, a live duplicate_of that does not
 * lead back), and the milestone of the status entered is stamped.  Runs as
 * the table owner (the trigger switched), with kept plans whose text
 * qualifies every name and operator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "events.h"
#include "naboom.h"
#include "spi_util.h"
#include "transition.h"

static SPIPlanPtr RolePlan = NULL;
static SPIPlanPtr ReopenPlan = NULL;
static SPIPlanPtr TargetPlan = NULL;
static SPIPlanPtr CyclePlan = NULL;

/*
 * NaboomLookupRole returns a user's role in a community, MEMBER_NONE if they are
 * not a member.
 */
NaboomRole
NaboomLookupRole(int64 community_id, const char *user_ref)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	NaboomRole	role = MEMBER_NONE;
	SPIPlanPtr	plan;

	if (user_ref == NULL)
		return MEMBER_NONE;
	NaboomSpiConnect();
	plan = NaboomKeptPlan(&RolePlan,
						  "SELECT m.role::pg_catalog.text FROM naboom.member m"
						  " WHERE m.community_id OPERATOR(pg_catalog.=) $1"
						  " AND m.user_ref OPERATOR(pg_catalog.=) $2",
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
	NaboomSpiConnect();
	plan = NaboomKeptPlan(&ReopenPlan,
						  "SELECT ($2 OPERATOR(pg_catalog.+) c.reopen_window)"
						  "  OPERATOR(pg_catalog.>=) pg_catalog.now()"
						  " FROM naboom.community c WHERE c.community_id OPERATOR(pg_catalog.=) $1",
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
	{
		/*
		 * authority_update moves an incident as the authority: only along
		 * transitions the workflow table allows authorities.
		 */
		if (naboom_acting_authority != NULL && naboom_acting_authority[0] != '\0')
			return (t->allowed & RULE_AUTHORITY) != 0;
		return (t->allowed & RULE_SERVICE) != 0;
	}
	if (g->role >= MEMBER_MODERATOR)
		return true;

	reporter = GuardText(g, g->oldtup, g->atts->reporter_ref);
	assignee = GuardText(g, g->oldtup, g->atts->assignee_ref);
	is_reporter = NaboomStrEqual(reporter, me);

	if ((t->allowed & RULE_VERIFIER) && g->role >= MEMBER_VERIFIED && !is_reporter)
		return true;
	if ((t->allowed & RULE_SELF_ASSIGN) && g->role >= MEMBER_RESPONDER &&
		(listing || NaboomStrEqual(new_assignee, me)))
		return true;
	if ((t->allowed & RULE_ASSIGNEE) && assignee != NULL && NaboomStrEqual(assignee, me))
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
	if (t->allowed & RULE_AUTHORITY)
		appendStringInfoString(&buf, "an authority's update, ");
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
	int64		self = GuardInt64(g, g->oldtup, g->atts->incident_id, &isnull);
	char	   *status;
	char	   *target_ref;
	int			idx;
	SPIPlanPtr	plan;

	if (target == self)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.duplicate_of_self",
						("incident %s cannot be a duplicate of itself", g->reference),
						("Name the other, live incident this one repeats."),
						"duplicate_of must name another incident.");

	NaboomSpiConnect();
	plan = NaboomKeptPlan(&TargetPlan,
						  "SELECT i.status, i.reference FROM naboom.incident i"
						  " WHERE i.community_id OPERATOR(pg_catalog.=) $1"
						  " AND i.incident_id OPERATOR(pg_catalog.=) $2"
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

	plan = NaboomKeptPlan(&CyclePlan,
						  "WITH RECURSIVE chain(id, depth) AS ("
						  "  SELECT $2::pg_catalog.int8, 0"
						  "  UNION ALL"
						  "  SELECT i.duplicate_of, c.depth OPERATOR(pg_catalog.+) 1 FROM chain c"
						  "  JOIN naboom.incident i ON i.community_id OPERATOR(pg_catalog.=) $1"
						  "   AND i.incident_id OPERATOR(pg_catalog.=) c.id"
						  "  WHERE i.duplicate_of IS NOT NULL AND c.depth OPERATOR(pg_catalog.<) 1000)"
						  " SELECT pg_catalog.bool_or(chain.id OPERATOR(pg_catalog.=) $3) FROM chain",
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
	char	   *note = GuardAssigned(g, a->status_note) || GuardChanged(g, a->status_note) ?
		GuardText(g, g->newtup, a->status_note) : NULL;
	char	   *assignee = GuardText(g, g->newtup, a->assignee_ref);
	bool		dup_null;
	int64		dup = GuardInt64(g, g->newtup, a->duplicate_of, &dup_null);

	if (note != NULL && strspn(note, " \t\r\n") == strlen(note))
		note = NULL;
	if (t->requires_note && note == NULL)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.note_required",
						("a note is required to move incident %s to %s", g->reference, to),
						("Say what was done or why, in the note."),
						"Moving to %s needs a note.", to);
	GuardSet(g, a->status_note, note ? CStringGetTextDatum(note) : (Datum) 0, note == NULL);

	if (GuardChanged(g, a->assignee_ref) && !t->requires_assignee)
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
		if (NaboomLookupRole(g->community_id, assignee) < MEMBER_RESPONDER)
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.assignee_not_responder",
							("\"%s\" is not a responder of this community", assignee),
							("Assign a member whose role is responder or higher."),
							"Only responders, moderators and admins can be assigned incidents.");
	}

	if (GuardChanged(g, a->duplicate_of) && !t->requires_duplicate_of)
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
		GuardSet(g, g->atts->milestone[target->milestone],
			   TimestampTzGetDatum(g->now), false);
	/* A closed or fixed incident no longer escalates. */
	if (target->type != 'o')
		GuardSet(g, g->atts->next_escalation_at, (Datum) 0, true);
	if (target->type == 'o' && g->wf->statuses[from].type != 'o')
	{
		GuardSet(g, g->atts->milestone[MILESTONE_RESOLVED], (Datum) 0, true);
		GuardSet(g, g->atts->milestone[MILESTONE_CLOSED], (Datum) 0, true);
	}
}

/*
 * NaboomCheckTransition judges a change of status, assignee or duplicate_of.
 */
void
NaboomCheckTransition(Guard *g)
{
	const IncidentAtts *a = g->atts;
	char	   *from_name = GuardText(g, g->oldtup, a->status);
	char	   *to_name = GuardText(g, g->newtup, a->status);
	int			from = NaboomStatusIndex(g->wf, from_name);
	int			to = NaboomStatusIndex(g->wf, to_name);
	const WorkflowTransition *t;

	if (!GuardChanged(g, a->status) && !GuardChanged(g, a->assignee_ref) &&
		!GuardChanged(g, a->duplicate_of))
	{
		if (GuardChanged(g, a->status_note))
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
	if (!ActorMay(g, t, GuardText(g, g->newtup, a->assignee_ref), false))
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.transition_forbidden",
						("you may not move incident %s from %s to %s", g->reference, from_name, to_name),
						("Ask a moderator of the community."),
						"Only %s may do that; allowed next statuses for you: %s.",
						WhoMay(t), AllowedNext(g, from));

	CheckRequirements(g, t, to_name);
	StampMilestones(g, from, to);
}

/*
 * NaboomCheckAcknowledgement judges setting acknowledged_by: once, by a responder
 * (or higher) acknowledging for themself, while the incident is open.  It
 * stamps acknowledged_at and stops escalation.
 */
void
NaboomCheckAcknowledgement(Guard *g)
{
	const IncidentAtts *a = g->atts;
	char	   *before = GuardText(g, g->oldtup, a->acknowledged_by);
	char	   *after = GuardText(g, g->newtup, a->acknowledged_by);
	char	   *status = GuardText(g, g->newtup, a->status);
	int			idx = NaboomStatusIndex(g->wf, status);
	NaboomRole	role = g->role;

	if (NaboomStrEqual(before, after))
		return;
	if (before != NULL)
		NaboomErrorHint(ERRCODE_NABOOM_CONFLICT, "naboom.already_acknowledged",
						("incident %s was already acknowledged", g->reference),
						("Nothing to do: escalation has stopped; coordinate with the first responder."),
						"It was acknowledged by \"%s\".", before);
	if (!g->actor.is_service && !NaboomStrEqual(after, g->actor.user_ref))
		NaboomErrorHint(ERRCODE_INSUFFICIENT_PRIVILEGE, "naboom.forged_actor",
						("you can only acknowledge incident %s yourself", g->reference),
						("Set acknowledged_by to your own user reference."),
						"acknowledged_by names \"%s\", not the caller.", after);
	if (g->actor.is_service)
		role = NaboomLookupRole(g->community_id, after);
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

	GuardSet(g, a->acknowledged_at, TimestampTzGetDatum(g->now), false);
	GuardSet(g, a->next_escalation_at, (Datum) 0, true);
}
