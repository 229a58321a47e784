/*-------------------------------------------------------------------------
 *
 * claims.c
 *	  The verified JWT claims an HTTP gateway puts in the session, read
 *	  into a subject (a user reference) without raising an error.
 *
 * PostgREST sets request.jwt.claims to the whole claims object as JSON;
 * PostGraphile sets one setting per claim, jwt.claims.sub among them.  Both
 * are custom settings set with set_config(..., true), so after the
 * transaction they read as the empty string, not as missing: empty means
 * "no claims".  The database trusts these settings as it trusts the gateway
 * that verified the token; what it refuses is claims that are malformed or
 * that contradict each other.
 *
 * A numeric "sub" gets one rule through both gateways.  PostGraphile passes
 * every claim as text, a number as JavaScript prints it; PostgREST passes
 * the claims as JSON, where the number stays a number.  An integer that
 * JavaScript holds exactly (at most 2^53 - 1 either way) prints the same
 * in both, its decimal digits, and is that subject; any other number would
 * print differently (1e21, 0.1 + 0.2) or has already been rounded, and is
 * refused.
 *
 * A request the gateway made anonymous (the role naboom_anon) has no
 * subject, whatever its claims say: PostgREST keeps the claims of a token
 * whose role is naboom_anon, sub and all.
 *
 * Reading reports what is wrong instead of raising it, so that the audit of
 * a refusal (audit_refusal.c) can read the subject of claims that may be
 * the very thing refused; identity.c raises the error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "citus.h"
#include "claims.h"

#define MAX_USER_REF_LEN 255

/* The largest integer a JavaScript number holds exactly: 2^53 - 1. */
#define MAX_SAFE_INTEGER "9007199254740991"

/*
 * GetSetting returns the value of a custom setting, or NULL when it is unset
 * or empty.
 */
static const char *
GetSetting(const char *name)
{
	const char *value = GetConfigOption(name, true, false);

	if (value == NULL || value[0] == '\0')
		return NULL;
	return value;
}

/* Fill in *err and return false, for the callers' one-line refusals. */
static bool
Refuse(NaboomClaimsError *err, bool conflicting, char *message, char *detail,
	   char *hint)
{
	err->conflicting = conflicting;
	err->message = message;
	err->detail = detail;
	err->hint = hint;
	return false;
}

/*
 * CheckSubject refuses a "sub" that cannot be a user reference: empty, too
 * long, or containing control characters.
 */
static bool
CheckSubject(const char *sub, const char *source, NaboomClaimsError *err)
{
	size_t		len = strlen(sub);
	const char *p;

	if (len == 0 || len > MAX_USER_REF_LEN)
		return Refuse(err, false, psprintf("invalid JWT subject in %s", source),
					  psprintf("The sub claim is %zu characters long.", len),
					  psprintf("Have the gateway issue tokens whose sub claim is 1 to %d characters.",
							   MAX_USER_REF_LEN));
	for (p = sub; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			return Refuse(err, false, psprintf("invalid JWT subject in %s", source),
						  "The sub claim contains a control character.",
						  "Have the gateway issue tokens whose sub claim is printable text.");
	return true;
}

/*
 * SubjectFromNumber is the subject of a numeric "sub" in request.jwt.claims:
 * its decimal digits, as PostGraphile would pass it, when it is an integer
 * JavaScript holds exactly; any other number is refused.
 */
static bool
SubjectFromNumber(Numeric n, char **sub, NaboomClaimsError *err)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	char	   *digits = text[0] == '-' ? text + 1 : text;
	char	   *dot = strchr(digits, '.');
	size_t		len;

	/* 42.0 is 42, as in JavaScript; 42.5 is no subject. */
	if (dot != NULL && strspn(dot + 1, "0") == strlen(dot + 1))
		*dot = '\0';
	len = strlen(digits);
	if (strchr(digits, '.') != NULL || len > strlen(MAX_SAFE_INTEGER) ||
		(len == strlen(MAX_SAFE_INTEGER) && strcmp(digits, MAX_SAFE_INTEGER) > 0))
		return Refuse(err, false, "JWT sub claim is not a string or a safe integer",
					  psprintf("The sub claim in request.jwt.claims is the number %s, which gateways do not all pass as the same text.",
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)))),
					  "Have the gateway issue tokens whose sub claim is a string, or an integer between -" MAX_SAFE_INTEGER " and " MAX_SAFE_INTEGER ".");
	if (strcmp(digits, "0") == 0)
		text = digits;			/* -0 is 0, as JavaScript prints it */
	*sub = text;
	return true;
}

/*
 * SubjectFromPostgrest reads "sub" from request.jwt.claims into *sub (NULL
 * if the claims carry none).  Claims that are not a JSON object, or a sub
 * that is neither a string nor a safe integer, are refused: they mean a
 * broken or forged gateway.
 */
static bool
SubjectFromPostgrest(const char *claims, char **sub, NaboomClaimsError *err)
{
	JsonLexContext *lex;
	Jsonb	   *jb;
	JsonbValue *v;

	/*
	 * Validate first, without throwing, so bad claims get our own error.
	 * need_escapes makes the lexer decode \u escapes too, so \u0000 or a
	 * lone surrogate is caught here and not by jsonb_in.
	 */
	lex = makeJsonLexContextCstringLen(unconstify(char *, claims), strlen(claims),
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return Refuse(err, false, "request.jwt.claims is not valid JSON",
					  "The gateway's claims setting could not be parsed.",
					  "Set request.jwt.claims to the verified claims object, as PostgREST does.");
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(claims)));
	if (!JB_ROOT_IS_OBJECT(jb))
		return Refuse(err, false, "request.jwt.claims is not a JSON object",
					  "The claims must be an object such as {\"sub\": \"...\"}.",
					  "Set request.jwt.claims to the verified claims object, as PostgREST does.");

	v = getKeyJsonValueFromContainer(&jb->root, "sub", 3, NULL);
	if (v == NULL || v->type == jbvNull)
	{
		*sub = NULL;
		return true;
	}
	if (v->type == jbvNumeric)
		return SubjectFromNumber(v->val.numeric, sub, err);
	if (v->type != jbvString)
		return Refuse(err, false, "JWT sub claim is not a string",
					  "The sub claim in request.jwt.claims has another JSON type.",
					  "Have the gateway issue tokens whose sub claim is a string.");
	*sub = pnstrdup(v->val.string.val, v->val.string.len);
	return CheckSubject(*sub, "request.jwt.claims", err);
}

/*
 * NaboomIsAnonymous says whether the gateway switched to naboom_anon (SET
 * ROLE, or set_config('role', ...) as PostgREST does).  Only that role
 * itself: the gateway's login role is usually a member of it.
 */
bool
NaboomIsAnonymous(void)
{
	Oid			anon = get_role_oid("naboom_anon", true);

	return OidIsValid(anon) && NaboomOuterUserId() == anon;
}

/*
 * NaboomReadClaims reads the JWT subject the gateway set.  When both the
 * PostgREST and the PostGraphile settings are present they must agree.
 * Under naboom_anon the claims are not read at all: anonymous means no
 * subject, not a subject without privileges.
 */
static bool ReadClaims(char **sub, NaboomClaimsError *err);

bool
NaboomReadClaims(char **sub, NaboomClaimsError *err)
{
	/* first: carrying them sets the settings again (new strings) */
	NaboomCarryRequest();
	return ReadClaims(sub, err);
}

static bool
ReadClaims(char **sub, NaboomClaimsError *err)
{
	const char *claims = GetSetting("request.jwt.claims");
	const char *graphile = GetSetting("jwt.claims.sub");

	*sub = NULL;
	if (NaboomIsAnonymous())
		return true;
	if (claims != NULL && !SubjectFromPostgrest(claims, sub, err))
	{
		*sub = NULL;
		return false;
	}
	if (graphile != NULL)
	{
		if (!CheckSubject(graphile, "jwt.claims.sub", err))
		{
			*sub = NULL;
			return false;
		}
		if (*sub != NULL && strcmp(*sub, graphile) != 0)
		{
			*sub = NULL;
			return Refuse(err, true, "conflicting JWT subjects",
						  "request.jwt.claims and jwt.claims.sub name different users.",
						  "Set the identity in one place only: request.jwt.claims or jwt.claims.sub.");
		}
		if (*sub == NULL)
			*sub = pstrdup(graphile);
	}
	return true;
}
