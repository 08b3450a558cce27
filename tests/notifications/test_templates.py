"""A trust's wording: saved with its placeholders checked, read back with the defaults where it
has none, previewed with sample values, and chosen for each family in its language."""

from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.audit import AuditEntry
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.notifications import outbox
from app.notifications.models import (
    Message,
    MessageChannel,
    MessageKind,
    MessageTemplate,
    RecipientType,
)
from app.notifications.rendering import render_message
from app.notifications.wording import (
    DEFAULTS,
    PLACEHOLDERS,
    REQUIRED,
    SAMPLES,
    SMS_MAX_CHARACTERS,
    language_code,
    missing_required,
    render,
    sms_length,
    unknown_placeholders,
)
from app.synthetic.generator import World
from tests.conftest import all_rows, assert_problem, bearer
from tests.parents.helpers import collecting_programme, household_of

WELSH = (
    "((school_name)): dewiswch yr amseroedd sy'n gyfleus i chi erbyn ((closes_on)): ((link)) "
    "(eich cod yw ((code)))."
)


def _url(world: World, kind: str = "invitation", channel: str = "sms", language: str = "cy") -> str:
    trust_id = world.trusts[0].trust.id
    return f"/api/v1/trusts/{trust_id}/message-templates/{kind}/{channel}/{language}"


async def _admin(world: World, trust: int = 0) -> dict[str, str]:
    return await bearer(world.login(Role.TRUST_ADMIN, trust=trust))


async def _templates() -> list[MessageTemplate]:
    async with db.open_session(system_scope("test: read templates")) as session:
        return list((await session.scalars(select(MessageTemplate))).all())


async def test_a_trust_saves_reads_lists_and_returns_to_the_default(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    saved = await client.put(_url(world), json={"body": WELSH}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["source"] == "trust"
    assert saved.json()["own"] is True
    assert saved.json()["sms"]["fragments"] >= 1
    read = await client.get(_url(world), headers=admin)
    assert read.json()["body"] == WELSH
    assert read.headers["etag"] == saved.headers["etag"]

    listed = await client.get(
        f"/api/v1/trusts/{world.trusts[0].trust.id}/message-templates",
        params={"kind": "invitation"},
        headers=admin,
    )
    assert listed.status_code == 200, listed.text
    rows = {(t["channel"], t["language"]): t for t in listed.json()}
    # Its own Welsh text; English defaults for every channel it has not written in English.
    assert set(rows) == {("sms", "cy"), ("sms", "en"), ("email", "en"), ("letter", "en")}
    assert rows[("sms", "cy")]["source"] == "trust"
    assert rows[("sms", "en")]["source"] == "default"
    assert rows[("sms", "en")]["body"] == DEFAULTS[MessageKind.INVITATION].body
    assert rows[("sms", "en")]["subject"] is None  # a text has no subject line
    assert rows[("email", "en")]["subject"] == DEFAULTS[MessageKind.INVITATION].subject

    removed = await client.delete(_url(world), headers=admin | {"If-Match": saved.headers["etag"]})
    assert removed.status_code == 200, removed.text
    assert removed.json()["source"] == "default"
    assert removed.json()["language_used"] == "en"
    assert await _templates() == []
    again = await client.get(_url(world), headers=admin)
    assert again.json()["own"] is False
    assert again.headers["etag"] != saved.headers["etag"]


async def test_an_unknown_placeholder_is_refused_naming_it_where_it_is(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    refused = await client.put(
        _url(world, channel="email", language="en"),
        json={
            "subject": "Visit for ((child_name))",
            "body": "Dear ((parent_name)), choose by ((closes_on)): ((link)) ((code)) ((Code))",
        },
        headers=admin,
    )
    problem = assert_problem(refused, 422, "validation-error")
    named = {(e["pointer"], e["placeholder"]) for e in problem["errors"]}
    assert named == {("#/subject", "child_name"), ("#/body", "parent_name"), ("#/body", "Code")}
    assert "parent_name" in problem["detail"]
    assert problem["placeholders"] == list(PLACEHOLDERS[MessageKind.INVITATION])
    assert await _templates() == []


async def test_a_required_placeholder_missing_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    refused = await client.put(
        _url(world), json={"body": "((school_name)): choose your times soon."}, headers=admin
    )
    problem = assert_problem(refused, 422)
    assert {e["placeholder"] for e in problem["errors"]} == {"code", "link"}
    assert problem["required"] == ["code", "link"]
    confirmation = await client.put(
        _url(world, kind="visit_confirmation"),
        json={"body": "((school_name)) will visit at ((visit_time))."},
        headers=admin,
    )
    assert [e["placeholder"] for e in assert_problem(confirmation, 422)["errors"]] == ["visit_day"]


async def test_the_channel_decides_the_subject_and_a_text_its_length(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    body = "((visit_day)) ((visit_time))"
    no_subject = await client.put(
        _url(world, kind="visit_reminder", channel="email"), json={"body": body}, headers=admin
    )
    assert assert_problem(no_subject, 422)["errors"][0]["pointer"] == "#/subject"
    text_subject = await client.put(
        _url(world, kind="visit_reminder"), json={"subject": "Hi", "body": body}, headers=admin
    )
    assert assert_problem(text_subject, 422)["errors"][0]["pointer"] == "#/subject"
    # Short as written, too long once the visitors' names are in: the limit is on what is sent.
    long = body + " ((visitors))" * 16
    assert len(long) < SMS_MAX_CHARACTERS
    too_long = await client.put(
        _url(world, kind="visit_reminder"), json={"body": long}, headers=admin
    )
    assert "918" in assert_problem(too_long, 422)["detail"]
    letter = await client.put(
        _url(world, kind="visit_reminder", channel="letter"), json={"body": long}, headers=admin
    )
    assert letter.status_code == 200, letter.text
    unknown_field = await client.put(
        _url(world), json={"body": WELSH, "language": "cy"}, headers=admin
    )
    assert_problem(unknown_field, 422)
    staff_text = await client.put(
        _url(world, kind="itinerary_published"), json={"body": "Hi"}, headers=admin
    )
    assert_problem(staff_text, 404)
    not_a_code = await client.get(_url(world, language="Welsh"), headers=admin)
    assert_problem(not_a_code, 422)


async def test_concurrent_writers_are_told_apart_by_etag(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    before = await client.get(_url(world), headers=admin)
    saved = await client.put(
        _url(world), json={"body": WELSH}, headers=admin | {"If-Match": before.headers["etag"]}
    )
    assert saved.status_code == 200, saved.text
    # Read before the save: overwriting it would lose the save.
    stale = await client.put(
        _url(world),
        json={"body": WELSH + " Diolch."},
        headers=admin | {"If-Match": before.headers["etag"]},
    )
    assert_problem(stale, 412)
    assert_problem(await client.put(_url(world), json={"body": WELSH}, headers=admin), 428)
    changed = await client.put(
        _url(world),
        json={"body": WELSH + " Diolch."},
        headers=admin | {"If-Match": saved.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != saved.headers["etag"]
    stale_delete = await client.delete(
        _url(world), headers=admin | {"If-Match": saved.headers["etag"]}
    )
    assert_problem(stale_delete, 412)
    assert [t.body for t in await _templates()] == [WELSH + " Diolch."]


async def test_each_change_is_audited_without_its_words(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    saved = await client.put(_url(world), json={"body": WELSH}, headers=admin)
    await client.delete(_url(world), headers=admin | {"If-Match": saved.headers["etag"]})
    async with db.open_session(system_scope("test: read the audit")) as session:
        entries = (
            await session.scalars(
                select(AuditEntry)
                .where(col(AuditEntry.subject_type) == "message_template")
                .order_by(col(AuditEntry.at))
            )
        ).all()
    assert [e.action for e in entries] == ["message_template.saved", "message_template.removed"]
    saved_entry = entries[0]
    assert saved_entry.trust_id == world.trusts[0].trust.id
    assert saved_entry.actor_id == world.login(Role.TRUST_ADMIN).staff_id
    assert saved_entry.details == {
        "kind": "invitation",
        "channel": "sms",
        "language": "cy",
        "created": True,
    }
    assert "dewiswch" not in str(saved_entry.details)


async def test_who_may_read_and_change_the_wording(client: httpx.AsyncClient, world: World) -> None:
    other_trust = await _admin(world, trust=1)
    before = await all_rows()
    hidden = await client.put(_url(world), json={"body": WELSH}, headers=other_trust)
    assert_problem(hidden, 404)
    assert_problem(await client.get(_url(world), headers=other_trust), 404)
    assert await all_rows() == before
    teacher = await bearer(world.login(Role.TEACHER))
    assert_problem(await client.get(_url(world), headers=teacher), 403)
    assert_problem(await client.put(_url(world), json={"body": WELSH}, headers=teacher), 403)
    office = await bearer(world.login(Role.OFFICE))
    assert (await client.get(_url(world), headers=office)).status_code == 200
    assert (await client.post(_url(world) + "/preview", headers=office)).status_code == 200
    assert_problem(await client.put(_url(world), json={"body": WELSH}, headers=office), 403)
    school_admin = await bearer(world.login(Role.SCHOOL_ADMIN))
    refused = await client.delete(_url(world), headers=school_admin | {"If-Match": "*"})
    assert_problem(refused, 403)


async def test_a_preview_fills_every_placeholder_with_sample_values(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    default = await client.post(
        _url(world, kind="visit_confirmation", channel="email", language="pl") + "/preview",
        headers=admin,
    )
    assert default.status_code == 200, default.text
    shown = default.json()
    # No Polish wording: a Polish family would be sent the English default.
    assert (shown["language"], shown["language_used"], shown["source"]) == ("pl", "en", "default")
    assert SAMPLES["visitors"] in shown["body"]
    assert SAMPLES["visit_day"] in shown["body"]
    assert "((" not in shown["body"] + shown["subject"]
    assert shown["sms"] is None

    draft = await client.post(
        _url(world) + "/preview", json={"body": WELSH + " ŵyr"}, headers=admin
    )
    assert draft.status_code == 200, draft.text
    body = draft.json()["body"]
    assert body.startswith(SAMPLES["school_name"] + ": dewiswch")
    assert SAMPLES["code"] in body
    assert draft.json()["source"] is None
    # ŵ is not in the GSM alphabet: the whole text goes as Unicode, 67 characters a part.
    assert draft.json()["sms"] == {
        "characters": len(body),
        "fragments": -(-len(body) // 67),
        "unicode": True,
    }
    assert await _templates() == []
    wrong = await client.post(
        _url(world) + "/preview", json={"body": "((code)) ((link)) ((pupil))"}, headers=admin
    )
    assert assert_problem(wrong, 422)["errors"][0]["placeholder"] == "pupil"


def _message(trust_id: UUID, language: str, values: dict[str, str]) -> Message:
    return Message(
        trust_id=trust_id,
        school_id=uuid4(),
        kind=MessageKind.INVITATION,
        channel=MessageChannel.SMS,
        language=language,
        recipient_type=RecipientType.CONTACT,
        recipient_id=uuid4(),
        cause_kind="test",
        cause_id=uuid4(),
        values=outbox.sealed(values),
    )


async def _rendered(trust_id: UUID, language: str) -> tuple[str, str]:
    values = {**SAMPLES, "code": "ABCD-EFGH"}
    async with db.open_session(system_scope("test: render")) as session:
        wording, used = await render_message(session, _message(trust_id, language, values))
    assert wording.subject is None
    return wording.body, used


async def test_each_family_is_written_to_in_its_language_else_english(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await _admin(world)
    trust_id = world.trusts[0].trust.id
    assert (await client.put(_url(world), json={"body": WELSH}, headers=admin)).status_code == 200
    welsh, used = await _rendered(trust_id, "cy")
    assert used == "cy"
    assert welsh.startswith(SAMPLES["school_name"] + ": dewiswch")
    assert "ABCD-EFGH" in welsh  # the sealed code, opened to be sent
    polish, used = await _rendered(trust_id, "pl")
    assert used == "en"
    assert polish == render(DEFAULTS[MessageKind.INVITATION], {**SAMPLES, "code": "ABCD-EFGH"}).body
    # The trust's own English replaces the default, for English and Polish families alike.
    english = "((school_name)) here. Pick your times: ((link)) code ((code))"
    saved = await client.put(_url(world, language="en"), json={"body": english}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (await _rendered(trust_id, "pl"))[0].endswith("code ABCD-EFGH")
    assert (await _rendered(trust_id, "en"))[1] == "en"
    # Another trust's wording is its own.
    assert (await _rendered(world.trusts[1].trust.id, "cy"))[1] == "en"


async def test_an_issued_invitation_renders_in_the_familys_language(
    client: httpx.AsyncClient, world: World
) -> None:
    """End to end: the Browns' contact prefers Polish and is reached by letter."""
    admin = await _admin(world)
    polish = "((school_name)) zaprasza rodzinę ((family_name)). Kod: ((code)), ((link))"
    saved = await client.put(
        _url(world, channel="letter", language="pl"), json={"body": polish}, headers=admin
    )
    assert saved.status_code == 200, saved.text
    programme: dict[str, Any] = await collecting_programme(client, world)
    office = await bearer(world.login(Role.OFFICE))
    issued = await client.post(f"/api/v1/programmes/{programme['id']}/invitations", headers=office)
    assert issued.status_code == 200, issued.text
    browns = await household_of("P-4")
    async with db.open_session(system_scope("test: render the Browns' letter")) as session:
        message = (
            await session.scalars(select(Message).where(col(Message.household_id) == browns))
        ).one()
        wording, used = await render_message(session, message)
    assert used == "pl"
    code = outbox.opened(message.values)["code"]
    assert wording.body.startswith(message.values["school_name"] + " zaprasza rodzinę ")
    assert f"Kod: {code}, " in wording.body


def test_the_defaults_pass_their_own_checks_and_texts_stay_short() -> None:
    for kind, wording in DEFAULTS.items():
        assert unknown_placeholders(kind, wording.subject, wording.body) == []
        assert missing_required(kind, wording.body) == []
        assert set(REQUIRED[kind]) <= set(PLACEHOLDERS[kind])
        assert set(PLACEHOLDERS[kind]) <= set(SAMPLES)
        text = render(wording, SAMPLES).body
        assert "((" not in text
        # Three texts at most with realistic values: families read a text, not a letter.
        assert sms_length(text).fragments <= 3, (kind, len(text))


def test_lengths_are_counted_as_a_network_counts_them() -> None:
    assert sms_length("a" * 160).fragments == 1
    assert sms_length("a" * 161).fragments == 2
    assert sms_length("a" * 306).fragments == 2
    assert sms_length("€" * 80).characters == 160  # the extension table takes two
    assert sms_length("ŵ" * 70).fragments == 1
    assert sms_length("ŵ" * 71).fragments == 2
    assert sms_length("ł").unicode
    # Notify straightens a pasted apostrophe and dash rather than send the text as Unicode.
    assert sms_length("St Mary\u2019s \u2013 Year R").unicode is False


def test_mis_language_names_and_codes_become_template_codes() -> None:
    assert language_code("Welsh") == "cy"
    assert language_code("POL") == "pl"
    assert language_code("cym") == "cy"
    assert language_code("pl") == "pl"
    assert language_code("Cantonese") == "yue"
