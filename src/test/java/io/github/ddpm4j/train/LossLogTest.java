package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossLogTest {
  @TempDir Path dir;

  @BeforeAll
  static void headless() {
    System.setProperty("java.awt.headless", "true");
  }

  @Test
  void writesAHeaderAndOneRowPerStep() throws IOException {
    Path csv = dir.resolve("run/loss.csv");
    try (LossLog log = new LossLog(csv, 0)) {
      log.add(0, 0.5, 1e-3, 0.25);
      log.add(1, 0.123456789, 2.5e-4, 12.34);
    }
    assertEquals(List.of("step,loss,lr,seconds", "0,0.500000,1.000e-03,0.3", "1,0.123457,2.500e-04,12.3"), Files.readAllLines(csv));
  }

  @Test
  void flushMakesRowsVisibleBeforeClose() throws IOException {
    Path csv = dir.resolve("loss.csv");
    try (LossLog log = new LossLog(csv, 0)) {
      log.add(0, 1.0, 1e-3, 0);
      log.flush();
      assertEquals(2, Files.readAllLines(csv).size());
    }
  }

  @Test
  void resumingKeepsOnlyTheStepsBeforeTheCheckpoint() throws IOException {
    Path csv = dir.resolve("loss.csv");
    try (LossLog log = new LossLog(csv, 0)) {
      for (int s = 0; s < 6; s++) log.add(s, s / 10.0, 1e-3, s);
    }
    Files.writeString(csv, "7,0.1", java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(csv, "\n2,not-a-number,1,1\n", java.nio.file.StandardOpenOption.APPEND);
    try (LossLog log = new LossLog(csv, 3)) {
      log.add(3, 9.0, 1e-3, 0);
    }
    assertEquals(List.of("step,loss,lr,seconds", "0,0.000000,1.000e-03,0.0", "1,0.100000,1.000e-03,1.0", "2,0.200000,1.000e-03,2.0",
        "3,9.000000,1.000e-03,0.0"), Files.readAllLines(csv));
    try (LossLog log = new LossLog(csv, 0)) {
      log.add(0, 4.0, 1e-3, 0);
    }
    assertEquals(List.of("step,loss,lr,seconds", "0,4.000000,1.000e-03,0.0"), Files.readAllLines(csv), "a fresh run starts over");
  }

  @Test
  void plotsTheCurveAsAPng() throws IOException {
    Path csv = dir.resolve("loss.csv");
    Path png = dir.resolve("loss.png");
    try (LossLog log = new LossLog(csv, 0)) {
      for (int s = 0; s < 120; s++) log.add(s, 1.0 / (1 + s), 1e-3, s);
      log.plot(png);
      log.plot(png);
    }
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(900, img.getWidth());
    assertEquals(500, img.getHeight());
    try (var files = Files.list(dir)) {
      assertEquals(2, files.count(), "no temporary files are left");
    }
  }

  @Test
  void aResumedLogPlotsTheKeptRowsToo() throws IOException {
    Path csv = dir.resolve("loss.csv");
    try (LossLog log = new LossLog(csv, 0)) {
      for (int s = 0; s < 4; s++) log.add(s, 1, 1e-3, s);
    }
    try (LossLog log = new LossLog(csv, 4)) {
      log.plot(dir.resolve("p.png"));
    }
    assertTrue(Files.size(dir.resolve("p.png")) > 0);
    assertEquals(5, Files.readAllLines(csv).size());
  }
}
