package dev.kiln.runtime;

/** A grid or block shape. */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) throw new IllegalArgumentException("dimensions must be positive: " + x + "x" + y + "x" + z);
    }

    public static Dim3 of(int x) { return new Dim3(x, 1, 1); }

    public static Dim3 of(int x, int y) { return new Dim3(x, y, 1); }

    /** The 1-D grid that covers {@code n} items with blocks of {@code block}. */
    public static Dim3 cover(long n, int block) {
        long blocks = Math.max(1, (n + block - 1) / block);
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(n + " items need too many blocks of " + block);
        return of((int) blocks);
    }
}
