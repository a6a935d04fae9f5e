// Freezing and thawing a running VM through its QMP monitor (`docker pause`/`unpause`): `stop` halts
// the vCPUs, `cont` lets them run again; QEMU's own state (query-status) is the truth, so a pause made
// by an earlier engine is seen by the next one. One short connection per request: the monitor
// serves one client at a time and nothing else holds it once the VM runs.
import { QmpClient } from './qmp.ts';

const QMP_TIMEOUT_MS = 5000;

async function withQmp<T>(qmpSocket: string, work: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await QmpClient.connect(qmpSocket, QMP_TIMEOUT_MS);
  try {
    return await work(qmp);
  } finally {
    qmp.close();
  }
}

export function freezeVm(qmpSocket: string): Promise<void> {
  return withQmp(qmpSocket, async (qmp) => { await qmp.execute('stop'); });
}

export function thawVm(qmpSocket: string): Promise<void> {
  return withQmp(qmpSocket, async (qmp) => { await qmp.execute('cont'); });
}

/** True when the VM was stopped on request (not while it is still migrating in, or has crashed). */
export function vmFrozen(qmpSocket: string): Promise<boolean> {
  return withQmp(qmpSocket, async (qmp) => {
    const { status } = await qmp.execute<{ running: boolean; status: string }>('query-status');
    return status === 'paused';
  });
}
