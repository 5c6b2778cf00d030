package io.github.ddpm4j.cli;

import java.util.Map;

/**
 * The place of one worker process in a data-parallel run, as torchrun (and {@code ddpm4j train
 * --nproc-per-node}) tells it through the environment: {@code MASTER_ADDR}, {@code MASTER_PORT},
 * {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK} and {@code LOCAL_WORLD_SIZE}.
 *
 * @param masterAddr the host of rank 0's store
 * @param masterPort its port
 * @param rank this worker's rank, 0..worldSize-1
 * @param worldSize the number of workers on all machines
 * @param localRank this worker's rank among the workers of its machine
 * @param localWorldSize the number of workers on this machine
 */
record WorkerEnvironment(String masterAddr, int masterPort, int rank, int worldSize, int localRank, int localWorldSize) {
  /** The variables that make a process a worker: with both set, {@code train} joins a process group. */
  static final String RANK = "RANK";
  /** The number of workers in the run. */
  static final String WORLD_SIZE = "WORLD_SIZE";
  /** The host of the store that rank 0 serves. */
  static final String MASTER_ADDR = "MASTER_ADDR";
  /** The port of the store that rank 0 serves. */
  static final String MASTER_PORT = "MASTER_PORT";
  /** The worker's rank on its machine. */
  static final String LOCAL_RANK = "LOCAL_RANK";
  /** The number of workers on the worker's machine. */
  static final String LOCAL_WORLD_SIZE = "LOCAL_WORLD_SIZE";

  /**
   * @param env the process's environment
   * @return whether {@code env} makes this process a worker of a launched run ({@code RANK} or {@code WORLD_SIZE} is set)
   */
  static boolean present(Map<String, String> env) {
    return env.containsKey(RANK) || env.containsKey(WORLD_SIZE);
  }

  /**
   * Reads and checks the variables. {@code LOCAL_RANK} defaults to {@code RANK} and {@code LOCAL_WORLD_SIZE}
   * to {@code WORLD_SIZE} (one machine), as where a launcher sets only the four that
   * {@code torch.distributed}'s {@code env://} needs.
   *
   * @param env the process's environment
   * @return the worker's place
   * @throws IllegalArgumentException naming the variable that is missing, not a number or out of range
   */
  static WorkerEnvironment of(Map<String, String> env) {
    String addr = env.get(MASTER_ADDR);
    if (addr == null || addr.isBlank()) throw new IllegalArgumentException(missing(MASTER_ADDR));
    int port = number(env, MASTER_PORT, null);
    if (port < 1 || port > 65535) throw new IllegalArgumentException(MASTER_PORT + "=" + port + " must be a port, 1..65535");
    int worldSize = number(env, WORLD_SIZE, null);
    if (worldSize < 1) throw new IllegalArgumentException(WORLD_SIZE + "=" + worldSize + " must be >= 1");
    int rank = number(env, RANK, null);
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException(RANK + "=" + rank + " must be in 0.." + (worldSize - 1) + " (" + WORLD_SIZE + "=" + worldSize + ")");
    }
    int localWorldSize = number(env, LOCAL_WORLD_SIZE, worldSize);
    if (localWorldSize < 1 || localWorldSize > worldSize) {
      throw new IllegalArgumentException(LOCAL_WORLD_SIZE + "=" + localWorldSize + " must be in 1.." + worldSize + " (" + WORLD_SIZE + ")");
    }
    int localRank = number(env, LOCAL_RANK, localWorldSize == worldSize ? rank : null);
    if (localRank < 0 || localRank >= localWorldSize) {
      throw new IllegalArgumentException(LOCAL_RANK + "=" + localRank + " must be in 0.." + (localWorldSize - 1) + " ("
          + LOCAL_WORLD_SIZE + "=" + localWorldSize + ")");
    }
    return new WorkerEnvironment(addr, port, rank, worldSize, localRank, localWorldSize);
  }

  private static String missing(String name) {
    return "the environment sets " + RANK + " or " + WORLD_SIZE + " (a launched worker) but not " + name
        + "; torchrun and 'ddpm4j train --nproc-per-node' set " + MASTER_ADDR + ", " + MASTER_PORT + ", " + RANK + " and " + WORLD_SIZE;
  }

  private static int number(Map<String, String> env, String name, Integer fallback) {
    String text = env.get(name);
    if (text == null || text.isBlank()) {
      if (fallback != null) return fallback;
      throw new IllegalArgumentException(missing(name));
    }
    try {
      return Integer.parseInt(text.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + "=" + text + " is not a whole number");
    }
  }

  @Override
  public String toString() {
    return "rank " + rank + " of " + worldSize;
  }
}
