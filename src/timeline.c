/*-------------------------------------------------------------------------
 *
 * timeline.c
 *	  The incident timeline: one entry per report, status change,
 *	  assignment, acknowledgement and merge, numbered per incident.
 *
 * The AFTER INSERT OR UPDATE row trigger on naboom.incident compares the old
 * and new row (already judged and stamped by workflow.c) and appends the
 * entries, and their events (events.c).  Entry numbers are max(seq) + 1 for the incident: every writer of
 * an incident's timeline holds that incident's row lock (the UPDATE itself,
 * or add_note's SELECT ... FOR NO KEY UPDATE), so numbers never collide and
 * follow the order of the changes.
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
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/rel.h"

#include "naboom.h"
#include "restore.h"
#include "events.h"
#include "retention_engine.h"
#include "spi_util.h"
#include "timeline.h"
#include "transition_cache.h"

static SPIPlanPtr AppendPlan = NULL;

/*
 * NaboomTimelineAppend adds one entry to an incident's timeline.  The caller
 * holds the incident's row lock and runs as a role that may write the
 * timeline.  detail_json may be NULL.
 */
void
NaboomTimelineAppend(int64 community_id, int64 incident_id,
					const char *actor_ref, const char *kind,
					const char *from_status, const char *to_status,
					const char *note, bool is_public, const char *detail_json)
{
	Oid			argtypes[9] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, BOOLOID, JSONBOID};
	Datum		args[9];
	char		nulls[9];
	int			ret;

	NaboomSpiConnect();
	NaboomKeptPlan(&AppendPlan,
				   "INSERT INTO naboom.incident_timeline"
				   " (community_id, incident_id, seq, actor_ref, entry_kind,"
				   "  from_status, to_status, note, is_public, detail)"
				   " SELECT $1, $2, COALESCE(pg_catalog.max(t.seq), 0) OPERATOR(pg_catalog.+) 1,"
				   "  $3, $4, $5, $6, $7, $8, $9"
				   " FROM naboom.incident_timeline t"
				   " WHERE t.community_id OPERATOR(pg_catalog.=) $1"
				   "  AND t.incident_id OPERATOR(pg_catalog.=) $2",
				   9, argtypes);

	memset(nulls, ' ', sizeof(nulls));
	args[0] = Int64GetDatum(community_id);
	args[1] = Int64GetDatum(incident_id);
#define TEXT_ARG(i, s) \
	do { if ((s) == NULL) nulls[i] = 'n'; else args[i] = CStringGetTextDatum(s); } while (0)
	TEXT_ARG(2, actor_ref);
	TEXT_ARG(3, kind);
	TEXT_ARG(4, from_status);
	TEXT_ARG(5, to_status);
	TEXT_ARG(6, note);
#undef TEXT_ARG
	args[7] = BoolGetDatum(is_public);
	if (detail_json == NULL)
		nulls[8] = 'n';
	else
		args[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(detail_json));

	ret = SPI_execute_plan(AppendPlan, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "could not append to the incident timeline: %d", ret);
	SPI_finish();
}

/* Small accessors over the trigger's tuples. */
static char *
GetText(HeapTuple tup, TupleDesc desc, AttrNumber att)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
GetInt64(HeapTuple tup, TupleDesc desc, AttrNumber att, bool *isnull)
{
	Datum		d = heap_getattr(tup, att, desc, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static bool
Differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * JsonPair returns {"key": "value"} with the value escaped.
 */
static char *
JsonPair(const char *key, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	escape_json(&buf, key);
	appendStringInfoChar(&buf, ':');
	escape_json(&buf, value);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* A column by name: for the few the event stream needs beyond IncidentAtts. */
static Datum
GetByName(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	int			att = SPI_fnumber(desc, name);

	if (att <= 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return heap_getattr(tup, att, desc, isnull);
}

/*
 * Event appends one event about the incident in tup: its community, its
 * visibility (private incidents' events are for staff and the reporter),
 * a topic and a small payload of statuses and levels, never people.
 * Returns 1: the number of events it wrote.
 */
static int
Event(const IncidentAtts *a, TupleDesc desc, HeapTuple tup, int64 incident_id,
	  const char *topic, const char *payload)
{
	bool		isnull;
	int64		community_id = GetInt64(tup, desc, a->community_id, &isnull);
	Datum		pub = GetByName(tup, desc, "is_public", &isnull);

	NaboomEventAppend(community_id, &incident_id, topic, isnull || DatumGetBool(pub), payload);
	return 1;
}

/* {"from": a, "to": b} */
static char *
FromTo(const char *from, const char *to)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"from\":");
	escape_json(&buf, from);
	appendStringInfoString(&buf, ",\"to\":");
	escape_json(&buf, to);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * TimelineUpdate writes the entries one UPDATE of an incident stands for,
 * and their events.
 */
static void
TimelineUpdate(const IncidentAtts *a, TupleDesc desc, HeapTuple oldtup,
			  HeapTuple newtup)
{
	bool		isnull;
	int64		community_id = GetInt64(newtup, desc, a->community_id, &isnull);
	int64		incident_id = GetInt64(newtup, desc, a->incident_id, &isnull);
	char	   *actor = GetText(newtup, desc, a->updated_by);
	char	   *old_status = GetText(oldtup, desc, a->status);
	char	   *new_status = GetText(newtup, desc, a->status);
	char	   *old_assignee = GetText(oldtup, desc, a->assignee_ref);
	char	   *new_assignee = GetText(newtup, desc, a->assignee_ref);
	bool		old_dup_null,
				new_dup_null;
	int64		old_dup = GetInt64(oldtup, desc, a->duplicate_of, &old_dup_null);
	int64		new_dup = GetInt64(newtup, desc, a->duplicate_of, &new_dup_null);

	bool		old_level_null,
				new_level_null;
	int32		old_level = DatumGetInt32(GetByName(oldtup, desc, "escalation_level", &old_level_null));
	int32		new_level = DatumGetInt32(GetByName(newtup, desc, "escalation_level", &new_level_null));
	bool		old_pub_null,
				new_pub_null;
	bool		old_public = DatumGetBool(GetByName(oldtup, desc, "is_public", &old_pub_null));
	bool		new_public = DatumGetBool(GetByName(newtup, desc, "is_public", &new_pub_null));
	int			announced = 0;

	if (Differs(old_status, new_status) || Differs(old_assignee, new_assignee))
		NaboomTimelineAppend(community_id, incident_id, actor,
							strcmp(old_status, new_status) == 0 ? "assigned" : "status_changed",
							old_status, new_status,
							GetText(newtup, desc, a->status_note), true,
							Differs(old_assignee, new_assignee) && new_assignee ?
							JsonPair("assignee", new_assignee) : NULL);
	if (Differs(old_status, new_status))
		announced += Event(a, desc, newtup, incident_id, "incident.status_changed", FromTo(old_status, new_status));
	if (Differs(old_assignee, new_assignee) && new_assignee != NULL)
		announced += Event(a, desc, newtup, incident_id, "incident.assigned", JsonPair("status", new_status));

	if (!new_dup_null && (old_dup_null || old_dup != new_dup))
	{
		NaboomTimelineAppend(community_id, new_dup, actor, "merged",
							NULL, NULL, NULL, true,
							JsonPair("merged", GetText(newtup, desc, a->reference)));
		Event(a, desc, newtup, new_dup, "incident.merged",
			  JsonPair("merged", GetText(newtup, desc, a->reference)));
	}

	if (Differs(GetText(oldtup, desc, a->acknowledged_by),
				GetText(newtup, desc, a->acknowledged_by)))
	{
		NaboomTimelineAppend(community_id, incident_id, actor, "acknowledged",
							NULL, NULL, NULL, true, NULL);
		announced += Event(a, desc, newtup, incident_id, "incident.acknowledged", JsonPair("status", new_status));
	}

	/* An escalation step (naboom.run_escalation raises the level). */
	if (!old_level_null && !new_level_null && new_level > old_level)
	{
		char	   *level = psprintf("{\"level\":%d}", new_level);

		NaboomTimelineAppend(community_id, incident_id, actor, "escalated",
							NULL, NULL, NULL, true, level);
		announced += Event(a, desc, newtup, incident_id, "incident.escalated", level);
	}

	/*
	 * Every other change of the incident (a moderator's edit of its content
	 * or of is_public, a new status note) is announced too, with its
	 * version, so that a consumer of the stream, and offline sync
	 * (naboom_api.incident_changes), sees every version.  When the incident
	 * stops being public the announcement is public, so that whoever could
	 * see it learns that it is gone.
	 */
	if (announced == 0 || (!old_pub_null && old_public && !new_pub_null && !new_public))
	{
		bool		ver_null;
		int32		version = DatumGetInt32(heap_getattr(newtup, a->version, desc, &ver_null));

		NaboomEventAppend(community_id, &incident_id, "incident.updated",
						  (!old_pub_null && old_public) || new_pub_null || new_public,
						  psprintf("{\"version\":%d}", ver_null ? 0 : version));
	}
}

/* The entries of a new incident: "reported", and its first event. */
static void
TimelineInsert(const IncidentAtts *a, TupleDesc desc, HeapTuple tup)
{
	bool		isnull;
	int64		incident_id = GetInt64(tup, desc, a->incident_id, &isnull);
	char	   *kind = SPI_getvalue(tup, desc, a->kind);	/* an enum */
	int			prio = SPI_fnumber(desc, "priority");

	NaboomTimelineAppend(GetInt64(tup, desc, a->community_id, &isnull), incident_id,
						 GetText(tup, desc, a->updated_by), "reported",
						 NULL, GetText(tup, desc, a->status), NULL, true, NULL);
	Event(a, desc, tup, incident_id,
		  kind != NULL && strcmp(kind, "panic") == 0 ? "panic.raised" : "incident.created",
		  prio > 0 ? JsonPair("priority", SPI_getvalue(tup, desc, prio)) : NULL);
}

/* The entries of one row change; runs as the table owner. */
static void
TimelineChange(void *arg)
{
	TriggerData *trigdata = (TriggerData *) arg;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	const IncidentAtts *a = NaboomIncidentAtts(rel);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		TimelineInsert(a, desc, trigdata->tg_trigtuple);
	else
		TimelineUpdate(a, desc, trigdata->tg_trigtuple, trigdata->tg_newtuple);
}

PG_FUNCTION_INFO_V1(naboom_incident_journal);

/*
 * naboom_incident_journal is the AFTER INSERT OR UPDATE FOR EACH ROW trigger
 * on naboom.incident that keeps the timeline.
 */
Datum
naboom_incident_journal(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_incident_journal: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "naboom_incident_journal: must be fired AFTER");
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "naboom_incident_journal: must be fired FOR EACH ROW");
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		elog(ERROR, "naboom_incident_journal: must be fired by INSERT or UPDATE");
	/*
	 * Anonymising is not a workflow step: no timeline entry, no event.  A
	 * restore loads the timeline and the events from the dump (restore.c).
	 */
	if (NaboomRetentionActive || NaboomRestoring())
		return PointerGetDatum(NULL);

	rel = trigdata->tg_relation;
	/* The timeline is written as the table owner: callers cannot write it. */
	NaboomRunAsOwner(rel->rd_rel->relowner, TimelineChange, trigdata);
	PG_RETURN_POINTER(NULL);
}
