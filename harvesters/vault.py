"""Secret config values (a CKAN `api_key`...) encrypted at rest, with a key from the environment.

`HARVEST_SECRET_KEY` holds one Fernet key (`harvest secrets new-key` prints one), or several comma-separated: the
first encrypts, any of them decrypts. A source's secret values are stored sealed (`fernet:` and the token), never
in plain text, and opened only when a job builds the source's backend. Without a key, a secret value is refused
(nothing to seal it with); a sealed value the key cannot open fails the job naming the source.

Rotating the key: make a new one, set `HARVEST_SECRET_KEY="NEW,OLD"` everywhere the harvester runs, run
`harvest secrets rotate` (every stored secret sealed again with NEW), then drop OLD.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from backends.base import ConfigError, HarvestException
from harvesters.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

SEALED = "fernet:"
NEW_KEY_HINT = "make one with `harvest secrets new-key` and set it as HARVEST_SECRET_KEY where the harvester runs"


class SecretUnreadable(HarvestException):
    """A source's sealed secret cannot be opened with the key(s) at hand: the job fails with this message."""


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED)


class Vault:
    """Seals and opens secret values with the keys of HARVEST_SECRET_KEY (none: sealing is refused)."""

    def __init__(self, keys: str | None) -> None:
        self.keys = [key.strip() for key in (keys or "").split(",") if key.strip()]
        self.fernet = _fernet(self.keys) if self.keys else None

    @classmethod
    def from_settings(cls, config: Settings) -> Vault:
        return cls(config.secret_key.get_secret_value() if config.secret_key else None)

    @staticmethod
    def new_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def seal(self, key: str, value: str) -> str:
        if self.fernet is None:
            raise ConfigError(f"Extra config '{key}' is a secret, stored encrypted: HARVEST_SECRET_KEY is not set; "
                              f"{NEW_KEY_HINT}")
        return SEALED + self.fernet.encrypt(value.encode()).decode()

    def open(self, value: str, source: str, key: str) -> str:
        """The plain value of a sealed one (a value stored before secrets were sealed is returned as it is)."""
        if not is_sealed(value):
            return value
        if self.fernet is None:
            raise SecretUnreadable(f"Source '{source}': its secret '{key}' is stored encrypted and HARVEST_SECRET_KEY "
                                   "is not set: set the key it was encrypted with")
        from cryptography.fernet import InvalidToken  # loaded with the keys already

        try:
            return self.fernet.decrypt(value[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                f"Source '{source}': its secret '{key}' cannot be decrypted with HARVEST_SECRET_KEY (was the key "
                "changed? give the old key after the new one, comma-separated, and run `harvest secrets rotate`; "
                f"or give the value again with `harvest source update {source} --config ...`)") from None

    def seal_config(self, config: dict[str, Any], secrets: Collection[str]) -> dict[str, Any]:
        """The config with its plain secret values sealed (sealed ones are kept as they are)."""
        return _map_secrets(config, secrets, lambda key, value: value if is_sealed(value) else self.seal(key, value))

    def open_config(self, config: dict[str, Any], secrets: Collection[str], source: str) -> dict[str, Any]:
        """The config with its secret values opened, for the backend of a job."""
        return _map_secrets(config, secrets, lambda key, value: self.open(value, source, key))

    def reseal_config(self, config: dict[str, Any], secrets: Collection[str], source: str) -> dict[str, Any]:
        """The config with every secret value sealed again with the first key (plain ones sealed too)."""
        return _map_secrets(config, secrets, lambda key, value: self.seal(key, self.open(value, source, key)))


def _fernet(keys: list[str]) -> MultiFernet:
    """The keys' Fernet. cryptography is imported here: a process that sets no key (most runs) does without it."""
    from cryptography.fernet import Fernet, MultiFernet

    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ConfigError(f"HARVEST_SECRET_KEY is not a valid key ({error}); {NEW_KEY_HINT}") from None


def _map_secrets(config: dict[str, Any], secrets: Collection[str], change: Any) -> dict[str, Any]:
    extras = [
        {**extra, "value": change(extra["key"], extra["value"])}
        if extra.get("key") in secrets and isinstance(extra.get("value"), str) else extra
        for extra in config.get("extra_configs", [])
    ]
    return {**config, "extra_configs": extras} if "extra_configs" in config else config
