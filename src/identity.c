/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is calling: the verified JWT claims an HTTP gateway puts in the
 *	  session, mapped to a naboom actor.
 *
 * PostgREST sets request.jwt.claims to the whole claims object as JSON;
 * PostGraphile sets one setting per claim, jwt.claims.sub among them.  Both
 * are custom settings set with set_config(..., true), so after the
 * transaction they read as the empty string, not as missing: empty means
 * "no claims".  The database trusts these settings as it trusts the gateway
 * that verified the token; what it refuses is claims that are malformed or
 * that contradict each other.
 *
 * Without claims, a role with the privileges of naboom_service (or a
 * superuser, e.g. a pg_cron job) acts as the service; anyone else has no
 * identity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "naboom.h"

#define MAX_USER_REF_LEN 255

static const char *const RoleNames[] = {
	"none", "resident", "verified", "responder", "moderator", "admin"
};

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

/*
 * CheckSubject refuses a "sub" that cannot be a user reference: empty, too
 * long, or containing control characters.
 */
static void
CheckSubject(const char *sub, const char *source)
{
	size_t		len = strlen(sub);
	const char *p;

	if (len == 0 || len > MAX_USER_REF_LEN)
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.invalid_claims",
						("invalid JWT subject in %s", source),
						("Have the gateway issue tokens whose sub claim is 1 to %d characters.", MAX_USER_REF_LEN),
						"The sub claim is %zu characters long.", len);
	for (p = sub; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
							"naboom.invalid_claims",
							("invalid JWT subject in %s", source),
							("Have the gateway issue tokens whose sub claim is printable text."),
							"The sub claim contains a control character.");
}

/*
 * SubjectFromPostgrest extracts "sub" from request.jwt.claims, or NULL if the
 * claims carry none.  Claims that are not a JSON object, or a sub that is
 * not a string, are refused: they mean a broken or forged gateway.
 */
static char *
SubjectFromPostgrest(const char *claims)
{
	JsonLexContext *lex;
	Datum		jsonb_datum;
	Jsonb	   *jb;
	JsonbValue *sub;
	char	   *result;

	/*
	 * Validate first, without throwing, so bad claims get our own error.
	 * need_escapes makes the lexer decode \u escapes too, so \u0000 or a
	 * lone surrogate is caught here and not by jsonb_in.
	 */
	lex = makeJsonLexContextCstringLen(unconstify(char *, claims), strlen(claims),
										 GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.invalid_claims",
						("request.jwt.claims is not valid JSON"),
						("Set request.jwt.claims to the verified claims object, as PostgREST does."),
						"The gateway's claims setting could not be parsed.");
	jsonb_datum = DirectFunctionCall1(jsonb_in, CStringGetDatum(claims));

	jb = DatumGetJsonbP(jsonb_datum);
	if (!JB_ROOT_IS_OBJECT(jb))
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.invalid_claims",
						("request.jwt.claims is not a JSON object"),
						("Set request.jwt.claims to the verified claims object, as PostgREST does."),
						"The claims must be an object such as {\"sub\": \"...\"}.");

	sub = getKeyJsonValueFromContainer(&jb->root, "sub", 3, NULL);
	if (sub == NULL || sub->type == jbvNull)
		return NULL;
	if (sub->type != jbvString)
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.invalid_claims",
						("JWT sub claim is not a string"),
						("Have the gateway issue tokens whose sub claim is a string."),
						"The sub claim in request.jwt.claims has another JSON type.");

	result = pnstrdup(sub->val.string.val, sub->val.string.len);
	CheckSubject(result, "request.jwt.claims");
	return result;
}

/*
 * NaboomClaimedSubject returns the JWT subject the gateway set, or NULL when
 * there is none.  When both the PostgREST and the PostGraphile settings are
 * present they must agree.
 */
char *
NaboomClaimedSubject(void)
{
	const char *claims = GetSetting("request.jwt.claims");
	const char *graphile = GetSetting("jwt.claims.sub");
	char	   *sub = NULL;

	if (claims != NULL)
		sub = SubjectFromPostgrest(claims);

	if (graphile != NULL)
	{
		CheckSubject(graphile, "jwt.claims.sub");
		if (sub != NULL && strcmp(sub, graphile) != 0)
			NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
							"naboom.conflicting_claims",
							("conflicting JWT subjects"),
							("Set the identity in one place only: request.jwt.claims or jwt.claims.sub."),
							"request.jwt.claims and jwt.claims.sub name different users.");
		if (sub == NULL)
			sub = pstrdup(graphile);
	}
	return sub;
}

/*
 * IsServiceRole says whether the role outside any SECURITY DEFINER function
 * may act as the naboom service.
 */
static bool
IsServiceRole(void)
{
	Oid			outer = GetOuterUserId();
	Oid			service = get_role_oid("naboom_service", true);

	if (superuser_arg(outer))
		return true;
	return OidIsValid(service) && has_privs_of_role(outer, service);
}

/*
 * NaboomCurrentActor returns the actor of the current request, or raises
 * naboom.missing_identity.
 */
NaboomActor
NaboomCurrentActor(void)
{
	NaboomActor actor;

	actor.user_ref = NaboomClaimedSubject();
	actor.is_service = false;
	if (actor.user_ref != NULL)
		return actor;

	if (IsServiceRole())
	{
		actor.is_service = true;
		return actor;
	}

	NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
					"naboom.missing_identity",
					("no identity"),
					("Call naboom through a gateway that sets request.jwt.claims (PostgREST) or jwt.claims.sub (PostGraphile)."),
					"Role \"%s\" gave no JWT subject.",
					GetUserNameFromId(GetOuterUserId(), false));
	pg_unreachable();
}

/*
 * NaboomRoleFromName maps a naboom.member_role label to its rank.
 */
NaboomRole
NaboomRoleFromName(const char *name)
{
	int			i;

	for (i = MEMBER_RESIDENT; i <= MEMBER_ADMIN; i++)
		if (strcmp(name, RoleNames[i]) == 0)
			return (NaboomRole) i;
	elog(ERROR, "unknown naboom member role \"%s\"", name);
	pg_unreachable();
}

/*
 * NaboomRoleName is the label of a rank.
 */
const char *
NaboomRoleName(NaboomRole role)
{
	return RoleNames[role];
}

PG_FUNCTION_INFO_V1(naboom_current_actor);

/*
 * naboom.current_actor() returns the caller's user_ref from the JWT claims,
 * or NULL when there are none.  Row-level security policies use it.
 */
Datum
naboom_current_actor(PG_FUNCTION_ARGS)
{
	char	   *sub = NaboomClaimedSubject();

	if (sub == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(sub));
}

PG_FUNCTION_INFO_V1(naboom_require_actor);

/*
 * naboom.require_actor() returns the caller's user_ref, or NULL when the
 * caller is the service; anyone else gets naboom.missing_identity.
 */
Datum
naboom_require_actor(PG_FUNCTION_ARGS)
{
	NaboomActor actor = NaboomCurrentActor();

	if (actor.user_ref == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(actor.user_ref));
}

PG_FUNCTION_INFO_V1(naboom_is_service);

/*
 * naboom.is_service() says whether the caller acts as the naboom service:
 * no JWT subject, and the privileges of naboom_service or a superuser.
 */
Datum
naboom_is_service(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NaboomClaimedSubject() == NULL && IsServiceRole());
}
