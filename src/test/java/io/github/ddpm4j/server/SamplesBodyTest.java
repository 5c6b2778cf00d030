package io.github.ddpm4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.SamplerType;
import io.github.ddpm4j.pipeline.SampleRequest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The body of {@code POST /v1/samples}: defaults for missing fields, and a 400 that names the field for every
 * value out of range, of the wrong type or unknown; malformed JSON names no field.
 */
class SamplesBodyTest {
  private static final int T = 50;

  private static SamplesBody parse(String json) {
    return SamplesBody.parse(json, T, SampleServer.DEFAULT_MAX_IMAGES, () -> 1234);
  }

  @Test
  void missingFieldsTakeTheirDefaults() {
    for (String empty : new String[] {"{}", "", "  \n", "{\"seed\": null, \"n\": null}"}) {
      SamplesBody b = parse(empty);
      assertEquals(new SampleRequest(1, 1234, SamplerType.DDIM, 50, 0.0), b.request(), empty);
      assertEquals(SamplesBody.Output.GRID, b.output());
    }
    // a model of fewer timesteps than the default number of DDIM steps samples with all of them
    assertEquals(20, SamplesBody.parse("{}", 20, 64, () -> 0).request().numInferenceSteps());
  }

  @Test
  void everyFieldIsRead() {
    SamplesBody b = parse("{\"n\": 4, \"seed\": -7, \"sampler\": \"ddim\", \"steps\": 20, \"eta\": 0.5, \"output\": \"grid\"}");
    assertEquals(new SampleRequest(4, -7, SamplerType.DDIM, 20, 0.5), b.request());
    assertEquals(SamplesBody.Output.PNG, parse("{\"output\": \"png\"}").output());
    assertEquals(SampleRequest.ancestral(2, 3), parse("{\"n\": 2, \"seed\": 3, \"sampler\": \"ancestral\"}").request());
    // integers may be written as JSON numbers with a zero fraction; 64-bit seeds are exact
    assertEquals(64, parse("{\"n\": 64.0}").request().numImages());
    assertEquals(Long.MAX_VALUE, parse("{\"seed\": 9223372036854775807}").request().seed());
    assertEquals(Long.MIN_VALUE, parse("{\"seed\": -9223372036854775808}").request().seed());
  }

  static Stream<Arguments> badFields() {
    return Stream.of(
        Arguments.of("{\"n\": 0}", "n", "n must be an integer in 1..64, got 0"),
        Arguments.of("{\"n\": 65}", "n", "n must be an integer in 1..64, got 65"),
        Arguments.of("{\"n\": 1.5}", "n", "got 1.5"),
        Arguments.of("{\"n\": \"4\"}", "n", "got \"4\""),
        Arguments.of("{\"n\": [4]}", "n", "got [4]"),
        Arguments.of("{\"seed\": 1.5}", "seed", "seed must be a 64-bit integer, got 1.5"),
        Arguments.of("{\"seed\": 9223372036854775808}", "seed", "seed must be a 64-bit integer"),
        Arguments.of("{\"seed\": true}", "seed", "got true"),
        Arguments.of("{\"sampler\": \"euler\"}", "sampler", "sampler must be one of \"ddim\", \"ancestral\", \"dpm-solver++\", got \"euler\""),
        Arguments.of("{\"sampler\": 1}", "sampler", "got 1"),
        Arguments.of("{\"steps\": 0}", "steps", "steps must be an integer in 1..50, got 0"),
        Arguments.of("{\"steps\": 51}", "steps", "steps must be an integer in 1..50, got 51"),
        Arguments.of("{\"steps\": 1e9}", "steps", "got 1e9"),
        Arguments.of("{\"sampler\": \"ancestral\", \"steps\": 10}", "steps", "steps applies to sampler ddim or dpm-solver++ only: ancestral sampling runs all T = 50"),
        Arguments.of("{\"sampler\": \"ancestral\", \"eta\": 1}", "eta", "eta applies to sampler ddim only"),
        Arguments.of("{\"sampler\": \"dpm-solver++\", \"eta\": 0}", "eta", "eta applies to sampler ddim only: dpm-solver++ is deterministic"),
        Arguments.of("{\"sampler\": \"dpm-solver++\", \"steps\": 50}", "steps", "steps must be an integer in 1..49, got 50"),
        Arguments.of("{\"eta\": -0.1}", "eta", "eta must be a finite number >= 0 (0: deterministic DDIM), got -0.1"),
        Arguments.of("{\"eta\": 1e999}", "eta", "got 1e999"),
        Arguments.of("{\"eta\": \"0\"}", "eta", "got \"0\""),
        Arguments.of("{\"output\": \"jpeg\"}", "output", "output must be one of \"grid\", \"png\", got \"jpeg\""),
        Arguments.of("{\"n\": 2, \"output\": \"png\"}", "output", "output \"png\" answers with one image, so n must be 1 (got 2)"),
        Arguments.of("{\"step\": 20}", "step", "unknown field \"step\"; the fields are n, seed, sampler, steps, eta, class, guidance, output"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFields")
  void aBadFieldIsNamed(String json, String field, String message) {
    BadRequestException e = assertThrows(BadRequestException.class, () -> parse(json));
    assertEquals(field, e.field(), e.getMessage());
    assertTrue(e.getMessage().contains(message), () -> "'" + message + "' not in: " + e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"n\": ", "{\"n\": 1}}", "{n: 1}", "{'n': 1}", "{\"n\": NaN}", "{\"n\": 1,}", "not json", "{\"n\": 1} {}"})
  void malformedJsonNamesNoField(String json) {
    BadRequestException e = assertThrows(BadRequestException.class, () -> parse(json));
    assertNull(e.field(), e.getMessage());
    assertTrue(e.getMessage().startsWith("malformed JSON: "), e.getMessage());
    assertTrue(!e.getMessage().contains("Exception"), "no class names in the message: " + e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"[]", "4", "\"n\"", "null"})
  void aBodyThatIsNoObjectIsRefused(String json) {
    BadRequestException e = assertThrows(BadRequestException.class, () -> parse(json));
    assertNull(e.field());
    assertTrue(e.getMessage().startsWith("the body must be a JSON object"), e.getMessage());
  }
}
