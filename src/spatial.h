/*-------------------------------------------------------------------------
 *
 * spatial.h
 *	  Who and what is near a place (spatial.c): routing, search boxes,
 *	  radius checks, and the spatial settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_SPATIAL_H
#define NABOOM_SPATIAL_H

/* Settings (superuser), registered by naboom.c. */
extern double naboom_max_radius_m;
extern int	naboom_position_max_age;
extern double naboom_poor_accuracy_m;
extern int	naboom_max_map_features;

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

extern SearchBox NaboomSearchBox(double lat, double lon, double radius_m);
extern void NaboomCheckRadius(const char *name, double radius_m);
extern double NaboomCategoryRadius(int64 community_id, Datum category_text, const char *category,
								   Datum *window);
extern void NaboomRouteIncident(int64 community_id, Datum location,
								Oid location_type, bool has_accuracy,
								double accuracy_m, int64 *area_id,
								bool *area_null, bool *outside, bool *poor);

#endif							/* NABOOM_SPATIAL_H */
