"""What does one Freshchat webhook delivery cost? Run by hand: ``python bench/bench_webhooks.py``.

Freshchat sends one event per request, so the figure that matters is the cost of one
delivery: verify the RSA signature over the raw body, translate, store and apply in one
transaction. Deliveries go through the Flask test client in-process (no network, no
server threads), so the times are the app's own work; the signature check is also timed
alone over the same bodies to show its share. Webhooks come from the simulator
(``webapp.freshchat.sim_webhooks``), in time order, signed with a 2048-bit key.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 11, 20, 12, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats-per-day", type=int, default=400)
    args = parser.parse_args()

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from webapp import chats, create_app, webhook_intake
    from webapp import integrations as service
    from webapp.extensions import db
    from webapp.freshchat import webhooks
    from webapp.freshchat.sim_webhooks import webhook_payloads
    from webapp.freshchat.simulator import SimAccount

    account = SimAccount(
        "bench.freshchat.com",
        seed=3,
        chats_per_day=args.chats_per_day,
        history_days=2,
        clock=lambda: NOW,
    )
    payloads = webhook_payloads(account, NOW - timedelta(days=3), NOW)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bodies = [json.dumps(p, ensure_ascii=False).encode() for p in payloads]
    signatures = [
        base64.b64encode(key.sign(b, padding.PKCS1v15(), hashes.SHA256())).decode() for b in bodies
    ]
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "INSTANCE_PATH": Path(folder) / "instance",
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}",
                "SECRET_KEY": "bench",
            }
        )
        with db.connection_context():
            integration = service.create(
                service.IntegrationInput("Bench", account.domain, account.admin_key),
                app.extensions["secret_box"],
            )
            chats.refresh_groups(integration.id, [g.as_json() for g in account.live_groups])
            token = webhook_intake.configure(integration, pem.decode()).token
        client = app.test_client()
        url = f"/api/v1/freshchat/webhooks/{token}"
        times = []
        started = time.perf_counter()
        for body, signature in zip(bodies, signatures, strict=True):
            before = time.perf_counter()
            response = client.post(
                url,
                data=body,
                content_type="application/json",
                headers={"X-Freshchat-Signature": signature},
            )
            times.append(time.perf_counter() - before)
            assert response.status_code == 200, response.get_data(as_text=True)
        wall = time.perf_counter() - started

    public = webhooks.load_public_key(pem.decode())
    before = time.perf_counter()
    for body, signature in zip(bodies, signatures, strict=True):
        webhooks.verify_signature(public, body, signature)
    verify = (time.perf_counter() - before) / len(bodies)

    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"deliveries: {len(bodies)} ({args.chats_per_day} chats/day, 3 days)")
    print(f"per delivery: p50 {statistics.median(times) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    print(f"sustained: {len(bodies) / wall:.0f} deliveries/s (one process, in-process client)")
    print(f"signature check alone: {verify * 1000:.3f} ms per delivery")


if __name__ == "__main__":
    main()
