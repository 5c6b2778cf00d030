package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Python's {@code repr(float)}, which the layers' extra repr strings use. */
class ReprTest {
  /** Expected strings are what CPython 3.11 prints for {@code repr(value)}. */
  @ParameterizedTest(name = "repr({0}) = {1}")
  @CsvSource(delimiter = '|', value = {
      "1e-5|1e-05", "1e-6|1e-06", "0.0001|0.0001", "0.001|0.001", "0.1|0.1", "0.25|0.25", "2|2.0", "0|0.0", "-0.0|-0.0",
      "1e15|1000000000000000.0", "1e16|1e+16", "1.5e300|1.5e+300", "123.456|123.456", "-3.5|-3.5", "1.2345e-7|1.2345e-07",
      "0.30000000000000004|0.30000000000000004", "5e-324|5e-324", "12345678.9|12345678.9", "Infinity|inf", "NaN|nan"})
  void formatsLikePython(double value, String expected) {
    assertEquals(expected, Repr.pyFloat(value));
  }
}
