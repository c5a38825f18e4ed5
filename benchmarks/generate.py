"""Seeded synthetic certification histories, as certledger import lines.

    python benchmarks/generate.py --orgs N --years Y [--seed S] [--out FILE|-] [--start-year 2005]

writes N organizations x Y years of events as JSON Lines in the import format
(one recording command per line, keys are the CLI option names with
underscores). Every organization's timeline is legal under the ledger's
transition rules when the file is imported line by line: registration
first; then, year after year, audits and a certification or renewal, with
now and then a denial (the certificate runs out, a fresh grant follows
later), a suspension and reinstatement, an extension, a voluntary or imposed
withdrawal (and a later fresh grant), or a move between the Fairmined and
Ecological categories on renewal.

Properties a benchmark can rely on:

- The same arguments give byte-identical output. Each organization draws
  from its own random stream (seeded by the seed and its index), so the
  first K organizations of a run with N > K organizations are the same as
  those of a run with K.
- Organizations come one after another, each one's events in date order;
  nothing is kept in memory beyond the organization being generated, so
  millions of events stream in constant memory.
- No date lies after LAST_DATE (a fixed day, so that the output does not
  depend on the day it is generated): years past it are cut off.
- Ids are ``org-000001``, ``org-000002``, ...; certificate numbers are
  ``FM-<org index>-<n>`` and audit references ``AUD-<org index>-<n>``,
  unique across the file.

Import as a module and call ``generate(orgs, years, seed, start_year)`` to
get the command dicts without any file. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import date, timedelta
from typing import Iterator

LAST_DATE = date(2026, 11, 27)
COUNTRIES = ("PE", "BO", "CO", "MN", "EC")

# (locality, region) per country: real mining districts, for realistic names.
PLACES = {
    "PE": (("Ananea", "Puno"), ("Cuyocuyo", "Puno"), ("Limbani", "Puno"), ("Sandia", "Puno"),
           ("Relave", "Ayacucho"), ("Santa Filomena", "Ayacucho"), ("Chala", "Arequipa"),
           ("Secocha", "Arequipa"), ("Pataz", "La Libertad"), ("Quiruvilca", "La Libertad"),
           ("Laberinto", "Madre de Dios"), ("Huepetuhe", "Madre de Dios")),
    "BO": (("Tipuani", "La Paz"), ("Mapiri", "La Paz"), ("Guanay", "La Paz"), ("Teoponte", "La Paz"),
           ("Yani", "La Paz"), ("Sorata", "La Paz"), ("Caranavi", "La Paz"), ("Cotapata", "La Paz"),
           ("San Ramón", "Santa Cruz"), ("Puerto Villazón", "Beni")),
    "CO": (("Segovia", "Antioquia"), ("Remedios", "Antioquia"), ("Andes", "Antioquia"),
           ("Marmato", "Caldas"), ("Manizales", "Caldas"), ("Suárez", "Cauca"),
           ("Buenos Aires", "Cauca"), ("La Llanada", "Nariño"), ("Barbacoas", "Nariño"),
           ("Los Andes Sotomayor", "Nariño"), ("Íquira", "Huila"), ("Vetas", "Santander"),
           ("California", "Santander"), ("Condoto", "Chocó")),
    "MN": (("Zaamar", "Töv"), ("Bornuur", "Töv"), ("Mandal", "Selenge"), ("Yeröö", "Selenge"),
           ("Bayangol", "Selenge"), ("Bayan-Ovoo", "Bayankhongor"), ("Bumbugur", "Bayankhongor"),
           ("Uyanga", "Övörkhangai"), ("Batshireet", "Khentii")),
    "EC": (("Ponce Enríquez", "Azuay"), ("Zaruma", "El Oro"), ("Portovelo", "El Oro"),
           ("Nambija", "Zamora Chinchipe"), ("Chinapintza", "Zamora Chinchipe"),
           ("Yantzaza", "Zamora Chinchipe"), ("Paccha", "El Oro"), ("Bella Rica", "Azuay")),
}
MN_WORDS = ("Shijir", "Khishig", "Altan", "Gerelt", "Tsogt", "Erdene", "Bayan", "Mönkh",
            "Uul", "Nomin", "Tuul", "Ider", "Od", "Tengeri", "Saikhan", "Dalai")
LEGAL_FORMS = (("cooperative", 40), ("company", 25), ("association", 20),
               ("central-cooperative", 5), ("other", 10))
DEPOSITS = (("alluvial", 45), ("hard-rock", 45), ("other", 5), (None, 5))

FINDINGS = {
    "health-safety": ("first aid kits incomplete", "ventilation of the main adit insufficient",
                      "personal protective equipment not worn at the mill",
                      "no occupational accident register", "explosives log not countersigned",
                      "emergency evacuation drill not held this year"),
    "environmental": ("mercury retorts not used at every mill", "tailings pond undersized",
                      "water monitoring results not filed", "waste disposal area not signposted",
                      "revegetation of exhausted pits behind schedule"),
    "labour": ("working hours register incomplete", "social security affiliation missing for some workers",
               "employment contracts not signed by seasonal workers"),
    "organizational": ("premium committee minutes not signed", "general assembly not held this year",
                       "written policy on worker participation missing"),
    "traceability": ("gold sales register kept on paper only",
                     "ore bought from third parties not separated in the register",
                     "register of miners in the system of production incomplete"),
    "commercial": ("no Fairmined sales contract signed", "premium use not reported to the buyer"),
}
SEVERITIES = (("observation", 40), ("minor", 45), ("major", 15))
DENIAL_REASONS = {
    "commercial": "no gold sold under Fairmined terms during the certification year",
    "health-safety": "health and safety conditions do not meet the requirements of the standard",
    "environmental": "mercury use above the limits of the standard",
    "labour": "workers without social security affiliation",
    "organizational": "no democratic decision on the use of the premium",
    "traceability": "production records do not trace the gold to the certified mines",
    "other": "the audit could not be completed",
}
VOLUNTARY = ("for internal reasons decided not to continue",
             "the organization decided not to maintain the certification",
             "operations moved to a concession outside the certified area")
IMPOSED = ("major nonconformities not corrected by the deadline",
           "gold from outside the certified system of production sold as Fairmined",
           "certification fees unpaid")
EXTENSION_REASONS = ("audit postponed: access road closed by landslides",
                     "operations halted by a regional state of emergency",
                     "the certification body could not schedule the audit before the end date",
                     "social conflict in the area prevented the site visit")

DAY = timedelta(days=1)


def anniversary_eve(d: date) -> date:
    """The day before the first anniversary of d (the anniversary of 29 February is 1 March)."""
    try:
        anniversary = d.replace(year=d.year + 1)
    except ValueError:
        anniversary = date(d.year + 1, 3, 1)
    return anniversary - DAY


def _weighted(rng: random.Random, table):
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return rng.choices(values, weights)[0]


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def _name(rng: random.Random, country: str, legal_form: str, place: str) -> str:
    if country == "MN":
        words = " ".join(rng.sample(MN_WORDS, 2))
        return {"cooperative": f"{words} Cooperative",
                "central-cooperative": f"{place} Union of Cooperatives",
                "company": f"{words} LLC",
                "association": f"{place} Artisanal Miners' Partnership"}.get(legal_form, words)
    return {"cooperative": f"Cooperativa Minera Aurífera {place} Ltda.",
            "central-cooperative": f"Central de Cooperativas Mineras de {place}",
            "company": f"Minera {place} S.A.",
            "association": f"Asociación de Mineros Artesanales de {place}"}.get(legal_form, f"Mina {place}")


def _body(rng: random.Random, country: str, d: date) -> str:
    if d < date(2013, 11, 1):
        return "FLO-CERT"
    if country == "CO" and d >= date(2018, 3, 1):
        return rng.choice(("NaturaCert", "IMO Swiss AG"))
    return "IMO Swiss AG"


def _findings(rng: random.Random, major_ok: bool = True) -> list[str]:
    found, seen = [], set()
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3))):
        severity = _weighted(rng, SEVERITIES)
        if severity == "major" and not major_ok:
            severity = "minor"
        category = rng.choice(tuple(FINDINGS))
        text = rng.choice(FINDINGS[category])
        if text not in seen:
            seen.add(text)
            found.append(f"{severity}:{category}:{text}")
    return found


def _organization(index: int, rng: random.Random, start_year: int, end: date) -> Iterator[dict]:
    """One organization's timeline, in date order; it may run past `end` (the caller cuts it)."""
    org = f"org-{index:06d}"
    country = rng.choice(COUNTRIES)
    place, region = rng.choice(PLACES[country])
    legal_form = _weighted(rng, LEGAL_FORMS)
    deposit = _weighted(rng, DEPOSITS)
    registered = date(start_year, 1, 1) + _days(rng, 0, 200)
    event = {"command": "register", "org": org, "date": registered.isoformat(),
             "name": _name(rng, country, legal_form, place), "country": country,
             "region": f"{place}, {region}", "legal_form": legal_form}
    if deposit:
        event["deposit"] = deposit
    yield event

    counters = {"audit": 0, "certificate": 0}

    def audit(d: date, kind: str, findings: list[str]) -> dict:
        counters["audit"] += 1
        ev = {"command": "audit", "org": org, "date": d.isoformat(), "body": _body(rng, country, d),
              "kind": kind, "reference": f"AUD-{index:06d}-{counters['audit']}"}
        if findings:
            ev["finding"] = findings
        return ev

    def cmd(command: str, d: date, **fields) -> dict:
        ev = {"command": command, "org": org, "date": d.isoformat()}
        ev.update(fields)
        return ev

    standard = "ecological" if rng.random() < 0.2 else "fairmined"
    t = registered  # the earliest date for the next event
    while t <= end:
        # --- not certified: initial audit, then a grant (or an initial denial)
        a = t + _days(rng, 20, 150)
        ev = audit(a, "initial", _findings(rng))
        yield ev
        d = a + _days(rng, 7, 35)
        if rng.random() < 0.08:
            category = rng.choice(tuple(DENIAL_REASONS))
            yield cmd("deny", d, reason_category=category, reason=DENIAL_REASONS[category])
            t = d + _days(rng, 90, 300)
            continue
        if rng.random() < 0.1:
            standard = "ecological" if standard == "fairmined" else "fairmined"
        counters["certificate"] += 1
        yield cmd("certify", d, standard=standard, certificate=f"FM-{index:06d}-{counters['certificate']}",
                  audit=ev["reference"])
        valid_from, valid_until = d, anniversary_eve(d)
        t = d + DAY

        # --- certified: one pass per period [valid_from, valid_until]; t >= valid_from throughout
        while True:
            ended = None  # date after which the chain is over (withdrawn), if it ends inside the period
            # surveillance audits during the period (usually one, sometimes two); a major
            # nonconformity can bring a follow-up audit, or a suspension
            s = valid_from + _days(rng, 60, 150)
            visits = 2 if rng.random() < 0.3 else (1 if rng.random() < 0.85 else 0)
            for _ in range(visits):
                if not t <= s < valid_until - timedelta(days=90):
                    break
                found = _findings(rng)
                yield audit(s, "surveillance", found)
                t = s
                majors = [f for f in found if f.startswith("major:")]
                if majors and rng.random() < 0.25:
                    suspended = s + _days(rng, 5, 20)
                    follow_up = suspended + _days(rng, 20, 60)
                    reinstated = follow_up + _days(rng, 1, 10)
                    reason = f"major nonconformity: {majors[0].split(':', 2)[2]}"
                    if rng.random() < 0.15:
                        yield cmd("suspend", suspended, reason=reason)
                        withdrawn = min(suspended + _days(rng, 30, 90), valid_until)
                        yield cmd("withdraw", withdrawn, mode="imposed", reason=rng.choice(IMPOSED))
                        ended = withdrawn
                        break
                    if reinstated <= valid_until - timedelta(days=45):
                        resolve_by = suspended + _days(rng, 60, 90)
                        yield cmd("suspend", suspended, reason=reason, resolve_by=resolve_by.isoformat())
                        yield audit(follow_up, "follow-up", _findings(rng, major_ok=False))
                        yield cmd("reinstate", reinstated)
                        t = reinstated
                elif (majors and rng.random() < 0.8) or (found and rng.random() < 0.25):
                    follow_up = s + _days(rng, 20, 60)
                    if follow_up <= valid_until - timedelta(days=60):
                        yield audit(follow_up, "follow-up", _findings(rng, major_ok=False))
                        t = follow_up
                s = t + _days(rng, 60, 120)
            if ended is None and rng.random() < 0.02:
                withdrawn = max(t, valid_until - _days(rng, 30, 150))
                yield cmd("withdraw", withdrawn, mode="voluntary", reason=rng.choice(VOLUNTARY))
                ended = withdrawn
            if ended is not None:
                t = ended + _days(rng, 150, 700)
                break

            # an extension of the current period, now and then
            if rng.random() < 0.05:
                e = max(t, valid_until - _days(rng, 15, 60))
                until = valid_until + _days(rng, 30, 150)
                yield cmd("extend", e, until=until.isoformat(), reason=rng.choice(EXTENSION_REASONS))
                valid_until, t = until, e

            # --- end of the period: renewal, denial, withdrawal or a silent lapse
            outcome = rng.random()
            if outcome >= 0.97:  # no audit requested: the certificate just runs out
                t = valid_until + _days(rng, 60, 400)
                break
            ra = max(t, valid_until - _days(rng, 25, 70))
            found = _findings(rng)
            ev = audit(ra, "recertification", found)
            yield ev
            decided = ra
            if outcome < 0.84 and ((any(f.startswith("major:") for f in found) and rng.random() < 0.8)
                                   or (found and rng.random() < 0.3)):
                follow_up = min(ra + _days(rng, 7, 20), valid_until)
                yield audit(follow_up, "follow-up", _findings(rng, major_ok=False))
                decided = follow_up
            decided = min(decided + _days(rng, 3, 15), valid_until)
            if outcome < 0.84:
                fields = {}
                if rng.random() < 0.05:
                    standard = "ecological" if standard == "fairmined" else "fairmined"
                    fields["standard"] = standard
                new_from = valid_until + DAY
                new_until = anniversary_eve(new_from)
                if rng.random() < 0.04:
                    new_until = max(new_from, new_until + _days(rng, -90, 90))
                    fields["valid_until"] = new_until.isoformat()
                fields["audit"] = ev["reference"]
                yield cmd("recertify", decided, **fields)
                valid_from, valid_until = new_from, new_until
                t = valid_from
                continue
            if outcome < 0.92:
                category = rng.choice(tuple(DENIAL_REASONS))
                yield cmd("deny", decided, reason_category=category, reason=DENIAL_REASONS[category])
                t = valid_until + _days(rng, 60, 400)
            elif outcome < 0.95:
                yield cmd("withdraw", decided, mode="voluntary", reason=rng.choice(VOLUNTARY))
                t = decided + _days(rng, 150, 700)
            else:
                yield cmd("withdraw", decided, mode="imposed", reason=rng.choice(IMPOSED))
                t = decided + _days(rng, 150, 700)
            break


def generate(orgs: int, years: int, seed: int = 0, start_year: int = 2005) -> Iterator[dict]:
    """Yield the import commands for `orgs` organizations over `years` years, org after org.

    Years after LAST_DATE are cut off. The result depends only on the arguments.
    """
    if orgs < 0 or years < 1:
        raise ValueError("orgs must be >= 0 and years >= 1")
    if not 1900 <= start_year <= LAST_DATE.year:
        raise ValueError(f"start_year must lie between 1900 and {LAST_DATE.year}")
    end = min(date(start_year + years - 1, 12, 31), LAST_DATE)
    last = end.isoformat()
    for index in range(1, orgs + 1):
        rng = random.Random(f"certledger-synthetic:{seed}:{index}")
        for event in _organization(index, rng, start_year, end):
            if event["date"] > last:
                break
            yield event


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write seeded synthetic certledger import lines (JSON Lines).")
    parser.add_argument("--orgs", type=int, required=True, help="number of organizations")
    parser.add_argument("--years", type=int, required=True, help="number of years per organization")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--start-year", type=int, default=2005, help="first year (default 2005)")
    parser.add_argument("--out", default="-", help="output file, or - for standard output (default)")
    args = parser.parse_args(argv)
    if args.orgs < 0:
        parser.error("--orgs must be 0 or more")
    if args.years < 1:
        parser.error("--years must be 1 or more")
    if not 1900 <= args.start_year <= LAST_DATE.year:
        parser.error(f"--start-year must lie between 1900 and {LAST_DATE.year}")

    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    try:
        chunk: list[str] = []
        for event in generate(args.orgs, args.years, args.seed, args.start_year):
            chunk.append(json.dumps(event, ensure_ascii=False))
            if len(chunk) >= 4096:
                out.write(("\n".join(chunk) + "\n").encode("utf-8"))
                chunk.clear()
        if chunk:
            out.write(("\n".join(chunk) + "\n").encode("utf-8"))
        out.flush()
    except BrokenPipeError:
        # the reader went away (e.g. piped into head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return 0

if __name__ == "__main__":
    sys.exit(main())
