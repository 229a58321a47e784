/*-------------------------------------------------------------------------
 *
 * reference.h
 *	  Incident references such as NB-7K3Q-9XW9: seven random Crockford
 *	  base32 symbols and one GF(32) check symbol.
 *
 * See reference.c for the format, the lenient parsing rules and why the
 * check symbol is computed in GF(32).
 *
 * src/reference.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_REFERENCE_H
#define NABOOM_REFERENCE_H

/* length of the canonical form "NB-XXXX-XXXX", without the terminator */
#define NABOOM_REFERENCE_LEN 12

/*
 * Parse a reference typed by a person.  Returns false if it is not a valid
 * reference.  On success, if out is not NULL, writes the canonical form
 * (NABOOM_REFERENCE_LEN bytes plus a terminating NUL) to out.
 */
extern bool NaboomReferenceParse(const char *in, size_t len, char *out);

/*
 * Write a fresh random valid reference (NABOOM_REFERENCE_LEN bytes plus a
 * terminating NUL) to out.
 */
extern void NaboomReferenceGenerate(char *out);

#endif							/* NABOOM_REFERENCE_H */
