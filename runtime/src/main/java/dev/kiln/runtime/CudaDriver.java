package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Downcalls into libcuda.so.1, only the calls Kiln uses. Symbols are the ones CUDA 13's cuda.h maps the
 * plain names to (cuMemAlloc -> cuMemAlloc_v2, cuGraphExecUpdate -> cuGraphExecUpdate_v2, ...), so the
 * semantics match the current headers. Opaque handles (CUcontext, CUstream, CUdeviceptr...) travel as
 * {@code long}: pointer-sized integers share registers with pointers on the 64-bit ABIs we run on, and this
 * avoids wrapping each handle in a MemorySegment. Handles are static finals so the JIT can inline calls.
 * Each wrapper returns the raw CUresult; {@link #check} turns it into a {@link CudaException}.
 */
public final class CudaDriver {
    private CudaDriver() {}

    private static final LibraryLocator.Found LIB = LibraryLocator.fromEnvironment().openDriver();
    private static final List<String> MISSING = java.util.Collections.synchronizedList(new ArrayList<>()); // two classes' inits add to it
    private static final Linker LINKER = Linker.nativeLinker();

    private static final FunctionDescriptor I_ = FunctionDescriptor.of(JAVA_INT);

    private static FunctionDescriptor fn(java.lang.foreign.MemoryLayout... args) {
        return I_.appendArgumentLayouts(args);
    }

    private static MethodHandle bind(String symbol, FunctionDescriptor fd) {
        return bind(symbol, null, fd);
    }

    /** Binds {@code symbol}, else {@code older} (same signature), else records the symbol as missing. */
    private static MethodHandle bind(String symbol, String older, FunctionDescriptor fd) {
        if (!LIB.ok()) return null;
        SymbolLookup lookup = LIB.lookup().orElseThrow();
        var addr = lookup.find(symbol);
        if (addr.isEmpty() && older != null) addr = lookup.find(older);
        if (addr.isEmpty()) {
            MISSING.add(symbol);
            return null;
        }
        return LINKER.downcallHandle(addr.get(), fd);
    }

    private static final MethodHandle CU_INIT = bind("cuInit", fn(JAVA_INT));
    private static final MethodHandle CU_DRIVER_GET_VERSION = bind("cuDriverGetVersion", fn(ADDRESS));
    private static final MethodHandle CU_GET_ERROR_NAME = bind("cuGetErrorName", fn(JAVA_INT, ADDRESS));
    private static final MethodHandle CU_GET_ERROR_STRING = bind("cuGetErrorString", fn(JAVA_INT, ADDRESS));
    private static final MethodHandle CU_DEVICE_GET_COUNT = bind("cuDeviceGetCount", fn(ADDRESS));
    private static final MethodHandle CU_DEVICE_GET = bind("cuDeviceGet", fn(ADDRESS, JAVA_INT));
    private static final MethodHandle CU_DEVICE_GET_NAME = bind("cuDeviceGetName", fn(ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle CU_DEVICE_GET_ATTRIBUTE = bind("cuDeviceGetAttribute", fn(ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle CU_DEVICE_TOTAL_MEM = bind("cuDeviceTotalMem_v2", fn(ADDRESS, JAVA_INT));
    private static final MethodHandle CU_PRIMARY_CTX_RETAIN = bind("cuDevicePrimaryCtxRetain", fn(ADDRESS, JAVA_INT));
    private static final MethodHandle CU_PRIMARY_CTX_RELEASE = bind("cuDevicePrimaryCtxRelease_v2", fn(JAVA_INT));
    private static final MethodHandle CU_CTX_SET_CURRENT = bind("cuCtxSetCurrent", fn(JAVA_LONG));

    /**
     * Every other call, bound when first used or by {@link #loaded} (which {@link Cuda} runs on a thread of its own
     * beside cuInit): binding them took about 100 ms of a cold JVM, on the path to the first context when they were
     * bound with the calls above.
     */
    private static final class Rest {
        private Rest() {}

        static final MethodHandle CU_CTX_SYNCHRONIZE = bind("cuCtxSynchronize", fn());
        static final MethodHandle CU_MEM_GET_INFO = bind("cuMemGetInfo_v2", fn(ADDRESS, ADDRESS));
        static final MethodHandle CU_MEM_ALLOC = bind("cuMemAlloc_v2", fn(ADDRESS, JAVA_LONG));
        static final MethodHandle CU_MEM_FREE = bind("cuMemFree_v2", fn(JAVA_LONG));
        static final MethodHandle CU_MEM_HOST_ALLOC = bind("cuMemHostAlloc", fn(ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle CU_MEM_FREE_HOST = bind("cuMemFreeHost", fn(ADDRESS));
        static final MethodHandle CU_MEMCPY_HTOD = bind("cuMemcpyHtoD_v2", fn(JAVA_LONG, ADDRESS, JAVA_LONG));
        static final MethodHandle CU_MEMCPY_DTOH = bind("cuMemcpyDtoH_v2", fn(ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MEMCPY_DTOD = bind("cuMemcpyDtoD_v2", fn(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MEMCPY_HTOD_ASYNC = bind("cuMemcpyHtoDAsync_v2", fn(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MEMCPY_DTOH_ASYNC = bind("cuMemcpyDtoHAsync_v2", fn(ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MEMCPY_DTOD_ASYNC = bind("cuMemcpyDtoDAsync_v2", fn(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MEMSET_D8_ASYNC = bind("cuMemsetD8Async", fn(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_STREAM_CREATE = bind("cuStreamCreate", fn(ADDRESS, JAVA_INT));
        static final MethodHandle CU_STREAM_DESTROY = bind("cuStreamDestroy_v2", fn(JAVA_LONG));
        static final MethodHandle CU_STREAM_SYNCHRONIZE = bind("cuStreamSynchronize", fn(JAVA_LONG));
        static final MethodHandle CU_STREAM_BEGIN_CAPTURE = bind("cuStreamBeginCapture_v2", fn(JAVA_LONG, JAVA_INT));
        static final MethodHandle CU_STREAM_END_CAPTURE = bind("cuStreamEndCapture", fn(JAVA_LONG, ADDRESS));
        static final MethodHandle CU_EVENT_CREATE = bind("cuEventCreate", fn(ADDRESS, JAVA_INT));
        static final MethodHandle CU_EVENT_DESTROY = bind("cuEventDestroy_v2", fn(JAVA_LONG));
        static final MethodHandle CU_EVENT_RECORD = bind("cuEventRecord", fn(JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_EVENT_SYNCHRONIZE = bind("cuEventSynchronize", fn(JAVA_LONG));
        static final MethodHandle CU_EVENT_ELAPSED_TIME = bind("cuEventElapsedTime_v2", "cuEventElapsedTime", fn(ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_MODULE_LOAD_DATA = bind("cuModuleLoadData", fn(ADDRESS, ADDRESS));
        static final MethodHandle CU_MODULE_UNLOAD = bind("cuModuleUnload", fn(JAVA_LONG));
        static final MethodHandle CU_MODULE_GET_FUNCTION = bind("cuModuleGetFunction", fn(ADDRESS, JAVA_LONG, ADDRESS));
        static final MethodHandle CU_FUNC_SET_ATTRIBUTE = bind("cuFuncSetAttribute", fn(JAVA_LONG, JAVA_INT, JAVA_INT));
        static final MethodHandle CU_LAUNCH_KERNEL = bind("cuLaunchKernel",
                fn(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        static final MethodHandle CU_GRAPH_INSTANTIATE = bind("cuGraphInstantiateWithFlags", fn(ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_GRAPH_LAUNCH = bind("cuGraphLaunch", fn(JAVA_LONG, JAVA_LONG));
        static final MethodHandle CU_GRAPH_EXEC_UPDATE = bind("cuGraphExecUpdate_v2", fn(JAVA_LONG, JAVA_LONG, ADDRESS));
        static final MethodHandle CU_GRAPH_DESTROY = bind("cuGraphDestroy", fn(JAVA_LONG));
        static final MethodHandle CU_GRAPH_EXEC_DESTROY = bind("cuGraphExecDestroy", fn(JAVA_LONG));
        // optional (CUDA 12+ drivers, used only by TMA kernels): bound without counting as missing, so an older
        // driver still runs everything else; tensorMapsAvailable says whether it is there
        static final MethodHandle CU_TENSOR_MAP_ENCODE_TILED = bindOptional("cuTensorMapEncodeTiled",
                fn(ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));

        static void touch() {}
    }

    private static MethodHandle bindOptional(String symbol, FunctionDescriptor fd) {
        if (!LIB.ok()) return null;
        return LIB.lookup().orElseThrow().find(symbol).map(a -> LINKER.downcallHandle(a, fd)).orElse(null);
    }

    /** True when libcuda.so.1 opened and every symbol Kiln calls was found (cuInit may still fail); binds them all. */
    public static boolean loaded() {
        if (LIB.ok()) Rest.touch();
        return startLoaded();
    }

    /** True when libcuda.so.1 opened with the calls that start CUDA (cuInit, devices, the primary context); binds no others. */
    public static boolean startLoaded() {
        return LIB.ok() && MISSING.isEmpty();
    }

    /** Why the driver is not usable, for messages and the Doctor. */
    public static String loadProblem() {
        if (LIB.ok()) Rest.touch();
        if (!LIB.ok()) return "CUDA driver library not found: " + LIB.reason();
        if (!MISSING.isEmpty()) return "CUDA driver " + LIB.chosen() + " lacks " + MISSING + " (driver too old for CUDA 12+ API?)";
        return null;
    }

    public static String libraryPath() { return LIB.chosen(); }

    private static MethodHandle need(MethodHandle h) {
        if (h == null) throw new CudaUnavailableException(loadProblem());
        return h;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** Throws a {@link CudaException} naming the call, the error and the device unless {@code result} is success. */
    public static void check(int result, String call, String device) {
        if (result != CuResult.SUCCESS) throw error(result, call, device);
    }

    public static CudaException error(int result, String call, String device) {
        return new CudaException(call, result, errorName(result), errorString(result), device);
    }

    /** cuGetErrorName, falling back to the built-in table when the driver is absent or does not know the code. */
    public static String errorName(int result) {
        String s = describe(CU_GET_ERROR_NAME, result);
        return s != null ? s : CuResult.name(result);
    }

    public static String errorString(int result) {
        String s = describe(CU_GET_ERROR_STRING, result);
        return s != null ? s : "no description (driver unavailable)";
    }

    private static String describe(MethodHandle h, int result) {
        if (h == null) return null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int r = (int) h.invokeExact(result, out);
            if (r != 0) return null;
            MemorySegment p = out.get(ADDRESS, 0);
            return p.equals(MemorySegment.NULL) ? null : p.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }

    // ---- plain wrappers, one per call; each returns the CUresult ----

    public static int cuInit(int flags) { try { return (int) need(CU_INIT).invokeExact(flags); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDriverGetVersion(MemorySegment v) { try { return (int) need(CU_DRIVER_GET_VERSION).invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDeviceGetCount(MemorySegment n) { try { return (int) need(CU_DEVICE_GET_COUNT).invokeExact(n); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDeviceGet(MemorySegment d, int ordinal) { try { return (int) need(CU_DEVICE_GET).invokeExact(d, ordinal); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDeviceGetName(MemorySegment name, int len, int dev) { try { return (int) need(CU_DEVICE_GET_NAME).invokeExact(name, len, dev); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDeviceGetAttribute(MemorySegment v, int attr, int dev) { try { return (int) need(CU_DEVICE_GET_ATTRIBUTE).invokeExact(v, attr, dev); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDeviceTotalMem(MemorySegment bytes, int dev) { try { return (int) need(CU_DEVICE_TOTAL_MEM).invokeExact(bytes, dev); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDevicePrimaryCtxRetain(MemorySegment ctx, int dev) { try { return (int) need(CU_PRIMARY_CTX_RETAIN).invokeExact(ctx, dev); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuDevicePrimaryCtxRelease(int dev) { try { return (int) need(CU_PRIMARY_CTX_RELEASE).invokeExact(dev); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuCtxSetCurrent(long ctx) { try { return (int) need(CU_CTX_SET_CURRENT).invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuCtxSynchronize() { try { return (int) need(Rest.CU_CTX_SYNCHRONIZE).invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemGetInfo(MemorySegment free, MemorySegment total) { try { return (int) need(Rest.CU_MEM_GET_INFO).invokeExact(free, total); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemAlloc(MemorySegment dptr, long bytes) { try { return (int) need(Rest.CU_MEM_ALLOC).invokeExact(dptr, bytes); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemFree(long dptr) { try { return (int) need(Rest.CU_MEM_FREE).invokeExact(dptr); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemHostAlloc(MemorySegment pp, long bytes, int flags) { try { return (int) need(Rest.CU_MEM_HOST_ALLOC).invokeExact(pp, bytes, flags); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemFreeHost(MemorySegment p) { try { return (int) need(Rest.CU_MEM_FREE_HOST).invokeExact(p); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyHtoD(long dst, MemorySegment src, long bytes) { try { return (int) need(Rest.CU_MEMCPY_HTOD).invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyDtoH(MemorySegment dst, long src, long bytes) { try { return (int) need(Rest.CU_MEMCPY_DTOH).invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyDtoD(long dst, long src, long bytes) { try { return (int) need(Rest.CU_MEMCPY_DTOD).invokeExact(dst, src, bytes); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) { try { return (int) need(Rest.CU_MEMCPY_HTOD_ASYNC).invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) { try { return (int) need(Rest.CU_MEMCPY_DTOH_ASYNC).invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemcpyDtoDAsync(long dst, long src, long bytes, long stream) { try { return (int) need(Rest.CU_MEMCPY_DTOD_ASYNC).invokeExact(dst, src, bytes, stream); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuMemsetD8Async(long dst, int value, long count, long stream) { try { return (int) need(Rest.CU_MEMSET_D8_ASYNC).invokeExact(dst, value, count, stream); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuStreamCreate(MemorySegment s, int flags) { try { return (int) need(Rest.CU_STREAM_CREATE).invokeExact(s, flags); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuStreamDestroy(long s) { try { return (int) need(Rest.CU_STREAM_DESTROY).invokeExact(s); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuStreamSynchronize(long s) { try { return (int) need(Rest.CU_STREAM_SYNCHRONIZE).invokeExact(s); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuStreamBeginCapture(long s, int mode) { try { return (int) need(Rest.CU_STREAM_BEGIN_CAPTURE).invokeExact(s, mode); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuStreamEndCapture(long s, MemorySegment graph) { try { return (int) need(Rest.CU_STREAM_END_CAPTURE).invokeExact(s, graph); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuEventCreate(MemorySegment e, int flags) { try { return (int) need(Rest.CU_EVENT_CREATE).invokeExact(e, flags); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuEventDestroy(long e) { try { return (int) need(Rest.CU_EVENT_DESTROY).invokeExact(e); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuEventRecord(long e, long s) { try { return (int) need(Rest.CU_EVENT_RECORD).invokeExact(e, s); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuEventSynchronize(long e) { try { return (int) need(Rest.CU_EVENT_SYNCHRONIZE).invokeExact(e); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuEventElapsedTime(MemorySegment ms, long start, long end) { try { return (int) need(Rest.CU_EVENT_ELAPSED_TIME).invokeExact(ms, start, end); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuModuleLoadData(MemorySegment mod, MemorySegment image) { try { return (int) need(Rest.CU_MODULE_LOAD_DATA).invokeExact(mod, image); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuModuleUnload(long mod) { try { return (int) need(Rest.CU_MODULE_UNLOAD).invokeExact(mod); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuModuleGetFunction(MemorySegment fn, long mod, MemorySegment name) { try { return (int) need(Rest.CU_MODULE_GET_FUNCTION).invokeExact(fn, mod, name); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuFuncSetAttribute(long fn, int attr, int value) { try { return (int) need(Rest.CU_FUNC_SET_ATTRIBUTE).invokeExact(fn, attr, value); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuLaunchKernel(long fn, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long stream, MemorySegment params, MemorySegment extra) {
        try { return (int) need(Rest.CU_LAUNCH_KERNEL).invokeExact(fn, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, extra); } catch (Throwable t) { throw rethrow(t); }
    }
    public static int cuGraphInstantiate(MemorySegment exec, long graph, long flags) { try { return (int) need(Rest.CU_GRAPH_INSTANTIATE).invokeExact(exec, graph, flags); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuGraphLaunch(long exec, long stream) { try { return (int) need(Rest.CU_GRAPH_LAUNCH).invokeExact(exec, stream); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuGraphExecUpdate(long exec, long graph, MemorySegment info) { try { return (int) need(Rest.CU_GRAPH_EXEC_UPDATE).invokeExact(exec, graph, info); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuGraphDestroy(long graph) { try { return (int) need(Rest.CU_GRAPH_DESTROY).invokeExact(graph); } catch (Throwable t) { throw rethrow(t); } }
    public static int cuGraphExecDestroy(long exec) { try { return (int) need(Rest.CU_GRAPH_EXEC_DESTROY).invokeExact(exec); } catch (Throwable t) { throw rethrow(t); } }

    /** Whether the driver has {@code cuTensorMapEncodeTiled} (TMA tensor maps); false without a driver. */
    public static boolean tensorMapsAvailable() { return loaded() && Rest.CU_TENSOR_MAP_ENCODE_TILED != null; }

    /** {@code cuTensorMapEncodeTiled}; the global address is a device pointer. Throws {@link CudaUnavailableException} when absent. */
    public static int cuTensorMapEncodeTiled(MemorySegment map, int dataType, int rank, long global, MemorySegment dims, MemorySegment strides,
                                             MemorySegment box, MemorySegment elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill) {
        if (Rest.CU_TENSOR_MAP_ENCODE_TILED == null)
            throw new CudaUnavailableException(loadProblem() != null ? loadProblem() : "CUDA driver " + LIB.chosen() + " lacks cuTensorMapEncodeTiled (TMA needs a CUDA 12+ driver)");
        try {
            return (int) Rest.CU_TENSOR_MAP_ENCODE_TILED.invokeExact(map, dataType, rank, global, dims, strides, box, elementStrides, interleave, swizzle, l2Promotion, oobFill);
        } catch (Throwable t) { throw rethrow(t); }
    }

}
