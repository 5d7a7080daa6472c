"""The environment and command line of a console process started for an SSH session.

Why from scratch: the daemon's environment holds AMI secrets (``CCOPS_PBX_*_SECRET``) and
whatever else its service manager set; a console child must see none of it. And the SSH
client may send any variable it likes (asyncssh accepts them all, unlike sshd's
``AcceptEnv``): only the terminal type, from a fixed list, and ``COLORTERM`` with a known
value are taken from it. Identity never travels in the environment: it is bound to the
daemon-side end of the socket the child inherits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# Terminal types we let through from the client's pty request. Anything else becomes the
# safe default: a TERM names a terminfo entry, and a hostile value must not pick an odd one.
KNOWN_TERMS = frozenset(
    {
        "xterm", "xterm-256color", "xterm-color", "xterm-direct", "xterm-kitty",
        "screen", "screen-256color", "tmux", "tmux-256color",
        "rxvt", "rxvt-unicode", "rxvt-unicode-256color", "linux", "vt100", "vt220",
        "putty", "putty-256color", "alacritty", "foot", "wezterm", "st-256color",
        "konsole", "konsole-256color", "gnome", "gnome-256color", "iterm2", "ansi",
    }
)
DEFAULT_TERM = "xterm-256color"
COLORTERM_VALUES = frozenset({"truecolor", "24bit"})
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


def sane_term(term: str | None) -> str:
    """The client's terminal type if it is one we know, else the default."""
    if term and term in KNOWN_TERMS:
        return term
    return DEFAULT_TERM


def child_environment(
    term: str | None, client_env: Mapping[str, str], *, home: Path
) -> dict[str, str]:
    """The whole environment of a console child (nothing inherited from the daemon)."""
    env = {
        "TERM": sane_term(term),
        "LANG": "C.UTF-8",
        "PATH": SAFE_PATH,
        "HOME": str(home),
        "TEXTUAL_ANIMATIONS": "none",  # bandwidth: no tweened redraws over SSH
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    colorterm = client_env.get("COLORTERM", "")
    if colorterm in COLORTERM_VALUES:
        env["COLORTERM"] = colorterm
    return env


def console_command(fd: int, *, theme: str, log_file: Path) -> list[str]:
    """``python -m ccops tui --fd N`` with the same interpreter the daemon runs on."""
    return [
        sys.executable, "-m", "ccops", "tui",
        "--fd", str(fd), "--theme", theme, "--log-file", str(log_file),
    ]


def console_cwd(state_dir: Path) -> str:
    """Run children in the state directory (never the daemon's start directory)."""
    return str(state_dir) if state_dir.is_dir() else os.sep
