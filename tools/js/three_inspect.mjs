#!/usr/bin/env node
// Load a .glb/.gltf with three.js's GLTFLoader in headless Chromium and report what three.js built.
//
// Usage: node three_inspect.mjs MODEL [--screenshot PNG] [--size WxH] [--chromium PATH]
//
// Serves the page, three.js (from node_modules) and the model's folder from 127.0.0.1 on a free
// port, opens it with playwright-core driving the system Chromium (/usr/bin/chromium; never a
// downloaded browser), renders the model lit and framed from +Z (the face looks down +Z), and
// prints JSON: {ok, error, meshes: [{name, vertexCount, morphTargetDictionary, morphMaxAbs,
// isSkinnedMesh, material, hasMap, mapSize}], bones, bbox: {min, max}, console, pageErrors}.
// Exit status: 0 loaded, 1 the page or the loader failed (JSON still printed), 2 bad arguments.

import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const THREE_ROOT = path.join(HERE, "node_modules", "three");
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--use-gl=swiftshader",
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
];
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".glb": "model/gltf-binary",
  ".gltf": "model/gltf+json",
  ".bin": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
};

function usage(message) {
  process.stderr.write(
    `three_inspect: ${message}\n` +
      "usage: node three_inspect.mjs MODEL [--screenshot PNG] [--size WxH] [--chromium PATH]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { model: null, screenshot: null, width: 512, height: 512, chromium: "/usr/bin/chromium" };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === "--screenshot") args.screenshot = path.resolve(value());
    else if (arg === "--chromium") args.chromium = value();
    else if (arg === "--size") {
      const match = /^(\d+)x(\d+)$/.exec(value());
      if (!match) usage("--size must look like 512x512");
      args.width = Number(match[1]);
      args.height = Number(match[2]);
    } else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else if (args.model === null) args.model = path.resolve(arg);
    else usage("exactly one MODEL expected");
  }
  if (args.model === null) usage("missing MODEL");
  if (!existsSync(args.model)) usage(`no such file: ${args.model}`);
  if (!existsSync(args.chromium)) usage(`no Chromium at ${args.chromium} (Debian package chromium)`);
  return args;
}

function pageHtml(modelUrl, width, height) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><style>body{margin:0;background:#202020}</style>
<script type="importmap">
{"imports": {"three": "/three/build/three.module.js", "three/addons/": "/three/examples/jsm/"}}
</script></head><body>
<script type="module">
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

function describe(gltf) {
  const meshes = [];
  const bones = [];
  gltf.scene.traverse((o) => {
    if (o.isBone) bones.push(o.name);
    if (!o.isMesh) return;
    const map = o.material && o.material.map;
    meshes.push({
      name: o.name,
      vertexCount: o.geometry.attributes.position.count,
      morphTargetDictionary: o.morphTargetDictionary ?? {},
      // Largest |component| of each POSITION morph attribute (glTF targets are relative deltas).
      morphMaxAbs: (o.geometry.morphAttributes.position ?? []).map((a) =>
        a.array.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
      ),
      isSkinnedMesh: Boolean(o.isSkinnedMesh),
      material: o.material ? o.material.type : null,
      hasMap: Boolean(map),
      mapSize: map && map.image ? [map.image.width, map.image.height] : null,
    });
  });
  const box = new THREE.Box3().setFromObject(gltf.scene, true); // precise: vertices, morphs at rest
  return { meshes, bones, bbox: { min: box.min.toArray(), max: box.max.toArray() } };
}

function render(scene, bbox) {
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setSize(${width}, ${height});
  renderer.setClearColor(0x202020);
  document.body.appendChild(renderer.domElement);
  const box = new THREE.Box3(new THREE.Vector3(...bbox.min), new THREE.Vector3(...bbox.max));
  const center = box.getCenter(new THREE.Vector3());
  const radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1e-3);
  const camera = new THREE.PerspectiveCamera(30, ${width} / ${height}, radius / 100, radius * 100);
  const distance = radius / Math.sin(THREE.MathUtils.degToRad(15));
  camera.position.set(center.x, center.y, center.z + distance); // in front: the face looks down +Z
  camera.lookAt(center);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x444444, 2.0));
  const sun = new THREE.DirectionalLight(0xffffff, 2.0);
  sun.position.set(center.x + radius, center.y + radius, center.z + 2 * radius);
  scene.add(sun);
  renderer.render(scene, camera);
}

new GLTFLoader().load(
  ${JSON.stringify(modelUrl)},
  (gltf) => {
    try {
      const result = describe(gltf);
      render(gltf.scene, result.bbox);
      window.__result = { ok: true, error: null, ...result };
    } catch (err) {
      window.__result = { ok: false, error: String(err && err.stack || err) };
    }
  },
  undefined,
  (err) => { window.__result = { ok: false, error: String(err && err.message || err) }; },
);
</script></body></html>`;
}

function startServer(model) {
  const modelDir = path.dirname(model);
  const routes = [
    ["/three/", THREE_ROOT],
    ["/model/", modelDir],
  ];
  const html = pageHtml(`/model/${encodeURIComponent(path.basename(model))}`, args.width, args.height);
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    if (url === "/favicon.ico") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html);
      return;
    }
    for (const [prefix, root] of routes) {
      if (!url.startsWith(prefix)) continue;
      const file = path.resolve(root, url.slice(prefix.length));
      if (file.startsWith(root + path.sep) && existsSync(file) && statSync(file).isFile()) {
        res.writeHead(200, { "content-type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream" });
        createReadStream(file).pipe(res);
        return;
      }
    }
    res.writeHead(404);
    res.end("not found");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const args = parseArgs(process.argv.slice(2));
const server = await startServer(args.model);
const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: CHROMIUM_ARGS });
const consoleLines = [];
const pageErrors = [];
let result;
try {
  const page = await browser.newPage({ viewport: { width: args.width, height: args.height } });
  page.on("console", (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 120000 });
  result = await page.evaluate(() => window.__result);
  if (args.screenshot && result.ok) {
    await page.locator("canvas").screenshot({ path: args.screenshot });
  }
} catch (err) {
  result = { ok: false, error: String(err && err.message || err) };
} finally {
  await browser.close();
  server.close();
}
process.stdout.write(`${JSON.stringify({ ...result, console: consoleLines, pageErrors }, null, 2)}\n`);
process.exitCode = result.ok ? 0 : 1;
