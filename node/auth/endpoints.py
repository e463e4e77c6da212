"""``/api/v1/auth``: OAuth2 password flow, logout, who am I, change password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from node.auth import service
from node.deps import ActorDep, ClockDep, SessionDep, SettingsDep, client_address, oauth2_scheme

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")
    must_change_password: bool


class MeOut(BaseModel):
    id: str
    username: str
    role: str
    division_code: str
    contractor_id: str | None


class PasswordChange(BaseModel):
    old_password: str = Field(title="原密码", min_length=1, max_length=200)
    new_password: str = Field(title="新密码", min_length=1, max_length=200)


@router.post("/token", summary="登录获取令牌 / log in (OAuth2 password flow)")
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


@router.post("/logout", status_code=204, summary="注销令牌 / revoke this token")
def revoke_token(
    actor: ActorDep, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> None:
    assert token is not None
    service.logout(session, token, actor)


@router.get("/me", summary="当前账号 / who am I")
def me(actor: ActorDep) -> MeOut:
    return MeOut(
        id=str(actor.user_id),
        username=actor.username,
        role=actor.role,
        division_code=actor.division_code,
        contractor_id=str(actor.contractor_id) if actor.contractor_id else None,
    )


@router.post("/password", status_code=204, summary="修改密码 / change own password")
def change_password(body: PasswordChange, actor: ActorDep, session: SessionDep) -> None:
    service.change_password(session, actor, body.old_password, body.new_password)
