// TinyOpt target runner: one firmware per target and kernel set, for every model.
//
// Reads model.tflite and input.bin (and arena.txt, an arena size to use instead of the largest)
// from the host's working directory through semihosting, so
// measuring a model needs no cross-compile. For each sample it fills every input tensor, invokes,
// and appends every output tensor to output.bin. It prints the arena TFLM used and, for the first
// sample, the operators in the order they ran. tinyopt_mark() is called around each Invoke and
// each operator: the QEMU plugin (../plugin/insn_count.c) records the instruction count at every
// call, so the host gets exact instructions per inference and per operator.
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

#ifndef MODEL_MAX
#define MODEL_MAX (1536 * 1024)
#endif
#ifndef ARENA_MAX
#define ARENA_MAX (1536 * 1024)
#endif

namespace {

constexpr int kOps = 103;
constexpr int kMaxEvents = 1024;

// The model buffer lives in its own section: the linker script places it where there is room.
__attribute__((section(".model_buffer"), aligned(16))) uint8_t g_model[MODEL_MAX];
alignas(16) uint8_t g_arena[ARENA_MAX];

}  // namespace

// The plugin watches the first instruction of this function; it must stay a real call.
extern "C" __attribute__((noinline, used)) void tinyopt_mark(void) { __asm volatile("nop" ::: "memory"); }

namespace {

class MarkProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override {
    if (!active) return 0;
    if (record && events < kMaxEvents) tags[events] = tag;
    events++;
    tinyopt_mark();
    return 0;
  }
  void EndEvent(uint32_t) override {
    if (active) tinyopt_mark();
  }
  bool active = false;
  bool record = true;  // tags of the first sample only; every sample is marked
  int events = 0;
  const char* tags[kMaxEvents];
};

void LogToHost(const char* s) { fputs(s, stdout); }

bool AddOps(tflite::MicroMutableOpResolver<kOps>& r) {
  bool ok = true;
  ok &= r.AddAbs() == kTfLiteOk;
  ok &= r.AddAdd() == kTfLiteOk;
  ok &= r.AddAddN() == kTfLiteOk;
  ok &= r.AddArgMax() == kTfLiteOk;
  ok &= r.AddArgMin() == kTfLiteOk;
  ok &= r.AddAssignVariable() == kTfLiteOk;
  ok &= r.AddAveragePool2D() == kTfLiteOk;
  ok &= r.AddBatchMatMul() == kTfLiteOk;
  ok &= r.AddBatchToSpaceNd() == kTfLiteOk;
  ok &= r.AddBroadcastArgs() == kTfLiteOk;
  ok &= r.AddBroadcastTo() == kTfLiteOk;
  ok &= r.AddCallOnce() == kTfLiteOk;
  ok &= r.AddCast() == kTfLiteOk;
  ok &= r.AddCeil() == kTfLiteOk;
  ok &= r.AddCircularBuffer() == kTfLiteOk;
  ok &= r.AddConcatenation() == kTfLiteOk;
  ok &= r.AddConv2D() == kTfLiteOk;
  ok &= r.AddCos() == kTfLiteOk;
  ok &= r.AddCumSum() == kTfLiteOk;
  ok &= r.AddDecode() == kTfLiteOk;
  ok &= r.AddDepthToSpace() == kTfLiteOk;
  ok &= r.AddDepthwiseConv2D() == kTfLiteOk;
  ok &= r.AddDequantize() == kTfLiteOk;
  ok &= r.AddDetectionPostprocess() == kTfLiteOk;
  ok &= r.AddDiv() == kTfLiteOk;
  ok &= r.AddDynamicUpdateSlice() == kTfLiteOk;
  ok &= r.AddEmbeddingLookup() == kTfLiteOk;
  ok &= r.AddElu() == kTfLiteOk;
  ok &= r.AddEqual() == kTfLiteOk;
  ok &= r.AddExp() == kTfLiteOk;
  ok &= r.AddExpandDims() == kTfLiteOk;
  ok &= r.AddFill() == kTfLiteOk;
  ok &= r.AddFloor() == kTfLiteOk;
  ok &= r.AddFloorDiv() == kTfLiteOk;
  ok &= r.AddFloorMod() == kTfLiteOk;
  ok &= r.AddFullyConnected() == kTfLiteOk;
  ok &= r.AddGather() == kTfLiteOk;
  ok &= r.AddGatherNd() == kTfLiteOk;
  ok &= r.AddGreater() == kTfLiteOk;
  ok &= r.AddGreaterEqual() == kTfLiteOk;
  ok &= r.AddHardSwish() == kTfLiteOk;
  ok &= r.AddIf() == kTfLiteOk;
  ok &= r.AddL2Normalization() == kTfLiteOk;
  ok &= r.AddL2Pool2D() == kTfLiteOk;
  ok &= r.AddLeakyRelu() == kTfLiteOk;
  ok &= r.AddLess() == kTfLiteOk;
  ok &= r.AddLessEqual() == kTfLiteOk;
  ok &= r.AddLog() == kTfLiteOk;
  ok &= r.AddLogicalAnd() == kTfLiteOk;
  ok &= r.AddLogicalNot() == kTfLiteOk;
  ok &= r.AddLogicalOr() == kTfLiteOk;
  ok &= r.AddLogistic() == kTfLiteOk;
  ok &= r.AddLogSoftmax() == kTfLiteOk;
  ok &= r.AddMaximum() == kTfLiteOk;
  ok &= r.AddMaxPool2D() == kTfLiteOk;
  ok &= r.AddMirrorPad() == kTfLiteOk;
  ok &= r.AddMean() == kTfLiteOk;
  ok &= r.AddMinimum() == kTfLiteOk;
  ok &= r.AddMul() == kTfLiteOk;
  ok &= r.AddNeg() == kTfLiteOk;
  ok &= r.AddNotEqual() == kTfLiteOk;
  ok &= r.AddPack() == kTfLiteOk;
  ok &= r.AddPad() == kTfLiteOk;
  ok &= r.AddPadV2() == kTfLiteOk;
  ok &= r.AddPrelu() == kTfLiteOk;
  ok &= r.AddQuantize() == kTfLiteOk;
  ok &= r.AddReadVariable() == kTfLiteOk;
  ok &= r.AddReduceAll() == kTfLiteOk;
  ok &= r.AddReduceMax() == kTfLiteOk;
  ok &= r.AddReduceMin() == kTfLiteOk;
  ok &= r.AddRelu() == kTfLiteOk;
  ok &= r.AddRelu6() == kTfLiteOk;
  ok &= r.AddReshape() == kTfLiteOk;
  ok &= r.AddResizeBilinear() == kTfLiteOk;
  ok &= r.AddResizeNearestNeighbor() == kTfLiteOk;
  ok &= r.AddReverseV2() == kTfLiteOk;
  ok &= r.AddRound() == kTfLiteOk;
  ok &= r.AddRsqrt() == kTfLiteOk;
  ok &= r.AddSelectV2() == kTfLiteOk;
  ok &= r.AddShape() == kTfLiteOk;
  ok &= r.AddSin() == kTfLiteOk;
  ok &= r.AddSlice() == kTfLiteOk;
  ok &= r.AddSoftmax() == kTfLiteOk;
  ok &= r.AddSpaceToBatchNd() == kTfLiteOk;
  ok &= r.AddSpaceToDepth() == kTfLiteOk;
  ok &= r.AddSplit() == kTfLiteOk;
  ok &= r.AddSplitV() == kTfLiteOk;
  ok &= r.AddSqueeze() == kTfLiteOk;
  ok &= r.AddSqrt() == kTfLiteOk;
  ok &= r.AddSquare() == kTfLiteOk;
  ok &= r.AddSquaredDifference() == kTfLiteOk;
  ok &= r.AddStridedSlice() == kTfLiteOk;
  ok &= r.AddSub() == kTfLiteOk;
  ok &= r.AddSum() == kTfLiteOk;
  ok &= r.AddSvdf() == kTfLiteOk;
  ok &= r.AddTanh() == kTfLiteOk;
  ok &= r.AddTransposeConv() == kTfLiteOk;
  ok &= r.AddTranspose() == kTfLiteOk;
  ok &= r.AddUnpack() == kTfLiteOk;
  ok &= r.AddUnidirectionalSequenceLSTM() == kTfLiteOk;
  ok &= r.AddVarHandle() == kTfLiteOk;
  ok &= r.AddWhile() == kTfLiteOk;
  ok &= r.AddZerosLike() == kTfLiteOk;
  return ok;
}

long ReadFile(const char* name, uint8_t* dst, long max) {
  FILE* f = fopen(name, "rb");
  if (!f) return -1;
  long n = static_cast<long>(fread(dst, 1, max, f));
  int extra = fgetc(f);
  fclose(f);
  return extra == EOF ? n : -2;
}

}  // namespace

int main() {
  RegisterDebugLogCallback(LogToHost);
  long size = ReadFile("model.tflite", g_model, MODEL_MAX);
  if (size == -2) {
    printf("error model larger than the runner's %d-byte model buffer\n", MODEL_MAX);
    return 2;
  }
  if (size <= 0) {
    printf("error cannot read model.tflite\n");
    return 2;
  }
  const tflite::Model* model = tflite::GetModel(g_model);
  static tflite::MicroMutableOpResolver<kOps> resolver;
  if (!AddOps(resolver)) {
    printf("error op resolver\n");
    return 2;
  }
  size_t arena_size = ARENA_MAX;
  if (FILE* a = fopen("arena.txt", "r")) {  // checking that a model loads at a given arena size
    unsigned long wanted = 0;
    if (fscanf(a, "%lu", &wanted) == 1 && wanted > 0 && wanted < ARENA_MAX) arena_size = wanted;
    fclose(a);
  }
  printf("arena_size %u\n", static_cast<unsigned>(arena_size));
  static MarkProfiler profiler;
  static tflite::MicroInterpreter interpreter(model, resolver, g_arena, arena_size, nullptr, &profiler);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    printf("error AllocateTensors failed\n");
    return 3;
  }
  printf("arena_used %u\n", static_cast<unsigned>(interpreter.arena_used_bytes()));
  size_t in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < interpreter.inputs_size(); i++) in_bytes += interpreter.input(i)->bytes;
  for (size_t i = 0; i < interpreter.outputs_size(); i++) out_bytes += interpreter.output(i)->bytes;
  printf("io %u %u %u %u\n", static_cast<unsigned>(interpreter.inputs_size()), static_cast<unsigned>(in_bytes),
         static_cast<unsigned>(interpreter.outputs_size()), static_cast<unsigned>(out_bytes));
  FILE* in = fopen("input.bin", "rb");
  FILE* out = fopen("output.bin", "wb");
  if (!in || !out) {
    printf("error cannot open input.bin or output.bin\n");
    return 2;
  }
  int samples = 0;
  for (;;) {
    bool complete = true;
    for (size_t i = 0; i < interpreter.inputs_size() && complete; i++) {
      TfLiteTensor* t = interpreter.input(i);
      complete = fread(t->data.raw, 1, t->bytes, in) == t->bytes;
    }
    if (!complete) break;
    profiler.active = true;
    tinyopt_mark();
    TfLiteStatus status = interpreter.Invoke();
    tinyopt_mark();
    profiler.active = false;
    profiler.record = false;
    if (status != kTfLiteOk) {
      printf("error Invoke failed on sample %d\n", samples);
      return 4;
    }
    for (size_t i = 0; i < interpreter.outputs_size(); i++) {
      TfLiteTensor* t = interpreter.output(i);
      fwrite(t->data.raw, 1, t->bytes, out);
    }
    samples++;
  }
  fclose(in);
  fclose(out);
  int shown = profiler.events < kMaxEvents ? profiler.events : kMaxEvents;
  if (samples > 0) {
    int per_sample = profiler.events / samples;
    for (int i = 0; i < per_sample && i < shown; i++) printf("op %d %s\n", i, profiler.tags[i]);
  }
  printf("samples %d\n", samples);
  printf("done\n");
  return 0;
}
