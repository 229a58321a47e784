-- naboom 0.5.0 -> 0.6.0
--
-- 0.6.0 rebuilt the sources: the install script is now built from one file
-- per concern (extension/schema/), so a fresh install no longer replays
-- 0.1.0 and every upgrade.  test/fingerprint.sh proves that a database
-- upgraded through this script has exactly the objects of a fresh install.

\echo Use "ALTER EXTENSION naboom UPDATE TO '0.6.0'" to load this file. \quit

SELECT naboom.pin_search_paths();

NOTIFY pgrst, 'reload schema';
