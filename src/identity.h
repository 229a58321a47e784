/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  Who is calling (identity.c): the JWT subject, the actor of the
 *	  current request and member roles.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_IDENTITY_H
#define NABOOM_IDENTITY_H

/*
 * Member roles in a community, in rank order.  MEMBER_NONE is "not a
 * member"; the service actor (integrations, pg_cron jobs) is not ranked.
 */
typedef enum NaboomRole
{
	MEMBER_NONE = 0,
	MEMBER_RESIDENT,
	MEMBER_VERIFIED,
	MEMBER_RESPONDER,
	MEMBER_MODERATOR,
	MEMBER_ADMIN
} NaboomRole;

/*
 * Who is acting: a member identified by the gateway's verified JWT "sub"
 * claim, or the naboom service (a role with the privileges of
 * naboom_service, or a superuser, acting without claims).
 */
typedef struct NaboomActor
{
	char	   *user_ref;		/* palloc'd, NULL for the service */
	bool		is_service;
} NaboomActor;

extern char *NaboomClaimedSubject(void);
extern NaboomActor NaboomCurrentActor(void);
extern NaboomRole NaboomRoleFromName(const char *name);
extern const char *NaboomRoleName(NaboomRole role);

#endif							/* NABOOM_IDENTITY_H */
