"""Time the LTI login → launch round trip through the app, against a bare PyJWT verify.

    .venv/bin/python benchmarks/lti_launch.py [N]

Prints the per-request latency of `/lti/login` and `/lti/launch` (Flask test client, SQLite in a
temporary folder, platform JWKS answered in memory) and, as the same-run baseline, one RS256
`jwt.decode` of the same kind of token: the share of a launch that signature checking takes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import responses
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from middleware import create_app  # noqa: E402
from middleware.config import Settings  # noqa: E402
from middleware.db import database  # noqa: E402
from middleware.models import Base, Deployment, Platform  # noqa: E402

ISSUER, CLIENT_ID = "http://127.0.0.1:8081", "bench-client"
JWKS_URL = ISSUER + "/mod/lti/certs.php"
TARGET = "http://127.0.0.1:8090/lti/launch"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def claims(nonce: str, subject: str) -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER, "aud": CLIENT_ID, "sub": subject, "nonce": nonce, "iat": now,
        "exp": now + 60, CLAIM + "deployment_id": "1", CLAIM + "target_link_uri": TARGET,
        CLAIM + "message_type": "LtiResourceLinkRequest", CLAIM + "version": "1.3.0",
        CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        CLAIM + "context": {"id": "2", "title": "Course"},
        CLAIM + "resource_link": {"id": "1"},
        CLAIM + "launch_presentation": {"locale": "it"},
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(rounds: int) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k", "alg": "RS256"}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(env="test", testing=True, instance_path=Path(scratch),
                            database_url=f"sqlite:///{scratch}/bench.db", queue_url="memory://",
                            secret_key=uuid.uuid4().hex,
                            encryption_key=Fernet.generate_key().decode(),
                            public_base_url="http://127.0.0.1:8090", log_level="WARNING")
        app = create_app(settings)
        Base.metadata.create_all(database(app).engine)
        with app.app_context(), database(app).transaction() as session:
            platform = Platform(issuer=ISSUER, client_id=CLIENT_ID, auth_login_url=ISSUER + "/a",
                                auth_token_url=ISSUER + "/t", key_set_url=JWKS_URL)
            platform.deployments.append(Deployment(deployment_id="1"))
            session.add(platform)
        client = app.test_client()
        login_times, launch_times, decode_times = [], [], []
        with responses.RequestsMock() as mock:
            mock.get(JWKS_URL, json={"keys": [jwk]})
            for index in range(rounds):
                started = time.perf_counter()
                response = client.post("/lti/login", data={
                    "iss": ISSUER, "login_hint": "u", "target_link_uri": TARGET,
                    "client_id": CLIENT_ID, "lti_deployment_id": "1"})
                login_times.append(time.perf_counter() - started)
                query = parse_qs(urlsplit(response.headers["Location"]).query)
                token = jwt.encode(claims(query["nonce"][0], str(index % 50)), key,
                                   algorithm="RS256", headers={"kid": "k"})
                started = time.perf_counter()
                response = client.post("/lti/launch",
                                       data={"id_token": token, "state": query["state"][0]})
                launch_times.append(time.perf_counter() - started)
                assert response.status_code == 302, response.get_data(as_text=True)[:300]
                started = time.perf_counter()
                jwt.decode(token, key.public_key(), algorithms=["RS256"], audience=CLIENT_ID)
                decode_times.append(time.perf_counter() - started)
    for label, values in (("login  (state + nonce stored)", login_times),
                          ("launch (validate + record + session)", launch_times),
                          ("baseline: jwt.decode RS256 alone", decode_times)):
        print(f"{label:<40} median {statistics.median(values) * 1000:7.2f} ms   "
              f"p95 {percentile(values, 0.95) * 1000:7.2f} ms   (n={len(values)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
