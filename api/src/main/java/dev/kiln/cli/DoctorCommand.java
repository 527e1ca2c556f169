package dev.kiln.cli;

import dev.kiln.runtime.Doctor;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code kiln doctor}: what the GPU path needs (driver, NVRTC, a device) and whether it is there. */
@Command(name = "doctor", description = "Report CUDA driver, NVRTC and GPU found or not, with reasons and what to install.")
final class DoctorCommand implements Callable<Integer> {
    @Override public Integer call() {
        Doctor.Report r = Doctor.report();
        System.out.println(r);
        return r.ok() ? 0 : 1; // scripts can test for a usable GPU
    }
}
