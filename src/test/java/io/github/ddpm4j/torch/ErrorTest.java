package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every error path: exception type, failing function and message; the library keeps working after each. */
class ErrorTest extends TorchTestBase {

  private static TorchException torchError(String function, String messagePart, Executable call) {
    return torchError(function, new String[] {messagePart}, call);
  }

  /**
   * @param messageParts LibTorch's wording, any one of which the message must contain: where
   *     LibTorch 1.13 and 2.x word an error differently, the first is 1.13's
   */
  private static TorchException torchError(String function, String[] messageParts, Executable call) {
    TorchException e = assertThrows(TorchException.class, call);
    assertEquals(function, e.function());
    assertTrue(java.util.Arrays.stream(messageParts).anyMatch(e.torchMessage()::contains),
        "message of " + function + ": " + e.torchMessage());
    assertEquals(function + ": " + e.torchMessage(), e.getMessage());
    assertFalse(e.torchMessage().contains("Exception raised from"), "no C++ backtrace: " + e.torchMessage());
    assertStillWorks();
    return e;
  }

  private static void assertStillWorks() {
    try (Scope s = Scope.open()) {
      Tensor a = Torch.tensor(new double[] {1, 2, 3, 4}, 2, 2);
      assertArrayEquals(new double[] {7, 10, 15, 22}, a.matmul(a).toDoubleArray());
    }
  }

  @Test
  void mismatchedMatmulShapes() {
    TorchException e = torchError("dd_matmul", "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
        () -> Torch.zeros(2, 3).matmul(Torch.zeros(4, 5)));
    assertEquals(TorchException.Kind.TORCH, e.kind());
    assertEquals("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", e.torchMessage());
  }

  @Test
  void otherShapeErrors() {
    torchError("dd_bmm", "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]",
        () -> Torch.zeros(2, 3, 4).bmm(Torch.zeros(2, 5, 2)));
    torchError("dd_binary", "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        () -> Torch.zeros(2, 3).add(Torch.zeros(4)));
    torchError("dd_cat", "Sizes of tensors must match except in dimension 0",
        () -> Torch.cat(List.of(Torch.zeros(2, 3), Torch.zeros(2, 4)), 0));
    torchError("dd_stack", "stack expects each tensor to be equal size",
        () -> Torch.stack(List.of(Torch.zeros(2), Torch.zeros(3)), 0));
    torchError("dd_shape", "shape '[5]' is invalid for input of size 6", () -> Torch.zeros(2, 3).view(5));
    torchError("dd_shape", "shape '[4, -1]' is invalid for input of size 6", () -> Torch.zeros(2, 3).reshape(4, -1));
    torchError("dd_select", "select(): index 5 out of range for tensor of size [3] at dimension 0",
        () -> Torch.zeros(3).select(0, 5));
    torchError("dd_shape", "permute", () -> Torch.zeros(2, 3).permute(0, 0));
    torchError("dd_shape", "The expanded size of the tensor (4) must match the existing size (3)",
        () -> Torch.zeros(3).expand(2, 4));
    torchError("dd_einsum", "einsum(): fewer operands were provided than specified in the equation",
        () -> Torch.einsum("ij,jk->ik", Torch.zeros(2, 3)));
    torchError("dd_slice", "slice step must be positive", () -> Torch.zeros(4).slice(0, 0, 4, 0));
    torchError("dd_squeeze", "Dimension out of range", () -> Torch.zeros(2).squeeze(3));
    torchError("dd_softmax", "Dimension out of range", () -> Torch.zeros(2).softmax(2));
    torchError("dd_reduce", "Dimension out of range", () -> Torch.zeros(2).sum(5));
    torchError("dd_reduce", "a dimension appears twice in dims", () -> Torch.zeros(2, 2).prod(new long[] {1, -1}, false));
    torchError("dd_copy_", "must match the size", () -> Torch.zeros(3).copy_(Torch.zeros(4)));
    torchError("dd_masked_fill", "The size of tensor a (3) must match the size of tensor b (2)",
        () -> Torch.zeros(2).maskedFill(Torch.zeros(new long[] {3}, DType.BOOL, Device.CPU), 1));
    torchError("dd_item_double", "a Tensor with 6 elements cannot be converted to Scalar", () -> Torch.zeros(2, 3).item());
    torchError("dd_item_int64", "a Tensor with 0 elements cannot be converted to Scalar", () -> Torch.zeros(0).itemLong());
  }

  @Test
  void wrongDtypes() {
    torchError("dd_randn", "\"normal_kernel_cpu\" not implemented for 'Long'",
        () -> Torch.randn(new long[] {3}, DType.INT64, Device.CPU, null));
    torchError("dd_rand", "\"check_uniform_bounds\" not implemented for 'Bool'", () -> Torch.rand(new long[] {3}, DType.BOOL, Device.CPU, null));
    torchError("dd_index_select", "index_select(): Expected dtype int32 or int64 for index",
        () -> Torch.zeros(3).indexSelect(0, Torch.zeros(1)));
    torchError("dd_gather", new String[] {"gather(): Expected dtype int64 for index", "gather(): Expected dtype int32/int64 for index"},
        () -> Torch.zeros(2, 2).gather(1, Torch.zeros(2, 2)));
    torchError("dd_where", "where expected condition to be a boolean tensor, but got a tensor with dtype Float",
        () -> Torch.where(Torch.zeros(2), Torch.zeros(2), Torch.ones(2)));
    torchError("dd_matmul", new String[] {"expected scalar type Float but found Double",
        "expected m1 and m2 to have the same dtype, but got: float != double"},
        () -> Torch.zeros(2, 2).matmul(Torch.zeros(new long[] {2, 2}, DType.FLOAT64, Device.CPU)));
  }

  @Test
  void indexOutOfRange() {
    torchError("dd_index_select", "out of range", () -> Torch.zeros(3).indexSelect(0, Torch.tensor(new long[] {3}, 1)));
    torchError("dd_gather", "index 5 is out of bounds for dimension 1 with size 2",
        () -> Torch.zeros(2, 2).gather(1, Torch.tensor(new long[] {0, 5, 1, 1}, 2, 2)));
  }

  @Test
  void cudaRequestedWithoutCuda() {
    assumeFalse(Torch.cudaIsAvailable(), "CUDA is available here; CudaTest covers it");
    String absent = "CUDA was requested but is not available";
    Device gpu = Device.cuda(0);
    TorchException e = torchError("dd_full", absent, () -> Torch.zeros(new long[] {2}, DType.FLOAT32, gpu));
    assertEquals(TorchException.Kind.ARGUMENT, e.kind());
    assertTrue(e.getMessage().contains("CUDA"));
    torchError("dd_empty", absent, () -> Torch.empty(new long[] {2}, DType.FLOAT32, gpu));
    torchError("dd_randn", absent, () -> Torch.randn(new long[] {2}, DType.FLOAT32, gpu, null));
    torchError("dd_arange", absent, () -> Torch.arange(0, 3, 1, DType.FLOAT32, gpu));
    torchError("dd_to", absent, () -> Torch.zeros(2).to(gpu));
    torchError("dd_generator_new", absent, () -> new Generator(1, gpu));
    torchError("dd_cuda_synchronize", absent, () -> Torch.cudaSynchronize(gpu));
    assertEquals(0, Torch.cudaDeviceCount());
  }

  @Test
  void negativeShapesAreRejectedInJava() {
    long live = Torch.liveHandles();
    List<Executable> calls = List.of(
        () -> Torch.zeros(-1),
        () -> Torch.zeros(2, -3),
        () -> Torch.ones(-2),
        () -> Torch.full(new long[] {-1}, 1),
        () -> Torch.empty(new long[] {3, -1}, DType.FLOAT32, Device.CPU),
        () -> Torch.randn(-4),
        () -> Torch.rand(-4),
        () -> Torch.randint(0, 3, new long[] {-1}, Device.CPU, null),
        () -> Torch.tensor(new float[0], 0, -1));
    for (Executable c : calls) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c);
      assertTrue(e.getMessage().startsWith("negative dimension -"), e.getMessage());
    }
    assertTrue(Torch.liveHandles() <= live, "no handle was created for a rejected shape");
  }

  @Test
  void otherArgumentsRejectedInJava() {
    IllegalArgumentException r = assertThrows(IllegalArgumentException.class, () -> Torch.randint(3, 3, new long[] {1}, Device.CPU, null));
    assertEquals("randint needs low < high, got low=3 high=3", r.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Torch.randperm(-1, Device.CPU, null));
    assertThrows(IllegalArgumentException.class, () -> Torch.arange(0, 1, 0, DType.FLOAT32, Device.CPU));
    assertThrows(IllegalArgumentException.class, () -> Torch.linspace(0, 1, -1));
    assertThrows(IllegalArgumentException.class, () -> Torch.zeros(4).chunk(0, 0));
    assertThrows(IllegalArgumentException.class, () -> Torch.cat(List.of(), 0));
    assertThrows(IllegalArgumentException.class, () -> Torch.stack(List.of(), 0));
    assertThrows(IllegalArgumentException.class, () -> Torch.cudaSynchronize(Device.CPU));
    IllegalArgumentException count = assertThrows(IllegalArgumentException.class, () -> Torch.tensor(new float[5], 2, 3));
    assertEquals("shape [2, 3] holds 6 elements but the array has 5", count.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Torch.tensor(new long[2], 3));
    assertThrows(IllegalArgumentException.class, () -> Torch.tensor(new boolean[2], 1));
  }

  @Test
  void errorsOnVirtualThreadsReachTheirOwnThread() throws Exception {
    int threads = 48;
    int rounds = 8;
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Integer>> results = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < threads; i++) {
        final int id = i;
        results.add(pool.submit(() -> {
          go.await();
          int failures = 0;
          for (int r = 0; r < rounds; r++) {
            try (Scope s = Scope.open()) {
              if ((id + r) % 3 == 0) {
                Tensor a = Torch.zeros(2, id + 3);
                Tensor b = Torch.zeros(id + 4, 2);
                TorchException e = assertThrows(TorchException.class, () -> a.matmul(b));
                assertEquals("dd_matmul", e.function());
                assertEquals("mat1 and mat2 shapes cannot be multiplied (2x" + (id + 3) + " and " + (id + 4) + "x2)", e.torchMessage());
                failures++;
              } else if ((id + r) % 3 == 1) {
                Tensor idx = Torch.tensor(new long[] {id + 10}, 1);
                TorchException e = assertThrows(TorchException.class, () -> Torch.zeros(id + 10).indexSelect(0, idx));
                assertEquals("dd_index_select", e.function());
                assertTrue(e.torchMessage().contains("out of range"), e.torchMessage());
                failures++;
              } else {
                Tensor v = Torch.full(new long[] {3}, id).add(r);
                assertEquals(3.0 * (id + r), v.sum().item());
              }
              Thread.yield();
            }
          }
          return failures;
        }));
      }
      go.countDown();
      int total = 0;
      for (Future<Integer> f : results) {
        try {
          total += f.get();
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Error err) throw err;
          throw e;
        }
      }
      int expected = 0;
      for (int id = 0; id < threads; id++) for (int r = 0; r < rounds; r++) if ((id + r) % 3 != 2) expected++;
      assertEquals(expected, total);
    }
    assertStillWorks();
  }

  @Test
  void anErrorDoesNotLeakIntoTheNextCall() {
    assertThrows(TorchException.class, () -> Torch.zeros(2, 3).matmul(Torch.zeros(4, 5)));
    Tensor ok = Torch.ones(2).add(1.0);
    assertArrayEquals(floats(2, 2), ok.toFloatArray());
    TorchException second = assertThrows(TorchException.class, () -> Torch.zeros(3).select(0, 7));
    assertEquals("dd_select", second.function(), "the second error is reported, not the first");
  }
}
