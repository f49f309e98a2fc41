"""The product's fixed vocabulary: channels, statuses, source kinds, keywords and their ranks."""

from __future__ import annotations

from typing import Final

CHANNELS: Final = ("email", "sms", "whatsapp")
PHONE_CHANNELS: Final = ("sms", "whatsapp")
STATUSES: Final = ("subscribed", "unsubscribed", "did_not_subscribe")

# Replay order item 2: at equal times the safer status is applied last and wins.
STATUS_RANK: Final = {"did_not_subscribe": 0, "subscribed": 1, "unsubscribed": 2}
# Replay order item 3.
SOURCE_RANK: Final = {"event": 0, "csv": 1, "api": 2, "keyword": 3}
SOURCE_KINDS: Final = tuple(SOURCE_RANK)

# CSV spellings (trimmed, case-insensitive) -> canonical status.
CSV_STATUS_SPELLINGS: Final = {
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "did_not_subscribe": "did_not_subscribe",
    "did-not-subscribe": "did_not_subscribe",
    "true": "subscribed",
    "false": "unsubscribed",
}

OPT_OUT_KEYWORDS: Final = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_KEYWORDS: Final = frozenset({"start", "yes", "unstop"})

# Inbound message events and the channel they speak for.
INBOUND_EVENTS: Final = {"SMS Received": "sms", "WhatsApp Message Received": "whatsapp"}

# CSV columns.
IDENTIFIER_COLUMNS: Final = ("email", "phone", "user_id", "anonymous_id")
CHANNEL_STATUS_COLUMNS: Final = {
    "email_subscription_status": "email",
    "sms_subscription_status": "sms",
    "whatsapp_subscription_status": "whatsapp",
}
GROUP_COLUMN_SUFFIX: Final = "_subscription_status"
