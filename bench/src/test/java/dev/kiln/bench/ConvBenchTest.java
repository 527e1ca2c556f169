package dev.kiln.bench;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.contract.ConvTemplate;
import dev.kiln.codegen.kernels.contract.PoolTemplate;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's layers build valid groups whose kernels (and the conv reference) emit without a GPU; keys are unique. */
class ConvBenchTest {
    @Test
    void everyLayerEmits() {
        CodegenOptions o = CodegenOptions.defaults();
        Set<String> keys = new HashSet<>();
        for (ConvBench.Layer l : ConvBench.LAYERS) {
            assertTrue(keys.add(l.key()), "unique key " + l.key());
            Graph outer = ConvBench.group(l);
            Node f = outer.nodes().get(0);
            boolean conv = l.op().equals("conv");
            KernelSpec k = (conv ? new ConvTemplate() : new PoolTemplate()).emit(f, outer, new CodegenContext(o)).get(0);
            assertEquals(f.inputs().size() + 1, k.params().stream().filter(p -> p instanceof KernelSpec.Param.Buffer).count(), l.name());
            if (conv) assertTrue(ConvTemplate.directNhwc(f, "ref").source().contains("direct"), l.name());
        }
    }
}
