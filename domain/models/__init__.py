"""Every ORM model, imported so that ``Base.metadata`` knows all tables."""

from domain.models.account_tokens import AccountToken
from domain.models.auth import RefreshToken, TokenFamily
from domain.models.base import Base, table
from domain.models.chat import MatchRead, Message
from domain.models.events import UserEvent, UserEventCounter
from domain.models.mail import MailOutbox
from domain.models.moderation import ModerationAction, Report
from domain.models.photos import Photo
from domain.models.profiles import Prompt, PromptAnswer, QuizResponse, UserBadge, UserTrait
from domain.models.safety import WordPattern
from domain.models.social import Block, DailyLikeCount, Like, Match, Pass
from domain.models.users import User

__all__ = [
    "AccountToken",
    "Base",
    "Block",
    "DailyLikeCount",
    "Like",
    "MailOutbox",
    "Match",
    "MatchRead",
    "Message",
    "ModerationAction",
    "Pass",
    "Photo",
    "Prompt",
    "PromptAnswer",
    "QuizResponse",
    "RefreshToken",
    "Report",
    "TokenFamily",
    "User",
    "UserBadge",
    "UserEvent",
    "UserEventCounter",
    "UserTrait",
    "WordPattern",
    "table",
]
