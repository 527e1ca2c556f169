package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Verifier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs a pipeline of passes in order. At construction it checks that each pass's requirements are
 * established by an earlier pass (or declared as given). While running it can verify the IR after every pass,
 * dump the IR after every pass (or one named pass) as parseable text into a folder, and, when a pass
 * crashes, write a reproducer: the input IR of that pass plus the pipeline string.
 */
public final class PassManager {
    private final List<Pass> passes;
    private final Options options;
    private final Function<Graph, String> printer;
    private final List<Record> records = new ArrayList<>();

    /**
     * @param verifyEach  run the verifier after every pass
     * @param dumpDir     folder for dumps and reproducers, or null
     * @param dumpAfter   pass name to dump after, "all" for every pass, or null for none
     * @param log         receives one line per pass ("fold-constants: folded 12 nodes (3 ms)"), or null
     */
    public record Options(boolean verifyEach, Path dumpDir, String dumpAfter, Consumer<String> log) {
        public static Options defaults() { return new Options(true, null, null, null); }
    }

    /** What one pass did: its name, node counts before and after, counters, time. */
    public record Record(String pass, int nodesBefore, int nodesAfter, String counters, long micros) {}

    public PassManager(List<Pass> passes, Set<Property> given, Options options, Function<Graph, String> printer) {
        this.passes = List.copyOf(passes);
        this.options = options;
        this.printer = printer;
        Set<Property> have = given.isEmpty() ? EnumSet.noneOf(Property.class) : EnumSet.copyOf(given);
        for (Pass p : passes) {
            for (Property r : p.requires())
                if (!have.contains(r))
                    throw new IllegalArgumentException("pipeline " + pipelineString() + ": pass " + p.name() + " requires "
                            + r + ", which no earlier pass establishes");
            have.removeAll(p.invalidates());
            have.addAll(p.establishes());
        }
        if (options.dumpAfter() != null && !options.dumpAfter().equals("all")
                && passes.stream().noneMatch(p -> p.name().equals(options.dumpAfter())))
            throw new IllegalArgumentException("--after " + options.dumpAfter() + ": no such pass in " + pipelineString());
    }

    public String pipelineString() { return String.join(",", passes.stream().map(Pass::name).toList()); }

    public List<Pass> passes() { return passes; }

    public List<Record> records() { return records; }

    public Graph run(Graph g) {
        dump(0, "input", g);
        for (int i = 0; i < passes.size(); i++) {
            Pass p = passes.get(i);
            PassContext ctx = new PassContext();
            long t0 = System.nanoTime();
            Graph out;
            try {
                out = p.run(g, ctx);
                if (options.verifyEach()) Verifier.verify(out);
            } catch (KilnException | IllegalStateException | IllegalArgumentException | ArithmeticException
                     | IndexOutOfBoundsException | NullPointerException | ClassCastException e) {
                Path repro = writeReproducer(p, g);
                String where = repro == null ? "" : " (reproducer: " + repro + ")";
                if (e instanceof KilnException k) throw k.withContext(g.name(), null, null);
                throw new PassFailedException("pass " + p.name() + " failed on graph '" + g.name() + "': " + e + where, e);
            }
            long us = (System.nanoTime() - t0) / 1000;
            records.add(new Record(p.name(), g.nodes().size(), out.nodes().size(), ctx.summary(), us));
            if (options.log() != null)
                options.log().accept(String.format("%-22s %5d -> %5d nodes  %s (%d ms)", p.name(), g.nodes().size(),
                        out.nodes().size(), ctx.summary(), us / 1000));
            g = out;
            if ("all".equals(options.dumpAfter()) || p.name().equals(options.dumpAfter())) dump(i + 1, p.name(), g);
        }
        return g;
    }

    private void dump(int index, String name, Graph g) {
        if (options.dumpDir() == null || options.dumpAfter() == null) return;
        if (index == 0 && !"all".equals(options.dumpAfter())) return;
        writeAtomically(options.dumpDir().resolve(String.format("%02d-%s.ir", index, name)), printer.apply(g));
    }

    private Path writeReproducer(Pass p, Graph input) {
        if (options.dumpDir() == null) return null;
        Path f = options.dumpDir().resolve("crash-" + p.name() + ".ir");
        try {
            writeAtomically(f, "// reproducer: run pass " + p.name() + " of pipeline " + pipelineString() + "\n"
                    + "// kiln dump --pipeline " + p.name() + " " + f.getFileName() + "\n" + printer.apply(input));
            return f;
        } catch (RuntimeException e) {
            return null; // the crash itself matters more than its reproducer
        }
    }

    static void writeAtomically(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".tmp-", ".ir");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
