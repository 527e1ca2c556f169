"""How long CUDA's own start takes on this machine, outside any JVM: the floor under a bundle's first output.

Times, in a fresh process, each step Kiln's GpuStart takes: loading libcuda.so.1, cuInit, cuDeviceGet, retaining the
primary context, making it current, and a first 1 MiB cuMemAlloc. Run it a few times (the first run after an idle
GPU can be slower):   for i in 1 2 3; do python3 bench/harness/cuda_start_probe.py; done
"""
import ctypes
import time

t0 = time.perf_counter()
marks = []


def mark(name):
    marks.append((name, (time.perf_counter() - t0) * 1e3))


cuda = ctypes.CDLL("libcuda.so.1")
mark("dlopen libcuda")
assert cuda.cuInit(0) == 0
mark("cuInit")
dev = ctypes.c_int()
assert cuda.cuDeviceGet(ctypes.byref(dev), 0) == 0
mark("cuDeviceGet")
ctx = ctypes.c_void_p()
assert cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev) == 0
mark("cuDevicePrimaryCtxRetain")
assert cuda.cuCtxSetCurrent(ctx) == 0
mark("cuCtxSetCurrent")
ptr = ctypes.c_uint64()
assert cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(1 << 20)) == 0
mark("cuMemAlloc 1 MiB")
print("cuda start probe: " + ", ".join("%s %.1f ms" % (n, t - p) for (n, t), p in zip(marks, [0.0] + [t for _, t in marks])) + " (total %.1f ms)" % marks[-1][1])
