"""API throughput and tail latency of three hot endpoints, each beside a bare Starlette + asyncpg
app doing the same SQL and returning the same JSON (the framework's physical limit here).

    python bench/api.py                 # the three endpoints, service vs bare (about 2 minutes)
    python bench/api.py --servers       # then the service under each server option (+2 minutes)
    python bench/api.py --seconds 3     # shorter measuring windows

Needs PostgreSQL at 127.0.0.1 (user postgres, trust auth) and the `bench` extra
(`pip install -e '.[bench]'`); makes and drops its own database. The demo's synthetic world is
seeded into it (two trusts, a 650-pupil school, Reception programmes collecting answers), one
programme is scheduled by the real solver, and invitations are issued. Then `threshold serve`
and `bench/bare.py` run as separate processes on the same database; staff sign in with their
passwords and parents exchange their invitation codes over HTTP.

Each endpoint is driven over keep-alive connections on 127.0.0.1 by a small load generator in
this process: first closed loop (every connection sends its next request as soon as the last
is answered) for the maximum rate, then open loop at 70 % of that rate, with latency measured
from when each request was due (so queueing counts). The machine has two cores: the load
generator is pinned to the first and a one-worker server to the second (PostgreSQL floats).
The last line of output is one JSON object of the figures.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GENERATOR_CPU = 0
SERVER_CPU = 1
PARENTS = 40  # households whose parents answer at once (each its own token and row)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="each measuring window")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--load-share", type=float, default=0.7, help="open loop, of max rate")
    parser.add_argument("--servers", action="store_true", help="also compare server options")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


# -- the data ---------------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the load needs: ids from the seeded world, and the people who will sign in."""

    password: str
    school_id: str  # the 650-pupil school
    slt_email: str  # its school admin: reads pupils with every field
    planned_slt_email: str  # the school admin of the school whose programme is scheduled
    visit_ids: list[str]
    collecting_programme_id: str
    codes: dict[str, str]  # household id -> invitation code, in the collecting programme
    slots: list[dict[str, Any]]  # the collecting programme's: id, day, starts_at
    visit_days: list[str]


def server_env(database_url: str, keys: dict[str, str]) -> dict[str, str]:
    from app.notifications.fake_notify import new_api_key

    return os.environ | {
        "DATABASE_URL": database_url,
        "THRESHOLD_ENVIRONMENT": "production",
        "THRESHOLD_JWT_PRIVATE_KEYS": keys["jwt"],
        "THRESHOLD_SEALING_KEYS": keys["sealing"],
        # Production sends through Notify. This bench sends nothing (no message worker runs),
        # so the settings name a Notify nobody answers at.
        "THRESHOLD_MESSAGES_DELIVERY": "notify",
        "THRESHOLD_NOTIFY_API_KEY": new_api_key("threshold_bench"),
        "THRESHOLD_NOTIFY_BASE_URL": "http://127.0.0.1:9",
        "THRESHOLD_NOTIFY_SMS_TEMPLATE_ID": str(uuid.uuid4()),
        "THRESHOLD_NOTIFY_EMAIL_TEMPLATE_ID": str(uuid.uuid4()),
        "THRESHOLD_NOTIFY_CALLBACK_TOKEN": "bench-callback-token",
        "PYTHONPATH": str(ROOT),
    }


def new_keys() -> dict[str, str]:
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {"jwt": pem.decode(), "sealing": Fernet.generate_key().decode()}


async def seed(seed_number: int) -> dict[str, Any]:
    """The demo's world and programmes, through the same code the demo runs."""
    from app.cli import upgrade_database
    from app.core import db
    from app.synthetic.demo import seed_demo

    await asyncio.to_thread(upgrade_database)
    db.use_database(None)
    summary = await seed_demo(seed_number)
    await db.get_database().dispose()
    return summary


def login_of(summary: dict[str, Any], role: str, school_id: str) -> str:
    return str(
        next(
            lg["email"]
            for lg in summary["logins"]
            if lg["role"] == role and lg["school_id"] == school_id
        )
    )


def prepare(summary: dict[str, Any], base: str) -> Fixture:
    """Through the running service, as its users would: schedule the second school's programme
    (the solver runs in a worker, here in this process) and invite the first school's families."""
    import httpx

    first, second = summary["programmes"]["items"][:2]
    password = summary["password"]
    with httpx.Client(base_url=base, timeout=60) as client:
        slt = sign_in(client, login_of(summary, "school_admin", second["school_id"]), password)
        support = next(
            lg["staff_id"]
            for lg in summary["logins"]
            if lg["role"] == "support_staff" and lg["school_id"] == second["school_id"]
        )
        programme = f"/api/v1/programmes/{second['id']}"
        expect(client.put(f"{programme}/second-adults", json={"staff_ids": [support]}, headers=slt))
        moved = client.post(
            f"{programme}/transitions",
            json={"to": "scheduling"},
            headers=slt | {"If-Match": "*"},
        )
        expect(moved)
        expect(
            client.post(f"{programme}/schedule-runs", json={"time_limit_seconds": 5}, headers=slt)
        )
        run_worker()
        visits = expect(client.get(f"{programme}/visits?limit=200", headers=slt))["items"]
        office = sign_in(client, login_of(summary, "office", first["school_id"]), password)
        programme = f"/api/v1/programmes/{first['id']}"
        expect(client.post(f"{programme}/invitations", headers=office))
        homes = expect(client.get(f"{programme}/households?limit={PARENTS}", headers=office))[
            "items"
        ]
        codes = {}
        for home in homes[:PARENTS]:
            url = f"{programme}/households/{home['household_id']}/invitation"
            codes[home["household_id"]] = expect(client.get(url, headers=office))["code"]
        slots = expect(client.get(f"{programme}/slots?limit=200", headers=office))["items"]
    return Fixture(
        password=password,
        school_id=first["school_id"],
        slt_email=login_of(summary, "school_admin", first["school_id"]),
        planned_slt_email=login_of(summary, "school_admin", second["school_id"]),
        visit_ids=[v["id"] for v in visits],
        collecting_programme_id=first["id"],
        codes=codes,
        slots=slots,
        visit_days=first["visit_days"],
    )


def run_worker() -> None:
    from app.core import db
    from app.core.jobs import run_pending

    async def work() -> int:
        from app.registry import wire

        wire()
        db.use_database(None)
        try:
            return await run_pending()
        finally:
            await db.get_database().dispose()

    assert asyncio.run(work()) == 1, "the schedule run did not run"


def expect(response: Any) -> Any:
    if response.status_code >= 300:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


def sign_in(client: Any, email: str, password: str) -> dict[str, str]:
    form = {"grant_type": "password", "username": email, "password": password}
    token = expect(client.post("/api/v1/auth/token", data=form))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def parent_token(client: Any, code: str) -> str:
    return str(expect(client.post("/api/v1/parent/sessions", json={"code": code}))["access_token"])


# -- the servers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    """How a server process is started: `threshold serve` as shipped, or a server named."""

    name: str
    kind: str  # "serve" (the CLI's default), "uvicorn" or "granian"
    workers: int = 1
    loop: str = "uvloop"
    http: str = "httptools"

    def command(self, target: str, port: int) -> list[str]:
        python = sys.executable
        if self.kind == "serve":
            return [python, "-m", "app.cli", "serve", "--port", str(port)]
        if self.kind == "uvicorn":
            return [
                python, "-m", "uvicorn", target, "--factory", "--port", str(port),
                "--workers", str(self.workers), "--loop", self.loop, "--http", self.http,
                "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
        return [
            python, "-m", "granian", "--interface", "asgi", "--factory", target,
            "--port", str(port), "--workers", str(self.workers), "--loop", self.loop,
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip

    @property
    def cpus(self) -> str:
        # One worker gets the core the load generator leaves; more share both.
        return str(SERVER_CPU) if self.workers == 1 else f"{GENERATOR_CPU},{SERVER_CPU}"


DEFAULT = ServerSpec("threshold serve", "serve")
# The bare app runs on what `threshold serve` runs: uvicorn, uvloop, httptools, one worker.
BARE = ServerSpec("bare (uvicorn)", "uvicorn")
OPTIONS = [
    ServerSpec("uvicorn asyncio+h11, 1 worker", "uvicorn", 1, "asyncio", "h11"),
    ServerSpec("uvicorn uvloop+httptools, 1 worker", "uvicorn", 1),
    ServerSpec("uvicorn uvloop+httptools, 2 workers", "uvicorn", 2),
    ServerSpec("granian, 1 worker", "granian", 1),
    ServerSpec("granian, 2 workers", "granian", 2),
]
APP_TARGET, BARE_TARGET = "app.main:create_app", "bench.bare:create_app"


class Server:
    """A server process tree, pinned, with its peak resident memory sampled as it runs."""

    def __init__(self, spec: ServerSpec, target: str, port: int, env: dict[str, str]) -> None:
        import psutil

        self.spec, self.port = spec, port
        command = ["taskset", "-c", spec.cpus, *spec.command(target, port)]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.root = psutil.Process(self.process.pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        wait_for_port(port, self.process)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                self.peak_rss = max(self.peak_rss, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            self._stop.wait(0.05)

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for process in [self.root, *self.root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(spec: ServerSpec, target: str, env: dict[str, str]) -> Iterator[Server]:
    server = Server(spec, target, free_port(), env)
    try:
        yield server
    finally:
        server.stop()


# -- the load generator -----------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; reads Content-Length bodies."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.length = -1
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.length < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail(RuntimeError("a response without Content-Length"))
                return
            self.length = end + 4 + int(head[at + 17 : head.find(b"\r\n", at + 2)])
        if len(self.buffer) >= self.length:
            del self.buffer[: self.length]
            self.length = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(self.status)

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._fail(exc or ConnectionError("closed"))

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def connect(port: int, count: int) -> list[Connection]:
    loop = asyncio.get_running_loop()
    made = [await loop.create_connection(Connection, "127.0.0.1", port) for _ in range(count)]
    for transport, protocol in made:
        protocol.transport = transport
    return [protocol for _, protocol in made]


def close(connections: list[Connection]) -> None:
    for c in connections:
        if c.transport is not None:
            c.transport.close()


@dataclass
class Run:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


async def closed_loop(port: int, requests: list[bytes], connections: int, seconds: float) -> Run:
    """Each connection sends its next request as soon as the last is answered: the maximum."""
    pool = await connect(port, connections)
    run = Run()
    deadline = time.perf_counter() + seconds

    async def drive(connection: Connection, offset: int) -> None:
        i = offset
        while (started := time.perf_counter()) < deadline:
            status = await connection.send(requests[i % len(requests)])
            run.latencies.append(time.perf_counter() - started)
            run.requests += 1
            run.errors += status >= 300
            i += connections

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(drive(c, i) for i, c in enumerate(pool)))
    run.seconds, run.cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    close(pool)
    return run


async def open_loop(
    port: int, requests: list[bytes], connections: int, rate: float, seconds: float
) -> Run:
    """Requests fall due at a fixed rate whatever the answers do; latency counts from when each
    was due, so time spent waiting for a free connection counts too."""
    pool = await connect(port, connections)
    run = Run()
    due: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    total = max(1, int(rate * seconds))

    async def drive(connection: Connection) -> None:
        while True:
            i, at = await due.get()
            status = await connection.send(requests[i % len(requests)])
            run.latencies.append(time.perf_counter() - at)
            run.requests += 1
            run.errors += status >= 300
            due.task_done()

    workers = [asyncio.create_task(drive(c)) for c in pool]
    began, cpu = time.perf_counter(), time.process_time()
    issued = 0
    while issued < total:
        now = time.perf_counter()
        ready = min(total, int((now - began) * rate) + 1)
        for i in range(issued, ready):
            due.put_nowait((i, began + i / rate))
        issued = ready
        await asyncio.sleep(0.0005)
    await due.join()
    run.seconds, run.cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    for worker in workers:
        worker.cancel()
    close(pool)
    return run


# -- the endpoints ----------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    method: str
    paths: list[str]
    tokens: list[str]
    foreign: str  # an id the caller cannot see: both must answer 404
    bodies: list[Any] | None = None
    volatile: frozenset[str] = frozenset()  # keys that differ between any two answers

    def raw(self) -> list[bytes]:
        return [self._raw(i) for i in range(len(self.paths))]

    def _raw(self, i: int) -> bytes:
        lines = [f"{self.method} {self.paths[i]} HTTP/1.1", "Host: 127.0.0.1"]
        lines.append(f"Authorization: Bearer {self.tokens[i]}")
        body = b""
        if self.bodies is not None:
            body = json.dumps(self.bodies[i]).encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def endpoints(fixture: Fixture, base: str) -> list[Endpoint]:
    """The three routes, each request signed by a real sign-in or code exchange."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        slt = sign_in(client, fixture.slt_email, fixture.password)["Authorization"][7:]
        planner = sign_in(client, fixture.planned_slt_email, fixture.password)["Authorization"][7:]
        parents = {home: parent_token(client, code) for home, code in fixture.codes.items()}
    homes = sorted(parents)
    answer = f"/api/v1/parent/programmes/{fixture.collecting_programme_id}/households/{{}}/answer"
    return [
        Endpoint(
            "pupil list (50 rows)",
            "GET",
            [f"/api/v1/schools/{fixture.school_id}/pupils?limit=50"],
            [slt],
            f"/api/v1/schools/{uuid.uuid4()}/pupils?limit=50",
            # The service seals its cursors (core/sealing.py); the bare app does not.
            volatile=frozenset({"next_cursor"}),
        ),
        Endpoint(
            "one visit",
            "GET",
            [f"/api/v1/visits/{v}" for v in fixture.visit_ids],
            [planner] * len(fixture.visit_ids),
            f"/api/v1/visits/{uuid.uuid4()}",
        ),
        Endpoint(
            "parent PUT answer",
            "PUT",
            [answer.format(home) for home in homes],
            [parents[home] for home in homes],
            answer.format(uuid.uuid4()),
            [answer_body(fixture, i) for i in range(len(homes))],
            frozenset({"submitted_at", "version"}),
        ),
    ]


def answer_body(fixture: Fixture, i: int) -> dict[str, Any]:
    """Three ranked slots on the first days, the last day's morning unavailable; some families
    want an interpreter or leave a note."""
    last_day = fixture.visit_days[-1]
    choices = [s["id"] for s in fixture.slots if s["day"] != last_day]
    preferred = [choices[(i + 5 * k) % len(choices)] for k in range(3)]
    body: dict[str, Any] = {
        "preferred_slot_ids": list(dict.fromkeys(preferred)),
        "unavailable": [{"day": last_day, "part": "morning"}],
    }
    if i % 4 == 0:
        body["interpreter_language"] = "Polish"
    if i % 3 == 0:
        body["notes_for_visitors"] = "Please ring the bell twice; the dog is friendly."
    return body


def same_answers(endpoint: Endpoint, app_port: int, bare_port: int) -> None:
    """Both servers give the same status, headers that matter and JSON for every request, and
    the same refusals; the run stops otherwise."""
    import httpx

    with httpx.Client(timeout=30) as client:
        for i, path in enumerate(endpoint.paths[:5]):
            answers = [
                client.request(
                    endpoint.method,
                    f"http://127.0.0.1:{port}{path}",
                    headers={"Authorization": f"Bearer {endpoint.tokens[i]}"},
                    json=endpoint.bodies[i] if endpoint.bodies else None,
                )
                for port in (app_port, bare_port)
            ]
            mine, bare = (_comparable(a, endpoint.volatile) for a in answers)
            if mine != bare:
                raise RuntimeError(f"{endpoint.name}: the answers differ\n{mine}\n{bare}")
            if i == 0:
                refusals = [
                    client.request(
                        endpoint.method,
                        f"http://127.0.0.1:{port}{endpoint.foreign}",
                        headers={"Authorization": f"Bearer {endpoint.tokens[i]}"},
                        json=endpoint.bodies[i] if endpoint.bodies else None,
                    ).status_code
                    for port in (app_port, bare_port)
                ]
                if refusals != [404, 404]:
                    raise RuntimeError(f"{endpoint.name}: another id gave {refusals}")


def _comparable(response: Any, volatile: frozenset[str]) -> tuple[int, str | None, Any]:
    body = response.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in volatile}
    return response.status_code, response.headers.get("etag"), body


# -- measuring --------------------------------------------------------------------------------


def measure(server: "Server", endpoint: Endpoint, args: argparse.Namespace) -> dict[str, Any]:
    """The maximum rate (closed loop), then latency at `load_share` of it (open loop). Also the
    server's CPU time per request at the maximum: on a shared machine the steadier figure."""
    import uvloop

    requests, port = endpoint.raw(), server.port

    async def both() -> tuple[Run, Run, float]:
        await closed_loop(port, requests, args.connections, 1.0)  # warm-up: pools, caches
        cpu = server.cpu_seconds()
        peak = await closed_loop(port, requests, args.connections, args.seconds)
        cpu = server.cpu_seconds() - cpu
        rate = peak.rate * args.load_share
        steady = await open_loop(port, requests, args.connections, rate, args.seconds)
        return peak, steady, cpu

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        peak, steady, cpu = runner.run(both())
    return {
        "rps": round(peak.rate),
        "server_cpu_ms": round(cpu / max(1, peak.requests) * 1000, 3),
        "p99_ms_at_max": round(peak.percentile(0.99), 1),
        "p50_ms": round(steady.percentile(0.5), 2),
        "p99_ms": round(steady.percentile(0.99), 2),
        "rate_offered": round(steady.rate),
        "errors": peak.errors + steady.errors,
        "client_cpu": round(peak.cpu_seconds / peak.seconds, 2),
    }


def compare(fixture: Fixture, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """The service as `threshold serve` runs it beside the bare app, endpoint by endpoint."""
    figures: dict[str, Any] = {}
    with running(DEFAULT, APP_TARGET, env) as app, running(BARE, BARE_TARGET, env) as bare:
        for endpoint in endpoints(fixture, f"http://127.0.0.1:{app.port}"):
            same_answers(endpoint, app.port, bare.port)
            mine, theirs = measure(app, endpoint, args), measure(bare, endpoint, args)
            figures[endpoint.name] = {
                "app": mine,
                "bare": theirs,
                "ratio": round(mine["rps"] / theirs["rps"], 2) if theirs["rps"] else None,
                "cpu_ratio": round(theirs["server_cpu_ms"] / mine["server_cpu_ms"], 2),
            }
        figures["app_peak_rss_mb"] = round(app.peak_rss / 2**20, 1)
        figures["bare_peak_rss_mb"] = round(bare.peak_rss / 2**20, 1)
    return figures


def server_options(fixture: Fixture, env: dict[str, str], args: argparse.Namespace) -> Any:
    """The service under each server option: maximum rate and p99 at 70 % per endpoint."""
    found: dict[str, Any] = {}
    for spec in OPTIONS:
        with running(spec, APP_TARGET, env) as app:
            results = {
                e.name: measure(app, e, args)
                for e in endpoints(fixture, f"http://127.0.0.1:{app.port}")
            }
            found[spec.name] = {
                "rps": {name: r["rps"] for name, r in results.items()},
                "p99_ms": {name: r["p99_ms"] for name, r in results.items()},
                "errors": sum(r["errors"] for r in results.values()),
                "peak_rss_mb": round(app.peak_rss / 2**20, 1),
            }
    return found


def report(figures: dict[str, Any]) -> None:
    print(
        f"{'':22} {'rps':>6} {'bare':>6} {'ratio':>5}  {'cpu ms':>6} {'bare':>6} {'ratio':>5}"
        f"  {'p99 ms':>7} {'bare':>7}  (p99 at 70 % of each one's max)"
    )
    for name, f in figures.items():
        if isinstance(f, dict) and "ratio" in f:
            app, bare = f["app"], f["bare"]
            print(
                f"{name:22} {app['rps']:>6} {bare['rps']:>6} {f['ratio']:>5}  "
                f"{app['server_cpu_ms']:>6} {bare['server_cpu_ms']:>6} {f['cpu_ratio']:>5}  "
                f"{app['p99_ms']:>7} {bare['p99_ms']:>7}  errors {app['errors']}/{bare['errors']}"
            )
    print(
        f"peak RSS: service {figures['app_peak_rss_mb']} MB, bare {figures['bare_peak_rss_mb']} MB"
    )
    for name, option in figures.get("server_options", {}).items():
        rates = " ".join(f"{v:>6}" for v in option["rps"].values())
        tails = " ".join(f"{v:>6}" for v in option["p99_ms"].values())
        print(f"{name:38} rps {rates}  p99 {tails}  {option['peak_rss_mb']} MB")


def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    keys = new_keys()
    env = server_env(database_url, keys)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    started = time.perf_counter()
    summary = asyncio.run(seed(args.seed))
    with running(DEFAULT, APP_TARGET, env) as app:
        fixture = prepare(summary, f"http://127.0.0.1:{app.port}")
    setup_s = time.perf_counter() - started
    os.sched_setaffinity(0, {GENERATOR_CPU})
    figures: dict[str, Any] = compare(fixture, env, args)
    if args.servers:
        figures["server_options"] = server_options(fixture, env, args)
    figures["setup_s"] = round(setup_s, 1)
    figures["seconds_per_window"] = args.seconds
    figures["connections"] = args.connections
    return figures


async def admin(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    args = parse()
    # Stopped from outside: still stop the servers and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    name = f"threshold_bench_{uuid.uuid4().hex[:8]}"
    base = args.admin_url.rsplit("/", 1)[0]
    asyncio.run(admin(args.admin_url, f"CREATE DATABASE {name}"))
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ["THRESHOLD_DATA_DIR"] = data_dir
        try:
            figures = run(args, f"{base}/{name}")
        finally:
            asyncio.run(admin(args.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    report(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
