// The machine configuration: one JSON Schema (shared with the UI's editor and the CLI) and its type.

import schema from './machine-config.schema.json';

export const machineConfigSchema = schema;

export interface BlockDeviceConfig {
  path: string;
  readOnly?: boolean;
}

export interface MachineConfig {
  name: string;
  kernel: string;
  initrd?: string;
  /** System.map or ELF with a symbol table for the debugger and profiler (default: the kernel's own). */
  symbols?: string;
  memoryMB: number;
  cmdline?: string;
  blockDevices?: BlockDeviceConfig[];
  networks?: string[];
  /** Disk writes go to temporary overlays thrown away at stop; the disk images stay as they are. */
  disposable?: boolean;
}
