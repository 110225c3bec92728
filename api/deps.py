"""Dependencies: the knowledge base, the SPARQL service and the settings, from the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from reasoner import KnowledgeBase
from reasoner.sparql import SparqlService

from .settings import Settings


def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base loaded at start-up (read-only)."""
    return request.state.kb  # type: ignore[no-any-return]


def get_sparql(request: Request) -> SparqlService:
    """The SPARQL service started at start-up."""
    return request.state.sparql  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.state.settings  # type: ignore[no-any-return]


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_kb)]
SparqlDep = Annotated[SparqlService, Depends(get_sparql)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
