from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.core.auth import require
from app.core.concurrency import IfMatch, set_etag
from app.core.db import SessionDep
from app.core.errors import UnsupportedMediaType
from app.core.idempotency import IdempotentRoute, idempotency
from app.core.lean import json_response
from app.core.pagination import Page, PageDep
from app.core.permissions import Permission as P
from app.core.principal import STAFF_OR_CLIENT, Principal
from app.core.requestctx import client_address
from app.core.types import IsoDateTime, YearGroup
from app.roster import addresses, export, imports, service
from app.roster import households as household_changes
from app.roster.imports import RosterImportRead
from app.roster.models import ImportFormat, SendStatus
from app.roster.schemas import (
    AddressImportReport,
    AddressNeededRead,
    ClassRead,
    HouseholdAddress,
    HouseholdMergeRequest,
    HouseholdRead,
    HouseholdSplit,
    PupilRead,
)
from app.roster.service import PupilFilters
from app.roster.snapshot import RosterSnapshot
from app.roster.sync import SyncReport

schools = APIRouter(prefix="/schools", tags=["roster"], route_class=IdempotentRoute)
classes = APIRouter(prefix="/classes", tags=["roster"], route_class=IdempotentRoute)
households = APIRouter(prefix="/households", tags=["roster"], route_class=IdempotentRoute)
pupils = APIRouter(prefix="/pupils", tags=["roster"], route_class=IdempotentRoute)

Writer = Annotated[Principal, require(P.ROSTER_WRITE, kinds=STAFF_OR_CLIENT)]
Reader = Annotated[Principal, require(P.ROSTER_READ, kinds=STAFF_OR_CLIENT)]
ContactsReader = Annotated[Principal, require(P.ROSTER_CONTACTS)]
AddressWriter = Annotated[Principal, require(P.ROSTER_CONTACTS, P.FAMILIES_CHASE)]


async def pupil_filters(  # async: no worker-thread hand-off (see pagination.page_params)
    year_group: Annotated[YearGroup | None, Query()] = None,
    on_roll: Annotated[bool | None, Query(description="Default: on-roll pupils only")] = True,
    updated_since: Annotated[
        IsoDateTime | None,
        Query(description="Changes since this instant, oldest first: a change feed."),
    ] = None,
    send: Annotated[SendStatus | None, Query()] = None,
    eal: Annotated[bool | None, Query()] = None,
    free_school_meals: Annotated[bool | None, Query()] = None,
    pupil_premium: Annotated[bool | None, Query()] = None,
    looked_after: Annotated[bool | None, Query()] = None,
) -> PupilFilters:
    return PupilFilters(
        year_group=year_group,
        on_roll=on_roll,
        updated_since=updated_since,
        send=send,
        eal=eal,
        free_school_meals=free_school_meals,
        pupil_premium=pupil_premium,
        looked_after=looked_after,
    )


Filters = Annotated[PupilFilters, Depends(pupil_filters)]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@schools.put(
    "/{school_id}/roster",
    summary="Make the school's roster equal to this snapshot (creates, updates, marks leavers)",
    response_model=SyncReport,
)
@idempotency(True, why="a retried snapshot answers the first report, not a report of no changes")
async def sync_roster(
    school_id: UUID,
    body: RosterSnapshot,
    session: SessionDep,
    who: Writer,
    dry_run: Annotated[bool, Query(description="Report the changes without making them")] = False,
    on_error: Annotated[
        Literal["reject", "skip"],
        Query(
            description="reject: any invalid row refuses the whole snapshot; skip: apply the rest"
        ),
    ] = "reject",
) -> SyncReport:
    """The snapshot is the whole school as the MIS sees it: classes, pupils, households and
    contacts, matched by MIS ids. Pupils missing from it are marked as having left (never
    deleted). Invalid rows are reported with a JSON pointer into the snapshot. Send an
    `Idempotency-Key` to retry safely. Bodies may be up to 32 MiB (unless set otherwise)."""
    return await service.sync_roster(
        session, who, school_id, body, dry_run=dry_run, skip_rejected=on_error == "skip"
    )


@schools.post(
    "/{school_id}/roster-imports",
    status_code=202,
    summary="Upload a OneRoster CSV bundle or a pupil-list CSV; a background job applies it",
)
async def start_roster_import(
    school_id: UUID,
    session: SessionDep,
    who: Writer,
    file: Annotated[UploadFile, File(description="A OneRoster zip, or a CSV")],
    format: Annotated[ImportFormat, Form()],
    dry_run: Annotated[bool, Form()] = False,
    on_error: Annotated[Literal["reject", "skip"], Form()] = "reject",
    academic_year: Annotated[str | None, Form(pattern=r"^\d{4}/\d{2}$")] = None,
    school_urn: Annotated[str | None, Form(pattern=r"^\d{6}$")] = None,
    mapping: Annotated[
        str | None,
        Form(
            max_length=imports.MAX_MAPPING_CHARS,
            description="pupil_csv: JSON mapping fields to column names",
        ),
    ] = None,
) -> RosterImportRead:
    """For schools without an API feed. The file is checked at once and stored; a background
    job then applies it through the same sync as `PUT …/roster` (same `dry_run` and `on_error`).
    Follow it at `GET …/roster-imports/{import_id}`. `school_urn` picks the school's org out
    of a OneRoster bundle; `academic_year` is a pupil CSV's year (default: the current one)."""
    options = imports.ImportOptions(
        dry_run=dry_run,
        skip_rejected=on_error == "skip",
        academic_year=academic_year,
        school_urn=school_urn,
        mapping=imports.parse_mapping(mapping),
    )
    return await imports.start(
        session,
        who,
        school_id,
        format=format,
        filename=file.filename or "upload",
        content=await file.read(),
        options=options,
    )


@schools.get(
    "/{school_id}/roster-imports/{import_id}",
    summary="An import's status, progress (rows done / total) and outcome",
)
async def get_roster_import(
    school_id: UUID, import_id: UUID, session: SessionDep, who: Writer
) -> RosterImportRead:
    return await imports.get(session, who, school_id, import_id)


@schools.get(
    "/{school_id}/pupils",
    summary="The school's pupils (JSON, or CSV with Accept: text/csv)",
    responses=CSV_RESPONSE,
    response_model=Page[PupilRead],
)
async def list_school_pupils(
    request: Request,
    school_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Reader,
    filters: Filters,
    class_id: Annotated[UUID | None, Query()] = None,
) -> Response:
    if class_id is not None:
        filters = filters.in_class(class_id)
    if export.wants_csv(request):
        return await export.school_pupils_csv(
            session, who, school_id, filters, client_address(request)
        )
    items, cursor = await service.list_school_pupils(session, who, school_id, filters, page)
    # A hot list: its items are already PupilRead-shaped, so they are serialized, not rebuilt.
    return json_response({"items": items, "next_cursor": cursor})


@schools.get("/{school_id}/classes", summary="The school's classes with their staff")
async def list_classes(
    school_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Reader,
    academic_year: Annotated[str | None, Query(pattern=r"^\d{4}/\d{2}$")] = None,
    active: Annotated[bool | None, Query(description="Default: current classes only")] = True,
) -> Page[ClassRead]:
    items, cursor = await service.list_classes(
        session, who, school_id, page, academic_year=academic_year, active=active
    )
    return Page(items=items, next_cursor=cursor)


@pupils.get("/{pupil_id}", summary="A pupil, with the fields the caller may see")
async def get_pupil(pupil_id: UUID, session: SessionDep, who: Reader) -> PupilRead:
    return await service.get_pupil(session, who, pupil_id)


@classes.get(
    "/{class_id}/pupils",
    summary="A class's pupils (JSON, or CSV with Accept: text/csv)",
    responses=CSV_RESPONSE,
    response_model=Page[PupilRead],
)
async def list_class_pupils(
    request: Request,
    class_id: UUID,
    session: SessionDep,
    page: PageDep,
    who: Reader,
    filters: Filters,
) -> Response:
    if export.wants_csv(request):
        return await export.class_pupils_csv(
            session, who, class_id, filters, client_address(request)
        )
    items, cursor = await service.list_class_pupils(session, who, class_id, filters, page)
    return json_response({"items": items, "next_cursor": cursor})


@households.post(
    "/{household_id}/split",
    status_code=201,
    summary="Move pupils into a household of their own (undo a wrong match)",
)
async def split_household(
    household_id: UUID, body: HouseholdSplit, session: SessionDep, who: Writer
) -> HouseholdRead:
    return await household_changes.split(session, who, household_id, body.pupil_ids)


@households.post(
    "/{household_id}/merge",
    summary="Fold another household into this one (siblings the feeds kept apart)",
)
async def merge_households(
    household_id: UUID, body: HouseholdMergeRequest, session: SessionDep, who: Writer
) -> HouseholdRead:
    return await household_changes.merge(session, who, household_id, body.household_id)


@households.get("/{household_id}", summary="A household: address, contacts, visible pupils")
async def get_household(
    household_id: UUID, session: SessionDep, response: Response, who: Reader
) -> HouseholdRead:
    household, etag = await addresses.read_household(session, who, household_id)
    response.headers["ETag"] = etag
    return household


@households.patch(
    "/{household_id}",
    summary="Give a household its home address (one a OneRoster feed left without)",
)
async def set_household_address(
    household_id: UUID,
    body: HouseholdAddress,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
    who: AddressWriter,
) -> HouseholdRead:
    household = await addresses.set_address(session, who, household_id, body, if_match)
    set_etag(response, household)
    return await service.get_household(session, who, household.id)


@schools.post(
    "/{school_id}/households/addresses",
    summary="Give the school's families their home addresses from a CSV keyed by family id",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
    responses={415: {"description": "The body is not sent as text/csv."}},
)
async def import_household_addresses(
    school_id: UUID, request: Request, session: SessionDep, who: AddressWriter
) -> AddressImportReport:
    """The office's list of addresses, one row per family: `family_id` (the school's MIS family
    id, as the data-quality list shows it), `address_line1`, `address_line2`, `town`,
    `postcode`, and optionally `latitude` and `longitude` (column names are matched ignoring
    case, spaces and punctuation; "Family ID" and "Address Line 1" are read too; other columns
    are ignored). All or nothing: any bad row (an unknown family id, a bad postcode, a blank
    required cell, a family given twice) refuses the whole file with a 422 listing each fault
    at `#/rows/<row, from 1 after the header>/<column>`, and nothing is written. Otherwise each
    family's household gets its address (and leaves the data-quality list); a row equal to the
    address held writes nothing. A later MIS sync that carries no address leaves it as it is."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaType(
            "Send the address list as the body, with Content-Type: text/csv."
        )
    return await addresses.import_addresses(session, who, school_id, await request.body())


@schools.get(
    "/{school_id}/data-quality/households",
    summary="Households needing a home address, with their children and MIS family id",
)
async def list_households_needing_address(
    school_id: UUID, session: SessionDep, page: PageDep, who: ContactsReader
) -> Page[AddressNeededRead]:
    items, cursor = await addresses.address_needed(session, who, school_id, page)
    return Page(items=items, next_cursor=cursor)


__all__ = ["Response", "classes", "households", "pupils", "schools"]
