"""Every model of Circolo; importing this package registers them all on `Base.metadata`.

One module per domain: each feature adds its own module here and imports it below.
"""

from .analytics import AnalyticsSnapshot, PersonMetrics
from .base import Base, UTCDateTime, from_epoch, utcnow
from .community import (
    LEARNER,
    ROLES,
    SERVICE,
    TEACHER,
    Course,
    CourseGroup,
    Deployment,
    Enrolment,
    Person,
    Platform,
    group_membership,
)
from .companion import CompanionConnection, CompanionEvent, CompanionInvite
from .forum import Discussion, Forum, Post
from .lti import LoginState, ToolKey
from .mentoring import (
    Ambassador,
    MentoringPreference,
    MentoringPrompt,
    MentoringSettings,
    MessageTemplate,
    OutboxMessage,
)
from .moodle import CourseSyncState, MoodleConnection, SyncRun
from .operations import WorkerHeartbeat
from .pages import PrivacyChoice

__all__ = [
    "Base", "UTCDateTime", "from_epoch", "utcnow",
    "LEARNER", "ROLES", "SERVICE", "TEACHER",
    "Course", "CourseGroup", "Deployment", "Enrolment", "Person", "Platform", "group_membership",
    "Discussion", "Forum", "Post",
    "AnalyticsSnapshot", "PersonMetrics",
    "LoginState", "ToolKey",
    "Ambassador", "MentoringPreference", "MentoringPrompt", "MentoringSettings",
    "MessageTemplate", "OutboxMessage",
    "CourseSyncState", "MoodleConnection", "SyncRun",
    "CompanionConnection", "CompanionEvent", "CompanionInvite",
    "WorkerHeartbeat",
    "PrivacyChoice",
]
