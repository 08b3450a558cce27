"""Every router, mounted in one place. Routes are authenticated by default: a route with no
`require(...)` fails tests/test_route_matrix.py unless it is listed in PUBLIC_ROUTES below."""

from fastapi import APIRouter

from app.audit.router import router as audit_router
from app.integrations.router import router as integrations_router
from app.notifications.router import messages as message_log
from app.notifications.router import notify as notify_callbacks
from app.notifications.templates_router import router as message_templates
from app.parents.answers_router import programmes as answers_programmes
from app.parents.messages_router import programmes as office_messages
from app.parents.router import parent as parent_portal
from app.parents.router import staff_side as invitations_router
from app.programmes.router import programmes as programmes_router
from app.programmes.router import schools as programme_schools
from app.reports.router import reports
from app.roster.router import classes as roster_classes
from app.roster.router import households as roster_households
from app.roster.router import pupils as roster_pupils
from app.roster.router import schools as roster_schools
from app.safeguarding.files_router import pupils as protection_file_pupils
from app.safeguarding.files_router import schools as protection_file_schools
from app.safeguarding.files_router import transfers as protection_file_transfers
from app.safeguarding.router import concerns as safeguarding_concerns
from app.safeguarding.router import pupils as safeguarding_pupils
from app.safeguarding.router import schools as safeguarding_schools
from app.safeguarding.router import trusts as safeguarding_trusts
from app.scheduling.router import programmes as scheduling_programmes
from app.scheduling.router import runs as schedule_runs
from app.staff.router import auth, me, staff
from app.subject_access.router import pupils as subject_access_pupils
from app.subject_access.router import requests as subject_access_requests
from app.surveys.results_router import router as survey_results
from app.surveys.router import parent as family_surveys
from app.surveys.router import staff_side as my_surveys
from app.surveys.router import templates as survey_templates
from app.tokens.router import tokens, well_known
from app.trusts.router import schools, trusts
from app.visits.calendar_router import feeds as calendar_feeds
from app.visits.calendar_router import mine as my_calendar_feed
from app.visits.change_requests_router import family as family_visits
from app.visits.change_requests_router import office as change_requests_office
from app.visits.change_requests_router import requests as change_requests
from app.visits.notes_router import pupils as visit_notes_of_pupils
from app.visits.notes_router import visits as visit_notes
from app.visits.replans_router import programmes as replans_programmes
from app.visits.replans_router import proposals as replans
from app.visits.router import alerts_router as visit_alerts
from app.visits.router import programmes as visits_programmes
from app.visits.router import visits

API_PREFIX = "/api/v1"

api = APIRouter(prefix=API_PREFIX)
# Matching walks these in order, route by route, on every request: the busiest go first (the
# parents' portal, visits on the day, pupil lists). No two routers' paths overlap, so the order
# changes only the time a match takes (bench/api.py), never which route answers.
for router in (
    parent_portal,
    visits,
    roster_schools,
    tokens,
    auth,
    me,
    trusts,
    schools,
    staff,
    roster_classes,
    roster_households,
    roster_pupils,
    programme_schools,
    programmes_router,
    answers_programmes,
    invitations_router,
    office_messages,
    scheduling_programmes,
    schedule_runs,
    visits_programmes,
    visit_notes,
    visit_notes_of_pupils,
    family_visits,
    change_requests_office,
    change_requests,
    my_calendar_feed,
    calendar_feeds,
    visit_alerts,
    replans_programmes,
    replans,
    safeguarding_schools,
    safeguarding_concerns,
    safeguarding_pupils,
    safeguarding_trusts,
    protection_file_pupils,
    protection_file_schools,
    protection_file_transfers,
    subject_access_pupils,
    subject_access_requests,
    survey_templates,
    my_surveys,
    family_surveys,
    survey_results,
    reports,
    integrations_router,
    message_templates,
    audit_router,
    notify_callbacks,
    message_log,
):
    api.include_router(router)

# WARNING: these answer without a bearer token. Each must reveal nothing without its own secret.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", f"{API_PREFIX}/auth/token"),
        ("POST", f"{API_PREFIX}/auth/invitations/accept"),
        ("POST", f"{API_PREFIX}/parent/sessions"),
        # Notify's delivery receipts: its own bearer token, checked in constant time.
        ("POST", f"{API_PREFIX}/notify/delivery-receipts"),
        # A staff member's calendar feed: the address carries its own 256-bit secret.
        ("GET", f"{API_PREFIX}/calendar-feeds/{{token}}.ics"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    }
)

__all__ = ["API_PREFIX", "PUBLIC_ROUTES", "api", "well_known"]
