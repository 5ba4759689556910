/** Starting a server under test by name, and the callee every call goes to. */
import { startKamailio } from './kamailioServer.js';
import { startSipstate } from './sipstateServer.js';
import { registerContact } from './rawSip.js';
import { startSipp, type SippRun } from './sipp.js';
import type { Server, ServerName } from './server.js';

export function startServer(name: ServerName, cpu: number): Promise<Server> {
  return name === 'sipstate' ? startSipstate({ cpu }) : startKamailio({ cpu });
}

/** The user part the callers dial, registered with the callee SIPp's address as its contact. */
export const CALLEE = 'callee';

/**
 * Starts the callee SIPp (bench/sipp/uas.xml) on the load core and, when a server is given,
 * registers its address as the contact of sip:callee@127.0.0.1 with a raw REGISTER.
 */
export async function startCallee(server: Server | null, cpu: number, label: string): Promise<SippRun> {
  const uas = await startSipp({ label: `${label} callee`, scenario: 'uas.xml', cpu, waitBound: true, hardTimeoutMs: 30 * 60_000 });
  if (server) {
    try {
      await registerContact(server.port, CALLEE, uas.port);
    } catch (e) {
      await uas.stop();
      throw new Error(`${server.name}: the callee's REGISTER failed: ${(e as Error).message}\n${server.output()}`);
    }
  }
  return uas;
}
