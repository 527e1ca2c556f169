package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * The geometry of one TMA tensor map (a {@code CUtensorMap} made by the driver's {@code cuTensorMapEncodeTiled})
 * without its base address: element type, sizes along each axis (innermost first), byte strides of the outer
 * axes, the box one copy moves, and the shared-memory swizzle. Element strides are 1, no interleave, L2
 * promotion 256 B, out-of-bounds elements read as zero. A kernel that copies by TMA reads the encoded
 * 128-byte maps from device memory; whoever launches it encodes them with {@link #encode} once the base
 * address is fixed.
 */
public record TensorMap(Element element, List<Long> dims, List<Long> strideBytes, List<Integer> box, Swizzle swizzle) {
    /** Bytes of one encoded map. */
    public static final int BYTES = 128;

    /** The element types Kiln's TMA kernels use, with the driver's {@code CUtensorMapDataType} code. */
    public enum Element {
        U8(0, 1), U16(1, 2), U32(2, 4), I32(3, 4), U64(4, 8), I64(5, 8), F16(6, 2), F32(7, 4), F64(8, 8), BF16(9, 2);

        final int code, bytes;

        Element(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }

        public int bytes() { return bytes; }
    }

    /** {@code CUtensorMapSwizzle}, by the bytes of one swizzle row. */
    public enum Swizzle {
        NONE(0), B32(32), B64(64), B128(128);

        final int bytes;

        Swizzle(int bytes) { this.bytes = bytes; }

        public int bytes() { return bytes; }

        public static Swizzle ofBytes(int bytes) {
            for (Swizzle s : values()) if (s.bytes == bytes) return s;
            throw new IllegalArgumentException("no " + bytes + "-byte TMA swizzle (0, 32, 64, 128)");
        }
    }

    /** The driver's limits (cuda.h): rank 1..5, sizes below 2^32, strides multiples of 16 below 2^40, boxes 1..256. */
    public TensorMap {
        Objects.requireNonNull(element, "element");
        Objects.requireNonNull(swizzle, "swizzle");
        dims = List.copyOf(dims);
        strideBytes = List.copyOf(strideBytes);
        box = List.copyOf(box);
        int rank = dims.size();
        if (rank < 1 || rank > 5) throw new IllegalArgumentException("tensor map rank " + rank + " (1..5)");
        if (strideBytes.size() != rank - 1 || box.size() != rank)
            throw new IllegalArgumentException("a rank " + rank + " tensor map needs " + (rank - 1) + " strides and " + rank + " box sizes: " + strideBytes + ", " + box);
        for (long d : dims) if (d < 1 || d >= 1L << 32) throw new IllegalArgumentException("tensor map size " + d + " outside 1..2^32-1");
        for (long s : strideBytes) if (s <= 0 || s % 16 != 0 || s >= 1L << 40) throw new IllegalArgumentException("tensor map stride " + s + " B is not a positive multiple of 16 below 2^40");
        for (int b : box) if (b < 1 || b > 256) throw new IllegalArgumentException("tensor map box size " + b + " outside 1..256");
        if (swizzle != Swizzle.NONE && box.get(0) * element.bytes > swizzle.bytes)
            throw new IllegalArgumentException("a box row of " + box.get(0) * element.bytes + " B exceeds the " + swizzle.bytes + " B swizzle");
    }

    /** Whether this driver can encode tensor maps ({@code cuTensorMapEncodeTiled} is there). */
    public static boolean available() { return CudaDriver.tensorMapsAvailable(); }

    /**
     * The 128-byte map over the tensor at device address {@code address} (16-byte aligned). Throws
     * {@link CudaUnavailableException} when the driver cannot encode maps, {@link CudaException} when it
     * rejects this one.
     */
    public byte[] encode(long address) {
        if (address % 16 != 0) throw new IllegalArgumentException("TMA base address 0x" + Long.toHexString(address) + " is not 16-byte aligned");
        int rank = dims.size();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment map = a.allocate(BYTES, 64); // CUtensorMap is 64-byte aligned
            MemorySegment d = a.allocate(JAVA_LONG, rank), s = a.allocate(JAVA_LONG, Math.max(1, rank - 1));
            MemorySegment b = a.allocate(JAVA_INT, rank), e = a.allocate(JAVA_INT, rank);
            for (int i = 0; i < rank; i++) {
                d.setAtIndex(JAVA_LONG, i, dims.get(i));
                b.setAtIndex(JAVA_INT, i, box.get(i));
                e.setAtIndex(JAVA_INT, i, 1);
                if (i < rank - 1) s.setAtIndex(JAVA_LONG, i, strideBytes.get(i));
            }
            int r = CudaDriver.cuTensorMapEncodeTiled(map, element.code, rank, address, d, s, b, e, 0 /* no interleave */, swizzle.ordinal(),
                    3 /* L2 promotion 256 B */, 0 /* out of bounds: zero */);
            CudaDriver.check(r, "cuTensorMapEncodeTiled(" + this + " at 0x" + Long.toHexString(address) + ")", "");
            return map.toArray(JAVA_BYTE);
        }
    }

    /**
     * A device buffer holding {@code maps.get(i)} encoded over {@code addresses[i]}, back to back (128 bytes
     * each, so each stays 64-byte aligned), copied before this returns: a kernel launched afterwards reads them
     * without a proxy fence.
     */
    public static DeviceBuffer upload(Context ctx, List<TensorMap> maps, long[] addresses) {
        if (maps.size() != addresses.length) throw new IllegalArgumentException(maps.size() + " maps, " + addresses.length + " addresses");
        long bytes = (long) Math.max(1, maps.size()) * BYTES;
        DeviceBuffer buf = ctx.allocate(bytes);
        try (Arena staging = Arena.ofConfined()) { // a downcall takes native memory only, never a heap array's
            MemorySegment host = staging.allocate(bytes, 64);
            for (int i = 0; i < maps.size(); i++) MemorySegment.copy(maps.get(i).encode(addresses[i]), 0, host, JAVA_BYTE, (long) i * BYTES, BYTES);
            buf.copyFromHost(host);
        } catch (RuntimeException ex) {
            buf.close();
            throw ex;
        }
        return buf;
    }

    @Override public String toString() {
        return element.name().toLowerCase() + " " + dims + " strides " + strideBytes + " B, box " + box + ", swizzle " + swizzle.bytes;
    }
}
