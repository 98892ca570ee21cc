"""A status page's settings: the admin API's request and response shapes, and what is stored."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from monitord.wire import ServerId, TagName

Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$")]
# Plain text (shown as text, never as HTML): newlines allowed, other control characters not.
Text = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]*$")]
Alias = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
PagePassword = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
MAX_SECTIONS = 50
MAX_SECTION_ITEMS = 1000


class Field(enum.StrEnum):
    """What a page may show of each server."""

    STATUS = "status"
    UPTIME = "uptime"
    CPU = "cpu"
    MEMORY = "memory"
    DISK = "disk"
    NETWORK = "network"


class Access(enum.StrEnum):
    PUBLIC = "public"
    PASSWORD = "password"
    LINK = "link"  # anyone holding the share token, until linkExpiresAt


class _Wire(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    pass


class Section(_Wire):
    title: Annotated[str, msgspec.Meta(max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    server_ids: Annotated[list[ServerId], msgspec.Meta(max_length=MAX_SECTION_ITEMS)] = []
    tags: Annotated[list[TagName], msgspec.Meta(max_length=MAX_SECTION_ITEMS)] = []


class PageSettings(_Wire):
    """What is stored as a page's JSON settings (the password hash is a column of its own)."""

    title: Title
    description: Text = ""
    footer: Text = ""
    sections: Annotated[list[Section], msgspec.Meta(max_length=MAX_SECTIONS)] = []
    fields: list[Field] = msgspec.field(default_factory=lambda: [Field.STATUS, Field.UPTIME])
    access: Access = Access.PUBLIC
    link_expires_at: datetime | None = None
    # The public name of a server on this page, by id; a server without one shows its name.
    aliases: dict[int, Alias] = {}
    # The share link's secret (access "link"); made by the daemon, shown to admins only.
    share_token: str = ""


class PageRequest(_Wire):
    """`POST /api/status-pages` (every field but `slug` and `title` optional) and `PATCH …/{id}`
    (every field optional; what is absent stays as it was)."""

    slug: Slug | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET
    footer: Text | msgspec.UnsetType = msgspec.UNSET
    sections: Annotated[list[Section], msgspec.Meta(max_length=MAX_SECTIONS)] | msgspec.UnsetType = msgspec.UNSET
    fields: list[Field] | msgspec.UnsetType = msgspec.UNSET
    access: Access | msgspec.UnsetType = msgspec.UNSET
    password: PagePassword | msgspec.UnsetType = msgspec.UNSET
    link_expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    aliases: dict[int, Alias] | msgspec.UnsetType = msgspec.UNSET


class PageView(msgspec.Struct, rename="camel", kw_only=True):
    """A page as admins see it. The password is never shown, only whether one is set."""

    id: int
    slug: str
    title: str
    description: str
    footer: str
    sections: list[Section]
    fields: list[Field]
    access: Access
    link_expires_at: datetime | None
    aliases: dict[int, str]
    has_password: bool
    share_token: str


class PageList(msgspec.Struct, rename="camel", kw_only=True):
    pages: list[PageView]


def decode_settings(config: str) -> PageSettings:
    return msgspec.json.decode(config, type=PageSettings)


def encode_settings(settings: PageSettings) -> str:
    return msgspec.json.encode(settings).decode()
