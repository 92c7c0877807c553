#!/usr/bin/env python3
"""Generates the demo feeds in Ops/demo-feeds/ from the reference data in Config/reference/.

Four made-up water companies, each in its own dialect (see Config/sources/*.yaml):

  aquaflan      Windows-1252, ';', Dutch headers, dd/MM/yyyy, decimal commas, J/N, its own codes
  scheldewater  UTF-8 with BOM, ',', ISO dates, decimal points, ja/nee
  kempenwater   JSON array with nested objects, ISO date-times, amounts as JSON numbers
  polderwater   ';', dd-MM-yyyy, still pre-2025 NIS codes, only a postal code on some rows

Every name, address, phone number and e-mail address is invented. The output is
deterministic (seeded), so the committed files only change when this script does.
Run: python3 Ops/demo-feeds/generate.py
"""
import csv
import datetime
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REFERENCE = os.path.join(ROOT, "Config", "reference")

TYPES = ["lac_request", "warning_letter", "payment_plan_failed", "flow_limitation_announced", "flow_limitation",
         "flow_limitation_removed", "intent_to_disconnect", "disconnection", "reconnection"]
# Realistic paths of one household through the steps (since 2020 the limiter comes first).
PATHS = [
    ["lac_request"],
    ["warning_letter", "lac_request"],
    ["lac_request", "payment_plan_failed", "flow_limitation_announced"],
    ["flow_limitation_announced", "flow_limitation"],
    ["flow_limitation", "flow_limitation_removed"],
    ["lac_request", "payment_plan_failed", "flow_limitation_announced", "flow_limitation", "flow_limitation_removed"],
    ["intent_to_disconnect", "disconnection"],
    ["disconnection", "reconnection"],
]
FIRST = ["Jan", "Els", "Mohamed", "Fatima", "Sofie", "Pieter", "Lotte", "Wim", "Noor", "Karim", "Anneleen", "Gert",
         "Hélène", "Zoë", "François", "Joëlle", "Ömer", "Ilse", "Rachid", "Bart"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
        "El Amrani", "Van den Broeck", "Dubois", "Verhoeven", "Aerts", "Lambrechts", "Van Damme", "Desmet"]
STREETS = ["Kerkstraat", "Stationsstraat", "Molenstraat", "Dorpsstraat", "Nieuwstraat", "Schoolstraat", "Beekstraat",
           "Veldstraat", "Lindenlaan", "Kapelstraat", "Bosstraat", "Heirbaan", "Pastoriestraat", "Sint-Jorisplein"]
NOTES = ["Klant telefonisch niet bereikt.", "Betaalplan van 6 maanden voorgesteld.", "Gekende gsm in verantwoordingsnota.",
         "Huisbezoek gevraagd door klant.", "Eerste LAC-zitting, klant niet aanwezig.", "", "", ""]


def load_reference():
    municipalities = {}
    with open(os.path.join(REFERENCE, "municipalities_flanders_2025.csv"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            municipalities[row["nis_code"]] = (row["name_nl"], row["postcodes"].split("|"))
    postcodes = {}
    with open(os.path.join(REFERENCE, "postcode_refnis_2025.csv"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            postcodes.setdefault(row["Postal code"], []).append(row["Refnis code"])
    mergers = {}
    with open(os.path.join(REFERENCE, "fusies_2025.csv"), encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            mergers.setdefault(row["new_nis_code"], []).append((row["old_nis_code"], row["old_name"]))
    return municipalities, postcodes, mergers


MUNICIPALITIES, POSTCODES, MERGERS = load_reference()


def households(rng, prefix, towns, count, start):
    """Yields (household, [(type, date)]) for `count` invented households in `towns`."""
    for number in range(count):
        nis = towns[number % len(towns)]
        name, postcodes = MUNICIPALITIES[nis]
        postcode = rng.choice([p for p in postcodes if len(POSTCODES[p]) == 1] or postcodes)
        household = {
            "customer": f"{prefix}{rng.randrange(10**6, 10**7)}",
            "connection": f"54{rng.randrange(10**14, 10**15)}",
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "street": rng.choice(STREETS),
            "number": str(rng.randrange(1, 180)),
            "box": rng.choice(["", "", "", "A", "2", "0101"]),
            "postcode": postcode,
            "municipality": name,
            "nis": nis,
            "phone": rng.choice(["", f"04{rng.randrange(70, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)}"]),
            "email": rng.choice(["", "", f"klant{rng.randrange(1000, 9999)}@example.org"]),
            "amount": rng.choice([0, rng.randrange(2500, 40000), rng.randrange(40000, 250000)]),
            "protected": rng.choice(["yes", "no", "no", "unknown"]),
            "note": rng.choice(NOTES),
        }
        day = start + datetime.timedelta(days=rng.randrange(0, 40))
        steps = []
        for event_type in rng.choice(PATHS):
            steps.append((event_type, day))
            day += datetime.timedelta(days=rng.randrange(7, 43))
        yield household, [(t, d) for t, d in steps if d <= datetime.date(2026, 11, 20)] or steps[:1]


def euro(cents, decimal=",", thousands="."):
    whole, fraction = divmod(cents, 100)
    text = f"{whole:,}".replace(",", thousands) if thousands else str(whole)
    return f"{text}{decimal}{fraction:02d}"


def write_csv(path, header, rows, delimiter, encoding, bom=False):
    with open(path, "w", encoding=encoding, newline="") as handle:
        if bom:
            handle.write("\ufeff")
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(rows)


def aquaflan(rng):
    """Windows-1252, ';', Dutch headers, dd/MM/yyyy, decimal commas with '.' thousands, J/N."""
    codes = {"lac_request": "LAC", "warning_letter": "VERW", "payment_plan_failed": "BPNN",
             "flow_limitation_announced": "AANK-BEGR", "flow_limitation": "BEGR", "flow_limitation_removed": "BEGR-WEG",
             "intent_to_disconnect": "INT-AFSL", "disconnection": "AFSL", "reconnection": "HERAANSL"}
    flag = {"yes": "J", "no": "N", "unknown": ""}
    header = ["Referentie", "Soort", "Datum", "Klantnummer", "Aansluiting", "Naam", "Straat", "Huisnr", "Bus", "Postcode",
              "Gemeente", "NIS", "GSM", "E-mail", "Openstaand bedrag", "Beschermde klant", "Verantwoordingsnota", "Dossierbeheerder"]
    rows = []
    serial = 0
    towns = ["11002", "11002", "23088", "23096", "11001"]  # 11001 Aartselaar is not a tenant: counted, stored for nobody
    for household, steps in households(rng, "AF", towns, 30, datetime.date(2026, 9, 7)):
        for event_type, day in steps:
            serial += 1
            postcode = household["postcode"]
            nis = household["nis"] if serial % 3 else ""
            if household["nis"] in ("23088", "23096") and serial % 4 == 0:
                postcode, nis = "1804", ""  # shared postal code: the municipality name decides
            rows.append([f"AF-2026-{serial:05d}", codes[event_type], day.strftime("%d/%m/%Y"), household["customer"],
                         household["connection"], household["name"], household["street"], household["number"], household["box"],
                         postcode, household["municipality"], nis, household["phone"], household["email"],
                         euro(household["amount"]), flag[household["protected"]], household["note"], "team Noord"])
    # Rows a data steward should see in quarantine, each with a clear reason.
    rows.append(["AF-2026-90001", "LAC", "31/02/2026", "AF9000001", "", "Erik Voorbeeld", "Kerkstraat", "1", "", "2000",
                 "Antwerpen", "11002", "", "", "10,00", "N", "", "team Noord"])
    rows.append(["AF-2026-90002", "AFSL", "16/11/2026", "AF9000002", "", "Sara Voorbeeld", "Molenstraat", "2", "", "1804",
                 "", "", "", "", "1.234,56", "J", "", "team Noord"])
    write_csv(os.path.join(HERE, "aquaflan-2026-W47.csv"), header, rows, ";", "cp1252")
    return len(rows)


def scheldewater(rng):
    """UTF-8 with a byte-order mark, ',', ISO dates, decimal points, ja/nee/onbekend."""
    codes = {"lac_request": "uitnodiging LAC", "warning_letter": "ingebrekestelling", "payment_plan_failed": "betaalplan niet nageleefd",
             "flow_limitation_announced": "aankondiging begrenzer", "flow_limitation": "begrenzer geplaatst",
             "flow_limitation_removed": "begrenzer weggenomen", "intent_to_disconnect": "intentie afsluiting",
             "disconnection": "afsluiting", "reconnection": "heraansluiting"}
    flag = {"yes": "ja", "no": "nee", "unknown": "onbekend"}
    header = ["dossier_id", "gebeurtenis", "datum", "klant_nr", "ean_aansluiting", "naam", "straat", "nummer", "busnummer",
              "postcode", "gemeente", "nis_code", "telefoon", "email", "achterstal", "beschermd", "opmerking"]
    rows = []
    serial = 0
    for household, steps in households(rng, "SW", ["44021", "44021", "44088"], 24, datetime.date(2026, 9, 14)):
        household["name"] = household["name"].replace("Ömer", "Ayşe")  # a name Windows-1252 could not carry
        for event_type, day in steps:
            serial += 1
            rows.append([f"SW{serial:06d}", codes[event_type], day.isoformat(), household["customer"], household["connection"],
                         household["name"], household["street"], household["number"], household["box"], household["postcode"],
                         household["municipality"], household["nis"], household["phone"], household["email"],
                         euro(household["amount"], ".", ""), flag[household["protected"]], household["note"]])
    write_csv(os.path.join(HERE, "scheldewater-2026-W47.csv"), header, rows, ",", "utf-8", bom=True)
    return len(rows)


def kempenwater(rng):
    """A JSON array of nested objects, ISO date-times, amounts as JSON numbers in euro, booleans."""
    codes = {"lac_request": "LAC_INVITATION", "warning_letter": "WARNING", "payment_plan_failed": "PLAN_BROKEN",
             "flow_limitation_announced": "LIMITER_ANNOUNCED", "flow_limitation": "LIMITER_PLACED",
             "flow_limitation_removed": "LIMITER_REMOVED", "intent_to_disconnect": "DISCONNECT_INTENT",
             "disconnection": "DISCONNECTED", "reconnection": "RECONNECTED"}
    records = []
    serial = 0
    for household, steps in households(rng, "KW", ["11002", "13040", "13040"], 20, datetime.date(2026, 9, 21)):
        for event_type, day in steps:
            serial += 1
            record = {
                "id": f"KW-{serial:07d}",
                "event": codes[event_type],
                "timestamp": f"{day.isoformat()}T{rng.randrange(7, 18):02d}:{rng.randrange(0, 60):02d}:00",
                "customer": {"number": household["customer"], "name": household["name"]},
                "connection": household["connection"],
                "address": {"street": household["street"], "number": household["number"], "box": household["box"] or None,
                            "zip": household["postcode"], "city": household["municipality"]},
                "contact": {"phone": household["phone"] or None, "email": household["email"] or None},
                "arrears": household["amount"] / 100,
                "socialTariff": {"yes": True, "no": False, "unknown": None}[household["protected"]],
                "remark": household["note"] or None,
            }
            records.append(record)
    # A row for a Brussels address: valid, but outside the region; counted and stored for nobody.
    records.append({"id": "KW-9000001", "event": "DISCONNECTED", "timestamp": "2026-11-17T10:00:00",
                    "customer": {"number": "KW9000001", "name": "Tom Voorbeeld"}, "connection": "541000000000000001",
                    "address": {"street": "Wetstraat", "number": "1", "box": None, "zip": "1000", "city": "Brussel"},
                    "contact": {"phone": None, "email": None}, "arrears": 12.5, "socialTariff": False, "remark": None})
    with open(os.path.join(HERE, "kempenwater-2026-W47.json"), "w", encoding="utf-8") as handle:
        json.dump(records, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    return len(records)


# The pre-2025 municipality of each postal code of the two merged demo towns (Zwijndrecht, 2070,
# even lay in the province of Antwerp). The old codes themselves are in fusies_2025.csv.
OLD_MUNICIPALITY_BY_POSTCODE = {"9120": "46003", "9130": "46003", "9150": "46013", "2070": "11056", "9090": "44040", "9820": "44043"}


def polderwater(rng):
    """';', dd-MM-yyyy, pre-2025 NIS codes of the merged towns, and only a postal code on some rows."""
    codes = {t: str(10 * (i + 1)) for i, t in enumerate(TYPES)}
    header = ["VolgNr", "Code", "Datum", "Klant", "Naam", "Adres", "Huisnummer", "Postcode", "Gemeente", "NIS", "Bedrag", "Beschermd"]
    rows = []
    serial = 0
    for household, steps in households(rng, "PW", ["46030", "46030", "44088"], 20, datetime.date(2026, 9, 28)):
        old_nis = OLD_MUNICIPALITY_BY_POSTCODE[household["postcode"]]
        old_name = dict(MERGERS[household["nis"]])[old_nis]
        for event_type, day in steps:
            serial += 1
            postcode = household["postcode"]
            nis = old_nis if serial % 3 else ""  # every third row carries only its postal code
            rows.append([str(serial), codes[event_type], day.strftime("%d-%m-%Y"), household["customer"], household["name"],
                         household["street"], household["number"], postcode, old_name, nis,
                         euro(household["amount"], ",", ""), {"yes": "1", "no": "0", "unknown": ""}[household["protected"]]])
    rows.append([str(serial + 1), "80", "12-11-2026", "PW9000001", "Lien Voorbeeld", "Dijkstraat", "5", "9999", "Nergens", "",
                 "0,00", "0"])
    write_csv(os.path.join(HERE, "polderwater-2026-W47.csv"), header, rows, ";", "utf-8")
    return len(rows)


if __name__ == "__main__":
    rng = random.Random(20261122)
    for generate in (aquaflan, scheldewater, kempenwater, polderwater):
        print(f"{generate.__name__}: {generate(rng)} rows")
