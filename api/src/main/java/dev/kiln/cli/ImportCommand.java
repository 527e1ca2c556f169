package dev.kiln.cli;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.text.IrPrinter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kiln import MODEL}: imports and verifies a model, prints its IR and a summary. */
@Command(name = "import", description = "Import an ONNX model, verify it, print its IR and a summary.")
final class ImportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "the .onnx file") Path model;

    @Option(names = "--summary-only", description = "print only the summary, not the IR") boolean summaryOnly;

    @Override public Integer call() {
        long t0 = System.nanoTime();
        ImportedModel m = new OnnxImporter().importModel(model);
        Verifier.verify(m.graph());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (!summaryOnly) System.out.print(IrPrinter.print(m.graph()));
        System.out.println(Summary.of(m, ms));
        return 0;
    }
}
