/*-------------------------------------------------------------------------
 *
 * spatial.h
 *	  Shared by spatial.c (routing, search boxes, duplicates, nearest
 *	  responders) and alerts.c (alert fan-out).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_SPATIAL_H
#define NABOOM_SPATIAL_H

#include "postgres.h"

#include "executor/spi.h"

/*
 * A longitude/latitude rectangle (degrees) that holds every point within a
 * given distance of a centre, on the WGS84 spheroid.  Used as the && filter
 * in front of an exact distance test, so the GiST indexes can be used.
 */
typedef struct SearchBox
{
	double		xmin;
	double		ymin;
	double		xmax;
	double		ymax;
} SearchBox;

/* spatial.c */
extern SearchBox NaboomSearchBox(double lat, double lon, double radius_m);
extern void NaboomCheckRadius(const char *name, double radius_m);
extern const char *NaboomPostgisSchema(void);
extern SPIPlanPtr NaboomKeptPlan(SPIPlanPtr *plan, const char *sql_template,
								 int nargs, Oid *argtypes);
extern void NaboomRouteIncident(int64 community_id, Datum location,
								Oid location_type, bool has_accuracy,
								double accuracy_m, int64 *area_id,
								bool *area_null, bool *outside, bool *poor);

/* validate.c */
extern void NaboomCheckPoint(double lat, double lon);

/* naboom.c: settings */
extern double naboom_max_radius_m;
extern int	naboom_position_max_age;
extern double naboom_poor_accuracy_m;

#endif							/* NABOOM_SPATIAL_H */
