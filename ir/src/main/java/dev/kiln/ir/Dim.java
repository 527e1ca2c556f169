package dev.kiln.ir;

/** One dimension of a shape: a static size, or a named symbolic size ({@code N}; {@code ?} is unknown). */
public sealed interface Dim {
    record Static(long size) implements Dim {
        public Static {
            if (size < 0) throw new InvalidModelException("negative dimension " + size);
        }
        @Override public String toString() { return Long.toString(size); }
    }

    record Sym(String name) implements Dim {
        public Sym {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("empty symbolic dim name");
        }
        @Override public String toString() { return name; }
    }

    Dim UNKNOWN = new Sym("?");

    static Dim of(long size) { return new Static(size); }
    static Dim sym(String name) { return new Sym(name); }

    default boolean isStatic() { return this instanceof Static; }
    default boolean isUnknown() { return this.equals(UNKNOWN); }
    /** The static size; throws for symbolic dims. */
    default long size() {
        if (this instanceof Static s) return s.size();
        throw new ShapeException("dimension " + this + " is not static");
    }
}
