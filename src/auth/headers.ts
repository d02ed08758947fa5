// The names of the headers that carry credentials, exported once: authentication reads them,
// the gateway strips them, the OpenAPI document names them.

/** The public half of an organization key pair. */
export const CLIENT_ID_HEADER = 'x-metal-client-id';
/** The secret half of an organization key pair. */
export const SECRET_HEADER = 'x-metal-api-key';
/** A project key. */
export const PROJECT_KEY_HEADER = 'x-api-key';
/** The identity token Cloudflare Access adds to every request it lets through to the Worker. */
export const ACCESS_JWT_HEADER = 'cf-access-jwt-assertion';
