"""``/api/v1/auth`` (login, bearer tokens, page sessions) and ``/api/v1/hub-users``
(the bureau's own administrators and staff)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from central.access import ADMIN, BUREAU, Scope, allow, public
from central.auth import service
from central.auth.tokens import SESSION_COOKIE, csrf_token, set_session_cookie
from central.deps import ClockDep, SessionDep, SettingsDep, client_address
from central.models import HubUser
from central.principal import HubPrincipal

router = APIRouter(tags=["auth"])

_SELF = allow(BUREAU, Scope.SELF, "one's own login", password_change_ok=True)
SelfDep = Annotated[HubPrincipal, _SELF]
AdminDep = Annotated[HubPrincipal, allow(ADMIN, Scope.NATIONAL, "the bureau's own users")]

_LOGIN = public("the login itself: user name and password are the credential")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")
    must_change_password: bool


class SessionOut(BaseModel):
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token with every POST/PUT/PATCH/DELETE of this session"
    )
    expires_in: int | None = None
    username: str
    role: str
    must_change_password: bool


class MeOut(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    must_change_password: bool


class PasswordChange(BaseModel):
    old_password: str = Field(title="原密码（或一次性密码）", min_length=1, max_length=200)
    new_password: str = Field(title="新密码", min_length=1, max_length=200)


class HubUserCreate(BaseModel):
    username: str = Field(
        min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", title="用户名"
    )
    display_name: str = Field(min_length=1, max_length=100, title="姓名")
    role: str = Field(
        pattern=r"^national_(admin|staff)$", title="角色", examples=["national_staff"]
    )
    password: str = Field(min_length=1, max_length=200, title="初始密码（首次登录须修改）")


class HubUserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    is_active: bool
    must_change_password: bool
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, user: HubUser) -> HubUserOut:
        return cls.model_validate(user, from_attributes=True)


class OneTimeCodeOut(BaseModel):
    user: HubUserOut
    one_time_code: str = Field(description="只显示这一次 / shown this once only")
    expires_at: datetime


@router.post(
    "/api/v1/auth/token",
    summary="登录获取令牌 / log in (OAuth2 password flow)",
    dependencies=[_LOGIN],
    responses={401: {"description": "用户名或密码错误 / bad credentials"}},
)
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenOut:
    token, user = service.login(
        session,
        form.username,
        form.password,
        now=clock.now(),
        client=client_address(request),
        ttl_s=settings.token_ttl_s,
    )
    return TokenOut(
        access_token=token,
        expires_in=settings.token_ttl_s,
        must_change_password=user.must_change_password,
    )


@router.post(
    "/api/v1/auth/session",
    summary="页面登录（Cookie 会话）/ log in for pages (session cookie)",
    dependencies=[_LOGIN],
)
def open_session(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> SessionOut:
    """Sets an HttpOnly, SameSite=Lax cookie (Secure in production); answers the CSRF
    token every unsafe request of the session must carry in ``X-CSRF-Token``."""
    secret, user = service.login(
        session,
        form.username,
        form.password,
        now=clock.now(),
        client=client_address(request),
        ttl_s=settings.session_ttl_s,
        kind=service.SESSION,
    )
    set_session_cookie(response, secret, settings)
    return SessionOut(
        csrf_token=csrf_token(settings.secret_key, secret),
        expires_in=settings.session_ttl_s,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
    )


@router.get("/api/v1/auth/session", summary="当前会话 / the current session")
def read_session(request: Request, principal: SelfDep, settings: SettingsDep) -> SessionOut:
    """The CSRF token of the cookie session (null when called with a bearer token)."""
    secret = request.cookies.get(SESSION_COOKIE) if principal.credential_kind == "session" else None
    return SessionOut(
        csrf_token=csrf_token(settings.secret_key, secret) if secret else None,
        username=principal.username,
        role=principal.role,
        must_change_password=principal.must_change_password,
    )


@router.delete("/api/v1/auth/session", status_code=204, summary="退出页面会话 / log out (session)")
def close_session(principal: SelfDep, session: SessionDep, response: Response) -> None:
    service.logout(session, principal)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/api/v1/auth/logout", status_code=204, summary="注销令牌 / revoke this token")
def revoke_token(principal: SelfDep, session: SessionDep) -> None:
    service.logout(session, principal)


@router.get("/api/v1/auth/me", summary="当前账号 / who am I")
def me(principal: SelfDep) -> MeOut:
    return MeOut(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        must_change_password=principal.must_change_password,
    )


@router.post("/api/v1/auth/password", status_code=204, summary="修改密码 / change own password")
def change_password(body: PasswordChange, principal: SelfDep, session: SessionDep) -> None:
    service.change_password(session, principal, body.old_password, body.new_password)


# ---------------------------------------------------------------- the bureau's users


@router.post("/api/v1/hub-users", status_code=201, summary="创建国家中心账号 / create a hub user")
def create_hub_user(body: HubUserCreate, principal: AdminDep, session: SessionDep) -> HubUserOut:
    user = service.create_user(
        session,
        principal.actor,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        now=principal.now,
    )
    return HubUserOut.of(user)


@router.get("/api/v1/hub-users", summary="国家中心账号列表 / hub users")
def list_hub_users(principal: AdminDep, session: SessionDep) -> list[HubUserOut]:
    return [HubUserOut.of(u) for u in service.list_users(session)]


@router.post("/api/v1/hub-users/{user_id}/disable", summary="停用国家中心账号 / disable a hub user")
def disable_hub_user(user_id: uuid.UUID, principal: AdminDep, session: SessionDep) -> HubUserOut:
    return HubUserOut.of(service.set_active(session, principal, user_id, False))


@router.post("/api/v1/hub-users/{user_id}/enable", summary="启用国家中心账号 / enable a hub user")
def enable_hub_user(user_id: uuid.UUID, principal: AdminDep, session: SessionDep) -> HubUserOut:
    return HubUserOut.of(service.set_active(session, principal, user_id, True))


@router.post(
    "/api/v1/hub-users/{user_id}/password-reset",
    summary="重置国家中心账号密码（一次性密码）/ reset a hub user's password (one-time code)",
)
def reset_hub_user(
    user_id: uuid.UUID, principal: AdminDep, session: SessionDep, settings: SettingsDep
) -> OneTimeCodeOut:
    user, code, expires = service.reset_password(
        session, principal, user_id, settings.one_time_code_ttl_s
    )
    return OneTimeCodeOut(user=HubUserOut.of(user), one_time_code=code, expires_at=expires)
