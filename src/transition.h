/*-------------------------------------------------------------------------
 *
 * transition.h
 *	  Judging one change of an incident's workflow columns (transition.c),
 *	  and the row change the workflow trigger (workflow.c) and the judges
 *	  share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_TRANSITION_H
#define NABOOM_TRANSITION_H

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "nodes/bitmapset.h"
#include "utils/datum.h"
#include "utils/rel.h"

#include "identity.h"
#include "transition_cache.h"

/* Everything the checks need about one row change. */
typedef struct Guard
{
	TriggerData *trigdata;
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

/* Small accessors over the row change (inline: both files use them). */

/* Text value of a column of a tuple, or NULL. */
static inline char *
GuardText(Guard *g, HeapTuple tup, AttrNumber att)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, g->desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static inline int64
GuardInt64(Guard *g, HeapTuple tup, AttrNumber att, bool *isnull)
{
	Datum		d = heap_getattr(tup, att, g->desc, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static inline bool
NaboomStrEqual(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Has column att a different value in newtup than in oldtup? */
static inline bool
GuardChanged(Guard *g, AttrNumber att)
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
static inline bool
GuardAssigned(Guard *g, AttrNumber att)
{
	return bms_is_member(att - FirstLowInvalidHeapAttributeNumber, g->updatedcols);
}

static inline void
GuardSet(Guard *g, AttrNumber att, Datum value, bool isnull)
{
	g->values[att - 1] = value;
	g->nulls[att - 1] = isnull;
	g->replace[att - 1] = true;
}

extern NaboomRole NaboomLookupRole(int64 community_id, const char *user_ref);
extern void NaboomCheckTransition(Guard *g);
extern void NaboomCheckAcknowledgement(Guard *g);

#endif							/* NABOOM_TRANSITION_H */
