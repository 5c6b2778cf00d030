package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** {@link SamplerOptions}, {@link SamplerType} and {@link ScheduleType}: names, parsing and what they build. */
class SamplerOptionsTest extends TorchTestBase {
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(20, 1e-3, 0.2);
  private static final GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);

  @Test
  void namesAreLowerCaseAndParseBack() {
    for (SamplerType t : SamplerType.values()) assertEquals(t, SamplerType.parse(t.toString()));
    for (ScheduleType t : ScheduleType.values()) assertEquals(t, ScheduleType.parse(t.toString()));
    assertEquals("ddim", SamplerType.DDIM.toString());
    assertEquals("cosine", ScheduleType.COSINE.toString());
  }

  @Test
  void anUnknownNameListsTheAcceptedOnes() {
    assertEquals("expected one of ddim, ancestral, dpm-solver++, got 'DDIM'",
        assertThrows(IllegalArgumentException.class, () -> SamplerType.parse("DDIM")).getMessage());
    assertEquals("expected one of linear, cosine, got 'quadratic'",
        assertThrows(IllegalArgumentException.class, () -> ScheduleType.parse("quadratic")).getMessage());
    assertEquals("expected one of linear, cosine, got nothing",
        assertThrows(IllegalArgumentException.class, () -> ScheduleType.parse(null)).getMessage());
  }

  @Test
  void optionsBuildTheirSampler() {
    DdimSampler ddim = assertInstanceOf(DdimSampler.class, new SamplerOptions(SamplerType.DDIM, 4, 0.5).create(diffusion));
    assertArrayEquals(new int[] {0, 5, 10, 15}, ddim.tau());
    assertEquals(0.5, ddim.eta());
    Sampler ancestral = new SamplerOptions(SamplerType.ANCESTRAL, 0, -1).create(diffusion);
    assertInstanceOf(AncestralSampler.class, ancestral);
    assertEquals(20, ancestral.tau().length, "ancestral sampling ignores the DDIM settings");
    assertThrows(NullPointerException.class, () -> new SamplerOptions(null, 4, 0));
  }

  @Test
  void theSamplerChecksItsSettingsOnce() {
    InvalidSettingException steps = assertThrows(InvalidSettingException.class,
        () -> new SamplerOptions(SamplerType.DDIM, 21, 0).create(diffusion));
    assertEquals("samplingSteps = 21 must lie in [1, T = 20]", steps.getMessage());
    assertEquals("--sampling-steps=21 must lie in [1, T = 20]", steps.message(name -> "--sampling-steps", "="));
    InvalidSettingException eta = assertThrows(InvalidSettingException.class,
        () -> new SamplerOptions(SamplerType.DDIM, 5, Double.NaN).create(diffusion));
    assertEquals("eta = NaN must be finite and >= 0", eta.getMessage());
  }

  @Test
  void scheduleTypesBuildTheSchedulesOfTheirConstants() {
    try (NoiseSchedule cosine = ScheduleType.COSINE.create(30, 0.5, 0.6, Device.CPU);
         NoiseSchedule expected = NoiseSchedule.cosine(30);
         NoiseSchedule linear = ScheduleType.LINEAR.create(30, 1e-3, 0.1, Device.CPU);
         NoiseSchedule expectedLinear = NoiseSchedule.linear(30, 1e-3, 0.1)) {
      for (int t = 0; t < 30; t++) {
        assertEquals(expected.beta(t), cosine.beta(t), 0.0, "the cosine schedule ignores betaStart and betaEnd");
        assertEquals(expectedLinear.beta(t), linear.beta(t), 0.0);
      }
    }
  }
}
