// Organization and project ids: 1-64 characters of [A-Za-z0-9_-] (the contract's one pattern,
// used by the routes, the JWT claims and the list cursors alike).

export const RESOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const RESOURCE_ID_RULE = '1-64 characters of [A-Za-z0-9_-]';
