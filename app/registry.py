"""Every registry the areas fill, named in one place.

Seven seams let an area act on another's events without the other importing it: background job
handlers (app/core/jobs.py), the principal loaders that turn a verified token into a caller
(app/core/auth.py), the hooks that move an area's rows when two households merge
(app/roster/households.py), the hooks that run when a programme reaches a status
(app/programmes/transitions.py), the hooks that run once a visit's outcome is recorded
(app/visits/outcomes.py), the scheduler's count of each class's capacity, which
programmes report (app/programmes/capacity.py), what a delivered message marks
(app/notifications/receipts.py), and the planners of messages that fall due with time
(app/notifications/planners.py). Nothing registers itself by being imported:
`wire()` fills each registry with exactly what is listed here. It is called by `create_app` and by `threshold worker`,
so the worker finds every job handler without importing the API, and tests/test_registry.py
asserts what each registry holds.

This module sits above every area (it imports them all); no area imports it.
"""

from app.core import auth, jobs
from app.core.principal import PrincipalKind
from app.integrations import service as integrations
from app.notifications import planners, receipts
from app.notifications import repository as notifications
from app.parents import invitations, reminders, sessions
from app.programmes import capacity, duties, transitions
from app.programmes import service as programmes
from app.programmes.models import ProgrammeStatus
from app.roster import households, imports
from app.safeguarding import alerts as safeguarding_alerts
from app.safeguarding import files as protection_files
from app.scheduling import capacity as scheduling_capacity
from app.scheduling import service as scheduling
from app.staff import signin
from app.surveys import issuing as surveys
from app.surveys import repository as survey_invitations
from app.visits import alerts as visit_alerts
from app.visits import messages as visit_messages
from app.visits import outcomes as visit_outcomes
from app.visits import repository as visits

JOB_HANDLERS: dict[str, jobs.Handler] = {
    imports.JOB_KIND: imports.run_import,
    scheduling.JOB_KIND: scheduling.run_schedule,
}

PRINCIPAL_LOADERS: dict[PrincipalKind, auth.PrincipalLoader] = {
    PrincipalKind.STAFF: signin.load_staff_principal,
    PrincipalKind.PARENT: sessions.load_parent_principal,
    PrincipalKind.INTEGRATION: integrations.load_integration_principal,
}

# Run in this order inside the merge's transaction. Each moves only its own area's rows.
MERGE_HOOKS: tuple[households.MergeHook, ...] = (
    programmes.follow_household_merge,
    invitations.follow_household_merge,
    visits.follow_merge,
    notifications.follow_household_merge,
    survey_invitations.follow_household_merge,
)

TRANSITION_HOOKS: dict[ProgrammeStatus, tuple[transitions.TransitionHook, ...]] = {
    ProgrammeStatus.SCHEDULING: (scheduling.refuse_reopening_mid_run,),
    ProgrammeStatus.PUBLISHED: (
        scheduling.publish_schedule,
        duties.refuse_publishing_without_on_call,
        visit_messages.confirm_on_publishing,
    ),
}

# A visit's outcome recorded: a family's survey, and a teacher's once it was their last visit.
OUTCOME_HOOKS: tuple[visit_outcomes.OutcomeHook, ...] = (surveys.on_visit_recorded,)

# A message delivered (Notify's receipt): the areas whose rows record it.
DELIVERY_HOOKS: tuple[receipts.DeliveryHook, ...] = (invitations.mark_delivered,)
# Messages that fall due with time; the message worker runs each about once a minute.
PLANNERS: tuple[planners.Planner, ...] = (
    reminders.plan_answer_reminders,
    visit_messages.plan_reminders,
    visit_alerts.plan_overdue_alerts,
    safeguarding_alerts.plan_escalations,
    protection_files.plan_overdue_transfers,
    surveys.plan_surveys,
)

# Programmes tell a school its classes' capacity; the scheduler counts it on its own instance.
CAPACITY_COUNTER: capacity.CapacityCounter = scheduling_capacity.count_for_programme


def wire() -> None:
    """Fill every registry. Safe to call again (each app the tests create calls it)."""
    for kind, run in JOB_HANDLERS.items():
        jobs.register_handler(kind, run)
    for principal_kind, loader in PRINCIPAL_LOADERS.items():
        auth.register_principal_loader(principal_kind, loader)
    for hook in MERGE_HOOKS:
        households.register_merge_hook(hook)
    for status, hooks in TRANSITION_HOOKS.items():
        for transition_hook in hooks:
            transitions.register_transition_hook(status, transition_hook)
    for outcome_hook in OUTCOME_HOOKS:
        visit_outcomes.register_outcome_hook(outcome_hook)
    capacity.register_capacity_counter(CAPACITY_COUNTER)
    for delivery_hook in DELIVERY_HOOKS:
        receipts.register_delivery_hook(delivery_hook)
    for planner in PLANNERS:
        planners.register_planner(planner)
