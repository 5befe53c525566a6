#ifndef CFUZZ_H
#define CFUZZ_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with `callback` as LLVMFuzzerTestOneInput. SwiftPM links executables with
/// `main` defined as `<Module>_main`, which replaces libFuzzer's own main; each harness defines that symbol and
/// calls this (LLVMFuzzerRunDriver is libFuzzer's entry for that case).
int cfuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
