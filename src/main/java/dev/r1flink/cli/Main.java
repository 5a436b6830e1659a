package dev.r1flink.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code ./r1-flink} launcher. */
@Command(name = "r1-flink", mixinStandardHelpOptions = true, version = "r1-flink 0.1.0",
        description = "DeepSeek-R1 reasoning models in pure Java, inside Apache Flink.",
        subcommands = {
                CommandLine.HelpCommand.class,
                TokenizeCommand.class,
                SynthCommand.class,
                GenerateCommand.class,
                BenchCommand.class,
                DemoCommand.class,
                ProduceCommand.class,
                ConsumeCommand.class,
                SubmitCommand.class,
                SqlCommand.class,
        })
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command tree; tests execute it in-process. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            // A person gets the reason, not a stack trace (set -Dr1.debug=true for that).
            if (Boolean.getBoolean("r1.debug")) {
                e.printStackTrace();
            }
            String msg = e instanceof java.nio.file.NoSuchFileException ? "no such file: " + e.getMessage()
                    : e.getMessage() != null ? e.getMessage() : e.toString();
            cmd.getErr().println("r1-flink " + cmd.getCommandName() + ": error: " + msg);
            return 1;
        });
    }
}
