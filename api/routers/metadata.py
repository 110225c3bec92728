"""GET /metadata: the FHIR R4 CapabilityStatement of this server, which offers Claim/$submit (Da Vinci PAS)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

import reasoner

from ..deps import LiveDep
from ..models import CapabilityStatement
from ..problems import FHIR_JSON
from .pas import FhirJSONResponse

router = APIRouter(tags=["fhir"])

PAS = "http://hl7.org/fhir/us/davinci-pas"
PAS_VERSION = "2.2.1"


def capability_statement(base_url: str, published: str, knowledge_base: str) -> dict[str, Any]:
    """The CapabilityStatement of the server at ``base_url`` serving ``knowledge_base`` (its hash) since ``published``.

    It instantiates PAS's Intermediary capabilities in part: ``Claim/$submit`` and ``Claim/$inquire``
    (no subscriptions). The CDS Hooks services are not FHIR RESTful operations; their discovery
    document is ``GET /cds-services``.
    """
    submit = (
        "A Da Vinci PAS request Bundle in, a PAS response Bundle out: every valid request is answered with a "
        "ClaimResponse, a review action per item (A1 certified in total, A3 not certified, A4 pended, C cancelled); "
        "what the guidelines cannot decide is pended for a clinician reviewer, the reason in a process note. "
        "`?policy=ID` chooses the policy to judge under."
    )
    inquire = (
        "A Da Vinci PAS inquiry Bundle in, a PAS inquiry response Bundle out: the request kept at `$submit`, "
        "matched by the Claim's and the patient's identifiers, as it now stands; once a clinician has reviewed "
        "it, every item has the reviewer's action and the review is the first note."
    )
    return {
        "resourceType": "CapabilityStatement",
        "id": "guideline-reasoner",
        "name": "GuidelineReasoner",
        "title": "guideline-reasoner",
        "status": "active",
        "date": published,
        "publisher": "guideline-reasoner",
        "description": "Decides whether a requested procedure meets a policy's criteria, and explains why.",
        "kind": "instance",
        "instantiates": [f"{PAS}/CapabilityStatement/IntermediaryCapabilities|{PAS_VERSION}"],
        "software": {"name": "guideline-reasoner", "version": reasoner.__version__},
        "implementation": {
            "description": f"guideline-reasoner {reasoner.__version__}, knowledge base {knowledge_base}",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": [f"{PAS}/ImplementationGuide/hl7.fhir.us.davinci-pas|{PAS_VERSION}"],
        "rest": [
            {
                "mode": "server",
                "documentation": "FHIR R4 JSON (`application/fhir+json`); errors are OperationOutcomes.",
                "resource": [
                    {
                        "type": "Claim",
                        "supportedProfile": [
                            f"{PAS}/StructureDefinition/profile-claim",
                            f"{PAS}/StructureDefinition/profile-claim-update",
                            f"{PAS}/StructureDefinition/profile-claim-inquiry",
                        ],
                        "operation": [
                            {
                                "name": "submit",
                                "definition": f"{PAS}/OperationDefinition/Claim-submit",
                                "documentation": submit,
                            },
                            {
                                "name": "inquire",
                                "definition": f"{PAS}/OperationDefinition/Claim-inquiry",
                                "documentation": inquire,
                            },
                        ],
                    }
                ],
            }
        ],
    }


@router.get(
    "/metadata",
    summary="FHIR CapabilityStatement",
    description=(
        "The FHIR R4 CapabilityStatement of this server (kind `instance`): FHIR 4.0.1 in JSON, and the "
        "FHIR operations it offers, `Claim/$submit` and `Claim/$inquire` (Da Vinci PAS 2.2.1, which it "
        "instantiates in part)."
    ),
    response_class=FhirJSONResponse,
    responses={200: {"description": "The CapabilityStatement", "model": CapabilityStatement}},
)
def metadata(request: Request, live: LiveDep) -> Response:
    """The CapabilityStatement, dated when the knowledge base being served was published."""
    kb, generation = live.current()
    request.state.knowledge_base = (kb.content_hash, generation.number)
    statement = capability_statement(str(request.base_url).rstrip("/"), generation.published, kb.content_hash)
    return Response(json.dumps(statement, ensure_ascii=False), media_type=FHIR_JSON)
