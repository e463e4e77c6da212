"""``/api/v1/auth``: OAuth2 password flow, page sessions (cookie + CSRF), logout,
who am I, change password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlmodel import Session

from node.access import SelfDep, public
from node.auth import service
from node.auth.tokens import SESSION, SESSION_COOKIE, csrf_token
from node.config import Environment, NodeSettings
from node.deps import ClockDep, SessionDep, SettingsDep, client_address
from node.models import User
from sync.clock import Clock

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_LOGIN = public("the login itself: user name and password are the credential")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")
    must_change_password: bool


class SessionOut(BaseModel):
    csrf_token: str | None = Field(
        description="每个 POST/PUT/PATCH/DELETE 请求须在 X-CSRF-Token 中携带 / send as "
        "X-CSRF-Token with every unsafe request of this session"
    )
    expires_in: int | None = None
    username: str
    role: str
    must_change_password: bool


class MeOut(BaseModel):
    id: str
    username: str
    role: str
    division_code: str
    contractor_id: str | None
    must_change_password: bool


class PasswordChange(BaseModel):
    old_password: str = Field(title="原密码（或一次性密码）", min_length=1, max_length=200)
    new_password: str = Field(title="新密码", min_length=1, max_length=200)


def log_in_session(
    request: Request,
    session: Session,
    settings: NodeSettings,
    clock: Clock,
    username: str,
    password: str,
) -> tuple[str, User]:
    """Check the password and open a page session (here and on the login page,
    ``node/web/login.py``): its secret, shown once, and the account."""
    return service.login(
        session,
        username,
        password,
        clock.now(),
        client_address(request, settings),
        settings.session_ttl_s,
        kind=SESSION,
    )


def set_session_cookie(response: Response, secret: str, settings: NodeSettings) -> None:
    """The page session's cookie: HttpOnly, SameSite=Lax, Secure in production."""
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=settings.environment == Environment.production,
        path="/",
    )


@router.post(
    "/token",
    summary="登录获取令牌 / log in (OAuth2 password flow)",
    dependencies=[_LOGIN],
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
        clock.now(),
        client_address(request, settings),
        settings.token_ttl_s,
    )
    return TokenOut(
        access_token=token,
        expires_in=settings.token_ttl_s,
        must_change_password=user.must_change_password,
    )


@router.post(
    "/session",
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
    """Sets an HttpOnly, SameSite=Lax cookie (Secure in production) and answers the CSRF
    token that every unsafe request of the session must carry in `X-CSRF-Token`."""
    secret, user = log_in_session(request, session, settings, clock, form.username, form.password)
    set_session_cookie(response, secret, settings)
    return SessionOut(
        csrf_token=csrf_token(settings.secret_key, secret),
        expires_in=settings.session_ttl_s,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
    )


@router.get("/session", summary="当前会话 / the current session")
def read_session(request: Request, actor: SelfDep, settings: SettingsDep) -> SessionOut:
    """The CSRF token of the cookie session (null when called with a bearer token)."""
    secret = request.cookies.get(SESSION_COOKIE) if actor.credential_kind == SESSION else None
    return SessionOut(
        csrf_token=csrf_token(settings.secret_key, secret) if secret else None,
        username=actor.username,
        role=actor.role,
        must_change_password=actor.must_change_password,
    )


@router.delete("/session", status_code=204, summary="退出页面会话 / log out (session)")
def close_session(actor: SelfDep, session: SessionDep, response: Response) -> None:
    service.logout(session, actor)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/logout", status_code=204, summary="注销令牌 / revoke this token")
def revoke_token(actor: SelfDep, session: SessionDep) -> None:
    service.logout(session, actor)


@router.get("/me", summary="当前账号 / who am I")
def me(actor: SelfDep) -> MeOut:
    return MeOut(
        id=str(actor.user_id),
        username=actor.username,
        role=actor.role,
        division_code=actor.division_code,
        contractor_id=str(actor.contractor_id) if actor.contractor_id else None,
        must_change_password=actor.must_change_password,
    )


@router.post("/password", status_code=204, summary="修改密码 / change own password")
def change_password(body: PasswordChange, actor: SelfDep, session: SessionDep) -> None:
    service.change_password(session, actor, body.old_password, body.new_password)
