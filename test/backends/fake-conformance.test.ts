// The conformance suite on the in-memory fake backend.
import { FakeBackend } from '../../src/backends/fake/backend.ts';
import { backendConformance } from './conformance.ts';

backendConformance('fake', async () => {
  const backend = new FakeBackend();
  return {
    backend,
    // The fake "hypervisor" (its host) outlives the engine: a new backend on it adopts its VMs.
    restart: () => new FakeBackend({ host: backend.host }),
    close: async () => {},
  };
});
