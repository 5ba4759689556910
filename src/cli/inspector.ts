import type { InspectionEvent } from 'xstate';

/**
 * Opt-in live view of every machine in the Stately inspector: a local server relays the actors'
 * inspection events to the inspector page (hosted online by Stately, hence never on by default).
 */
export async function startInspector(port: number): Promise<{ inspect: (e: InspectionEvent) => void; stop: () => void }> {
  const { createInspectorServer } = await import('@statelyai/inspect/server');
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const server = createInspectorServer({ port, autoOpen: false });
  const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
  return {
    inspect: inspector.inspect as unknown as (e: InspectionEvent) => void,
    stop: () => {
      inspector.stop();
      server.stop();
    },
  };
}
