"""Fan-out of the live status to attached clients: snapshot on attach, then coalesced deltas.

Why this shape: the model changes tens of thousands of times a second in a surge, but a human
reads a table about once a second. So the publisher diffs the status document at a fixed rate
(``publish_hz``) and sends only the entities that changed; alarms bypass the tick.

Memory stays bounded whatever a client does: each client has a bounded frame queue. A client
that falls behind (queue full) is not allowed to grow it; its queue is dropped and it is put
in *snapshot mode*: when it catches up it receives one fresh full snapshot instead of the
backlog. The count of such drops is kept for ``ccops status``.

Each client also has a :class:`~ccops.daemon.views.ClientView` (what its operator's role may
receive); a delta is encoded once per distinct view, never once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ccops.daemon.views import ClientView, notice_reaches
from ccops.daemon.wire import encode

log = logging.getLogger(__name__)

COLLECTIONS = frozenset({"queues", "trunks", "flags", "agents"})


def _esc(part: str) -> str:
    return part.replace("%", "%25").replace("/", "%2F")


def _unesc(part: str) -> str:
    return part.replace("%2F", "/").replace("%25", "%")


def entities(doc: dict[str, Any]) -> dict[str, Any]:
    """Split the status document into independently updatable entities keyed by path.

    ``pbx/<name>/queues/<queue>`` is one entity, so a change to one queue resends that queue
    only; scalar sections (``pbx/<name>/link``) and top-level keys are entities of their own.
    """
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "pbx" and isinstance(value, dict):
            for pbx_name, pbx_doc in value.items():
                base = f"pbx/{_esc(pbx_name)}"
                if not isinstance(pbx_doc, dict):
                    out[base] = pbx_doc
                    continue
                out[base] = {}  # marks the PBX as present even when it has no sections yet
                for section, sval in pbx_doc.items():
                    if section in COLLECTIONS and isinstance(sval, dict):
                        out[f"{base}/{_esc(section)}"] = {}
                        for item, ival in sval.items():
                            out[f"{base}/{_esc(section)}/{_esc(item)}"] = ival
                    else:
                        out[f"{base}/{_esc(section)}"] = sval
        else:
            out[_esc(key)] = value
    return out


def rebuild(ents: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`entities`: the nested document a client renders from."""
    doc: dict[str, Any] = {}
    for path in sorted(ents, key=lambda p: p.count("/")):
        parts = [_unesc(p) for p in path.split("/")]
        value = ents[path]
        node = doc
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        if isinstance(value, dict) and not value:
            if not isinstance(node.get(parts[-1]), dict):
                # a container marker: a fresh dict, never the entity's own object — children
                # placed into it must not leak into the entity map (a removed item would
                # stay in the client's document for good)
                node[parts[-1]] = {}
            continue
        node[parts[-1]] = value
    return doc


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Entities to set and paths to delete to turn ``old`` into ``new``."""
    changed = {k: v for k, v in new.items() if k not in old or old[k] != v}
    removed = [k for k in old if k not in new]
    return changed, removed


class ClientChannel:
    """One attached client's outbound frames, bounded.

    ``view`` is required on purpose: every way of attaching a client must decide what that
    client may receive (:func:`ccops.daemon.views.view_for_operator`).
    """

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        limit: int,
        name: str,
        *,
        view: ClientView,
        role: str | None = None,
    ) -> None:
        self.writer = writer
        self.name = name
        self.view = view
        self.role = role  # the operator's role: incident notices go to their target roles only
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=limit)
        self.needs_snapshot = False
        self.dropped = 0
        self.subscribed = False
        self.closed = False

    def offer(self, frame: bytes) -> bool:
        """Queue a frame without ever blocking; on overflow switch to snapshot mode."""
        if self.closed:
            return False
        if self.needs_snapshot:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped += 1
            self.needs_snapshot = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(b"")  # wake the writer so it sends a fresh snapshot
            return False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)


class Publisher:
    """Keeps the last published entities and fans deltas out to subscribed clients."""

    def __init__(self, snapshot_fn: Callable[[], dict[str, Any]]) -> None:
        self._snapshot_fn = snapshot_fn
        #: The entities the last delta was computed against. None while nobody is
        #: subscribed: building the status document every tick for no reader was the
        #: largest item of an unwatched daemon's CPU, so it is not built then, and the
        #: next snapshot sent (or, failing that, an empty baseline) becomes the base.
        self._last: dict[str, Any] | None = {}
        self.seq = 0
        self.clients: set[ClientChannel] = set()
        self.snapshot_mode_drops = 0

    @property
    def has_subscribers(self) -> bool:
        """Whether any attached client receives deltas (else :meth:`tick` does nothing)."""
        return any(client.subscribed for client in self.clients)

    def snapshot_frame(self, view: ClientView | None = None) -> bytes:
        """A full snapshot at the current sequence number, cut to ``view`` (None = all).

        The diff baseline is left alone: other clients' deltas stay relative to what they
        were sent, and deltas carry whole entity values, so applying them on top of this
        (newer or equal) snapshot converges to the same document.
        """
        doc = self._snapshot_fn()
        if self._last is None:
            # No baseline (nobody was subscribed at the last tick): this snapshot is it,
            # so the next delta holds exactly what changed after it.
            self._last = entities(doc)
        if view is not None:
            doc = view.document(doc)
        return encode({"type": "snapshot", "seq": self.seq, "data": doc})

    def tick(self) -> int:
        """Diff and send one delta to every subscriber; returns the number of changed paths.

        With no subscriber nothing is built at all (see ``_last``).
        """
        if not self.has_subscribers:
            self._last = None
            return 0
        new = entities(self._snapshot_fn())
        changed, removed = diff(self._last if self._last is not None else {}, new)
        self._last = new
        if not changed and not removed:
            return 0
        self.seq += 1
        frames: dict[ClientView, bytes | None] = {}
        for client in list(self.clients):
            if not client.subscribed:
                continue
            if client.view not in frames:
                vset, vdel = client.view.delta(changed, removed)
                frames[client.view] = (
                    encode({"type": "delta", "seq": self.seq, "set": vset, "del": vdel})
                    if vset or vdel
                    else None
                )
            frame = frames[client.view]
            if frame is not None and not client.offer(frame) and client.needs_snapshot:
                self.snapshot_mode_drops += 1
        return len(changed) + len(removed)

    def push_now(self, obj: dict[str, Any]) -> None:
        """Send an urgent frame (an alarm) to every subscriber at once, uncoalesced."""
        frame = encode(obj)
        for client in list(self.clients):
            if client.subscribed and client.view.frame(obj) and notice_reaches(obj, client.role):
                client.offer(frame)

    async def writer_loop(self, client: ClientChannel) -> None:
        """Drain one client's queue to its socket; a fresh snapshot replaces any backlog."""
        try:
            while True:
                frame = await client.queue.get()
                if frame is None:
                    break
                if client.needs_snapshot:
                    client.needs_snapshot = False
                    frame = self.snapshot_frame(client.view)
                if not frame:
                    continue
                if client.writer.is_closing():  # closed under us (daemon stopping, peer gone)
                    break
                client.writer.write(frame)
                await client.writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            client.closed = True
            self.clients.discard(client)
