"""The SQLite engine: connections, pragmas, one writer task, a pool of readers, backup.

Why one writer task: SQLite allows one writer at a time, and an aiosqlite connection shared
by several coroutines would interleave their statements inside one another's transactions.
So every write is a *job* queued to a single task that owns the write connection. The task
takes whatever jobs are waiting (up to ``max_batch``), runs each inside its own SAVEPOINT
within one ``BEGIN IMMEDIATE`` transaction, then COMMITs once ("group commit"): with
``synchronous=FULL`` each COMMIT costs an fsync, and sharing it is what lets many writers
keep up in a surge. A job that fails is rolled back to its savepoint alone; the others still
commit. No caller is answered before COMMIT has returned, so an acknowledged write is on
disk.

Readers use their own connections (``query_only``); in WAL mode they neither block nor wait
for the writer, and each read runs in one transaction so it sees one consistent snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from ccops.core.clock import Clock
from ccops.store.errors import StoreClosedError, StoreError, StoreOpenError
from ccops.store.migrate import Migration, apply_migrations, load_migrations

T = TypeVar("T")

MIN_SQLITE = (3, 37, 0)  # STRICT tables, RETURNING, JSON functions built in


@dataclass(slots=True)
class _Job(Generic[T]):
    fn: Callable[[aiosqlite.Connection], Awaitable[T]]
    future: asyncio.Future[T]


class SqliteEngine:
    """Owns the database file; use :meth:`open`, then :meth:`write`, :meth:`read`, :meth:`close`."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        readers: Sequence[aiosqlite.Connection],
        *,
        max_batch: int,
    ) -> None:
        self.path = path
        self._writer = writer
        self._readers = list(readers)
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for conn in readers:
            self._pool.put_nowait(conn)
        self._queue: asyncio.Queue[_Job[Any] | None] = asyncio.Queue()
        self._max_batch = max_batch
        self._closed = False
        self._writer_task = asyncio.create_task(self._writer_loop(), name=f"store-writer {path}")
        self.commits = 0  # transactions committed (for status and benchmarks)
        self.jobs_done = 0  # write jobs completed

    # ------------------------------------------------------------------ opening

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        clock: Clock,
        migrations: Sequence[Migration] | None = None,
        readers: int = 2,
        busy_timeout_ms: int = 5000,
        max_batch: int = 256,
    ) -> SqliteEngine:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises :class:`StoreOpenError` (or its :class:`SchemaTooNewError`) naming the file.
        """
        path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            need = ".".join(map(str, MIN_SQLITE))
            raise StoreOpenError(
                path, f"SQLite {sqlite3.sqlite_version} is too old; ccops needs {need} or newer"
            )
        if readers < 1 or max_batch < 1:
            raise ValueError("readers and max_batch must be at least 1")
        steps = list(migrations) if migrations is not None else load_migrations()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreOpenError(
                path, f"cannot create its directory {path.parent}: {exc.strerror}"
            ) from exc
        opened: list[aiosqlite.Connection] = []
        try:
            await asyncio.to_thread(_probe, path, busy_timeout_ms)
            writer = await _connect(path, busy_timeout_ms, query_only=False)
            opened.append(writer)
            async with writer.execute("PRAGMA journal_mode = WAL") as cur:
                row = await cur.fetchone()
            mode = str(row[0]).lower() if row else "?"
            if mode != "wal":
                raise StoreOpenError(
                    path,
                    f"cannot use WAL journal mode (SQLite chose {mode!r}); "
                    "put the database on a local file system",
                )
            await apply_migrations(writer, path, steps, clock)
            for _ in range(readers):
                opened.append(await _connect(path, busy_timeout_ms, query_only=True))
        except BaseException as exc:
            for conn in opened:
                with contextlib.suppress(Exception):
                    await conn.close()
            if isinstance(exc, sqlite3.Error | OSError):
                raise _open_error(path, exc) from exc
            raise
        return cls(path, writer, opened[1:], max_batch=max_batch)

    # ------------------------------------------------------------------ writing

    async def write(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn`` on the write connection inside a transaction; return once COMMITted.

        ``fn`` must not manage transactions itself and must not call :meth:`write` (that
        would wait for itself). If the caller is cancelled before the job starts, it never
        runs; once it has started it may still commit.
        """
        if self._closed:
            raise StoreClosedError(self.path, "the store is closed")
        if asyncio.current_task() is self._writer_task:
            raise StoreError(self.path, "write() called from inside a write job (would deadlock)")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(fn, future))
        return await future

    async def _writer_loop(self) -> None:
        try:
            while True:
                first = await self._queue.get()
                if first is None:
                    return
                batch: list[_Job[Any]] = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    batch.append(nxt)
                await self._run_batch(batch)
                if stop:
                    return
        finally:
            # Whatever is still queued can no longer run: answer it rather than hang it.
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if job is not None and not job.future.done():
                    job.future.set_exception(StoreClosedError(self.path, "the store closed"))

    async def _run_batch(self, batch: list[_Job[Any]]) -> None:
        live = [job for job in batch if not job.future.done()]
        if not live:
            return
        conn = self._writer
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            _fail_all(live, self._error("cannot start a write transaction", exc))
            return
        outcomes: list[tuple[_Job[Any], BaseException | None, Any]] = []
        broken: BaseException | None = None
        for job in live:
            if job.future.done():  # cancelled while earlier jobs ran
                continue
            try:
                await conn.execute("SAVEPOINT job")
                value = await job.fn(conn)
            except Exception as exc:
                error: BaseException = (
                    self._error("write failed", exc) if isinstance(exc, sqlite3.Error) else exc
                )
                try:
                    await conn.execute("ROLLBACK TO job")
                    await conn.execute("RELEASE job")
                except sqlite3.Error as rb_exc:  # SQLite already dropped the transaction
                    broken = self._error("write transaction aborted", rb_exc)
                    break
                outcomes.append((job, error, None))
                continue
            try:
                await conn.execute("RELEASE job")
            except sqlite3.Error as exc:
                broken = self._error("write transaction aborted", exc)
                break
            outcomes.append((job, None, value))
        if broken is None:
            try:
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                broken = self._error("COMMIT failed, nothing in this batch was saved", exc)
        if broken is not None:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
            _fail_all(live, broken)
            return
        self.commits += 1
        for job, job_error, value in outcomes:
            self.jobs_done += 1
            if job.future.done():
                continue
            if job_error is not None:
                job.future.set_exception(job_error)
            else:
                job.future.set_result(value)

    # ------------------------------------------------------------------ reading

    async def read(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn`` on a reader connection in one read transaction (a consistent snapshot)."""
        async with self._reader() as conn:
            try:
                await conn.execute("BEGIN")
                try:
                    return await fn(conn)
                finally:
                    await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error("read failed", exc) from exc

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._closed:
            raise StoreClosedError(self.path, "the store is closed")
        conn = await self._pool.get()
        try:
            if conn.in_transaction:  # a cancelled read left its snapshot open
                await conn.execute("ROLLBACK")
            yield conn
        finally:
            self._pool.put_nowait(conn)

    # ------------------------------------------------------------------ maintenance

    async def backup(self, dest: Path | str) -> None:
        """Copy the live database to ``dest`` with SQLite's online backup API.

        The copy is written next to ``dest`` as ``<name>.partial``, integrity-checked, then
        renamed over ``dest``, so ``dest`` is never a half-written file. Writers keep going
        during the copy (WAL readers do not block them).
        """
        dest = Path(dest)
        if dest.exists() and dest.resolve() == self.path.resolve():
            raise StoreError(dest, "backup target is the live database itself")
        tmp = dest.with_name(dest.name + ".partial")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(dest, f"cannot prepare the backup file: {exc.strerror}") from exc
        async with self._reader() as source:
            try:
                target = await aiosqlite.connect(tmp, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(tmp, f"cannot create the backup file: {exc}") from exc
            try:
                await source.backup(target)
                async with target.execute("PRAGMA quick_check") as cur:
                    problems = [str(r[0]) for r in await cur.fetchall()]
            except sqlite3.Error as exc:
                raise StoreError(dest, f"backup failed: {exc}") from exc
            finally:
                await target.close()
        if problems != ["ok"]:
            raise StoreError(dest, f"backup copy failed its check: {'; '.join(problems[:5])}")
        try:
            await asyncio.to_thread(_durable_replace, tmp, dest)
        except OSError as exc:
            raise StoreError(dest, f"cannot move the backup into place: {exc.strerror}") from exc

    async def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check``: ``["ok"]`` or the problems found."""

        async def run(conn: aiosqlite.Connection) -> list[str]:
            async with conn.execute("PRAGMA quick_check") as cur:
                return [str(r[0]) for r in await cur.fetchall()]

        return await self.read(run)

    async def close(self) -> None:
        """Finish queued writes, then close every connection. Safe to call twice."""
        if self._closed:
            await asyncio.shield(self._writer_task)
            return
        self._closed = True
        self._queue.put_nowait(None)
        await asyncio.shield(self._writer_task)
        for _ in self._readers:  # wait for reads in progress to hand their connection back
            await self._pool.get()
        for conn in [self._writer, *self._readers]:
            with contextlib.suppress(Exception):
                await conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _error(self, what: str, exc: BaseException) -> StoreError:
        return StoreError(self.path, f"{what}: {exc}")


# --------------------------------------------------------------------------- helpers


async def _connect(path: Path, busy_timeout_ms: int, *, query_only: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
        if query_only:
            await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


def _probe(path: Path, busy_timeout_ms: int) -> None:
    """Open and read the file once with plain sqlite3, so that a missing directory, a
    permission problem or a non-database file is reported before any worker thread starts."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    finally:
        conn.close()


def _open_error(path: Path, exc: BaseException) -> StoreOpenError:
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        hint = "not a SQLite database, or corrupt; restore a backup or move the file away"
    elif "readonly" in low or "read-only" in low:
        hint = (
            "read-only: ccops needs write access to the file and its directory "
            "(for the -wal and -shm files)"
        )
    elif "unable to open" in low:
        hint = "cannot open the file: check that it and its directory are writable by this user"
    elif "locked" in low or "busy" in low:
        hint = "locked by another process for longer than the busy timeout"
    else:
        hint = "cannot open the database"
    return StoreOpenError(path, f"{hint} ({text})")


def _fail_all(jobs: list[_Job[Any]], error: BaseException) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(error)


def _durable_replace(tmp: Path, dest: Path) -> None:
    """fsync the file, rename it into place, fsync the directory (the rename's durability)."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
