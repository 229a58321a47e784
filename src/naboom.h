/*-------------------------------------------------------------------------
 *
 * naboom.h
 *	  Declarations shared by naboom's C files: keyed errors, the actor of
 *	  the current request, member roles and GUCs.
 *
 * Every error a user can cause carries a stable key (naboom.<something>) at
 * the start of its DETAIL, so that a client behind an HTTP gateway can act
 * on it without parsing English.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_H
#define NABOOM_H

#include "postgres.h"

#include "utils/elog.h"

/* PostgREST maps SQLSTATE PTxyz to HTTP status xyz. */
#define ERRCODE_NABOOM_NOT_FOUND	MAKE_SQLSTATE('P','T','4','0','4')
#define ERRCODE_NABOOM_CONFLICT		MAKE_SQLSTATE('P','T','4','0','9')

/*
 * NaboomErrorHint(sqlstate, key, (message...), (hint...), detail_fmt, ...)
 *
 * Raise an ERROR whose DETAIL starts with "<key>: " (key must be a string
 * literal), with a message and a hint given as parenthesised format lists.
 */
#define NaboomErrorHint(code, key, msg_args, hint_args, detail_fmt, ...) \
	do { \
	NaboomAuditRefusal(code, key, psprintf msg_args); \
	ereport(ERROR, \
			(errcode(code), \
			 errmsg msg_args, \
			 errdetail(key ": " detail_fmt, ##__VA_ARGS__), \
			 errhint hint_args)); \
	} while (0)

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

/* audit.c: records refusals that matter before they are raised */
extern void NaboomAuditRefusal(int sqlerrcode, const char *key, const char *message);

/* identity.c */
extern char *NaboomClaimedSubject(void);
extern NaboomActor NaboomCurrentActor(void);
extern NaboomRole NaboomRoleFromName(const char *name);
extern const char *NaboomRoleName(NaboomRole role);

/* naboom.c */
extern int	naboom_max_text_length;

#endif							/* NABOOM_H */
