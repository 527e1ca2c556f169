package dev.kiln.ir;

import org.eclipse.collections.api.factory.Lists;
import org.eclipse.collections.api.list.ImmutableList;

import java.util.List;

/**
 * A tensor shape: a list of {@link Dim}s, or unranked ({@code [*]}) when even the rank is unknown.
 * Scalars have rank 0.
 */
public record Shape(ImmutableList<Dim> dims, boolean ranked) {
    public static final Shape SCALAR = new Shape(Lists.immutable.empty(), true);
    public static final Shape UNRANKED = new Shape(Lists.immutable.empty(), false);

    public Shape {
        if (!ranked && !dims.isEmpty()) throw new IllegalArgumentException("unranked shape with dims");
    }

    public static Shape of(long... sizes) {
        Dim[] d = new Dim[sizes.length];
        for (int i = 0; i < sizes.length; i++) d[i] = Dim.of(sizes[i]);
        return new Shape(Lists.immutable.of(d), true);
    }

    public static Shape of(List<Dim> dims) { return new Shape(Lists.immutable.withAll(dims), true); }
    public static Shape of(Dim... dims) { return new Shape(Lists.immutable.of(dims), true); }

    /** A ranked shape whose every dim is unknown. */
    public static Shape unknown(int rank) {
        Dim[] d = new Dim[rank];
        java.util.Arrays.fill(d, Dim.UNKNOWN);
        return new Shape(Lists.immutable.of(d), true);
    }

    public int rank() {
        if (!ranked) throw new ShapeException("shape has unknown rank");
        return dims.size();
    }

    public Dim dim(int i) { return dims.get(i); }

    public boolean isStatic() { return ranked && dims.allSatisfy(Dim::isStatic); }

    /** Static sizes; throws {@link ShapeException} if any dim is symbolic or the rank is unknown. */
    public long[] sizes() {
        if (!isStatic()) throw new ShapeException("shape " + this + " is not static");
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) s[i] = dims.get(i).size();
        return s;
    }

    /** Element count; throws if not static. */
    public long numel() { return Tensor.numel(sizes()); }

    @Override public String toString() {
        if (!ranked) return "[*]";
        return dims.makeString("[", ",", "]");
    }
}
