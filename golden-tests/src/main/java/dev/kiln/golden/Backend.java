package dev.kiln.golden;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.ir.Tensor;

import java.util.List;

/** Something that runs an imported model: the reference interpreter, or compiled kernels on a GPU. */
public interface Backend {
    String name();

    List<Tensor> run(ImportedModel model, List<Tensor> inputs);
}
