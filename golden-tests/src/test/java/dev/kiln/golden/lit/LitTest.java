package dev.kiln.golden.lit;

import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.text.IrParser;
import dev.kiln.ir.text.IrPrinter;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.Passes;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs the golden IR files under {@code resources/passes/<pass>/*.ir}, lit style. Line 1 is
 * {@code // RUN: pass1,pass2}; cases are separated by {@code // -----}; each case opens with a comment
 * sentence saying what it checks, then IR text, then {@code // CHECK...} lines matched by {@link FileCheck}
 * against {@code IrPrinter.print} of the result (the IR is verified after every pass). A case with
 * {@code // ERROR: text} instead expects the pipeline to fail with a KilnException whose message holds text.
 */
class LitTest {
    private static final String SEPARATOR = "// -----";

    @TestFactory
    Stream<DynamicNode> goldenFiles() throws IOException, URISyntaxException {
        Path root = Path.of(LitTest.class.getResource("/passes").toURI());
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> p.toString().endsWith(".ir")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no golden files under " + root);
        return files.stream().map(f -> DynamicContainer.dynamicContainer(root.relativize(f).toString(), cases(f)));
    }

    private static Stream<DynamicNode> cases(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + file, e);
        }
        String first = text.lines().findFirst().orElse("");
        if (!first.startsWith("// RUN:")) throw new AssertionError(file + ": line 1 must be '// RUN: pass1,pass2'");
        String pipeline = first.substring("// RUN:".length()).strip();
        List<DynamicNode> tests = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        int start = 1;
        for (int i = 1; i <= lines.length; i++) {
            if (i < lines.length && !lines[i].strip().equals(SEPARATOR)) continue;
            int from = start, to = i;
            String body = String.join("\n", List.of(lines).subList(from, to));
            String title = body.lines().map(String::strip).filter(l -> l.startsWith("//")).findFirst()
                    .map(l -> l.substring(2).strip()).orElse("case at line " + (from + 1));
            tests.add(DynamicTest.dynamicTest("line " + (from + 1) + ": " + title, () -> runCase(file, pipeline, body, from + 1)));
            start = i + 1;
        }
        return tests.stream();
    }

    private static void runCase(Path file, String pipeline, String body, int firstLine) {
        Graph input = IrParser.parse(body);
        PassManager pm = new PassManager(Passes.parse(pipeline), Set.of(), PassManager.Options.defaults(), IrPrinter::print);
        String expectedError = body.lines().map(String::strip).filter(l -> l.startsWith("// ERROR:"))
                .map(l -> l.substring("// ERROR:".length()).strip()).findFirst().orElse(null);
        if (expectedError != null) {
            KilnException e = assertThrows(KilnException.class, () -> pm.run(input), file + ":" + firstLine);
            assertTrue(e.getMessage().contains(expectedError), file + ":" + firstLine + ": error was: " + e.getMessage());
            return;
        }
        String out = IrPrinter.print(pm.run(input));
        List<FileCheck.Directive> checks = FileCheck.parse(body, firstLine);
        assertFalse(checks.isEmpty(), file + ":" + firstLine + ": case has no CHECK lines");
        try {
            FileCheck.check(out, checks);
        } catch (FileCheck.CheckFailure f) {
            throw new FileCheck.CheckFailure(file.getFileName() + ": " + f.getMessage());
        }
    }
}
