"""Seeded, realistic MIS roster snapshots: what one school's feed sends, or several schools' of one
trust in the same town, some families with children at two of them.

`RosterGenerator(seed)` makes `RosterSnapshot`s: classes sized as English schools size them,
households of one to five children spread across year groups, homes clustered into postcode units
around a town, contacts with UK mobiles in the forms MIS exports write them, valid UPNs, names of a
diverse English town, and equity flags at the rates of the seed schools (deprived areas). The same
seed and the same sequence of calls give identical snapshots; one generator never reuses an
address, a UPN or a MIS id, so snapshots of several calls can be synced into one trust.

Mobile numbers are valid UK mobiles (the Ofcom drama range is not valid to `phonenumbers`), so they
may belong to real people: send nothing to them except through a test key. E-mail addresses use
the reserved example.com/.org/.net domains.
"""

import bisect
import contextlib
import functools
import gc
import math
import random
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from app.core.types import YearGroup
from app.roster.models import SendStatus, Sex
from app.roster.snapshot import ClassRow, ContactRow, HouseholdRow, PupilRow, RosterSnapshot

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

# --- Rates (each with its source or reason) ---------------------------------------------------

# Children of one household at one school: ONS families-and-households puts ~45 % of dependent
# children's families at one child; counted per school (siblings outside the age range drop out)
# about 60 % of a primary's families have one child on roll, 30 % two, 8 % three, 2 % four or more.
CHILDREN_PER_HOUSEHOLD: tuple[tuple[int, float], ...] = (
    (1, 0.60),
    (2, 0.30),
    (3, 0.08),
    (4, 0.015),
    (5, 0.005),
)
# Of households with two or more children here, those with twins (~1.5 % of births are twins).
TWIN_RATE = 0.03
# Free school meals: the seed school (Bligh, Strood West, IMD decile 2) has "over a third".
FSM_RATE = 0.35
# Pupil premium beyond current FSM (Ever-6 FSM, service children), of families not on FSM.
PUPIL_PREMIUM_EXTRA_RATE = 0.08
# SEND: DfE "Special educational needs in England" 2024: SEN support ~13 %, EHC plans 2-5 %.
SEN_SUPPORT_RATE = 0.13
EHCP_RATE = 0.025
# Looked-after children: ~70 per 10,000 under-18s in England (DfE "Children looked after").
LOOKED_AFTER_FAMILY_RATE = 0.005
# EAL comes from the family origins below (about 20 %, DfE "Schools, pupils and their
# characteristics" puts English primaries at ~22 %). Of EAL families:
INTERPRETER_RATE = 0.25  # ask for an interpreter (a share of new-arrival families)
PREFERRED_LANGUAGE_RATE = 0.6  # record a preferred language (always when an interpreter is needed)
NON_EAL_LANGUAGE_RECORDED_RATE = 0.9  # MIS records "English" as first language for most others
# Contacts: most families give the school two; a few give none with a mobile (landline only).
SECOND_CONTACT_RATE = 0.65
NO_MOBILE_RATE = 0.05
EMAIL_RATE = 0.45
SMS_CONSENT_RATE = 0.9
# Pupils known by another name (nickname, middle name) or a step-parent's surname.
PREFERRED_FIRST_NAME_RATE = 0.05
PREFERRED_LAST_NAME_RATE = 0.01
# A sibling with a different surname (half-siblings, blended families).
HALF_SIBLING_SURNAME_RATE = 0.10
# UPNs: DfE placeholders UN1-UN5 ("unknown") and rows sent with none, a handful per school.
UPN_PLACEHOLDER_RATE = 0.004
UPN_MISSING_RATE = 0.003
# Primary pupils whose UPN this school issued (the rest joined from other schools).
OWN_UPN_RATE = 0.85
# Royal Mail: ~15 delivery points per postcode unit; here 8-22 homes of the school's families.
POSTCODE_UNIT_HOMES = (8, 22)
FLATS_UNIT_RATE = 0.15  # units that are a block of flats (Medway housing stock)
STREET_UNITS = (1, 3)  # postcode units per street
# Catchments: homes scattered around the school, sigma in km (secondaries draw wider).
CATCHMENT_SIGMA_KM = {"primary": 0.9, "secondary": 1.8}
# Boys per birth: ONS sex ratio at birth ~105:100.
MALE_RATE = 0.512
# Class sizes: infant classes are capped at 30 (excepted pupils allow a couple more); forms of ~28
# in secondaries; maintained nursery classes 26 (1:13 ratio with a teacher).
CLASS_TARGET = {"primary": 30, "secondary": 28, "nursery": 26}
CLASS_CAP = {"primary": 32, "secondary": 32, "nursery": 26}
# Nursery year groups relative to a main year group (many children are part-time, fewer in N1).
NURSERY_WEIGHTS = {YearGroup.N1: 0.25, YearGroup.N2: 0.55}
YEAR_SIZE_JITTER = 0.05  # year groups differ by up to ±5 % (bulge years, falling rolls)
# Free school meal eligibility is per household: siblings share it (and EAL, and PP).

PHASE_YEARS: dict[str, tuple[YearGroup, ...]] = {
    "primary": tuple(YearGroup(y) for y in ("R", "1", "2", "3", "4", "5", "6")),
    "infant": tuple(YearGroup(y) for y in ("R", "1", "2")),
    "junior": tuple(YearGroup(y) for y in ("3", "4", "5", "6")),
    "secondary": tuple(YearGroup(y) for y in ("7", "8", "9", "10", "11")),
    "all_through": tuple(YearGroup(y) for y in ("R", *(str(n) for n in range(1, 12)))),
}
# Years after the start of Reception: Reception in 2026/27 were born 1 Sep 2021 - 31 Aug 2022.
YEAR_OFFSET: dict[YearGroup, int] = {
    YearGroup.N1: -2,
    YearGroup.N2: -1,
    YearGroup.RECEPTION: 0,
    **{YearGroup(str(n)): n for n in range(1, 14)},
}

INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# UK mobile ranges valid to `phonenumbers` (07700 is the drama range, 07911 is only partly open).
MOBILE_PREFIXES: tuple[str, ...] = tuple(
    p for p in (f"7{a}{b:02d}" for a in "45789" for b in range(100)) if p not in ("7700", "7911")
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Local authorities whose UPNs turn up in Kent and south-east London schools (DfE LA codes).
OTHER_LA_CODES = (886, 886, 886, 203, 208, 209, 210, 303, 305, 306, 330, 383, 850, 926)


@dataclass(frozen=True)
class Town:
    """Where a school's families live. `districts` are postcode outward codes, clockwise from the
    north of the centre; `localities` (optional, one per district) fill address line 2."""

    name: str
    latitude: float
    longitude: float
    districts: tuple[str, ...]
    la_code: int = 887
    radius_km: float = 3.0
    localities: tuple[str, ...] = ()


DEFAULT_TOWN = Town(
    "Rochester",
    51.388,
    0.497,
    ("ME3", "ME4", "ME1", "ME2"),
    la_code=887,
    localities=("Frindsbury Extra", "Chatham", "Borstal", "Strood"),
)
TOWNS: tuple[Town, ...] = (
    DEFAULT_TOWN,
    Town("Gillingham", 51.381, 0.560, ("ME7", "ME8"), 887, 2.5, ("Brompton", "Rainham")),
    Town("Chatham", 51.364, 0.525, ("ME4", "ME5"), 887, 2.5, ("Luton", "Walderslade")),
    Town("Gravesend", 51.436, 0.366, ("DA12", "DA11"), 886, 2.5, ("Riverview Park", "Northfleet")),
    Town("Dartford", 51.444, 0.218, ("DA1", "DA2"), 886, 2.5, ("Temple Hill", "Stone")),
    Town("Leeds", 53.806, -1.553, ("LS7", "LS8", "LS11", "LS6"), 383, 3.5, ()),
    Town("Worcester", 52.192, -2.221, ("WR3", "WR5", "WR2", "WR1"), 885, 3.0, ()),
)


# --- Names of a diverse English town ----------------------------------------------------------


def _n(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class _Origin:
    weight: float
    eal_rate: float
    languages: tuple[tuple[str, float], ...]
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    surnames: tuple[str, ...]
    mothers_surnames: tuple[str, ...] = ()  # e.g. Begum, Kaur: mothers often carry these
    grammar: str = ""  # "polish" / "lithuanian": surnames take feminine forms


_BRITISH = _Origin(
    0.72,
    0.0,
    (),
    _n(
        "Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace "
        "Daisy Sienna Poppy Elsie Emily Ella Evie Phoebe Evelyn Millie Harper Ruby Maisie Matilda "
        "Esme Ellie Charlotte Alice Layla Eva Scarlett Bonnie Lola Darcie Hallie Orla Thea Nevaeh"
    ),
    _n(
        "Noah Oliver George Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie "
        "Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander Luca "
        "Edward James Joshua Albie Elijah Max Mason Reuben Ronnie Louie Jaxon Riley Tyler "
        "Harrison Frankie Ethan Kai Jayden"
    ),
    _n(
        "Sarah Emma Laura Gemma Kelly Stacey Jodie Danielle Amy Hannah Natalie Zoe Charlotte "
        "Rebecca Leanne Kirsty Nicola Samantha Jade Lauren Chloe Katie Lucy Sophie Jessica Claire "
        "Hayley Kerry Vicky Rachel Louise Michelle Toni Shannon Abbie"
    ),
    _n(
        "Daniel James Matthew Christopher David Michael Mark Paul Lee Craig Ryan Adam Jamie Ben "
        "Tom Luke Stephen Wayne Dean Scott Liam Carl Gary Darren Jason Richard Andrew Shane Kyle "
        "Aaron Jordan Ashley"
    ),
    _n(
        "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
        "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood "
        "Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
        "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly "
        "Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Marsh Fuller "
        "Pearce Knight Mason Holmes Barnes Stevens Doherty O'Brien Gallagher Kennedy Smith-Jones "
        "Campbell Francis Grant Reid Stewart Brooks Palmer"
    ),
)
_POLISH = _Origin(
    0.045,
    0.9,
    (("Polish", 1.0),),
    _n("Zuzanna Julia Zofia Maja Hanna Lena Alicja Oliwia Amelia Wiktoria Natalia Laura"),
    _n("Jakub Antoni Jan Szymon Filip Aleksander Franciszek Mikołaj Wojciech Kacper Adam Oliwer"),
    _n("Agnieszka Katarzyna Magdalena Joanna Anna Monika Karolina Ewelina Justyna Paulina"),
    _n("Tomasz Piotr Krzysztof Marcin Paweł Łukasz Michał Grzegorz Dawid Rafał"),
    _n(
        "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański Woźniak "
        "Dąbrowski Kozłowski Mazur Jankowski Krawczyk"
    ),
    grammar="polish",
)
_ROMANIAN = _Origin(
    0.032,
    0.95,
    (("Romanian", 1.0),),
    _n("Maria Ioana Andreea Elena Alexandra Sofia Daria Bianca Antonia Ana"),
    _n("Andrei Alexandru David Ștefan Luca Matei Gabriel Mihai Ionuț Darius"),
    _n("Mihaela Elena Cristina Florentina Ionela Alina Simona Adriana"),
    _n("Ion Gheorghe Florin Marian Constantin Ionuț Bogdan Cătălin Adrian Vasile"),
    _n("Popescu Ionescu Popa Stan Dumitru Stoica Gheorghe Matei Ciobanu Munteanu Rusu Lungu"),
)
_LITHUANIAN = _Origin(
    0.018,
    0.9,
    (("Lithuanian", 1.0),),
    _n("Emilija Sofija Lėja Amelija Urtė Gabija Ugnė"),
    _n("Lukas Matas Jokūbas Nojus Kajus Dominykas Benas"),
    _n("Rasa Jurgita Inga Kristina Vaida Laura"),
    _n("Tomas Mindaugas Darius Andrius Žydrūnas Saulius Giedrius"),
    _n("Kazlauskas Jankauskas Petrauskas Stankevičius Vasiliauskas Žukauskas Butkus Paulauskas"),
    grammar="lithuanian",
)
_PAKISTANI = _Origin(
    0.036,
    0.75,
    (("Urdu", 0.6), ("Punjabi", 0.4)),
    _n("Aisha Zainab Maryam Fatima Hafsa Khadija Inaya Amira Eshal Hania Anaya Zara"),
    _n("Muhammad Ibrahim Yusuf Ayaan Zayn Hamza Musa Abdullah Umar Rayyan Ali Haroon"),
    _n("Nadia Shazia Sadia Ayesha Rubina Saima Farah Sana Naila Uzma"),
    _n("Imran Asif Tariq Kamran Faisal Shahid Adeel Usman Zubair Amir"),
    _n("Khan Hussain Ahmed Ali Iqbal Akhtar Shah Mahmood Butt Malik Rashid Qureshi Chaudhry Raza"),
)
_BANGLADESHI = _Origin(
    0.018,
    0.8,
    (("Bengali", 0.85), ("Sylheti", 0.15)),
    _n("Ayesha Safa Mahira Anisa Nusaybah Tasnim Rumaisa Samiha"),
    _n("Rayan Tahmid Ayaan Arafat Mahir Zakariya Yahya Sami"),
    _n("Nasreen Shirin Rehana Salma Shapla Rokeya Taslima Farzana"),
    _n("Abdul Mohammed Jamal Shahin Rafiq Kamal Habib Nazrul"),
    _n("Miah Rahman Uddin Islam Hossain Ahmed Chowdhury Ali"),
    mothers_surnames=_n("Begum Begum Khatun"),
)
_INDIAN = _Origin(
    0.027,
    0.65,
    (("Punjabi", 0.7), ("Gujarati", 0.3)),
    _n("Simran Jasleen Harleen Priya Anaya Diya Navya Gurleen Kiran Riya"),
    _n("Arjun Harjot Gurveer Aarav Veer Jaskaran Rohan Kabir Dev Ishaan"),
    _n("Harpreet Manpreet Rajinder Sunita Pooja Kamaljit Parminder Neha"),
    _n("Gurpreet Jaspal Sukhwinder Rajesh Amarjit Sandeep Harjinder Vikram"),
    _n("Singh Sandhu Gill Dhillon Sidhu Patel Shah Sharma Bains Johal Mistry"),
    mothers_surnames=_n("Kaur"),
)
_ARABIC = _Origin(
    0.018,
    0.9,
    (("Arabic", 1.0),),
    _n("Maryam Lina Jana Malak Salma Nour Rahaf Yasmin"),
    _n("Omar Adam Youssef Ahmad Karim Hamza Ali Mohammed"),
    _n("Fatima Huda Rania Amal Noura Samira Manal Hiba"),
    _n("Khalid Mahmoud Hassan Mustafa Ahmed Samir Walid Bilal"),
    _n("Al-Sayed Hassan Ibrahim Abdallah Mahmoud Haddad Saleh Mansour Al-Khatib Nasser"),
)
_SOMALI = _Origin(
    0.013,
    0.9,
    (("Somali", 1.0),),
    _n("Hodan Ayan Hibo Sagal Ifrah Nasra Ikran Safiya"),
    _n("Abdirahman Mohamed Abdullahi Yusuf Hassan Liban Bilal Khalid"),
    _n("Fadumo Hawa Amina Sahra Asha Khadra Deeqa Nimco"),
    _n("Abdi Ahmed Mohamud Omar Ismail Abdikadir Farah Jama"),
    _n("Mohamed Ali Hassan Abdi Farah Ahmed Warsame Osman Yusuf Jama Hussein Nur"),
)
_PORTUGUESE = _Origin(
    0.014,
    0.85,
    (("Portuguese", 1.0),),
    _n("Beatriz Leonor Matilde Carolina Mariana Inês Francisca Lara"),
    _n("Santiago Francisco Afonso Tomás Rodrigo Duarte Gonçalo Martim"),
    _n("Ana Sónia Sandra Patrícia Cátia Vânia Marta Susana"),
    _n("João Pedro Nuno Ricardo Rui Paulo Tiago Hugo"),
    _n("Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Sousa Fernandes Almeida"),
)
_TURKISH = _Origin(
    0.014,
    0.85,
    (("Turkish", 0.85), ("Kurdish", 0.15)),
    _n("Zeynep Elif Defne Eylül Azra Asel Ecrin Nehir"),
    _n("Yusuf Eymen Ömer Mustafa Emir Kerem Aras Alparslan"),
    _n("Ayşe Fatma Emine Hatice Zeynep Sevgi Gülay Derya"),
    _n("Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Murat"),
    _n("Yılmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan Doğan"),
)
_NIGERIAN = _Origin(
    0.028,
    0.3,
    (("Yoruba", 0.55), ("Igbo", 0.45)),
    _n("Temitope Adaeze Chiamaka Favour Precious Ifeoluwa Tiwatope Amara Zion Ebunoluwa"),
    _n("David Daniel Tobi Chidi Emeka Oluwadamilare Ayomide Tobenna Jayden Samuel"),
    _n("Blessing Funmilayo Ngozi Chioma Adebola Folake Yetunde Grace"),
    _n("Oluwaseun Chukwuemeka Adewale Babatunde Femi Obinna Tunde Emmanuel"),
    _n("Okafor Adeyemi Okonkwo Ogunleye Eze Adebayo Nwosu Balogun Olawale Okeke"),
)
_GHANAIAN = _Origin(
    0.013,
    0.3,
    (("Twi", 1.0),),
    _n("Ama Akosua Efua Abena Adwoa Esi Nana"),
    _n("Kofi Kwame Kwabena Yaw Kojo Kwesi Nana"),
    _n("Afua Akua Abena Gifty Comfort Mercy"),
    _n("Kwame Kofi Kwaku Emmanuel Isaac Prince"),
    _n("Mensah Owusu Boateng Asante Osei Appiah Agyeman Darko"),
)
ORIGINS: tuple[_Origin, ...] = (
    _BRITISH,
    _POLISH,
    _ROMANIAN,
    _LITHUANIAN,
    _PAKISTANI,
    _BANGLADESHI,
    _INDIAN,
    _ARABIC,
    _SOMALI,
    _PORTUGUESE,
    _TURKISH,
    _NIGERIAN,
    _GHANAIAN,
)
_ORIGIN_CUM = tuple(math.fsum(o.weight for o in ORIGINS[: i + 1]) for i in range(len(ORIGINS)))

NICKNAMES = {
    "Alexander": "Alex",
    "Oliver": "Ollie",
    "Thomas": "Tom",
    "William": "Will",
    "Charlotte": "Lottie",
    "Matilda": "Tilly",
    "Isabella": "Bella",
    "Theodore": "Teddy",
    "Joshua": "Josh",
    "Jacob": "Jake",
    "Olivia": "Liv",
    "Florence": "Flo",
    "Edward": "Ted",
    "Frankie": "Frank",
    "Evelyn": "Evie",
    "Wojciech": "Voytek",
    "Mikołaj": "Nick",
    "Aleksander": "Olek",
    "Muhammad": "Mo",
    "Abdirahman": "Abdi",
    "Oluwadamilare": "Dami",
    "Ifeoluwa": "Ife",
    "Tiwatope": "Tiwa",
    "Ebunoluwa": "Ebun",
    "Alparslan": "Alp",
    "Jokūbas": "Jacob",
    "Alexandra": "Alex",
    "Zuzanna": "Zuzia",
    "Santiago": "Santi",
    "Abdullahi": "Abdul",
}

# (relationship, female, parental responsibility rate, rate of carrying the family surname)
_Relation = tuple[str, bool, float, float]
FIRST_CONTACTS: tuple[tuple[_Relation, float], ...] = (
    (("Mother", True, 1.0, 0.75), 0.78),
    (("Father", False, 0.97, 0.95), 0.12),
    (("Grandmother", True, 0.3, 0.5), 0.05),
    (("Grandfather", False, 0.3, 0.5), 0.005),
    (("Aunt", True, 0.3, 0.3), 0.015),
    (("Carer", True, 0.7, 0.2), 0.015),
    (("Step-mother", True, 0.2, 0.7), 0.015),
)
SECOND_CONTACTS: dict[bool, tuple[tuple[_Relation, float], ...]] = {
    # after a female first contact
    True: (
        (("Father", False, 0.95, 0.9), 0.68),
        (("Step-father", False, 0.2, 0.3), 0.08),
        (("Grandmother", True, 0.05, 0.4), 0.12),
        (("Grandfather", False, 0.05, 0.4), 0.05),
        (("Aunt", True, 0.02, 0.3), 0.05),
        (("Uncle", False, 0.02, 0.5), 0.02),
    ),
    # after a male first contact
    False: (
        (("Mother", True, 1.0, 0.75), 0.78),
        (("Step-mother", True, 0.2, 0.7), 0.05),
        (("Grandmother", True, 0.05, 0.5), 0.14),
        (("Aunt", True, 0.02, 0.3), 0.03),
    ),
}
_PARENTS = frozenset({"Mother", "Father", "Step-mother", "Step-father"})
FOSTER_CARERS: tuple[_Relation, _Relation] = (
    ("Foster Carer", True, 0.0, 0.0),
    ("Foster Carer", False, 0.0, 0.0),
)

CLASS_THEMES = {
    "trees": _n(
        "Oak Ash Beech Birch Cedar Elm Hazel Holly Juniper Larch Maple Pine Rowan Willow Yew Alder "
        "Aspen Chestnut Cherry Hawthorn Hornbeam Linden Poplar Sycamore Walnut Magnolia Sequoia "
        "Spruce Olive Fir"
    ),
    "birds": _n(
        "Robin Wren Kingfisher Owl Kestrel Heron Swift Puffin Falcon Finch Lark Magpie Nightingale "
        "Osprey Peregrine Skylark Sparrow Starling Swallow Woodpecker Goldfinch Bluetit Curlew "
        "Dunnock Jay Merlin Plover Raven Siskin Avocet"
    ),
}
STREET_STEMS = _n(
    "Cliffe Bligh Frindsbury Station Church Gun Cuxton Darnley Brompton Mill Castle Maidstone "
    "Priory Temple Watling Shorts London Canal Wharf Esplanade Cooling Dickens Marlowe Tennyson "
    "Chaucer Byron Kipling Shelley Keats Wordsworth Nelson Drake Raleigh Collingwood Anson "
    "Jellicoe Victoria Albert Alexandra Windsor Stuart Tudor Hanover Orchard Meadow Hillside "
    "Valley Brook Elm Oak Ash Willow Beech Chestnut Laburnum Lime Poplar Rowan Holly Hazel "
    "Cherry Sycamore Bryant Gordon Union Fort Pier Jackson Barnsole Canterbury Rochester "
    "Sharsted Hollywood Galena Marden Eastgate Northgate Boley Cossington Vicarage Rectory"
)
STREET_SUFFIXES = _n(
    "Road Road Road Street Street Avenue Close Close Way Lane Gardens Drive Crescent Grove Place "
    "Rise Terrace Court"
)
BLOCKS = _n(
    "Marlowe Dickens Brunel Cooper Temple Kingsley Medway Invicta Riverside Anchor Jubilee "
    "Coronation Hawkins Churchill Beaufort Mountbatten Faraday Darwin Newton Turner"
)
BLOCK_SUFFIXES = _n("House Court Lodge Point Heights")


# --- Internal working state -------------------------------------------------------------------


@dataclass(slots=True)
class _Contact:
    name: str
    relationship: str
    priority: int
    parental_responsibility: bool
    mobile: str | None
    email: str | None
    preferred_language: str | None
    interpreter_needed: bool
    sms_consent: bool


@dataclass(slots=True)
class _Family:
    origin: _Origin
    surname: str
    home_language: str | None
    fsm: bool
    pupil_premium: bool
    looked_after: bool
    contacts: list[_Contact]
    home_school: int
    line1: str = ""
    line2: str | None = None
    postcode: str = ""
    latitude: float = 0.0
    longitude: float = 0.0
    first_names: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Class:
    mis_id: str
    name: str
    year: YearGroup
    seats: int
    teachers: list[str] = field(default_factory=list)
    support: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _School:
    key: str
    phase: str
    town: Town
    latitude: float
    longitude: float
    estab: int
    years: list[YearGroup]
    classes: list[_Class]
    pools: list[list[int]]  # per year index: class indices, one per free seat
    sigma_km: float
    issuers: list[tuple[int, int]]  # (LA, establishment) of the schools its pupils came from
    households: list[tuple[_Family, list[tuple[int, int, date | None]]]] = field(
        default_factory=list
    )


@dataclass(slots=True)
class _Street:
    name: str
    latitude: float
    longitude: float
    next_number: int
    units_left: int


@dataclass(slots=True)
class _TownState:
    units: dict[str, list[str]] = field(default_factory=dict)  # sector -> unused unit letters
    streets: list[str] = field(default_factory=list)
    next_street: int = 0


class RosterGenerator:
    """Realistic roster snapshots, seeded. One instance never repeats an address, UPN or id."""

    def __init__(self, seed: int = 1, *, validate: bool = False) -> None:
        self.rng = random.Random(seed)
        self.validate = validate
        self._towns: dict[Town, _TownState] = {}
        self._used_blocks: set[int] = set()
        self._used_estabs: set[tuple[int, int]] = set()
        self._upn_serials: dict[tuple[int, int, int], int] = {}

    # --- Public API ---------------------------------------------------------------------------

    def school_snapshot(
        self,
        school_key: str,
        *,
        pupils: int = 650,
        phase: str = "primary",
        academic_year: str = "2026/27",
        teacher_emails: Sequence[str] = (),
        support_emails: Sequence[str] = (),
        town: Town | None = None,
        nursery: bool = False,
    ) -> RosterSnapshot:
        """One school's roster as its MIS would export it."""
        return self.trust_snapshots(
            [school_key],
            pupils_per_school=pupils,
            phases=phase,
            academic_year=academic_year,
            teacher_emails={school_key: teacher_emails},
            support_emails={school_key: support_emails},
            town=town,
            nursery=nursery,
            cross_school_sibling_rate=0.0,
        )[school_key]

    def trust_snapshots(
        self,
        school_keys: Sequence[str],
        *,
        pupils_per_school: int | Sequence[int] = 650,
        phases: str | Sequence[str] = "primary",
        cross_school_sibling_rate: float = 0.04,
        academic_year: str = "2026/27",
        teacher_emails: Mapping[str, Sequence[str]] | None = None,
        support_emails: Mapping[str, Sequence[str]] | None = None,
        town: Town | Sequence[Town] | None = None,
        nursery: bool = False,
    ) -> dict[str, RosterSnapshot]:
        """Snapshots of several schools of one trust, keyed by school key.

        Schools share a town (or, given several towns, are split between them in order). About
        `cross_school_sibling_rate` of each school's households also have children at a nearby
        school of the trust in the same town: both snapshots then carry the household under
        their own MIS family id, with the same address line 1, postcode and priority-1 contact.
        """
        keys = list(school_keys)
        if len(set(keys)) != len(keys) or not keys:
            raise ValueError("school keys must be given and distinct")
        if not 0.0 <= cross_school_sibling_rate <= 0.5:
            raise ValueError("cross_school_sibling_rate must be between 0 and 0.5")
        if not re.fullmatch(r"\d{4}/\d{2}", academic_year):
            raise ValueError("academic_year looks like 2026/27")
        sizes: list[int] = _per_school(pupils_per_school, len(keys), "pupils_per_school")
        phase_list: list[str] = _per_school(phases, len(keys), "phases")
        for size in sizes:
            if not 1 <= size <= 10_000:
                raise ValueError("a snapshot holds 1 to 10,000 pupils")
        for phase in phase_list:
            if phase not in PHASE_YEARS:
                raise ValueError(f"phase must be one of {', '.join(PHASE_YEARS)}")
        if town is None:
            towns: list[Town] = [DEFAULT_TOWN]
        elif isinstance(town, Town):
            towns = [town]
        else:
            towns = list(town) or [DEFAULT_TOWN]
        start = int(academic_year[:4])

        with _gc_paused():
            return self._generate(
                keys,
                sizes,
                phase_list,
                towns,
                start,
                academic_year,
                nursery,
                teacher_emails or {},
                support_emails or {},
                cross_school_sibling_rate,
            )

    def _generate(
        self,
        keys: list[str],
        sizes: list[int],
        phase_list: list[str],
        towns: list[Town],
        start: int,
        academic_year: str,
        nursery: bool,
        teachers: Mapping[str, Sequence[str]],
        support: Mapping[str, Sequence[str]],
        cross_school_sibling_rate: float,
    ) -> dict[str, RosterSnapshot]:
        schools = [
            self._plan_school(
                key,
                sizes[i],
                phase_list[i],
                towns[i * len(towns) // len(keys)],
                start,
                nursery,
                teachers.get(key, ()),
                support.get(key, ()),
            )
            for i, key in enumerate(keys)
        ]
        self._share_families(schools, sizes, cross_school_sibling_rate, start)
        for index, school in enumerate(schools):
            while any(school.pools):
                family = self._family(index)
                children = self._take_children(school, self._household_size(), start)
                school.households.append((family, children))
        for index, school in enumerate(schools):
            self._place_homes(school, [f for f, _ in school.households if f.home_school == index])
        return {school.key: self._snapshot(school, academic_year, start) for school in schools}

    # --- Planning -----------------------------------------------------------------------------

    def _plan_school(
        self,
        key: str,
        pupils: int,
        phase: str,
        town: Town,
        start: int,
        nursery: bool,
        teacher_emails: Sequence[str],
        support_emails: Sequence[str],
    ) -> _School:
        rng = self.rng
        years = list(PHASE_YEARS[phase])
        if nursery and years[0] is YearGroup.RECEPTION:
            years = [YearGroup.N1, YearGroup.N2, *years]
        weights = [
            NURSERY_WEIGHTS.get(y, 1.0) * (1 + rng.uniform(-YEAR_SIZE_JITTER, YEAR_SIZE_JITTER))
            for y in years
        ]
        counts = _apportion(pupils, weights)
        style = self._class_style(phase)
        classes: list[_Class] = []
        pools: list[list[int]] = []
        theme = list(CLASS_THEMES.get(style, ()))
        rng.shuffle(theme)
        for year, count in zip(years, counts, strict=True):
            kind = (
                "nursery"
                if year in NURSERY_WEIGHTS
                else ("secondary" if YEAR_OFFSET[year] >= 7 else "primary")
            )
            n_classes = max(1, round(count / CLASS_TARGET[kind])) if count else 0
            while n_classes and count / n_classes > CLASS_CAP[kind]:
                n_classes += 1
            suffixes = self._class_suffixes(style, n_classes)
            themed = len(theme) >= n_classes
            pool: list[int] = []
            for k in range(n_classes):
                seats = count // n_classes + (1 if k < count % n_classes else 0)
                label = "R" if year is YearGroup.RECEPTION else year.value
                if year in NURSERY_WEIGHTS:
                    base = "Nursery" if year is YearGroup.N2 else "Pre-school"
                    name = base if n_classes == 1 else f"{base} {_letters(k)}"
                elif themed:
                    name = theme.pop()
                else:
                    name = f"{label}{suffixes[k]}"
                pool.extend([len(classes)] * seats)
                classes.append(_Class(f"{start}-{year.value}-{k + 1}", name, year, seats))
            rng.shuffle(pool)
            pools.append(pool)
        for i, cls in enumerate(classes):
            if teacher_emails:
                cls.teachers.append(teacher_emails[i % len(teacher_emails)])
        if classes:
            for j, email in enumerate(support_emails):
                target = classes[j % len(classes)]
                if len(target.support) < 10:
                    target.support.append(email)
        lat, lon = _offset(town.latitude, town.longitude, *_in_disc(rng, town.radius_km * 0.7))
        estab = self._establishment(town.la_code, phase)
        issuers = [(town.la_code, self._other_estab(rng)) for _ in range(8)]
        issuers += [(rng.choice(OTHER_LA_CODES), self._other_estab(rng)) for _ in range(4)]
        sigma = CATCHMENT_SIGMA_KM["secondary" if phase == "secondary" else "primary"]
        return _School(key, phase, town, lat, lon, estab, years, classes, pools, sigma, issuers)

    def _class_style(self, phase: str) -> str:
        r = self.rng.random()
        if phase in ("secondary", "all_through"):
            return "letters" if r < 0.6 else "initials"
        return (
            "letters" if r < 0.4 else "initials" if r < 0.65 else "trees" if r < 0.85 else "birds"
        )

    def _class_suffixes(self, style: str, n: int) -> list[str]:
        if style == "initials" and n <= 12:
            return sorted(self.rng.sample("BCDFGHJKLMNPRSTW", n))
        return [_letters(k) for k in range(n)]

    def _establishment(self, la: int, phase: str) -> int:
        low, high = (4000, 4999) if phase == "secondary" else (2000, 3999)
        while True:
            estab = self.rng.randint(low, high)
            if (la, estab) not in self._used_estabs:
                self._used_estabs.add((la, estab))
                return estab

    @staticmethod
    def _other_estab(rng: random.Random) -> int:
        return rng.randint(2000, 3999)

    def _household_size(self) -> int:
        return _weighted(self.rng, CHILDREN_PER_HOUSEHOLD)

    def _take_children(
        self, school: _School, k: int, start: int
    ) -> list[tuple[int, int, date | None]]:
        """k children of one family: (year index, class index, twin's birthday or None)."""
        pools = school.pools
        open_years = [y for y, pool in enumerate(pools) if pool]
        if not open_years:
            return []
        if k == 1 or len(open_years) == 1:
            chosen = [_pick(self.rng.random(), open_years)]
        else:
            chosen = self.rng.sample(open_years, min(k, len(open_years)))
        k = len(chosen)
        twins = k >= 2 and self.rng.random() < TWIN_RATE and len(pools[chosen[0]]) >= 2
        if twins:
            chosen[1] = chosen[0]
        shared = _birthday(self.rng, school.years[chosen[0]], start) if twins else None
        return [
            (year_index, pools[year_index].pop(), shared if n < 2 else None)
            for n, year_index in enumerate(chosen)
        ]

    def _share_families(
        self, schools: list[_School], sizes: list[int], rate: float, start: int
    ) -> None:
        """Families with children at two schools of the same town, nearest schools first."""
        if rate <= 0 or len(schools) < 2:
            return
        mean_children = sum(s * p for s, p in CHILDREN_PER_HOUSEHOLD)
        needed = [round(rate * size / mean_children) for size in sizes]
        have = [0] * len(schools)
        for i, school in enumerate(schools):
            neighbours = sorted(
                (
                    (_distance_km(school, other), j)
                    for j, other in enumerate(schools)
                    if j != i and other.town == school.town
                ),
            )
            while have[i] < needed[i]:
                open_ = [j for _, j in neighbours if have[j] < needed[j]][:3]
                if not open_:
                    break
                j = self.rng.choice(open_)
                family = self._family(i)
                here = self._take_children(school, self._household_size(), start)
                there = self._take_children(schools[j], self._household_size(), start)
                if not here or not there:
                    have[i] = needed[i]  # a school full already: stop sharing it
                    if here:
                        school.households.append((family, here))
                    elif there:
                        family.home_school = j
                        schools[j].households.append((family, there))
                    continue
                school.households.append((family, here))
                schools[j].households.append((family, there))
                have[i] += 1
                have[j] += 1

    # --- Families -----------------------------------------------------------------------------

    def _family(self, home_school: int) -> _Family:
        rng = self.rng
        origin = _origin(rng.random())
        looked_after = rng.random() < LOOKED_AFTER_FAMILY_RATE
        language = None
        if rng.random() < origin.eal_rate:
            language = _weighted(rng, origin.languages)
        fsm = not looked_after and rng.random() < FSM_RATE
        premium = fsm or looked_after or rng.random() < PUPIL_PREMIUM_EXTRA_RATE
        surname = _pick(rng.random(), origin.surnames)
        contacts: list[_Contact] = []
        if looked_after:
            carers_origin = _origin(rng.random())
            carers_surname = _pick(rng.random(), carers_origin.surnames)
            relations = FOSTER_CARERS[: 2 if rng.random() < 0.5 else 1]
            for priority, relation in enumerate(relations, 1):
                contacts.append(
                    self._contact(carers_origin, carers_surname, relation, priority, None)
                )
        else:
            first = _weighted(rng, FIRST_CONTACTS)
            contacts.append(self._contact(origin, surname, first, 1, language))
            if rng.random() < SECOND_CONTACT_RATE:
                second = _weighted(rng, SECOND_CONTACTS[first[1]])
                contacts.append(self._contact(origin, surname, second, 2, language))
        return _Family(origin, surname, language, fsm, premium, looked_after, contacts, home_school)

    def _contact(
        self,
        origin: _Origin,
        family_surname: str,
        relation: _Relation,
        priority: int,
        language: str | None,
    ) -> _Contact:
        rng = self.rng
        relationship, female, pr_rate, surname_rate = relation
        first = _pick(rng.random(), origin.women if female else origin.men)
        if female and origin.mothers_surnames and rng.random() < 0.6:
            last = _pick(rng.random(), origin.mothers_surnames)
        else:
            r = rng.random()
            last = family_surname if r < surname_rate else _pick(rng.random(), origin.surnames)
            last = _gendered(origin, last, female, adult=True)
        mobile = None if rng.random() < NO_MOBILE_RATE else _mobile(rng)
        email = None
        if rng.random() < EMAIL_RATE:
            number = 1 + int(rng.random() * 99) if rng.random() < 0.6 else ""
            domain = _pick(rng.random(), EMAIL_DOMAINS)
            email = f"{_ascii(first)}.{_ascii(last)}{number}@{domain}"
        interpreter = language is not None and rng.random() < INTERPRETER_RATE
        preferred = (
            language
            if interpreter or (language and rng.random() < PREFERRED_LANGUAGE_RATE)
            else None
        )
        return _Contact(
            name=f"{first} {last}",
            relationship=relationship,
            priority=priority,
            parental_responsibility=rng.random() < pr_rate,
            mobile=mobile,
            email=email,
            preferred_language=preferred,
            interpreter_needed=interpreter,
            sms_consent=mobile is not None and rng.random() < SMS_CONSENT_RATE,
        )

    # --- Homes --------------------------------------------------------------------------------

    def _place_homes(self, school: _School, families: list[_Family]) -> None:
        """Homes in postcode units of ~15 around the school; a unit's homes are metres apart."""
        rng = self.rng
        town = school.town
        state = self._towns.setdefault(town, _TownState())
        street: _Street | None = None
        i = 0
        while i < len(families):
            if street is None or street.units_left <= 0:
                lat, lon = _offset(
                    school.latitude,
                    school.longitude,
                    rng.gauss(0, school.sigma_km),
                    rng.gauss(0, school.sigma_km),
                )
                street = _Street(
                    self._street_name(state),
                    lat,
                    lon,
                    rng.randint(1, 9),
                    rng.randint(*STREET_UNITS),
                )
            street.units_left -= 1
            unit_lat, unit_lon = _offset(
                street.latitude, street.longitude, rng.gauss(0, 0.12), rng.gauss(0, 0.12)
            )
            postcode = self._postcode(state, town, unit_lat, unit_lon)
            size = rng.randint(*POSTCODE_UNIT_HOMES)
            flats = rng.random() < FLATS_UNIT_RATE
            block = f"{rng.choice(BLOCKS)} {rng.choice(BLOCK_SUFFIXES)}"
            block_number = street.next_number
            locality = _locality(town, postcode)
            flat = 0
            for family in families[i : i + size]:
                if flats:
                    flat += rng.randint(1, 3)
                    family.line1 = f"Flat {flat}, {block}"
                    family.line2 = f"{block_number} {street.name}"
                else:
                    family.line1 = f"{street.next_number} {street.name}"
                    family.line2 = locality if rng.random() < 0.5 else None
                    street.next_number += 2 * rng.randint(1, 2)
                family.postcode = postcode
                family.latitude, family.longitude = (
                    round(v, 5)
                    for v in _offset(unit_lat, unit_lon, rng.gauss(0, 0.04), rng.gauss(0, 0.04))
                )
            if flats:
                street.next_number += 2
            i += size

    def _street_name(self, state: _TownState) -> str:
        if not state.streets:
            state.streets = [
                f"{s} {x}" for s in STREET_STEMS for x in dict.fromkeys(STREET_SUFFIXES)
            ]
            self.rng.shuffle(state.streets)
        if state.next_street < len(state.streets):
            state.next_street += 1
            return state.streets[state.next_street - 1]
        # Every name taken: a long road continues under a further stretch of numbers elsewhere.
        return self.rng.choice(state.streets)

    def _postcode(self, state: _TownState, town: Town, lat: float, lon: float) -> str:
        """District by compass sector from the town centre, sector digit by distance."""
        north, east = _km(town, lat, lon)
        bearing = math.degrees(math.atan2(east, north)) % 360
        district = int(bearing / 360 * len(town.districts)) % len(town.districts)
        ring = min(9, int(math.hypot(north, east) / (town.radius_km * 1.5) * 10))
        for d in range(len(town.districts)):
            outward = town.districts[(district + d) % len(town.districts)]
            for s in range(10):
                sector = f"{outward} {(ring + (s + 1) // 2 * (1 if s % 2 else -1)) % 10}"
                units = state.units.get(sector)
                if units is None:
                    units = [a + b for a in INWARD_LETTERS for b in INWARD_LETTERS]
                    self.rng.shuffle(units)
                    state.units[sector] = units
                if units:
                    return sector + units.pop()
        raise RuntimeError(f"no postcode units left in {town.name}")

    # --- Rows ---------------------------------------------------------------------------------

    def _snapshot(self, school: _School, academic_year: str, start: int) -> RosterSnapshot:
        rng = self.rng
        households = school.households
        rng.shuffle(households)
        block = self._block()
        household_ids = rng.sample(range(10_000), len(households))
        pupil_block = self._block()
        pupil_ids = rng.sample(range(10_000), sum(len(c) for _, c in households))
        contact_ids = _Ids(self)
        household_rows: list[tuple[int, HouseholdRow]] = []
        pupils: list[tuple[int, str, str, PupilRow]] = []
        n = 0
        for (family, children), hid in zip(households, household_ids, strict=True):
            ref = str(block * 10_000 + hid)
            household_rows.append(
                (
                    hid,
                    self._row(
                        HouseholdRow,
                        ref=ref,
                        mis_id=ref,
                        address_line1=family.line1,
                        address_line2=family.line2,
                        town=school.town.name,
                        postcode=family.postcode,
                        latitude=family.latitude,
                        longitude=family.longitude,
                        contacts=[
                            self._row(
                                ContactRow,
                                mis_id=contact_ids.next(),
                                name=c.name,
                                relationship=c.relationship,
                                priority=c.priority,
                                parental_responsibility=c.parental_responsibility,
                                mobile=c.mobile,
                                email=c.email,
                                preferred_language=c.preferred_language,
                                interpreter_needed=c.interpreter_needed,
                                sms_consent=c.sms_consent,
                            )
                            for c in family.contacts
                        ],
                    ),
                )
            )
            for child_number, (year_index, class_index, birthday) in enumerate(children):
                pupil = self._pupil(
                    school,
                    family,
                    child_number,
                    school.years[year_index],
                    birthday,
                    start,
                    mis_id=str(pupil_block * 10_000 + pupil_ids[n]),
                    household_ref=ref,
                    class_mis_id=school.classes[class_index].mis_id,
                )
                n += 1
                pupils.append((class_index, pupil.legal_last_name, pupil.legal_first_name, pupil))
        household_rows.sort(key=lambda pair: pair[0])
        pupils.sort(key=lambda item: item[:3])
        return self._row(
            RosterSnapshot,
            academic_year=academic_year,
            classes=[
                self._row(
                    ClassRow,
                    mis_id=c.mis_id,
                    name=c.name,
                    year_group=c.year,
                    teacher_emails=list(c.teachers),
                    support_staff_emails=list(c.support),
                )
                for c in school.classes
            ],
            households=[row for _, row in household_rows],
            pupils=[item[3] for item in pupils],
        )

    def _pupil(
        self,
        school: _School,
        family: _Family,
        child_number: int,
        year: YearGroup,
        birthday: date | None,
        start: int,
        *,
        mis_id: str,
        household_ref: str,
        class_mis_id: str,
    ) -> PupilRow:
        rng = self.rng
        origin = family.origin
        male = rng.random() < MALE_RATE
        names = origin.boys if male else origin.girls
        first = _pick(rng.random(), names)
        if first in family.first_names:
            first = _pick(rng.random(), names)
        family.first_names.add(first)
        surname = family.surname
        if child_number and rng.random() < HALF_SIBLING_SURNAME_RATE:
            surname = _pick(rng.random(), origin.surnames)
        last = _gendered(origin, surname, not male, adult=False)
        preferred_first = None
        if rng.random() < PREFERRED_FIRST_NAME_RATE:
            preferred_first = NICKNAMES.get(first) or _pick(rng.random(), names)
            if preferred_first == first:
                preferred_first = None
        preferred_last = None
        if rng.random() < PREFERRED_LAST_NAME_RATE:
            # Known by a parent's or step-parent's surname.
            parents = [c for c in family.contacts if c.relationship in _PARENTS]
            if parents and not origin.grammar:
                preferred_last = parents[0].name.rsplit(" ", 1)[-1]
                if preferred_last in (last, "Begum", "Khatun", "Kaur"):
                    preferred_last = None
        r = rng.random()
        send = (
            SendStatus.EHCP
            if r < EHCP_RATE
            else SendStatus.SEN_SUPPORT
            if r < EHCP_RATE + SEN_SUPPORT_RATE
            else SendStatus.NONE
        )
        eal = family.home_language is not None
        language = family.home_language
        if not eal and rng.random() < NON_EAL_LANGUAGE_RECORDED_RATE:
            language = "English"
        return self._row(
            PupilRow,
            mis_id=mis_id,
            upn=self._upn(school, family, year, start),
            legal_first_name=first,
            legal_last_name=last,
            preferred_first_name=preferred_first,
            preferred_last_name=preferred_last,
            date_of_birth=birthday or _birthday(rng, year, start),
            sex=Sex.MALE if male else Sex.FEMALE,
            class_mis_id=class_mis_id,
            household_ref=household_ref,
            free_school_meals=family.fsm,
            pupil_premium=family.pupil_premium,
            send=send,
            eal=eal,
            home_language=language,
            looked_after=family.looked_after,
        )

    def _upn(self, school: _School, family: _Family, year: YearGroup, start: int) -> str | None:
        """Check letter, LA, establishment, two-digit year of issue, serial (DfE UPN guidance)."""
        rng = self.rng
        r = rng.random()
        if r < UPN_MISSING_RATE:
            return None
        if r < UPN_MISSING_RATE + UPN_PLACEHOLDER_RATE:
            if family.looked_after:
                return "UN1"
            return "UN2" if family.home_language else "UN5"
        offset = YEAR_OFFSET[year]
        # Issued on first admission: Reception's autumn, or the nursery year for the nursery-born.
        issued = start - max(offset, 0)
        if school.phase != "secondary" and rng.random() < OWN_UPN_RATE:
            la, estab = school.town.la_code, school.estab
        else:
            la, estab = _pick(rng.random(), school.issuers)
        key = (la, estab, issued % 100)
        serial = self._upn_serials.get(key, 0) + 1
        while serial > 999:  # that school's year is full: another school issued it
            estab = self._other_estab(rng)
            key = (la, estab, issued % 100)
            serial = self._upn_serials.get(key, 0) + 1
        self._upn_serials[key] = serial
        prefix = f"{la:03d}{estab:04d}{issued % 100:02d}"
        weighted = _UPN_PREFIX_SUMS.get(prefix)
        if weighted is None:
            weighted = _UPN_PREFIX_SUMS[prefix] = _upn_weighted_sum(prefix)
        weighted += 11 * (serial // 100) + 12 * (serial // 10 % 10) + 13 * (serial % 10)
        return f"{_UPN_CHECK_LETTERS[weighted % 23]}{prefix}{serial:03d}"

    def _row(self, cls: type[_M], **values: Any) -> _M:
        """A snapshot row. Validated construction costs ~20 µs a row through SQLModel (and its
        `model_construct` as much), a third of all the work, so by default the row is assembled
        as `model_construct` would, from values built with their final types; the tests prove
        the result equal to its validated twin (`validate=True` builds it that way)."""
        if self.validate:
            return cls(**values)
        row = object.__new__(cls)
        object.__setattr__(row, "__dict__", values)
        object.__setattr__(row, "__pydantic_fields_set__", set(values))
        object.__setattr__(row, "__pydantic_extra__", None)
        object.__setattr__(row, "__pydantic_private__", None)
        return row

    def _block(self) -> int:
        """A fresh block of 10,000 MIS ids: ids are unique across schools and kinds of row."""
        if len(self._used_blocks) > 8_000:
            raise RuntimeError("this generator has used up its MIS id blocks")
        while True:
            block = self.rng.randrange(1_000, 10_000)
            if block not in self._used_blocks:
                self._used_blocks.add(block)
                return block


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hundreds of thousands of small acyclic objects: the cyclic collector would rescan them
    over and over (a third of the time) and can reclaim none of them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Ids:
    def __init__(self, generator: RosterGenerator) -> None:
        self._generator = generator
        self._block = 0
        self._next = 10_000

    def next(self) -> str:
        if self._next >= 10_000:
            self._block, self._next = self._generator._block(), 0
        self._next += 1
        return str(self._block * 10_000 + self._next - 1)


# --- Helpers ----------------------------------------------------------------------------------


def _per_school(value: _T | Sequence[_T], count: int, name: str) -> list[_T]:
    if isinstance(value, (int, str)):
        return [value] * count
    values: list[_T] = list(value)  # type: ignore[arg-type]
    if len(values) != count:
        raise ValueError(f"{name} needs one value per school")
    return values


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of total in proportion to weights."""
    whole = math.fsum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _weighted(rng: random.Random, options: Sequence[tuple[_T, float]]) -> _T:
    total = _TOTALS.get(id(options))
    if total is None:
        total = _TOTALS[id(options)] = math.fsum(w for _, w in options)
    r, acc = rng.random() * total, 0.0
    for value, weight in options:
        acc += weight
        if r < acc:
            return value
    return options[-1][0]


_TOTALS: dict[int, float] = {}  # by id: the weighted options are module constants


def _pick(r: float, options: Sequence[_T]) -> _T:
    """options[r * len]: rng.choice for a random() already drawn, several times faster."""
    return options[int(r * len(options))]


def _origin(r: float) -> _Origin:
    return ORIGINS[min(bisect.bisect(_ORIGIN_CUM, r * _ORIGIN_CUM[-1]), len(ORIGINS) - 1)]


_UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_PREFIX_SUMS: dict[str, int] = {}


def _upn_weighted_sum(digits: str) -> int:
    """`stdnum.gb.upn.calc_check_digit`'s weighted sum over the leading digits of the body: each
    digit d weighs (position + 2) x (23 + d), and 23 is 0 mod 23."""
    return sum(w * int(c) for w, c in enumerate(digits, 2))


def _upn_check_letter(body: str) -> str:
    return _UPN_CHECK_LETTERS[_upn_weighted_sum(body) % 23]


def _letters(k: int) -> str:
    return "ABCDEFGHJKLMNPRSTUVW"[k] if k < 20 else f"-{k + 1}"


def _birthday(rng: random.Random, year: YearGroup, start: int) -> date:
    """Born 1 Sep - 31 Aug, (5 + year offset) years before the academic year starts."""
    first, days = _cohort(start - 5 - YEAR_OFFSET[year])
    return date.fromordinal(first + int(rng.random() * days))


@functools.cache
def _cohort(birth_year: int) -> tuple[int, int]:
    """The ordinal of 1 Sep of birth_year and the days until 31 Aug after it, inclusive."""
    first = date(birth_year, 9, 1).toordinal()
    return first, date(birth_year + 1, 8, 31).toordinal() - first + 1


def _gendered(origin: _Origin, surname: str, female: bool, *, adult: bool) -> str:
    if not female:
        return surname
    if origin.grammar == "polish" and surname.endswith("ki"):
        return surname[:-1] + "a"
    if origin.grammar == "lithuanian":
        for ending, married, maiden in (
            ("ius", "ienė", "iūtė"),
            ("as", "ienė", "aitė"),
            ("us", "ienė", "utė"),
        ):
            if surname.endswith(ending):
                return surname[: -len(ending)] + (married if adult else maiden)
    return surname


_ASCII_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ı": "i", "ø": "o", "'": "", "-": ""})


@functools.cache
def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII_EXTRA))
    return "".join(c for c in folded if c.isascii() and c.isalnum()).lower()


def _mobile(rng: random.Random) -> str:
    """A UK mobile in one of the forms MIS exports hold (07…, +44 7…, 0044 7…)."""
    d = f"{_pick(rng.random(), MOBILE_PREFIXES)}{int(rng.random() * 1_000_000):06d}"
    r = rng.random()
    if r < 0.50:
        return f"0{d[:4]} {d[4:]}"
    if r < 0.72:
        return f"0{d}"
    if r < 0.84:
        return f"+44 {d[:4]} {d[4:]}"
    if r < 0.89:
        return f"+44{d}"
    if r < 0.96:
        return f"0{d[:4]} {d[4:7]} {d[7:]}"
    return f"0044 {d[:4]} {d[4:]}"


def _locality(town: Town, postcode: str) -> str | None:
    if not town.localities:
        return None
    outward = postcode.split(" ")[0]
    index = town.districts.index(outward)
    return town.localities[index] if index < len(town.localities) else None


def _in_disc(rng: random.Random, radius_km: float) -> tuple[float, float]:
    r = radius_km * math.sqrt(rng.random())
    theta = rng.random() * 2 * math.pi
    return r * math.cos(theta), r * math.sin(theta)


def _offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    return (
        lat + north_km / 111.2,
        lon + east_km / (111.32 * math.cos(math.radians(lat))),
    )


def _km(town: Town, lat: float, lon: float) -> tuple[float, float]:
    return (
        (lat - town.latitude) * 111.2,
        (lon - town.longitude) * 111.32 * math.cos(math.radians(town.latitude)),
    )


def _distance_km(a: _School, b: _School) -> float:
    north = (a.latitude - b.latitude) * 111.2
    east = (a.longitude - b.longitude) * 111.32 * math.cos(math.radians(a.latitude))
    return math.hypot(north, east)
