"""One seeded generator of realistic trusts, schools and staff, shared by the demo, the tests and
the benchmarks. The same seed gives the same world. It builds two trusts by default, so there is
always a foreign tenant to prove isolation against. Later areas extend it (pupils, households…).
"""

import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import Role
from app.core.security import hash_password
from app.staff.models import RoleGrant, StaffMember
from app.trusts.models import Participation, Phase, School, Trust

DEMO_PASSWORD = "threshold-demo-2026"

FIRST_NAMES = [
    "Amelia",
    "Olivia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Sophia",
    "Priya",
    "Aisha",
    "Zainab",
    "Chloe",
    "Ruby",
    "Evie",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Harry",
    "Oscar",
    "Jack",
    "Muhammad",
    "Jacob",
    "Kofi",
    "Tomasz",
    "Ibrahim",
    "Daniel",
    "Samuel",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Khan",
    "Begum",
    "Ahmed",
    "Nowak",
    "Okafor",
    "Mensah",
    "Clarke",
    "Hughes",
    "Edwards",
    "Lewis",
]
TRUST_AREAS = [
    ("Maritime Learning Trust", "maritime", "Strood", ["ME2", "ME3", "ME1", "ME4"], (51.39, 0.49)),
    (
        "Pennine Schools Partnership",
        "pennine",
        "Leeds",
        ["LS6", "LS7", "LS8", "LS11"],
        (53.80, -1.55),
    ),
    (
        "Severn Valley Academies",
        "severn",
        "Worcester",
        ["WR1", "WR2", "WR3", "WR5"],
        (52.19, -2.22),
    ),
]
SCHOOL_WORDS = ["Bligh", "Riverside", "St Mary's", "Hilltop", "Oakwood", "Temple Hill", "Elm Park"]
STREETS = [
    "Cliffe Road",
    "Bligh Way",
    "Gun Lane",
    "Frindsbury Road",
    "Station Road",
    "Church Street",
]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class Login:
    email: str
    password: str
    role: Role
    trust_id: UUID | None
    school_id: UUID | None
    staff_id: UUID
    full_name: str


@dataclass
class TrustWorld:
    trust: Trust
    schools: list[School]
    staff: list[StaffMember] = field(default_factory=list)


@dataclass
class World:
    platform_admin: StaffMember
    trusts: list[TrustWorld]
    grants: list[RoleGrant]
    logins: list[Login]

    def login(self, role: Role, trust: int = 0, school: int = 0) -> Login:
        """The first demo login holding `role` (at school index `school` for school roles)."""
        if role is Role.PLATFORM_ADMIN:
            return next(lg for lg in self.logins if lg.role is role)
        trust_world = self.trusts[trust]
        school_id = trust_world.schools[school].id
        for candidate in self.logins:
            if candidate.role is not role or candidate.trust_id != trust_world.trust.id:
                continue
            if candidate.school_id is None or candidate.school_id == school_id:
                return candidate
        raise LookupError(f"no {role} in trust {trust} school {school}")


@lru_cache(maxsize=4)
def password_hash_for(password: str) -> str:
    # Hashing is deliberately slow; one hash serves every demo account sharing the password.
    return hash_password(password)


class Generator:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.used_urns: set[str] = set()
        self.used_emails: set[str] = set()

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def world(self, trusts: int = 2, schools_per_trust: int = 3) -> World:
        grants: list[RoleGrant] = []
        logins: list[Login] = []
        platform = self._staff(None, "operator", "example.net")
        grants.append(
            RoleGrant(id=self.uuid(), trust_id=None, staff_id=platform.id, role=Role.PLATFORM_ADMIN)
        )
        logins.append(self._login(platform, Role.PLATFORM_ADMIN, None))
        worlds = [self._trust(i, schools_per_trust, grants, logins) for i in range(trusts)]
        return World(platform, worlds, grants, logins)

    def _trust(
        self, index: int, school_count: int, grants: list[RoleGrant], logins: list[Login]
    ) -> TrustWorld:
        name, slug, town, outwards, centre = TRUST_AREAS[index % len(TRUST_AREAS)]
        suffix = "" if index < len(TRUST_AREAS) else f" {index}"
        trust = Trust(id=self.uuid(), name=name + suffix)
        schools = [self._school(trust, town, outwards, centre, i) for i in range(school_count)]
        world = TrustWorld(trust, schools)
        domain = f"{slug}{index}.example.org"
        for role in (Role.TRUST_ADMIN, Role.TRUST_DSL):
            self._hire(world, domain, role, None, grants, logins)
        per_school = [
            Role.SCHOOL_ADMIN,
            Role.DSL,
            Role.OFFICE,
            Role.TEACHER,
            Role.TEACHER,
            Role.SUPPORT_STAFF,
        ]
        for school in schools:
            for role in per_school:
                self._hire(world, domain, role, school.id, grants, logins)
        return world

    def _school(
        self, trust: Trust, town: str, outwards: list[str], centre: tuple[float, float], index: int
    ) -> School:
        participation = [Participation.FULL, Participation.FULL, Participation.PARTIAL][index % 3]
        return School(
            id=self.uuid(),
            trust_id=trust.id,
            urn=self._urn(),
            name=f"{SCHOOL_WORDS[index % len(SCHOOL_WORDS)]} Primary School",
            phase=Phase.PRIMARY,
            address_line1=f"{self.rng.randint(1, 200)} {self.rng.choice(STREETS)}",
            town=town,
            postcode=self.postcode(self.rng.choice(outwards)),
            latitude=round(centre[0] + self.rng.uniform(-0.03, 0.03), 5),
            longitude=round(centre[1] + self.rng.uniform(-0.05, 0.05), 5),
            participation=participation,
            participation_reason=(
                "Nursery and Reception only this year while the new building opens"
                if participation is Participation.PARTIAL
                else None
            ),
            participating_year_groups=(
                ["N1", "N2", "R"] if participation is Participation.PARTIAL else None
            ),
        )

    def _hire(
        self,
        world: TrustWorld,
        domain: str,
        role: Role,
        school_id: UUID | None,
        grants: list[RoleGrant],
        logins: list[Login],
    ) -> None:
        member = self._staff(world.trust.id, None, domain)
        if role in (Role.TEACHER, Role.SUPPORT_STAFF, Role.SCHOOL_ADMIN):
            member.visit_training_completed_date = date(2026, 6, self.rng.randint(1, 30))
        world.staff.append(member)
        grants.append(
            RoleGrant(
                id=self.uuid(),
                trust_id=world.trust.id,
                staff_id=member.id,
                role=role,
                school_id=school_id,
            )
        )
        logins.append(self._login(member, role, school_id))

    def _staff(self, trust_id: UUID | None, local: str | None, domain: str) -> StaffMember:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        base = local or f"{first}.{last}".lower().replace("'", "")
        email, n = f"{base}@{domain}", 1
        while email in self.used_emails:
            n += 1
            email = f"{base}{n}@{domain}"
        self.used_emails.add(email)
        return StaffMember(
            id=self.uuid(),
            trust_id=trust_id,
            email=email,
            full_name="Platform Operator" if local else f"{first} {last}",
            password_hash=password_hash_for(DEMO_PASSWORD),
        )

    @staticmethod
    def _login(member: StaffMember, role: Role, school_id: UUID | None) -> Login:
        return Login(
            member.email,
            DEMO_PASSWORD,
            role,
            member.trust_id,
            school_id,
            member.id,
            member.full_name,
        )

    def _urn(self) -> str:
        while True:
            urn = str(self.rng.randint(100000, 149999))
            if urn not in self.used_urns:
                self.used_urns.add(urn)
                return urn

    def postcode(self, outward: str) -> str:
        letters = "".join(self.rng.choice(INWARD_LETTERS) for _ in range(2))
        return f"{outward} {self.rng.randint(0, 9)}{letters}"


async def insert_world(session: AsyncSession, world: World) -> None:
    """Adds the world in dependency order; the caller's transaction commits it."""
    session.add_all([tw.trust for tw in world.trusts])
    await session.flush()
    session.add_all([s for tw in world.trusts for s in tw.schools])
    session.add(world.platform_admin)
    session.add_all([m for tw in world.trusts for m in tw.staff])
    await session.flush()
    session.add_all(world.grants)
    await session.flush()
