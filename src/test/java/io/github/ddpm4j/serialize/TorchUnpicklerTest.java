package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.serialize.TorchUnpickler.TensorSpec;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The restricted unpickler: what a state dict needs loads; everything else is refused without side effects. */
class TorchUnpicklerTest extends TorchTestBase {
  @TempDir Path dir;

  private static Object run(byte[] pickle) throws CorruptFileException {
    return new TorchUnpickler(pickle, "test.pt").run();
  }

  private static CorruptFileException refused(byte[] pickle) {
    return assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(CorruptFileException.class, () -> run(pickle)));
  }

  @Test
  void stateDictPickleGivesTensorSpecsInOrder() throws CorruptFileException {
    byte[] p = new PickleBytes().proto(2).orderedDict().mark()
        .str("b").tensor("DoubleStorage", "0", 6, 1, new long[] {2, 2}, new long[] {1, 3})
        .str("a").tensor("BoolStorage", "1", 1, 0, new long[] {}, new long[] {})
        .op('u').stop().bytes();
    Object root = run(p);
    Map<?, ?> m = assertInstanceOf(Map.class, root);
    assertEquals(List.of("b", "a"), List.copyOf(m.keySet()));
    TensorSpec b = (TensorSpec) m.get("b");
    assertEquals(DType.FLOAT64, b.storage().dtype());
    assertEquals(6, b.storage().numel());
    assertEquals(1, b.offset());
    assertArrayEquals(new long[] {2, 2}, b.size());
    assertArrayEquals(new long[] {1, 3}, b.stride());
    assertFalse(b.requiresGrad());
    assertEquals(DType.BOOL, ((TensorSpec) m.get("a")).storage().dtype());
  }

  @Test
  void orderedDictMetadataIsAccepted() throws CorruptFileException {
    // What state_dict() pickles after its items: BUILD with {'_metadata': OrderedDict({'': {'version': 1}})}.
    byte[] p = new PickleBytes().proto(2).orderedDict().op('}').str("_metadata").orderedDict()
        .str("").op('}').str("version").integer(1).op('s').op('s').op('s').op('b').stop().bytes();
    assertTrue(((Map<?, ?>) run(p)).isEmpty());
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "os system", "builtins eval", "builtins getattr", "posix system", "subprocess Popen",
    "torch.storage _load_from_bytes", "torch._utils _rebuild_tensor", "torch.nn.parameter Parameter",
    "torch Tensor", "numpy.core.multiarray _reconstruct",
    // Globals that Pyrolite would otherwise build into Java objects on its own:
    "datetime datetime", "__builtin__ complex", "decimal Decimal", "builtins ValueError", "exceptions Exception",
    "copy_reg _reconstructor", "array array", "builtins bytearray", "builtins set", "_codecs encode", "__main__ Evil",
  })
  void globalsOutsideTheAllowListAreRefused(String global) {
    String[] mn = global.split(" ");
    byte[] p = new PickleBytes().proto(2).global(mn[0], mn[1]).str("x").op(0x85).reduce().stop().bytes();
    CorruptFileException e = refused(p);
    ForbiddenGlobalException f = assertInstanceOf(ForbiddenGlobalException.class, e);
    assertEquals(mn[0] + "." + mn[1], f.global());
    assertTrue(e.getMessage().contains("'" + mn[0] + "." + mn[1] + "'"), e.getMessage());
  }

  @Test
  void stackGlobalIsCheckedToo() {
    byte[] p = new PickleBytes().proto(4).str("os").str("system").op(0x93).str("id").op(0x85).reduce().stop().bytes();
    assertEquals("os.system", assertInstanceOf(ForbiddenGlobalException.class, refused(p)).global());
  }

  @Test
  void instantiatingOpcodesAndMethodCallsAreRefused() {
    // INST names a class inline; OBJ takes one from the stack; BUILD calls __setstate__.
    assertTrue(refused(new PickleBytes().mark().op('i').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).stop().bytes())
        .getMessage().contains("INST"));
    assertTrue(refused(new PickleBytes().mark().global("collections", "OrderedDict").op('o').stop().bytes()).getMessage().contains("OBJ"));
    assertTrue(refused(new PickleBytes().op(']').op('}').op('b').stop().bytes()).getMessage().contains("BUILD"));
    assertTrue(refused(new PickleBytes().global("torch", "FloatStorage").emptyTuple().reduce().stop().bytes()).getMessage()
        .contains("cannot be called"));
    assertTrue(refused(new PickleBytes().proto(2).global("collections", "OrderedDict").str("x").op(0x85).reduce().stop().bytes())
        .getMessage().contains("OrderedDict"));
  }

  @Test
  void forgedLengthPrefixesAreRefusedBeforeAllocating() {
    for (int op : new int[] {'X', 'B', 'T', 0x8b}) {
      byte[] p = new PickleBytes().op(op).raw((byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f).stop().bytes();
      assertTrue(refused(p).getMessage().contains("length prefix"), "opcode " + op);
    }
    for (int op : new int[] {0x8d, 0x8e, 0x96}) {
      byte[] p = new PickleBytes().op(op).raw(new byte[] {0, 0, 0, 0, 0, 0, 0, 0x40}).stop().bytes();
      assertTrue(refused(p).getMessage().contains("length prefix"), "opcode " + op);
    }
    refused(new PickleBytes().op('X').raw((byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff).stop().bytes()); // negative
  }

  @Test
  void unhashableAndSelfContainingKeysAreRefused() {
    // A list that contains itself, used as a dict key: hashing it would recurse without end.
    byte[] p = new PickleBytes().op('}').op(']').op('q').op(0).op('h').op(0).op('a').op('N').op('s').stop().bytes();
    assertTrue(refused(p).getMessage().contains("unhashable"));
    byte[] set = new PickleBytes().op(0x8f).mark().op('}').op(0x90).stop().bytes();
    assertTrue(refused(set).getMessage().contains("unhashable"));
  }

  @Test
  void deepNestingNeitherRecursesNorFails() throws CorruptFileException {
    int depth = 200_000;
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i < depth; i++) b.write(']');
    for (int i = 1; i < depth; i++) b.write('a');
    b.write('.');
    Object root = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> run(b.toByteArray()));
    assertInstanceOf(List.class, root);
  }

  @Test
  void opcodeCountIsLimited() {
    byte[] p = new byte[(int) TorchUnpickler.MAX_OPCODES + 2];
    Arrays.fill(p, (byte) 'N');
    p[p.length - 1] = '.';
    assertTrue(refused(p).getMessage().contains("opcodes"));
  }

  @Test
  void longTextArgumentsAreRefused() {
    byte[] digits = new byte[TorchUnpickler.MAX_LINE + 10];
    Arrays.fill(digits, (byte) '7');
    byte[] p = new PickleBytes().op('L').raw(digits).raw((byte) 'L', (byte) '\n').stop().bytes();
    assertTrue(refused(p).getMessage().contains("text argument"));
    byte[] name = new byte[TorchUnpickler.MAX_LINE + 10];
    Arrays.fill(name, (byte) 'a');
    assertTrue(refused(new PickleBytes().op('c').raw(name).stop().bytes()).getMessage().contains("GLOBAL"));
  }

  @Test
  void malformedPersistentIdsAndTensorArgumentsAreRefused() {
    assertTrue(refused(new PickleBytes().str("x").op('Q').stop().bytes()).getMessage().contains("persistent id"));
    byte[] twoTypes = new PickleBytes().proto(2).op('}').mark()
        .str("a").tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
        .str("b").tensor("IntStorage", "0", 4, 0, new long[] {4}, new long[] {1}).op('u').stop().bytes();
    assertTrue(refused(twoTypes).getMessage().contains("different types or sizes"));
    byte[] negative = new PickleBytes().proto(2).op('}').str("a")
        .tensor("FloatStorage", "0", 4, 0, new long[] {-1}, new long[] {1}).op('s').stop().bytes();
    assertTrue(refused(negative).getMessage().contains("negative"));
    byte[] overflow = new PickleBytes().proto(2).op('}').str("a")
        .tensor("FloatStorage", "0", 4, 0, new long[] {1L << 40, 1L << 40}, new long[] {1, 1}).op('s').stop().bytes();
    assertTrue(refused(overflow).getMessage().contains("overflows"));
    byte[] tooFar = new PickleBytes().proto(2).op('}').str("a")
        .tensor("FloatStorage", "0", 4, 0, new long[] {2, 2}, new long[] {1, 3}).op('s').stop().bytes();
    assertTrue(refused(tooFar).getMessage().contains("reaches past"));
    byte[] expanded = new PickleBytes().proto(2).op('}').str("a")
        .tensor("FloatStorage", "0", 4, 0, new long[] {1L << 40}, new long[] {0}).op('s').stop().bytes();
    assertTrue(refused(expanded).getMessage().contains("overlaps itself"));
    byte[] badArgs = new PickleBytes().proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().integer(1).tuple().reduce()
        .stop().bytes();
    assertTrue(refused(badArgs).getMessage().contains("_rebuild_tensor_v2 expects"));
  }

  @Test
  void truncatedAndGarbagePicklesAreCorruptNotCrashes() {
    byte[] good = new PickleBytes().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('u').stop().bytes();
    for (int n = 0; n < good.length; n++) refused(Arrays.copyOf(good, n));
    refused(new byte[] {(byte) 0xff});
    refused(new PickleBytes().proto(9).stop().bytes());
    refused(new PickleBytes().op('0').stop().bytes()); // POP on an empty stack
  }

  @Test
  void pytorchReaderReportsForbiddenGlobalsWithTheFileName() throws Exception {
    byte[] p = new PickleBytes().proto(2).global("os", "system").str("echo owned").op(0x85).reduce().stop().bytes();
    Path file = dir.resolve("evil.pt");
    Files.write(file, TorchZip.archive(p, Map.of()).bytes());
    ForbiddenGlobalException e = assertThrows(ForbiddenGlobalException.class, () -> StateDict.loadPyTorch(file));
    assertEquals("os.system", e.global());
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
  }
}
