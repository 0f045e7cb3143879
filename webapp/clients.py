"""Freshchat clients built from the app's settings, for every caller.

One place decides the API URL, the timeouts, the longest Retry-After honoured and the
download deadline, so the credential check, the sync, the push lookups and the data-access
check all talk to Freshchat the same way. The key is decrypted only here, per client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from webapp.freshchat.client import FreshchatClient
from webapp.models import Integration
from webapp.security import SecretBox

CONNECT_TIMEOUT = 5.0  # seconds to open a connection; reading waits ``read_timeout``

ClientFactory = Callable[[Integration], FreshchatClient]


@dataclass(frozen=True)
class ClientSettings:
    """What every Freshchat client of this app is built with (see ``webapp.config``)."""

    api_url_template: str = "https://{domain}/v2"
    read_timeout: float = 20.0
    max_wait: float = 300.0
    download_deadline: float = 900.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClientSettings:
        return cls(
            api_url_template=config["FRESHCHAT_API_URL"],
            read_timeout=float(config["FRESHCHAT_TIMEOUT_SECONDS"]),
            max_wait=float(config.get("FRESHCHAT_MAX_WAIT_SECONDS", cls.max_wait)),
            download_deadline=float(
                config.get("FRESHCHAT_DOWNLOAD_DEADLINE_SECONDS", cls.download_deadline)
            ),
        )

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) for ``requests``: connecting never waits longer than reading."""
        return (min(CONNECT_TIMEOUT, self.read_timeout), self.read_timeout)

    def client(self, domain: str, api_key: str, **overrides: Any) -> FreshchatClient:
        """A client for one account; ``overrides`` for a caller with its own needs (the
        credential check does not retry: an admin is waiting)."""
        options: dict[str, Any] = {
            "api_url_template": self.api_url_template,
            "timeout": self.timeout,
            "max_wait": self.max_wait,
            "download_deadline": self.download_deadline,
        }
        options.update(overrides)
        return FreshchatClient(domain, api_key, **options)


def client_factory(settings: ClientSettings, box: SecretBox) -> ClientFactory:
    """Clients for stored integrations: the key is decrypted just before each is built."""

    def factory(integration: Integration) -> FreshchatClient:
        return settings.client(integration.domain, box.decrypt(integration.api_key_encrypted))

    return factory


def client_factory_for(config: Mapping[str, Any], box: SecretBox) -> ClientFactory:
    """``client_factory`` from the app's settings."""
    return client_factory(ClientSettings.from_config(config), box)
