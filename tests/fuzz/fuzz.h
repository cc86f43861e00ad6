/*
 * fuzz.h - the fuzz targets: one function per parser, each taking one
 * input and checking its properties (a violated one aborts).  `make fuzz`
 * links each into a libFuzzer binary (FUZZ_LIBFUZZER); the check_fuzz
 * suite replays the corpus in tests/fuzz/corpus/NAME through the same
 * functions on every `make check`, without libFuzzer.
 */
#ifndef VOMO_FUZZ_H
#define VOMO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int fuzz_page(const uint8_t *data, size_t size);
int fuzz_ts(const uint8_t *data, size_t size);
int fuzz_retry_after(const uint8_t *data, size_t size);
int fuzz_ini(const uint8_t *data, size_t size);
int fuzz_log(const uint8_t *data, size_t size);

/* Reports a broken property with the input's size and aborts. */
void fuzz_fail(const char *target, const char *what) __attribute__((noreturn));
/* A NUL-terminated heap copy of the input (the caller frees it). */
char *fuzz_string(const uint8_t *data, size_t size);

#ifdef FUZZ_LIBFUZZER
#define FUZZ_ENTRY(fn)                                                                             \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        return fn(data, size);                                                                     \
    }
#else
#define FUZZ_ENTRY(fn)
#endif

#endif
