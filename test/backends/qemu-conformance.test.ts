// The conformance suite on the qemu backend: real VMs (three boots, cold: no templates).
import { QemuBackend } from '../../src/backends/qemu/backend.ts';
import { readTscKhz } from '../../src/backends/qemu/host.ts';
import { buildGuest } from '../tether/guest-vm.ts';
import { backendConformance } from './conformance.ts';

backendConformance('qemu', async () => {
  const guest = buildGuest();
  const make = () => new QemuBackend({
    qemuBinary: 'qemu-system-x86_64',
    kernel: guest.kernel,
    initrd: guest.initrd,
    kernelVersion: 'test',
    accel: 'tcg',
    accelReason: 'test',
    tscKhz: readTscKhz(),
    bootTimeoutSeconds: 60,
    instantCloneOffReason: 'conformance test',
  });
  return {
    backend: make(),
    restart: (vm) => {
      // The dead engine's control connection goes with it; QEMU serves one control client at a time.
      (vm as unknown as { socket: { destroy(): void } }).socket.destroy();
      return make();
    },
    close: async () => {},
  };
});
