package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MemoryGpuTest extends GpuTest {

    @Test
    void syncCopiesRoundTripBytes() {
        byte[] data = new byte[1 << 20];
        new Random(1).nextBytes(data);
        try (var a = ctx.allocate(data.length); var b = ctx.allocate(data.length)) {
            a.upload(data);
            b.copyFrom(a, data.length);
            assertArrayEquals(data, b.downloadBytes(data.length));
        }
    }

    @Test
    void stagedUploadsOfSeveralChunksArriveWholeAndInPlace() {
        // three chunks through two pinned buffers: the third reuses the first after its DMA is done
        int n = (int) (2 * StagedUpload.CHUNK + 12345);
        byte[] data = new byte[n];
        new Random(3).nextBytes(data);
        try (var a = ctx.allocate(n + 64L); var s = ctx.createStream()) {
            StagedUpload.copy(ctx, java.lang.foreign.MemorySegment.ofArray(data), a, s);
            assertArrayEquals(data, a.downloadBytes(n));
            byte[] small = java.util.Arrays.copyOf(data, (int) StagedUpload.MIN_STAGED + 1);
            a.upload(small); // DeviceBuffer.upload stages from MIN_STAGED bytes
            assertArrayEquals(small, a.downloadBytes(small.length));
        }
    }

    @Test
    void repeatPrefixFillsTheRestWithCopiesOfTheFirstBytes() {
        int prefix = 1000, n = 7 * prefix + 123; // three doublings, the last one partial
        byte[] head = new byte[prefix];
        new Random(5).nextBytes(head);
        try (var a = ctx.allocate(n); var s = ctx.createStream()) {
            a.fillAsync((byte) 0, s);
            s.synchronize();
            a.upload(head);
            a.repeatPrefixAsync(prefix, s);
            s.synchronize();
            byte[] got = a.downloadBytes(n);
            for (int i = 0; i < n; i++) assertEquals(head[i % prefix], got[i], "byte " + i);
            assertThrows(IllegalArgumentException.class, () -> a.repeatPrefixAsync(n + 1, s));
        }
    }

    @Test
    void asyncCopiesThroughPinnedMemoryRoundTrip() {
        int n = 3 << 20;
        byte[] data = new byte[n];
        new Random(2).nextBytes(data);
        try (var s = ctx.createStream(); var in = ctx.allocatePinned(n); var out = ctx.allocatePinned(n);
             var a = ctx.allocate(n); var b = ctx.allocate(n)) {
            in.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(data));
            b.fillAsync((byte) 0x5a, s);
            a.copyFromHostAsync(in.segment(), s);
            b.copyFromAsync(a, n - 1, s);
            b.copyToHostAsync(out.segment(), s);
            s.synchronize();
            byte[] got = out.segment().toArray(JAVA_BYTE);
            assertArrayEquals(java.util.Arrays.copyOf(data, n - 1), java.util.Arrays.copyOf(got, n - 1));
            assertEquals((byte) 0x5a, got[n - 1], "memset byte beyond the copied range survives");
        }
    }

    @Test
    void allocatorReusesFreedBlocks() {
        long hits = ctx.allocator().hits();
        long p;
        try (var a = ctx.allocate(12345)) {
            p = a.address();
        }
        try (var b = ctx.allocate(12300)) { // same 512-byte size class as 12345
            assertEquals(p, b.address());
        }
        assertTrue(ctx.allocator().hits() > hits);
    }

    @Test
    void tooLargeCopyIsRejectedBeforeTheDriver() {
        try (var a = ctx.allocate(16)) {
            assertThrows(IllegalArgumentException.class, () -> a.upload(new byte[17]));
        }
    }

    @Test
    void driverErrorsNameCallResultAndDevice() {
        var e = assertThrows(CudaException.class, () -> ctx.allocate(1L << 50));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        assertTrue(e.getMessage().contains("cuMemAlloc_v2") && e.getMessage().contains(ctx.device().name()), e.getMessage());
    }

    @Test
    void worksFromAnotherThread() throws Exception {
        float[] v = random(1000, 3);
        try (var a = ctx.allocate(4000)) {
            var t = new Thread(() -> a.upload(v));
            t.start();
            t.join();
            assertArrayEquals(v, a.downloadFloats(1000));
        }
    }

    @Test
    void closedContextMakesItsObjectsUnusable() {
        try (var other = Context.open(0)) {
            var buf = other.allocate(64);
            var stream = other.createStream();
            other.close();
            assertThrows(ResourceClosedException.class, buf::address);
            assertThrows(ResourceClosedException.class, stream::synchronize);
        }
        ctx.bind(); // the shared context (same primary context, still retained) still works
        try (var a = ctx.allocate(4)) {
            a.upload(new float[] {1});
        }
    }
}
