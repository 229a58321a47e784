/*-------------------------------------------------------------------------
 *
 * page.c
 *	  Keyset pages for the lists: the page size and the opaque cursors.
 *
 * Every list in naboom_api pages by keyset: the caller passes back the
 * cursor of the last row it saw (`after`) and gets the rows that follow it
 * in the list's order; nothing is skipped with OFFSET.  A cursor is opaque
 * to the caller: the list's name and the sort key of one row, packed as
 *
 *     kind 0x1F part 0x1F part ... 0x1F crc32c
 *
 * (a NULL part is the single byte 0x1E), in base64url without padding.  The
 * checksum catches a cursor that was cut short or mistyped; the list's name
 * catches a cursor passed to another list.  A cursor carries no secret and
 * grants nothing: every list applies its visibility rules to the rows after
 * any cursor, so a cursor made up by hand can only move where a page starts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "port/pg_crc32c.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "naboom.h"
#include "page.h"

int			naboom_max_page_size = 500;
int			naboom_default_page_size = 50;

/* The page settings, registered by _PG_init. */
void
NaboomDefinePageSettings(void)
{
	DefineCustomIntVariable("naboom.max_page_size",
							"Most rows one page of a list (incident_queue, community_incidents, ...) holds.",
							"Callers ask for fewer with max_count and page on with the cursor of the last row.",
							&naboom_max_page_size,
							500, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.default_page_size",
							"Rows in a page of a list when the caller does not say (max_count left out).",
							"Never more than naboom.max_page_size.",
							&naboom_default_page_size,
							50, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

#define CURSOR_SEP		'\x1f'
#define CURSOR_NULL		'\x1e'
#define CURSOR_MAX_LEN	2048

PG_FUNCTION_INFO_V1(naboom_check_page_size);

/*
 * naboom.check_page_size(max_count) returns how many rows a page holds:
 * max_count, or naboom.default_page_size when it is NULL;
 * naboom.invalid_count for less than 1 or more than naboom.max_page_size.
 * The lists call it first, which also loads the library, so the settings
 * exist.
 */
Datum
naboom_check_page_size(PG_FUNCTION_ARGS)
{
	int32		n;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(Min(naboom_default_page_size, naboom_max_page_size));
	n = PG_GETARG_INT32(0);
	if (n < 1 || n > naboom_max_page_size)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_count",
						("max_count must be between 1 and %d", naboom_max_page_size),
						("Use a value from 1 to %d and page with the cursor of the last row; the limit is the naboom.max_page_size setting.",
						 naboom_max_page_size),
						"It is %d.", n);
	PG_RETURN_INT32(n);
}

static void
InvalidCursor(const char *why)
{
	NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_cursor",
					("invalid page cursor"),
					("Pass the cursor of the last row of the previous page unchanged, or leave after out to start at the first page."),
					"%s", why);
}

PG_FUNCTION_INFO_V1(naboom_page_cursor);

/*
 * naboom.page_cursor(kind, parts) returns the opaque cursor for one row of
 * the list `kind` whose sort key is `parts` (text; NULL elements allowed).
 */
Datum
naboom_page_cursor(PG_FUNCTION_ARGS)
{
	text	   *kind = PG_GETARG_TEXT_PP(0);
	ArrayType  *parts = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	StringInfoData raw;
	pg_crc32c	crc;
	char	   *out;
	int			len;

	deconstruct_array(parts, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	initStringInfo(&raw);
	appendBinaryStringInfo(&raw, VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind));
	for (int i = 0; i < n; i++)
	{
		appendStringInfoChar(&raw, CURSOR_SEP);
		if (nulls[i])
			appendStringInfoChar(&raw, CURSOR_NULL);
		else
		{
			text	   *t = DatumGetTextPP(elems[i]);

			if (memchr(VARDATA_ANY(t), CURSOR_SEP, VARSIZE_ANY_EXHDR(t)) != NULL)
				elog(ERROR, "a page cursor's part may not hold byte 0x1F");
			appendBinaryStringInfo(&raw, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, raw.data, raw.len);
	FIN_CRC32C(crc);
	appendStringInfo(&raw, "%c%08x", CURSOR_SEP, crc);

	out = palloc(pg_b64_enc_len(raw.len) + 1);
	len = pg_b64_encode(raw.data, raw.len, out, pg_b64_enc_len(raw.len));
	if (len < 0)
		elog(ERROR, "could not encode a page cursor");
	/* base64url, no padding: safe in a URL query string as it is */
	while (len > 0 && out[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, len));
}

/*
 * The bytes a cursor packs (kind and parts, without the checksum), checked:
 * base64url, the checksum, valid text.  *rawlen is set to their length.
 */
static char *
DecodeCursor(text *cursor, int *rawlen)
{
	int			len = VARSIZE_ANY_EXHDR(cursor);
	char	   *in;
	char	   *raw;
	int			n;
	pg_crc32c	crc;
	char		crctext[9];

	if (len == 0 || len > CURSOR_MAX_LEN)
		InvalidCursor(len == 0 ? "The cursor is empty." : "The cursor is too long.");

	/* back from base64url to base64 with its padding */
	in = palloc(len + 4);
	memcpy(in, VARDATA_ANY(cursor), len);
	for (int i = 0; i < len; i++)
	{
		char		c = in[i];

		if (c == '-')
			in[i] = '+';
		else if (c == '_')
			in[i] = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			InvalidCursor("The cursor has a character no cursor has.");
	}
	while (len % 4 != 0)
		in[len++] = '=';
	raw = palloc(pg_b64_dec_len(len) + 1);
	n = pg_b64_decode(in, len, raw, pg_b64_dec_len(len));
	if (n < 10)
		InvalidCursor("The cursor does not decode.");

	/* the checksum: the last part, over everything before its separator */
	if (raw[n - 9] != CURSOR_SEP)
		InvalidCursor("The cursor has no checksum.");
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, raw, n - 9);
	FIN_CRC32C(crc);
	snprintf(crctext, sizeof(crctext), "%08x", crc);
	if (memcmp(crctext, raw + n - 8, 8) != 0)
		InvalidCursor("The cursor's checksum does not match: it was changed or cut short.");
	n -= 9;
	raw[n] = '\0';
	if (!pg_verifymbstr(raw, n, true))
		InvalidCursor("The cursor is not valid text.");
	*rawlen = n;
	return raw;
}

PG_FUNCTION_INFO_V1(naboom_page_cursor_parts);

/*
 * naboom.page_cursor_parts(kind, cursor, nparts) returns the sort key a
 * cursor carries, as text[] of nparts elements; NULL for a NULL cursor (the
 * first page).  naboom.invalid_cursor (22023) for anything that is not a
 * cursor of this list with nparts parts.
 */
Datum
naboom_page_cursor_parts(PG_FUNCTION_ARGS)
{
	text	   *kind;
	int			nparts = PG_GETARG_INT32(2);
	char	   *raw;
	int			rawlen;
	char	   *p;
	char	   *end;
	char	   *sep;
	Datum	   *elems;
	bool	   *nulls;
	int			n = 0;
	int			dims[1];
	int			lbs[1] = {1};

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	kind = PG_GETARG_TEXT_PP(0);
	raw = DecodeCursor(PG_GETARG_TEXT_PP(1), &rawlen);

	/* the list it belongs to */
	end = raw + rawlen;
	sep = memchr(raw, CURSOR_SEP, rawlen);
	if (sep == NULL)
		sep = end;
	if (sep - raw != VARSIZE_ANY_EXHDR(kind) ||
		memcmp(raw, VARDATA_ANY(kind), sep - raw) != 0)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_cursor",
						("page cursor of another list"),
						("Pass a cursor to the list that returned it."),
						"The cursor was returned by %s, not by %s.",
						pnstrdup(raw, sep - raw), text_to_cstring(kind));

	/* its parts */
	elems = palloc0(sizeof(Datum) * (nparts + 1));
	nulls = palloc0(sizeof(bool) * (nparts + 1));
	for (p = sep; p < end;)
	{
		char	   *start = p + 1;
		char	   *next = memchr(start, CURSOR_SEP, end - start);

		if (next == NULL)
			next = end;
		if (n >= nparts)
			InvalidCursor("The cursor has more parts than this list's.");
		if (next - start == 1 && *start == CURSOR_NULL)
			nulls[n] = true;
		else
			elems[n] = PointerGetDatum(cstring_to_text_with_len(start, next - start));
		n++;
		p = next;
	}
	if (n != nparts)
		InvalidCursor("The cursor has fewer parts than this list's.");
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, 1, dims, lbs,
											 TEXTOID, -1, false, TYPALIGN_INT));
}
