/*-------------------------------------------------------------------------
 *
 * spatial.c
 *	  Who and what is near a place: routing a report to its area,
 *	  duplicate candidates, and the nearest on-duty responders.
 *
 * Geometry is PostGIS's: every query here is a kept SPI plan over the
 * PostGIS functions, schema-qualified with the schema PostGIS is installed
 * in, so the GiST indexes are used and nothing depends on search_path.
 * Distances are geodesic, on the WGS84 spheroid (PostGIS geography with
 * use_spheroid = true).  The index filter in front of each exact test is a
 * longitude/latitude box that provably holds the whole search circle
 * (NaboomSearchBox); near a pole or across the antimeridian the box widens
 * to every longitude, which stays correct and only costs selectivity.
 *
 * Concurrent reports at the same place: before a new report searches for
 * duplicates, lock_duplicate_place makes it wait for every report still in
 * progress within the category's duplicate radius that claimed its place
 * first, and for no other, so of two reports within each other's radius
 * the later one always sees the earlier one, and reports further apart
 * never wait for each other's commit (src/place_lock.c,
 * specs/race_duplicates.spec).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "naboom.h"
#include "spatial.h"
#include "spi_util.h"
#include "transition_cache.h"
#include "validate.h"

/*
 * Metres per degree: latitude never less than at the equator (110574 m on
 * WGS84); longitude at latitude phi never less than 111319 * cos(phi).  A
 * 1% margin and 1 m on top cover the difference between a geodesic and the
 * box edges.
 */
#define MIN_METRES_PER_DEG_LAT	110574.0
#define METRES_PER_DEG_LON_EQ	111319.0
#define BOX_MARGIN				1.01
#define POLAR_LATITUDE			85.0

#define MAX_CANDIDATES			20

static SPIPlanPtr RoutePlan = NULL;
static SPIPlanPtr CategoryPlan = NULL;
static SPIPlanPtr DuplicatePlan = NULL;
static SPIPlanPtr ResponderPlan = NULL;

/* Settings (naboom.c registers them). */
double		naboom_max_radius_m = 50000.0;
int			naboom_position_max_age = 600;
double		naboom_poor_accuracy_m = 500.0;
int			naboom_max_map_features = 1000;

/*
 * NaboomSearchBox returns the box of longitudes and latitudes that holds
 * every point within radius_m of (lat, lon).
 */
SearchBox
NaboomSearchBox(double lat, double lon, double radius_m)
{
	SearchBox	box;
	double		dlat = radius_m * BOX_MARGIN / MIN_METRES_PER_DEG_LAT + 1e-5;
	double		far_lat;
	double		dlon;

	box.ymin = Max(lat - dlat, -90.0);
	box.ymax = Min(lat + dlat, 90.0);
	far_lat = Max(fabs(box.ymin), fabs(box.ymax));
	if (far_lat >= POLAR_LATITUDE)
		dlon = 360.0;
	else
		dlon = radius_m * BOX_MARGIN / (METRES_PER_DEG_LON_EQ * cos(far_lat * M_PI / 180.0)) + 1e-5;
	if (lon - dlon < -180.0 || lon + dlon > 180.0)
	{
		/* Crosses the antimeridian (or circles a pole): every longitude. */
		box.xmin = -180.0;
		box.xmax = 180.0;
	}
	else
	{
		box.xmin = lon - dlon;
		box.xmax = lon + dlon;
	}
	return box;
}

/*
 * NaboomCheckRadius refuses a radius that is not a positive number of
 * metres no larger than the naboom.max_radius_m setting.
 */
void
NaboomCheckRadius(const char *name, double radius_m)
{
	if (isnan(radius_m) || radius_m <= 0 || radius_m > naboom_max_radius_m)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_radius",
						("%s must be more than 0 and at most %g metres", name, naboom_max_radius_m),
						("Send a distance in metres; the limit is the naboom.max_radius_m setting."),
						"%s is %g.", name, radius_m);
}

/*
 * NaboomRouteIncident places a new or moved incident: the smallest area of
 * its community that covers the point, whether it lies outside the
 * community's boundary (refused unless the community allows it), and
 * whether its accuracy is poor.  Runs as the caller of the trigger, which
 * has already switched to the table owner.
 */
void
NaboomRouteIncident(int64 community_id, Datum location, Oid location_type,
					bool has_accuracy, double accuracy_m, int64 *area_id,
					bool *area_null, bool *outside, bool *poor)
{
	Oid			argtypes[2] = {INT8OID, location_type};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	bool		lat_null,
				lon_null;
	double		lat,
				lon;

	NaboomSpiConnect();
	NaboomKeptPlan(&RoutePlan,
				   "SELECT c.slug, c.allow_outside_reports,"
				   "  c.boundary IS NOT NULL AND NOT @.st_covers(c.boundary, $2),"
				   "  (SELECT a.area_id FROM naboom.area a"
				   "    WHERE a.community_id OPERATOR(pg_catalog.=) $1 AND @.st_covers(a.boundary, $2)"
				   "    ORDER BY a.area_m2, a.area_id LIMIT 1),"
				   "  @.st_y($2), @.st_x($2)"
				   " FROM naboom.community c WHERE c.community_id OPERATOR(pg_catalog.=) $1",
				   2, argtypes);
	args[0] = Int64GetDatum(community_id);
	args[1] = location;
	if (SPI_execute_plan(RoutePlan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not route the incident");
	if (SPI_processed != 1)
		NaboomErrorHint(ERRCODE_FOREIGN_KEY_VIOLATION, "naboom.unknown_community",
						("community " INT64_FORMAT " does not exist", community_id),
						("Give the community_id of an existing community."),
						"No community has that id.");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	lat = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &lat_null));
	lon = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &lon_null));
	if (lat_null || lon_null)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_coordinates",
						("the location must be a point"),
						("Send WGS84 decimal degrees, latitude first (e.g. -24.52, 28.71)."),
						"The point is empty.");
	NaboomCheckPoint(lat, lon);

	*outside = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	if (*outside && !DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.outside_community",
						("the location is outside community \"%s\"", SPI_getvalue(tup, desc, 1)),
						("Report to the community where it happened."),
						"(%g, %g) is not within the community's boundary.", lat, lon);
	*area_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, area_null));
	*poor = has_accuracy && accuracy_m > naboom_poor_accuracy_m;
	SPI_finish();
}

/*
 * LiveStatuses returns the statuses of type open as a text[] datum, from
 * the cached workflow.
 */
static Datum
LiveStatuses(void)
{
	const Workflow *wf = NaboomGetWorkflow();
	Datum	   *elems = palloc(sizeof(Datum) * Max(wf->nstatuses, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < wf->nstatuses; i++)
		if (wf->statuses[i].type == 'o')
			elems[n++] = CStringGetTextDatum(wf->statuses[i].name);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * NaboomCategoryRadius returns a category's duplicate radius and, if window is
 * not NULL, its duplicate window; naboom.unknown_category if there is no
 * such category.  Call while connected to SPI.
 */
double
NaboomCategoryRadius(int64 community_id, Datum category_text, const char *category,
					 Datum *window)
{
	Oid			cat_types[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	bool		isnull;
	double		radius;

	NaboomKeptPlan(&CategoryPlan,
				   "SELECT c.duplicate_radius_m, c.duplicate_window FROM naboom.category c"
				   " WHERE c.community_id OPERATOR(pg_catalog.=) $1 AND c.code OPERATOR(pg_catalog.=) $2",
				   2, cat_types);
	args[0] = Int64GetDatum(community_id);
	args[1] = category_text;
	if (SPI_execute_plan(CategoryPlan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the category");
	if (SPI_processed != 1)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.unknown_category",
						("unknown category \"%s\"", category),
						("Pick one of the community's categories."),
						"Community " INT64_FORMAT " has no such category.", community_id);
	radius = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (window != NULL)
		*window = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
							false, sizeof(Interval));
	return radius;
}

PG_FUNCTION_INFO_V1(naboom_duplicate_search);

/*
 * naboom.duplicate_search(community_id, category, lat, lon, exclude_id)
 * returns (incident_id, distance_m) of the live incidents of the category
 * within its duplicate radius and time window of the point, nearest first,
 * at most MAX_CANDIDATES.
 */
Datum
naboom_duplicate_search(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		community_id = PG_GETARG_INT64(0);
	char	   *category = text_to_cstring(PG_GETARG_TEXT_PP(1));
	double		lat = PG_GETARG_FLOAT8(2);
	double		lon = PG_GETARG_FLOAT8(3);
	Oid			dup_types[12] = {INT8OID, TEXTOID, FLOAT8OID, FLOAT8OID, TEXTARRAYOID,
	INTERVALOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID};
	Datum		args[12];
	char		nulls[12];
	double		radius;
	Datum		window;
	SearchBox	box;
	bool		isnull;
	uint64		i;

	NaboomCheckPoint(lat, lon);
	InitMaterializedSRF(fcinfo, 0);

	NaboomSpiConnect();
	radius = NaboomCategoryRadius(community_id, PG_GETARG_DATUM(1), category, &window);

	NaboomKeptPlan(&DuplicatePlan,
				   "SELECT i.incident_id,"
				   "  @.st_distance(i.location::@.geography, p.g) AS distance_m"
				   " FROM naboom.incident i,"
				   "  (SELECT @.st_setsrid(@.st_makepoint($4, $3), 4326)::@.geography AS g) p"
				   " WHERE i.community_id OPERATOR(pg_catalog.=) $1 AND i.category_code OPERATOR(pg_catalog.=) $2"
				   "  AND i.status OPERATOR(pg_catalog.=) ANY ($5)"
				   "  AND i.created_at OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) $6)"
				   "  AND i.location OPERATOR(@.&&) @.st_makeenvelope($8, $9, $10, $11, 4326)"
				   "  AND @.st_dwithin(i.location::@.geography, p.g, $7)"
				   "  AND NOT coalesce(i.incident_id OPERATOR(pg_catalog.=) $12, false)"
				   " ORDER BY distance_m, i.incident_id LIMIT " CppAsString2(MAX_CANDIDATES),
				   12, dup_types);
	box = NaboomSearchBox(lat, lon, radius);
	memset(nulls, ' ', sizeof(nulls));
	args[0] = Int64GetDatum(community_id);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = Float8GetDatum(lat);
	args[3] = Float8GetDatum(lon);
	args[4] = LiveStatuses();
	args[5] = window;
	args[6] = Float8GetDatum(radius);
	args[7] = Float8GetDatum(box.xmin);
	args[8] = Float8GetDatum(box.ymin);
	args[9] = Float8GetDatum(box.xmax);
	args[10] = Float8GetDatum(box.ymax);
	args[11] = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);
	nulls[11] = PG_ARGISNULL(4) ? 'n' : ' ';
	if (SPI_execute_plan(DuplicatePlan, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not search for duplicates");

	for (i = 0; i < SPI_processed; i++)
	{
		Datum		values[2];
		bool		vnulls[2] = {false, false};

		values[0] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		values[1] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, vnulls);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(naboom_responder_search);

/*
 * naboom.responder_search(community_id, lat, lon, max_count, radius_m,
 * exclude_ref) returns (user_ref, distance_m, reported_at, accuracy_m) of
 * the community's on-duty responders whose position is fresher than
 * naboom.position_max_age and within radius_m, nearest first.
 *
 * Positions have no spatial index on purpose: an index on a column that
 * changes with every update would rule out HOT updates, and a community's
 * on-duty responders are few enough to test one by one.  The positions are
 * read first (OFFSET 0 keeps them first): left to itself the planner reads
 * every member of the community to find the on-duty ones and probes their
 * positions one by one, about twice the work (issue 17).
 */
Datum
naboom_responder_search(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			argtypes[7] = {INT8OID, FLOAT8OID, FLOAT8OID, INT4OID, FLOAT8OID,
	TEXTOID, FLOAT8OID};
	Datum		args[7];
	char		nulls[7];
	uint64		i;

	NaboomCheckPoint(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2));
	NaboomCheckRadius("max_radius_m", PG_GETARG_FLOAT8(4));
	InitMaterializedSRF(fcinfo, 0);

	NaboomSpiConnect();
	NaboomKeptPlan(&ResponderPlan,
				   "SELECT p.user_ref, p.distance_m, p.reported_at, p.accuracy_m"
				   " FROM (SELECT p.community_id, p.user_ref,"
				   "   @.st_distance(p.position::@.geography, pt.g) AS distance_m,"
				   "   p.reported_at, p.accuracy_m"
				   "  FROM naboom.responder_position p,"
				   "   (SELECT @.st_setsrid(@.st_makepoint($3, $2), 4326)::@.geography AS g) pt"
				   "  WHERE p.community_id OPERATOR(pg_catalog.=) $1"
				   "   AND p.reported_at OPERATOR(pg_catalog.>=)"
				   "    (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $7))"
				   "   AND @.st_dwithin(p.position::@.geography, pt.g, $5)"
				   "   AND NOT coalesce(p.user_ref OPERATOR(pg_catalog.=) $6, false)"
				   "  OFFSET 0) p"
				   " JOIN naboom.member m ON m.community_id OPERATOR(pg_catalog.=) p.community_id"
				   "  AND m.user_ref OPERATOR(pg_catalog.=) p.user_ref"
				   " WHERE m.on_duty AND m.role OPERATOR(pg_catalog.>=) 'responder'::naboom.member_role"
				   " ORDER BY p.distance_m, p.user_ref LIMIT $4",
				   7, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	for (i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_GETARG_DATUM(2);
	args[3] = PG_GETARG_DATUM(3);
	args[4] = PG_GETARG_DATUM(4);
	args[5] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
	args[6] = Float8GetDatum((double) naboom_position_max_age);
	if (SPI_execute_plan(ResponderPlan, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not search for responders");

	for (i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		vnulls[4];
		int			c;

		for (c = 0; c < 4; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &vnulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, vnulls);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(naboom_search_box);

/*
 * naboom.search_box(lat, lon, radius_m) returns {xmin, ymin, xmax, ymax}:
 * the box every point within radius_m of the centre lies in, for the
 * SQL-level searches (incidents_near, subscription reach).  The caller
 * checks the radius against the setting (naboom.check_radius).
 */
Datum
naboom_search_box(PG_FUNCTION_ARGS)
{
	double		lat = PG_GETARG_FLOAT8(0);
	double		lon = PG_GETARG_FLOAT8(1);
	double		radius = PG_GETARG_FLOAT8(2);
	SearchBox	box;
	Datum		elems[4];

	NaboomCheckPoint(lat, lon);
	if (isnan(radius) || radius <= 0 || radius > 2.1e7)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_radius",
						("radius_m must be more than 0 metres"),
						("Send a distance in metres."),
						"radius_m is %g.", radius);
	box = NaboomSearchBox(lat, lon, radius);
	elems[0] = Float8GetDatum(box.xmin);
	elems[1] = Float8GetDatum(box.ymin);
	elems[2] = Float8GetDatum(box.xmax);
	elems[3] = Float8GetDatum(box.ymax);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, 4, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(naboom_check_radius);

/*
 * naboom.check_radius(name, radius_m) returns radius_m, or raises
 * naboom.invalid_radius for NULL, NaN, a radius of 0 or less, or one larger
 * than the naboom.max_radius_m setting.
 */
Datum
naboom_check_radius(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? "radius_m" : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (PG_ARGISNULL(1))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_radius",
						("%s is required", name),
						("Send a distance in metres."),
						"No radius was given.");
	NaboomCheckRadius(name, PG_GETARG_FLOAT8(1));
	PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(1));
}

PG_FUNCTION_INFO_V1(naboom_check_map_features);

/*
 * naboom.check_map_features(max_features) returns how many incidents a map
 * may show: max_features, or the naboom.max_map_features setting when it is
 * NULL; naboom.invalid_count for less than 1 or more than the setting.  The
 * maps call it first, which also loads the library, so the setting exists.
 */
Datum
naboom_check_map_features(PG_FUNCTION_ARGS)
{
	int32		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(naboom_max_map_features);
	n = PG_GETARG_INT32(0);
	if (n < 1 || n > naboom_max_map_features)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_count",
						("max_features must be between 1 and %d", naboom_max_map_features),
						("Use a value from 1 to %d, or leave max_features out; the limit is the naboom.max_map_features setting.",
						 naboom_max_map_features),
						"It is %d.", n);
	PG_RETURN_INT32(n);
}
