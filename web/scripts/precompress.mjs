#!/usr/bin/env node
/**
 * After `vite build`: writes a brotli (.br) and a gzip (.gz) copy next to every text file of the
 * build, so the daemon serves them without compressing anything per request
 * (monitord/http/compression.py). Node's own zlib does both; nothing to install.
 *
 *   node scripts/precompress.mjs [dir]     (default: the build output, ../monitord/static/dashboard)
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const DIR = resolve(process.argv[2] ?? fileURLToPath(new URL("../../monitord/static/dashboard", import.meta.url)));
const TEXT = new Set([".js", ".css", ".html", ".svg", ".json", ".txt", ".map"]);
const MIN_BYTES = 1024; // smaller files gain less than the header costs

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let before = 0;
let after = 0;
for (const path of files(DIR)) {
  if (!TEXT.has(extname(path))) continue;
  const data = readFileSync(path);
  if (data.length < MIN_BYTES) continue;
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
  before += data.length;
  after += br.length;
}
console.log(`precompressed ${DIR}: ${before} bytes of text, ${after} as brotli`);
