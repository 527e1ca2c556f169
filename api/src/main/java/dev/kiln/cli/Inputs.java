package dev.kiln.cli;

import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Model inputs for {@code kiln run}: {@code input_K.pb} files from a folder (input K feeds graph input K), or
 * random data. Random floats are uniform in [-1, 1); random integers are small and non-negative (so they work
 * as indices); symbolic dims take the value given with {@code --dim NAME=SIZE}, else 1.
 */
final class Inputs {
    private Inputs() {}

    static List<Tensor> fromFolder(Graph g, Path dir) {
        List<Tensor> out = new ArrayList<>();
        for (int k = 0; k < g.inputs().size(); k++) {
            Path p = dir.resolve("input_" + k + ".pb");
            if (!Files.exists(p))
                throw new InvalidModelException("no " + p + " for input " + k + " (" + g.inputs().get(k).name() + ")");
            out.add(TensorCodec.readFile(p));
        }
        return out;
    }

    static List<Tensor> random(Graph g, Map<String, Long> dims, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Tensor> out = new ArrayList<>();
        for (Value v : g.inputs()) {
            if (!v.shape().ranked()) throw new InvalidModelException("input " + v.name() + " has unknown rank: pass --inputs");
            long[] shape = new long[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) {
                Dim d = v.shape().dim(i);
                shape[i] = d instanceof Dim.Static s ? s.size() : dims.getOrDefault(d.toString(), 1L);
            }
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
                throw new InvalidModelException("cannot make random " + t + " data for input " + v.name() + ": pass --inputs");
            }
        }
        return out;
    }
}
