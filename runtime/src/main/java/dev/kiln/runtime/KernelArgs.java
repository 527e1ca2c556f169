package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Typed kernel arguments laid out for cuLaunchKernel: one 8-byte slot per argument holding its value, and
 * an array of pointers to the slots. Built once and reused across launches (the hot path allocates
 * nothing); {@code set*} changes a slot for the next launch. The order and C types must match the kernel's
 * signature: pointer = {@code T*}, i32 = {@code int}, i64 = {@code long long}, f32 = {@code float}.
 * Memory comes from an automatic arena, so args may be shared between threads and need no close.
 */
public final class KernelArgs {
    private final MemorySegment values;
    private final MemorySegment pointers;
    private final int count;
    private int added;

    public KernelArgs(int count) {
        Arena arena = Arena.ofAuto();
        this.count = count;
        this.values = arena.allocate(8L * Math.max(1, count), 8);
        this.pointers = arena.allocate(ADDRESS, Math.max(1, count));
        for (int i = 0; i < count; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
    }

    private int next() {
        if (added == count) throw new IndexOutOfBoundsException("all " + count + " arguments already added");
        return added++;
    }

    public KernelArgs pointer(DeviceBuffer b) { return setPointer(next(), b); }
    public KernelArgs pointer(long devicePtr) { return setLong(next(), devicePtr); }
    public KernelArgs i32(int v) { return setInt(next(), v); }
    public KernelArgs i64(long v) { return setLong(next(), v); }
    public KernelArgs f32(float v) { return setFloat(next(), v); }
    public KernelArgs f64(double v) { return setDouble(next(), v); }

    public KernelArgs setPointer(int i, DeviceBuffer b) { return setLong(i, b.address()); }
    public KernelArgs setInt(int i, int v) { values.set(JAVA_INT, slot(i), v); return this; }
    public KernelArgs setLong(int i, long v) { values.set(JAVA_LONG, slot(i), v); return this; }
    public KernelArgs setFloat(int i, float v) { values.set(JAVA_FLOAT, slot(i), v); return this; }
    public KernelArgs setDouble(int i, double v) { values.set(JAVA_DOUBLE, slot(i), v); return this; }

    public int count() { return count; }

    private long slot(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("argument " + i + " of " + count);
        return 8L * i;
    }

    /** The {@code void**} for cuLaunchKernel; every argument must have been added. */
    MemorySegment pointers() {
        if (added != 0 && added != count) throw new IllegalStateException("only " + added + " of " + count + " arguments were added");
        return pointers;
    }

    /** For tests: the raw 8-byte slot of argument {@code i}. */
    long rawSlot(int i) { return values.get(JAVA_LONG, slot(i)); }
}
