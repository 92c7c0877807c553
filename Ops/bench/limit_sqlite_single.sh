#!/usr/bin/env bash
# The limit: the sqlite3 CLI importing every row of the feed into one file, in one transaction,
# WAL, after iconv (Windows-1252 → UTF-8). No split, no checks: the floor for "rows into SQLite".
#
#   limit_sqlite_single.sh FEED OUTDIR
set -euo pipefail
feed=$1 out=$2
mkdir -p "$out"
sqlite3 -batch -bail "$out/all.sqlite" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
.mode csv
.separator ;
BEGIN;
.import '|iconv -f WINDOWS-1252 -t UTF-8 "$feed"' event
COMMIT;
SQL
