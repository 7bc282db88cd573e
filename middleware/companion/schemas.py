"""Marshmallow schemas for what the Moodle plugin sends: the connect handshake and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

#: Event types and the areas of a course they concern.
COURSE_CHANGED = "course_changed"
USER_DELETED = "user_deleted"
AREAS = ("forum", "roster", "user")


@dataclass(frozen=True)
class PlatformFacts:
    """What the plugin registered in Moodle's LTI: the platform Circolo records."""

    issuer: str
    client_id: str
    deployment_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str


@dataclass(frozen=True)
class ConnectRequest:
    code: str
    wwwroot: str
    token: str
    service_user_id: int
    site_name: str
    moodle_release: str
    plugin_version: str
    plugin_release: str
    platform: PlatformFacts


@dataclass(frozen=True)
class PluginEvent:
    id: str
    type: str
    site: str
    courseid: int
    area: str
    userid: int
    time: int


class _Loose(Schema):
    class Meta:
        unknown = EXCLUDE


def _url() -> fields.Url:
    return fields.Url(required=True, schemes={"http", "https"}, require_tld=False)


class _SiteSchema(_Loose):
    name = fields.String(load_default="", validate=validate.Length(max=255))
    release = fields.String(load_default="", validate=validate.Length(max=255))
    version = fields.String(load_default="", validate=validate.Length(max=32))


class _PluginSchema(_Loose):
    release = fields.String(load_default="", validate=validate.Length(max=64))
    version = fields.String(load_default="", validate=validate.Length(max=32))


class _PlatformSchema(_Loose):
    issuer = _url()
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    deployment_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    auth_login_url = _url()
    auth_token_url = _url()
    key_set_url = _url()

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PlatformFacts:
        return PlatformFacts(**data)


class ConnectRequestSchema(_Loose):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    wwwroot = _url()
    token = fields.String(required=True, validate=validate.Length(min=8, max=128))
    service_user_id = fields.Integer(required=True, validate=validate.Range(min=1))
    site = fields.Nested(_SiteSchema, load_default=dict)
    plugin = fields.Nested(_PluginSchema, load_default=dict)
    platform = fields.Nested(_PlatformSchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ConnectRequest:
        site, plugin = data["site"], data["plugin"]
        return ConnectRequest(
            code=data["code"], wwwroot=data["wwwroot"].rstrip("/"), token=data["token"],
            service_user_id=data["service_user_id"], site_name=site.get("name", ""),
            moodle_release=site.get("release", ""), plugin_version=plugin.get("version", ""),
            plugin_release=plugin.get("release", ""), platform=data["platform"])


class PluginEventSchema(_Loose):
    id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    type = fields.String(required=True, validate=validate.OneOf((COURSE_CHANGED, USER_DELETED)))
    site = _url()
    courseid = fields.Integer(load_default=0, validate=validate.Range(min=0))
    area = fields.String(load_default="", validate=validate.OneOf(("", *AREAS)))
    userid = fields.Integer(load_default=0, validate=validate.Range(min=0))
    time = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PluginEvent:
        return PluginEvent(id=data["id"], type=data["type"], site=data["site"].rstrip("/"),
                           courseid=data["courseid"], area=data["area"], userid=data["userid"],
                           time=data["time"])


CONNECT_REQUEST = ConnectRequestSchema()
PLUGIN_EVENT = PluginEventSchema()
