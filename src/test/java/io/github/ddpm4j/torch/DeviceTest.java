package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Device parsing and validation. */
class DeviceTest {

  @Test
  void parsesPyTorchSpellings() {
    assertEquals(Device.CPU, Device.parse("cpu"));
    assertEquals(Device.cuda(0), Device.parse("cuda"));
    assertEquals(Device.cuda(3), Device.parse("cuda:3"));
    assertEquals(Device.cuda(1), Device.parse(" CUDA:1 "));
    assertEquals(Device.CPU, Device.parse("CPU"));
  }

  @Test
  void rejectsOtherStrings() {
    for (String bad : new String[] {"gpu", "", "cuda:", "cuda:-1", "cuda:x", "cuda0", "mps", "cuda:1:2"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad), bad);
      assertEquals("device must be cpu, cuda or cuda:N, got '" + bad + "'", e.getMessage());
    }
    IllegalArgumentException nul = assertThrows(IllegalArgumentException.class, () -> Device.parse(null));
    assertEquals("device must be cpu, cuda or cuda:N, got 'null'", nul.getMessage());
    IllegalArgumentException cpuIndex = assertThrows(IllegalArgumentException.class, () -> Device.parse("cpu:0"));
    assertEquals("the CPU device takes no index: 'cpu:0'", cpuIndex.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:99999999999"));
  }

  @Test
  void validatesComponents() {
    assertThrows(IllegalArgumentException.class, () -> new Device(Device.Type.CPU, 0));
    IllegalArgumentException neg = assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
    assertEquals("CUDA device index must be >= 0, got -1", neg.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Device(null, -1));
  }

  @Test
  void printsAndClassifies() {
    assertEquals("cpu", Device.CPU.toString());
    assertEquals("cuda:2", Device.cuda(2).toString());
    assertTrue(Device.cuda(0).isCuda());
    assertFalse(Device.CPU.isCuda());
    assertEquals(Device.parse(Device.cuda(5).toString()), Device.cuda(5));
  }
}
