/**
 * What a long command shows on the console while it works.
 *
 * <ul>
 *   <li>{@link io.github.ddpm4j.console.ConsoleProgress}: the one progress bar of every command that runs
 *       the model (steps, percentage, elapsed time, ETA, it/s), redrawn in place on a terminal and printed
 *       as a line every few percent to a pipe or a file.</li>
 *   <li>{@link io.github.ddpm4j.console.Terminal}: whether standard output and standard error are terminals
 *       ({@code isatty(3)}).</li>
 * </ul>
 *
 * <p>This package depends on nothing else in ddpm4j.
 */
package io.github.ddpm4j.console;
