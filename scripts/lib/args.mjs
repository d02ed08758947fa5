// A small --flag value parser for the project's scripts.

/**
 * Parses `--name value` and bare `--flag` arguments; `--help` (or `-h`) prints the usage and
 * exits 0; an unknown flag or a missing value prints the usage and exits 2.
 * @param {string[]} argv
 * @param {Record<string, 'string' | 'boolean'>} spec
 * @param {string} usage
 * @returns {Record<string, any>}
 */
export function parseArgs(argv, spec, usage) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`usage: ${usage}`);
    process.exit(0);
  }
  try {
    return parse(argv, spec);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), usage);
  }
}

/** @param {string[]} argv @param {Record<string, 'string' | 'boolean'>} spec */
function parse(argv, spec) {
  /** @type {Record<string, any>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    const name = arg.slice(2);
    if (!(name in spec))
      throw new Error(
        `unknown option --${name} (options: ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(', ')})`,
      );
    if (spec[name] === 'boolean') {
      out[name] = true;
    } else {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      out[name] = value;
    }
  }
  return out;
}

export const ORGANIZATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Prints the message and exits 2 (usage error).
 * @param {string} message
 * @param {string} [usage]
 * @returns {never}
 */
export function fail(message, usage) {
  console.error(`error: ${message}`);
  if (usage) console.error(`usage: ${usage}`);
  process.exit(2);
}
