package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A few ops on cuda:0, checked against the same ops on the CPU. Skipped without CUDA. */
class CudaTest extends TorchTestBase {
  private static final Device GPU = Device.cuda(0);

  @BeforeEach
  void needCuda() {
    assumeTrue(Torch.cudaIsAvailable(), "CUDA is not available (CPU-only LibTorch, or no visible device)");
  }

  private static void assertSameOnCpu(Tensor cpu, Tensor gpu, double tol) {
    assertEquals(GPU, gpu.device());
    assertArrayEquals(cpu.shape(), gpu.shape());
    try (Tensor back = gpu.cpu()) {
      assertEquals(Device.CPU, back.device());
      Fixtures.assertValues("cuda vs cpu", Fixtures.values(cpu), Fixtures.values(back), tol, tol);
    }
  }

  @Test
  void deviceInfo() {
    assertTrue(Torch.cudaDeviceCount() >= 1);
    Torch.cudaSynchronize(GPU);
    TorchException e = assertThrows(TorchException.class,
        () -> Torch.zeros(new long[] {1}, DType.FLOAT32, Device.cuda((int) Torch.cudaDeviceCount())));
    assertTrue(e.torchMessage().contains("is out of range"), e.torchMessage());
  }

  @Test
  void creationOnTheGpu() {
    assertSameOnCpu(Torch.full(new long[] {2, 3}, 1.5), Torch.full(new long[] {2, 3}, 1.5, DType.FLOAT32, GPU), 0);
    assertSameOnCpu(Torch.arange(0, 10, 0.5, DType.FLOAT64, Device.CPU), Torch.arange(0, 10, 0.5, DType.FLOAT64, GPU), 0);
    assertSameOnCpu(Torch.linspace(-1, 1, 9), Torch.linspace(-1, 1, 9, DType.FLOAT32, GPU), 1e-6);
    Tensor r = Torch.randn(new long[] {1000}, DType.FLOAT32, GPU, null);
    assertEquals(GPU, r.device());
    assertEquals(0, r.mean().item(), 0.15);
  }

  @Test
  void mathMatchesTheCpu() {
    Tensor a = Torch.randn(16, 32);
    Tensor b = Torch.randn(32, 8);
    Tensor ga = a.to(GPU), gb = b.to(GPU);
    assertSameOnCpu(a.matmul(b), ga.matmul(gb), 1e-3);
    assertSameOnCpu(a.softmax(1), ga.softmax(1), 1e-5);
    assertSameOnCpu(a.sum(new long[] {0}, true), ga.sum(new long[] {0}, true), 1e-4);
    assertSameOnCpu(a.gelu().add(a.exp()), ga.gelu().add(ga.exp()), 1e-5);
    assertSameOnCpu(a.var(), ga.var(), 1e-4);
    assertSameOnCpu(Torch.cat(List.of(a, a), 0), Torch.cat(List.of(ga, ga), 0), 0);
    assertSameOnCpu(a.to(DType.BFLOAT16), ga.to(DType.BFLOAT16), 0);
    assertSameOnCpu(a.gt(0), ga.gt(0), 0);
  }

  @Test
  void autogradOnTheGpu() {
    Tensor x = Torch.tensor(floats(1, -2, 3), 3).to(GPU).requiresGrad_(true);
    x.mul(x).sum().backward();
    assertSameOnCpu(Torch.tensor(floats(2, -4, 6), 3), x.grad(), 0);
  }

  @Test
  void gpuGeneratorReproduces() {
    try (Generator g = new Generator(5, GPU)) {
      assertEquals(GPU, g.device());
      Tensor state = g.getState();
      Tensor a = Torch.randn(new long[] {64}, DType.FLOAT32, GPU, g).cpu();
      g.setState(state);
      Tensor b = Torch.randn(new long[] {64}, DType.FLOAT32, GPU, g).cpu();
      assertTrue(a.equal(b));
    }
  }

  @Test
  void mixingDevicesAndReadingGpuMemoryFail() {
    Tensor g = Torch.ones(new long[] {2}, DType.FLOAT32, GPU);
    TorchException e = assertThrows(TorchException.class, () -> g.add(Torch.ones(3, 2)));
    assertTrue(e.torchMessage().contains("Expected all tensors to be on the same device"), e.torchMessage());
    IllegalStateException d = assertThrows(IllegalStateException.class, g::data);
    assertTrue(d.getMessage().contains("needs a CPU tensor"), d.getMessage());
    assertThrows(IllegalStateException.class, g::toFloatArray);
    assertEquals(2.0, g.sum().item(), "item copies a GPU scalar back");
  }
}
