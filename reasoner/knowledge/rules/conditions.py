"""The rule kinds that read the case's conditions and findings.

``gr:Exclusion`` (excluded conditions, with exceptions and conditional exclusions) and
``gr:Requirement`` (a condition or finding the policy requires); each reads only the active facts.
"""

from __future__ import annotations

from rdflib import SH, Literal, URIRef

from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge.rules.rule import CONDITION_PATHS, GRS, Rule
from reasoner.vocab import CV, GR


def active_of(r: Rule, suffix: str, classes: list[URIRef], label: str) -> URIRef:
    """A node shape: an active (not resolved or addressed) fact of one of ``classes``."""
    s = r.node_shape(suffix, label)
    options = []
    for i, cls in enumerate(classes):
        o = r.node_shape(f"{suffix}-{i + 1}", f"Of class {r.label(cls)}")
        r.shapes.add((o, SH["class"], cls))
        options.append(o)
    r.shapes.add((s, SH["or"], r.rdf_list(options)))
    r.shapes.add((s, SH["not"], URIRef(GRS + "ResolvedOrAddressed")))
    return s


def exclusion(r: Rule) -> None:
    """One root per excluded class, focused on the class: only its instances are looked at.

    A case-level shape looked at every condition and finding of the history instead; this stays
    flat however long the history is. An exception is looked for (from the excluded instances
    back to their case and out to its other facts) only when an excluded instance is present. It
    lifts the classes of ``gr:exceptionLifts`` (all, without it), and with
    ``gr:exceptionAtRequestedLevel`` counts only at a level of the request. A class of a
    ``gr:conditionalExclusion`` is excluded only with an active fact of one of its ``gr:onlyWith``.
    """
    excepted = sorted(v for v in r.onto.objects(r.node, GR.exceptClass) if isinstance(v, URIRef))
    lifts = frozenset(v for v in r.onto.objects(r.node, GR.exceptionLifts) if isinstance(v, URIRef))
    conditional = _conditionals(r)
    excluded = sorted(v for v in r.onto.objects(r.node, GR.excludedClass) if isinstance(v, URIRef))
    if not excluded and not conditional:
        r.many(GR.excludedClass)  # raises: nothing is excluded
    if (lifts or r.flag(GR.exceptionAtRequestedLevel)) and not excepted:
        raise KnowledgeBaseError(
            f"rule of {r.tail}: gr:exceptionLifts and gr:exceptionAtRequestedLevel qualify a gr:exceptClass"
        )
    if lifts - set(excluded):
        raise KnowledgeBaseError(f"rule of {r.tail}: gr:exceptionLifts must name a gr:excludedClass of the rule")
    active = URIRef(GRS + "ActiveFact")
    for i, cls in enumerate(excluded, start=1):
        name = r.label(cls).lower()
        root = r.node_shape(str(i), f"No active {name}", checks=True, targetNode=cls)
        if not excepted or (lifts and cls not in lifts):
            r.prop(
                root,
                "present",
                r.inverse_type(),
                f"active {name}",
                message=f"An active {name} is documented.",
                severity=SH.Violation,
                qualifiedValueShape=active,
                qualifiedMaxCount=Literal(0),
            )
            continue
        exception = active_of(r, f"{i}-exception", excepted, "A condition or finding that lifts the exclusion")
        if r.flag(GR.exceptionAtRequestedLevel):
            r.prop(exception, "level", GR.sameLevelAsRequest, "at a level of the request", hasValue=Literal(True))
        _either(r, root, str(i), cls, "lifted", exception, lifted=True)
    for j, (classes, company) in enumerate(conditional, start=1):
        with_ = active_of(r, f"cond{j}-with", company, "A condition or finding that makes the excluded class count")
        for k, cls in enumerate(classes, start=1):
            name = r.label(cls).lower()
            label = f"No active {name} with what makes it count"
            root = r.node_shape(f"cond{j}-{k}", label, checks=True, targetNode=cls)
            _either(r, root, f"cond{j}-{k}", cls, "alone", with_, lifted=False)


def _conditionals(r: Rule) -> list[tuple[list[URIRef], list[URIRef]]]:
    """The rule's conditional exclusions: (excluded classes, the classes they need), in a stable order."""
    out = []
    for node in r.onto.objects(r.node, GR.conditionalExclusion):
        classes = sorted(v for v in r.onto.objects(node, GR.excludedClass) if isinstance(v, URIRef))
        company = sorted(v for v in r.onto.objects(node, GR.onlyWith) if isinstance(v, URIRef))
        if not classes or not company:
            raise KnowledgeBaseError(
                f"rule of {r.tail}: a gr:conditionalExclusion needs a gr:excludedClass and a gr:onlyWith"
            )
        out.append((classes, company))
    return sorted(out)


def _either(r: Rule, root: URIRef, suffix: str, cls: URIRef, part: str, other: URIRef, *, lifted: bool) -> None:
    """``root``: no active instance of ``cls``, or else an active ``other`` in the same case (none, unless ``lifted``).

    The other facts are reached from the excluded instances back to their case and out to its facts.
    """
    name = r.label(cls).lower()
    none = r.node_shape(f"{suffix}-none", f"No active {name}")
    r.prop(
        none,
        "present",
        r.inverse_type(),
        f"active {name}",
        qualifiedValueShape=URIRef(GRS + "ActiveFact"),
        qualifiedMaxCount=Literal(0),
    )
    second = r.node_shape(
        f"{suffix}-{part}", "The exclusion is lifted" if lifted else "Nothing in the case makes it count"
    )
    count = {"qualifiedMinCount": Literal(1)} if lifted else {"qualifiedMaxCount": Literal(0)}
    r.prop(
        second,
        "exception" if lifted else "with",
        r.sequence(r.inverse_type(), r.inverse_alternatives(CONDITION_PATHS), r.alternatives(CONDITION_PATHS)),
        "facts of the same case that lift the exclusion" if lifted else "facts of the same case that make it count",
        qualifiedValueShape=other,
        **count,  # type: ignore[arg-type]  # sh: constraints only, never one of prop()'s named parameters
    )
    r.shapes.add((root, SH["or"], r.rdf_list([none, second])))
    r.shapes.add((root, SH.message, Literal(f"An active {name} is documented.", lang="en")))
    r.shapes.add((root, SH.severity, SH.Violation))


def requirement(r: Rule) -> None:
    """``gr:Requirement``: an active condition or finding of a required class is documented."""
    required = r.many(GR.requiredClass)
    if len(required) == 1:  # focus on the class: only its instances are read, however long the history
        name = r.label(required[0]).lower()
        root = r.node_shape("", f"An active {name}", checks=True, targetNode=required[0])
        r.prop(
            root,
            "present",
            r.inverse_type(),
            f"active {name}",
            message=f"No active {name} is documented.",
            severity=SH.Violation,
            qualifiedValueShape=URIRef(GRS + "ActiveFact"),
            qualifiedMinCount=Literal(1),
        )
        return
    present = active_of(r, "present", required, "An active condition or finding the policy requires")
    root = r.node_shape("", "A required condition or finding is present", checks=True, targetClass=CV.Case)
    r.prop(
        root,
        "required",
        r.alternatives(CONDITION_PATHS),
        "active required conditions and findings",
        message="None of the conditions or findings the policy requires is documented.",
        severity=SH.Violation,
        qualifiedValueShape=present,
        qualifiedMinCount=Literal(1),
    )
