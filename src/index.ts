// The Worker: Keygate's HTTP app, and the KeygateVerifier RPC entrypoint for other Workers.
import { createApp } from './app';

export { BudgetCounter } from './budgets/counter';
export { KeygateVerifier } from './rpc/verifier';

export default createApp() satisfies ExportedHandler<Env>;
