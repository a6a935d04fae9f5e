// Where the time of a pull or load goes, layer by layer, for the benchmark and for diagnosis.
// The store reports each phase's wall time to a recorder it is given; by default nobody listens.

export type Phase =
  /** Request to verified blob (the download runs beside the unpacking). */
  | 'download'
  /** Waiting for a free build slot. */
  | 'queued'
  /** Decompress, digest and unpack into the staging directory, as the bytes arrive. */
  | 'unpack'
  /** Whiteouts, device nodes and opaque directories (one host tool run each). */
  | 'nodes'
  /** Waiting, after unpacking, for the download's verdict on the blob. */
  | 'verify'
  /** `mke2fs -d`: the staging directory into the disk image (mke2fs syncs the image). */
  | 'mke2fs'
  /** Removing lost+found from the image. */
  | 'debugfs'
  /** Metadata, the blob kept for pushes, fsyncs and the rename that makes the layer visible. */
  | 'commit'
  /** Deleting the staging directory. */
  | 'cleanup';

export type PhaseRecorder = (layer: string, phase: Phase, ms: number) => void;

export const IGNORE_PHASES: PhaseRecorder = () => {};

/** Runs `work`, reporting its wall time as `phase` of `layer` (whether it succeeds or not). */
export async function timed<T>(record: PhaseRecorder, layer: string, phase: Phase, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    record(layer, phase, performance.now() - start);
  }
}
