--
-- Incident references: NB-XXXX-XXXX, seven random Crockford base32 symbols
-- and one GF(32) check symbol (src/reference.c).
--
-- Fixed valid references, computed outside the database:
--   NB-7K3Q-9XW9  NB-NB4C-2XP6  NB-1111-111P  NB-ZZZZ-ZZZE  NB-HJKM-NPQR
--   NB-A0B1-C2DS  NB-0000-0000
-- Every query below prints only fixed values, counts and booleans.
--

-- canonical forms are valid and normalize to themselves
SELECT r, naboom.reference_valid(r) AS valid,
       naboom.normalize_reference(r) = r AS canonical
FROM (VALUES ('NB-7K3Q-9XW9'), ('NB-NB4C-2XP6'), ('NB-1111-111P'),
             ('NB-ZZZZ-ZZZE'), ('NB-HJKM-NPQR'), ('NB-A0B1-C2DS'),
             ('NB-0000-0000')) AS v(r);

-- lenient input: any case, hyphens and spaces anywhere, NB prefix optional,
-- I and L read as 1, O read as 0
SELECT input, naboom.reference_valid(input) AS valid,
       naboom.normalize_reference(input) AS canonical
FROM (VALUES ('nb-7k3q-9xw9'),
             ('Nb-7K3q-9xW9'),
             ('nb7k3q9xw9'),
             ('NB7K3Q9XW9'),
             ('7k3q 9xw9'),
             ('7K3Q-9XW9'),
             ('7k3q9xw9'),
             ('  NB 7K3Q 9XW9  '),
             ('N-B-7-K-3-Q-9-X-W-9'),
             ('nb - 7k3q - 9xw9'),
             ('NB-IIII-IIIP'),
             ('nb-llll-lllp'),
             ('NB-1iL1-I1lp'),
             ('iiii llLp'),
             ('NB-OOOO-OOOO'),
             ('oooo oooo'),
             ('NB-0o0O-o0O0'),
             ('NB-A0B1-C2DS'),
             ('nb-aob1-c2ds'),
             ('NB-AOBI-C2DS'),
             ('aoblc2ds')) AS v(input);

-- whether NB is a prefix depends only on the number of symbols: ten symbols
-- starting with NB carry the prefix, eight symbols never do
SELECT input, naboom.normalize_reference(input) AS canonical
FROM (VALUES ('NB-NB4C-2XP6'),
             ('NBNB4C2XP6'),
             ('nbnb 4c2x p6'),
             ('NB4C-2XP6'),
             ('nb4c2xp6')) AS v(input);

-- rejects: reference_valid is false and normalize_reference is NULL
SELECT reason, naboom.reference_valid(input) AS valid,
       naboom.normalize_reference(input) IS NULL AS normalized_is_null
FROM (VALUES ('U is not a symbol',         'NB-7K3Q-9UW9'),
             ('lower-case u',              'nb-7k3q-9xwu'),
             ('wrong check symbol',        'NB-7K3Q-9XW2'),
             ('wrong check symbol (next)', 'NB-7K3Q-9XWA'),
             ('neighbour swap',            'NB-K73Q-9XW9'),
             ('swap across the hyphen',    'NB-7K39-QXW9'),
             ('swap with check symbol',    'NB-7K3Q-9X9W'),
             ('seven symbols',             'NB-7K3Q-9XW'),
             ('nine symbols',              'NB-7K3Q-9XW90'),
             ('nine bare symbols',         '7K3Q9XW90'),
             ('eleven symbols',            'NB-7K3Q-9XW9-0'),
             ('twelve symbols',            'NBNB-7K3Q-9XW9'),
             ('empty string',              ''),
             ('separators only',           ' - - '),
             ('prefix only',               'NB-'),
             ('prefix XB',                 'XB-7K3Q-9XW9'),
             ('prefix BN',                 'BN-7K3Q-9XW9'),
             ('prefix N0',                 'N0-7K3Q-9XW9'),
             ('underscore',                'NB_7K3Q_9XW9'),
             ('full stop',                 'NB.7K3Q.9XW9'),
             ('slash',                     'NB/7K3Q/9XW9'),
             ('trailing full stop',        'NB-7K3Q-9XW9.'),
             ('hash',                      '#NB-7K3Q-9XW9'),
             ('tab',                       E'NB-7K3Q\t9XW9'),
             ('newline',                   E'NB-7K3Q-9XW9\n'),
             ('comma',                     'NB,7K3Q,9XW9'),
             ('asterisk (Crockford check)', 'NB-7K3Q-9XW*')
     ) AS v(reason, input);

-- NULL in, NULL out (both are STRICT)
SELECT naboom.reference_valid(NULL) IS NULL AS valid_null,
       naboom.normalize_reference(NULL) IS NULL AS normalized_null;

-- length limit: up to 64 bytes (separators included) are read, more are not
SELECT naboom.reference_valid('NB-0000-0000' || repeat(' ', 52)) AS valid_64_bytes,
       naboom.reference_valid('NB-0000-0000' || repeat(' ', 53)) AS valid_65_bytes,
       naboom.reference_valid(repeat('-', 53) || 'NB-7K3Q-9XW9') AS valid_65_bytes_leading;

-- a 1 MB argument is rejected, in memory and when stored (toasted)
SELECT naboom.reference_valid(repeat('0', 1000000)) AS valid_1mb,
       naboom.normalize_reference(repeat(' ', 1000000) || 'NB-0000-0000') IS NULL
           AS normalized_1mb_is_null;
CREATE TEMPORARY TABLE reference_big (t text);
INSERT INTO reference_big VALUES (repeat('NB-0000-0000 ', 80000));
SELECT pg_column_size(t) < octet_length(t) AS stored_compressed,
       naboom.reference_valid(t) AS valid,
       naboom.normalize_reference(t) IS NULL AS normalized_is_null
FROM reference_big;
DROP TABLE reference_big;

-- every single-symbol substitution of a valid reference is rejected:
-- 8 positions x 31 other symbols for each fixed reference
WITH refs(r) AS (
    VALUES ('NB-7K3Q-9XW9'), ('NB-NB4C-2XP6'), ('NB-1111-111P'),
           ('NB-ZZZZ-ZZZE'), ('NB-HJKM-NPQR'), ('NB-A0B1-C2DS'),
           ('NB-0000-0000')),
pos(p) AS (VALUES (4), (5), (6), (7), (9), (10), (11), (12)),
sym(s) AS (
    SELECT substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', i, 1)
    FROM generate_series(1, 32) AS i)
SELECT count(*) AS substitutions,
       count(*) FILTER (WHERE naboom.reference_valid(
           overlay(r PLACING s FROM p FOR 1))) AS accepted
FROM refs, pos, sym
WHERE substr(r, p, 1) <> s;

-- every swap of two distinct neighbouring symbols is rejected, including
-- swaps across the middle hyphen and with the check symbol
WITH refs(r) AS (
    VALUES ('NB-7K3Q-9XW9'), ('NB-NB4C-2XP6'), ('NB-1111-111P'),
           ('NB-ZZZZ-ZZZE'), ('NB-HJKM-NPQR'), ('NB-A0B1-C2DS')),
pairs(p, q) AS (
    VALUES (4, 5), (5, 6), (6, 7), (7, 9), (9, 10), (10, 11), (11, 12))
SELECT count(*) AS swaps,
       count(*) FILTER (WHERE naboom.reference_valid(
           overlay(overlay(r PLACING substr(r, q, 1) FROM p FOR 1)
                   PLACING substr(r, p, 1) FROM q FOR 1))) AS accepted
FROM refs, pairs
WHERE substr(r, p, 1) <> substr(r, q, 1);

-- substituting I, L or O for the symbol they stand for is not an error
SELECT naboom.normalize_reference(overlay('NB-1111-111P' PLACING 'l' FROM 6 FOR 1))
           AS l_for_1,
       naboom.normalize_reference(overlay('NB-A0B1-C2DS' PLACING 'O' FROM 5 FOR 1))
           AS o_for_0;

-- new_reference(): 10,000 references, all well formed, valid, canonical
-- and distinct.  35 random bits give a 0.15% chance that two of 10,000
-- collide (birthday bound), so up to two repeats are tolerated; more than
-- that (about one run in 2 x 10^9) means the randomness is broken.
CREATE TEMPORARY TABLE reference_fresh AS
    SELECT naboom.new_reference() AS r FROM generate_series(1, 10000);
SELECT count(*) AS generated,
       count(*) FILTER (WHERE r ~ '^NB-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$')
           AS well_formed,
       count(*) FILTER (WHERE naboom.reference_valid(r)) AS valid,
       count(*) FILTER (WHERE naboom.normalize_reference(r) = r) AS canonical,
       count(*) FILTER (WHERE naboom.normalize_reference(lower(replace(r, '-', ''))) = r)
           AS lenient_round_trip,
       count(*) - count(DISTINCT r) <= 2 AS at_most_two_repeats
FROM reference_fresh;

-- every symbol turns up at every position, the check symbol included
-- (a symbol missing from 10,000 uniform draws has probability below 10^-130)
SELECT count(*) AS positions,
       bool_and(symbols = 32) AS all_32_symbols_everywhere
FROM (SELECT p, count(DISTINCT substr(r, p, 1)) AS symbols
      FROM reference_fresh, unnest(ARRAY[4, 5, 6, 7, 9, 10, 11, 12]) AS p
      GROUP BY p) AS s;

-- single-symbol substitutions of 1,000 fresh references are all rejected
WITH refs(r) AS (SELECT r FROM reference_fresh LIMIT 1000),
pos(p) AS (VALUES (4), (5), (6), (7), (9), (10), (11), (12)),
sym(s) AS (
    SELECT substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', i, 1)
    FROM generate_series(1, 32) AS i)
SELECT count(*) AS substitutions,
       count(*) FILTER (WHERE naboom.reference_valid(
           overlay(r PLACING s FROM p FOR 1))) AS accepted
FROM refs, pos, sym
WHERE substr(r, p, 1) <> s;

DROP TABLE reference_fresh;
