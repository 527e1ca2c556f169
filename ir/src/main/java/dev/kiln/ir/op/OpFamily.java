package dev.kiln.ir.op;

/** A group of related op definitions (one file per family), registered into the {@link OpRegistry}. */
public interface OpFamily {
    void register(OpRegistry.Builder registry);
}
