"""Every close code the service's WebSockets end with, and what the pages say of them.

One definition for the server (the room's and the personal socket's consumer, the caption
viewer's) and the browser: the room and caption-link pages get :func:`for_pages` as JSON
(``{% close_codes %}``, read by ``static/js/close-codes.js``). docs/PROTOCOL.md lists them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class CloseCode:
    """The codes by name: plain ints, as Daphne (autobahn) refuses to close with an int subclass
    (an IntEnum's member would end the socket with 1011 instead)."""

    #: a frame over the size limit (Daphne's own code for it)
    TOO_BIG = 1009
    NOT_AUTHENTICATED = 4401
    #: not a participant, or a listener that sent audio
    FORBIDDEN = 4403
    #: no such meeting; an unknown or revoked caption link
    NOT_FOUND = 4404
    #: a caption viewer sent something: it may only listen
    READ_ONLY = 4405
    IDLE = 4408
    #: a caption link revoked, or its maker no longer a host, while open
    REVOKED = 4410
    #: a listener too far behind: what it had not read passed CAPTIONS_MAX_UNSENT_BYTES
    TOO_SLOW = 4412
    TOO_MANY = 4429


#: name → code, every one of them
CODES = {name: code for name, code in vars(CloseCode).items() if name.isupper()}

#: after these a page does not connect again: only a person can change what caused them
FINAL = frozenset(
    {CloseCode.NOT_AUTHENTICATED, CloseCode.FORBIDDEN, CloseCode.NOT_FOUND, CloseCode.REVOKED}
)

#: what the room page says of a close the server gave no reason for (an error event first)
PAGE_MESSAGES = {
    CloseCode.NOT_AUTHENTICATED: _("You are logged out. Log in again to rejoin the meeting."),
    CloseCode.FORBIDDEN: _("You are not a participant of this meeting."),
    CloseCode.NOT_FOUND: _("This meeting does not exist any more."),
    CloseCode.IDLE: _("The connection was idle for too long."),
    CloseCode.TOO_MANY: _("Too many connections or too much audio from your account."),
    CloseCode.TOO_BIG: _("A message was too large for the server."),
    CloseCode.TOO_SLOW: _("The connection fell too far behind the room."),
}


def for_pages() -> dict[str, Any]:
    """The codes by name, the page's messages by code, and the codes not to retry after."""
    return {
        "codes": dict(CODES),
        # in the language of the page they are rendered into
        "messages": {str(code): str(text) for code, text in PAGE_MESSAGES.items()},
        "final": sorted(FINAL),
    }
