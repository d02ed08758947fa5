// Splits schema.sql into statements (comments dropped): the schema has no ';' inside literals.
/** @param {string} sql @returns {string[]} */
export function splitSqlStatements(sql) {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}
