package dev.kiln.runtime;

/** The CUDA driver or NVRTC library could not be loaded or a symbol is missing; the message says what to install. */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
