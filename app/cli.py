"""`threshold`: serve, worker, db upgrade, create-admin, demo, demo-data, export-openapi,
fake-notify, safeguarding-review."""

import asyncio
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from app.core.london import LONDON
from app.core.settings import ConfigurationError, Settings, get_settings

cli = typer.Typer(
    help="Threshold: home-visit programmes for multi-academy trusts.", no_args_is_help=True
)
db_cli = typer.Typer(help="Database commands.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")

ROOT = Path(__file__).resolve().parent.parent


def upgrade_database() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, "head")


def require_database() -> None:
    """Refuse to go on, in one line, with a DATABASE_URL that is malformed or unreachable."""
    from app.core.db import ensure_reachable

    asyncio.run(ensure_reachable(get_settings()))


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration up to head."""
    require_database()
    upgrade_database()
    typer.echo("database at head")


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    upgrade: Annotated[bool, typer.Option(help="Run migrations first")] = False,
) -> None:
    """Serve the API with uvicorn (httptools + uvloop)."""
    import uvicorn

    require_database()
    if upgrade:
        upgrade_database()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(get_settings()),
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `serve` runs uvicorn. X-Forwarded-For is believed only from the proxies named in
    THRESHOLD_FORWARDED_ALLOW_IPS (none by default, where uvicorn alone would trust 127.0.0.1):
    the address it yields keys the per-address throttles, so anyone else must not choose it."""
    trusted = settings.forwarded_allow_ips
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "http": "httptools",
        "loop": "uvloop",
        "access_log": False,
        "log_config": None,
    }


@cli.command("worker")
def worker() -> None:
    """Run background jobs (imports, schedule runs, messages) until stopped; run as many as
    you like, on as many machines: each job is claimed by exactly one."""
    import signal

    require_database()

    from app.core.jobs import work_forever, worker_name
    from app.notifications.worker import send_forever
    from app.registry import wire

    wire()  # the job handlers, named in app/registry.py; the API is not imported

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # Jobs and messages side by side: a long schedule run does not hold up the texts.
        await asyncio.gather(work_forever(stop), send_forever(stop, worker_name()))

    asyncio.run(run())


@cli.command("fake-notify")
def fake_notify(
    port: int = 6011,
    host: str = "127.0.0.1",
    api_key: Annotated[
        str | None, typer.Option(help="The key clients must sign with; a new one if omitted")
    ] = None,
    callback_url: Annotated[
        str | None, typer.Option(help="Post a delivery receipt here after each send")
    ] = None,
    callback_token: Annotated[
        str | None, typer.Option(help="The bearer token the receipts carry")
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option(help="Answer 429 beyond this many requests a minute")
    ] = None,
) -> None:
    """Serve a local fake of GOV.UK Notify's API (development, tests, benchmarks; never
    exposed): set THRESHOLD_NOTIFY_BASE_URL to its address and THRESHOLD_NOTIFY_API_KEY to the
    key. Test controls under /_fake/ (faults, config, stats, notifications, reset)."""
    import uvicorn

    from app.notifications.fake_notify import FakeNotify, new_api_key

    fake = FakeNotify(
        api_key or new_api_key(),
        callback_url=callback_url,
        callback_token=callback_token,
        rate_limit_per_minute=rate_limit,
    )
    typer.echo(f"fake Notify at http://{host}:{port}")
    if api_key is None:
        typer.echo(f"THRESHOLD_NOTIFY_API_KEY={fake.api_key}")
    uvicorn.run(fake.app(), host=host, port=port, access_log=False, log_level="warning")


@cli.command("create-admin")
def create_admin(
    email: str,
    full_name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a platform operator account (platform_admin), who creates trusts."""
    # Every table model, so the staff rows' foreign keys resolve in a process that has not
    # loaded the app (without it: NoReferencedTableError on 'trust').
    import app.models  # noqa: F401
    from app.staff.admin import create_platform_admin
    from app.staff.exceptions import EmailTaken

    try:
        asyncio.run(create_platform_admin(email=email, full_name=full_name, password=password))
    except (EmailTaken, ValueError) as refused:
        typer.echo(f"threshold: {refused}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"platform admin {email.strip().lower()} created")


@cli.command("new-sealing-key")
def new_sealing_key() -> None:
    """Print a new key for THRESHOLD_SEALING_KEYS (put it first to rotate; keep the old after)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@cli.command("export-openapi")
def export_openapi(
    output: Annotated[Path, typer.Option(help="Where to write it")] = ROOT
    / "openapi"
    / "openapi.json",
) -> None:
    """Write the OpenAPI document clients integrate against."""
    from app.openapi import render_openapi

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


@cli.command("safeguarding-review")
def safeguarding_review(
    trust: Annotated[str | None, typer.Option(help="Only this trust (its id)")] = None,
    on: Annotated[str | None, typer.Option(help="Due by this day (YYYY-MM-DD; today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """List child protection files due for review, by trust. Deletes nothing: a file on legal
    hold is counted, not listed, and no file is ever deleted automatically."""
    from uuid import UUID

    from app.core.london import london_today
    from app.safeguarding.files import due_for_review

    day = date.fromisoformat(on) if on else london_today()
    found = asyncio.run(due_for_review(day, UUID(trust) if trust else None))
    typer.echo(review_listing(found, day, as_json))


def review_listing(found: list[Any], day: date, as_json: bool) -> str:
    """By trust: the files due (ids and review date only) and how many on hold were skipped."""
    trusts: dict[str, dict[str, Any]] = {}
    for due in found:
        entry = trusts.setdefault(
            str(due.trust_id), {"trust_id": str(due.trust_id), "due": [], "held": 0}
        )
        if due.on_hold:
            entry["held"] += 1
            continue
        entry["due"].append(
            {
                "school_id": str(due.school_id),
                "pupil_id": str(due.pupil_id),
                "review_date": due.review_date.isoformat(),
            }
        )
    if as_json:
        return json.dumps({"on": day.isoformat(), "trusts": list(trusts.values())}, indent=2)
    lines = [f"Child protection files due for review by {day.isoformat()}:"]
    for entry in trusts.values():
        lines.append(f"trust {entry['trust_id']}: {len(entry['due'])} due, {entry['held']} on hold")
        lines += [
            f"  pupil {f['pupil_id']} (school {f['school_id']}) review date {f['review_date']}"
            for f in entry["due"]
        ]
    return "\n".join(lines if trusts else [*lines, "none"])


@cli.command()
def demo(
    seed_only: Annotated[bool, typer.Option("--seed-only", help="Seed and exit")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the logins as one JSON object")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    seed: int = 1,
) -> None:
    """A fresh demo database (its own SQLite file under THRESHOLD_DATA_DIR) with two trusts,
    dated from today: visit days a few weeks ahead, parents' answers still coming in."""
    from app.synthetic.demo import refuse_real_database, seed_demo

    settings = get_settings()
    refuse_real_database(settings)
    database = settings.data_dir / "threshold.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    require_database()
    # Progress goes to stderr: stdout carries the logins (one JSON object with --json).
    typer.echo(f"demo: seeding {database}: two trusts, rosters, parents' answers", err=True)
    upgrade_database()
    summary = asyncio.run(seed_demo(seed))
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _print_logins(summary, f"http://{host}:{port}")
    if not seed_only:
        sys.stdout.flush()
        typer.echo(f"demo: serving at http://{host}:{port} (Ctrl+C to stop)", err=True)
        serve(host=host, port=port, workers=1, upgrade=False)


@cli.command("demo-data")
def demo_data(
    schools: Annotated[int, typer.Option(min=1, max=500, help="Schools in the trust")] = 3,
    pupils_per_school: Annotated[int, typer.Option(min=1, max=10_000)] = 650,
    seed: int = 1,
    out: Annotated[Path, typer.Option(help="Directory for <school_key>.json")] = Path("demo-data"),
    towns: Annotated[int, typer.Option(min=1, help="Towns the schools are split between")] = 1,
    academic_year: str = "2026/27",
) -> None:
    """Write synthetic MIS roster snapshots of one trust's schools, one JSON file per school."""
    import time

    from app.synthetic.roster import TOWNS, RosterGenerator

    keys = [f"school-{i + 1:03d}" for i in range(schools)]
    started = time.perf_counter()
    snapshots = RosterGenerator(seed).trust_snapshots(
        keys,
        pupils_per_school=pupils_per_school,
        academic_year=academic_year,
        town=TOWNS[: min(towns, len(TOWNS))],
    )
    out.mkdir(parents=True, exist_ok=True)
    for key, snapshot in snapshots.items():
        (out / f"{key}.json").write_text(snapshot.model_dump_json())
    pupils = sum(len(s.pupils) for s in snapshots.values())
    households = sum(len(s.households) for s in snapshots.values())
    classes = sum(len(s.classes) for s in snapshots.values())
    typer.echo(
        f"wrote {schools} snapshots ({pupils} pupils, {households} households, {classes} classes)"
        f" to {out} in {time.perf_counter() - started:.1f}s"
    )


def _print_logins(summary: dict[str, Any], url: str) -> None:
    typer.echo(f"Demo password for every login: {summary['password']}")
    for login in summary["logins"]:
        where = " / ".join(n for n in (login["trust_name"], login["school_name"]) if n)
        typer.echo(f"  {login['role']:<15} {login['email']:<45} {where or 'every trust'}")
    programmes = summary["programmes"]
    if programmes["count"]:
        first = programmes["items"][0]
        days = ", ".join(_day(d) for d in first["visit_days"])
        closes = datetime.fromisoformat(first["preferences_close_at"]).astimezone(LONDON)
        typer.echo(
            f"Programmes collecting answers: {programmes['count']}"
            f" ({programmes['answers']} households have answered so far)"
        )
        typer.echo(
            f"  visit days {days} ({first['academic_year']}); parents answer until"
            f" {closes:%a %d %b %H:%M} (UK time)"
        )
    typer.echo(f"Open {url}/docs and use Authorize with any login above.")


def _day(iso: str) -> str:
    return f"{date.fromisoformat(iso):%a %d %b %Y}"


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        cli()
    except ConfigurationError as refused:
        # A person can act on one line; a traceback would bury it.
        typer.echo(f"threshold: {refused}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
