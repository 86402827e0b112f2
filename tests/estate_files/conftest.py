"""Estate files are loaded and dumped with a secret key set, as in production: a default
dump's passwords are encrypted, and load takes them back (tests that need no key say so)."""

from __future__ import annotations

import pytest

from provisioner.storage.secrets import KEY_FILE_VARIABLE, KEY_VARIABLE

# A fixed key for these tests only (32 bytes, base64).
TEST_KEY = "dGVzdHMgb2YgZXN0YXRlIGZpbGVzIG9ubHk6IDMyIGI="


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every `Database` these tests open reads this key from the environment."""
    monkeypatch.setenv(KEY_VARIABLE, TEST_KEY)
    monkeypatch.delenv(KEY_FILE_VARIABLE, raising=False)
    return TEST_KEY
