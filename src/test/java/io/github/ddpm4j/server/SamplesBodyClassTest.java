package io.github.ddpm4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.pipeline.SampleRequest;
import org.junit.jupiter.api.Test;

/** The optional {@code "class"} and {@code "guidance"} fields of {@code POST /v1/samples}. */
class SamplesBodyClassTest {
  private static SamplesBody parse(String json, int numClasses) {
    return SamplesBody.parse(json, 50, SampleServer.DEFAULT_MAX_IMAGES, () -> 1234, numClasses);
  }

  private static void refused(String json, int numClasses, String field, String message) {
    BadRequestException e = assertThrows(BadRequestException.class, () -> parse(json, numClasses));
    assertEquals(field, e.field());
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }

  @Test
  void aClassAndAGuidanceScaleAreRead() {
    assertEquals(SampleRequest.ddim(2, 5, 50).withClass(7, 1.5), parse("{\"n\": 2, \"seed\": 5, \"class\": 7, \"guidance\": 1.5}", 10).request());
    assertEquals(SamplesBody.DEFAULT_GUIDANCE, parse("{\"class\": 0}", 10).request().guidanceScale());
    assertEquals(SampleRequest.NO_CLASS, parse("{}", 10).request().classLabel(), "no class: unconditional");
  }

  @Test
  void badClassFieldsAreRefusedNamingThem() {
    refused("{\"class\": 10}", 10, "class", "class must be an integer in 0..9, got 10");
    refused("{\"class\": -1}", 10, "class", "0..9");
    refused("{\"class\": \"Bag\"}", 10, "class", "got \"Bag\"");
    refused("{\"class\": 0}", 0, "class", "this one is unconditional");
    refused("{\"class\": 1, \"guidance\": -2}", 10, "guidance", "guidance must be a finite number >= 0");
    refused("{\"guidance\": 2}", 10, "guidance", "guidance applies to a request with a class");
  }
}
