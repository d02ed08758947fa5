// Another Worker of the operator, as the README's RPC section describes it: a service binding
// KEYGATE to Keygate's KeygateVerifier entrypoint. Tests POST a verify() argument as JSON and get
// the answer back as JSON.
export default {
  async fetch(request, env) {
    const argument = await request.json();
    const answer = await env.KEYGATE.verify(argument);
    return Response.json(answer);
  },
};
