// What every execution backend offers the rest of the runtime: a model compiled for a fixed
// batch of views, loaded with its weights, that turns normalised clips into logits.

export type BackendName = "webgpu" | "wasm";

export interface RunResult {
  /** pooled backbone features [batch, C] */
  features: Float32Array;
  /** per-view logits [batch, num_classes] */
  clsScore: Float32Array;
}

export interface ModelRunner {
  readonly backend: BackendName;
  /** views per run(); a shorter final batch is padded by the caller or handled by the runner */
  readonly batch: number;
  /** human-readable device description, e.g. "wasm simd128+relaxed, 2 threads" */
  readonly device: string;
  /**
   * Runs `views` (1..batch) views. `input` is [views, 3, T, H, W] float32 (PyTorch layout,
   * normalised as the pipeline leaves it). Concurrent calls are queued, never interleaved.
   */
  run(input: Float32Array, views: number): Promise<RunResult>;
  /** bytes held for weights + activations (device memory for WebGPU, linear memory for WASM) */
  memoryBytes(): { weights: number; activations: number };
  dispose(): Promise<void>;
}
