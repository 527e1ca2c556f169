package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into libnvrtc (found by {@link LibraryLocator}). An instance per loaded library; compilation
 * is rare and slow, so these handles need not be static constants. Thread-safe: NVRTC programs are
 * independent, and each {@link #compile} uses its own.
 */
public final class Nvrtc {
    private static final int COMPILATION_ERROR = 6;

    private final String path;
    private final MethodHandle version, create, compile, logSize, log, ptxSize, ptx, cubinSize, cubin, destroy, errorString;

    private Nvrtc(SymbolLookup lib, String path) {
        this.path = path;
        version = bind(lib, "nvrtcVersion", ADDRESS, ADDRESS);
        create = bind(lib, "nvrtcCreateProgram", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        compile = bind(lib, "nvrtcCompileProgram", JAVA_LONG, JAVA_INT, ADDRESS);
        logSize = bind(lib, "nvrtcGetProgramLogSize", JAVA_LONG, ADDRESS);
        log = bind(lib, "nvrtcGetProgramLog", JAVA_LONG, ADDRESS);
        ptxSize = bind(lib, "nvrtcGetPTXSize", JAVA_LONG, ADDRESS);
        ptx = bind(lib, "nvrtcGetPTX", JAVA_LONG, ADDRESS);
        cubinSize = bind(lib, "nvrtcGetCUBINSize", JAVA_LONG, ADDRESS);
        cubin = bind(lib, "nvrtcGetCUBIN", JAVA_LONG, ADDRESS);
        destroy = bind(lib, "nvrtcDestroyProgram", ADDRESS);
        errorString = Linker.nativeLinker().downcallHandle(lib.find("nvrtcGetErrorString").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        var addr = lib.find(name).orElseThrow(() -> new CudaUnavailableException("NVRTC lacks " + name));
        return Linker.nativeLinker().downcallHandle(addr, FunctionDescriptor.of(JAVA_INT, args));
    }

    private static final class Default {
        static final LibraryLocator.Found FOUND = LibraryLocator.fromEnvironment().openNvrtc();
        static final Nvrtc INSTANCE = FOUND.ok() ? new Nvrtc(FOUND.lookup().orElseThrow(), FOUND.chosen()) : null;
    }

    /** The NVRTC found from CUDA_HOME / CUDA_PATH / the loader path; throws with what was tried if none. */
    public static Nvrtc get() {
        if (Default.INSTANCE == null) {
            throw new CudaUnavailableException("NVRTC not found: " + Default.FOUND.reason()
                    + ". Install the CUDA toolkit (or the nvidia-cuda-nvrtc package) and set CUDA_HOME.");
        }
        return Default.INSTANCE;
    }

    /** Opens NVRTC through {@code locator}; for the Doctor, which must report rather than throw. */
    public static Nvrtc open(LibraryLocator.Found found) {
        return new Nvrtc(found.lookup().orElseThrow(), found.chosen());
    }

    public String path() { return path; }

    /** "major.minor", e.g. "13.0". */
    public String version() {
        try (Arena a = Arena.ofConfined()) {
            var major = a.allocate(JAVA_INT);
            var minor = a.allocate(JAVA_INT);
            check((int) version.invokeExact(major, minor), "nvrtcVersion");
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Compiles; on NVRTC_ERROR_COMPILATION throws {@link CompileException} with the log and the source lines. */
    public CompiledKernel compile(CompileRequest r, String archOption, boolean wantCubin) {
        try (Arena a = Arena.ofConfined()) {
            var prog = a.allocate(ADDRESS);
            check((int) create.invokeExact(prog, a.allocateFrom(r.source()), a.allocateFrom(r.name()), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            long p = prog.get(JAVA_LONG, 0);
            try {
                var opts = a.allocate(ADDRESS, r.options().size() + 1L);
                opts.setAtIndex(ADDRESS, 0, a.allocateFrom("-arch=" + archOption));
                for (int i = 0; i < r.options().size(); i++) opts.setAtIndex(ADDRESS, i + 1, a.allocateFrom(r.options().get(i)));
                int res = (int) compile.invokeExact(p, r.options().size() + 1, opts);
                String text = new String(output(a, p, logSize, log), java.nio.charset.StandardCharsets.UTF_8).replace("\0", "");
                if (res == COMPILATION_ERROR) throw new CompileException(r, text);
                check(res, "nvrtcCompileProgram");
                byte[] bin = wantCubin ? output(a, p, cubinSize, cubin) : new byte[0];
                byte[] ptxText = wantCubin ? new byte[0] : stripNul(output(a, p, ptxSize, ptx));
                return new CompiledKernel(r.arch(), bin, ptxText, text);
            } finally {
                prog.set(JAVA_LONG, 0, p);
                int ignored = (int) destroy.invokeExact(prog);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private byte[] output(Arena a, long prog, MethodHandle sizeFn, MethodHandle getFn) throws Throwable {
        var size = a.allocate(JAVA_LONG);
        check((int) sizeFn.invokeExact(prog, size), "nvrtcGet*Size");
        long n = size.get(JAVA_LONG, 0);
        if (n == 0) return new byte[0];
        var buf = a.allocate(n);
        check((int) getFn.invokeExact(prog, buf), "nvrtcGet*");
        return buf.toArray(JAVA_BYTE);
    }

    private static byte[] stripNul(byte[] b) {
        int n = b.length;
        while (n > 0 && b[n - 1] == 0) n--;
        return java.util.Arrays.copyOf(b, n);
    }

    private void check(int res, String call) throws Throwable {
        if (res == 0) return;
        var s = (MemorySegment) errorString.invokeExact(res);
        throw new NvrtcException(call, res, s.equals(MemorySegment.NULL) ? "?" : s.reinterpret(256).getString(0));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
