package dev.kiln.runtime;

/** An NVRTC API call (not the compilation itself, see {@link CompileException}) returned an error. */
public final class NvrtcException extends RuntimeException {
    private final String call;
    private final int code;

    public NvrtcException(String call, int code, String errorString) {
        super(call + " failed: " + errorString + " (" + code + ")");
        this.call = call;
        this.code = code;
    }

    public String call() { return call; }
    public int code() { return code; }
}
