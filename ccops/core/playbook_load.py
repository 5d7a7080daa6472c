"""Load playbook YAML files with errors that name the file, the line and the field.

Why PyYAML's node API: ``yaml.safe_load`` returns plain dicts and forgets where each value
came from. Composing the node tree instead keeps a start mark on every node, so a pydantic
error at ``steps.3.within`` can be reported as ``a2.yaml:41: steps.3.within: expected a
duration like 5m``. Duplicate keys (which PyYAML silently lets the last one win) are errors
here: a duplicated ``within:`` in a procedure is a mistake, not an override.

Shipped playbooks come from the package (``ccops/playbooks``, a link to the repository's
``playbooks/``); a site directory adds playbooks or replaces one by ``id``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ccops.core.commands import COMMANDS
from ccops.core.playbook_model import (
    LinkStep,
    Loc,
    PbxStep,
    Playbook,
    PlaybookInvalid,
    _msg,
    parse_span,
    roster_group_problem,
    substitute,
    validate_playbook,
)


class PlaybookError(Exception):
    """Playbooks are unusable; ``problems`` are one located message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LoadedPlaybook:
    """A validated playbook, where it came from, and the hash an incident pins."""

    playbook: Playbook
    origin: str  # file path or "package:<name>"
    digest: str  # sha256 of the canonical JSON of the validated definition

    @property
    def id(self) -> str:
        return self.playbook.id


def playbook_digest(pb: Playbook) -> str:
    """Hash of the *meaning* (canonical JSON), so re-indenting a file keeps the hash."""
    text = json.dumps(pb.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- YAML → data


class _Located:
    """Plain data plus the line (1-based) of every path inside it."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.lines: dict[Loc, int] = {}
        self._loader = loader

    def build(self, node: yaml.Node, path: Loc, where: str) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    raise PlaybookError(
                        [f"{where}:{key_node.start_mark.line + 1}: keys must be plain names"]
                    )
                if key in out:
                    raise PlaybookError(
                        [f"{where}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: "
                         "duplicate key"]
                    )
                out[key] = self.build(value_node, (*path, key), where)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, (*path, i), where) for i, v in enumerate(node.value)]
        # Scalars: resolve with the safe constructor (ints, bools, null, strings).
        return self._loader.construct_object(node, deep=True)

    def locate(self, loc: Loc, data: Any) -> tuple[int, str]:
        """(line, dotted field) for a pydantic location.

        Pydantic inserts union tags (``steps.2.deadline.within``) that are not in the
        file: parts not found are skipped, except a last one (the missing field's name).
        """
        best = self.lines.get((), 1)
        path: Loc = ()
        cur = data
        for i, part in enumerate(loc):
            in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
            if (isinstance(cur, dict) and part in cur) or in_list:
                cur = cur[part]
            else:
                if i == len(loc) - 1:
                    return best, _dotted((*path, part))
                continue  # a union tag: stay on the parent
            path = (*path, part)
            best = self.lines.get(path, best)
        return best, _dotted(path)


def _dotted(loc: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in loc) or "(playbook)"


def parse_playbook(text: str, where: str) -> LoadedPlaybook:
    """Parse and validate one playbook document; :class:`PlaybookError` is located."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise PlaybookError([f"{where}:{line}: YAML syntax: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise PlaybookError([f"{where}:1: YAML: {exc}"]) from None
    finally:
        loader.dispose()
    if node is None:
        raise PlaybookError([f"{where}:1: empty file"])
    located = _Located(loader)
    data = located.build(node, (), where)
    if not isinstance(data, dict):
        raise PlaybookError([f"{where}:{located.lines[()]}: a playbook is a mapping of keys"])
    try:
        pb = validate_playbook(data)
    except PlaybookInvalid as exc:
        out: list[str] = []
        for loc, msg in exc.problems:
            line, field = located.locate(loc, data)
            out.append(f"{where}:{line}: {field}: {msg}")
        raise PlaybookError(out) from None
    return LoadedPlaybook(pb, where, playbook_digest(pb))


def check_parameters(
    playbooks: Mapping[str, LoadedPlaybook], values: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Site parameter values (config ``[playbooks.parameters]``): known playbook, known
    parameter, right type. One message per problem."""
    problems: list[str] = []
    for pid, given in values.items():
        loaded = playbooks.get(pid)
        if loaded is None:
            problems.append(f"playbooks.parameters.{pid}: unknown playbook")
            continue
        declared = loaded.playbook.parameters
        for name, value in given.items():
            where = f"playbooks.parameters.{pid}.{name}"
            p = declared.get(name)
            if p is None:
                known = ", ".join(sorted(declared)) or "none"
                problems.append(f"{where}: unknown parameter (known: {known})")
            elif p.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                problems.append(f"{where}: expected a whole number (got {value!r})")
            elif p.type != "int" and not isinstance(value, str):
                problems.append(f"{where}: expected text (got {value!r})")
            elif p.type == "duration":
                try:
                    parse_span(str(value))
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
        problems.extend(_pbx_site_problems(pid, loaded.playbook, given))
    return problems


def _pbx_site_problems(pid: str, pb: Playbook, given: Mapping[str, Any]) -> list[str]:
    """PBX steps with the site's values filled in must make valid commands (a standby
    call-out's group a job role, its cap a number in range...): said at ``ccops check``,
    not when the team leader runs the step in a surge."""
    problems: list[str] = []
    for step in pb.steps:
        if not isinstance(step, PbxStep) or step.command not in COMMANDS:
            continue
        used = {k: v[1:] for k, v in step.params.items()
                if isinstance(v, str) and v.startswith("$") and v[1:] in pb.parameters}
        mine = {k: n for k, n in used.items() if n in given}
        if not mine:
            continue
        probe = substitute(step.params, pb.parameters, given, probe=True)
        errors: list[tuple[str, str]] = []
        try:
            COMMANDS[step.command].model_validate(probe)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err.get("loc", ()))
                if loc and str(loc[0]) in mine:
                    errors.append((str(loc[0]), _msg(err)))
        group = roster_group_problem(step.command, probe)
        if group is not None and "group" in mine:
            errors.append(("group", group))
        for key, msg in errors:
            problems.append(f"playbooks.parameters.{pid}.{mine[key]}: step {step.id} "
                            f"({step.command}) {key}: {msg}")
    return problems


def load_pinned(document: Mapping[str, Any]) -> Playbook:
    """Rebuild an incident's pinned definition from the JSON stored with it."""
    return validate_playbook(dict(document))


# --------------------------------------------------------------------------- directories


def _files(root: Traversable | Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith((".yaml", ".yml")):
            out.append((str(entry), entry.read_text(encoding="utf-8")))
    return out


def shipped_root() -> Traversable:
    """The package's playbook directory (``ccops/playbooks`` → ``playbooks/``)."""
    return resources.files("ccops").joinpath("playbooks")


def load_playbooks(
    extra_dirs: Iterable[Path] = (), *, include_shipped: bool = True
) -> dict[str, LoadedPlaybook]:
    """Shipped playbooks, then each directory in order; a later file replaces an id.

    Every problem in every file is collected before raising, so ``ccops check`` shows
    them all at once. Links to playbooks that do not exist are errors too.
    """
    sources: list[tuple[str, str]] = []
    if include_shipped:
        sources.extend(_files(shipped_root()))
    for d in extra_dirs:
        if not d.is_dir():
            raise PlaybookError([f"{d}: not a directory of playbooks"])
        sources.extend(_files(d))
    problems: list[str] = []
    found: dict[str, LoadedPlaybook] = {}
    seen_in: dict[str, str] = {}
    for where, text in sources:
        try:
            loaded = parse_playbook(text, where)
        except PlaybookError as exc:
            problems.extend(exc.problems)
            continue
        previous = seen_in.get(loaded.id)
        if previous is not None and Path(previous).parent == Path(where).parent:
            problems.append(f"{where}:1: id: {loaded.id!r} already defined in {previous}")
            continue
        found[loaded.id] = loaded  # a later directory overrides by id
        seen_in[loaded.id] = where
    for loaded in found.values():
        for i, step in enumerate(loaded.playbook.steps):
            if isinstance(step, LinkStep) and step.playbook not in found:
                problems.append(
                    f"{loaded.origin}: steps.{i}.playbook: unknown playbook {step.playbook!r}"
                )
    if problems:
        raise PlaybookError(problems)
    return found
