"""Domain events that chain the background pipeline: sync → analytics → mentoring rules.

Senders do not know their receivers. A receiver connects in its feature's `tasks.py` (which the
worker imports through `TASK_MODULES`) and usually just enqueues a task, e.g.::

    @course_synced.connect
    def _analyse(sender, course_id, changed): analyse_course(course_id)
"""

from blinker import Namespace

_signals = Namespace()

#: Sent after a course's sync run succeeded.
#: Arguments: course_id: int, changed: int (items written).
course_synced = _signals.signal("course-synced")

#: Sent after a course's analytics were computed and stored. Arguments: course_id: int.
course_analysed = _signals.signal("course-analysed")

#: Sent after a course was launched for the first time (it becomes active). Arguments: course_id.
course_activated = _signals.signal("course-activated")
