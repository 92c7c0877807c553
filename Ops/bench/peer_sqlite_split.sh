#!/usr/bin/env bash
# Peer A: the sqlite3 CLI pipeline a data steward would script — a near-limit shell pipeline
# that does none of WaterHub's checks (no validation, no dates, no amounts, no versions, no cases).
#
#   peer_sqlite_split.sh POSTCODE_NIS_MAP OUTDIR FEED_FILE...
#
# 1. iconv turns the Windows-1252 feed files into UTF-8 (sqlite3 stores text as UTF-8) and awk
#    splits them in one pass into one CSV per town, by postal code through the map (postal
#    code;NIS); a row whose postal code is not in the map (outside Flanders) is dropped. Each
#    split file gets the header line first; the files' own header lines are skipped.
# 2. One sqlite3 process opens each town's file in turn (.open), sets WAL, and .imports that
#    town's CSV in one transaction (the table is created from the header; every column TEXT).
# The split files are removed at the end; OUTDIR then holds NIS.sqlite per town.
set -euo pipefail
map=$1 out=$2
shift 2
split="$out/split"
mkdir -p "$split"

iconv -f WINDOWS-1252 -t UTF-8 "$@" | awk -F';' -v dir="$split" '
  NR == FNR { nis[$1] = $2; next }
  $1 == "Referentie" { header = $0; next }
  ($10 in nis) {
    f = dir "/" nis[$10] ".csv"
    if (!(f in seen)) { seen[f] = 1; print header > f }
    print > f
  }' "$map" -

{
  echo ".mode csv"
  echo ".separator ;"
  for csv in "$split"/*.csv; do
    nis=$(basename "$csv" .csv)
    echo ".open '$out/$nis.sqlite'"
    echo "PRAGMA journal_mode=WAL;"
    echo "BEGIN;"
    echo ".import '$csv' event"
    echo "COMMIT;"
  done
} | sqlite3 -batch -bail >/dev/null

rm -rf "$split"
