/*-------------------------------------------------------------------------
 *
 * transition_cache.h
 *	  The incident workflow: statuses and allowed transitions, cached per
 *	  backend from naboom.status and naboom.transition, and the column
 *	  numbers of naboom.incident (transition_cache.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_TRANSITION_CACHE_H
#define NABOOM_TRANSITION_CACHE_H

#include "access/attnum.h"
#include "utils/rel.h"

/* Who, besides a moderator or admin, may make a transition. */
typedef enum ActorRule
{
	RULE_VERIFIER = 1 << 0,		/* verified member or responder, not the reporter */
	RULE_SELF_ASSIGN = 1 << 1,	/* responder assigning themself */
	RULE_ASSIGNEE = 1 << 2,		/* the current assignee */
	RULE_REPORTER = 1 << 3,		/* the reporter */
	RULE_REPORTER_REOPEN = 1 << 4,	/* the reporter within the reopen window */
	RULE_SERVICE = 1 << 5,		/* the naboom service (jobs, integrations) */
	RULE_AUTHORITY = 1 << 6		/* an authority's update (authority_update) */
} ActorRule;

/* The incident timestamp a status stamps when it is entered. */
typedef enum Milestone
{
	MILESTONE_NONE = 0,
	MILESTONE_DISPATCHED,
	MILESTONE_EN_ROUTE,
	MILESTONE_ON_SCENE,
	MILESTONE_RESOLVED,
	MILESTONE_CLOSED,
	MILESTONE_COUNT
} Milestone;

typedef struct WorkflowStatus
{
	char	   *name;
	char		type;			/* 'o'pen, 'f'ixed or 'c'losed */
	Milestone	milestone;
} WorkflowStatus;

typedef struct WorkflowTransition
{
	int			from;			/* index into statuses */
	int			to;
	int			allowed;		/* ActorRule bits */
	bool		requires_note;
	bool		requires_assignee;
	bool		requires_duplicate_of;
} WorkflowTransition;

typedef struct Workflow
{
	int			nstatuses;
	WorkflowStatus *statuses;
	int			ntransitions;
	WorkflowTransition *transitions;
} Workflow;

extern const Workflow *NaboomGetWorkflow(void);
extern int	NaboomStatusIndex(const Workflow *wf, const char *name);
extern const WorkflowTransition *NaboomFindTransition(const Workflow *wf,
													  int from, int to);

/* Column numbers of naboom.incident, looked up once per relation. */
typedef struct IncidentAtts
{
	Oid			relid;
	AttrNumber	community_id;
	AttrNumber	incident_id;
	AttrNumber	reference;
	AttrNumber	kind;
	AttrNumber	status;
	AttrNumber	status_note;
	AttrNumber	reporter_ref;
	AttrNumber	assignee_ref;
	AttrNumber	duplicate_of;
	AttrNumber	client_ref;
	AttrNumber	version;
	AttrNumber	created_at;
	AttrNumber	updated_at;
	AttrNumber	updated_by;
	AttrNumber	acknowledged_at;
	AttrNumber	acknowledged_by;
	AttrNumber	next_escalation_at;
	AttrNumber	location;
	AttrNumber	accuracy_m;
	AttrNumber	area_id;
	AttrNumber	outside_boundary;
	AttrNumber	poor_accuracy;	/* InvalidAttrNumber before 0.2.0 */
	bool		routes;			/* schema 0.2.0 or later: the trigger routes */
	AttrNumber	milestone[MILESTONE_COUNT];
} IncidentAtts;

extern const IncidentAtts *NaboomIncidentAtts(Relation rel);

#endif							/* NABOOM_TRANSITION_CACHE_H */
