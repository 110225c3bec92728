"""Build the typed views and shape indexes of a knowledge base (used by kb.py at load)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rdflib import RDF, RDFS, SH, Graph, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from reasoner.errors import KnowledgeBaseError
from reasoner.knowledge import icd10cm
from reasoner.knowledge.entities import (
    COVERAGE,
    FACT_PLACEHOLDERS,
    Code,
    CodeFamily,
    CoverageRule,
    Criterion,
    DiagnosisEntry,
    Grade,
    Policy,
    Recommendation,
    Reference,
    Step,
    Tag,
    Threshold,
    fill_thresholds,
    threshold_key,
    weakest,
)
from reasoner.vocab import GR, ICD10CM, KB


def local_id(iri: Node) -> str:
    """The id of a knowledge-base resource: its IRI relative to the kb/ namespace."""
    text = str(iri)
    return text[len(str(KB)) :] if text.startswith(str(KB)) else text


class KnowledgeIndexBuilder:
    """Reads the closed ontology graph into typed, immutable records."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph

    def _str(self, s: Node, p: URIRef, default: str = "") -> str:
        value = self.g.value(s, p)
        return default if value is None else str(value)

    def _text(self, s: Node, p: URIRef, thresholds: dict[URIRef, Threshold]) -> str:
        """A text a reader sees, with its ``{key}`` placeholders filled from the thresholds ``s`` uses.

        Raises:
            KnowledgeBaseError: a placeholder names no threshold of ``s`` (a reader would see it raw).
        """
        values = {threshold_key(t): thresholds[t].display() for t in self._iris(s, GR.usesThreshold) if t in thresholds}
        try:
            keep = FACT_PLACEHOLDERS if p == GR.notMetText else frozenset()  # filled by each determination
            return fill_thresholds(self._str(s, p), values, keep=keep)
        except KeyError as exc:
            name = str(p).rsplit("#", 1)[-1]
            raise KnowledgeBaseError(
                f"{local_id(s)}: {{{exc.args[0]}}} in its gr:{name} names no threshold it uses (gr:usesThreshold)"
            ) from None

    def _iris(self, s: Node, p: URIRef) -> tuple[URIRef, ...]:
        return tuple(sorted(o for o in self.g.objects(s, p) if isinstance(o, URIRef)))

    def _one(self, s: URIRef, p: URIRef) -> URIRef | None:
        value = self.g.value(s, p)
        return value if isinstance(value, URIRef) else None

    def _int(self, s: URIRef, p: URIRef, default: int = 0) -> int:
        value = self.g.value(s, p)
        return int(value.toPython()) if isinstance(value, Literal) else default

    def _subjects(self, cls: URIRef) -> list[URIRef]:
        return sorted(s for s in self.g.subjects(RDF.type, cls) if isinstance(s, URIRef))

    def policies(self) -> dict[str, Policy]:
        return {
            local_id(p): Policy(
                iri=p,
                id=local_id(p),
                label=self._str(p, RDFS.label),
                publisher=self._str(p, GR.publisher),
                version=self._str(p, GR.version),
                effective_date=self._str(p, GR.effectiveDate),
                scope_note=self._str(p, GR.scopeNote),
                references=self._iris(p, GR.reference),
                fallback_codes=frozenset(self._iris(p, GR.fallbackCode)),
            )
            for p in self._subjects(GR.Policy)
        }

    def tags(self) -> dict[URIRef, Tag]:
        """The verification tags, each with its rank and whether a criterion resting on it can deny."""
        return {
            t: Tag(t, self._str(t, RDFS.label), self._int(t, GR.strength), self._str(t, GR.decidesDenial) == "true")
            for t in self._subjects(GR.VerificationStatus)
        }

    def rests_on(self, c: URIRef, thresholds: dict[URIRef, Threshold]) -> tuple[URIRef, ...]:
        """The thresholds a criterion uses: named in its texts (gr:usesThreshold) or by its rule."""
        used = set(self._iris(c, GR.usesThreshold))
        for rule in self.g.objects(c, GR.rule):
            used |= {o for o in self.g.objects(rule, None) if isinstance(o, URIRef) and o in thresholds}
        return tuple(sorted(used))

    def criterion_tag(self, c: URIRef, thresholds: dict[URIRef, Threshold], tags: dict[URIRef, Tag]) -> Tag | None:
        """The weakest tag of the criterion's own fact and of every threshold it uses."""
        own = [tags.get(t) for t in self._iris(c, GR.verification)]
        used = [tags.get(t) for th in self.rests_on(c, thresholds) for t in self._iris(th, GR.verification)]
        return weakest(own + used)

    def criteria(self, thresholds: dict[URIRef, Threshold], tags: dict[URIRef, Tag]) -> dict[URIRef, Criterion]:
        out = {}
        for c in self._subjects(GR.Criterion):
            policy = self._one(c, GR.policy)
            if policy is None:
                raise KnowledgeBaseError(f"criterion {local_id(c)} has no gr:policy")
            category = self._one(c, GR.category)
            out[c] = Criterion(
                iri=c,
                id=local_id(c),
                policy=policy,
                label=self._str(c, RDFS.label),
                statement=self._text(c, GR.statement, thresholds),
                not_met_text=self._text(c, GR.notMetText, thresholds),
                met_text=self._text(c, GR.metText, thresholds),
                category=self._str(self._one(c, GR.category) or c, RDFS.label),
                category_iri=self._one(c, GR.category) or c,
                required=self._str(c, GR.required, "true") == "true",
                order=self._int(c, GR.order),
                applies_to=frozenset(self._iris(c, GR.appliesTo)),
                thresholds=self._iris(c, GR.usesThreshold),
                needs=frozenset(self._iris(c, GR.needsDocumentation)),
                considers=self._iris(c, GR.considers),
                qualifying_shapes=frozenset(self._iris(c, GR.qualifyingShape)),
                recommendation=self._one(c, GR.recommendation),
                references=self._iris(c, GR.reference),
                tag=self.criterion_tag(c, thresholds, tags),
                reads_coverage=category == COVERAGE and (c, GR.rule, None) not in self.g,
                decides_because=self._str(c, GR.decidesBecause),
                scope_shapes=frozenset(self._iris(c, GR.scopeShape)),
            )
        return out

    def steps(self, thresholds: dict[URIRef, Threshold]) -> dict[URIRef, Step]:
        for step, prerequisite in self.g.subject_objects(GR.requiresStep):
            if (prerequisite, GR.completionCriterion, None) not in self.g:
                raise KnowledgeBaseError(
                    f"step {local_id(step)} requires {local_id(prerequisite)}, which has no gr:completionCriterion"
                )
        return {
            s: Step(
                iri=s,
                policy=self._one(s, GR.policy) or s,
                label=self._str(s, RDFS.label),
                order=self._int(s, GR.order),
                action=self._text(s, GR.action, thresholds),
                procedure_classes=frozenset(self._iris(s, GR.procedureClass)),
                requires=frozenset(self._iris(s, GR.requiresStep)),
                completion_criterion=self._one(s, GR.completionCriterion),
                recommendation=self._one(s, GR.recommendation),
                thresholds=self._iris(s, GR.usesThreshold),
            )
            for s in self._subjects(GR.PathwayStep)
        }

    def coverage(self, tags: dict[URIRef, Tag]) -> dict[tuple[URIRef, URIRef], CoverageRule]:
        out = {}
        for r in self._subjects(GR.CoverageRule):
            policy, code, status = self._one(r, GR.policy), self._one(r, GR.code), self._one(r, GR.coverageStatus)
            if policy is None or code is None or status is None:
                raise KnowledgeBaseError(f"coverage rule {local_id(r)} needs gr:policy, gr:code and gr:coverageStatus")
            tag = weakest(tags.get(t) for t in self._iris(r, GR.verification))
            out[(policy, code)] = CoverageRule(
                iri=r,
                policy=policy,
                code=code,
                status=status,
                label=self._str(r, RDFS.label),
                references=self._iris(r, GR.reference),
                tag=tag,
                decides_because=self._str(r, GR.decidesBecause),
            )
        for excluder, excluded in self.g.subject_objects(GR.excludesCode):
            # An exclusion wins over a "covered" rule for the same code: it is the stronger statement.
            # The one-triple form names no source of its own, so it is unverified (U).
            if isinstance(excluder, URIRef) and isinstance(excluded, URIRef):
                policy, code = excluder, excluded
                label = f"{self._str(code, SKOS.notation)} excluded by {self._str(policy, RDFS.label)}"
                out[(policy, code)] = CoverageRule(
                    iri=policy,
                    policy=policy,
                    code=code,
                    status=GR.NotCovered,
                    label=label,
                    references=self._iris(policy, GR.reference),
                    tag=tags.get(GR.VerificationU),
                )
        return out

    def codes(self) -> dict[URIRef, Code]:
        out = {}
        release = None
        for c in self._subjects(GR.Code):
            scheme = self._one(c, SKOS.inScheme)
            official = None
            if scheme == ICD10CM.scheme and not self._str(c, GR.deletedOn):
                release = release or icd10cm.release()  # read once, at preparation: a request need not
                item = release.get(self._str(c, SKOS.notation))
                official = item.description if item is not None and item.billable else None
            out[c] = Code(
                iri=c,
                notation=self._str(c, SKOS.notation),
                system=self._str(scheme, SKOS.notation) if scheme else "",
                label=self._str(c, SKOS.prefLabel),
                denotes=self._one(c, GR.denotes),
                add_on_to=frozenset(self._iris(c, GR.addOnTo)),
                levels_per_unit=self._int(c, GR.levelsPerUnit),
                region=self._one(c, GR.spinalRegion),
                deleted_on=self._str(c, GR.deletedOn) or None,
                replaced_by=frozenset(self._iris(c, GR.replacedBy)),
                official=official,
            )
        return out

    def code_families(self) -> tuple[CodeFamily, ...]:
        """Each code family that denotes a class, the narrowest first."""
        out = []
        for f in self._subjects(GR.CodeFamily):
            denotes = self._one(f, GR.denotes)
            if denotes is None:
                continue  # the code-family meta-shape's finding
            out.append(
                CodeFamily(
                    iri=f,
                    label=self._str(f, SKOS.prefLabel) or self._str(f, RDFS.label),
                    denotes=denotes,
                    prefix=self._str(f, GR.codePrefix) or None,
                    first=self._str(f, GR.firstCode) or None,
                    last=self._str(f, GR.lastCode) or None,
                )
            )
        return tuple(sorted(out, key=lambda f: (f.width, str(f.iri))))

    def diagnosis_lists(self, codes: dict[URIRef, Code]) -> dict[URIRef, tuple[DiagnosisEntry, ...]]:
        """Each diagnosis list with its entries (a list without entries: the sources give none)."""
        out = {}
        for lst in self._subjects(GR.DiagnosisList):
            entries = []
            for e in self._iris(lst, GR.entry):
                code = self._one(e, GR.code)
                entries.append(
                    DiagnosisEntry(
                        iri=e,
                        code=codes[code].notation if code in codes else None,
                        first=self._str(e, GR.firstCode) or None,
                        last=self._str(e, GR.lastCode) or None,
                        prefix=self._str(e, GR.codePrefix) or None,
                    )
                )
            out[lst] = tuple(entries)
        return out

    def indicated(self) -> dict[Node, frozenset[URIRef]]:
        out: dict[URIRef, set[URIRef]] = {}
        for value, cls in self.g.subject_objects(GR.indicates):
            if isinstance(value, URIRef) and isinstance(cls, URIRef):
                out.setdefault(value, set()).add(cls)
        return {k: frozenset(v) for k, v in out.items()}

    def expected(self) -> dict[URIRef, frozenset[URIRef]]:
        """For each case property: the kinds of fact on which its value is expected (gr:expectedOn)."""
        return self._relation(GR.expectedOn)

    def derived_from(self) -> dict[URIRef, frozenset[URIRef]]:
        """For each derived property: the case properties it is computed from (gr:derivedFrom)."""
        return self._relation(GR.derivedFrom)

    def _relation(self, p: URIRef) -> dict[URIRef, frozenset[URIRef]]:
        out: dict[URIRef, set[URIRef]] = {}
        for s, o in self.g.subject_objects(p):
            if isinstance(s, URIRef) and isinstance(o, URIRef):
                out.setdefault(s, set()).add(o)
        return {k: frozenset(v) for k, v in out.items()}

    def implied_purposes(self) -> dict[URIRef, frozenset[URIRef]]:
        """For each value of the case vocabulary that implies purposes (an injectate): those purposes."""
        return self._relation(GR.impliesPurpose)

    def missing_texts(self, thresholds: dict[URIRef, Threshold]) -> dict[Node, str]:
        """What each kind of documentation's absence is called in a letter (placeholders filled)."""
        return {k: self._text(k, GR.missingText, thresholds) for k in self.g.subjects(GR.missingText, None)}

    def thresholds(self) -> dict[URIRef, Threshold]:
        out = {}
        for t in self._subjects(GR.Threshold):
            value = self.g.value(t, GR.value)
            if not isinstance(value, Literal):
                raise KnowledgeBaseError(f"threshold {local_id(t)} has no typed gr:value")
            out[t] = Threshold(
                iri=t,
                key=threshold_key(t),
                label=self._str(t, RDFS.label),
                value=Decimal(str(value)),
                unit=self._str(self._one(t, GR.unit) or t, RDFS.label),
                unit_iri=self._one(t, GR.unit) or t,
                verification=self._str(self._one(t, GR.verification) or t, RDFS.label),
                references=self._iris(t, GR.reference),
            )
        return out

    def references(self) -> dict[URIRef, Reference]:
        return {
            r: Reference(
                iri=r,
                id=local_id(r),
                label=self._str(r, RDFS.label),
                publisher=self._str(r, GR.publisher),
                year=self._str(r, GR.year),
                identifiers=tuple(sorted(str(i) for i in self.g.objects(r, GR.identifier))),
                verification=self._str(self._one(r, GR.verification) or r, RDFS.label),
                verified_content=self._str(r, GR.verifiedContent),
            )
            for r in self._subjects(GR.Reference)
        }

    def recommendations(self) -> dict[URIRef, Recommendation]:
        out = {}
        for r in self._subjects(GR.Recommendation):
            grade_iri = self._one(r, GR.evidenceGrade)
            grade = None
            if grade_iri is not None:
                scheme = self._one(grade_iri, SKOS.inScheme)
                grade = Grade(
                    grade_iri, self._str(grade_iri, SKOS.notation), self._str(scheme, RDFS.label) if scheme else ""
                )
            out[r] = Recommendation(
                r, self._str(r, RDFS.label), self._str(r, SKOS.definition), grade, self._iris(r, GR.reference)
            )
        return out

    def purposes(self) -> dict[URIRef, tuple[tuple[URIRef, URIRef], ...]]:
        """For each procedure class: the (purpose, subclass) pairs that specialise it directly.

        Only a direct subclass specialises a class: the closure also makes a diagnostic SIJ
        injection a subclass of spinal injection, and a sacral lateral branch block (a spinal
        injection without purpose subclasses of its own) must not become one for its purpose.
        """
        out: dict[URIRef, list[tuple[URIRef, URIRef]]] = {}
        for sub, purpose in self.g.subject_objects(GR.purpose):
            if not isinstance(sub, URIRef) or not isinstance(purpose, URIRef):
                continue
            parents = {p for p in self.g.objects(sub, RDFS.subClassOf) if p != sub and isinstance(p, URIRef)}
            for sup in parents:
                if not any((other, RDFS.subClassOf, sup) in self.g for other in parents - {sup}):
                    out.setdefault(sup, []).append((purpose, sub))
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def addressed_by(self) -> dict[Node, frozenset[URIRef]]:
        out: dict[URIRef, set[URIRef]] = {}
        for kind, proc in self.g.subject_objects(GR.addressedBy):
            if isinstance(kind, URIRef) and isinstance(proc, URIRef):
                out.setdefault(kind, set()).add(proc)
        return {k: frozenset(v) for k, v in out.items()}


@dataclass(frozen=True)
class ShapeIndex:
    """Which shapes check which criteria, and which report missing documentation."""

    checks: dict[URIRef, frozenset[URIRef]]
    value_via: dict[Node, URIRef]  # looked up by the shape of any result
    documentation: dict[URIRef, URIRef]
    root_of: dict[Node, URIRef]  # looked up by the shape of any result
    case_roots: frozenset[URIRef]
    prerequisite_roots: frozenset[URIRef]
    targeted: frozenset[URIRef]

    def criteria_roots(self, criteria: frozenset[URIRef]) -> frozenset[URIRef]:
        """Root shapes that check any of these criteria."""
        return frozenset(r for r, cs in self.checks.items() if cs & criteria)

    def documentation_roots(self, kinds: frozenset[URIRef]) -> frozenset[URIRef]:
        """Root shapes that look for any of these documentation kinds."""
        return frozenset(r for r, k in self.documentation.items() if k in kinds)


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def build_shape_index(shapes: Graph, case_shapes: Graph) -> ShapeIndex:
    """Index the shapes graph: parents of property shapes, criteria checked, documentation kinds."""
    parent: dict[URIRef, URIRef] = {}
    for node, prop in shapes.subject_objects(SH.property):
        if isinstance(node, URIRef) and isinstance(prop, URIRef):
            parent[prop] = node

    def root(shape: URIRef) -> URIRef:
        seen = set()
        while shape in parent and shape not in seen:
            seen.add(shape)
            shape = parent[shape]
        return shape

    all_shapes = {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}
    all_shapes |= {s for s in shapes.subjects(RDF.type, SH.PropertyShape) if isinstance(s, URIRef)}
    for s in all_shapes:
        if not isinstance(s, URIRef):
            raise KnowledgeBaseError("every shape must be IRI-named")
    checks: dict[URIRef, set[URIRef]] = {}
    for shape, criterion in shapes.subject_objects(GR.checks):
        if isinstance(shape, URIRef) and isinstance(criterion, URIRef):
            checks.setdefault(root(shape), set()).add(criterion)
    value_via: dict[Node, URIRef] = {
        s: v
        for s, v in shapes.subject_objects(GR.criterionOfValueVia)
        if isinstance(s, URIRef) and isinstance(v, URIRef)
    }
    documentation = {
        s: k
        for s, k in shapes.subject_objects(GR.checksDocumentation)
        if isinstance(s, URIRef) and isinstance(k, URIRef)
    }
    targeted = frozenset(s for p in _TARGETS for s in shapes.subjects(p, None) if isinstance(s, URIRef))
    case_roots = frozenset(s for p in _TARGETS for s in case_shapes.subjects(p, None) if isinstance(s, URIRef))
    return ShapeIndex(
        checks={k: frozenset(v) for k, v in checks.items()},
        value_via=value_via,
        documentation=documentation,
        root_of={s: root(s) for s in all_shapes},
        case_roots=case_roots,
        prerequisite_roots=frozenset(root(s) for s in value_via if isinstance(s, URIRef)),  # each is
        targeted=targeted,
    )
