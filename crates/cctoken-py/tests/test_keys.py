"""Keys from Python (SPEC §14 through §12's keywords, named like the profile keys): a
``private_key_file=`` signs a private_key_jwt assertion that the emulator verifies with the
client's registered JWK; a wrong ``key_id=`` is ``InvalidClient`` naming the key by its
thumbprint. The key is made at test time with ``openssl``; no key material appears in any
exception, repr or log record."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

import cctoken
from cctoken.testing import Emulator
from conftest import require_peer


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _p256_key(tmp_path: Path) -> tuple[Path, str, str]:
    """A P-256 private key file, its PEM text and its public JWK as TOML."""
    openssl = shutil.which("openssl")
    if openssl is None:
        require_peer("the openssl command (apt install openssl)")
        raise AssertionError("unreachable")
    key = tmp_path / "key.pem"
    subprocess.run(
        [openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    der = subprocess.run(
        [openssl, "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    point = der[-65:]
    jwk = (
        f'{{ kty = "EC", crv = "P-256", kid = "k1", x = "{_b64(point[1:33])}", '
        f'y = "{_b64(point[33:])}" }}'
    )
    return key, key.read_text(), jwk


def test_private_key_jwt_from_python(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key, pem, jwk = _p256_key(tmp_path)
    config = f'[[clients]]\nid = "py-keyed"\njwks = {{ keys = [ {jwk} ] }}\n'
    canaries = [line[:16] for line in pem.splitlines() if not line.startswith("-----") and len(line) >= 16]
    caplog.set_level(logging.DEBUG, logger="cctoken")
    with Emulator(config=config, demo=False) as emu:
        src = cctoken.TokenSource.generic(
            issuer=emu.url, client_id="py-keyed", private_key_file=key, key_id="k1", cache="memory"
        )
        token = src.token()
        assert token.token_type == "Bearer"
        last = emu.activity()[-1]
        assert (last["outcome"], last.get("auth_method")) == ("issued", "private_key_jwt"), last
        wrong = cctoken.TokenSource.generic(
            issuer=emu.url, client_id="py-keyed", private_key_file=str(key), key_id="k2", cache="memory"
        )
        with pytest.raises(cctoken.InvalidClient) as e:
            wrong.token()
        assert "kid 'k2' not in the client's JWKS" in emu.activity()[-1]["reason"]
        text = str(e.value)
        assert "thumbprint" in text and "(kid k2)" in text, text
        with pytest.raises(cctoken.ConfigError, match="alg="):
            cctoken.TokenSource.generic(issuer=emu.url, client_id="py-keyed", private_key_file=key, alg="HS999")
        seen = [text, repr(e.value), repr(src), repr(token)] + [r.getMessage() for r in caplog.records]
    for s in seen:
        for c in canaries:
            assert c not in s, "private key material in a Python-visible string"
