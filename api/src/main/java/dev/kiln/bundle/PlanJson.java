package dev.kiln.bundle;

import dev.kiln.runtime.TensorMap;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * An {@link ExecutionPlan} as JSON. Kernel sources and the weights are separate bundle entries (named in the
 * JSON); f32 arguments are stored as their bit pattern so that every value round-trips exactly.
 */
final class PlanJson {
    private PlanJson() {}

    static String kernelEntry(int i, String ext) { return String.format("kernels/%03d.%s", i, ext); }

    static Map<String, Object> write(ExecutionPlan p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("arenaBytes", p.arenaBytes());
        m.put("weightBytes", p.weightBytes());
        m.put("workspaceBytes", p.workspaceBytes());
        List<Object> ks = new ArrayList<>();
        for (int i = 0; i < p.kernels().size(); i++) {
            ExecutionPlan.KernelSource k = p.kernels().get(i);
            ks.add(obj("name", k.name(), "entry", k.entry(), "source", kernelEntry(i, "cu")));
        }
        m.put("kernels", ks);
        m.put("weightSlots", slots(p.weightSlots()));
        List<Object> ls = new ArrayList<>();
        for (ExecutionPlan.Launch l : p.launches()) {
            List<Object> args = new ArrayList<>();
            for (Arg a : l.args())
                args.add(switch (a) {
                    case Arg.ArenaPtr x -> obj("arena", x.offset());
                    case Arg.WeightPtr x -> obj("weights", x.offset());
                    case Arg.WorkspacePtr x -> obj("workspace", x.offset());
                    case Arg.I32 x -> obj("i32", (long) x.value());
                    case Arg.I64 x -> obj("i64", x.value());
                    case Arg.F32 x -> obj("f32bits", (long) Float.floatToRawIntBits(x.value()));
                    case Arg.TensorMaps x -> obj("tensorMaps", x.maps().stream().map(PlanJson::tensorMap).toList());
                });
            ls.add(obj("kernel", (long) l.kernel(), "grid", dims(l.grid()), "block", dims(l.block()),
                    "sharedBytes", (long) l.sharedBytes(), "args", args, "label", l.label()));
        }
        m.put("launches", ls);
        m.put("inputs", slots(p.inputs()));
        m.put("outputs", slots(p.outputs()));
        return m;
    }

    /** Reads a plan; {@code entry} gives the bytes of a named bundle entry (kernel sources). */
    static ExecutionPlan read(Map<String, Object> m, java.lang.foreign.MemorySegment weights, Function<String, String> source) {
        List<ExecutionPlan.KernelSource> kernels = new ArrayList<>();
        for (Object o : list(m, "kernels")) {
            Map<String, Object> k = map(o);
            kernels.add(new ExecutionPlan.KernelSource(str(k, "name"), source.apply(str(k, "source")), str(k, "entry")));
        }
        List<ExecutionPlan.Launch> launches = new ArrayList<>();
        for (Object o : list(m, "launches")) {
            Map<String, Object> l = map(o);
            List<Arg> args = new ArrayList<>();
            for (Object a : list(l, "args")) {
                Map<String, Object> x = map(a);
                if (x.size() != 1) throw new IllegalArgumentException("argument " + x + " should have one key");
                String kind = x.keySet().iterator().next();
                if (kind.equals("tensorMaps")) {
                    args.add(new Arg.TensorMaps(list(x, kind).stream().map(t -> readTensorMap(map(t))).toList()));
                    continue;
                }
                long v = num(x, kind);
                args.add(switch (kind) {
                    case "arena" -> new Arg.ArenaPtr(v);
                    case "weights" -> new Arg.WeightPtr(v);
                    case "workspace" -> new Arg.WorkspacePtr(v);
                    case "i32" -> new Arg.I32(Math.toIntExact(v));
                    case "i64" -> new Arg.I64(v);
                    case "f32bits" -> new Arg.F32(Float.intBitsToFloat(Math.toIntExact(v)));
                    default -> throw new IllegalArgumentException("unknown argument kind " + kind);
                });
            }
            launches.add(new ExecutionPlan.Launch(Math.toIntExact(num(l, "kernel")), dims(list(l, "grid")), dims(list(l, "block")),
                    Math.toIntExact(num(l, "sharedBytes")), args, l.get("label") instanceof String s ? s : ""));
        }
        if (num(m, "weightBytes") != weights.byteSize())
            throw new IllegalArgumentException("plan expects " + num(m, "weightBytes") + " weight bytes, the bundle holds " + weights.byteSize());
        return new ExecutionPlan(str(m, "name"), kernels, num(m, "arenaBytes"), weights, readSlots(list(m, "weightSlots")),
                launches, readSlots(list(m, "inputs")), readSlots(list(m, "outputs")),
                m.get("workspaceBytes") instanceof Long w ? w : 0L);
    }

    /** A tensor map argument's map: its base argument and offset, then the geometry (element type by name, swizzle in bytes). */
    private static Map<String, Object> tensorMap(Arg.TensorMaps.Over o) {
        TensorMap m = o.map();
        return obj("arg", (long) o.arg(), "offset", o.offsetBytes(), "element", m.element().name().toLowerCase(), "dims", m.dims(),
                "strides", m.strideBytes(), "box", m.box().stream().map(Integer::longValue).toList(), "swizzle", (long) m.swizzle().bytes());
    }

    private static Arg.TensorMaps.Over readTensorMap(Map<String, Object> m) {
        TensorMap.Element element;
        try {
            element = TensorMap.Element.valueOf(str(m, "element").toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown tensor map element type " + m.get("element"));
        }
        TensorMap t = new TensorMap(element, longs(m, "dims"), longs(m, "strides"), longs(m, "box").stream().map(Math::toIntExact).toList(),
                TensorMap.Swizzle.ofBytes(Math.toIntExact(num(m, "swizzle"))));
        return new Arg.TensorMaps.Over(Math.toIntExact(num(m, "arg")), num(m, "offset"), t);
    }

    private static List<Long> longs(Map<String, Object> m, String key) {
        List<Long> out = new ArrayList<>();
        for (Object o : list(m, key)) {
            if (!(o instanceof Long l)) throw new IllegalArgumentException("expected integers at '" + key + "'");
            out.add(l);
        }
        return out;
    }

    private static List<Object> slots(List<ExecutionPlan.Slot> slots) {
        List<Object> l = new ArrayList<>();
        for (ExecutionPlan.Slot s : slots) l.add(obj("label", s.label(), "offset", s.offset(), "bytes", s.bytes()));
        return l;
    }

    private static List<ExecutionPlan.Slot> readSlots(List<Object> l) {
        List<ExecutionPlan.Slot> out = new ArrayList<>();
        for (Object o : l) {
            Map<String, Object> s = map(o);
            out.add(new ExecutionPlan.Slot(str(s, "label"), num(s, "offset"), num(s, "bytes")));
        }
        return out;
    }

    private static List<Object> dims(ExecutionPlan.Dims d) { return List.of((long) d.x(), (long) d.y(), (long) d.z()); }

    private static ExecutionPlan.Dims dims(List<Object> l) {
        if (l.size() != 3) throw new IllegalArgumentException("launch dims need 3 numbers: " + l);
        return new ExecutionPlan.Dims(Math.toIntExact((Long) l.get(0)), Math.toIntExact((Long) l.get(1)), Math.toIntExact((Long) l.get(2)));
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("expected an object, got " + o);
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> m, String key) {
        if (m.get(key) instanceof List<?> l) return (List<Object>) l;
        throw new IllegalArgumentException("expected a list at '" + key + "'");
    }

    static String str(Map<String, Object> m, String key) {
        if (m.get(key) instanceof String s) return s;
        throw new IllegalArgumentException("expected a string at '" + key + "'");
    }

    static long num(Map<String, Object> m, String key) {
        if (m.get(key) instanceof Long l) return l;
        throw new IllegalArgumentException("expected an integer at '" + key + "'");
    }
}
