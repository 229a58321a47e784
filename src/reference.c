/*-------------------------------------------------------------------------
 *
 * reference.c
 *	  Incident references that can be read out over a radio.
 *
 * A reference looks like NB-7K3Q-9XW9: the prefix "NB-", then eight symbols
 * of Crockford base32 (0123456789ABCDEFGHJKMNPQRSTVWXYZ, no I L O U) in two
 * groups of four.  The first seven symbols are 35 random bits from
 * pg_strong_random(), so knowing one reference tells nothing about the next.
 * The eighth symbol is a check symbol.
 *
 * The check symbol.  Each symbol's value 0..31 is read as an element of
 * GF(32) = GF(2)[x] / (x^5 + x^2 + 1), whose element alpha = x (the value 2)
 * generates all 31 non-zero elements.  Symbols x_0 .. x_7 form a valid
 * reference iff
 *
 *		sum_{i=0..7} alpha^(i+1) * x_i == 0		(addition is XOR)
 *
 * so x_7 = alpha^-8 * sum_{i=0..6} alpha^(i+1) * x_i.  Changing one symbol
 * from a to b changes the sum by alpha^(i+1) * (a ^ b), which is not zero.
 * Swapping distinct neighbours a, b at positions i, i+1 changes it by
 * alpha^(i+1) * (a ^ b) * (1 ^ alpha), which is not zero either, because a
 * field has no zero divisors.  So every single substitution and every
 * neighbour swap (the check symbol included) is rejected.
 *
 * Why not something simpler: a weighted sum mod 32 cannot catch both kinds
 * of error, because 32 is not prime.  Catching every substitution needs
 * every weight odd; then neighbouring weights differ by an even number, and
 * swapping two symbols whose values differ by 16 goes unnoticed (e.g. "0G"
 * and "G0").  Crockford's own check symbol, the value mod 37, catches both,
 * but needs five extra symbols (* ~ $ = U) that are awkward to say and hear
 * on a radio.  GF(32) keeps the check inside the 32 ordinary symbols.
 *
 * Parsing is lenient, as Crockford intends: case does not matter, I and L
 * read as 1 and O as 0, hyphens and spaces are ignored anywhere, and the NB
 * prefix is optional.  Whether "NB" is a prefix is decided by the number of
 * symbols (ten with the prefix, eight without), never by guessing, so a
 * reference whose random part starts with NB is still read correctly.
 *
 * SQL declarations (for the extension script):
 *
 *	CREATE FUNCTION naboom.new_reference() RETURNS text
 *		AS 'MODULE_PATHNAME', 'naboom_new_reference'
 *		LANGUAGE C VOLATILE PARALLEL SAFE;
 *	COMMENT ON FUNCTION naboom.new_reference() IS
 *		'A fresh random incident reference such as NB-7K3Q-9XW9 (35 random bits and a GF(32) check symbol)';
 *
 *	CREATE FUNCTION naboom.reference_valid(text) RETURNS boolean
 *		AS 'MODULE_PATHNAME', 'naboom_reference_valid'
 *		LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
 *	COMMENT ON FUNCTION naboom.reference_valid(text) IS
 *		'True if the text is a valid incident reference, read leniently (any case, I/L as 1, O as 0, hyphens and spaces ignored, NB prefix optional)';
 *
 *	CREATE FUNCTION naboom.normalize_reference(text) RETURNS text
 *		AS 'MODULE_PATHNAME', 'naboom_normalize_reference'
 *		LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
 *	COMMENT ON FUNCTION naboom.normalize_reference(text) IS
 *		'The canonical form NB-XXXX-XXXX of a leniently typed incident reference, or NULL if it is not valid';
 *
 * src/reference.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "reference.h"

/* symbols in a reference, and how many of them are random */
#define REFERENCE_SYMBOLS	8
#define REFERENCE_RANDOM	7

/* longest input worth reading; anything longer is invalid unread */
#define REFERENCE_MAX_INPUT 64

/* GF(32): x^5 + x^2 + 1, and the number of non-zero elements */
#define GF_POLY				0x25
#define GF_ORDER			31

static const char CrockfordAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

StaticAssertDecl(sizeof(CrockfordAlphabet) == 32 + 1,
				 "Crockford base32 has 32 symbols");

/* GfExp[k] = alpha^k, GfLog[alpha^k] = k; built on first use */
static uint8 GfExp[GF_ORDER];
static uint8 GfLog[32];
static bool GfReady = false;

/*
 * GfBuildTables
 *		Fill the antilog and log tables of GF(32) by repeated multiplication
 *		by alpha: shift left, and reduce by the polynomial when x^5 appears.
 *
 * Building the tables from this one rule keeps them obviously right, where
 * a literal table would have to be checked digit by digit.
 */
static void
GfBuildTables(void)
{
	uint8		v = 1;
	int			k;

	for (k = 0; k < GF_ORDER; k++)
	{
		GfExp[k] = v;
		GfLog[v] = (uint8) k;
		v <<= 1;
		if (v & 0x20)
			v ^= GF_POLY;
	}
	GfReady = true;
}

/*
 * GfMul
 *		Product of two elements of GF(32), by adding logarithms.
 */
static uint8
GfMul(uint8 a, uint8 b)
{
	if (a == 0 || b == 0)
		return 0;
	return GfExp[(GfLog[a] + GfLog[b]) % GF_ORDER];
}

/*
 * WeightedSum
 *		sum_{i<n} alpha^(i+1) * sym[i] in GF(32).
 *
 * Over all eight symbols this is zero exactly for valid references; over
 * the first seven it is what the check symbol must cancel.
 */
static uint8
WeightedSum(const uint8 *sym, int n)
{
	uint8		sum = 0;
	int			i;

	if (!GfReady)
		GfBuildTables();

	for (i = 0; i < n; i++)
		sum ^= GfMul(GfExp[i + 1], sym[i]);
	return sum;
}

/*
 * CheckSymbol
 *		The eighth symbol that makes sym[0..7] a valid reference:
 *		alpha^-8 * sum_{i<7} alpha^(i+1) * sym[i].
 */
static uint8
CheckSymbol(const uint8 *sym)
{
	uint8		partial = WeightedSum(sym, REFERENCE_RANDOM);

	/* alpha^-8 = alpha^(31 - 8), since alpha^31 = 1 */
	return GfMul(GfExp[GF_ORDER - REFERENCE_SYMBOLS], partial);
}

/*
 * DecodeSymbol
 *		Value 0..31 of one typed character, or -1 if it is not a symbol.
 *
 * Crockford's reading rules: any case, I and L mean 1, O means 0, and U is
 * not a symbol at all.
 */
static int
DecodeSymbol(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = c - 'a' + 'A';
	if (c == 'I' || c == 'L')
		return 1;
	if (c == 'O')
		return 0;

	/* memchr over the 32 symbols only, so that NUL is not a match */
	p = memchr(CrockfordAlphabet, c, 32);
	return p ? (int) (p - CrockfordAlphabet) : -1;
}

/*
 * FormatReference
 *		Write the canonical form "NB-XXXX-XXXX" and a terminating NUL.
 */
static void
FormatReference(const uint8 *sym, char *out)
{
	int			i;
	char	   *p = out;

	*p++ = 'N';
	*p++ = 'B';
	for (i = 0; i < REFERENCE_SYMBOLS; i++)
	{
		if (i % 4 == 0)
			*p++ = '-';
		*p++ = CrockfordAlphabet[sym[i]];
	}
	*p = '\0';
	Assert(p - out == NABOOM_REFERENCE_LEN);
}

/*
 * NaboomReferenceParse
 *		Read a reference as a person may have typed it; see the file header
 *		for the rules.  Returns false if it is not valid; otherwise writes
 *		the canonical form to out, unless out is NULL.
 *
 * Separators are dropped first and the remaining characters counted, so
 * that ten characters starting with NB are a prefixed reference and eight
 * characters are a bare one, whatever the eight begin with.
 */
bool
NaboomReferenceParse(const char *in, size_t len, char *out)
{
	char		kept[REFERENCE_SYMBOLS + 2];
	uint8		sym[REFERENCE_SYMBOLS];
	int			nkept = 0;
	int			start;
	size_t		i;
	int			j;

	if (len > REFERENCE_MAX_INPUT)
		return false;

	for (i = 0; i < len; i++)
	{
		if (in[i] == '-' || in[i] == ' ')
			continue;
		if (nkept == lengthof(kept))
			return false;
		kept[nkept++] = in[i];
	}

	if (nkept == REFERENCE_SYMBOLS)
		start = 0;
	else if (nkept == REFERENCE_SYMBOLS + 2 &&
			 (kept[0] == 'N' || kept[0] == 'n') &&
			 (kept[1] == 'B' || kept[1] == 'b'))
		start = 2;
	else
		return false;

	for (j = 0; j < REFERENCE_SYMBOLS; j++)
	{
		int			v = DecodeSymbol(kept[start + j]);

		if (v < 0)
			return false;
		sym[j] = (uint8) v;
	}

	if (WeightedSum(sym, REFERENCE_SYMBOLS) != 0)
		return false;

	if (out != NULL)
		FormatReference(sym, out);
	return true;
}

/*
 * NaboomReferenceGenerate
 *		Write a fresh random reference: seven symbols from 35 bits of
 *		pg_strong_random(), then the check symbol.
 *
 * References must not be guessable from one another, hence the strong
 * source rather than random().  Five bytes give 40 bits; the top five are
 * dropped, which keeps every symbol uniform.
 */
void
NaboomReferenceGenerate(char *out)
{
	uint8		bytes[5];
	uint8		sym[REFERENCE_SYMBOLS];
	uint64		bits = 0;
	int			i;

	if (!pg_strong_random(bytes, sizeof(bytes)))
		elog(ERROR, "could not generate random bits for an incident reference");

	for (i = 0; i < (int) sizeof(bytes); i++)
		bits = (bits << 8) | bytes[i];
	for (i = 0; i < REFERENCE_RANDOM; i++)
	{
		sym[i] = (uint8) (bits & 0x1F);
		bits >>= 5;
	}
	sym[REFERENCE_RANDOM] = CheckSymbol(sym);

	FormatReference(sym, out);
}

/*
 * ParseTextArg
 *		Parse the text argument argno of an SQL call into out (which may be
 *		NULL); false if it is not a valid reference.
 *
 * The length is checked before the value is detoasted, so a huge stored
 * value is rejected without being fetched or decompressed.
 */
static bool
ParseTextArg(FunctionCallInfo fcinfo, int argno, char *out)
{
	text	   *arg;

	if (toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ >
		REFERENCE_MAX_INPUT)
		return false;

	arg = PG_GETARG_TEXT_PP(argno);
	return NaboomReferenceParse(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg), out);
}

/*
 * naboom_new_reference
 *		naboom.new_reference() RETURNS text: a fresh random reference in
 *		canonical form.
 */
PG_FUNCTION_INFO_V1(naboom_new_reference);
Datum
naboom_new_reference(PG_FUNCTION_ARGS)
{
	char		buf[NABOOM_REFERENCE_LEN + 1];

	NaboomReferenceGenerate(buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, NABOOM_REFERENCE_LEN));
}

/*
 * naboom_reference_valid
 *		naboom.reference_valid(text) RETURNS boolean: whether the text,
 *		read leniently, is a valid reference.
 */
PG_FUNCTION_INFO_V1(naboom_reference_valid);
Datum
naboom_reference_valid(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ParseTextArg(fcinfo, 0, NULL));
}

/*
 * naboom_normalize_reference
 *		naboom.normalize_reference(text) RETURNS text: the canonical form of
 *		a leniently typed reference, or NULL if it is not valid.
 *
 * NULL rather than an error, so that each caller can raise its own error
 * with the SQLSTATE and wording that fit its context.
 */
PG_FUNCTION_INFO_V1(naboom_normalize_reference);
Datum
naboom_normalize_reference(PG_FUNCTION_ARGS)
{
	char		buf[NABOOM_REFERENCE_LEN + 1];

	if (!ParseTextArg(fcinfo, 0, buf))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, NABOOM_REFERENCE_LEN));
}
