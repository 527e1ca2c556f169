package dev.kiln.cli;

import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.Graph;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Model inputs for {@code kiln run}: {@code input_K.pb} files from a folder (input K feeds graph input K), or
 * random data. Random floats are uniform in [-1, 1); random integers are small and non-negative (so they work
 * as indices); symbolic dims take the value given with {@code --dim NAME=SIZE}, else 1.
 */
final class Inputs {
    private Inputs() {}

    static List<Tensor> fromFolder(Graph g, Path dir) { return fromFolder(g.inputs().castToList(), dir); }

    static List<Tensor> fromFolder(List<dev.kiln.ir.Value> inputs, Path dir) {
        List<Tensor> out = new ArrayList<>();
        for (int k = 0; k < inputs.size(); k++) {
            Path p = dir.resolve("input_" + k + ".pb");
            if (!Files.exists(p))
                throw new InvalidModelException("no " + p + " for input " + k + " (" + inputs.get(k).name() + ")");
            out.add(TensorCodec.readFile(p));
        }
        return out;
    }

    static List<Tensor> random(Graph g, Map<String, Long> dims, long seed) { return dev.kiln.exec.RandomInputs.of(g, dims, seed); }

    static List<Tensor> random(List<dev.kiln.ir.Value> inputs, Map<String, Long> dims, long seed) {
        return dev.kiln.exec.RandomInputs.of(inputs, dims, seed);
    }
}
