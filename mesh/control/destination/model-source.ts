/**
 * Where the destination service's model comes from: a `ModelSource` gives the current model and
 * tells when it changes. `MemoryModelSource` is set by hand (tests, benchmarks);
 * `LocalTopologySource` (local-topology-source.ts) follows the local runner.
 */
import type { MeshModel } from './destination-model';

export interface ModelSource {
  current(): MeshModel;
  /** Called after every change; returns the unsubscribe function. */
  subscribe(listener: (model: MeshModel) => void): () => void;
}

export class MemoryModelSource implements ModelSource {
  private readonly listeners = new Set<(model: MeshModel) => void>();

  constructor(private model: MeshModel = { services: [] }) {}

  current(): MeshModel {
    return this.model;
  }

  set(model: MeshModel): void {
    this.model = model;
    for (const l of [...this.listeners]) l(model);
  }

  subscribe(listener: (model: MeshModel) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}
