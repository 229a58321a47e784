/*-------------------------------------------------------------------------
 *
 * alerts.c
 *	  Alert fan-out: when an incident is reported (and when it escalates),
 *	  one alert row for each member who should hear of it, in the same
 *	  transaction.
 *
 * Who gets an alert:
 *	- members whose subscription circle or subscribed area covers the
 *	  incident, for its category and at or above their minimum priority,
 *	  if they may see it (a private incident only reaches responders and
 *	  moderators);
 *	- for high and critical incidents, the community's nearest on-duty
 *	  responders with a fresh position (alert_responders of them within
 *	  alert_radius_m; escalation asks for more, further out).
 * Never the reporter, never across communities, and exactly once per member
 * per incident (the alert_once constraint; a later ring skips those already
 * alerted before it counts).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "naboom.h"
#include "citus.h"
#include "restore.h"
#include "events.h"
#include "spatial.h"
#include "spi_util.h"
#include "transition_cache.h"

/*
 * Kept plans: [schema has area subscriptions][later ring].  The first ring
 * (a new incident has no alerts yet) needs no arbiter; later rings may meet
 * earlier alerts.
 */
static SPIPlanPtr RingPlans[2][2] = {{NULL, NULL}, {NULL, NULL}};

/*
 * The fan-out: subscribers whose circle covers the incident, subscribers to
 * an area that covers it, and the nearest fresh on-duty responders for high
 * and critical priority; never the reporter; one row per member (a
 * responder alert first, then the nearest circle, then an area).  "@." is
 * the PostGIS schema.
 *
 * Area subscriptions are matched by every area whose boundary covers the
 * point (GiST on area.boundary, then ST_Covers), not by the incident's
 * area_id: that is the smallest area holding it, and a subscriber to a farm
 * block must hear of an incident in a ward nested inside it.  The EXISTS is
 * uncorrelated, so it runs once as a one-time filter on the partial index
 * subscription_area_idx: a community with no area subscriptions pays one
 * empty index probe and tests no polygon.  The responders' positions are
 * read before their memberships (OFFSET 0), as in responder_search.
 */
#define FAN_OUT_SUBSCRIBERS \
"WITH inc AS (" \
"  SELECT i.community_id, i.incident_id, i.location," \
"   i.location::@.geography AS g, i.category_code, i.priority," \
"   i.is_public, i.reporter_ref," \
"   CASE WHEN $3 OPERATOR(pg_catalog.>=) 0 THEN $3" \
"    WHEN i.priority OPERATOR(pg_catalog.>=) 'high'::naboom.priority THEN c.alert_responders" \
"    ELSE 0 END AS n," \
"   COALESCE($4, c.alert_radius_m) AS radius," \
"   naboom.search_box(@.st_y(i.location), @.st_x(i.location)," \
"    COALESCE($4, c.alert_radius_m)) AS box" \
"  FROM naboom.incident i" \
"  JOIN naboom.community c ON c.community_id OPERATOR(pg_catalog.=) i.community_id" \
"  WHERE i.community_id OPERATOR(pg_catalog.=) $1 AND i.incident_id OPERATOR(pg_catalog.=) $2)," \
" subscribers AS (" \
"  SELECT s.user_ref, 'subscription'::pg_catalog.text AS reason," \
"   @.st_distance(s.centre::@.geography, inc.g) AS distance_m," \
"   s.subscription_id, 2 AS pref" \
"  FROM inc" \
"  JOIN naboom.subscription s ON s.community_id OPERATOR(pg_catalog.=) inc.community_id" \
"   AND s.reach OPERATOR(@.&&) inc.location" \
"  JOIN naboom.member m ON m.community_id OPERATOR(pg_catalog.=) s.community_id" \
"   AND m.user_ref OPERATOR(pg_catalog.=) s.user_ref" \
"  WHERE $5 OPERATOR(pg_catalog.=) 0" \
"   AND @.st_dwithin(s.centre::@.geography, inc.g, s.radius_m)" \
"   AND (s.categories IS NULL OR inc.category_code OPERATOR(pg_catalog.=) ANY (s.categories))" \
"   AND s.min_priority OPERATOR(pg_catalog.<=) inc.priority" \
"   AND (inc.is_public OR m.role OPERATOR(pg_catalog.>=) 'responder'::naboom.member_role)" \
"   AND NOT coalesce(s.user_ref OPERATOR(pg_catalog.=) inc.reporter_ref, false)),"

#define FAN_OUT_AREA_SUBSCRIBERS \
" area_subscribers AS (" \
"  SELECT s.user_ref, 'subscription'::pg_catalog.text AS reason," \
"   NULL::float8 AS distance_m, s.subscription_id, 2 AS pref" \
"  FROM inc" \
"  JOIN naboom.area a ON a.community_id OPERATOR(pg_catalog.=) inc.community_id" \
"   AND a.boundary OPERATOR(@.&&) inc.location" \
"  JOIN naboom.subscription s ON s.community_id OPERATOR(pg_catalog.=) a.community_id" \
"   AND s.area_id OPERATOR(pg_catalog.=) a.area_id" \
"  JOIN naboom.member m ON m.community_id OPERATOR(pg_catalog.=) s.community_id" \
"   AND m.user_ref OPERATOR(pg_catalog.=) s.user_ref" \
"  WHERE $5 OPERATOR(pg_catalog.=) 0 AND s.area_id IS NOT NULL" \
"   AND EXISTS (SELECT 1 FROM naboom.subscription x" \
"    WHERE x.community_id OPERATOR(pg_catalog.=) $1 AND x.area_id IS NOT NULL)" \
"   AND @.st_covers(a.boundary, inc.location)" \
"   AND (s.categories IS NULL OR inc.category_code OPERATOR(pg_catalog.=) ANY (s.categories))" \
"   AND s.min_priority OPERATOR(pg_catalog.<=) inc.priority" \
"   AND (inc.is_public OR m.role OPERATOR(pg_catalog.>=) 'responder'::naboom.member_role)" \
"   AND NOT coalesce(s.user_ref OPERATOR(pg_catalog.=) inc.reporter_ref, false)),"

#define FAN_OUT_RESPONDERS \
" responders AS (" \
"  SELECT p.user_ref, 'responder'::pg_catalog.text AS reason, p.distance_m," \
"   NULL::bigint AS subscription_id, 1 AS pref" \
"  FROM (SELECT p.user_ref," \
"    @.st_distance(p.position::@.geography, inc.g) AS distance_m" \
"   FROM inc" \
"   JOIN naboom.responder_position p ON p.community_id OPERATOR(pg_catalog.=) $1" \
"   WHERE p.reported_at OPERATOR(pg_catalog.>=)" \
"     (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $6))" \
"    AND p.position OPERATOR(@.&&) @.st_makeenvelope(inc.box[1], inc.box[2]," \
"     inc.box[3], inc.box[4], 4326)" \
"    AND @.st_dwithin(p.position::@.geography, inc.g, inc.radius)" \
"    AND NOT coalesce(p.user_ref OPERATOR(pg_catalog.=) inc.reporter_ref, false)" \
"    AND ($5 OPERATOR(pg_catalog.=) 0 OR NOT EXISTS (SELECT 1 FROM naboom.alert a" \
"     WHERE a.community_id OPERATOR(pg_catalog.=) $1 AND a.incident_id OPERATOR(pg_catalog.=) $2" \
"      AND a.user_ref OPERATOR(pg_catalog.=) p.user_ref))" \
"   OFFSET 0) p" \
"  JOIN naboom.member m ON m.community_id OPERATOR(pg_catalog.=) $1" \
"   AND m.user_ref OPERATOR(pg_catalog.=) p.user_ref" \
"  WHERE m.on_duty AND m.role OPERATOR(pg_catalog.>=) 'responder'::naboom.member_role" \
"  ORDER BY p.distance_m, p.user_ref" \
"  LIMIT (SELECT inc.n FROM inc))"

#define FAN_OUT_INSERT(sources) \
" INSERT INTO naboom.alert (community_id, incident_id, user_ref, reason," \
"  distance_m, subscription_id, escalation_level)" \
" SELECT DISTINCT ON (x.user_ref) $1, $2, x.user_ref, x.reason," \
"  x.distance_m, x.subscription_id, $5" \
" FROM (" sources ") x" \
" ORDER BY x.user_ref, x.pref, x.distance_m"

#define FAN_OUT_SQL \
	FAN_OUT_SUBSCRIBERS FAN_OUT_AREA_SUBSCRIBERS FAN_OUT_RESPONDERS \
	FAN_OUT_INSERT("SELECT * FROM subscribers UNION ALL SELECT * FROM area_subscribers" \
				   " UNION ALL SELECT * FROM responders")

/*
 * The fan-out of a 0.6.0 schema (no area subscriptions): the new library
 * keeps the old behaviour until ALTER EXTENSION naboom UPDATE has run.
 */
#define FAN_OUT_SQL_0_6 \
	FAN_OUT_SUBSCRIBERS FAN_OUT_RESPONDERS \
	FAN_OUT_INSERT("SELECT * FROM subscribers UNION ALL SELECT * FROM responders")

/*
 * SchemaHasAreaSubscriptions says whether the installed schema has area
 * subscriptions (0.7.0): naboom.subscription.area_id exists.  Asked on every
 * fan-out (two syscache lookups), so a backend that saw the upgrade switches
 * at once.
 */
static bool
SchemaHasAreaSubscriptions(void)
{
	Oid			nsp = get_namespace_oid("naboom", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("subscription", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "area_id") != InvalidAttrNumber;
}

/*
 * IncidentIsPublic looks up an incident's visibility (for the escalation
 * path; the trigger knows it from its tuple).  The row is visible to the
 * caller: it is committed, or written earlier in this transaction.
 */
static bool
IncidentIsPublic(int64 community_id, int64 incident_id)
{
	Oid			t[2] = {INT8OID, INT8OID};
	Datum		v[2] = {Int64GetDatum(community_id), Int64GetDatum(incident_id)};
	bool		isnull;
	bool		is_public = false;

	NaboomSpiConnect();
	if (SPI_execute_with_args("SELECT i.is_public FROM naboom.incident i"
							  " WHERE i.community_id OPERATOR(pg_catalog.=) $1"
							  " AND i.incident_id OPERATOR(pg_catalog.=) $2",
							  2, t, v, NULL, false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		is_public = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return is_public;
}

/*
 * NaboomAlertIncident inserts the alerts for one incident and returns how
 * many it added.  responders < 0 means the community's default for the
 * incident's priority; radius_m NULL means the community's alert radius.
 * level is the escalation level the alerts belong to (0: the report);
 * fresh says the incident was just inserted and has no alerts yet;
 * is_public is the incident's visibility for the alert.created event
 * (-1: look it up).
 * The caller runs as a role that may write naboom.alert.
 */
static uint64
NaboomAlertIncident(int64 community_id, int64 incident_id, int32 responders,
					bool has_radius, double radius_m, int32 level, bool fresh,
					int is_public)
{
	Oid			argtypes[6] = {INT8OID, INT8OID, INT4OID, FLOAT8OID, INT4OID, FLOAT8OID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	uint64		added;
	char	   *local;

	bool		areas = SchemaHasAreaSubscriptions();
	SPIPlanPtr *plan = &RingPlans[areas ? 1 : 0][fresh ? 0 : 1];

	NaboomSpiConnect();
	/*
	 * The fan-out of a report inserts into an incident that has no alerts
	 * yet, and DISTINCT ON makes the rows unique: no arbiter is needed, and
	 * the speculative insertion of ON CONFLICT would cost every row.
	 * Escalation rings may meet earlier alerts and skip them.
	 */
	if (*plan == NULL)
	{
		const char *sql = areas ? FAN_OUT_SQL : FAN_OUT_SQL_0_6;

		if (!fresh)
			sql = psprintf("%s ON CONFLICT ON CONSTRAINT alert_once DO NOTHING", sql);
		/*
		 * Generic: the plan cache judged a custom plan cheaper and planned
		 * the fan-out afresh on every report (about as long as running it),
		 * for the same plan: the same indexes answer whatever the incident,
		 * and $5 = 0 is a one-time filter either way.
		 */
		NaboomKeptGenericPlan(plan, sql, 6, argtypes);
	}
	args[0] = Int64GetDatum(community_id);
	args[1] = Int64GetDatum(incident_id);
	args[2] = Int32GetDatum(responders);
	args[3] = Float8GetDatum(radius_m);
	if (!has_radius)
		nulls[3] = 'n';
	args[4] = Int32GetDatum(level);
	args[5] = Float8GetDatum((double) naboom_position_max_age);
	local = NaboomShardLocalSql(areas ? FAN_OUT_SQL : FAN_OUT_SQL_0_6, community_id);
	if (local != NULL)
	{
		/* on a Citus worker's shard: the same query on this node's shards */
		if (!fresh)
			local = psprintf("%s ON CONFLICT ON CONSTRAINT alert_once DO NOTHING", local);
		if (SPI_execute_with_args(local, 6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert the incident's alerts");
	}
	else if (NaboomCitusDistributed())
	{
		/*
		 * On a distributed naboom's coordinator (the escalation job): Citus
		 * routes the fan-out to the community's node only in a plan made
		 * for these values, never in the kept generic one.
		 */
		const char *sql = NaboomExpandPostgis(areas ? FAN_OUT_SQL : FAN_OUT_SQL_0_6);

		if (!fresh)
			sql = psprintf("%s ON CONFLICT ON CONSTRAINT alert_once DO NOTHING", sql);
		if (SPI_execute_with_args(sql, 6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert the incident's alerts");
	}
	else if (SPI_execute_plan(*plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert the incident's alerts");
	added = SPI_processed;
	SPI_finish();
	if (added > 0)
		NaboomEventAppend(community_id, &incident_id, "alert.created",
						  is_public >= 0 ? is_public : IncidentIsPublic(community_id, incident_id),
						  psprintf("{\"alerts\":" UINT64_FORMAT ",\"level\":%d}", added, level));
	return added;
}

PG_FUNCTION_INFO_V1(naboom_alert_incident);

/*
 * naboom.alert_incident(community_id, incident_id, responders, radius_m,
 * escalation_level) fans out one ring of alerts for an incident and returns
 * how many members it alerted; for the escalation job and for the service.
 */
Datum
naboom_alert_incident(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_INT32(0);
	if (!PG_ARGISNULL(3))
		NaboomCheckRadius("radius_m", PG_GETARG_FLOAT8(3));
	PG_RETURN_INT32((int32) NaboomAlertIncident(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
												PG_ARGISNULL(2) ? -1 : PG_GETARG_INT32(2),
												!PG_ARGISNULL(3),
												PG_ARGISNULL(3) ? 0 : PG_GETARG_FLOAT8(3),
												PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4), false, -1));
}

/* The first ring of a new incident, for FanOutReport. */
typedef struct FanOut
{
	int64		community_id;
	int64		incident_id;
	int			is_public;
} FanOut;

/* Fan out a new incident's alerts; runs as the table owner. */
static void
FanOutReport(void *arg)
{
	FanOut	   *f = (FanOut *) arg;

	NaboomAlertIncident(f->community_id, f->incident_id, -1, false, 0, 0, true, f->is_public);
}

PG_FUNCTION_INFO_V1(naboom_incident_alert);

/*
 * naboom_incident_alert is the AFTER INSERT FOR EACH ROW trigger on
 * naboom.incident that fans out the new incident's alerts, as the table
 * owner (callers cannot write alerts).
 */
Datum
naboom_incident_alert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	const IncidentAtts *a;
	HeapTuple	tup;
	bool		isnull;
	Datum		pub;
	bool		pub_null;
	TupleDesc	desc;
	FanOut		fan;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "naboom_incident_alert: not called by trigger manager");
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "naboom_incident_alert: must be fired AFTER");
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "naboom_incident_alert: must be fired FOR EACH ROW");
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "naboom_incident_alert: must be fired by INSERT");
	/* A restore loads the alerts that were sent from the dump (restore.c). */
	if (NaboomRestoring())
		PG_RETURN_POINTER(NULL);

	rel = trigdata->tg_relation;
	a = NaboomIncidentAtts(rel);
	tup = trigdata->tg_trigtuple;
	desc = RelationGetDescr(rel);
	fan.community_id = DatumGetInt64(heap_getattr(tup, a->community_id, desc, &isnull));
	fan.incident_id = DatumGetInt64(heap_getattr(tup, a->incident_id, desc, &isnull));
	pub = heap_getattr(tup, SPI_fnumber(desc, "is_public"), desc, &pub_null);
	fan.is_public = pub_null ? 1 : (int) DatumGetBool(pub);
	NaboomRunAsOwner(rel->rd_rel->relowner, FanOutReport, &fan);
	PG_RETURN_POINTER(NULL);
}
