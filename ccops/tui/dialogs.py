"""Modal dialogs: confirmation, pause-reason picker and small forms.

Rules they follow (research §2.3, the issue's "impossible to misuse by accident"):

* a confirmation states exactly what will happen, with the live numbers that matter
  ("Overflow queue hotline to billing: calls waiting now 23"), and those numbers keep
  updating while the dialog is open;
* destructive and mass actions open with the focus on **Cancel**, and have no one-key
  "yes": the operator must move to the action button on purpose;
* Esc always cancels; nothing is sent before the final Enter;
* form fields are validated by the same core command models the daemon uses, so the
  error shown is the one the daemon would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

BodyFn = Callable[[], Text]


class LiveBody(Static):
    """Dialog text recomputed from the live document."""

    def __init__(self, body: BodyFn, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._body = body
        self._plain = ""

    def on_mount(self) -> None:
        self.recompute()

    def recompute(self) -> None:
        text = self._body()
        if text.plain != self._plain:
            self._plain = text.plain
            self.update(text)

    @property
    def plain(self) -> str:
        return self._plain


class _Dialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    _Dialog { align: center middle; }
    _Dialog > Vertical {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    _Dialog.-destructive > Vertical { border: thick $error; }
    _Dialog .title { text-style: bold; margin-bottom: 1; }
    _Dialog .error { color: $error; text-style: bold; }
    _Dialog .hint { color: $text-muted; margin-top: 1; }
    _Dialog Horizontal.buttons { height: 1; margin-top: 1; align-horizontal: right; }
    _Dialog Button { margin-left: 2; min-width: 12; }
    _Dialog Button:focus { text-style: bold reverse; }
    _Dialog OptionList { height: auto; max-height: 12; }
    _Dialog Horizontal.field { height: 1; }
    _Dialog Horizontal.field > Label { width: 28; }
    _Dialog Horizontal.field > Input { width: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def refresh_live(self) -> None:
        for body in self.query(LiveBody):
            body.recompute()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(_Dialog):
    """Yes/no with a live description; returns True only on the action button."""

    def __init__(
        self, title: str, body: BodyFn, *, action_label: str, destructive: bool = False
    ) -> None:
        super().__init__(classes="-destructive" if destructive else None)
        self.title_text = title
        self.body = body
        self.action_label = action_label
        self.destructive = destructive

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield LiveBody(self.body, id="body")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(
                    self.action_label,
                    id="confirm",
                    compact=True,
                    variant="error" if self.destructive else "primary",
                )
            hint = (
                "Tab to the action button, then Enter. Esc cancels."
                if self.destructive
                else "Enter confirms. Esc cancels."
            )
            yield Label(hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.destructive else "#confirm", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)


class ChoiceModal(_Dialog):
    """Pick one of a list (the pause reason); the list itself is the confirmation."""

    def __init__(
        self, title: str, body: BodyFn, choices: list[tuple[str, str]], *, hint: str
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = choices
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield LiveBody(self.body, id="body")
            yield OptionList(*[Option(label, id=value) for value, label in self.choices])
            yield Label(self.hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


@dataclass(frozen=True, slots=True)
class Field:
    """One form field: the parameter name, a label, a default and a placeholder."""

    name: str
    label: str
    default: str = ""
    placeholder: str = ""
    integer: bool = False
    optional: bool = False


Validator = Callable[[dict[str, Any]], list[str]]


class FormInput(Input):
    """A field of a :class:`FormModal`. Keys typed after its Enter (a burst over a slow SSH
    link: ``value⏎value⏎⏎``) are held by the app until the form has handled that Enter,
    as for the command line; otherwise they reach this field before the focus moves on."""


class FormModal(_Dialog):
    """A few inputs; Enter on the last one (or the button) validates and returns values."""

    class Advanced(Message):
        """An Enter in a field was handled (focus moved on, form submitted or refused):
        the keys typed after it may be replayed."""

    def __init__(
        self,
        title: str,
        body: BodyFn,
        fields: list[Field],
        *,
        validate: Validator,
        action_label: str,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.fields = fields
        self.validate = validate
        self.action_label = action_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield LiveBody(self.body, id="body")
            for f in self.fields:
                with Horizontal(classes="field"):
                    yield Label(f.label)
                    yield FormInput(
                        value=f.default,
                        placeholder=f.placeholder,
                        id=f"f-{f.name}",
                        type="integer" if f.integer else "text",
                        compact=True,
                    )
            yield Label("", id="errors", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(self.action_label, id="submit", variant="primary", compact=True)
            yield Label(
                "Enter moves to the next field and submits from the last. Esc cancels.",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            raw = self.query_one(f"#f-{f.name}", Input).value.strip()
            if not raw and f.optional:
                continue
            if f.integer:
                try:
                    out[f.name] = int(raw)
                except ValueError:
                    out[f.name] = raw
            else:
                out[f.name] = raw
        return out

    def _submit(self) -> None:
        values = self.values()
        problems = self.validate(values)
        if problems:
            self.query_one("#errors", Label).update("\n".join(problems))
            return
        self.dismiss(values)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        idx = inputs.index(event.input) if event.input in inputs else len(inputs) - 1
        if idx < len(inputs) - 1:
            self.set_focus(inputs[idx + 1])  # at once: the keys held since Enter go there
        else:
            self._submit()
        self.app.post_message(FormModal.Advanced())

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self._submit()
        else:
            self.dismiss(None)
