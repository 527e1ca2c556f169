package dev.kiln.exec;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random inputs for a graph, reproducible from a seed: floats uniform in [-1, 1), integers small and
 * non-negative (so they work as indices), booleans fair coins. Symbolic dims take the size given by name in
 * {@code dims}, else 1.
 */
public final class RandomInputs {
    private RandomInputs() {}

    /** Each input's concrete shape: static dims as declared, symbolic ones from {@code dims} (else 1). */
    public static Map<String, long[]> shapes(Graph g, Map<String, Long> dims) { return shapes(g.inputs().castToList(), dims); }

    public static Map<String, long[]> shapes(List<Value> inputs, Map<String, Long> dims) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (Value v : inputs) {
            if (!v.shape().ranked()) throw new InvalidModelException("input " + v.name() + " has unknown rank: pass input files (kiln run --inputs)");
            long[] shape = new long[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) {
                Dim d = v.shape().dim(i);
                shape[i] = d instanceof Dim.Static s ? s.size() : dims.getOrDefault(d.toString(), 1L);
            }
            out.put(v.name(), shape);
        }
        return out;
    }

    public static List<Tensor> of(Graph g, Map<String, Long> dims, long seed) { return of(g.inputs().castToList(), dims, seed); }

    /** Random data for these inputs (a compiled model's {@code inputs()}). */
    public static List<Tensor> of(List<Value> inputs, Map<String, Long> dims, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, long[]> shapes = shapes(inputs, dims);
        List<Tensor> out = new ArrayList<>();
        for (Value v : inputs) {
            long[] shape = shapes.get(v.name());
            int n = (int) Tensor.numel(shape);
            DType t = v.dtype();
            if (t.isFloat()) {
                double[] x = new double[n];
                for (int i = 0; i < n; i++) x[i] = r.nextDouble(-1, 1);
                out.add(Tensor.ofDoubles(t, shape, x));
            } else if (t.isBool()) {
                boolean[] x = new boolean[n];
                for (int i = 0; i < n; i++) x[i] = r.nextBoolean();
                out.add(Tensor.ofBools(shape, x));
            } else if (t.isInteger()) {
                long[] x = new long[n];
                for (int i = 0; i < n; i++) x[i] = r.nextLong(0, 8);
                out.add(Tensor.ofLongs(t, shape, x));
            } else {
                throw new InvalidModelException("cannot make random " + t + " data for input " + v.name() + ": pass input files (kiln run --inputs)");
            }
        }
        return out;
    }
}
