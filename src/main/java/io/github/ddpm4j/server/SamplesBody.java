package io.github.ddpm4j.server;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import io.github.ddpm4j.diffusion.SamplerType;
import io.github.ddpm4j.pipeline.SampleRequest;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The JSON body of {@code POST /v1/samples}, read strictly: every field is optional, a field of the wrong type or
 * out of range is refused naming it, and so is a field the server does not know (a misspelt {@code "step"} would
 * otherwise be silently ignored). A JSON {@code null} counts as absent, and an empty body as {@code {}}.
 *
 * <pre>{@code {"n": 4, "seed": 42, "sampler": "ddim", "steps": 50, "eta": 0.0, "output": "grid"}}</pre>
 *
 * <p>For a class-conditional model, {@code "class"} (a class index) asks for images of that class with
 * classifier-free guidance of scale {@code "guidance"} (diffusers' convention: 0 unconditional, 1 conditional,
 * &gt; 1 guided; default {@value #DEFAULT_GUIDANCE}).
 *
 * @param request the images to make
 * @param output how to answer: one grid PNG, or the single image's PNG
 */
record SamplesBody(SampleRequest request, Output output) {
  /** The fields, in the order the documentation lists them. */
  static final List<String> FIELDS = List.of("n", "seed", "sampler", "steps", "eta", "class", "guidance", "output");
  /** The guidance scale of a request that names a class but no scale. */
  static final double DEFAULT_GUIDANCE = 3.0;
  /** The number of steps of DDIM or DPM-Solver++ when the request names none (or the most the model's T allows, where that is fewer). */
  static final int DEFAULT_STEPS = 50;

  /** What the response holds. */
  enum Output {
    /** One PNG: the images in a grid of about square shape ({@code ceil(sqrt(n))} per row). */
    GRID,
    /** One PNG of the one image asked for ({@code n} must be 1). */
    PNG;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @param body the request's body, as UTF-8 text
   * @param timesteps the model's number of timesteps T: DDIM takes at most T steps
   * @param maxImages the most images one request may ask for
   * @param seeds gives the seed of a request that names none
   * @return the request
   * @throws BadRequestException naming the field at fault, or with no field if the body is not a JSON object
   */
  static SamplesBody parse(String body, int timesteps, int maxImages, LongSupplier seeds) {
    return parse(body, timesteps, maxImages, seeds, 0);
  }

  /**
   * @param body the request's body, as UTF-8 text
   * @param timesteps the model's number of timesteps T: DDIM takes at most T steps
   * @param maxImages the most images one request may ask for
   * @param seeds gives the seed of a request that names none
   * @param numClasses the model's classes, 0 for an unconditional model (which refuses {@code "class"})
   * @return the request
   * @throws BadRequestException naming the field at fault, or with no field if the body is not a JSON object
   */
  static SamplesBody parse(String body, int timesteps, int maxImages, LongSupplier seeds, int numClasses) {
    JsonObject json = object(body);
    for (String key : json.keySet()) {
      if (!FIELDS.contains(key)) throw new BadRequestException(key, "unknown field \"" + key + "\"; the fields are " + String.join(", ", FIELDS));
    }
    int n = json.has("n") ? (int) integer(json, "n", 1, maxImages) : 1;
    long seed = json.has("seed") ? integer(json, "seed", Long.MIN_VALUE, Long.MAX_VALUE) : seeds.getAsLong();
    SamplerType sampler = json.has("sampler") ? choice(json, "sampler", SamplerType.values()) : SamplerType.DDIM;
    if (sampler == SamplerType.ANCESTRAL) {
      for (String ddimOnly : List.of("steps", "eta")) {
        if (json.has(ddimOnly)) {
          String samplers = ddimOnly.equals("eta") ? "ddim" : "ddim or dpm-solver++";
          throw new BadRequestException(ddimOnly, ddimOnly + " applies to sampler " + samplers + " only: ancestral sampling runs all T = "
              + timesteps + " steps");
        }
      }
    }
    if (sampler == SamplerType.DPM_SOLVER && json.has("eta")) {
      throw new BadRequestException("eta", "eta applies to sampler ddim only: dpm-solver++ is deterministic");
    }
    int maxSteps = sampler.maxSamplingSteps(timesteps);
    int steps = json.has("steps") ? (int) integer(json, "steps", 1, maxSteps) : Math.min(DEFAULT_STEPS, maxSteps);
    double eta = json.has("eta") ? eta(json) : 0.0;
    Output output = json.has("output") ? choice(json, "output", Output.values()) : Output.GRID;
    if (output == Output.PNG && n != 1) {
      throw new BadRequestException("output", "output \"png\" answers with one image, so n must be 1 (got " + n + "); ask for \"grid\" to get "
          + n + " images in one PNG");
    }
    SampleRequest request = new SampleRequest(n, seed, sampler, sampler.hasSteps() ? steps : 0, eta);
    if (json.has("class")) {
      if (numClasses == 0) throw new BadRequestException("class", "class applies to a class-conditional model, and this one is unconditional");
      int label = (int) integer(json, "class", 0, numClasses - 1);
      request = request.withClass(label, json.has("guidance") ? guidance(json) : DEFAULT_GUIDANCE);
    } else if (json.has("guidance")) {
      throw new BadRequestException("guidance", "guidance applies to a request with a class");
    }
    return new SamplesBody(request, output);
  }

  /** @return the body as a JSON object without nulls; an empty body as an empty object */
  private static JsonObject object(String body) {
    if (body.isBlank()) return new JsonObject();
    JsonElement root;
    try (JsonReader reader = new JsonReader(new StringReader(body))) {
      reader.setStrictness(Strictness.STRICT);
      root = JsonParser.parseReader(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) throw new BadRequestException(null, "malformed JSON: more data after the object");
    } catch (JsonParseException | IOException | IllegalStateException e) {
      // Gson wraps the reader's exception and takes its class name into the message: keep the reader's own words
      Throwable cause = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
      throw new BadRequestException(null, "malformed JSON: " + cause.getMessage());
    }
    if (!root.isJsonObject()) throw new BadRequestException(null, "the body must be a JSON object, like {\"n\": 4, \"steps\": 50}");
    JsonObject json = root.getAsJsonObject();
    json.entrySet().removeIf(e -> e.getValue().isJsonNull());
    return json;
  }

  private static long integer(JsonObject json, String field, long min, long max) {
    JsonElement e = json.get(field);
    String range = min == Long.MIN_VALUE ? "a 64-bit integer" : "an integer in " + min + ".." + max;
    if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
      try {
        BigDecimal v = new BigDecimal(e.getAsString());
        BigDecimal whole = v.stripTrailingZeros();
        if (whole.scale() <= 0 && v.compareTo(BigDecimal.valueOf(min)) >= 0 && v.compareTo(BigDecimal.valueOf(max)) <= 0) {
          return v.longValueExact();
        }
      } catch (NumberFormatException | ArithmeticException ignored) {
        // falls through to the message below
      }
    }
    throw new BadRequestException(field, field + " must be " + range + ", got " + e);
  }

  private static double eta(JsonObject json) {
    JsonElement e = json.get("eta");
    if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
      double eta = e.getAsDouble();
      if (eta >= 0 && Double.isFinite(eta)) return eta;
    }
    throw new BadRequestException("eta", "eta must be a finite number >= 0 (0: deterministic DDIM), got " + e);
  }

  private static double guidance(JsonObject json) {
    JsonElement e = json.get("guidance");
    if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
      double w = e.getAsDouble();
      if (w >= 0 && Double.isFinite(w)) return w;
    }
    throw new BadRequestException("guidance", "guidance must be a finite number >= 0 (0: unconditional, 1: conditional, > 1: guided), got " + e);
  }

  private static <E extends Enum<E>> E choice(JsonObject json, String field, E[] values) {
    JsonElement e = json.get(field);
    if (e instanceof JsonPrimitive p && p.isString()) {
      for (E v : values) if (v.toString().equals(p.getAsString())) return v;
    }
    StringBuilder names = new StringBuilder();
    for (E v : values) names.append(names.isEmpty() ? "" : ", ").append('"').append(v).append('"');
    throw new BadRequestException(field, field + " must be one of " + names + ", got " + e);
  }
}
