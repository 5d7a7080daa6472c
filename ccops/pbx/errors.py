"""What can go wrong with an AMI action, as exceptions a caller can act on.

Each failure mode is its own type because callers react differently: an
:class:`AmiActionError` is Asterisk saying no (show its message, do not retry), an
:class:`AmiNotConnected` is known before anything is sent (disable the button, show the
reason), and an :class:`AmiConnectionLost` or :class:`AmiTimeout` means *the outcome is
unknown*: the action may or may not have run, so it is never re-sent automatically (an
Originate must not ring twice); the operator decides.
"""

from __future__ import annotations

from ccops.pbx.message import AmiMessage


class AmiError(Exception):
    """Base of every AMI link error."""


class AmiActionError(AmiError):
    """Asterisk answered ``Response: Error`` (or another non-success response).

    ``text`` is Asterisk's ``Message:`` (e.g. "Permission denied", "Database entry not
    found", "No Contacts found"); some callers treat a few of them as an empty result.
    """

    def __init__(self, action: str, response: AmiMessage) -> None:
        self.action = action
        self.response = response
        self.text = response.get("Message") or response.response or "no message"
        super().__init__(f"{action}: {self.text}")


class AmiTimeout(AmiError):
    """No (complete) answer within the action's timeout; the outcome is unknown."""


class AmiNotConnected(AmiError):
    """The link is not logged in; nothing was sent. The message says why."""


class AmiConnectionLost(AmiError):
    """The connection dropped before the answer; the action was NOT re-sent."""
