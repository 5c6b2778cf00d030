/**
 * Writing output files safely, and reporting file errors and invalid settings plainly.
 *
 * <ul>
 *   <li>{@link io.github.ddpm4j.io.AtomicFiles}: the one way ddpm4j writes a file (checkpoints,
 *       state dicts, loss logs, PNGs, GIFs): a temporary file beside the target, forced to disk,
 *       renamed over the target, then the directory forced, so that a crash at any moment
 *       leaves either the old file or the complete new one. It also removes the temporary
 *       files that a killed process left behind.</li>
 *   <li>{@link io.github.ddpm4j.io.FileErrors}: turns an {@link java.io.IOException} into
 *       {@code "PATH: REASON"}, the form every error about a file takes.</li>
 *   <li>{@link io.github.ddpm4j.io.InvalidSettingException}: a setting out of range, whose message names
 *       the settings by their field names ({@code batchSize = 0 must be >= 1}), so that the command line can
 *       show the same error under its option names ({@code --batch-size=0 must be >= 1}).</li>
 * </ul>
 *
 * <p>This package depends on nothing else in ddpm4j, so that {@code serialize},
 * {@code data} and {@code train} can all use it.
 */
package io.github.ddpm4j.io;
