/*-------------------------------------------------------------------------
 *
 * writer.h
 *	  naboom's background writer (writer.c): it drains the audit ring and
 *	  publishes the event stream in naboom.writer_database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_WRITER_H
#define NABOOM_WRITER_H

/*
 * naboom.writer_database, and naboom.audit_database, its deprecated alias
 * (kept for one release); NULL while unset.  Server-start settings,
 * registered by naboom.c.
 */
extern char *naboom_writer_database;
extern char *naboom_audit_database;

/* The database the writer serves, from those settings. */
extern const char *NaboomWriterDatabase(void);

/*
 * Called from _PG_init.  Does nothing unless naboom is being preloaded;
 * then warns about the deprecated setting, asks for the audit ring and
 * registers the writer.
 */
extern void NaboomWriterInit(void);

#endif							/* NABOOM_WRITER_H */
