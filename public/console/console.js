// @ts-check
// The Keygate console: sign-in, organization keys (API & MCP Access → API Keys), project keys
// (both with expiry, leaks and rolls), the plan and usage (charts by uPlot, vendored) and the audit
// log, on the contract's JSON API only. No framework, no innerHTML: every node is built with the
// DOM API, so the page runs under a CSP with Trusted Types and no inline script.
// This file wires the sections of js/ together and starts the session.
import { clearAudit, loadAudit, wireAudit } from './js/audit.js';
import { wireDialogs } from './js/dialogs.js';
import { wireLifecycle } from './js/lifecycle.js';
import { clearOrgKeys, loadOrgKeys, wireOrgKeys } from './js/org-keys.js';
import { clearPlan, loadPlan, wirePlan } from './js/plan.js';
import { clearProjectKeys, openProjectView, wireProjectKeys } from './js/project-keys.js';
import { onSession, start, wireSession } from './js/session.js';
import { wireUsage } from './js/usage.js';
import { route, useViews } from './js/views.js';

useViews([
  { id: 'api-access', title: 'api-access-title', load: () => void loadOrgKeys() },
  { id: 'project-keys', title: 'project-keys-title', load: openProjectView },
  { id: 'plan', title: 'plan-title', load: loadPlan },
  { id: 'audit-log', title: 'audit-title', load: loadAudit },
]);
onSession({
  enter: () => route(false),
  clear: () => {
    clearOrgKeys();
    clearProjectKeys();
    clearPlan();
    clearAudit();
  },
});
wireSession();
wireDialogs();
wireLifecycle();
wireOrgKeys();
wireProjectKeys();
wireUsage();
wirePlan();
wireAudit();
void start();
