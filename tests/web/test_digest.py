"""HTTP Digest (RFC 7616) as the phones' routes use it: the RFC's own examples, parsing,
and nonces."""

from __future__ import annotations

import pytest

from provisioner.web.digest import (
    Nonces,
    NonceState,
    challenges,
    check_response,
    ha1_all,
    parse_authorization,
    response_for,
)

# RFC 7616 section 3.9.1
RFC = {
    "username": "Mufasa",
    "password": "Circle of Life",
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "uri": "/dir/index.html",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}
RFC_RESPONSES = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


def rfc_header(algorithm: str, response: str) -> str:
    return (
        f'Digest username="Mufasa", realm="{RFC["realm"]}", uri="{RFC["uri"]}", '
        f'algorithm={algorithm}, nonce="{RFC["nonce"]}", nc=00000001, '
        f'cnonce="{RFC["cnonce"]}", qop=auth, response="{response}", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_the_rfc_7616_examples(algorithm: str) -> None:
    credentials = parse_authorization(rfc_header(algorithm, RFC_RESPONSES[algorithm]))
    assert credentials is not None
    assert credentials.algorithm == algorithm
    ha1 = ha1_all(RFC["username"], RFC["realm"], RFC["password"])
    assert response_for(credentials, ha1[algorithm], "GET") == RFC_RESPONSES[algorithm]
    assert check_response(credentials, "Mufasa", ha1, "GET")
    assert not check_response(credentials, "Mufasa", ha1, "PUT")
    assert not check_response(credentials, "Simba", ha1, "GET")
    wrong = ha1_all(RFC["username"], RFC["realm"], "Circle of Death")
    assert not check_response(credentials, "Mufasa", wrong, "GET")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "Digest",
        "Digest garbage",
        'Digest username="a", realm="r", nonce="n", uri="/", response="x"',  # no qop
        rfc_header("SHA-512-256", "x"),
        rfc_header("MD5", "x").replace("qop=auth", "qop=auth-int"),
        "Digest " + "a" * 5000,
    ],
)
def test_what_is_not_supported_digest_is_no_credentials(header: str | None) -> None:
    assert parse_authorization(header) is None


def test_quoted_values_may_hold_commas_and_escaped_quotes() -> None:
    header = rfc_header("MD5", "x").replace('username="Mufasa"', r'username="a\"b, c"')
    credentials = parse_authorization(header)
    assert credentials is not None
    assert credentials.username == 'a"b, c'


def test_nonces_are_ours_expire_and_resist_forgery() -> None:
    nonces = Nonces(lifetime=300)
    nonce = nonces.issue(now=1000.0)
    assert nonces.check(nonce, now=1100.0) is NonceState.VALID
    assert nonces.check(nonce, now=1301.0) is NonceState.STALE
    issued, _, mac = nonce.rpartition(".")
    assert nonces.check(f"9{issued}.{mac}", now=1100.0) is NonceState.INVALID
    assert nonces.check("1000.000.forged", now=1100.0) is NonceState.INVALID
    assert Nonces().check(nonce, now=1100.0) is NonceState.INVALID  # another secret


def test_both_algorithms_are_offered_sha256_first() -> None:
    offered = challenges("provisioner", "n", stale=True)
    assert [c.split("algorithm=")[1].split(",")[0] for c in offered] == ["SHA-256", "MD5"]
    assert all("stale=true" in c and 'qop="auth"' in c for c in offered)


def test_nodes_sharing_a_secret_accept_each_others_nonces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provisioner.domain.errors import InvalidValue
    from provisioner.web.phones import PhoneOptions

    monkeypatch.setenv("PROVISIONER_NONCE_SECRET", "s" * 32)
    first, second = Nonces(PhoneOptions().nonce_secret), Nonces(PhoneOptions().nonce_secret)
    assert second.check(first.issue()) is NonceState.VALID
    monkeypatch.setenv("PROVISIONER_NONCE_SECRET", "short")
    with pytest.raises(InvalidValue, match="PROVISIONER_NONCE_SECRET"):
        PhoneOptions()
