"""What the gateway refuses: unknown keys (slowed and counted), passwords, commands, SFTP,
port forwarding, sessions without a terminal, a user name that is not the key's owner."""

from __future__ import annotations

import asyncio
import re

import asyncssh
import pytest
from e2e_ssh import Served, connect, make_key

pytestmark = pytest.mark.slow


async def test_unknown_key_is_refused_and_counted(served: Served) -> None:
    for _ in range(2):
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(served, "stranger", username="alice")
    # counted per address, with the growing delay logged
    await asyncio.sleep(0.2)
    failures = re.findall(r"refused key SHA256:\S+ for user 'alice' from 127\.0\.0\.1 "
                          r"\(failure (\d+) from this address", served.log_text())
    assert len(failures) >= 2 and int(failures[-1]) >= 2, served.log_text()


async def test_anothers_key_does_not_log_in_as_them(served: Served) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(served, "vera", username="alice")


async def test_password_is_refused(served: Served) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            "127.0.0.1", served.port, username="alice", password="alice",
            client_keys=None, known_hosts=None, agent_path=None,
        )


async def test_exec_sftp_forwarding_and_no_pty_are_refused(served: Served) -> None:
    async with await connect(served, "alice") as conn:
        result = await conn.run("id", check=False)
        assert result.exit_status == 1
        assert "commands are not run" in str(result.stderr)

        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError, OSError)):
            await conn.start_sftp_client()

        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", served.port)

        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)

        shell = await conn.run(check=False)  # a shell without a terminal
        assert shell.exit_status == 1
        assert "needs a terminal" in str(shell.stderr)


async def test_operator_added_to_the_file_logs_in_without_restart(served: Served) -> None:
    key_path = served.root / "olga_key"
    public = make_key(key_path)
    served.keys["olga"] = key_path
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(served, "olga")
    ops = served.root / "operators.toml"
    ops.write_text(
        ops.read_text() + f'\n[[operator]]\nname = "olga"\nrole = "maintenance"\n'
                          f'keys = ["{public}"]\n'
    )
    async with await connect(served, "olga") as conn:  # re-read at this login
        result = await conn.run("id", check=False)
        assert result.exit_status == 1  # logged in; commands are still refused
