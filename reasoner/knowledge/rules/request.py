"""The rule kinds that read the request itself.

``gr:LevelLimit`` (levels and regions per session), ``gr:ExcludedProcedure``,
``gr:ImageGuidanceRule`` (the modality allowed, contrast, and their exceptions),
``gr:CoveredDiagnosis`` (a diagnosis on the policy's list) and ``gr:AddOnRequiresPrimary``.
"""

from __future__ import annotations

from rdflib import RDF, SH, Literal, URIRef

from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.rules.conditions import active_of
from reasoner.knowledge.rules.rule import CONDITION_PATHS, GRS, Rule
from reasoner.vocab import CV, GR


def level_limit(r: Rule) -> None:
    """``gr:LevelLimit``: the levels (and regions) treated in one session, within the limit."""
    levels, regions = r.threshold(GR.maxLevels), r.threshold(GR.maxRegions, required=False)
    root = r.node_shape(
        "", "Levels and regions per session within the limit", checks=True, targetClass=CV.ServiceRequest
    )
    r.prop(
        root,
        "levels",
        GR.levelCount,
        "levels treated in the session",
        message="The request treats more levels in one session than the policy allows.",
        severity=SH.Violation,
        bind=(GR.maxInclusiveFrom, levels),
    )
    if regions is not None:
        r.prop(
            root,
            "regions",
            GR.regionCount,
            "spinal regions treated in the session",
            message="The request treats more spinal regions in one session than the policy allows.",
            severity=SH.Violation,
            bind=(GR.maxInclusiveFrom, regions),
        )


def excluded_procedure(r: Rule) -> None:
    """``gr:ExcludedProcedure``: no requested line of an excluded class."""
    for i, cls in enumerate(r.many(GR.excludedClass)):
        root = r.node_shape(str(i + 1), f"No requested {r.label(cls).lower()}", checks=True, targetNode=cls)
        line = r.node_shape(f"{i + 1}-line", "A requested line")
        r.shapes.add((line, SH["class"], CV.RequestLine))
        r.prop(
            root,
            "requested",
            r.inverse_type(),
            f"requested {r.label(cls).lower()}",
            message=f"The request is for {r.label(cls).lower()}, which the policy excludes.",
            severity=SH.Violation,
            qualifiedValueShape=line,
            qualifiedMaxCount=Literal(0),
        )


def image_guidance(r: Rule) -> None:
    """The modality is allowed and, when the rule requires contrast, contrast is stated as used.

    Each is read apart: a stated ``cv:contrast false`` fails the rule, while a request that does
    not state its modality, or under an allowed modality whether contrast is used, is unknown.
    """
    allowed = r.many(GR.allowedGuidance)
    contrast = r.flag(GR.requiresContrast)
    waivers = sorted(v for v in r.onto.objects(r.node, GR.contrastWaivedBy) if isinstance(v, URIRef))
    root = r.node_shape("", "Image guidance the policy allows", checks=True, targetClass=CV.ServiceRequest)
    if waivers or (r.node, GR.conditionalGuidance, None) in r.onto:
        _guidance_with_exceptions(r, root, allowed, contrast, waivers)
    else:
        r.prop(
            root,
            "guidance",
            CV.imageGuidance,
            "image guidance",
            message="The planned image guidance is not one the policy allows.",
            severity=SH.Violation,
            in_=r.rdf_list(allowed),
        )
    if contrast and not waivers and (r.node, GR.conditionalGuidance, None) not in r.onto:
        r.prop(
            root,
            "contrast",
            CV.contrast,
            "contrast used",
            message="The request does not state that contrast is used, and the policy requires it.",
            severity=SH.Violation,
            hasValue=Literal(True),
        )
    kind = r.documentation_kind("Planned image guidance", "The image guidance planned for the procedure.")
    doc = r.node_shape("stated", "The request states its image guidance", targetClass=CV.ServiceRequest)
    r.shapes.add((doc, GR.checksDocumentation, kind))
    r.prop(
        doc,
        "guidance",
        CV.imageGuidance,
        "stated image guidance",
        minCount=Literal(1),
        severity=SH.Violation,
        message="The request does not state its image guidance.",
    )
    if not contrast:
        return
    # Whether contrast is used is asked for unless the stated modality fails the rule anyway.
    kind = r.documentation_kind(
        "Contrast under the image guidance",
        "Whether contrast is used to confirm the needle's position under the planned image guidance.",
        suffix="contrast",
    )
    doc = r.node_shape("contrast", "The request states whether contrast is used", targetClass=CV.ServiceRequest)
    r.shapes.add((doc, GR.checksDocumentation, kind))
    disallowed = r.node_shape("contrast-disallowed", "A modality the policy does not allow")
    r.shapes.add((disallowed, SH["not"], r.node_shape("contrast-allowed", "A modality the policy allows")))
    r.shapes.add((r.iri("contrast-allowed"), SH["in"], r.rdf_list(allowed)))
    moot = r.node_shape("contrast-moot", "The request states a modality the policy does not allow")
    r.prop(moot, "guidance", CV.imageGuidance, "disallowed guidance", minCount=Literal(1), node=disallowed)
    stated = r.node_shape("contrast-stated", "The request states whether contrast is used")
    r.prop(stated, "contrast", CV.contrast, "stated contrast", minCount=Literal(1))
    waived = [r.iri("waived")] if waivers else []  # contrast contraindicated: whether it is used does not matter
    r.shapes.add((doc, SH["or"], r.rdf_list([moot, stated, *waived])))
    r.shapes.add((doc, SH.message, Literal("The request does not state whether contrast is used.", lang="en")))
    r.shapes.add((doc, SH.severity, SH.Violation))


def covered_diagnosis(r: Rule) -> None:
    """At least one diagnosis on the request is on the policy's diagnosis list.

    The enrich stage links each diagnosis on the request to the lists its code is on
    (``gr:onDiagnosisList``). A request without a diagnosis lacks the generic documentation kind
    ``gr:RequestDiagnosisRecord``, so the criterion is unknown (pended), never not met. A list
    without entries (the sources give none) checks only that the request states a diagnosis.
    """
    listed = r.one(GR.diagnosisList)
    if (listed, RDF.type, GR.DiagnosisList) not in r.onto:
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:diagnosisList must name a gr:DiagnosisList")
    r.onto.add((r.criterion, GR.needsDocumentation, GR.RequestDiagnosisRecord))
    if r.onto.value(listed, GR.entry) is None:
        return
    on_list = r.node_shape("listed", "A diagnosis on the request that is on the list", targetClass=GR.RequestDiagnosis)
    r.prop(
        on_list,
        "list",
        GR.onDiagnosisList,
        "diagnosis list",
        message="This diagnosis is not on the policy's list of covered diagnoses.",
        hasValue=listed,
    )
    r.onto.add((r.criterion, GR.qualifyingShape, on_list))
    root = r.node_shape("", "A covered diagnosis on the request", checks=True, targetClass=CV.ServiceRequest)
    r.prop(
        root,
        "covered",
        r.alternatives(((CV.primaryDiagnosis,), (CV.secondaryDiagnosis,))),
        "diagnoses on the request that are on the list",
        message="No diagnosis on the request is on the policy's list of covered diagnoses.",
        severity=SH.Violation,
        qualifiedValueShape=on_list,
        qualifiedMinCount=Literal(1),
    )


def _guidance_with_exceptions(
    r: Rule, root: URIRef, allowed: list[URIRef], contrast: bool, waivers: list[URIRef]
) -> None:
    """The image guidance rule with its exceptions, as one ``sh:or`` on the request.

    Either an allowed modality, with contrast when the rule requires it unless an active condition
    of a ``gr:contrastWaivedBy`` class is documented (contrast contraindicated); or a
    ``gr:conditionalGuidance`` modality, allowed without contrast when an active condition of a
    ``gr:conditionalGuidanceClass`` is documented (ultrasound for a contrast allergy or a pregnancy).
    """
    alternative = sorted(v for v in r.onto.objects(r.node, GR.conditionalGuidance) if isinstance(v, URIRef))
    when = sorted(v for v in r.onto.objects(r.node, GR.conditionalGuidanceClass) if isinstance(v, URIRef))
    if bool(alternative) != bool(when):
        raise KnowledgeBaseError(
            f"rule of {r.tail}: gr:conditionalGuidance and gr:conditionalGuidanceClass go together"
        )
    if waivers and not contrast:
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:contrastWaivedBy needs gr:requiresContrast true")
    conditions = r.sequence(r.inverse(CV.request), r.alternatives(CONDITION_PATHS))  # the case's, from the request

    def documented(suffix: str, classes: list[URIRef], label: str) -> URIRef:
        s = r.node_shape(suffix, label)
        present = active_of(r, f"{suffix}-condition", classes, f"An active condition: {label.lower()}")
        r.prop(s, "condition", conditions, label.lower(), qualifiedValueShape=present, qualifiedMinCount=Literal(1))
        return s

    standard = r.node_shape("standard", "An allowed modality, with contrast where the policy requires it")
    r.prop(standard, "guidance", CV.imageGuidance, "allowed guidance", minCount=Literal(1), in_=r.rdf_list(allowed))
    if contrast:
        used = r.node_shape("contrast-used", "Contrast is used")
        r.prop(used, "contrast", CV.contrast, "contrast used", hasValue=Literal(True))
        options = [used] + ([documented("waived", waivers, "Contrast is contraindicated")] if waivers else [])
        r.shapes.add((standard, SH["or"], r.rdf_list(options)))
    branches = [standard]
    if alternative:
        other = r.node_shape("conditional", "A modality allowed only for a documented condition")
        r.prop(
            other,
            "guidance",
            CV.imageGuidance,
            "conditional guidance",
            minCount=Literal(1),
            in_=r.rdf_list(alternative),
        )
        r.shapes.add((other, SH.node, documented("condition", when, "A condition that allows it")))
        branches.append(other)
    r.shapes.add((root, SH["or"], r.rdf_list(branches)))
    r.shapes.add(
        (
            root,
            SH.message,
            Literal("The planned image guidance, or its use of contrast, is not one the policy allows.", lang="en"),
        )
    )
    r.shapes.add((root, SH.severity, SH.Violation))


def add_on(r: Rule) -> None:
    """``gr:AddOnRequiresPrimary``: the add-on shape of the shapes files checks the criterion."""
    r.shapes.add((URIRef(GRS + "AddOnWithPrimaryShape"), GR.checks, r.criterion))
