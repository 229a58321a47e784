/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is calling: the verified JWT claims an HTTP gateway puts in the
 *	  session, mapped to a naboom actor.
 *
 * claims.c reads the subject from the gateway's settings; this file raises
 * naboom's error when they are malformed or contradict each other.
 *
 * Without claims, a role with the privileges of naboom_service (or a
 * superuser, e.g. a pg_cron job) acts as the service; anyone else has no
 * identity.  Under the role naboom_anon the claims do not count (claims.c):
 * the caller has no identity, and only what the public may do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "naboom.h"
#include "citus.h"
#include "claims.h"
#include "identity.h"

static const char *const RoleNames[] = {
	"none", "resident", "verified", "responder", "moderator", "admin"
};

/*
 * NaboomClaimedSubject returns the JWT subject the gateway set, or NULL when
 * there is none; claims that are malformed or contradict each other are
 * refused (claims.c says how).
 */
char *
NaboomClaimedSubject(void)
{
	char	   *sub;
	NaboomClaimsError err;

	if (NaboomReadClaims(&sub, &err))
		return sub;
	if (err.conflicting)
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.conflicting_claims",
						("%s", err.message), ("%s", err.hint), "%s", err.detail);
	NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
					"naboom.invalid_claims",
					("%s", err.message), ("%s", err.hint), "%s", err.detail);
	pg_unreachable();
}

/*
 * IsServiceRole says whether the role outside any SECURITY DEFINER function
 * may act as the naboom service.
 */
static bool
IsServiceRole(void)
{
	Oid			outer = NaboomOuterUserId();
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

	if (NaboomIsAnonymous())
		NaboomErrorHint(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
						"naboom.missing_identity",
						("no identity"),
						("Sign in: call with a token whose role is naboom_user."),
						"Requests as naboom_anon are anonymous, whatever their JWT claims say.");
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
