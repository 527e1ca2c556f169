package dev.kiln.cli;

import dev.kiln.runtime.Doctor;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code kiln doctor}: what the GPU path needs (driver, NVRTC, a device) and whether it is there. */
@Command(name = "doctor", description = "Report CUDA driver, NVRTC and GPU found or not, with reasons and what to install.")
final class DoctorCommand implements Callable<Integer> {
    @Override public Integer call() {
        System.out.println(Doctor.report());
        return 0;
    }
}
