"""Delivery's view of Moodle: send one message, or find one already delivered by its reference.

The one place mentoring calls the Moodle client (`middleware.moodle`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..models.community import Course
from ..moodle.operations import client_for_connection, connection_for_platform
from ..moodle.schemas import OutgoingMessage
from ..moodle.service import MoodleClient, MoodleError, MoodleUnavailable, WebServicesDisabled
from .delivery import DeliveryError, Sent, reference_pattern

READ_BACK_PAGE = 50
READ_BACK_PAGES = 4


class MoodleMessaging:
    """Messages from the web-service user (`bot_user_id`) through one Moodle client.

    The client must not retry sends by itself: a retried send after a timeout is exactly the
    duplicate this protocol prevents. `messaging_for_course` builds it so.
    """

    def __init__(self, client: MoodleClient, bot_user_id: int) -> None:
        if client.retries:
            raise ValueError("delivery needs a Moodle client that does not retry (retries=0)")
        self.client = client
        self.bot_user_id = bot_user_id

    def send(self, touserid: int, text: str, clientmsgid: str) -> Sent:
        try:
            results = self.client.send_instant_messages(
                [OutgoingMessage(touserid=touserid, text=text, textformat=1,
                                 clientmsgid=clientmsgid)])
        except MoodleError as error:
            raise _delivery_error(error) from None
        if not results:
            raise DeliveryError("Moodle answered the send with an empty list", code="empty")
        result = results[0]
        return Sent(result.msgid, result.errormessage or "", result.conversationid)

    def find(self, touserid: int, reference: str, since: datetime) -> int | None:
        pattern = reference_pattern(reference)
        try:
            try:
                conversation = self.client.get_conversation_between_users(
                    self.bot_user_id, touserid, messagelimit=READ_BACK_PAGE)
            except MoodleError as error:
                # Moodle throws moodle_exception('Conversation does not exist'): its errorcode
                # is that very sentence. No conversation: nothing was ever delivered.
                if _squeezed(error.errorcode) == "conversationdoesnotexist":
                    return None
                raise
            if conversation is None:
                return None
            messages = list(conversation.messages)
            page = 0
            while True:
                for message in messages:
                    if message.useridfrom == self.bot_user_id and pattern.search(message.text):
                        return message.id
                oldest = min((m.timecreated for m in messages), default=0)
                page += 1
                if (len(messages) < READ_BACK_PAGE or page >= READ_BACK_PAGES
                        or oldest < since.timestamp()):
                    return None
                messages = list(self.client.get_conversation_messages(
                    self.bot_user_id, conversation.id, newest=True,
                    limitfrom=page * READ_BACK_PAGE, limitnum=READ_BACK_PAGE).messages)
        except MoodleError as error:
            raise DeliveryError(f"read-back failed: {error}",
                                code=error.errorcode or "unreachable") from None


def _squeezed(code: str | None) -> str:
    return "".join((code or "").lower().split())


def _delivery_error(error: MoodleError) -> DeliveryError:
    """Tell whether Moodle certainly did not deliver: it answered with an error body."""
    definite = (error.exception is not None or isinstance(error, WebServicesDisabled)
                or (error.errorcode or "").startswith("http"))
    if isinstance(error, MoodleUnavailable):
        definite = False  # a timeout or a lost connection: the message may be in Moodle
    return DeliveryError(str(error), code=error.errorcode or "moodle_error", definite=definite)


def messaging_for_course(session: Session, course_id: int, encryption_key: str
                         ) -> MoodleMessaging:
    """Return the messaging of the course's Moodle site, or raise DeliveryError if none."""
    course = session.get(Course, course_id)
    connection = connection_for_platform(session, course.platform_id) if course else None
    if connection is None or connection.service_user_id is None:
        raise DeliveryError("no checked Moodle connection for this course's site",
                            code="no_connection", definite=True)
    try:
        client = client_for_connection(connection, encryption_key, retries=0)
    except MoodleError as error:
        raise DeliveryError(str(error), code=error.errorcode or "no_connection",
                            definite=True) from None
    return MoodleMessaging(client, connection.service_user_id)
