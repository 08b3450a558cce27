"""The registries of app/registry.py: what each holds, that nothing else fills them, and that a
worker process (`threshold worker`) finds every job handler without importing the API."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from uuid import UUID, uuid4

import pytest
from sqlmodel import col, select

from app import registry
from app.core import auth, db, jobs
from app.core.jobs import Job, JobStatus
from app.core.tenancy import system_scope
from app.main import create_app
from app.notifications import planners, receipts
from app.programmes import capacity, transitions
from app.roster import households
from app.synthetic.generator import World
from app.visits import outcomes
from tests.roster.helpers import queued_import


def _name(function: object) -> str:
    return f"{function.__module__}.{function.__qualname__}"  # type: ignore[attr-defined]


# What each registry must hold, by the functions' names: a new handler, loader or hook is added
# here and in app/registry.py together.
EXPECTED = {
    "jobs": {
        "roster.import": "app.roster.imports.run_import",
        "scheduling.run": "app.scheduling.service.run_schedule",
    },
    "principal_loaders": {
        "integration": "app.integrations.service.load_integration_principal",
        "parent": "app.parents.sessions.load_parent_principal",
        "staff": "app.staff.signin.load_staff_principal",
    },
    "merge_hooks": [
        "app.programmes.service.follow_household_merge",
        "app.parents.invitations.follow_household_merge",
        "app.visits.repository.follow_merge",
        "app.notifications.repository.follow_household_merge",
        "app.surveys.repository.follow_household_merge",
    ],
    "transition_hooks": {
        "published": [
            "app.scheduling.service.publish_schedule",
            "app.programmes.duties.refuse_publishing_without_on_call",
            "app.visits.messages.confirm_on_publishing",
        ],
        "scheduling": ["app.scheduling.service.refuse_reopening_mid_run"],
    },
    "outcome_hooks": ["app.surveys.issuing.on_visit_recorded"],
    "capacity_counter": "app.scheduling.capacity.count_for_programme",
    "delivery_hooks": ["app.parents.invitations.mark_delivered"],
    "planners": [
        "app.parents.reminders.plan_answer_reminders",
        "app.visits.messages.plan_reminders",
        "app.visits.alerts.plan_overdue_alerts",
        "app.safeguarding.alerts.plan_escalations",
        "app.safeguarding.files.plan_overdue_transfers",
        "app.surveys.issuing.plan_surveys",
    ],
}

# The real `threshold worker`, reporting at exit the job handlers it held and which of the API's
# modules it had imported.
_WORKER = """
import atexit, json, sys
from app.cli import main
from app.core import jobs

def report():
    api = [m for m in sys.modules if m in ("app.main", "app.api") or m.endswith(".router")]
    handlers = {k: f"{f.__module__}.{f.__qualname__}" for k, f in jobs.handlers().items()}
    print("WORKER " + json.dumps({"api": sorted(api), "jobs": handlers}), flush=True)

atexit.register(report)
sys.argv = ["threshold", "worker"]
main()
"""


def test_the_registry_module_lists_every_entry() -> None:
    assert {kind: _name(run) for kind, run in registry.JOB_HANDLERS.items()} == EXPECTED["jobs"]
    loaders = {kind.value: _name(load) for kind, load in registry.PRINCIPAL_LOADERS.items()}
    assert loaders == EXPECTED["principal_loaders"]
    assert [_name(hook) for hook in registry.MERGE_HOOKS] == EXPECTED["merge_hooks"]
    transitions = {
        status.value: [_name(hook) for hook in hooks]
        for status, hooks in registry.TRANSITION_HOOKS.items()
    }
    assert transitions == EXPECTED["transition_hooks"]
    assert [_name(hook) for hook in registry.OUTCOME_HOOKS] == EXPECTED["outcome_hooks"]
    assert _name(registry.CAPACITY_COUNTER) == EXPECTED["capacity_counter"]
    assert [_name(hook) for hook in registry.DELIVERY_HOOKS] == EXPECTED["delivery_hooks"]
    assert [_name(planner) for planner in registry.PLANNERS] == EXPECTED["planners"]


def _live() -> dict[str, object]:
    """The registries as this process holds them, by name; job kinds the tests register for
    themselves (tests/core/test_jobs.py's `test.*`) left out."""
    return {
        "jobs": {
            kind: _name(run)
            for kind, run in jobs.handlers().items()
            if not kind.startswith("test.")
        },
        "principal_loaders": {k.value: _name(f) for k, f in auth.principal_loaders().items()},
        "merge_hooks": [_name(hook) for hook in households.merge_hooks()],
        "transition_hooks": {
            status.value: [_name(hook) for hook in hooks]
            for status, hooks in transitions.transition_hooks().items()
        },
        "outcome_hooks": [_name(hook) for hook in outcomes.outcome_hooks()],
        "capacity_counter": _name(capacity.capacity_counter()),
        "delivery_hooks": [_name(hook) for hook in receipts.delivery_hooks()],
        "planners": [_name(planner) for planner in planners.planners()],
    }


def test_an_app_holds_exactly_what_the_registry_lists_and_nothing_else() -> None:
    """Every area is imported here (the app is), and nothing registers itself on import: the
    registries hold what app/registry.py lists, no more, once an app is created."""
    create_app()
    assert _live() == EXPECTED


def test_wiring_again_changes_nothing_and_a_second_handler_is_refused() -> None:
    before = jobs.handlers()
    registry.wire()
    assert jobs.handlers() == before

    async def other(_: jobs.JobContext) -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match="already have a handler"):
        jobs.register_handler("roster.import", other)
    assert jobs.handlers() == before

    async def guess(*_: object) -> list[capacity.ClassCapacity]:
        return []

    with pytest.raises(ValueError, match="already has a counter"):
        capacity.register_capacity_counter(guess)
    assert capacity.capacity_counter() is registry.CAPACITY_COUNTER


async def _queue(world: World) -> dict[str, UUID]:
    """One job of each of the app's kinds, each with work its handler will refuse or fail on,
    and one of a kind nothing handles."""
    school = world.trusts[0].schools[0]
    async with db.open_session(system_scope("test worker jobs")) as session:
        queued = {}
        for kind, payload in (
            ("scheduling.run", {"run_id": str(uuid4())}),
            ("nobody.handles", {}),
        ):
            job = await jobs.enqueue(session, kind, payload, trust_id=school.trust_id)
            queued[kind] = job.id
        upload = await queued_import(session, school, b"not a zip")
        queued["roster.import"] = upload.job_id
    return queued


async def _tried(ids: list[UUID]) -> dict[UUID, Job]:
    async with db.open_session(system_scope("test worker jobs")) as session:
        found = await session.scalars(select(Job).where(col(Job.id).in_(ids)))
        return {job.id: job for job in found if job.attempts and job.status != JobStatus.RUNNING}


async def _worker_runs(ids: list[UUID]) -> tuple[dict[UUID, Job], str]:
    """Start `threshold worker`, wait until it has tried every job, then stop it as a
    deployment would (SIGTERM); the jobs as it left them, and what it printed."""
    # Our own interpreter and a fixed script; stopped and waited for below.
    worker = subprocess.Popen(  # noqa: S603, ASYNC220
        [sys.executable, "-c", _WORKER],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        tried: dict[UUID, Job] = {}
        while len(tried) < len(ids) and time.monotonic() < deadline and worker.poll() is None:
            await asyncio.sleep(0.5)
            tried = await _tried(ids)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    return tried, output


async def test_a_worker_process_finds_every_handler_without_importing_the_api(
    world: World,
) -> None:
    queued = await _queue(world)
    tried, output = await _worker_runs(list(queued.values()))
    assert set(tried) == set(queued.values()), output
    # Each of the app's kinds reached its handler, which refused or failed on the work given...
    import_job = tried[queued["roster.import"]]
    assert import_job.status == JobStatus.FAILED, output
    assert import_job.error
    assert "no handler" not in import_job.error
    schedule_job = tried[queued["scheduling.run"]]
    assert schedule_job.status == JobStatus.QUEUED  # a surprise: retried later
    assert schedule_job.error == "The job failed unexpectedly. It will be retried."
    # ...where a kind with no handler is failed for that reason alone.
    stray = tried[queued["nobody.handles"]]
    assert stray.status == JobStatus.FAILED
    assert stray.error == "no handler for jobs of kind nobody.handles"
    report = json.loads(output.split("WORKER ")[-1].splitlines()[0])
    assert report == {"api": [], "jobs": EXPECTED["jobs"]}, output
