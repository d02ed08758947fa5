// /v1/secret-scanning: GitHub's secret scanning partner endpoint. No Keygate credential: a report
// is trusted for GitHub's signature over its raw body, checked before the body is parsed.
import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../errors';
import { KEY_IDENTIFIER_HEADER, SIGNATURE_HEADER, type SignatureFailure, verifyReportSignature } from '../leaks/github';
import { actOnReport, parseReport } from '../leaks/report';
import { keyServiceDeps, requestMeta } from '../middleware/context';
import { createRouter } from './router';
import { orgErrorResponses } from './schemas';

const SecretScanningMatch = z
  .object({
    token: z.string().openapi({ description: 'The string that matched the registered pattern: a Keygate key or not.' }),
    type: z
      .string()
      .openapi({ description: 'The name the pattern was registered under; echoed as token_type.', example: 'keygate_api_key' }),
    url: z.string().openapi({
      description: "Where the match was found (may be empty); stored as the key's leakSource.",
      example: 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt',
    }),
    source: z.string().openapi({ description: 'What kind of place it was found in on GitHub.', example: 'content' }),
  })
  .openapi('SecretScanningMatch');

const TokenLabel = z
  .object({
    token_hash: z.string().openapi({ description: 'SHA-256 (hex) of the reported token.' }),
    token_type: z.string().openapi({ description: "The report's type, echoed." }),
    label: z.enum(['true_positive', 'false_positive']).openapi({ description: 'true_positive: a Keygate key (in any status).' }),
  })
  .openapi('SecretScanningLabel');

const SignatureHeaders = z.object({
  [KEY_IDENTIFIER_HEADER]: z
    .string()
    .openapi({ description: 'The key_identifier of the key at SECRET_SCANNING_KEYS_URL that signed the body.' }),
  [SIGNATURE_HEADER]: z.string().openapi({ description: 'Base64 DER ECDSA P-256 SHA-256 signature of the raw request body.' }),
});

// Documented here and registered below without a validator: the signature covers the raw body,
// which must be read as it arrived, before anything parses it.
const reportRoute = createRoute({
  method: 'post',
  path: '/github',
  operationId: 'reportGitHubSecretScanning',
  tags: ['Secret scanning'],
  summary: "GitHub's secret scanning partner endpoint",
  description:
    'GitHub reports tokens matching the Keygate key pattern that it found in public places. The signature is verified ' +
    'against the keys published at SECRET_SCANNING_KEYS_URL; then each reported Keygate key gets leakedAt and leakSource ' +
    "and a 'leaked' audit entry, and is revoked (organization secrets, unless LEAKED_ORG_KEY_ACTION=flag) or only flagged " +
    '(project keys, unless LEAKED_PROJECT_KEY_ACTION=revoke). Entries without a string token are skipped. A key reported ' +
    'again keeps its first leakedAt and leakSource and gets no second entry, unless it is now to be revoked.',
  security: [],
  request: {
    headers: SignatureHeaders,
    body: { required: true, content: { 'application/json': { schema: z.array(SecretScanningMatch) } } },
  },
  responses: {
    200: { description: 'One label per reported token', content: { 'application/json': { schema: z.array(TokenLabel) } } },
    ...orgErrorResponses(400, 401, 413, 503),
  },
});

const refusals: Record<Exclude<SignatureFailure, 'keys_unavailable'>, string> = {
  missing: `missing ${KEY_IDENTIFIER_HEADER} or ${SIGNATURE_HEADER} header`,
  malformed: `malformed ${KEY_IDENTIFIER_HEADER} or ${SIGNATURE_HEADER} header`,
  unknown_key: `unknown ${KEY_IDENTIFIER_HEADER}`,
  bad_signature: 'the signature does not match the request body',
};

export const secretScanning = createRouter();

secretScanning.openAPIRegistry.registerPath(reportRoute);

secretScanning.post(reportRoute.path, async function githubReport(c) {
  const body = await c.req.arrayBuffer();
  const check = await verifyReportSignature(
    c.get('config').secretScanningKeysUrl,
    { identifier: c.req.header(KEY_IDENTIFIER_HEADER), signature: c.req.header(SIGNATURE_HEADER) },
    body,
  );
  if (!check.ok) {
    // Unverifiable is not forged: 503 asks GitHub to deliver the report again later.
    if (check.reason === 'keys_unavailable') {
      throw new ApiError('SERVICE_UNAVAILABLE', "GitHub's secret scanning keys could not be fetched; the report was not verified");
    }
    throw new ApiError('UNAUTHORIZED', refusals[check.reason]);
  }
  const labels = await actOnReport(keyServiceDeps(c), parseReport(body), requestMeta(c));
  return c.json(labels, 200);
});
