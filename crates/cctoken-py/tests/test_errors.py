"""Each exception class from a scripted emulator failure, with its attributes; and a canary
secret looked for in every log record, repr and exception text."""

from __future__ import annotations

import logging
import pickle

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import CANARY_ID, CANARY_SECRET, Records, source


def fetch(emu: Emulator, **kw) -> cctoken.Token:  # type: ignore[no-untyped-def]
    kw.setdefault("client_id", emu.demo_client_id)
    kw.setdefault("client_secret", emu.demo_client_secret)
    return cctoken.TokenSource.generic(token_url=emu.token_url, cache="memory", **kw).token()


def test_the_hierarchy() -> None:
    assert issubclass(cctoken.InvalidClient, cctoken.Rejected)
    assert issubclass(cctoken.UnauthorizedClient, cctoken.Rejected)
    assert issubclass(cctoken.InvalidScope, cctoken.Rejected)
    assert issubclass(cctoken.RateLimited, cctoken.Unavailable)
    for c in (cctoken.ConfigError, cctoken.Rejected, cctoken.Unavailable):
        assert issubclass(c, cctoken.TokenError) and issubclass(c, Exception)


def test_invalid_client(emu: Emulator) -> None:
    with pytest.raises(cctoken.InvalidClient) as e:
        fetch(emu, client_secret="wrong-secret")
    err = e.value
    assert (err.kind, err.status, err.exit_code) == ("invalid_client", 401, 3)
    assert err.hint
    assert err.fingerprint is not None and err.fingerprint.startswith("len=12 sha256:")
    assert "wrong-secret" not in str(err) and err.hint in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cctoken.InvalidClient and again.kind == err.kind
    # The hint speaks Python: keywords, not the CLI's flags.
    assert 'auth="post"' in err.hint and "--auth" not in str(err), err.hint


def test_messages_name_keywords_not_flags() -> None:
    with pytest.raises(cctoken.ConfigError) as e:
        cctoken.TokenSource.generic(token_url="http://127.0.0.1:9/t", client_id="c", client_secret="s3cret\t")
    text = str(e.value)
    assert "--keep-secret-bytes" not in text and "tab" in text, text


def test_unauthorized_client(emu: Emulator) -> None:
    with pytest.raises(cctoken.UnauthorizedClient) as e:
        fetch(emu, client_id="demo-nogrant")
    assert e.value.kind == "unauthorized_client" and e.value.exit_code == 3


def test_invalid_scope(emu: Emulator) -> None:
    with pytest.raises(cctoken.InvalidScope) as e:
        fetch(emu, scopes="admin")
    assert e.value.kind == "invalid_scope" and e.value.exit_code == 3


def test_rejected() -> None:
    # CXone's password grant with a wrong access key secret: invalid_grant.
    with Emulator("cxone") as emu:
        with pytest.raises(cctoken.Rejected) as e:
            cctoken.TokenSource.cxone(
                client_id=emu.demo_client_id, client_secret=emu.demo_client_secret,
                access_key_id=emu.demo_access_key_id or "", access_key_secret="not-the-key",
                issuer=emu.url, cache="memory",
            ).token()
    assert type(e.value) is cctoken.Rejected
    assert (e.value.kind, e.value.exit_code) == ("invalid_grant", 3)
    assert "not-the-key" not in str(e.value)


def test_unavailable(emu: Emulator) -> None:
    emu.fault({"kind": "status", "status": 503, "count": 50})
    with pytest.raises(cctoken.Unavailable) as e:
        fetch(emu)
    assert type(e.value) is cctoken.Unavailable
    assert (e.value.status, e.value.exit_code) == (503, 4)


def test_rate_limited(emu: Emulator) -> None:
    emu.fault({"kind": "rate_limit", "retry_after": 1, "count": 50})
    with pytest.raises(cctoken.RateLimited) as e:
        fetch(emu)
    assert e.value.kind == "rate_limited" and e.value.status == 429
    assert e.value.retry_after == 1.0


def test_config_error() -> None:
    with pytest.raises(cctoken.ConfigError) as e:
        cctoken.TokenSource.generic(client_id="x", client_secret="s")
    assert e.value.exit_code == 2 and e.value.kind == "config"


def test_no_canary_in_any_log_record_repr_or_exception(canary_emulator: Emulator, logs: Records) -> None:
    emu = canary_emulator
    texts: list[str] = []
    src = cctoken.TokenSource.generic(token_url=emu.token_url, client_id=CANARY_ID, client_secret=CANARY_SECRET,
                                      scopes=["read"])
    t = src.token()
    texts += [repr(src), repr(t), str(t.fingerprint)]
    src.invalidate(t.access_token)
    src.token()
    # Failures: a wrong scope, faults, and the canary presented as a wrong secret elsewhere.
    for kw in ({"scopes": ["nope"]}, {}):
        bad = cctoken.TokenSource.generic(token_url=emu.token_url, client_id=CANARY_ID,
                                          client_secret=CANARY_SECRET, cache="memory", **kw)
        if not kw:
            emu.fault({"kind": "html", "status": 400, "count": 1})
        try:
            bad.token()
        except cctoken.TokenError as e:
            texts += [str(e), repr(e), str(e.hint), str(e.message), str(e.fingerprint)]
    try:
        cctoken.TokenSource.generic(token_url=emu.token_url, client_id="demo-client",
                                    client_secret=CANARY_SECRET, cache="memory").token()
    except cctoken.InvalidClient as e:
        texts += [str(e), repr(e)]
    cctoken._native._flush_logs()
    texts += logs.texts()
    assert len(logs.records) > 0, "the core's events reach the cctoken logger"
    assert any(r.name.startswith("cctoken") for r in logs.records)
    for text in texts:
        assert CANARY_SECRET not in text
        assert t.access_token not in text


def test_log_records_use_the_cctoken_logger_hierarchy(emu: Emulator, logs: Records) -> None:
    source(emu, cache="memory").token()
    cctoken._native._flush_logs()
    assert all(r.name == "cctoken" or r.name.startswith("cctoken.") for r in logs.records)
    assert all(r.levelno in (5, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR) for r in logs.records)
