/*-------------------------------------------------------------------------
 *
 * naboom.c
 *	  Module magic, _PG_init and naboom's settings.
 *
 * Everything else lives in one file per concern: identity.c (claims to
 * actor), reference.c (incident references), workflow.c (the transition
 * trigger), transition_cache.c (the cached transition table) and
 * journal.c (the incident timeline).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "naboom.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Longest free text (description, note) a person may submit, in characters. */
int			naboom_max_text_length = 4000;

/*
 * _PG_init registers the naboom.* settings.  Nothing here needs
 * shared_preload_libraries: the library is loaded by the first call of one
 * of its functions or triggers.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("naboom.max_text_length",
							"Longest description or note a person may submit, in characters.",
							"Longer text is refused with naboom.text_too_long.",
							&naboom_max_text_length,
							4000, 100, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("naboom");
}
