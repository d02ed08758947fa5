// Where the bench lives and writes: the repository root, bench/, and bench/.build (gitignored).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH, '..');
export const BUILD = join(BENCH, '.build');
