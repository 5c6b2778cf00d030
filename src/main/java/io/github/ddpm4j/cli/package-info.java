/**
 * The {@code ddpm4j} command line ({@link io.github.ddpm4j.cli.Main}, on picocli): {@code train},
 * {@code sample}, {@code interpolate}, {@code animate} and {@code info}. Options that several commands
 * take are declared once and shared; settings are parsed into the library's types (enums, options
 * records) here, at the edge, and validated by the types that own them.
 *
 * <p>Exit codes: 0 success, 1 a runtime failure (the message names the file or setting at fault),
 * 2 a usage error.
 */
package io.github.ddpm4j.cli;
