"""Obtain a token from a Genesys-style server with the official Genesys Cloud Python SDK.

    GENESYS_CLIENT_SECRET=... python genesys_sdk_client.py --host http://127.0.0.1:PORT \
        --client-id ID

Run with the venv that scripts/install-peers made (target/peers/venv/bin/python), which holds
PyPI's `purecloudplatformclientv2`. The secret comes only from the GENESYS_CLIENT_SECRET
environment variable, never from argv (SPEC §4).

What the SDK does (read from PureCloudPlatformClientV2/api_client.py, 269.0.0):

* `ApiClient(host=H).get_client_credentials_token(id, secret)` posts to
  `get_conf_url("login", H) + "/oauth/token"`. Without a gateway configuration,
  `get_conf_url` derives the login host with `re.sub(r'//(api)\\.', '//login.', H)`: only a
  host that starts with `api.` is rewritten (`https://api.mypurecloud.ie` ->
  `https://login.mypurecloud.ie`). `http://127.0.0.1:PORT` has no `api.` label, so the token
  URL is `http://127.0.0.1:PORT/oauth/token` and API calls go to `http://127.0.0.1:PORT/api/v2/...`:
  one emulator serves both, no gateway configuration is needed.
* Client authentication is `Authorization: Basic base64(id + ":" + secret)` with the pair
  encoded as ASCII and *without* RFC 6749 §2.3.1's form-urlencoding step (a non-ASCII secret
  raises UnicodeEncodeError before any request). The body is form-encoded
  `grant_type=client_credentials`, nothing else (no scope). That is why the emulator's genesys
  flavor accepts raw Basic credentials (SPEC §10).
* The response is read only for `access_token` (`expires_in` is ignored); later calls send
  `Authorization: Bearer <token>`. An HTTP status outside 200..205 raises `ApiException`.
* `Configuration()` (a process-wide singleton) reads `~/.genesyscloudpython/config` and watches
  it from a daemon thread, so the test runs this script with HOME pointing at an empty
  temporary directory: no user config can redirect it.

Prints one JSON line on success: the SDK version, the token URL it used, the access token's
length (never the token) and `token_info`, the `TokenInfo` of `GET /api/v2/tokens/me` in its
wire form (`organization`, `homeOrganization`, `authorizedScope`, `OAuthClient`, ...).
On failure prints the HTTP status and RFC 6749 error code on stderr and exits 1.
"""

import argparse
import importlib.metadata
import json
import os
import sys

import PureCloudPlatformClientV2
from PureCloudPlatformClientV2.rest import ApiException


def error_summary(exc):
    """HTTP status and error code of an ApiException, without the whole body."""
    summary = {"status": getattr(exc, "status", None), "reason": getattr(exc, "reason", None)}
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict):
        for key in ("error", "code", "description", "error_description", "message"):
            if key in body:
                summary[key] = body[key]
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="API base, e.g. http://127.0.0.1:PORT")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--timeout", type=float, default=20.0, help="HTTP timeout in seconds")
    args = parser.parse_args()

    secret = os.environ.get("GENESYS_CLIENT_SECRET")
    if not secret:
        print("genesys_sdk_client: GENESYS_CLIENT_SECRET is not set", file=sys.stderr)
        return 2

    client = PureCloudPlatformClientV2.api_client.ApiClient(host=args.host)
    client.get_http_client().set_timeout(args.timeout)
    token_url = client.get_conf_url("login", client.host) + "/oauth/token"
    try:
        client = client.get_client_credentials_token(args.client_id, secret)
    except ApiException as exc:
        print(f"genesys_sdk_client: token request FAILED {json.dumps(error_summary(exc))}",
              file=sys.stderr)
        return 1
    try:
        info = PureCloudPlatformClientV2.TokensApi(client).get_tokens_me()
    except ApiException as exc:
        print(f"genesys_sdk_client: GET /api/v2/tokens/me FAILED {json.dumps(error_summary(exc))}",
              file=sys.stderr)
        return 1

    print(json.dumps({
        "sdk": "purecloudplatformclientv2 " + importlib.metadata.version("purecloudplatformclientv2"),
        "token_url": token_url,
        "access_token_length": len(client.access_token),
        "token_info": client.sanitize_for_serialization(info),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
