"""TLS and mutual TLS on the real server, with certificates made by openssl."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from ixchange.v1 import exchange_pb2

from marketplace.settings import load_settings
from tests.conftest import ServerThread
from tests.service.client import Client


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ixchange test CA",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
        )
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(d / f"{name}.ext"),
            "-out",
            str(d / f"{name}.pem"),
        )
    return d


def serve(tmp_path: Path, pki: Path, mutual: bool) -> Iterator[ServerThread]:
    settings = load_settings(
        env={},
        data_dir=tmp_path,
        listen="127.0.0.1:0",
        metrics_listen="",
        tls_cert=str(pki / "server.pem"),
        tls_key=str(pki / "server.key"),
        tls_client_ca=str(pki / "ca.pem") if mutual else "",
    )
    server = ServerThread(settings).start()
    yield server
    server.stop()


def channel(server: ServerThread, pki: Path, with_client_cert: bool) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(
        (pki / "ca.pem").read_bytes(),
        (pki / "client.key").read_bytes() if with_client_cert else None,
        (pki / "client.pem").read_bytes() if with_client_cert else None,
    )
    return grpc.secure_channel(server.target, creds)


def test_tls_serves_and_plaintext_is_refused(tmp_path: Path, pki: Path) -> None:
    for server in serve(tmp_path, pki, mutual=False):
        client = Client("", server.operator_token, channel=channel(server, pki, with_client_cert=False))
        assert client(client.exchange.GetBook, exchange_pb2.GetBookRequest()).books == []
        plain = Client(server.target, server.operator_token)
        with pytest.raises(grpc.RpcError) as err:
            plain(plain.exchange.GetBook, exchange_pb2.GetBookRequest())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate(tmp_path: Path, pki: Path) -> None:
    for server in serve(tmp_path, pki, mutual=True):
        good = Client("", server.operator_token, channel=channel(server, pki, with_client_cert=True))
        assert good(good.exchange.GetBook, exchange_pb2.GetBookRequest()).books == []
        anonymous = Client("", server.operator_token, channel=channel(server, pki, with_client_cert=False))
        with pytest.raises(grpc.RpcError) as err:
            anonymous(anonymous.exchange.GetBook, exchange_pb2.GetBookRequest())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_cli_talks_mutual_tls(
    tmp_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from controller.cli import main

    for server in serve(tmp_path, pki, mutual=True):
        monkeypatch.setenv("IXCHANGE_CA_CERT", str(pki / "ca.pem"))
        monkeypatch.setenv("IXCHANGE_CLIENT_CERT", str(pki / "client.pem"))
        monkeypatch.setenv("IXCHANGE_CLIENT_KEY", str(pki / "client.key"))
        assert main(["--server", server.target, "--data-dir", str(tmp_path), "book"]) == 0
        assert "the book is empty" in capsys.readouterr().out
        monkeypatch.delenv("IXCHANGE_CLIENT_CERT")
        monkeypatch.delenv("IXCHANGE_CLIENT_KEY")
        assert main(["--server", server.target, "--data-dir", str(tmp_path), "book"]) == 1
        assert "UNAVAILABLE" in capsys.readouterr().err


def test_cli_given_a_server_list_checks_tls_against_the_first_name(
    tmp_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """IXCHANGE_SERVER with several servers (high availability): one channel over all their
    addresses, TLS checked against the first server's name (here its IP), calls going to
    the one whose health says SERVING (the other address has nothing listening)."""
    from controller.cli import main
    from tests.service.test_crash_recovery import free_port

    for server in serve(tmp_path, pki, mutual=False):
        monkeypatch.setenv("IXCHANGE_CA_CERT", str(pki / "ca.pem"))
        servers = f"{server.target},127.0.0.1:{free_port()}"
        assert main(["--server", servers, "--data-dir", str(tmp_path), "book"]) == 0
        assert "the book is empty" in capsys.readouterr().out


def _bind(operator: Client, subject: str) -> None:
    from ixchange.v1 import participants_pb2

    request = participants_pb2.SetCertificateSubjectRequest(participant="acme", cert_subject=subject)
    operator(operator.participants.SetCertificateSubject, request)


def _call(client: Client) -> grpc.StatusCode:
    try:
        client(client.exchange.ListOrders, exchange_pb2.ListOrdersRequest())
    except grpc.RpcError as err:
        return err.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_a_participant_can_be_bound_to_its_certificate_subject(tmp_path: Path, pki: Path) -> None:
    """With mutual TLS any certificate the CA signed gets through; a participant bound to
    a subject calls with that certificate only, whoever else holds its token."""
    from ixchange.v1 import participants_pb2

    for server in serve(tmp_path, pki, mutual=True):
        operator = Client("", server.operator_token, channel=channel(server, pki, with_client_cert=True))
        acme = operator.as_participant("acme", participants_pb2.ROLE_SELLER)
        assert _call(acme) == grpc.StatusCode.OK
        for subject, expected in (
            ("acme-trading", grpc.StatusCode.PERMISSION_DENIED),  # a certificate acme does not present
            ("client", grpc.StatusCode.OK),  # the common name of the one it presents
            ("CN=client", grpc.StatusCode.OK),  # or its whole subject
            ("CN=someone-else", grpc.StatusCode.PERMISSION_DENIED),
            ("", grpc.StatusCode.OK),  # unbound
        ):
            _bind(operator, subject)
            assert _call(acme) == expected, subject
        listed = operator(operator.participants.ListParticipants, participants_pb2.ListParticipantsRequest())
        assert {p.name: p.cert_subject for p in listed.participants}["acme"] == ""
