/*
 * What the API tests (the .c files of api/tests) share: a failure count, EXPECT (count a
 * failed condition and go on) and TRY (an elattn call that must succeed, else
 * exit 1 with the library's message).
 */
#ifndef ELATTN_API_TEST_H
#define ELATTN_API_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include <elattn/elattn.h>

static int failures;
#define EXPECT(cond, ...)                                                                                     \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                       \
            printf(__VA_ARGS__);                                                                              \
            printf("\n");                                                                                     \
            ++failures;                                                                                       \
        }                                                                                                     \
    } while (0)
#define TRY(expr)                                                                                             \
    do {                                                                                                      \
        elattn_status st_ = (expr);                                                                           \
        if (st_ != ELATTN_SUCCESS) {                                                                          \
            printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #expr, elattn_last_error());                   \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

#endif /* ELATTN_API_TEST_H */
