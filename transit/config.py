"""Settings read from the environment (prefix ``TRANSIT_``), in one place.

Every setting is documented in the README. Nothing here imports Flask: the CLI, the
benchmarks and the tests all read the same values.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PREFIX = "TRANSIT_"
DEFAULT_MIN_CONNECTION_MINUTES = 15


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return value if value not in (None, "") else default


def _env_flag(name: str) -> bool:
    return (_env(name, "") or "").strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None


def secret_key_from(instance_path: Path) -> str:
    """Return the secret key: from the environment, else from ``instance/secret_key``.

    On first run the file is created with a random key, readable by its owner only, so a
    fresh install is secure without any set-up and the key never lands in git.
    """
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    model_dir: Path
    min_connection_minutes: int
    demo_seed: int
    log_level: str
    secure_cookies: bool
    proxy_hops: int
    max_upload_bytes: int
    answer_cache_bytes: int


def load_settings(instance_path: Path) -> Settings:
    """Read every ``TRANSIT_*`` setting, with defaults relative to the instance folder."""
    instance_path = Path(instance_path)
    default_db = "sqlite:///" + str(instance_path / "transit.sqlite3")
    return Settings(
        database_url=_env("DATABASE_URL", default_db) or default_db,
        model_dir=Path(_env("MODEL_DIR", str(instance_path / "models")) or ""),
        min_connection_minutes=_env_int("MIN_CONNECTION_MINUTES", DEFAULT_MIN_CONNECTION_MINUTES),
        demo_seed=_env_int("DEMO_SEED", 2026),
        log_level=(_env("LOG_LEVEL", "INFO") or "INFO").upper(),
        secure_cookies=_env_flag("SECURE_COOKIES"),
        proxy_hops=_env_int("PROXY_HOPS", 0),
        max_upload_bytes=_env_int("MAX_UPLOAD_MB", 64) * 1024 * 1024,
        answer_cache_bytes=max(0, _env_int("ANSWER_CACHE_MB", 64)) * 1024 * 1024,
    )
