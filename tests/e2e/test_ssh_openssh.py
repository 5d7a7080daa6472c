"""The real OpenSSH client in a real terminal (tmux): log in, watch it update, pause an
agent, quit; and a key the gateway does not know is refused. The screens are captured as
text (``capture-pane``), i.e. what the operator reads."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_ssh import Served, Tmux, audit_records

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("tmux") and shutil.which("ssh")) and os.environ.get("CI") != "true",
        reason="needs tmux and OpenSSH (scripts/test installs them; in CI they must run)",
    ),
]


def ssh_command(served: Served, who: str, key: Path) -> str:
    known = served.root / "known_hosts"
    return (
        f"ssh -tt -p {served.port} -i {key} -o IdentitiesOnly=yes -o BatchMode=yes "
        f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known} "
        f"{who}@127.0.0.1; echo SSH-EXIT=$?; sleep 30"
    )


@pytest.fixture
def tmux(served: Served, request: pytest.FixtureRequest) -> Iterator[Callable[..., Tmux]]:
    made: list[Tmux] = []

    def start(who: str, key: str) -> Tmux:
        t = Tmux(f"ccops-e2e-{request.node.name[:20]}-{len(made)}",
                 ssh_command(served, who, served.keys[key]))
        made.append(t)
        return t

    yield start
    for t in made:
        t.kill()


async def test_openssh_login_live_action_quit(served: Served, tmux: Callable[..., Tmux]) -> None:
    t = tmux("alice", "alice")
    first = await t.wait_for(lambda s: "SIMULATED" in s and "billing" in s)
    print(first)  # shown with -s: what the operator sees
    assert "alice (supervisor)" in first.splitlines()[0]
    rest = "\n".join(first.splitlines()[1:])
    await t.wait_for(lambda s: "\n".join(s.splitlines()[1:]) != rest)
    await t.wait_for(lambda s: re.search(r"◉ [1-9]\d* on call", s) is not None)

    await t.type(":", "queue hotline", "Enter")
    await t.wait_for(lambda s: "Members (" in s)
    await t.type("p")
    await t.wait_for(lambda s: "Choose the reason" in s)
    await t.type("Enter")
    done = await t.wait_for(lambda s: "read-back:" in s and "paused=1" in s)
    print(done)
    assert "✔ pause" in done

    await t.type(":", "quit", "Enter")
    await t.wait_for(lambda s: "SSH-EXIT=0" in s)
    records = await audit_records(served, operator="alice", action="pause_member")
    assert any(r["params"].get("queue") == "hotline" and r["result"] == "ok" for r in records)


async def test_openssh_unknown_key_refused(served: Served, tmux: Callable[..., Tmux]) -> None:
    t = tmux("alice", "stranger")
    text = await t.wait_for(lambda s: "SSH-EXIT=" in s)
    assert "Permission denied (publickey)" in text, text
    assert "SSH-EXIT=255" in text
