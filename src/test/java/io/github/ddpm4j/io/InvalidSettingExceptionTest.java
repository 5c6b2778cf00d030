package io.github.ddpm4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class InvalidSettingExceptionTest {
  private static final Map<String, String> OPTIONS = Map.of("imageSize", "--image-size", "nChannels", "--base-channels");

  @Test
  void theLibrarysMessageNamesTheFields() {
    InvalidSettingException e = new InvalidSettingException("{imageSize=} must be divisible by {} ({nChannels=}, {nChannels})",
        30, 4, 32);
    assertEquals("imageSize = 30 must be divisible by 4 (nChannels = 32, nChannels)", e.getMessage());
  }

  @Test
  void aFrontEndRenamesThem() {
    InvalidSettingException e = new InvalidSettingException("{imageSize=} must be divisible by {} ({nChannels=}, {data})", 30, 4, 32);
    assertEquals("--image-size=30 must be divisible by 4 (--base-channels=32, data)",
        e.message(name -> OPTIONS.getOrDefault(name, name), "="));
  }

  @Test
  void valuesAreNeverReadAsPlaceholders() {
    InvalidSettingException e = new InvalidSettingException("the checkpoint in {} is past {trainSteps=}", "/tmp/{x=}", 5);
    assertEquals("the checkpoint in /tmp/{x=} is past trainSteps = 5", e.getMessage());
  }

  @Test
  void placeholdersAndValuesMustMatch() {
    assertThrows(IllegalArgumentException.class, () -> new InvalidSettingException("{a=} and {}", 1));
    assertThrows(IllegalArgumentException.class, () -> new InvalidSettingException("{a}", 1));
    assertThrows(IllegalArgumentException.class, () -> new InvalidSettingException("{a"));
  }
}
