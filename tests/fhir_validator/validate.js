#!/usr/bin/env node
// Validates FHIR R4 resources with FHIR.js (the npm package "fhir", R4 definitions), for the tests.
//
// Reads one JSON array of resources on standard input and writes one JSON array on standard
// output: for each resource, in order, the list of FHIR.js messages ({location, severity,
// message}). An element FHIR R4 does not define is an error (errorOnUnexpected), as it is for
// HL7's own validator. Exit code 0 whatever the messages; 2 when the input is not a JSON array.
// tests/fhir_validation.py runs this once per batch of resources.
"use strict";

const { Fhir } = require("fhir");

function main(text) {
  let resources;
  try {
    resources = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`validate.js: standard input is not JSON: ${err.message}\n`);
    process.exit(2);
  }
  if (!Array.isArray(resources)) {
    process.stderr.write("validate.js: standard input must be a JSON array of resources\n");
    process.exit(2);
  }
  const fhir = new Fhir(); // R4 is FHIR.js's default version
  const results = resources.map((resource) =>
    fhir.validate(resource, { errorOnUnexpected: true }).messages.map((m) => ({
      location: m.location || "",
      severity: m.severity,
      message: m.message,
    })),
  );
  process.stdout.write(JSON.stringify(results));
}

const chunks = [];
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => main(chunks.join("")));
