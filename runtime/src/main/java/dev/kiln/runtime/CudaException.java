package dev.kiln.runtime;

/**
 * A CUDA driver call returned an error. Carries the call, the CUresult code, its name and message
 * (from cuGetErrorName / cuGetErrorString, or the built-in table when the driver cannot say) and the device.
 */
public final class CudaException extends RuntimeException {
    private final String call;
    private final int code;
    private final String errorName;
    private final String device;

    public CudaException(String call, int code, String errorName, String errorMessage, String device) {
        super(call + " failed: " + errorName + " (" + code + "): " + errorMessage + " [" + device + "]");
        this.call = call;
        this.code = code;
        this.errorName = errorName;
        this.device = device;
    }

    public String call() { return call; }
    public int code() { return code; }
    public String errorName() { return errorName; }
    public String device() { return device; }
}
