/*-------------------------------------------------------------------------
 *
 * place_lock.c
 *	  The duplicate place lock: two reports of one category within each
 *	  other's duplicate radius are serialised, so that the later one's
 *	  duplicate search sees the earlier; reports further apart never wait
 *	  for each other's commit.
 *
 * A short critical section on advisory locks over the grid cells of the
 * report's circle orders reports that could be within each other's radius;
 * inside it, a dirty-snapshot scan of incident_location_idx finds reports
 * in progress and PostGIS measures the exact distance; each report claims
 * its place with a lock on its incident id, held until commit, and waits
 * for the claims of the ones within its radius after the cells are
 * released.  naboom.lock_duplicate_place is its SQL entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "naboom.h"
#include "validate.h"
#include "spatial.h"
#include "spi_util.h"

/* Degrees of latitude are never shorter than at the equator (WGS84). */
#define MIN_METRES_PER_DEG_LAT	110574.0
/* Advisory lock namespace for duplicate-search cells ("NB" + 1). */
#define DUPLICATE_LOCK_CLASS	0x4E420001
#define MAX_LOCK_CELLS			16
/* The fourth field of a place claim's lock tag (the others: the incident id). */
#define PLACE_CLAIM_FIELD4		0x4E42

static SPIPlanPtr EnvelopePlan = NULL;
static SPIPlanPtr WithinPlan = NULL;

/*
 * LockDuplicateCells takes a transaction-scoped advisory lock on every cell
 * of a grid (cell side: the search circle's diameter in degrees of
 * latitude) that the circle's box touches, in a fixed order, and returns
 * their keys (sorted, distinct) in keys[] for ReleaseDuplicateCells.  Two
 * circles that hold each other's centre share at least the cell of either
 * centre, so the second caller waits until the first releases them.  A
 * circle touching too many cells (huge radius, near a pole) locks the whole
 * category.
 */
static int
LockDuplicateCells(int64 community_id, const char *category, double lat,
				   double lon, double radius_m, uint32 *keys)
{
	SearchBox	box = NaboomSearchBox(lat, lon, radius_m);
	double		cell = 2.0 * radius_m / MIN_METRES_PER_DEG_LAT;
	int64		x0 = (int64) floor(box.xmin / cell),
				x1 = (int64) floor(box.xmax / cell),
				y0 = (int64) floor(box.ymin / cell),
				y1 = (int64) floor(box.ymax / cell);
	int			nkeys = 0;
	int			ndistinct = 0;
	int64		x,
				y;
	int			i;

	if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_LOCK_CELLS)
	{
		/* One lock for the whole category. */
		x0 = x1 = y0 = y1 = PG_INT64_MIN;
	}
	for (x = x0; x <= x1; x++)
		for (y = y0; y <= y1; y++)
		{
			char	   *key = psprintf(INT64_FORMAT "/%s/" INT64_FORMAT "/" INT64_FORMAT,
									   community_id, category, x, y);

			keys[nkeys++] = hash_bytes((unsigned char *) key, strlen(key));
			pfree(key);
		}
	/* A fixed order, so that two searches never wait for each other. */
	for (i = 1; i < nkeys; i++)
	{
		uint32		k = keys[i];
		int			j = i - 1;

		while (j >= 0 && keys[j] > k)
		{
			keys[j + 1] = keys[j];
			j--;
		}
		keys[j + 1] = k;
	}
	for (i = 0; i < nkeys; i++)
	{
		LOCKTAG		tag;

		if (ndistinct > 0 && keys[i] == keys[ndistinct - 1])
			continue;
		keys[ndistinct++] = keys[i];
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, DUPLICATE_LOCK_CLASS, keys[i], 2);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
	return ndistinct;
}

/*
 * ReleaseDuplicateCells gives back the cell locks LockDuplicateCells took,
 * before the transaction ends.
 */
static void
ReleaseDuplicateCells(const uint32 *keys, int nkeys)
{
	int			i;

	for (i = 0; i < nkeys; i++)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, DUPLICATE_LOCK_CLASS, keys[i], 2);
		LockRelease(&tag, ExclusiveLock, false);
	}
}

/* The lock tag of the claim on the place of incident incident_id. */
static void
SetPlaceClaimTag(LOCKTAG *tag, int64 incident_id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) incident_id >> 32),
						 (uint32) incident_id, PLACE_CLAIM_FIELD4);
}

/*
 * The reports another transaction has inserted and not committed yet, of
 * one community and category, whose location's box overlaps a search box.
 */
typedef struct Neighbours
{
	Oid			geomtype;		/* PostGIS geometry */
	Datum	   *places;			/* their locations */
	int64	   *ids;			/* their incident ids */
	int			count;
} Neighbours;

/*
 * SearchEnvelope is the search box as a PostGIS geometry, through a kept
 * plan (PostGIS builds it, naboom does not re-implement geometry).
 */
static Datum
SearchEnvelope(SearchBox box)
{
	Oid			types[4] = {FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
	Datum		args[4];

	NaboomKeptPlan(&EnvelopePlan, "SELECT @.st_makeenvelope($1, $2, $3, $4, 4326)", 4, types);
	args[0] = Float8GetDatum(box.xmin);
	args[1] = Float8GetDatum(box.ymin);
	args[2] = Float8GetDatum(box.xmax);
	args[3] = Float8GetDatum(box.ymax);
	if (SPI_execute_plan(EnvelopePlan, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not make the search box");
	return NaboomResultTransfer(0, 1);
}

/*
 * NeighbourAdd keeps one uncommitted report's location and id.
 */
static void
NeighbourAdd(Neighbours *nb, int *room, Datum location, int64 id)
{
	if (nb->count == *room)
	{
		*room *= 2;
		nb->places = repalloc(nb->places, sizeof(Datum) * *room);
		nb->ids = repalloc(nb->ids, sizeof(int64) * *room);
	}
	nb->places[nb->count] = PointerGetDatum(PG_DETOAST_DATUM_COPY(location));
	nb->ids[nb->count] = id;
	nb->count++;
}

/*
 * ScanUncommitted reads incident_location_idx with a dirty snapshot, as an
 * exclusion constraint's check does, to see rows other transactions have
 * inserted but not committed, and keeps those of the community and
 * category whose inserter is still running (never our own rows).
 */
static void
ScanUncommitted(int64 community_id, const char *category, SearchBox box, Neighbours *nb)
{
	Oid			nsp = get_namespace_oid("naboom", false);
	Oid			relid = get_relname_relid("incident", nsp);
	Oid			indexid = get_relname_relid("incident_location_idx", nsp);
	Datum		envelope = SearchEnvelope(box);
	Relation	heap;
	Relation	index;
	SnapshotData dirty;
	ScanKeyData skey;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Oid			overlaps;
	AttrNumber	att_community = get_attnum(relid, "community_id");
	AttrNumber	att_category = get_attnum(relid, "category_code");
	AttrNumber	att_location = get_attnum(relid, "location");
	AttrNumber	att_id = get_attnum(relid, "incident_id");
	int			room = 8;

	if (!OidIsValid(relid) || !OidIsValid(indexid))
		elog(ERROR, "naboom.incident or its location index is missing");
	heap = table_open(relid, AccessShareLock);
	index = index_open(indexid, AccessShareLock);
	nb->geomtype = index->rd_opcintype[0];
	overlaps = get_opfamily_member(index->rd_opfamily[0], nb->geomtype, nb->geomtype, RTOverlapStrategyNumber);
	if (!OidIsValid(overlaps))
		elog(ERROR, "the location index has no && operator");
	nb->places = palloc(sizeof(Datum) * room);
	nb->ids = palloc(sizeof(int64) * room);
	nb->count = 0;

	InitDirtySnapshot(dirty);
	ScanKeyInit(&skey, 1, RTOverlapStrategyNumber, get_opcode(overlaps), envelope);
	scan = index_beginscan(heap, index, &dirty, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	slot = table_slot_create(heap, NULL);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;
		Datum		location;

		if (!TransactionIdIsValid(dirty.xmin))
			continue;
		d = slot_getattr(slot, att_community, &isnull);
		if (isnull || DatumGetInt64(d) != community_id)
			continue;
		d = slot_getattr(slot, att_category, &isnull);
		if (isnull || strcmp(TextDatumGetCString(d), category) != 0)
			continue;
		location = slot_getattr(slot, att_location, &isnull);
		if (isnull)
			continue;
		NeighbourAdd(nb, &room, location, DatumGetInt64(slot_getattr(slot, att_id, &isnull)));
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

/*
 * ClaimedWithin keeps, of the uncommitted neighbours, those within the
 * radius on the spheroid (the exact duplicate rule, by PostGIS) whose place
 * claim is held, i.e. whose report has claimed its place: sets *ids to
 * them and returns how many.
 */
static int
ClaimedWithin(Neighbours *nb, double lat, double lon, double radius_m, int64 **ids)
{
	Oid			types[4] = {get_array_type(nb->geomtype), FLOAT8OID, FLOAT8OID, FLOAT8OID};
	Datum		args[4];
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n = 0;
	uint64		i;

	get_typlenbyvalalign(nb->geomtype, &typlen, &typbyval, &typalign);
	NaboomKeptPlan(&WithinPlan,
				   "SELECT u.n FROM pg_catalog.unnest($1) WITH ORDINALITY u(g, n)"
				   " WHERE @.st_dwithin(u.g::@.geography,"
				   "  @.st_setsrid(@.st_makepoint($3, $2), 4326)::@.geography, $4)",
				   4, types);
	args[0] = PointerGetDatum(construct_array(nb->places, nb->count, nb->geomtype, typlen, typbyval, typalign));
	args[1] = Float8GetDatum(lat);
	args[2] = Float8GetDatum(lon);
	args[3] = Float8GetDatum(radius_m);
	if (SPI_execute_plan(WithinPlan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not measure the distance to reports in progress");

	*ids = palloc(sizeof(int64) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		int64		id = nb->ids[NaboomResultInt8(i, 1) - 1];
		LOCKTAG		tag;

		SetPlaceClaimTag(&tag, id);
		if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
			(*ids)[n++] = id;
		else
			LockRelease(&tag, ShareLock, false);
	}
	return n;
}

/*
 * PendingNeighbours sets *ids to the incidents (returning how many) of
 * the category that other transactions still in progress have inserted
 * within radius_m of the point and whose place they have claimed.  It reads
 * naboom.incident through its GiST index with a dirty snapshot, as an
 * exclusion constraint does, because the rows it looks for are not yet
 * visible to any ordinary snapshot.  Call while connected to SPI and holding
 * the place's cells.
 */
static int
PendingNeighbours(int64 community_id, const char *category, double lat,
				  double lon, double radius_m, int64 **ids)
{
	Neighbours	nb;

	ScanUncommitted(community_id, category, NaboomSearchBox(lat, lon, radius_m), &nb);
	if (nb.count == 0)
		return 0;
	return ClaimedWithin(&nb, lat, lon, radius_m, ids);
}

/*
 * LockDuplicatePlace makes a new report (incident_id, just inserted) wait
 * for exactly the earlier reports its duplicate search must see.
 *
 * Each report, in a critical section on the grid cells of its circle (so
 * that of two reports within each other's radius one goes first), looks
 * for rows that other transactions have inserted but not committed within
 * its radius, and then claims its own place (a lock on its incident id,
 * held until the transaction ends).  It waits, after the critical section,
 * for the ones whose place was claimed before: a report that has not
 * claimed its place yet will find this one when it does, and wait for it.
 * So the later of two reports within each other's radius waits for the
 * earlier and then sees it; a report further away is never waited for; and
 * no two reports ever wait for each other.  The cells are held only for
 * the search, never until commit.
 */
static void
LockDuplicatePlace(int64 community_id, const char *category, double lat,
						 double lon, double radius_m, int64 incident_id)
{
	uint32		keys[MAX_LOCK_CELLS];
	int64	   *waits = NULL;
	int			nkeys;
	int			nwaits;
	int			i;
	LOCKTAG		tag;

	nkeys = LockDuplicateCells(community_id, category, lat, lon, radius_m, keys);
	nwaits = PendingNeighbours(community_id, category, lat, lon, radius_m, &waits);
	SetPlaceClaimTag(&tag, incident_id);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	ReleaseDuplicateCells(keys, nkeys);

	for (i = 0; i < nwaits; i++)
	{
		SetPlaceClaimTag(&tag, waits[i]);
		(void) LockAcquire(&tag, ShareLock, false, false);
		LockRelease(&tag, ShareLock, false);
	}
}

/*
 * LockCellsUntilCommit is the 0.5.0 place lock, for a database whose
 * SQL still declares naboom.lock_duplicate_place with four arguments
 * (between installing this library and ALTER EXTENSION UPDATE): the cells
 * of the circle, held until the transaction ends.
 */
static void
LockCellsUntilCommit(int64 community_id, const char *category, double lat,
					 double lon, double radius_m)
{
	uint32		keys[MAX_LOCK_CELLS];

	(void) LockDuplicateCells(community_id, category, lat, lon, radius_m, keys);
}

PG_FUNCTION_INFO_V1(naboom_lock_duplicate_place);

/*
 * naboom.lock_duplicate_place(community_id, category, lat, lon, incident_id)
 * waits, for the report incident_id just inserted at (lat, lon), until every
 * report in progress within the category's duplicate radius that claimed
 * its place first has committed or rolled back (see LockDuplicatePlace).
 * It must be its own statement, before the search: a query started before
 * the wait ended would still join against a snapshot that cannot see the
 * report it waited for.
 *
 * Called with four arguments (the 0.5.0 declaration, between installing
 * this library and ALTER EXTENSION UPDATE), it locks the cells until the
 * transaction ends, as 0.5.0 did.
 */
Datum
naboom_lock_duplicate_place(PG_FUNCTION_ARGS)
{
	int64		community_id = PG_GETARG_INT64(0);
	char	   *category = text_to_cstring(PG_GETARG_TEXT_PP(1));
	double		lat = PG_GETARG_FLOAT8(2);
	double		lon = PG_GETARG_FLOAT8(3);
	double		radius;

	NaboomCheckPoint(lat, lon);
	NaboomSpiConnect();
	radius = NaboomCategoryRadius(community_id, PG_GETARG_DATUM(1), category, NULL);
	if (PG_NARGS() < 5)
		LockCellsUntilCommit(community_id, category, lat, lon, radius);
	else
		LockDuplicatePlace(community_id, category, lat, lon, radius, PG_GETARG_INT64(4));
	SPI_finish();
	PG_RETURN_VOID();
}
