"""The roster generator: realistic, valid and deterministic MIS snapshots."""

import math
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date

import phonenumbers
import pytest
from stdnum.gb import upn as upn_check
from typer.testing import CliRunner

from app.cli import cli
from app.core.types import YearGroup, normalise_postcode
from app.roster.models import SendStatus
from app.roster.snapshot import HouseholdRow, RosterSnapshot
from app.synthetic.roster import (
    DEFAULT_TOWN,
    INWARD_LETTERS,
    MOBILE_PREFIXES,
    ORIGINS,
    TOWNS,
    YEAR_OFFSET,
    RosterGenerator,
    Town,
)

PLACEHOLDER_UPNS = {"UN1", "UN2", "UN3", "UN4", "UN5"}
LANGUAGES = {lang for origin in ORIGINS for lang, _ in origin.languages}
# The forms a real MIS export holds mobiles in.
MOBILE_FORMS = (
    r"07\d{3} \d{6}",
    r"07\d{9}",
    r"\+44 7\d{3} \d{6}",
    r"\+447\d{9}",
    r"07\d{3} \d{3} \d{3}",
    r"0044 7\d{3} \d{6}",
)
PRIMARY_YEARS = {"R", "1", "2", "3", "4", "5", "6"}


@pytest.fixture(scope="module")
def school() -> RosterSnapshot:
    return RosterGenerator(seed=7).school_snapshot("bligh")


@pytest.fixture(scope="module")
def big_school() -> RosterSnapshot:
    """Large enough for the rates to be measured within a few points."""
    return RosterGenerator(seed=11).school_snapshot("big", pupils=8000)


@pytest.fixture(scope="module")
def trust() -> dict[str, RosterSnapshot]:
    return RosterGenerator(seed=5).trust_snapshots(
        ["bligh", "temple-hill", "hilltop", "st-marys", "strood-academy"],
        pupils_per_school=[650, 420, 630, 210, 1000],
        phases=["primary", "primary", "primary", "primary", "secondary"],
        cross_school_sibling_rate=0.04,
    )


def _children_per_household(snapshot: RosterSnapshot) -> Counter[int]:
    return Counter(Counter(p.household_ref for p in snapshot.pupils).values())


def _share(count: int, total: int) -> float:
    return count / total


# --- Shape ------------------------------------------------------------------------------------


def test_a_650_pupil_primary_has_three_forms_of_entry(school: RosterSnapshot) -> None:
    assert len(school.pupils) == 650
    assert 20 <= len(school.classes) <= 24
    sizes = Counter(p.class_mis_id for p in school.pupils)
    assert all(1 <= sizes[c.mis_id] <= 32 for c in school.classes)
    assert {c.year_group.value for c in school.classes} == PRIMARY_YEARS
    assert len({c.name for c in school.classes}) == len(school.classes)
    assert school.academic_year == "2026/27"


def test_a_secondary_has_forms_of_about_28() -> None:
    snapshot = RosterGenerator(seed=3).school_snapshot("academy", pupils=1000, phase="secondary")
    assert {c.year_group.value for c in snapshot.classes} == {"7", "8", "9", "10", "11"}
    sizes = Counter(p.class_mis_id for p in snapshot.pupils)
    assert all(24 <= sizes[c.mis_id] <= 32 for c in snapshot.classes)
    assert all(re.fullmatch(r"(7|8|9|10|11)[A-Z]", c.name) for c in snapshot.classes)


def test_a_nursery_adds_n1_and_n2() -> None:
    snapshot = RosterGenerator(seed=3).school_snapshot("with-nursery", pupils=700, nursery=True)
    years = Counter(p.class_mis_id for p in snapshot.pupils)
    by_year: dict[YearGroup, int] = defaultdict(int)
    for c in snapshot.classes:
        by_year[c.year_group] += years[c.mis_id]
    assert by_year[YearGroup.N1] < by_year[YearGroup.N2] < by_year[YearGroup.RECEPTION]
    assert all(years[c.mis_id] <= 26 for c in snapshot.classes if c.year_group.value[0] == "N")


def test_classes_get_the_given_staff_round_robin() -> None:
    teachers = [f"teacher{i}@maritime.example.org" for i in range(5)]
    support = ["ta1@maritime.example.org", "ta2@maritime.example.org"]
    snapshot = RosterGenerator(seed=1).school_snapshot(
        "s", pupils=400, teacher_emails=teachers, support_emails=support
    )
    assert [c.teacher_emails for c in snapshot.classes[:6]] == [
        [t] for t in teachers + teachers[:1]
    ]
    assert [c.support_staff_emails for c in snapshot.classes[:3]] == [
        [support[0]],
        [support[1]],
        [],
    ]
    bare = RosterGenerator(seed=1).school_snapshot("s", pupils=400)
    assert all(not c.teacher_emails and not c.support_staff_emails for c in bare.classes)


def test_references_resolve_and_ids_are_unique(trust: dict[str, RosterSnapshot]) -> None:
    for snapshot in trust.values():
        classes = {c.mis_id for c in snapshot.classes}
        refs = {h.ref for h in snapshot.households}
        assert all(p.class_mis_id in classes and p.household_ref in refs for p in snapshot.pupils)
        assert {p.household_ref for p in snapshot.pupils} == refs  # no empty households
        ids = [
            *(c.mis_id for c in snapshot.classes),
            *(h.ref for h in snapshot.households),
            *(c.mis_id for h in snapshot.households for c in h.contacts),
            *(p.mis_id for p in snapshot.pupils),
        ]
        assert len(ids) == len(set(ids))
        assert all(h.mis_id == h.ref for h in snapshot.households)
        homes = [(h.address_line1, h.postcode) for h in snapshot.households]
        assert len(homes) == len(set(homes))
        for household in snapshot.households:
            assert sorted(c.priority for c in household.contacts) in ([1], [1, 2])


# --- Families ---------------------------------------------------------------------------------


def test_siblings_follow_uk_primary_figures(big_school: RosterSnapshot) -> None:
    counts = _children_per_household(big_school)
    total = sum(counts.values())
    assert _share(counts[1], total) == pytest.approx(0.60, abs=0.04)
    assert _share(counts[2], total) == pytest.approx(0.30, abs=0.04)
    assert _share(counts[3], total) == pytest.approx(0.08, abs=0.025)
    assert _share(sum(v for k, v in counts.items() if k >= 4), total) == pytest.approx(
        0.02, abs=0.015
    )


def test_siblings_spread_across_year_groups_and_share_a_surname(
    big_school: RosterSnapshot,
) -> None:
    year_of = {c.mis_id: c.year_group for c in big_school.classes}
    families: dict[str, list[tuple[YearGroup, str, date]]] = defaultdict(list)
    for p in big_school.pupils:
        assert p.class_mis_id is not None
        assert p.household_ref is not None
        families[p.household_ref].append(
            (year_of[p.class_mis_id], p.legal_last_name, p.date_of_birth)
        )
    multi = [f for f in families.values() if len(f) > 1]
    spread = sum(len({y for y, _, _ in f}) == len(f) for f in multi)
    assert spread / len(multi) > 0.93
    twins = [f for f in multi if len({y for y, _, _ in f}) < len(f)]
    assert twins
    assert all(len({d for _, _, d in f}) < len(f) for f in twins)
    same_stem = sum(len({name[:4] for _, name, _ in f}) == 1 for f in multi)
    assert same_stem / len(multi) > 0.8


def test_equity_flags_at_the_seed_schools_rates(big_school: RosterSnapshot) -> None:
    pupils = big_school.pupils
    n = len(pupils)
    fsm = sum(p.free_school_meals for p in pupils)
    premium = sum(p.pupil_premium for p in pupils)
    assert 0.30 <= fsm / n <= 0.40
    assert all(p.pupil_premium for p in pupils if p.free_school_meals)
    assert 0.02 <= (premium - fsm) / n <= 0.10
    send = Counter(p.send for p in pupils)
    assert send[SendStatus.SEN_SUPPORT] / n == pytest.approx(0.13, abs=0.02)
    assert send[SendStatus.EHCP] / n == pytest.approx(0.025, abs=0.01)
    eal = [p for p in pupils if p.eal]
    assert 0.15 <= len(eal) / n <= 0.25
    assert {p.home_language for p in eal} <= LANGUAGES
    assert len({p.home_language for p in eal}) >= 10
    assert {p.home_language for p in pupils if not p.eal} <= {"English", None}
    looked_after = [p for p in pupils if p.looked_after]
    assert 0.001 <= len(looked_after) / n <= 0.012
    assert all(p.pupil_premium and not p.free_school_meals for p in looked_after)


def test_contacts_are_realistic(big_school: RosterSnapshot) -> None:
    contacts = [c for h in big_school.households for c in h.contacts]
    first = [c for c in contacts if c.priority == 1]
    assert Counter(c.relationship for c in first).most_common(1)[0][0] == "Mother"
    assert {c.relationship for c in contacts} >= {"Mother", "Father", "Grandmother", "Carer"}
    assert len(contacts) / len(big_school.households) == pytest.approx(1.65, abs=0.08)
    assert sum(c.parental_responsibility for c in contacts) / len(contacts) > 0.75
    assert sum(c.mobile is None for c in contacts) / len(contacts) == pytest.approx(0.05, abs=0.02)
    assert 0.3 < sum(c.email is not None for c in contacts) / len(contacts) < 0.6
    assert all(not c.sms_consent for c in contacts if c.mobile is None)
    with_mobile = [c for c in contacts if c.mobile]
    assert sum(c.sms_consent for c in with_mobile) / len(with_mobile) > 0.8
    assert all(
        re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+\d*@example\.(com|org|net)", c.email)
        for c in contacts
        if c.email
    )
    eal_homes = {p.household_ref for p in big_school.pupils if p.eal}
    interpreters = [
        (h, c) for h in big_school.households for c in h.contacts if c.interpreter_needed
    ]
    assert interpreters
    assert all(h.ref in eal_homes and c.preferred_language for h, c in interpreters)
    eal_households = [h for h in big_school.households if h.ref in eal_homes]
    asking = sum(any(c.interpreter_needed for c in h.contacts) for h in eal_households)
    assert 0.15 < asking / len(eal_households) < 0.45


def test_names_and_preferred_names(big_school: RosterSnapshot) -> None:
    pupils = big_school.pupils
    preferred = [p for p in pupils if p.preferred_first_name]
    assert 0.03 <= len(preferred) / len(pupils) <= 0.07
    assert all(p.preferred_first_name != p.legal_first_name for p in preferred)
    assert len({p.legal_first_name for p in pupils}) > 150
    assert len({p.legal_last_name for p in pupils}) > 150
    assert any(not p.legal_last_name.isascii() for p in pupils)  # Wiśniewska, Yılmaz…


def test_dates_of_birth_fit_the_year_group(trust: dict[str, RosterSnapshot]) -> None:
    for snapshot in trust.values():
        year_of = {c.mis_id: c.year_group for c in snapshot.classes}
        for p in snapshot.pupils:
            assert p.class_mis_id is not None
            born = 2026 - 5 - YEAR_OFFSET[year_of[p.class_mis_id]]
            assert date(born, 9, 1) <= p.date_of_birth <= date(born + 1, 8, 31)
    reception = RosterGenerator(seed=2).school_snapshot("r", pupils=200)
    year_of = {c.mis_id: c.year_group for c in reception.classes}
    births = [p.date_of_birth for p in reception.pupils if year_of[p.class_mis_id or ""] == "R"]
    assert min(births) >= date(2021, 9, 1)
    assert max(births) <= date(2022, 8, 31)


# --- Identifiers ------------------------------------------------------------------------------


def test_postcodes_are_valid_and_shared_by_neighbours(big_school: RosterSnapshot) -> None:
    units: dict[str, list[HouseholdRow]] = defaultdict(list)
    for h in big_school.households:
        assert h.postcode is not None  # the generator gives every home an address
        assert normalise_postcode(h.postcode) == h.postcode
        outward, inward = h.postcode.split(" ")
        assert outward in DEFAULT_TOWN.districts
        assert inward[0].isdigit()
        assert set(inward[1:]) <= set(INWARD_LETTERS)
        assert h.town == DEFAULT_TOWN.name
        units[h.postcode].append(h)
    sizes = [len(homes) for homes in units.values()]
    assert max(sizes) <= 22
    assert 12 <= sum(sizes) / len(sizes) <= 18
    for homes in units.values():
        lat = sum(h.latitude or 0 for h in homes) / len(homes)
        lon = sum(h.longitude or 0 for h in homes) / len(homes)
        assert all(_km(lat, lon, h.latitude or 0, h.longitude or 0) < 0.3 for h in homes)
        assert len({h.address_line1 for h in homes}) == len(homes)
    assert all(
        _km(DEFAULT_TOWN.latitude, DEFAULT_TOWN.longitude, h.latitude or 0, h.longitude or 0) < 10
        for h in big_school.households
    )


def test_every_mobile_is_a_valid_uk_mobile(big_school: RosterSnapshot) -> None:
    mobiles = [c.mobile for h in big_school.households for c in h.contacts if c.mobile]
    for mobile in mobiles:
        number = phonenumbers.parse(mobile, "GB")
        assert phonenumbers.is_valid_number(number), mobile
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    forms = [re.compile(form) for form in MOBILE_FORMS]
    assert all(any(form.fullmatch(m) for form in forms) for m in mobiles)
    assert all(any(form.fullmatch(m) for m in mobiles) for form in forms)
    assert len(set(mobiles)) == len(mobiles)


def test_every_mobile_prefix_is_open() -> None:
    for prefix in MOBILE_PREFIXES:
        for tail in ("000000", "123456", "999999", "500050"):
            assert phonenumbers.is_valid_number(phonenumbers.parse(f"0{prefix}{tail}", "GB"))


def test_upns_are_valid_or_placeholders(trust: dict[str, RosterSnapshot]) -> None:
    upns = [p.upn for s in trust.values() for p in s.pupils]
    real = [u for u in upns if u and u not in PLACEHOLDER_UPNS]
    assert all(upn_check.is_valid(u) for u in real)
    assert len(real) == len(set(real))
    unknown = [u for u in upns if u is None or u in PLACEHOLDER_UPNS]
    assert 0 < len(unknown) / len(upns) < 0.02
    # Primary UPNs are mostly issued by the school itself (one establishment number).
    bligh = Counter(u[1:8] for u in (p.upn for p in trust["bligh"].pupils) if u and len(u) == 13)
    assert bligh.most_common(1)[0][1] / sum(bligh.values()) > 0.75


# --- Trusts -----------------------------------------------------------------------------------


def test_cross_school_siblings_match_by_address_and_first_contact(
    trust: dict[str, RosterSnapshot],
) -> None:
    homes: dict[tuple[str | None, str | None], list[tuple[str, HouseholdRow]]] = defaultdict(list)
    for key, snapshot in trust.items():
        for h in snapshot.households:
            homes[(h.address_line1, h.postcode)].append((key, h))
    shared = [entries for entries in homes.values() if len(entries) > 1]
    assert shared
    for entries in shared:
        assert len({key for key, _ in entries}) == len(entries)  # different schools
        assert len({h.ref for _, h in entries}) == len(entries)
        firsts = {(c.name, c.mobile) for _, h in entries for c in h.contacts if c.priority == 1}
        assert len(firsts) == 1
    for key, snapshot in trust.items():
        mine = sum(any(k == key for k, _ in entries) for entries in shared)
        assert 0.015 <= mine / len(snapshot.households) <= 0.08, key
    # Family ids are each MIS's own: no ref is reused across the trust's schools.
    refs = [h.ref for s in trust.values() for h in s.households]
    assert len(refs) == len(set(refs))


def test_no_cross_school_siblings_when_the_rate_is_zero() -> None:
    snapshots = RosterGenerator(seed=5).trust_snapshots(
        ["a", "b"], pupils_per_school=300, cross_school_sibling_rate=0
    )
    a = {(h.address_line1, h.postcode) for h in snapshots["a"].households}
    assert not a & {(h.address_line1, h.postcode) for h in snapshots["b"].households}


def test_schools_split_between_towns() -> None:
    gravesend = TOWNS[3]
    snapshots = RosterGenerator(seed=5).trust_snapshots(
        ["a", "b", "c", "d"], pupils_per_school=100, town=[DEFAULT_TOWN, gravesend]
    )
    assert {h.town for h in snapshots["a"].households} == {DEFAULT_TOWN.name}
    assert {h.town for h in snapshots["d"].households} == {gravesend.name}
    assert all(
        (h.postcode or "").split(" ")[0] in gravesend.districts for h in snapshots["d"].households
    )


def test_a_custom_town() -> None:
    town = Town("Testville", 52.0, -1.0, ("CV1", "CV2"), la_code=331, radius_km=2.0)
    snapshot = RosterGenerator(seed=1).school_snapshot("t", pupils=300, town=town)
    assert {(h.postcode or "").split(" ")[0] for h in snapshot.households} <= {"CV1", "CV2"}
    assert all(h.address_line2 is None or "," not in h.address_line2 for h in snapshot.households)
    upns = [p.upn for p in snapshot.pupils if p.upn and len(p.upn) == 13]
    assert Counter(u[1:4] for u in upns).most_common(1)[0][0] == "331"


# --- Determinism and validity -----------------------------------------------------------------


def test_the_same_seed_gives_the_same_snapshot() -> None:
    first = RosterGenerator(seed=42).trust_snapshots(["a", "b"], pupils_per_school=300)
    again = RosterGenerator(seed=42).trust_snapshots(["a", "b"], pupils_per_school=300)
    other = RosterGenerator(seed=43).trust_snapshots(["a", "b"], pupils_per_school=300)
    assert {k: s.model_dump() for k, s in first.items()} == {
        k: s.model_dump() for k, s in again.items()
    }
    assert first["a"].model_dump() != other["a"].model_dump()


def test_the_same_seed_gives_the_same_snapshot_in_any_process() -> None:
    """Benchmarks and tests regenerate data in other processes: string hashing must not leak in."""
    script = (
        "import hashlib; from app.synthetic.roster import RosterGenerator; "
        "s = RosterGenerator(5).trust_snapshots(['a', 'b'], pupils_per_school=150); "
        "print(hashlib.sha256(''.join(x.model_dump_json() for x in s.values()).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_snapshots_round_trip_through_validation(school: RosterSnapshot) -> None:
    dumped = school.model_dump()
    assert RosterSnapshot.model_validate(dumped).model_dump() == dumped
    assert RosterSnapshot.model_validate_json(school.model_dump_json()).model_dump() == dumped


def test_fast_rows_equal_validated_rows() -> None:
    fast = RosterGenerator(seed=9).trust_snapshots(["a", "b"], pupils_per_school=250)
    checked = RosterGenerator(seed=9, validate=True).trust_snapshots(
        ["a", "b"], pupils_per_school=250
    )
    for key, snapshot in fast.items():
        assert snapshot == checked[key]
        assert snapshot.model_dump() == checked[key].model_dump()
        rows = [*snapshot.classes, *snapshot.households, *snapshot.pupils]
        rows += [c for h in snapshot.households for c in h.contacts]
        assert all(r.model_fields_set == set(type(r).model_fields) for r in rows)


def test_one_generator_never_repeats_a_home_or_an_id() -> None:
    generator = RosterGenerator(seed=1)
    a = generator.school_snapshot("a", pupils=400)
    b = generator.school_snapshot("b", pupils=400)
    assert not {(h.address_line1, h.postcode) for h in a.households} & {
        (h.address_line1, h.postcode) for h in b.households
    }
    assert not {p.mis_id for p in a.pupils} & {p.mis_id for p in b.pupils}
    assert not {p.upn for p in a.pupils if p.upn and len(p.upn) == 13} & {
        p.upn for p in b.pupils if p.upn and len(p.upn) == 13
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pupils": 0}, "1 to 10,000"),
        ({"pupils": 10_001}, "1 to 10,000"),
        ({"phase": "sixth_form"}, "phase"),
        ({"academic_year": "2026-27"}, "2026/27"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RosterGenerator().school_snapshot("x", **kwargs)  # type: ignore[arg-type]


def test_per_school_values_need_one_per_school() -> None:
    with pytest.raises(ValueError, match="one value per school"):
        RosterGenerator().trust_snapshots(["a", "b"], pupils_per_school=[100])


# --- CLI --------------------------------------------------------------------------------------


def test_demo_data_writes_one_snapshot_per_school(tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "snapshots"
    result = CliRunner().invoke(
        cli,
        [
            "demo-data",
            "--schools",
            "3",
            "--pupils-per-school",
            "120",
            "--seed",
            "4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "school-001.json",
        "school-002.json",
        "school-003.json",
    ]
    snapshot = RosterSnapshot.model_validate_json((out / "school-002.json").read_text())
    assert len(snapshot.pupils) == 120
    assert re.fullmatch(
        r"wrote 3 snapshots \(360 pupils, \d+ households, \d+ classes\) to .+ in [\d.]+s\n",
        result.output,
    )


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    north = (lat1 - lat2) * 111.2
    east = (lon1 - lon2) * 111.32 * math.cos(math.radians(lat1))
    return math.hypot(north, east)
