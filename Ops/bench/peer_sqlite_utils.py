#!/usr/bin/env python3
"""Peer B: what a Python user writes with sqlite-utils to split a feed into one file per town.

    peer_sqlite_utils.py POSTCODE_NIS_MAP OUTDIR FEED_FILE...

It reads the Windows-1252 feed files with the csv module (`;`), looks each row's postal code up in
the map (postal code;NIS; rows outside Flanders are dropped), keeps the rows grouped per town in
memory as dicts, then writes each town's rows with `Table.insert_all` into OUTDIR/NIS.sqlite
(WAL, one transaction per town; sqlite-utils creates the table from the rows, all columns
TEXT). No validation, no dates, no amounts, no versions, no cases.
"""
import csv
import os
import sys
from collections import defaultdict

import sqlite_utils


def main():
    map_path, out, feeds = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    nis_of = {}
    with open(map_path, encoding="utf-8") as f:
        for line in f:
            code, nis = line.rstrip("\n").split(";")
            nis_of[code] = nis
    towns = defaultdict(list)
    for feed in feeds:
        with open(feed, encoding="cp1252", newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                nis = nis_of.get(row["Postcode"])
                if nis is not None:
                    towns[nis].append(row)
    for nis, rows in towns.items():
        db = sqlite_utils.Database(os.path.join(out, f"{nis}.sqlite"))
        db.enable_wal()
        with db.atomic():
            db["event"].insert_all(rows)
        db.close()


if __name__ == "__main__":
    main()
