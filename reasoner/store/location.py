"""Where determinations are kept when nothing says otherwise, and opening a store from a location."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from reasoner.store.base import DeterminationStore
from reasoner.store.embedded import EmbeddedStore


def default_data_dir() -> Path:
    """``$GR_DATA_DIR``, else ``$XDG_DATA_HOME/guideline-reasoner``, else ``~/.local/share/guideline-reasoner``."""
    if os.environ.get("GR_DATA_DIR"):
        return Path(os.environ["GR_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "guideline-reasoner"


def open_store(location: str | Path | None = None) -> DeterminationStore:
    """The store at ``location``: an ``http(s)://`` URL is a remote SPARQL store, anything else a data folder.

    Raises:
        StoreError: the folder is in use by another process, or cannot be opened.
    """
    if location is None:
        return EmbeddedStore(default_data_dir())
    if isinstance(location, str) and location.startswith(("http://", "https://")):
        remote = importlib.import_module("reasoner.store.remote")  # the remote backend's module, to come
        store: DeterminationStore = remote.RemoteStore(location)
        return store
    return EmbeddedStore(Path(location))
