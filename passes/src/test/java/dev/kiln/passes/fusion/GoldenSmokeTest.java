package dev.kiln.passes.fusion;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.text.IrParser;
import dev.kiln.ir.text.IrPrinter;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs the fusion golden files' pipelines (golden-tests/.../passes/*) and checks that each output verifies
 * and round-trips through the text form; the CHECK lines are matched by the lit runner in golden-tests.
 */
class GoldenSmokeTest {
    static final Map<String, Supplier<Pass>> PASSES = Map.of(RecognizeAttention.NAME, RecognizeAttention::new,
            FuseElementwise.NAME, FuseElementwise::new, FuseReductions.NAME, FuseReductions::new,
            FuseEpilogues.NAME, FuseEpilogues::new, GroupSingles.NAME, GroupSingles::new);

    @Test
    void goldenCasesRunVerifyAndRoundTrip() throws Exception {
        Path root = Path.of("../golden-tests/src/test/resources/passes");
        for (String pass : PASSES.keySet()) {
            Path f = root.resolve(pass).resolve("basic.ir");
            String text = Files.readString(f);
            String[] lines = text.split("\n", 2);
            List<String> pipeline = List.of(lines[0].replace("// RUN:", "").strip().split(","));
            for (String c : lines[1].split("// -----")) {
                Graph g = IrParser.parse(c);
                for (String p : pipeline) g = Verifier.verify(PASSES.get(p).get().run(g, new PassContext()));
                String out = IrPrinter.print(g);
                if (Boolean.getBoolean("kiln.fusion.print")) System.out.println("== " + f + "\n" + out);
                assertEquals(g, IrParser.parse(out), f.toString());
            }
        }
    }
}
