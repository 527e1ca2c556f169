package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CachingAllocatorTest {

    /** Hands out fake addresses and remembers which are live; fails like cuMemAlloc past a budget. */
    static final class FakeMemory implements CachingAllocator.Backend {
        final Set<Long> live = new HashSet<>();
        long next = 0x7f0000000000L, budget = Long.MAX_VALUE, used;

        public long allocate(long bytes) {
            if (used + bytes > budget) throw CudaDriver.error(2, "cuMemAlloc_v2", "fake");
            used += bytes;
            long p = next;
            next += bytes;
            live.add(p);
            return p;
        }

        public void free(long ptr) {
            assertTrue(live.remove(ptr), "double free");
            used -= CachingAllocator.roundUp(1); // sizes are not tracked; budget tests use one size
        }

        public boolean isOutOfMemory(RuntimeException e) {
            return e instanceof CudaException c && c.code() == 2;
        }
    }

    @Test
    void roundsSmallTo512AndLargeTo2MiB() {
        assertEquals(512, CachingAllocator.roundUp(0));
        assertEquals(512, CachingAllocator.roundUp(1));
        assertEquals(1024, CachingAllocator.roundUp(513));
        assertEquals(2L << 20, CachingAllocator.roundUp(1L << 20));
        assertEquals(4L << 20, CachingAllocator.roundUp((2L << 20) + 1));
    }

    @Test
    void freedBlockIsReusedForTheSameRoundedSize() {
        var mem = new FakeMemory();
        var a = new CachingAllocator(mem, "fake");
        long p = a.acquire(1000);
        a.release(p);
        assertEquals(p, a.acquire(900));
        assertEquals(1, a.hits());
        assertEquals(1, a.misses());
        long q = a.acquire(5000);
        assertTrue(q != p);
        assertEquals(2, mem.live.size());
    }

    @Test
    void closeFreesCachedAndLiveBlocks() {
        var mem = new FakeMemory();
        var a = new CachingAllocator(mem, "fake");
        long p = a.acquire(10);
        a.acquire(10);
        a.release(p);
        a.close();
        assertTrue(mem.live.isEmpty());
        assertThrows(ResourceClosedException.class, () -> a.acquire(10));
        a.release(p); // late release after close is harmless
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetries() {
        var mem = new FakeMemory();
        mem.budget = 1024;
        var a = new CachingAllocator(mem, "fake");
        long p = a.acquire(512);
        long q = a.acquire(512);
        a.release(p);
        a.release(q);
        long big = a.acquire(1000); // 1024 rounded: fits only after both cached blocks are freed
        assertTrue(big != 0);
        assertEquals(0, a.cachedBytes());
    }

    @Test
    void bufferIsUnusableAfterCloseAndClosingTwiceIsFine() {
        var a = new CachingAllocator(new FakeMemory(), "fake");
        var buf = new DeviceBuffer(null, a, a.acquire(64), 64);
        long p = buf.address();
        buf.close();
        buf.close();
        var e = assertThrows(ResourceClosedException.class, buf::address);
        assertTrue(e.getMessage().contains("device buffer"), e.getMessage());
        assertThrows(ResourceClosedException.class, () -> buf.upload(new float[] {1}));
        assertEquals(p, a.acquire(64), "close returned the block to the cache");
    }

    @Test
    void bufferIsUnusableOnceItsAllocatorIsClosed() {
        var a = new CachingAllocator(new FakeMemory(), "fake");
        var buf = new DeviceBuffer(null, a, a.acquire(64), 64);
        a.close();
        assertThrows(ResourceClosedException.class, buf::address);
    }

    @Test
    void kernelArgsPackValuesInSlots() {
        var args = new KernelArgs(3).pointer(0x1234L).i32(-7).f32(1.5f);
        assertEquals(0x1234L, args.rawSlot(0));
        assertEquals(-7, (int) args.rawSlot(1));
        assertEquals(Float.floatToRawIntBits(1.5f), (int) args.rawSlot(2));
        args.setLong(0, 0x5678L);
        assertEquals(0x5678L, args.rawSlot(0));
        assertThrows(IndexOutOfBoundsException.class, () -> args.i32(1));
        assertThrows(IllegalStateException.class, () -> new KernelArgs(2).i32(1).pointers());
    }
}
