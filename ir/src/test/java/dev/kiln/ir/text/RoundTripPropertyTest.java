package dev.kiln.ir.text;

import dev.kiln.ir.Graph;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** parse(print(g)) equals g for random graphs, both self-contained and with a resolver; printing is stable. */
class RoundTripPropertyTest {
    @Provide Arbitrary<Graph> graphs() { return Arbitraries.randomValue(RandomGraphs::graph); }

    @Property(tries = 500)
    void selfContainedTextParsesBackEqual(@ForAll("graphs") Graph g) {
        String text = IrPrinter.print(g, IrPrinter.Options.SELF_CONTAINED);
        Graph back = IrParser.parse(text);
        assertEquals(g, back, text);
        assertEquals(text, IrPrinter.print(back, IrPrinter.Options.SELF_CONTAINED));
    }

    @Property(tries = 300)
    void referencedResourcesResolveBackEqual(@ForAll("graphs") Graph g) {
        IrPrinter.Printed p = IrPrinter.render(g, new IrPrinter.Options(4, false));
        assertEquals(g, IrParser.parse(p.text(), p.resources()::get), p.text());
    }
}
