#!/usr/bin/env python3
"""Deterministic benchmark feed for WaterHub and its peers (issue 8).

    generate_feed.py feed   --rows N --seed S --reference DIR --out FEED_DIR
    generate_feed.py config --reference DIR --feed FEED_DIR --out CONFIG_DIR

`feed` writes one water company's delivery as Excel on a Belgian PC writes it: Windows-1252,
`;`, Dutch headers, dd/mm/yyyy dates, amounts with a decimal comma and a `.` for thousands,
the company's own event codes, an ignored column. N rows in all, in two files of a drop folder:
benchwater-1-history.csv (the history load, 97 %) and benchwater-2-corrections.csv (3 %: rows
of the first file again, same Referentie, with a changed amount, date or note; a correction
comes in a later file, since within one file a repeated id is an error). Their modification
times are set one and two days back, so that a drop folder takes them at once, in name order.

Rows are spread over the 285 Flemish towns by real postal codes (never 1804, which needs the
municipality name); every tenth row of the history is in Antwerpen, so that at full size one
town holds about 100,000 events (the export footprint measurement); the other towns are
weighted by how many postal codes they have times a seeded log-normal factor. Households get
several events each, of all nine types in plausible shares. 0.2 % of the rows are outside
Flanders (Brussels and Walloon postal codes: not stored for anyone) and 0.05 % carry an
impossible date (quarantined by WaterHub, imported by the peers).

`config` writes the matching WaterHub configuration into CONFIG_DIR: hub.yaml with all 285
towns as tenants, sources/benchwater.yaml (the dialect, a file:// drop-folder URL to the feed's
files), reference/ (copied), and postcode_nis.csv (postal code;NIS for the 285 towns, the
lookup table the peers use).

The same seed and size always give byte-identical files (Python's random.Random is
deterministic across platforms for the calls used here).
"""
import argparse
import csv
import math
import os
import random
import shutil
import sys
import time

COLUMNS = ["Referentie", "Soort", "Datum", "Klantnummer", "Aansluiting", "Naam", "Straat", "Huisnr", "Bus",
           "Postcode", "Gemeente", "GSM", "E-mail", "Openstaand bedrag", "Beschermde klant",
           "Verantwoordingsnota", "Dossierbeheerder"]

# The company's own codes, the canonical type, and its share of the rows (sums to 100).
EVENT_TYPES = [
    ("VERW", "warning_letter", 30.0),
    ("LAC", "lac_request", 25.0),
    ("BPNN", "payment_plan_failed", 12.0),
    ("AANK-BEGR", "flow_limitation_announced", 10.0),
    ("BEGR", "flow_limitation", 8.0),
    ("BEGR-WEG", "flow_limitation_removed", 6.0),
    ("INT-AFSL", "intent_to_disconnect", 5.0),
    ("AFSL", "disconnection", 2.0),
    ("HERAANSL", "reconnection", 2.0),
]

FIRST_NAMES = ["Jan", "Marie", "Luc", "Hélène", "Zoë", "André", "José", "Inès", "Raphaël", "Chloé", "Joëlle",
               "Anaïs", "Renée", "Noël", "Björn", "Jürgen", "François", "Céline", "Mehmet", "Fatima", "Aylin",
               "Youssef", "Emma", "Lotte", "Wout", "Sven", "Els", "Ilse", "Bram", "Kevin", "Nathalie", "Sofie",
               "Mohamed", "Aïcha", "Grégory", "Thérèse", "Jeroen", "Pieter", "Annelies", "Dirk", "Ömer", "Lukáš",
               "Magda", "Agnès", "Benoît", "Clément", "Daniël", "Ellen", "Gert", "Hanne"]
LAST_NAMES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
              "De Smet", "Dubois", "Lambert", "Dupont", "Vermeulen", "Van den Broeck", "Hermans", "Aerts",
              "Desmet", "Pauwels", "Van Damme", "Lemaître", "Müller", "Öztürk", "Çelik", "El Idrissi",
              "Vandenberghe", "De Backer", "Verhaegen", "Coppens", "D'Hondt", "Declercq", "Van Hoecke",
              "Lefèvre", "Ghesquière", "Kowalski", "Nowak", "Bouzid", "Benali", "Van Acker", "Bogaert",
              "Smets", "Thys", "Michiels", "Verstraete", "Cuvelier", "Gevaert", "Dewaele", "Mortier"]
STREETS = ["Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenstraat", "Nieuwstraat", "Schoolstraat",
           "Kapelstraat", "Beekstraat", "Kastanjelaan", "Pater Damiaanstraat", "Désiré Mergaertstraat",
           "Émile Verhaerenlaan", "Onze-Lieve-Vrouwstraat", "Sint-Jansplein", "Steenweg op Brussel",
           "Hoogstraat", "Kouter", "Lindenlaan", "Meersstraat", "Veldstraat", "Gérard Walschapstraat",
           "Frère-Orbanstraat", "Ringlaan", "Oude Baan", "Heirbaan", "Wijngaardstraat", "Vlaanderenstraat",
           "Leopold II-laan", "Koningin Astridplein", "Brugsesteenweg", "Antwerpsesteenweg", "Hôtel Lamotte"]
NOTES = ["", "", "", "", "", "Gekende gsm in verantwoordingsnota.", "Klant telefonisch niet bereikbaar.",
         "Betaalplan niet nageleefd sinds maart, twee termijnen open.", "Huisbezoek gepland door OCMW.",
         "Klant vraagt uitstel wegens financiële moeilijkheden.", "Begrenzer geplaatst na tweede aanmaning.",
         "Beschermde klant: sociaal tarief aangevraagd.", "Schuldbemiddeling lopende, contact via advocaat.",
         "Waterscan voorgesteld, lek vermoed.", "Klant verhuisd, nieuw adres onbekend.",
         "Afspraak op het loket gemist.", "Brief teruggekomen: onbekend op dit adres."]
CASE_WORKERS = ["team Noord", "team Zuid", "team Oost", "team West", "H. Peeters", "S. Dubois", "K. Maes"]
ISPS = ["telenet.be", "skynet.be", "gmail.com", "hotmail.com", "proximus.be", "outlook.be"]
HISTORY_FILE = "benchwater-1-history.csv"
CORRECTIONS_FILE = "benchwater-2-corrections.csv"
CORRECTION_SHARE = 0.03

OUTSIDE = [("1000", "Brussel"), ("1050", "Elsene"), ("1080", "Sint-Jans-Molenbeek"), ("4000", "Liège"),
           ("5000", "Namur"), ("7000", "Mons")]

ASCII = str.maketrans("éèêëàâäïîôöüûçñßøåáóúíÉÈÖÜÇ", "eeeeaaaiioouucnsoaaouiEEOUC")


def read_reference(directory):
    """The 285 towns (NIS, Dutch name) and, per town, its postal codes that route to it alone."""
    towns = []
    with open(os.path.join(directory, "municipalities_flanders_2025.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            towns.append((row["nis_code"], row["name_nl"]))
    nis_of = {}
    with open(os.path.join(directory, "postcode_refnis_2025.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            nis_of.setdefault(row["Postal code"], set()).add(row["Refnis code"])
    codes = {nis: [] for nis, _ in towns}
    for code, nis_set in sorted(nis_of.items()):
        if len(nis_set) == 1:
            (nis,) = tuple(nis_set)
            if nis in codes:
                codes[nis].append(code)
    missing = [nis for nis, _ in towns if not codes[nis]]
    if missing:
        sys.exit(f"towns without an unambiguous postal code: {missing}")
    return towns, codes


def amount_text(cents):
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", ".")
    return f"{grouped},{rest:02d}"


def generate(rows, seed, reference, out):
    rng = random.Random(seed)
    towns, codes = read_reference(reference)
    antwerpen = "11002"
    others = [t for t in towns if t[0] != antwerpen]
    weights = [len(codes[nis]) * math.exp(rng.gauss(0.0, 0.8)) for nis, _ in others]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    name_of = dict(towns)
    type_codes = [code for code, _, _ in EVENT_TYPES]
    type_weights = [share for _, _, share in EVENT_TYPES]
    type_cum = []
    acc = 0.0
    for w in type_weights:
        acc += w
        type_cum.append(acc)

    households = {nis: [] for nis, _ in towns}   # per town: household tuples
    corrections = []                             # rows picked for the corrections file
    main_rows = 0
    customer_serial = 0
    day0 = 737060                                # 2019-01-01 as a proleptic ordinal
    span = 2875                                  # to mid-November 2026
    import datetime

    os.makedirs(out, exist_ok=True)
    first_path = os.path.join(out, HISTORY_FILE)
    second_path = os.path.join(out, CORRECTIONS_FILE)
    with open(first_path + ".part", "w", encoding="cp1252", newline="") as f:
        f.write(";".join(COLUMNS) + "\r\n")
        i = -1
        while main_rows + len(corrections) < rows:
            i += 1
            main_rows += 1
            ref = f"BW-{main_rows:08d}"
            r = rng.random()
            if r < 0.002:
                postcode, gemeente = rng.choice(OUTSIDE)
                nis = None
            else:
                if i % 10 == 0:
                    nis = antwerpen
                else:
                    x = rng.random() * total
                    lo, hi = 0, len(cumulative) - 1
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if cumulative[mid] < x:
                            lo = mid + 1
                        else:
                            hi = mid
                    nis = others[lo][0]
                postcode, gemeente = None, name_of[nis]
            town_households = households[nis] if nis else None
            if town_households and rng.random() < 0.65:
                h = town_households[rng.randrange(len(town_households))]
            else:
                customer_serial += 1
                first = rng.choice(FIRST_NAMES)
                last = rng.choice(LAST_NAMES)
                pc = postcode or rng.choice(codes[nis])
                number = str(rng.randrange(1, 250)) + (rng.choice("ABC") if rng.random() < 0.05 else "")
                box = rng.choice(["1", "2", "3", "A", "B", "0101", "bus 4"]) if rng.random() < 0.15 else ""
                phone = f"04{rng.randrange(60, 100)} {rng.randrange(100):02d} {rng.randrange(100):02d} {rng.randrange(100):02d}" if rng.random() < 0.6 else ""
                mail = ""
                if rng.random() < 0.35:
                    mail = f"{first}.{last}".lower().replace(" ", "").replace("'", "").translate(ASCII) + f"{rng.randrange(100)}@{rng.choice(ISPS)}"
                protected = rng.choices(["J", "N", ""], [25, 70, 5])[0]
                h = (f"BW{customer_serial:07d}", f"5414{rng.randrange(10**13):013d}", f"{first} {last}",
                     rng.choice(STREETS), number, box, pc, gemeente, phone, mail, protected,
                     rng.choice(CASE_WORKERS))
                if nis:
                    town_households.append(h)
            x = rng.random() * 100.0
            t = 0
            while type_cum[t] < x:
                t += 1
            bad_date = rng.random() < 0.0005
            if bad_date:
                date = rng.choice(["31/02/2024", "00/13/2023", "15/07/1899"])
            else:
                date = datetime.date.fromordinal(day0 + rng.randrange(span)).strftime("%d/%m/%Y")
            cents = int(math.exp(rng.gauss(10.5, 1.1))) if rng.random() < 0.97 else 0
            cents = min(cents, 2_500_000)
            row = [ref, type_codes[t], date, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
                   amount_text(cents), h[10], rng.choice(NOTES), h[11]]
            f.write(";".join(row) + "\r\n")
            if nis and not bad_date and rng.random() < CORRECTION_SHARE / (1 - CORRECTION_SHARE):
                # A correction, sent a week later: the same Referentie with a changed amount,
                # date or note (a later file: within one file a repeated id is an error).
                which = rng.randrange(3)
                if which == 0:
                    row[13] = amount_text(cents + rng.randrange(1, 50000))
                elif which == 1:
                    d = datetime.date.fromordinal(day0 + rng.randrange(span))
                    row[2] = d.strftime("%d/%m/%Y")
                else:
                    row[15] = rng.choice([n for n in NOTES[5:] if n != row[15]])
                corrections.append(";".join(row))
    with open(second_path + ".part", "w", encoding="cp1252", newline="") as f:
        f.write(";".join(COLUMNS) + "\r\n")
        for line in corrections:
            f.write(line + "\r\n")
    # A drop folder takes only files untouched for a minute, in name order: date them back.
    now = time.time()
    for path, age in ((first_path, 2 * 86400), (second_path, 86400)):
        os.replace(path + ".part", path)
        os.utime(path, (now - age, now - age))


def write_config(reference, feed, out):
    towns, codes = read_reference(reference)
    os.makedirs(os.path.join(out, "sources"), exist_ok=True)
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    for name in ("municipalities_flanders_2025.csv", "postcode_refnis_2025.csv", "fusies_2025.csv"):
        shutil.copyfile(os.path.join(reference, name), os.path.join(out, "reference", name))
    with open(os.path.join(out, "hub.yaml"), "w", encoding="utf-8") as f:
        f.write("# Written by Ops/bench/generate_feed.py: all 285 Flemish towns are tenants.\n")
        f.write("listen: {host: 127.0.0.1, port: 8080}\n")
        f.write("data_dir: .\n")
        f.write("validation: {earliest_date: 2000-01-01, max_days_ahead: 366, max_quarantined_share: 20%}\n")
        # The feed goes back to 2019: with the default 24 months, the first `serve` would purge the
        # personal data of old closed cases while it is being measured. Keep it all instead.
        f.write("retention: {closed_case_months: 240}\n")
        f.write("tenants:\n")
        for nis, name in towns:
            f.write(f"  - nis: \"{nis}\"\n    name: \"{name}\"\n")
    events = "\n".join(f"    {code}: {canonical}" for code, canonical, _ in EVENT_TYPES)
    with open(os.path.join(out, "sources", "benchwater.yaml"), "w", encoding="utf-8") as f:
        f.write(f"""# Written by Ops/bench/generate_feed.py: the benchmark feed's dialect.
name: BenchWater
url: file://{os.path.abspath(feed)}/benchwater-*.csv
schedule: weekly monday 06:00
fetch: {{max_bytes: 2147483648, timeout: 3600}}
dialect:
  format: csv
  encoding: windows-1252
  delimiter: ";"
  header: true
  date_formats: [dd/MM/yyyy]
  amount: {{decimal_separator: ",", thousands_separator: "."}}
  columns:
    source_event_id: Referentie
    type: Soort
    event_date: Datum
    customer_number: Klantnummer
    connection_id: Aansluiting
    name: Naam
    street: Straat
    house_number: Huisnr
    box: Bus
    postal_code: Postcode
    municipality: Gemeente
    phone: GSM
    email: E-mail
    amount_due: Openstaand bedrag
    protected_customer: Beschermde klant
    note: Verantwoordingsnota
  ignore_columns: [Dossierbeheerder]
  event_types:
{events}
  protected_customer: {{yes: [J], no: [N]}}
""")
    # The peers' lookup table: postal code → NIS for the 285 towns (unambiguous codes only).
    with open(os.path.join(out, "postcode_nis.csv"), "w", encoding="utf-8") as f:
        for nis, _ in towns:
            for code in codes[nis]:
                f.write(f"{code};{nis}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("feed")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--out", required=True)
    c = sub.add_parser("config")
    c.add_argument("--reference", required=True)
    c.add_argument("--feed", required=True)
    c.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "feed":
        generate(args.rows, args.seed, args.reference, args.out)
    else:
        write_config(args.reference, args.feed, args.out)


if __name__ == "__main__":
    main()
