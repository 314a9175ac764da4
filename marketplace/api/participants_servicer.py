"""gRPC servicer of ParticipantsService: participants, credentials, agreements."""

from __future__ import annotations

import re
from typing import Any

from ixchange.v1 import participants_pb2, participants_pb2_grpc

from marketplace import limits
from marketplace.api import convert, paging
from marketplace.api.quotas import ROW_COST
from marketplace.api.servicers import Api
from marketplace.deals import validate_agreement
from marketplace.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from marketplace.participants import (
    TOKEN_ID_LENGTH,
    Participant,
    Role,
    new_token,
    token_hash,
    validate_participant,
)

TOKEN_ID_SHAPE = re.compile(f"[0-9a-f]{{{TOKEN_ID_LENGTH}}}")


class ParticipantsServicer(participants_pb2_grpc.ParticipantsServiceServicer):
    """ixchange.v1.ParticipantsService."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seq = api.seq
        self.auth = api.auth
        self.store = api.seq.store

    async def _read(self, who: Participant, read: Any, *args: Any) -> Any:
        return await self.api.reads.run(who.name, read, *args)

    async def RegisterParticipant(self, request: participants_pb2.RegisterParticipantRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.OPERATOR)
        p = convert.participant_from(request.participant, self.seq.now())
        validate_participant(p)
        stored = await self._read(who, self.store.add_participant, p)
        return participants_pb2.RegisterParticipantResponse(participant=convert.participant_msg(stored))

    async def ListParticipants(self, request: participants_pb2.ListParticipantsRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.OPERATOR)
        size = paging.page_size(request.page_size)
        everyone = sorted(await self._read(who, self.store.participants), key=lambda p: p.name)
        found, token = paging.page_of(everyone, lambda p: p.name, request.page_token, size, str)
        self.auth.charge(who, len(found) * ROW_COST)
        return participants_pb2.ListParticipantsResponse(
            participants=[convert.participant_msg(p) for p in found], next_page_token=token
        )

    async def IssueToken(self, request: participants_pb2.IssueTokenRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.OPERATOR)
        name = limits.PARTICIPANT_NAME.check("participant", request.participant)
        label = limits.TOKEN_LABEL.check("label", request.label)
        expires_at = convert.micros(request, "expires_at")
        if expires_at and expires_at <= self.seq.now():
            raise InvalidArgument("expires_at", "must be in the future")
        holder = await self._read(who, self.store.participant, name)
        if holder is None:
            raise NotFound("participant", f"no participant {name}")
        token = new_token()
        info = await self._read(who, self.store.add_token, token_hash(token), name, self.seq.now(), expires_at, label)
        self.auth.learn(token_hash(token), holder, expires_at)
        return participants_pb2.IssueTokenResponse(
            participant=name, token=token, token_id=info.token_id, expires_at=convert.ts(expires_at)
        )

    async def RevokeToken(self, request: participants_pb2.RevokeTokenRequest, context: Any) -> Any:
        """By id: an operator's any token, a participant's own. By the token itself: any
        holder may revoke it (whoever holds it could use it anyway)."""
        who = await self.auth.participant(context)
        if bool(request.token_id) == bool(request.token):
            raise InvalidArgument("token_id", "give either token_id or token")
        if request.token:
            prefix, owner = token_hash(request.token.strip()), None
        else:
            if not TOKEN_ID_SHAPE.fullmatch(request.token_id):
                raise InvalidArgument("token_id", f"must be {TOKEN_ID_LENGTH} hex digits as ListTokens shows")
            prefix, owner = request.token_id, None if who.is_operator else who.name
        now = self.seq.now()
        matched = await self._read(who, self.store.revoke_tokens, owner, prefix, now)
        if not matched:
            raise NotFound("token_id", "no such token of yours")
        self.auth.forget_prefix(prefix)  # this server stops accepting it now, not at the next recheck
        revoked = [t for t in matched if t.revoked_at == now]
        return participants_pb2.RevokeTokenResponse(revoked=[convert.token_info_msg(t) for t in revoked])

    async def ListTokens(self, request: participants_pb2.ListTokensRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        name: str | None = request.participant or None
        if name is not None:  # checked before it reaches the store (PostgreSQL refuses a NUL in text)
            limits.PARTICIPANT_NAME.check("participant", name)
        if not who.is_operator:
            if name not in (None, who.name):
                raise PermissionDenied("participant", "a participant lists its own tokens only")
            name = who.name
        found = await self._read(who, self.store.list_tokens, name)
        return participants_pb2.ListTokensResponse(tokens=[convert.token_info_msg(t) for t in found])

    async def SetCertificateSubject(self, request: participants_pb2.SetCertificateSubjectRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.OPERATOR)
        name = limits.PARTICIPANT_NAME.check("participant", request.participant)
        subject = limits.CERT_SUBJECT.check("cert_subject", request.cert_subject)
        stored = await self._read(who, self.store.set_cert_subject, name, subject)
        if stored is None:
            raise NotFound("participant", f"no participant {name}")
        await self.auth.reload()  # participants are held with their tokens
        return participants_pb2.SetCertificateSubjectResponse(participant=convert.participant_msg(stored))

    async def RegisterAgreement(self, request: participants_pb2.RegisterAgreementRequest, context: Any) -> Any:
        who = await self.auth.require(context, Role.OPERATOR)
        agreement = convert.agreement_from(request.agreement)
        validate_agreement(agreement)
        for field, name, role in (
            ("agreement.buyer", agreement.buyer, Role.BUYER),
            ("agreement.seller", agreement.seller, Role.SELLER),
        ):
            party: Participant | None = await self._read(who, self.store.participant, name)
            if party is None:
                raise NotFound(field, f"no participant {name}")
            if not party.has(role):
                raise FailedPrecondition(field, f"{name} lacks the {role.name} role")
        stored, released = await self.seq.run(lambda engine, now: engine.register_agreement(agreement, now))
        return participants_pb2.RegisterAgreementResponse(
            agreement=convert.agreement_msg(stored), released_deal_ids=[d.deal_id for d in released]
        )

    async def ListAgreements(self, request: participants_pb2.ListAgreementsRequest, context: Any) -> Any:
        who = await self.auth.participant(context)
        size = paging.page_size(request.page_size)
        mine = sorted(
            (a for a in self.seq.engine.agreements.values() if who.is_operator or who.name in (a.buyer, a.seller)),
            key=lambda a: a.agreement_id,
        )
        found, token = paging.page_of(mine, lambda a: a.agreement_id, request.page_token, size, int)
        self.auth.charge(who, len(found) * ROW_COST)
        return participants_pb2.ListAgreementsResponse(
            agreements=[convert.agreement_msg(a) for a in found], next_page_token=token
        )
