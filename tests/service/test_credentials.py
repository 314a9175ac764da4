"""Credentials and files (issue 9, item 4): tokens that can be revoked and expire, a
store and data directory nobody else can read, an operator that is never locked out,
and no plaintext listener beyond loopback unless asked for."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ixchange.v1 import exchange_pb2, participants_pb2
from sqlalchemy import delete

from marketplace.errors import InvalidArgument
from marketplace.settings import load_settings
from marketplace.store.tables import tokens
from tests.conftest import ServerThread
from tests.service.client import Client

SELLER = participants_pb2.ROLE_SELLER
BUYER = participants_pb2.ROLE_BUYER


@pytest.fixture
def operator(exchange: ServerThread) -> Client:
    return Client(exchange.target, exchange.operator_token)


def works(client: Client) -> bool:
    try:
        client(client.exchange.ListOrders, exchange_pb2.ListOrdersRequest())
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err.details()
        return False
    return True


def within(seconds: float, check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def issue(operator: Client, name: str, **kw: object) -> participants_pb2.IssueTokenResponse:
    return operator(operator.participants.IssueToken, participants_pb2.IssueTokenRequest(participant=name, **kw))


def test_revoked_tokens_stop_working_at_once(operator: Client) -> None:
    acme = operator.as_participant("acme", SELLER)
    spare = issue(operator, "acme", label="noc")
    spare_client = Client("", spare.token, channel=acme.channel)
    assert works(acme) and works(spare_client)
    listed = operator(operator.participants.ListTokens, participants_pb2.ListTokensRequest(participant="acme"))
    assert {t.label for t in listed.tokens} == {"", "noc"} and all(len(t.token_id) == 12 for t in listed.tokens)
    revoked = operator(operator.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token_id=spare.token_id))
    assert [t.token_id for t in revoked.revoked] == [spare.token_id] and revoked.revoked[0].HasField("revoked_at")
    assert not works(spare_client)  # this server: at once
    assert works(acme)
    again = operator(operator.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token_id=spare.token_id))
    assert list(again.revoked) == []  # a retry changes nothing


def test_a_participant_revokes_its_own_tokens_only(operator: Client) -> None:
    acme = operator.as_participant("acme", SELLER)
    globex = operator.as_participant("globex", BUYER)
    theirs = operator(operator.participants.ListTokens, participants_pb2.ListTokensRequest(participant="globex"))
    with pytest.raises(grpc.RpcError) as err:
        acme(acme.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token_id=theirs.tokens[0].token_id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        acme(acme.participants.ListTokens, participants_pb2.ListTokensRequest(participant="globex"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert works(globex)
    token = acme.metadata[0][1].split(" ", 1)[1]
    acme(acme.participants.RevokeToken, participants_pb2.RevokeTokenRequest(token=token))
    assert not works(acme)


def test_a_token_deleted_in_the_store_stops_working_within_a_second(exchange: ServerThread, operator: Client) -> None:
    acme = operator.as_participant("acme", SELLER)
    assert works(acme)
    store = exchange.server.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(delete(tokens).where(tokens.c.participant == "acme"))
    assert within(1.5, lambda: not works(acme))


def test_tokens_expire(operator: Client) -> None:
    operator.as_participant("acme", SELLER)
    soon = Timestamp()
    soon.FromMicroseconds(time.time_ns() // 1000 + 800_000)
    short = issue(operator, "acme", expires_at=soon)
    client = Client("", short.token, channel=operator.channel)
    assert short.expires_at == soon and works(client)
    assert within(3, lambda: not works(client))
    past = Timestamp(seconds=int(time.time()) - 10)
    with pytest.raises(grpc.RpcError) as err:
        issue(operator, "acme", expires_at=past)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_store_and_data_directory_are_private(exchange: ServerThread) -> None:
    data = exchange.settings.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    url = exchange.settings.resolved_database_url
    if url.startswith("sqlite"):
        database = Path(url.removeprefix("sqlite:///"))
        files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        assert {p.name for p in files} >= {"ixchange.db", "ixchange.db-wal", "ixchange.db-shm"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_an_existing_open_data_directory_is_closed_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "ixchange.db").touch(mode=0o644)
    os.chmod(data / "ixchange.db", 0o644)
    settings = load_settings(env={}, data_dir=data, listen="127.0.0.1:0", metrics_listen="")
    server = ServerThread(settings).start()
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE((data / "ixchange.db").stat().st_mode) == 0o600
    finally:
        server.stop()


def test_secrets_readable_by_others_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "server.key"
    key.write_text("not really a key\n")
    key.chmod(0o644)
    settings = load_settings(
        env={}, data_dir=tmp_path / "d", listen="127.0.0.1:0", tls_cert=str(key), tls_key=str(key), metrics_listen=""
    )
    with pytest.raises(InvalidArgument) as err:
        ServerThread(settings).start()
    assert err.value.field == "IXCHANGE_TLS_KEY"
    creds = tmp_path / "routers.toml"
    creds.write_text("")
    creds.chmod(0o640)
    settings = load_settings(
        env={}, data_dir=tmp_path / "d", listen="127.0.0.1:0", credentials_file=str(creds), metrics_listen=""
    )
    with pytest.raises(InvalidArgument) as err:
        ServerThread(settings).start()
    assert err.value.field == "IXCHANGE_CREDENTIALS_FILE"


def test_plaintext_beyond_loopback_needs_insecure(tmp_path: Path) -> None:
    from marketplace.api.server import check_startup

    for listen in ("0.0.0.0:50051", "[::]:50051", "192.0.2.7:50051"):
        settings = load_settings(env={}, data_dir=tmp_path, listen=listen)
        with pytest.raises(InvalidArgument) as err:
            check_startup(settings)
        assert err.value.field == "IXCHANGE_LISTEN" and "--insecure" in err.value.rule
        check_startup(load_settings(env={"IXCHANGE_INSECURE": "1"}, data_dir=tmp_path, listen=listen))
    for listen in ("127.0.0.1:50051", "localhost:50051", "[::1]:50051"):
        check_startup(load_settings(env={}, data_dir=tmp_path, listen=listen))


def test_operator_is_never_locked_out_when_the_credential_cannot_be_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    settings = load_settings(env={}, data_dir=data, listen="127.0.0.1:0", metrics_listen="")
    # A directory where the credential file goes: writing it fails (for root too).
    settings.operator_token_file.mkdir()
    with pytest.raises(InvalidArgument) as err:
        ServerThread(settings).start()
    assert err.value.field == "IXCHANGE_DATA_DIR"
    settings.operator_token_file.rmdir()
    server = ServerThread(settings).start()  # nothing was committed: this start bootstraps the operator
    try:
        operator = Client(server.target, server.operator_token)
        assert works(operator)
    finally:
        server.stop()


def test_cli_as_name_is_a_participant_name_not_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from controller.cli import main

    secret = tmp_path / "x.token"
    secret.write_text("ixc_" + "a" * 43 + "\n")
    data = tmp_path / "data"
    (data / "credentials").mkdir(parents=True)
    code = main(["--data-dir", str(data), "--as", "../../x", "orders"])
    assert code == 2
    assert "not a participant name" in capsys.readouterr().err
