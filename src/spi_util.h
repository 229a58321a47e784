/*-------------------------------------------------------------------------
 *
 * spi_util.h
 *	  SPI helpers shared by every file that queries through SPI
 *	  (spi_util.c): connecting, kept plans, statements that must succeed,
 *	  and running code as a table's or the extension's owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_SPI_UTIL_H
#define NABOOM_SPI_UTIL_H

#include "executor/spi.h"

/* SPI_connect (or SPI_connect_ext with options), checked. */
extern void NaboomSpiConnect(void);
extern void NaboomSpiConnectExt(int options);

/*
 * Prepare a query once per backend and keep it.  "@." in the text stands
 * for the PostGIS schema; every other name is qualified in the text.
 */
extern SPIPlanPtr NaboomKeptPlan(SPIPlanPtr *plan, const char *sql,
								 int nargs, Oid *argtypes);
/* The same, always run with its generic plan (never re-planned per call). */
extern SPIPlanPtr NaboomKeptGenericPlan(SPIPlanPtr *plan, const char *sql,
										int nargs, Oid *argtypes);
extern void NaboomForgetPlan(SPIPlanPtr *plan);

/* The query text with "@." replaced by the PostGIS schema and a dot. */
extern char *NaboomExpandPostgis(const char *sql);

/* The quoted name of the schema PostGIS is installed in. */
extern const char *NaboomPostgisSchema(void);

/* Run a statement with $n parameters; it must succeed with code expect. */
extern void NaboomExecute(const char *sql, int nargs, Oid *types,
						  Datum *values, int expect);

/* A bigint of the last result (0 for NULL), and a datum moved out of SPI. */
extern int64 NaboomResultInt8(int row, int col);
extern Datum NaboomResultDatum(int row, int col, bool *isnull);
extern Datum NaboomResultTransfer(int row, int col);

/*
 * Call fn(arg) as role owner (the table or extension owner), as the RI
 * triggers do, so a caller needs no privilege on what naboom writes for
 * it.  The caller's identity is restored afterwards, also on error.
 */
extern void NaboomRunAsOwner(Oid owner, void (*fn) (void *arg), void *arg);

#endif							/* NABOOM_SPI_UTIL_H */
