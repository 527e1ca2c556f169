/**
 * GPU runtime: CUDA driver API and NVRTC over Java FFM (no JNI), with a content-addressed kernel cache.
 *
 * <p>Entry points: {@link dev.kiln.runtime.Cuda#available()} and {@link dev.kiln.runtime.Context#open(int)}
 * for work on a device; {@link dev.kiln.runtime.KernelCache} to turn CUDA C into a loadable module;
 * {@link dev.kiln.runtime.Doctor} to explain what is missing on a machine without a GPU.
 * Every native object is {@link java.lang.AutoCloseable}; a {@link java.lang.ref.Cleaner} frees what a
 * caller forgets, and use after close throws {@link dev.kiln.runtime.ResourceClosedException}.
 */
package dev.kiln.runtime;
