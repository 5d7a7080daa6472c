"""What the simulated call centre is made of, and the default one.

The default mirrors the real-Asterisk test tier (``tests/integration/asterisk_conf``) in
naming and shape, so that the console sees the same kinds of objects from both: queues
``hotline``/``billing``/``repairs`` reached through DIDs 4930100/200/300 on ``from-carrier``,
members that are ``Local/agentN@agents/n`` channels, carriers ``carrier-a`` (registers
outbound) and ``carrier-b`` (static contact), and desk phones that register.

Everything is a pydantic model so a scenario file can override any part with the same
validation and located errors.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueSpec(_Strict):
    """One queue: ACD parameters as in queues.conf, and its traffic."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    did: str = Field(min_length=1, pattern=r"^[0-9]+$")
    strategy: str = Field(
        default="rrmemory",
        pattern=r"^(ringall|leastrecent|fewestcalls|random|rrmemory|linear|wrandom|rrordered)$",
    )
    weight: int = Field(default=0, ge=0)
    servicelevel: int = Field(default=20, ge=0)
    ring_timeout: float = Field(default=15.0, gt=0, description="queues.conf 'timeout'")
    retry: float = Field(default=2.0, ge=0)
    wrapuptime: int = Field(default=10, ge=0)
    maxwait: float = Field(default=300.0, gt=0, description="Queue() timeout argument")
    announce_frequency: float = Field(default=30.0, ge=0, description="0 = no announcements")
    overflow_to: str | None = Field(
        default=None, description="queue that callers timing out are sent to"
    )
    calls_per_hour: float = Field(default=60.0, ge=0, description="arrivals at peak hour")
    talk_median: float = Field(default=180.0, gt=0)
    talk_sigma: float = Field(default=0.5, ge=0, le=3)
    patience_mean: float = Field(default=150.0, gt=0)
    short_abandon_share: float = Field(default=0.08, ge=0, le=1)


class AgentSpec(_Strict):
    """One agent and the queues (with penalty) that they answer."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1)
    queues: dict[str, int] = Field(min_length=1)
    dynamic: bool = False
    answer_delay: tuple[float, float] = (2.0, 7.0)
    ring_no_answer: float = Field(default=0.03, ge=0, le=1)

    @property
    def interface(self) -> str:
        return f"Local/{self.id}@agents/n"

    @property
    def device(self) -> str:
        return f"Local/{self.id}@agents"


class TrunkSpec(_Strict):
    """A carrier trunk: a PJSIP endpoint with a static, qualified contact."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    host: str = "127.0.0.1"
    port: int = Field(default=5060, ge=1, le=65535)
    capacity: int = Field(default=30, ge=0)
    share: float = Field(default=1.0, ge=0, description="share of inbound traffic")
    registers: bool = False
    register_user: str = "ccops-trunk"
    contact_user: str = "4930100"
    expiration: int = Field(default=120, ge=10)
    retry_interval: int = Field(default=5, ge=1)
    forbidden_retry_interval: int = Field(default=10, ge=0)
    qualify_frequency: float = Field(default=15.0, gt=0)
    qualify_timeout: float = Field(default=3.0, gt=0)
    rtt_usec: int = Field(default=18_000, ge=0, description="typical OPTIONS round trip")

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.port}"


class DeskSpec(_Strict):
    """A desk phone endpoint that registers (so PJSIPShowContacts has dynamic contacts)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    address: str = "127.0.0.1:5070"
    registered: bool = True


class PauseReason(_Strict):
    """A reason agents pause for, how often it is picked and how long it lasts (minutes)."""

    reason: str
    weight: float = Field(gt=0)
    minutes: tuple[float, float]


class Centre(_Strict):
    """The whole simulated site."""

    queues: list[QueueSpec]
    agents: list[AgentSpec]
    trunks: list[TrunkSpec]
    desks: list[DeskSpec] = Field(default_factory=list)
    pause_reasons: list[PauseReason] = Field(default_factory=list)
    pause_every_minutes: float = Field(
        default=50.0, gt=0, description="mean time an agent works between pauses"
    )
    hold_share: float = Field(default=0.12, ge=0, le=1)
    transfer_share: float = Field(default=0.03, ge=0, le=1)
    agent_hangup_share: float = Field(default=0.35, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> Centre:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        if len({q.did for q in self.queues}) != len(self.queues):
            raise ValueError("queue DIDs must be unique")
        for q in self.queues:
            if q.overflow_to is not None and q.overflow_to not in names:
                raise ValueError(f"queue {q.name}: overflow_to {q.overflow_to!r} is no queue")
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValueError("agent ids must be unique")
        for a in self.agents:
            unknown = sorted(set(a.queues) - set(names))
            if unknown:
                raise ValueError(f"agent {a.id}: unknown queue(s) {', '.join(unknown)}")
        trunks = [t.name for t in self.trunks]
        if len(set(trunks)) != len(trunks):
            raise ValueError("trunk names must be unique")
        if not self.trunks:
            raise ValueError("at least one trunk is needed to receive calls")
        return self

    def queue(self, name: str) -> QueueSpec | None:
        return next((q for q in self.queues if q.name == name), None)


_AGENT_NAMES = (
    "Amelia Hart",
    "Bruno Costa",
    "Chen Jing",
    "Dmitri Volkov",
    "Elena Marquez",
    "Farid Haddad",
    "Grace Okafor",
    "Hiro Tanaka",
    "Ines Ferreira",
    "José Álvarez",
    "Kasia Nowak",
    "Liam O'Brien",
    "Mei Lin",
    "Noah Fischer",
    "Olga Petrova",
    "Priya Nair",
    "Quinn Walsh",
    "Rosa Díaz",
    "Sven Larsen",
    "Tariq Aziz",
)


def _agent_queues(n: int) -> dict[str, int]:
    """Skills of agent ``n`` (1-based) in the default centre."""
    if n <= 10:
        skills = {"hotline": 0}
        if n == 3:
            skills["billing"] = 0  # busy elsewhere: Status 2 with InCall 0
        return skills
    if n <= 12:
        return {"hotline": 1, "billing": 0}
    if n <= 16:
        skills = {"billing": 0}
        if n == 16:
            skills["repairs"] = 1
        return skills
    return {"repairs": 0}


def default_centre() -> Centre:
    """About twenty agents on three queues, two carriers, two desk phones."""
    queues = [
        QueueSpec(
            name="hotline",
            did="4930100",
            strategy="rrmemory",
            weight=10,
            servicelevel=20,
            wrapuptime=15,
            maxwait=300,
            overflow_to="billing",
            calls_per_hour=150,
            talk_median=170,
        ),
        QueueSpec(
            name="billing",
            did="4930200",
            strategy="leastrecent",
            servicelevel=30,
            wrapuptime=20,
            maxwait=420,
            calls_per_hour=70,
            talk_median=230,
        ),
        QueueSpec(
            name="repairs",
            did="4930300",
            strategy="fewestcalls",
            servicelevel=60,
            wrapuptime=30,
            maxwait=600,
            calls_per_hour=45,
            talk_median=280,
            patience_mean=240,
        ),
    ]
    agents = [
        AgentSpec(
            id=f"agent{n}",
            name=_AGENT_NAMES[n - 1],
            queues=_agent_queues(n),
            dynamic=13 <= n <= 16,
            ring_no_answer=0.3 if n == 8 else 0.03,
        )
        for n in range(1, 21)
    ]
    trunks = [
        TrunkSpec(
            name="carrier-a",
            host="127.0.0.1",
            port=5061,
            capacity=30,
            share=0.6,
            registers=True,
        ),
        TrunkSpec(name="carrier-b", host="127.0.0.1", port=5062, capacity=30, share=0.4),
    ]
    desks = [
        DeskSpec(name="desk-201", address="127.0.0.1:5071"),
        DeskSpec(name="desk-202", address="127.0.0.1:5072"),
    ]
    reasons = [
        PauseReason(reason="break", weight=5, minutes=(8, 15)),
        PauseReason(reason="toilet", weight=3, minutes=(2, 6)),
        PauseReason(reason="meal", weight=1.5, minutes=(25, 40)),
        PauseReason(reason="coaching", weight=0.6, minutes=(10, 25)),
        PauseReason(reason="training", weight=0.4, minutes=(30, 60)),
    ]
    return Centre(queues=queues, agents=agents, trunks=trunks, desks=desks, pause_reasons=reasons)


#: Relative arrival rate by hour of day (peak = 1.0): quiet night, morning and
#: early-afternoon peaks, as in a utility's service hotline.
DAILY_PROFILE: tuple[float, ...] = (
    0.08, 0.05, 0.04, 0.04, 0.05, 0.08,
    0.18, 0.42, 0.78, 1.00, 0.97, 0.85,
    0.70, 0.82, 0.92, 0.88, 0.74, 0.58,
    0.42, 0.32, 0.24, 0.18, 0.13, 0.10,
)  # fmt: skip
