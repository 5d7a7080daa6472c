"""The simulated PBX as a real AMI server over TCP, and its control surface.

``SimulatedPbx`` owns the listening socket, the AMI sessions, virtual time and the current
*boot* (engine + call flow + traffic model). A PBX restart throws the boot away (calls and
counters are lost, AstDB survives as Asterisk's file does) and builds a new one after the
downtime; the scenario runner and the world outside the PBX (carrier outages, surges) carry
on across it.

Two ways to run time:

* ``realtime=True`` (default): a driver task maps virtual time to the event loop's clock
  times ``speed``;
* ``realtime=False``: nothing moves until a test calls ``await sim.advance(seconds)``,
  which makes runs exactly reproducible and fast.

Sessions are isolated from each other: a client that sends garbage gets errors, an overlong
line is refused, and a client that does not read is dropped once its pending output passes
``max_output_buffer`` (Asterisk drops such clients after its ``writetimeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ccops.core.clock import Clock, SystemClock
from ccops.sim.actions import ACTIONS, Caller, invalid
from ccops.sim.bus import EventBus, Tap
from ccops.sim.calls import CallFlow
from ccops.sim.centre import Centre, default_centre
from ccops.sim.clockwork import Scheduler, Timer
from ccops.sim.engine import Engine, SimStats
from ccops.sim.originate import Originator, Phone, PhoneBook
from ccops.sim.scenario import (
    EndSurgeStep,
    FirehoseStep,
    RegistrationRejectedStep,
    ReloadStep,
    RestartStep,
    Scenario,
    Step,
    SurgeStep,
    TrunkDownStep,
    TrunkUpStep,
    WalkoutStep,
    load_scenario,
)
from ccops.sim.traffic import TrafficModel
from ccops.sim.wire import (
    ALL_CLASSES,
    GREETING,
    Action,
    ActionParser,
    EventClass,
    error,
    parse_event_mask,
    privilege,
    response,
    success,
)

log = logging.getLogger("ccops.sim")

DEFAULT_USERNAME = "ccops"
DEFAULT_SECRET = "ccops-sim"
SYSTEM = int(EventClass.SYSTEM)
_BATCH = 4000


@dataclass(frozen=True)
class SimUser:
    """A manager.conf user: secret and read/write class masks."""

    username: str
    secret: str
    read: int = ALL_CLASSES
    write: int = ALL_CLASSES


@dataclass
class Boot:
    """Everything that lives in one run of the simulated Asterisk process."""

    engine: Engine
    flow: CallFlow
    traffic: TrafficModel
    originator: Originator
    globals: dict[str, str] = field(default_factory=dict)


@dataclass
class SessionCounters:
    accepted: int = 0
    auth_failures: int = 0
    dropped_slow: int = 0
    bad_messages: int = 0
    handler_errors: int = 0


class Session:
    """One AMI connection (a :class:`ccops.sim.bus.Sink`)."""

    def __init__(self, pbx: SimulatedPbx, writer: asyncio.StreamWriter) -> None:
        self.pbx = pbx
        self.writer = writer
        self.parser = ActionParser()
        self.user: SimUser | None = None
        self.send_events = ALL_CLASSES
        self.challenge = ""
        self._pending: list[bytes] = []
        self.closed = False

    # Sink -------------------------------------------------------------

    def accepts(self, cls: int) -> bool:
        user = self.user
        return (
            user is not None
            and not self.closed
            and (user.read & cls) == cls
            and (self.send_events & cls) == cls
        )

    def push(self, frame: bytes) -> None:
        self._pending.append(frame)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self.write(data)

    # output -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        transport = self.writer.transport
        if transport.is_closing():
            self.closed = True
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self.pbx.max_output_buffer:
            # Like Asterisk's writetimeout: a client that does not read is cut off, so it
            # cannot make the PBX buffer without limit.
            self.pbx.counters.dropped_slow += 1
            log.warning(
                "sim: dropping a session that does not read (%d bytes pending)",
                transport.get_write_buffer_size(),
            )
            self.close(abort=True)

    def close(self, *, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        self.pbx.bus.detach(self)
        transport = self.writer.transport
        if abort:
            transport.abort()
        else:
            transport.close()

    def caller(self) -> Caller:
        user = self.user
        return Caller(
            username=user.username if user else "",
            write_perm=user.write if user else 0,
            send_events=self.send_events,
        )


class SimulatedPbx:
    """A believable Asterisk 22 AMI endpoint with a seeded call-centre behind it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        users: Sequence[SimUser] = (),
        scenario: Path | Scenario | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        speed: float | None = None,
        realtime: bool = True,
        centre: Centre | None = None,
        noise: float | None = None,
        test_events: bool | None = None,
        profile: str | None = None,
        agent_pauses: bool | None = None,
        auth_failure_delay: float = 1.0,
        auth_timeout: float = 30.0,
        max_output_buffer: int = 8 * 1024 * 1024,
    ) -> None:
        base_centre = centre or default_centre()
        if isinstance(scenario, Path):
            scenario = load_scenario(scenario, base_centre)
        self.scenario: Scenario = scenario or Scenario()
        opts = self.scenario.sim
        self.host = host
        self.port = port
        self.users: dict[str, SimUser] = {u.username: u for u in users}
        if username not in self.users:
            self.users[username] = SimUser(username, secret)
        self.seed = seed if seed is not None else (opts.seed if opts.seed is not None else 1)
        self.clock: Clock = clock or SystemClock()
        self.speed = speed if speed is not None else (opts.speed or 1.0)
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        self.realtime = realtime
        self.centre = self.scenario.centre(base_centre)
        self.noise = noise if noise is not None else opts.noise
        self.test_events = test_events if test_events is not None else opts.test_events
        self.profile = profile or opts.profile
        self.agent_pauses = agent_pauses if agent_pauses is not None else opts.agent_pauses
        self.auth_failure_delay = auth_failure_delay
        self.auth_timeout = auth_timeout
        self.max_output_buffer = max_output_buffer
        self.counters = SessionCounters()
        self.phones = PhoneBook()
        for ext, p in self.scenario.phones.items():
            phone = Phone(
                answer=p.answer,
                busy=p.busy,
                answer_after=p.answer_after,
                digit=p.digit,
                digit_after=p.digit_after,
            )
            if ext == "default":
                self.phones.default = phone
            else:
                self.phones.phones[ext] = phone
        self.bus = EventBus()
        self.sched = Scheduler(epoch=self.clock.now())
        self.rng = random.Random(self.seed)
        self.astdb: dict[str, str] = {"/" + k.strip("/"): v for k, v in self.scenario.astdb.items()}
        self._boot: Boot | None = None
        self._server: asyncio.Server | None = None
        self._driver: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: set[Session] = set()
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._base_real = 0.0
        self._base_virtual = 0.0
        self._boots = 0
        self._world_surge: tuple[float, float | None] | None = None
        self._world_queue_surge: dict[str, float] = {}
        self._world_firehose: float | None = None
        self._trunks_down: set[str] = set()
        self.skipped_while_down = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def boot(self) -> Boot:
        if self._boot is None:
            raise RuntimeError("the simulated PBX is not running")
        return self._boot

    @property
    def running(self) -> bool:
        """True while the PBX is up (False before start, after stop, during a restart)."""
        return self._up.is_set()

    @property
    def stats(self) -> SimStats:
        return self.boot.engine.stats

    async def start(self) -> int:
        """Boot, listen, start the scenario; returns the TCP port."""
        self._start_boot()
        await self._listen()
        self._schedule_scenario()
        if self.realtime:
            self._driver = asyncio.create_task(self._drive(), name="ccops-sim-driver")
        self._up.set()
        log.info("simulated PBX (SIMULATED) listening on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        self._up.clear()
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None
        for session in list(self._sessions):
            session.close(abort=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def wait_up(self) -> None:
        await self._up.wait()

    def _start_boot(self) -> None:
        self._boots += 1
        engine = Engine(
            self.centre,
            self.sched,
            self.bus,
            random.Random(self.rng.getrandbits(64)),
            noise=self.noise,
            test_events=self.test_events,
            astdb=self.astdb,
        )
        flow = CallFlow(engine)
        traffic = TrafficModel(
            engine,
            flow,
            profile=self.profile,
            rate_scale=self.scenario.sim.rate_scale,
            utc_offset_hours=self.scenario.sim.utc_offset_hours,
            agent_pauses=self.agent_pauses,
        )
        for name in self._trunks_down:
            engine.trunks[name].really_up = False
        if self._world_surge is not None:
            traffic.surge_factor = self._world_surge[0]
        traffic.queue_surge.update(self._world_queue_surge)
        traffic.start()
        if self._world_firehose is not None:
            traffic.start_firehose(self._world_firehose)
        self._boot = Boot(engine, flow, traffic, Originator(engine, self.phones))

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=1 << 16)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])

    # ------------------------------------------------------------------ time

    def virtual_now(self) -> float:
        if not self.realtime:
            return self.sched.now
        loop = asyncio.get_running_loop()
        return self._base_virtual + (loop.time() - self._base_real) * self.speed

    def _catch_up(self) -> None:
        """Before an action in real time: run what is due so state is current."""
        if self.realtime and self._driver is not None:
            self.sched.run_until(max(self.sched.now, self.virtual_now()))
            self.bus.flush()

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        self._base_real, self._base_virtual = loop.time(), self.sched.now
        self.sched.on_earlier = self._wake.set
        try:
            while True:
                target = self._base_virtual + (loop.time() - self._base_real) * self.speed
                fired = self.sched.run_until(target, budget=_BATCH)
                self.bus.flush()
                if fired >= _BATCH:
                    await asyncio.sleep(0)
                    continue
                nxt = self.sched.next_time()
                delay = 0.5 if nxt is None else (nxt - self.sched.now) / self.speed
                delay = min(0.5, max(0.0, delay))
                self._wake.clear()
                if delay <= 0:
                    await asyncio.sleep(0)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
        finally:
            self.sched.on_earlier = None

    async def advance(self, seconds: float, *, step: float = 1.0) -> None:
        """Manual time: run ``seconds`` of virtual time, letting I/O happen in between."""
        if self.realtime:
            raise RuntimeError("advance() is for realtime=False simulators")
        target = self.sched.now + max(0.0, seconds)
        while True:
            nxt = min(target, self.sched.now + step)
            while self.sched.run_until(nxt, budget=_BATCH) >= _BATCH:
                self.bus.flush()
                await asyncio.sleep(0)
            self.bus.flush()
            await asyncio.sleep(0)
            pending = [t for t in self._tasks if t.get_name().startswith("ccops-sim-boot")]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            if self.sched.now >= target:
                break
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ scenario

    def _schedule_scenario(self) -> None:
        for step in self.scenario.steps:
            self.sched.call_at(step.at, self._run_step, step, persistent=True)

    def _run_step(self, step: Step) -> None:
        log.info("sim scenario: %s at %.0fs", step.action, step.at)
        try:
            self.run_step(step)
        except (KeyError, ValueError) as exc:
            log.error("sim scenario step %s failed: %s", step.action, exc)

    def apply_now(self, step: Step) -> None:
        """Apply a step at the current virtual time, from outside the scheduler (the
        daemon's drill runner): what was due runs first, the events go out at once."""
        self._catch_up()
        self.run_step(step)
        self.bus.flush()

    def schedule_step(self, delay: float, step: Step) -> Timer:
        """Run ``step`` after ``delay`` seconds of the caller's (real) time; cancel the
        returned timer to drop it. Survives a PBX restart, as scenario steps do."""
        factor = self.speed if self.realtime else 1.0
        when = max(self.sched.now, self.virtual_now() + max(0.0, delay) * factor)
        return self.sched.call_at(when, self._run_step, step, persistent=True)

    def run_step(self, step: Step) -> None:
        """Apply one scenario step (a scenario file's, or a drill's from the daemon);
        raises KeyError/ValueError for a name this centre does not have."""
        if isinstance(step, SurgeStep):
            self.surge(step.factor, seconds=step.duration, queue=step.queue)
        elif isinstance(step, EndSurgeStep):
            self.end_surge(step.queue)
        elif isinstance(step, TrunkDownStep):
            self.trunk_down(step.trunk, drop_calls=step.drop_calls)
        elif isinstance(step, TrunkUpStep):
            self.trunk_up(step.trunk)
        elif isinstance(step, RestartStep):
            self.restart(step.downtime)
        elif isinstance(step, WalkoutStep):
            self.agent_walkout(
                step.count, mode=step.mode, reason=step.reason, seconds=step.duration
            )
        elif isinstance(step, RegistrationRejectedStep):
            self.registration_rejected(step.trunk, seconds=step.duration)
        elif isinstance(step, FirehoseStep):
            self.firehose(step.calls_per_second, seconds=step.duration)
        elif isinstance(step, ReloadStep):
            self.reload()

    # ------------------------------------------------------------------ drill controls

    def _alive(self) -> Boot | None:
        if not self._up.is_set() or self._boot is None:
            self.skipped_while_down += 1
            return None
        return self._boot

    def trunk_down(self, name: str, *, drop_calls: bool = True) -> int:
        """Carrier ``name`` fails; returns how many calls were cut."""
        if name not in {t.name for t in self.centre.trunks}:
            raise KeyError(f"no trunk {name!r}")
        self._trunks_down.add(name)
        boot = self._alive()
        dropped = boot.traffic.trunk_down(name, drop_calls=drop_calls) if boot else 0
        self.bus.flush()
        return dropped

    def trunk_up(self, name: str) -> None:
        if name not in {t.name for t in self.centre.trunks}:
            raise KeyError(f"no trunk {name!r}")
        self._trunks_down.discard(name)
        boot = self._alive()
        if boot:
            boot.traffic.trunk_up(name)

    def surge(
        self,
        factor: float = 3.0,
        minutes: float | None = None,
        *,
        seconds: float | None = None,
        queue: str | None = None,
    ) -> None:
        """Multiply arrivals by ``factor`` for ``minutes`` (or ``seconds``), or until ended;
        with ``queue``, only that queue's arrivals."""
        duration = seconds if seconds is not None else (minutes * 60 if minutes else None)
        if queue is not None:
            if queue not in {q.name for q in self.centre.queues}:
                raise KeyError(f"no queue {queue!r}")
            self._world_queue_surge[queue] = factor
        else:
            self._world_surge = (factor, duration)
        boot = self._alive()
        if boot:
            boot.traffic.surge(factor, duration, queue=queue)
        if duration is not None:
            self.sched.call_later(duration, self._forget_surge, factor, queue, persistent=True)

    def _forget_surge(self, factor: float, queue: str | None = None) -> None:
        """A timed surge is over: in the world, and in a boot that restarted meanwhile
        (its own end timer died with the previous boot)."""
        boot = self._boot if self._up.is_set() else None
        if queue is not None:
            if self._world_queue_surge.get(queue) == factor:
                del self._world_queue_surge[queue]
                if boot is not None and boot.traffic.queue_surge.get(queue) == factor:
                    boot.traffic.end_surge(queue)
        elif self._world_surge is not None and self._world_surge[0] == factor:
            self._world_surge = None
            if boot is not None and boot.traffic.surge_factor == factor:
                boot.traffic.end_global_surge()

    def end_surge(self, queue: str | None = None) -> None:
        """End the surge on ``queue``, or every surge."""
        if queue is None:
            self._world_surge = None
            self._world_queue_surge.clear()
        else:
            self._world_queue_surge.pop(queue, None)
        boot = self._alive()
        if boot:
            boot.traffic.end_surge(queue)

    def firehose(self, calls_per_second: float = 1000.0, *, seconds: float | None = None) -> None:
        """Load-generator mode for benchmarks (thousands of short calls per second)."""
        self._world_firehose = calls_per_second
        boot = self._alive()
        if boot:
            boot.traffic.start_firehose(calls_per_second)
        if seconds is not None:
            self.sched.call_later(seconds, self.stop_firehose, persistent=True)

    def stop_firehose(self) -> None:
        self._world_firehose = None
        boot = self._alive()
        if boot:
            boot.traffic.stop_firehose()

    def agent_walkout(
        self,
        count: int,
        *,
        mode: str = "pause",
        reason: str = "walkout",
        minutes: float | None = None,
        seconds: float | None = None,
    ) -> list[str]:
        duration = seconds if seconds is not None else (minutes * 60 if minutes else None)
        boot = self._alive()
        ids = (
            boot.traffic.agent_walkout(count, mode=mode, reason=reason, duration=duration)
            if boot
            else []
        )
        self.bus.flush()
        return ids

    def registration_rejected(
        self, trunk: str, *, minutes: float | None = None, seconds: float | None = None
    ) -> None:
        duration = seconds if seconds is not None else (minutes * 60 if minutes else None)
        boot = self._alive()
        if boot:
            boot.traffic.registration_rejected(trunk, duration)

    def reload(self) -> None:
        boot = self._alive()
        if boot:
            boot.engine.reload()
            self.bus.flush()

    def restart(self, downtime: float = 10.0) -> None:
        """The PBX restarts: Shutdown to every session, connections closed, calls lost;
        it listens again after ``downtime`` seconds of virtual time with fresh counters."""
        boot = self._alive()
        if boot is None:
            return
        boot.engine.shutdown()
        self.bus.flush()
        self._up.clear()
        for session in list(self._sessions):
            session.close()
        if self._server is not None:
            self._server.close()
            self._server = None
        self.sched.new_generation()
        self._boot = None
        self.sched.call_later(downtime, self._come_back_due, persistent=True)

    def _come_back_due(self) -> None:
        task = asyncio.get_running_loop().create_task(
            self._come_back(), name=f"ccops-sim-boot-{self._boots + 1}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _come_back(self) -> None:
        for attempt in range(30):
            try:
                await self._listen()
                break
            except OSError as exc:
                log.warning("sim: cannot listen again on port %d (%s); retrying", self.port, exc)
                await asyncio.sleep(min(1.0, 0.1 * (attempt + 1)))
        else:
            log.error("sim: gave up listening again on port %d", self.port)
            return
        self._start_boot()
        self._up.set()

    def add_tap(self, tap: Tap) -> None:
        """See every event the PBX emits (all classes), e.g. to record a drill."""
        self.bus.add_tap(tap)

    def remove_tap(self, tap: Tap) -> None:
        self.bus.remove_tap(tap)

    # ------------------------------------------------------------------ sessions

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        session = Session(self, writer)
        self._sessions.add(session)
        self.counters.accepted += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.auth_timeout
        try:
            session.write(GREETING)
            while not session.closed:
                timeout = None if session.user else max(0.0, deadline - loop.time())
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout)
                except TimeoutError:
                    break  # authtimeout: unauthenticated too long
                if not data:
                    break
                for action in session.parser.feed(data):
                    if session.closed:
                        break
                    await self._handle(session, action)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            raise
        finally:
            session.close()
            self._sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)

    async def _handle(self, session: Session, action: Action) -> None:
        aid = action.action_id
        if action.problem:
            self.counters.bad_messages += 1
            session.write(error(aid, action.problem))
            return
        name = action.name
        low = name.lower()
        if not name:
            self.counters.bad_messages += 1
            session.write(error(aid, "Missing action in request"))
            return
        if low == "login":
            await self._login(session, action)
            return
        if low == "logoff":
            session.write(response("Goodbye", aid, "Thanks for all the fish."))
            session.close()
            return
        if low == "challenge":
            self._challenge(session, action)
            return
        if session.user is None:
            session.write(error(aid, "Permission denied"))
            return
        if low == "events":
            mask = parse_event_mask(action.get("EventMask"))
            if mask is not None:
                session.send_events = mask
            state = "On" if session.send_events else "Off"
            session.write(response("Success", aid, None, extra=[("Events", state)]))
            return
        definition = ACTIONS.get(low)
        if definition is None:
            session.write(invalid(name, aid))
            return
        if definition.authority and not (session.user.write & definition.authority):
            session.write(error(aid, "Permission denied"))
            return
        boot = self._boot
        if boot is None or not self._up.is_set():
            session.write(error(aid, "Asterisk is restarting"))
            return
        self._catch_up()
        try:
            reply = definition.handler(boot, session.caller(), action)
            data = reply if isinstance(reply, bytes) else await reply
        except Exception:  # never let one bad action take the PBX down
            self.counters.handler_errors += 1
            log.exception("sim: action %s failed", name)
            data = error(aid, "Internal error")
        session.write(data)
        self.bus.flush()

    def _challenge(self, session: Session, action: Action) -> None:
        aid = action.action_id
        if action.get("AuthType").lower() != "md5":
            session.write(error(aid, "Must specify AuthType"))
            return
        if not session.challenge:
            session.challenge = str(self.rng.randrange(100_000_000, 999_999_999))
        session.write(response("Success", aid, None, extra=[("Challenge", session.challenge)]))

    async def _login(self, session: Session, action: Action) -> None:
        aid = action.action_id
        if session.user is not None:
            session.write(success(aid, "Already authenticated"))
            return
        user = self.users.get(action.get("Username"))
        ok = False
        if user is not None:
            if action.get("AuthType").lower() == "md5":
                expected = hashlib.md5((session.challenge + user.secret).encode()).hexdigest()
                ok = bool(session.challenge) and action.get("Key").lower() == expected
            else:
                ok = action.get("Secret") == user.secret
        if not ok:
            self.counters.auth_failures += 1
            await asyncio.sleep(self.auth_failure_delay)
            session.write(error(aid, "Authentication failed"))
            session.close()
            return
        assert user is not None
        mask = parse_event_mask(action.get("Events"))
        if mask is not None:
            session.send_events = mask
        session.user = user
        session.write(success(aid, "Authentication accepted"))
        boot = self._boot
        if boot is not None and session.send_events & SYSTEM and user.read & SYSTEM:
            e = boot.engine
            wall = e.sched.wall()
            session.write(
                (
                    f"Event: FullyBooted\r\nPrivilege: {privilege(SYSTEM)}\r\n"
                    f"Uptime: {int(wall - e.boot_wall)}\r\n"
                    f"LastReload: {int(wall - e.reload_wall)}\r\n"
                    "Status: Fully Booted\r\n\r\n"
                ).encode()
            )
        self.bus.attach(session)


async def run_sim(
    host: str,
    port: int,
    *,
    username: str = DEFAULT_USERNAME,
    secret: str = DEFAULT_SECRET,
    scenario: Path | None = None,
    seed: int = 1,
    clock: Clock | None = None,
    speed: float | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run the simulated PBX until cancelled (what ``ccops sim`` calls).

    ``port`` 0 picks a free port; ``ready(port)`` is called once it listens. A bad scenario
    file raises :class:`ccops.sim.scenario.ScenarioError` before anything listens.
    """
    sim = SimulatedPbx(
        host=host,
        port=port,
        username=username,
        secret=secret,
        scenario=scenario,
        seed=seed,
        clock=clock,
        speed=speed,
    )
    bound = await sim.start()
    if ready is not None:
        ready(bound)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
