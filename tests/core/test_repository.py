"""The one home of object-level permission checks: load through the scope (404), then require a
permission at the object's school (403), whatever the caller holds at other schools."""

import re
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlmodel import col, update

from app.core import db
from app.core.errors import Forbidden, NotFound
from app.core.permissions import Permission, Role
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.tenancy import system_scope
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.synthetic.generator import World
from app.trusts.repository import SchoolRepository, TrustRepository
from tests.parents.helpers import a_collecting_programme

P = Permission
APP = Path(__file__).resolve().parents[2] / "app"


def member(world: World, *grants: tuple[Role, int | None]) -> Principal:
    """A staff principal of trust 0 holding each (role, school index or None for the trust)."""
    schools = world.trusts[0].schools
    return Principal(
        PrincipalKind.STAFF,
        uuid4(),
        world.trusts[0].trust.id,
        tuple(Grant(role, None if i is None else schools[i].id) for role, i in grants),
    )


async def load(who: Principal, programme_id: UUID, *needs: Permission) -> UUID:
    async with db.open_session(who.scope) as session:
        found = await ProgrammeRepository(session, who).get_permitted(programme_id, *needs)
        return found.id


async def test_a_permission_held_at_another_school_does_not_count(world: World) -> None:
    programme_id = await a_collecting_programme(world)  # of school 0
    teacher_here_slt_there = member(world, (Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 2))
    assert await load(teacher_here_slt_there, programme_id, P.PROGRAMMES_READ) == programme_id
    with pytest.raises(Forbidden, match="programmes:manage"):
        await load(teacher_here_slt_there, programme_id, P.PROGRAMMES_MANAGE)
    slt_here_teacher_there = member(world, (Role.SCHOOL_ADMIN, 0), (Role.TEACHER, 2))
    assert await load(slt_here_teacher_there, programme_id, P.PROGRAMMES_MANAGE) == programme_id


async def test_a_trust_role_and_a_school_role_each_count_only_where_they_apply(
    world: World,
) -> None:
    programme_id = await a_collecting_programme(world)
    trust_dsl_slt_there = member(world, (Role.TRUST_DSL, None), (Role.SCHOOL_ADMIN, 2))
    assert await load(trust_dsl_slt_there, programme_id, P.EXEMPTION_REASONS) == programme_id
    with pytest.raises(Forbidden):
        await load(trust_dsl_slt_there, programme_id, P.PROGRAMMES_READ, P.FAMILIES_CHASE)
    trust_dsl_slt_here = member(world, (Role.TRUST_DSL, None), (Role.SCHOOL_ADMIN, 0))
    needs = (P.EXEMPTION_REASONS, P.FAMILIES_CHASE, P.PROGRAMMES_MANAGE)
    assert await load(trust_dsl_slt_here, programme_id, *needs) == programme_id


async def test_an_object_outside_the_scope_is_not_found_before_any_permission_is_asked(
    world: World,
) -> None:
    """404 whether or not the caller holds the permission somewhere, exactly as for an id that
    does not exist: a 403 would tell a stranger the object is there."""
    programme_id = await a_collecting_programme(world)
    slt_of_school_2 = member(world, (Role.SCHOOL_ADMIN, 2))
    for missing in (programme_id, uuid4()):
        with pytest.raises(NotFound) as refused:
            await load(slt_of_school_2, missing, P.PROGRAMMES_MANAGE)
        assert refused.value.detail == f"There is no programme {missing} that you can see."


async def test_schools_are_governed_by_their_own_permissions_and_the_trust_by_trust_roles(
    world: World,
) -> None:
    school_2 = world.trusts[0].schools[2].id
    teacher_here_slt_there = member(world, (Role.TEACHER, 0), (Role.SCHOOL_ADMIN, 2))
    async with db.open_session(teacher_here_slt_there.scope) as session:
        schools = SchoolRepository(session, teacher_here_slt_there)
        assert (await schools.get_permitted(school_2, P.ROSTER_WRITE)).id == school_2
        with pytest.raises(Forbidden):
            await schools.get_permitted(world.trusts[0].schools[0].id, P.ROSTER_WRITE)
        # A school role, wherever it is held, never carries a trust-level permission.
        trusts = TrustRepository(session, teacher_here_slt_there)
        with pytest.raises(Forbidden):
            await trusts.get_permitted(world.trusts[0].trust.id, P.STAFF_MANAGE)


async def test_a_parent_reaches_its_own_programme_only(world: World) -> None:
    """The parent's narrowing lives in the repository, as the household's does, so no portal
    function has to remember it: another programme of the same school is not found."""
    own = await a_collecting_programme(world)
    async with db.open_session(system_scope("test programme")) as session:
        await session.execute(
            update(VisitProgramme).where(col(VisitProgramme.id) == own).values(name="Own")
        )
    other = await a_collecting_programme(world)
    school_0 = world.trusts[0].schools[0].id
    parent = Principal(
        PrincipalKind.PARENT,
        uuid4(),
        world.trusts[0].trust.id,
        _extra_permissions=frozenset({P.PARENT_PORTAL}),
        schools=frozenset({school_0}),
        household_id=uuid4(),
        programme_id=own,
    )
    assert await load(parent, own, P.PARENT_PORTAL) == own
    with pytest.raises(NotFound):
        await load(parent, other, P.PARENT_PORTAL)


def test_services_check_object_permissions_only_through_the_repository() -> None:
    """`Principal.ensure` at a school is called only by core; a service that typed it by hand
    could check the wrong school, or check before loading (403 before 404)."""
    by_hand = re.compile(r"\.ensure\([^)]*,")
    found = [
        f"{path.relative_to(APP)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if path.parent.name != "core"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if by_hand.search(line)
    ]
    assert found == []
