#!/usr/bin/env node
// Validate one .glb or .gltf file with the Khronos glTF Validator and print its JSON report.
//
// Usage: node validate_gltf.mjs PATH [--max-issues N]
//
// For a .gltf (or a .glb that references outside files) external resources (.bin, .png, .jpg)
// are resolved relative to the file. The report (the validator's own object form, without a
// timestamp so equal inputs give equal output) goes to stdout as JSON.
//
// Exit status: 0 = report written and it has no errors; 1 = report written and it has errors;
// 2 = bad arguments, unreadable file, or the validator could not recognise the asset at all.

import { readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";

import * as validator from "gltf-validator";

function usage(message) {
  process.stderr.write(`validate_gltf: ${message}\nusage: node validate_gltf.mjs PATH [--max-issues N]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  let file = null;
  let maxIssues = 0; // 0 = unlimited
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--max-issues") {
      const value = Number.parseInt(argv[i + 1] ?? "", 10);
      if (!Number.isInteger(value) || value < 0) usage("--max-issues needs a non-negative integer");
      maxIssues = value;
      i += 1;
    } else if (arg.startsWith("-")) {
      usage(`unknown option ${arg}`);
    } else if (file === null) {
      file = arg;
    } else {
      usage("exactly one PATH expected");
    }
  }
  if (file === null) usage("missing PATH");
  return { file: path.resolve(file), maxIssues };
}

function externalResourceLoader(baseDir) {
  return async (uri) => {
    const target = path.resolve(baseDir, decodeURIComponent(uri));
    return new Uint8Array(await readFile(target));
  };
}

async function main() {
  const { file, maxIssues } = parseArgs(process.argv.slice(2));
  let bytes;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    usage(`cannot read ${file}: ${err.message}`);
  }
  let report;
  try {
    report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      format: file.toLowerCase().endsWith(".glb") ? "glb" : undefined,
      maxIssues,
      writeTimestamp: false,
      externalResourceFunction: externalResourceLoader(path.dirname(file)),
    });
  } catch (err) {
    process.stderr.write(`validate_gltf: validator failed on ${file}: ${err}\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.issues.numErrors > 0 ? 1 : 0;
}

await main();
