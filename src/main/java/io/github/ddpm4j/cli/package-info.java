/**
 * The {@code ddpm4j} command line ({@link io.github.ddpm4j.cli.Main}, on picocli): {@code train},
 * {@code sample}, {@code interpolate}, {@code animate}, {@code serve} (the HTTP server of
 * {@link io.github.ddpm4j.server}), {@code info} and {@code completion}.
 *
 * <p>Options that several commands take are declared once, as picocli mixins, so that an option has one
 * name, default, help text and validation everywhere: {@code CommonOptions} (every command: device,
 * threads, seed, {@code --no-progress}, {@code --quiet}), {@code SamplerMixin} (every command that samples),
 * {@code ExecutionOptions} (every command that runs the model), {@code CheckpointOption}, and
 * {@code DistributedOptions} ({@code train}'s data-parallel options, as torchrun names them: {@code train
 * --nproc-per-node N} starts N workers through {@code LocalLauncher}, and a {@code train} whose environment
 * holds torchrun's variables is a worker). Settings are
 * parsed into the library's types (enums, options records) here, at the edge, and validated by the types
 * that own them.
 *
 * <p>Output: results and status lines on standard output, each command ending with one line that says
 * what it wrote; errors and progress ({@link io.github.ddpm4j.console.ConsoleProgress}) on standard error.
 * Exit codes: 0 success, 1 a runtime failure (the message names the file or setting at fault), 2 a usage
 * error.
 */
package io.github.ddpm4j.cli;
