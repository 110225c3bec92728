"""Rule declarations -> SHACL shapes, at load.

Most coverage criteria are one of a few kinds: a limit on sessions in a rolling window, a minimum
interval, earlier procedures that must have given enough relief, levels per session, excluded or
required conditions, excluded techniques, the image guidance allowed, an add-on code that needs
its primary code. An author declares such a criterion's rule on the criterion in the guideline
file (``gr:rule [ a gr:SessionLimit ; ... ]``, vocabulary in ontology/core.ttl) and this package
writes the shapes: ordinary SHACL that binds thresholds by reference (``gr:maxInclusiveFrom`` and
friends), so the naive reference evaluation, lint and impact see them like hand-written shapes.

A rule that reads relief from earlier procedures also writes a documentation check: an earlier
procedure without its relief recorded makes the criterion unknown (pended), never not met.

Here: the registry of rule kinds (:data:`KINDS`), :func:`expand_rules` (the load),
:func:`rule_problems` (lint) and :func:`site_scopes` (the enrich stage's repeat scopes). ``rule``:
the declaration read and the shapes written (generated IRIs are stable:
``grs:rule/<policy>/<criterion>`` plus a suffix); the kinds by what they read: ``history``
(sessions and earlier procedures), ``conditions`` (the case's conditions and findings),
``request`` (the request itself), ``derived`` (derived facts declared as data).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.term import Node

from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.rules.conditions import exclusion, requirement
from reasoner.knowledge.rules.derived import fact_required, interval_rule, value_rule
from reasoner.knowledge.rules.history import (
    minimum_interval,
    qualifying_history,
    repeat_requires_response,
    session_limit,
)
from reasoner.knowledge.rules.request import add_on, covered_diagnosis, excluded_procedure, image_guidance, level_limit
from reasoner.knowledge.rules.rule import KB, Rule, local_name
from reasoner.vocab import GR

KINDS: dict[URIRef, Callable[[Rule], None]] = {
    GR.SessionLimit: session_limit,
    GR.MinimumInterval: minimum_interval,
    GR.QualifyingHistory: qualifying_history,
    GR.RepeatRequiresResponse: repeat_requires_response,
    GR.LevelLimit: level_limit,
    GR.Exclusion: exclusion,
    GR.Requirement: requirement,
    GR.ExcludedProcedure: excluded_procedure,
    GR.ImageGuidanceRule: image_guidance,
    GR.AddOnRequiresPrimary: add_on,
    GR.CoveredDiagnosis: covered_diagnosis,
    GR.ValueRule: value_rule,
    GR.IntervalRule: interval_rule,
    GR.FactRequired: fact_required,
}


def rule_problems(ontology: Graph) -> list[tuple[Node, str]]:
    """Each declaration that cannot be expanded, with why (for lint; nothing is kept)."""
    out: list[tuple[Node, str]] = []
    for criterion, node in sorted(ontology.subject_objects(GR.rule), key=lambda t: str(t[0])):
        scratch = Graph()
        for triple in ontology.triples((node, None, None)):
            scratch.add(triple)
        for p in (
            GR.maxSessions,
            GR.window,
            GR.minInterval,
            GR.minRelief,
            GR.minReliefDuration,
            GR.minCount,
            GR.maxLevels,
            GR.maxRegions,
            GR.minFunctionalImprovement,
            GR.minFunctionalImprovementDuration,
            GR.conditionalExclusion,
            GR.derivation,  # and the thresholds of rules over derived facts
            GR.atLeast,
            GR.atMost,
            GR.above,
            GR.below,
            GR.maxInterval,
        ):
            for t in ontology.objects(node, p):
                for triple in ontology.triples((t, None, None)):
                    scratch.add(triple)
        for listed in ontology.objects(node, GR.diagnosisList):  # and the list the rule names, with its entries
            for triple in ontology.triples((listed, None, None)):
                scratch.add(triple)
        scratch.add((criterion, GR.rule, node))
        try:
            expand_rules(scratch, Graph())
        except KnowledgeBaseError as exc:
            out.append((criterion, str(exc)))
    return out


def expand_rules(ontology: Graph, shapes: Graph) -> int:
    """Write the shapes of every ``gr:rule`` declaration into ``shapes``; returns how many.

    Raises:
        KnowledgeBaseError: a declaration of an unknown kind, or with a missing or wrong parameter.
    """
    count = 0
    for criterion, node in sorted(ontology.subject_objects(GR.rule), key=lambda t: str(t[0])):
        if not isinstance(criterion, URIRef) or not str(criterion).startswith(KB):
            raise KnowledgeBaseError(f"gr:rule on {criterion}: rules belong to IRI-named criteria of the KB")
        tail = str(criterion)[len(KB) :]
        kinds = [k for k in ontology.objects(node, RDF.type) if isinstance(k, URIRef) and k in KINDS]
        if len(kinds) != 1:
            raise KnowledgeBaseError(
                f"rule of {tail}: needs exactly one rule kind, one of {sorted(local_name(k) for k in KINDS)}"
            )
        KINDS[kinds[0]](Rule(ontology, shapes, criterion, node, tail))
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class SiteScope:
    """A repeat rule that reads only the most recent earlier procedure at each site of the request.

    The site is what the rule scopes: the request's regions, levels and sides (``gr:sameRegion``,
    ``gr:sameLevel``, ``gr:sameSide``). The enrich stage marks, for ``criterion``, the earlier
    procedures of ``procedure_class`` that are the most recent at one (``gr:latestAtSite``).
    """

    criterion: URIRef
    procedure_class: URIRef
    region: bool
    level: bool
    side: bool


def site_scopes(ontology: Graph) -> tuple[SiteScope, ...]:
    """The declared rules with ``gr:mostRecentOnly``, in a stable order."""
    out = []
    for criterion, node in ontology.subject_objects(GR.rule):
        if ontology.value(node, GR.mostRecentOnly) != Literal(True):
            continue
        cls = ontology.value(node, GR.procedureClass)
        if isinstance(criterion, URIRef) and isinstance(cls, URIRef):
            flags = (ontology.value(node, p) == Literal(True) for p in (GR.sameRegion, GR.sameLevel, GR.sameSide))
            out.append(SiteScope(criterion, cls, *flags))
    return tuple(sorted(out, key=lambda s: str(s.criterion)))
