/*-------------------------------------------------------------------------
 *
 * claims.h
 *	  Reading the JWT subject an HTTP gateway put in the session
 *	  (claims.c), without raising: identity.c raises what is wrong,
 *	  audit_refusal.c only needs the subject when there is one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NABOOM_CLAIMS_H
#define NABOOM_CLAIMS_H

/* What is wrong with the claims: the parts of naboom's keyed error. */
typedef struct NaboomClaimsError
{
	bool		conflicting;	/* naboom.conflicting_claims, else invalid_claims */
	char	   *message;
	char	   *detail;
	char	   *hint;
} NaboomClaimsError;

/*
 * Read the subject from request.jwt.claims (PostgREST) and jwt.claims.sub
 * (PostGraphile).  Returns true with *sub set (NULL when there are no
 * claims), or false with *err describing why the claims are refused.
 */
extern bool NaboomReadClaims(char **sub, NaboomClaimsError *err);

/* Whether the request runs as naboom_anon, whose claims do not count. */
extern bool NaboomIsAnonymous(void);

#endif							/* NABOOM_CLAIMS_H */
