// npm run scan -- PATH…
// Finds Keygate secrets (organization secrets kg_sk_, project keys kg_pk_) in files and
// directories: prints `path:line: kg_sk_…abcd (organization secret)` for each, never the key, and
// exits 1 when it found any, 0 when none, 2 on a usage error or a path it could not read (the other
// paths are still scanned). Candidates match the published regex (scripts/lib/scan-patterns.mjs);
// only those with the Worker's checksum (src/keys/format.ts) count. Directories are walked in name
// order, without following symbolic links and without .git, node_modules and .wrangler; files with
// a NUL byte in their first 8,000 bytes (binary, as git decides) are skipped, and so are files over
// 5 MB, with a note. As a pre-commit hook: docs/pre-commit-scan.md.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from './lib/args.mjs';
import { findKeys, maskKey, REPORTED_TYPES } from './lib/scan-patterns.mjs';
import { importSource } from './lib/source.mjs';

const USAGE = 'npm run scan -- PATH…';
const HELP = `usage: ${USAGE}
Prints path:line and the masked key for every Keygate organization secret (kg_sk_) or project
key (kg_pk_) in the files and directories given, and exits 1 when it finds any, 0 when it finds
none, 2 on a usage error or a path it cannot read. Client IDs (kg_ci_) are public: never reported.`;

/** Directories never walked into (they may still be named as a PATH). */
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules', '.wrangler']);
/** Larger files (dumps, logs) are skipped with a note, so a scan stays quick enough for every commit. */
const MAX_BYTES = 5 * 1024 * 1024;
/** Where git looks for a NUL byte to call a file binary. */
const BINARY_PROBE_BYTES = 8000;

const argv = process.argv.slice(2);
const end = argv.indexOf('--');
const options = end === -1 ? argv : argv.slice(0, end);
if (options.includes('--help') || options.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const unknown = options.find((arg) => arg.startsWith('-'));
if (unknown !== undefined) fail(`unknown option ${unknown} (a path starting with - goes after --)`, USAGE);
const paths = end === -1 ? options : [...options, ...argv.slice(end + 1)];
if (paths.length === 0) fail('give at least one file or directory', USAGE);

const format = /** @type {import('./lib/scan-patterns.mjs').KeyFormat} */ (await importSource('keys/format.ts'));
const stats = { scanned: 0, binary: 0, large: 0, keys: 0, files: 0, errors: 0 };

for (const path of paths) scanPath(path, true);

const plural = (/** @type {number} */ n, /** @type {string} */ word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const skipped = [];
if (stats.binary) skipped.push(plural(stats.binary, 'binary file'));
if (stats.large) skipped.push(`${plural(stats.large, 'file')} over 5 MB`);
const details = `${plural(stats.scanned, 'file')} scanned${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`;
if (stats.keys === 0) {
  console.error(`no Keygate keys found (${details})`);
} else {
  console.error(`${plural(stats.keys, 'Keygate key')} found in ${plural(stats.files, 'file')} (${details})`);
  console.error('Take the keys out of these files; a key that was ever committed, pushed or shared should be rolled or revoked.');
}
process.exit(stats.errors > 0 ? 2 : stats.keys > 0 ? 1 : 0);

/**
 * Scans a file, or a directory's files recursively. `named`: given on the command line, so a
 * symbolic link is followed and a skipped directory name is walked.
 * @param {string} path
 * @param {boolean} named
 */
function scanPath(path, named) {
  let entry;
  try {
    entry = statSync(path);
  } catch (err) {
    return cannotRead(path, err);
  }
  if (entry.isDirectory()) {
    let names;
    try {
      names = readdirSync(path, { withFileTypes: true });
    } catch (err) {
      return cannotRead(path, err);
    }
    for (const child of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (child.isSymbolicLink() || (child.isDirectory() && SKIPPED_DIRECTORIES.has(child.name))) continue;
      if (child.isDirectory() || child.isFile()) scanPath(join(path, child.name), false);
    }
  } else if (entry.isFile()) {
    scanFile(path, entry.size);
  } else if (named) {
    console.error(`${path}: skipped: not a file or directory`);
  }
}

/**
 * @param {string} path
 * @param {number} size
 */
function scanFile(path, size) {
  if (size > MAX_BYTES) {
    stats.large++;
    console.error(`${path}: skipped: larger than 5 MB`);
    return;
  }
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return cannotRead(path, err);
  }
  if (bytes.subarray(0, BINARY_PROBE_BYTES).includes(0)) {
    stats.binary++;
    return;
  }
  stats.scanned++;
  // latin1 maps each byte to one character: keys are ASCII, and no byte sequence can join a key.
  const found = findKeys(bytes.toString('latin1'), format);
  if (found.length === 0) return;
  stats.files++;
  stats.keys += found.length;
  for (const finding of found) console.log(`${path}:${finding.line}: ${maskKey(finding, format)} (${REPORTED_TYPES[finding.type]})`);
}

/**
 * @param {string} path
 * @param {unknown} err
 */
function cannotRead(path, err) {
  stats.errors++;
  const { code, message } = /** @type {NodeJS.ErrnoException} */ (err);
  const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : message;
  console.error(`error: cannot read ${path}: ${reason}`);
}
