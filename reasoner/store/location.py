"""Where determinations are kept when nothing says otherwise, and opening a store from a location."""

from __future__ import annotations

import os
from pathlib import Path

from reasoner.store.base import DeterminationStore
from reasoner.store.embedded import EmbeddedStore
from reasoner.store.remote import RemoteStore


def default_data_dir() -> Path:
    """``$GR_DATA_DIR``, else ``$XDG_DATA_HOME/guideline-reasoner``, else ``~/.local/share/guideline-reasoner``."""
    if os.environ.get("GR_DATA_DIR"):
        return Path(os.environ["GR_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "guideline-reasoner"


def open_store(location: str | Path | None = None) -> DeterminationStore:
    """The store at ``location``: a remote SPARQL store for an ``http(s)://`` URL, else a data folder.

    None is :func:`default_data_dir`.

    Raises:
        StoreError: the folder is in use by another process, or cannot be opened.
    """
    if location is None:
        return EmbeddedStore(default_data_dir())
    if isinstance(location, str) and location.lower().startswith(("http://", "https://")):
        return RemoteStore(location)  # Oxigraph server's endpoints under the URL; RemoteStore takes others
    return EmbeddedStore(Path(location))
