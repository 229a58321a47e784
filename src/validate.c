/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Validators for what people send: coordinates and free text.
 *
 * Each refuses bad input with 22023 and a stable key, so the API functions
 * can call them first and never half-write anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "naboom.h"
#include "validate.h"

/* Longest free text (description, note) a person may submit, in characters. */
int			naboom_max_text_length = 4000;

/*
 * CheckCoordinate refuses NaN, infinities and values outside the WGS84
 * range of latitude or longitude.
 */
static void
CheckCoordinate(double value, const char *name, double limit)
{
	if (isnan(value) || isinf(value) || value < -limit || value > limit)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_coordinates",
						("%s must be a number between %g and %g", name, -limit, limit),
						("Send WGS84 decimal degrees, latitude first (e.g. -24.52, 28.71)."),
						"%s is %g.", name, value);
}

/*
 * NaboomCheckPoint refuses a WGS84 point whose latitude or longitude is out
 * of range or not a number.
 */
void
NaboomCheckPoint(double lat, double lon)
{
	CheckCoordinate(lat, "lat", 90.0);
	CheckCoordinate(lon, "lon", 180.0);
}

PG_FUNCTION_INFO_V1(naboom_check_point);

/*
 * naboom.check_point(lat, lon) returns true or raises
 * naboom.invalid_coordinates.  NULL counts as missing.
 */
Datum
naboom_check_point(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_coordinates",
						("lat and lon are required"),
						("Send WGS84 decimal degrees, latitude first."),
						"A location is needed.");
	NaboomCheckPoint(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(naboom_clean_text);

/*
 * naboom.clean_text(field, value, required, max_chars) returns value with
 * surrounding white space removed, NULL for empty optional text, or raises
 * naboom.text_required / naboom.text_too_long / naboom.invalid_text.
 * max_chars NULL means the naboom.max_text_length setting.  Control
 * characters other than tab and newline are refused: they are never meant.
 */
Datum
naboom_clean_text(PG_FUNCTION_ARGS)
{
	char	   *field = PG_ARGISNULL(0) ? "text" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		required = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	int			max_chars = PG_ARGISNULL(3) ? naboom_max_text_length : PG_GETARG_INT32(3);
	text	   *value;
	char	   *s;
	char	   *end;
	int			chars;
	char	   *p;

	if (PG_ARGISNULL(1))
		goto empty;

	/* Measure before detoasting everything: a megabyte is refused early. */
	value = PG_GETARG_TEXT_PP(1);
	if (VARSIZE_ANY_EXHDR(value) > (Size) max_chars * 4 + 1024)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.text_too_long",
						("%s is too long", field),
						("Keep %s to at most %d characters.", field, max_chars),
						"%s has %zu bytes.", field, VARSIZE_ANY_EXHDR(value));

	s = text_to_cstring(value);
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	if (*s == '\0')
		goto empty;

	for (p = s; *p; p++)
		if (((unsigned char) *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
			*p == 0x7f)
			NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_text",
							("%s contains a control character", field),
							("Send plain text."),
							"Character code %d at byte %d.", (int) *p, (int) (p - s));

	chars = pg_mbstrlen(s);
	if (chars > max_chars)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.text_too_long",
						("%s is too long", field),
						("Keep %s to at most %d characters.", field, max_chars),
						"%s has %d characters.", field, chars);
	PG_RETURN_TEXT_P(cstring_to_text(s));

empty:
	if (required)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.text_required",
						("%s is required", field),
						("Say something in %s.", field),
						"%s is empty.", field);
	PG_RETURN_NULL();
}
