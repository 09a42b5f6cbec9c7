/* The C API tests' check macros: a failed CHECK prints where and what, counts, and goes on, so
   one run reports every failure; main returns g_failures != 0. One definition per program. */
#ifndef VASDK_TESTS_CAPI_CHECK_H
#define VASDK_TESTS_CAPI_CHECK_H

#include <stdio.h>
#include <string.h>
#include <vasdk/vasdk.h>

static int g_failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                            \
    }                                                                          \
  } while (0)
/* The thread's last error message contains `needle`. */
#define CHECK_MSG_HAS(needle) CHECK(strstr(vas_last_error_message(), needle) != NULL)

#endif
