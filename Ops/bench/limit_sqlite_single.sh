#!/usr/bin/env bash
# The limit: the sqlite3 CLI importing every row of the feed files into one file, in one transaction,
# WAL, after iconv (Windows-1252 → UTF-8). No split, no checks: the floor for "rows into SQLite".
#
#   limit_sqlite_single.sh OUTDIR FEED_FILE...
# The first file's header creates the table; the other files' header lines are skipped.
set -euo pipefail
out=$1
shift
mkdir -p "$out"
{
  echo "PRAGMA journal_mode=WAL;"
  echo ".mode csv"
  echo ".separator ;"
  echo "BEGIN;"
  skip=""
  for feed in "$@"; do
    echo ".import $skip '|iconv -f WINDOWS-1252 -t UTF-8 \"$feed\"' event"
    skip="--skip 1"
  done
  echo "COMMIT;"
} | sqlite3 -batch -bail "$out/all.sqlite" >/dev/null
