package dev.kiln;

import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.DeviceBuffer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** CompiledModel.runOnDevice: the same bytes as the host-tensor path, without leaving the GPU. */
@Tag("gpu")
class DeviceTensorTest {
    @Test void deviceTensorsGiveTheHostPathsResults() throws Exception {
        Assumptions.assumeTrue(Cuda.available(), "no usable GPU: run `kiln doctor`");
        Path model = Files.exists(Path.of("../examples/tiny_block.onnx")) ? Path.of("../examples/tiny_block.onnx") : Path.of("examples/tiny_block.onnx");
        try (CompiledModel m = Kiln.compile(model, CompileOptions.defaults())) {
            Tensor x = Tensor.ofDoubles(dev.kiln.ir.DType.F32, new long[] {1, 16, 64}, ReadmeExampleTest.ramp(1024, 0.03));
            Tensor host = m.run(List.of(x)).get(0);
            try (DeviceBuffer in = m.allocateInput(0); DeviceBuffer out = m.allocateOutput(0)) {
                in.upload(x.storage());
                m.runOnDevice(List.of(in), List.of(out));
                byte[] got = out.downloadBytes(host.storage().length);
                assertArrayEquals(host.storage(), got, "device-tensor run differs from the host-tensor run");
            }
            var e = assertThrows(IllegalArgumentException.class, () -> m.runOnDevice(List.of(), List.of()));
            assertTrue(e.getMessage().contains("takes 1 inputs"), e.getMessage());
        }
    }
}
