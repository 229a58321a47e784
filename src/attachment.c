/*-------------------------------------------------------------------------
 *
 * attachment.c
 *	  Evidence attached to incidents: the settings that bound what may be
 *	  attached, and the check of a file's type and size against them.
 *
 * naboom keeps only an attachment's metadata (naboom.attachment); the bytes
 * live in object storage, which the gateway signs URLs for.  What a person
 * may attach is a server's decision, so it is a setting:
 *
 *	naboom.attachment_types				the content types allowed
 *	naboom.attachment_max_size			the largest file that is not a video
 *	naboom.attachment_max_video_size	the largest video/<anything>
 *	naboom.attachments_per_incident		how many one incident holds
 *
 * The per-member rate limit is naboom's (naboom.rate_limit, action
 * "attachment"), counted by a trigger on naboom.attachment.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "naboom.h"
#include "attachment.h"

/* Photos and short videos from phones, by default. */
#define DEFAULT_TYPES \
	"image/jpeg, image/png, image/heic, image/heif, image/webp, video/mp4, video/quicktime, video/3gpp"

char	   *naboom_attachment_types = NULL;
int			naboom_attachment_max_size = 25 * 1024; /* kB */
int			naboom_attachment_max_video_size = 100 * 1024;	/* kB */
int			naboom_attachments_per_incident = 20;

/* Longest content type accepted (RFC 6838 allows 127 + 1 + 127). */
#define MAX_TYPE_LEN 255

/*
 * TypeValid says whether s (len bytes) is a lower-case media type without
 * parameters: a name, "/", a name, each of RFC 6838's restricted-name
 * characters.
 */
static bool
TypeValid(const char *s, int len)
{
	int			slash = -1;

	if (len < 3 || len > MAX_TYPE_LEN)
		return false;
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '/')
		{
			if (slash >= 0 || i == 0 || i == len - 1)
				return false;
			slash = i;
		}
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				   (strchr("!#$&^_.+-", c) != NULL && i != 0 && i != slash + 1)))
			return false;
	}
	return slash > 0;
}

/*
 * NextType finds the next entry of a comma-separated list at *p: its start
 * and length without surrounding blanks; false at the end of the list.
 */
static bool
NextType(const char **p, const char **start, int *len)
{
	const char *s = *p;
	const char *e;

	if (*s == '\0')
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e != '\0' && *e != ',')
		e++;
	*p = (*e == ',') ? e + 1 : e;
	*start = s;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*len = e - s;
	return true;
}

/*
 * CheckTypes refuses a list of content types that is empty or holds
 * anything but lower-case media types, when the setting is made, rather
 * than at the first upload.
 */
static bool
CheckTypes(char **newval, void **extra, GucSource source)
{
	const char *p;
	const char *t;
	int			len;
	int			n = 0;

	if (*newval == NULL)
		return true;
	p = *newval;
	while (NextType(&p, &t, &len))
	{
		if (!TypeValid(t, len))
		{
			GUC_check_errdetail("\"%.*s\" is not a lower-case content type such as image/jpeg.", Min(len, 60), t);
			return false;
		}
		n++;
	}
	if (n == 0)
	{
		GUC_check_errdetail("List the allowed content types separated by commas, e.g. \"image/jpeg, video/mp4\".");
		return false;
	}
	return true;
}

/* The attachment settings, registered by _PG_init. */
void
NaboomDefineAttachmentSettings(void)
{
	DefineCustomStringVariable("naboom.attachment_types",
							   "Content types a person may attach to an incident, separated by commas.",
							   "Other types are refused with naboom.content_type_not_allowed.",
							   &naboom_attachment_types,
							   DEFAULT_TYPES,
							   PGC_SUSET, 0,
							   CheckTypes, NULL, NULL);

	DefineCustomIntVariable("naboom.attachment_max_size",
							"Largest attachment that is not a video.",
							"Larger files are refused with naboom.attachment_too_large.",
							&naboom_attachment_max_size,
							25 * 1024, 1, 10 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.attachment_max_video_size",
							"Largest video (video/...) attachment.",
							"Larger videos are refused with naboom.attachment_too_large.",
							&naboom_attachment_max_video_size,
							100 * 1024, 1, 10 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("naboom.attachments_per_incident",
							"Most attachments one incident holds, hidden ones included.",
							"More are refused with naboom.attachment_limit.",
							&naboom_attachments_per_incident,
							20, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/* Whether type (lower case, len bytes) is on the allowed list. */
static bool
TypeAllowed(const char *type, int len)
{
	const char *p = naboom_attachment_types ? naboom_attachment_types : DEFAULT_TYPES;
	const char *t;
	int			n;

	while (NextType(&p, &t, &n))
		if (n == len && memcmp(t, type, len) == 0)
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(naboom_check_attachment_file);

/*
 * naboom.check_attachment_file(content_type, bytes) returns the content
 * type in lower case without surrounding blanks, or refuses it:
 * naboom.invalid_content_type (not a media type), naboom.content_type_not_allowed
 * (not on naboom.attachment_types), naboom.invalid_bytes (missing or not
 * positive), naboom.attachment_too_large (over naboom.attachment_max_size,
 * or naboom.attachment_max_video_size for a video).
 */
Datum
naboom_check_attachment_file(PG_FUNCTION_ARGS)
{
	char	   *type;
	char	   *end;
	int			len;
	int64		bytes;
	int64		limit;
	bool		video;

	if (PG_ARGISNULL(0))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_content_type",
						("content_type is required"),
						("Send the file's media type, e.g. image/jpeg."),
						"No content type was given.");
	type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	while (*type == ' ' || *type == '\t')
		type++;
	end = type + strlen(type);
	while (end > type && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	len = end - type;
	for (int i = 0; i < len; i++)
		type[i] = pg_ascii_tolower((unsigned char) type[i]);
	if (!TypeValid(type, len))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_content_type",
						("\"%s\" is not a content type", pnstrdup(type, Min(len, 60))),
						("Send the file's media type without parameters, e.g. image/jpeg."),
						"A content type is a type and a subtype, such as video/mp4.");
	if (!TypeAllowed(type, len))
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.content_type_not_allowed",
						("%s files may not be attached", type),
						("Attach a photo or a short video, of one of the allowed types."),
						"Allowed: %s.", naboom_attachment_types ? naboom_attachment_types : DEFAULT_TYPES);

	if (PG_ARGISNULL(1) || PG_GETARG_INT64(1) < 1)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.invalid_bytes",
						("bytes must be the file's size, at least 1"),
						("Send the size in bytes of the object you stored."),
						"It is %s.", PG_ARGISNULL(1) ? "NULL" : psprintf(INT64_FORMAT, PG_GETARG_INT64(1)));
	bytes = PG_GETARG_INT64(1);
	video = strncmp(type, "video/", 6) == 0;
	limit = (int64) (video ? naboom_attachment_max_video_size : naboom_attachment_max_size) * 1024;
	if (bytes > limit)
		NaboomErrorHint(ERRCODE_INVALID_PARAMETER_VALUE, "naboom.attachment_too_large",
						("the %s is too large", video ? "video" : "file"),
						("Attach a smaller or shorter file (at most " INT64_FORMAT " bytes)%s.", limit,
						 video ? "; trim the video" : ""),
						INT64_FORMAT " bytes is more than the " INT64_FORMAT " bytes allowed (%s).",
						bytes, limit, video ? "naboom.attachment_max_video_size" : "naboom.attachment_max_size");
	PG_RETURN_TEXT_P(cstring_to_text_with_len(type, len));
}

/*
 * NaboomAttachmentsInstalled says whether this database has naboom.attachment:
 * the library of 0.7.0 also serves a database not yet upgraded from an
 * earlier version (ALTER EXTENSION naboom UPDATE), whose retention and
 * erasure must not touch a table it does not have.
 */
bool
NaboomAttachmentsInstalled(void)
{
	Oid			ns = get_namespace_oid("naboom", true);

	return OidIsValid(ns) && OidIsValid(get_relname_relid("attachment", ns));
}
