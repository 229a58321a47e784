/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Recognising a restore, so that naboom's triggers load dumped rows as
 *	  they were instead of judging them again.
 *
 * A dumped incident is already past the workflow, its timeline entries,
 * alerts, events and audit rows are in the dump too, and its ids are taken.
 * Judged again it is refused ("a new incident must start as reported") or
 * written twice.  So while a restore loads rows the workflow, timeline,
 * alert, escalation, rate-limit and audit triggers let them in unchanged.
 *
 * A restore is recognised without a flag from the DBA, by what every
 * pg_dump script and every pg_restore session does and an application
 * session does not:
 *   - the session user is a superuser: one who could switch the triggers
 *     off anyway (session_replication_role, ALTER TABLE DISABLE TRIGGER,
 *     DROP EVENT TRIGGER), and the only one who can CREATE EXTENSION naboom;
 *     it is the session user, not the current user, so a member's session
 *     that reaches naboom's SECURITY DEFINER functions (which run as the
 *     superuser who owns them) is never a restore;
 *   - row_security is off, as pg_dump scripts and pg_restore set it;
 *   - check_function_bodies is off, as they set it too;
 *   - for rows (NaboomRestoring): the top-level statement is COPY, which
 *     is how pg_dump writes data (unless told --inserts).  For DDL
 *     (NaboomRestoreSession), only the settings count.
 * See README "Backup and restore" for the trade-off.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/cmdtag.h"
#include "tcop/pquery.h"
#include "utils/guc.h"
#include "utils/portal.h"
#include "utils/rls.h"

#include "restore.h"

/* pg_dump's and pg_restore's settings in a superuser's session. */
bool
NaboomRestoreSession(void)
{
	return !row_security && !check_function_bodies && superuser_arg(GetSessionUserId());
}

/* A restore session's COPY, or a row written while one loads a table. */
bool
NaboomRestoring(void)
{
	return ActivePortal != NULL && ActivePortal->commandTag == CMDTAG_COPY &&
		NaboomRestoreSession();
}

PG_FUNCTION_INFO_V1(naboom_restoring);

/*
 * naboom.restoring(): NaboomRestoring for the PL/pgSQL triggers
 * (escalation_start, rate_limit_*, the seed and audit partition triggers).
 */
Datum
naboom_restoring(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NaboomRestoring());
}
