"""One console process on its own pseudo-terminal: start, resize, stop.

The child gets a new session (``setsid``, done by the kernel-side ``start_new_session``
rather than a ``preexec_fn``, which is unsafe with threads) and makes the PTY its
controlling terminal itself at start (``ccops tui --fd`` does ``TIOCSCTTY``). A resize sets
the size on the PTY *and* sends ``SIGWINCH`` to the child's process group explicitly, so the
console re-lays out even if the controlling-terminal step did not happen (research §3.3:
resize was lost with ``setsid`` alone). The child's stdin, stdout and stderr are the PTY
slave: Textual draws on stderr, and logs go to a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

KILL_GRACE_S = 3.0


@dataclass(slots=True)
class PtyChild:
    """A running console: its process and the PTY master the gateway reads and writes."""

    process: asyncio.subprocess.Process
    master_fd: int

    @property
    def pid(self) -> int:
        return self.process.pid


def set_size(fd: int, cols: int, rows: int) -> None:
    cols = max(1, min(cols, 1000))
    rows = max(1, min(rows, 1000))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_size(fd: int) -> tuple[int, int]:
    rows, cols, _x, _y = struct.unpack(
        "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    )
    return cols, rows


async def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    cols: int,
    rows: int,
    pass_fds: Sequence[int],
) -> PtyChild:
    """Start ``argv`` on a new PTY of ``cols``×``rows`` with only ``pass_fds`` inherited."""
    master, slave = os.openpty()
    try:
        set_size(slave, cols, rows)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            cwd=cwd,
            pass_fds=tuple(pass_fds),
            close_fds=True,
            start_new_session=True,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return PtyChild(process, master)


def resize(child: PtyChild, cols: int, rows: int) -> None:
    """New window size: tell the PTY, then the whole process group."""
    set_size(child.master_fd, cols, rows)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGWINCH)


async def stop(child: PtyChild, grace: float = KILL_GRACE_S) -> int:
    """End the child's process group (TERM, then KILL after ``grace``), reap it, close
    the master. Returns the exit status (negative: killed by that signal)."""
    if child.process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
    code = await child.process.wait()
    # Anything the console left behind in its group goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.close(child.master_fd)
    return code
