package dev.kiln.ir.op;

import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.ops.CastOps;
import dev.kiln.ir.ops.CoreOps;
import dev.kiln.ir.ops.ElementwiseOps;
import dev.kiln.ir.ops.LinalgOps;
import dev.kiln.ir.ops.MovementOps;
import dev.kiln.ir.ops.NormOps;
import dev.kiln.ir.ops.ReductionOps;
import dev.kiln.ir.ops.NnOps;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** The set of known ops, by name. {@link #standard()} holds every op Kiln defines. */
public final class OpRegistry {
    private static final List<OpFamily> FAMILIES = List.of(
            new CoreOps(), new ElementwiseOps(), new CastOps(), new MovementOps(),
            new ReductionOps(), new NormOps(), new LinalgOps(), new NnOps());

    private static final OpRegistry STANDARD = build(FAMILIES);

    private final SortedMap<String, OpDef> ops;

    private OpRegistry(SortedMap<String, OpDef> ops) { this.ops = Collections.unmodifiableSortedMap(ops); }

    public static OpRegistry standard() { return STANDARD; }

    public static OpRegistry build(List<OpFamily> families) {
        Builder b = new Builder();
        for (OpFamily f : families) f.register(b);
        return new OpRegistry(b.ops);
    }

    public boolean contains(String name) { return ops.containsKey(name); }

    /** The op's definition; an UnsupportedException naming the op when it is unknown. */
    public OpDef get(String name) {
        OpDef d = ops.get(name);
        if (d == null) throw new UnsupportedException("unknown op '" + name + "'");
        return d;
    }

    public Map<String, OpDef> all() { return ops; }

    public static final class Builder {
        private final SortedMap<String, OpDef> ops = new TreeMap<>();

        public Builder add(OpDef def) {
            if (ops.putIfAbsent(def.name(), def) != null) throw new IllegalStateException("op " + def.name() + " defined twice");
            return this;
        }

        public Builder add(OpDef.Builder def) { return add(def.build()); }
    }
}
