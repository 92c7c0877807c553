#!/usr/bin/env bash
# Peer A: the sqlite3 CLI pipeline a data steward would script — a near-limit shell pipeline
# that does none of WaterHub's checks (no validation, no dates, no amounts, no versions, no cases).
#
#   peer_sqlite_split.sh FEED POSTCODE_NIS_MAP OUTDIR
#
# 1. iconv turns the Windows-1252 feed into UTF-8 (sqlite3 stores text as UTF-8) and awk splits
#    it in one pass into one CSV per town, by postal code through the map (postal code;NIS); a
#    row whose postal code is not in the map (outside Flanders) is dropped. Each split file gets
#    the feed's header line first.
# 2. One sqlite3 process opens each town's file in turn (.open), sets WAL, and .imports that
#    town's CSV in one transaction (the table is created from the header; every column TEXT).
# The split files are removed at the end; OUTDIR then holds NIS.sqlite per town.
set -euo pipefail
feed=$1 map=$2 out=$3
split="$out/split"
mkdir -p "$split"

iconv -f WINDOWS-1252 -t UTF-8 "$feed" | awk -F';' -v dir="$split" '
  NR == FNR { nis[$1] = $2; next }
  FNR == 1  { header = $0; next }
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
