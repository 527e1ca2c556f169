package dev.kiln.cli;

import dev.kiln.ir.KilnException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kiln} command line. Each subcommand is a small class in this package; all take --help. */
@Command(name = "kiln", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "kiln 0.1.0",
        description = "Compiles ONNX models into fused CUDA kernels and runs them.")
public final class KilnCli implements Runnable {
    /** The subcommands' names, in the order help lists them. */
    private static final java.util.List<String> SUBCOMMANDS = java.util.List.of("import", "compile", "run", "dump", "profile", "doctor", "help");

    // a switch, not a map of constructor references: JDK 25.0.3 crashed writing the AOT cache (bin/jvm-cache.sh) of a
    // run that had created those lambdas (archiveHeapWriter: "Metadata ... should have been archived")
    private static Object subcommand(String name, GpuStart gpu) {
        return switch (name) {
            case "import" -> new ImportCommand();
            case "compile" -> new CompileCommand();
            case "run" -> new RunCommand(gpu);
            case "dump" -> new DumpCommand();
            case "profile" -> new ProfileCommand();
            case "doctor" -> new DoctorCommand();
            case "help" -> new CommandLine.HelpCommand();
            default -> throw new IllegalArgumentException(name);
        };
    }

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    public static void main(String[] args) {
        int rc = execute(args);
        dev.kiln.bundle.PlanCache.awaitWrites(); // a plan stored after a miss: System.exit would cut the write off
        System.exit(rc);
    }

    /** Runs the CLI; user errors print one clear line (no stack trace) and exit with 1. */
    public static int execute(String... args) {
        // CUDA's start (0.2-0.3 s) first, on other threads, so it overlaps everything up to the first use of the GPU
        try (GpuStart gpu = GpuStart.begin(args)) {
            return execute(gpu, args);
        }
    }

    private static int execute(GpuStart gpu, String... args) {
        CommandLine cl = new CommandLine(new KilnCli());
        // picocli builds the model of every subcommand it is given (reflection over each one's options): a command
        // that names its subcommand first gets only that one; anything else (help, usage errors) gets them all
        String first = args.length > 0 ? args[0] : "";
        for (String name : SUBCOMMANDS)
            if (!SUBCOMMANDS.contains(first) || first.equals("help") || name.equals(first)) cl.addSubcommand(name, subcommand(name, gpu));
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
