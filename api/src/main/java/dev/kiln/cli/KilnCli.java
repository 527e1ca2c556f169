package dev.kiln.cli;

import dev.kiln.ir.KilnException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kiln} command line. Each subcommand is a small class in this package; all take --help. */
@Command(name = "kiln", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "kiln 0.1.0",
        description = "Compiles ONNX models into fused CUDA kernels and runs them.",
        subcommands = {ImportCommand.class, CompileCommand.class, RunCommand.class, DumpCommand.class, ProfileCommand.class, DoctorCommand.class, CommandLine.HelpCommand.class})
public final class KilnCli implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    public static void main(String[] args) {
        int rc = execute(args);
        dev.kiln.bundle.PlanCache.awaitWrites(); // a plan stored after a miss: System.exit would cut the write off
        System.exit(rc);
    }

    /** Runs the CLI; user errors print one clear line (no stack trace) and exit with 1. */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new KilnCli());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof KilnException || e instanceof java.io.UncheckedIOException || e instanceof java.io.IOException
                    || e instanceof dev.kiln.runtime.CudaUnavailableException) {
                cmd.getErr().println("kiln: error: " + e.getMessage());
                if (Boolean.getBoolean("kiln.debug")) e.printStackTrace(cmd.getErr());
                return 1;
            }
            throw e;
        });
        return cl.execute(args);
    }
}
