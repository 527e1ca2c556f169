package dev.kiln.cli;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kiln run MODEL}: runs a model and prints a summary of each output and the time taken. */
@Command(name = "run", description = "Run a model on inputs from .pb files or random data; print outputs and timing.")
final class RunCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "the .onnx file") Path model;

    @Option(names = "--inputs", paramLabel = "DIR", description = "folder with input_0.pb, input_1.pb, ... (default: random data)")
    Path inputs;

    @Option(names = "--backend", defaultValue = "reference", description = "reference (CPU interpreter)")
    String backend;

    @Option(names = "--dim", paramLabel = "NAME=SIZE", description = "size of a symbolic input dim for random inputs")
    Map<String, Long> dims = new HashMap<>();

    @Option(names = "--seed", defaultValue = "0", description = "seed for random inputs") long seed;

    @Override public Integer call() {
        if (!backend.equals("reference"))
            throw new dev.kiln.ir.UnsupportedException("unknown backend '" + backend + "' (known: reference)");
        ImportedModel m = new OnnxImporter().importModel(model);
        Graph g = m.graph();
        List<Tensor> in = inputs != null ? Inputs.fromFolder(g, inputs) : Inputs.random(g, dims, seed);
        long t0 = System.nanoTime();
        List<Tensor> out = Interpreter.run(g, in);
        long us = (System.nanoTime() - t0) / 1000;
        for (int i = 0; i < out.size(); i++) System.out.println(Summary.tensor(g.outputs().get(i).name(), out.get(i)));
        System.out.printf("ran %s on the %s backend in %.3f ms%n", m.modelName(), backend, us / 1000.0);
        return 0;
    }
}
