// TinyOpt footprint image: what a firmware links to run one model, and nothing else.
//
// Linked per model with the model itself (tinyopt_model, .incbin'd by footprint.S) and an arena of
// the size the model needs, against the target's TFLM library and the operators op_resolver.h
// registers. The link map then splits the image into model data, TFLM framework, kernels and this
// harness. Run on QEMU it paints the free stack, calls RunModel() (construct, AllocateTensors, one
// Invoke on zero inputs) and reports the deepest stack RunModel reached, through semihosting:
// no printf or files, so the C library pieces in the map are the ones TFLM itself needs.
#include <cstddef>
#include <cstdint>
#include <new>

#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

extern "C" {
extern const uint8_t tinyopt_model[];
extern uint8_t tinyopt_arena[];
extern const uint32_t tinyopt_arena_size;
extern uint32_t __StackLimit;
void tinyopt_write(const char* text);  // footprint_start.c
}

namespace {

// TFLM's own objects get a section of their own: the footprint counts them as the runtime's RAM.
__attribute__((section(".bss.tinyopt_runtime"))) alignas(8) uint8_t g_resolver[sizeof(ModelOpResolver)];
__attribute__((section(".bss.tinyopt_runtime"))) alignas(8) uint8_t g_interpreter[sizeof(tflite::MicroInterpreter)];
constexpr uint32_t kPaint = 0x5AC3A55Cu;

void WriteNumber(const char* label, uint32_t value) {
  char text[48];
  int n = 0;
  for (const char* p = label; *p && n < 30; ++p) text[n++] = *p;
  char digits[11];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value && d < 10);
  while (d) text[n++] = digits[--d];
  text[n++] = '\n';
  text[n] = 0;
  tinyopt_write(text);
}

}  // namespace

extern "C" __attribute__((noinline)) int RunModel() {
  auto* resolver = new (g_resolver) ModelOpResolver();
  if (RegisterOps(*resolver) != kTfLiteOk) return 1;
  auto* interpreter = new (g_interpreter)
      tflite::MicroInterpreter(tflite::GetModel(tinyopt_model), *resolver, tinyopt_arena, tinyopt_arena_size);
  if (interpreter->AllocateTensors() != kTfLiteOk) return 2;
  WriteNumber("arena_used ", static_cast<uint32_t>(interpreter->arena_used_bytes()));
  if (interpreter->Invoke() != kTfLiteOk) return 3;
  return 0;
}

int main() {
  uint32_t sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  // Paint everything below this frame: RunModel's frames can only write there.
  uint32_t* const low = &__StackLimit;
  uint32_t* const top = reinterpret_cast<uint32_t*>(sp & ~3u) - 2;
  for (volatile uint32_t* p = low; p < top; ++p) *p = kPaint;
  int status = RunModel();
  const uint32_t* deepest = low;
  while (deepest < top && *deepest == kPaint) ++deepest;
  WriteNumber("stack ", static_cast<uint32_t>(sp - reinterpret_cast<uintptr_t>(deepest)));
  WriteNumber("stack_room ", static_cast<uint32_t>(sp - reinterpret_cast<uintptr_t>(low)));
  WriteNumber("status ", static_cast<uint32_t>(status));
  return status;
}
