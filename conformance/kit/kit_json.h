/*
 * The tools' JSON writer (elattn-bench --json, elattn-conformance --json):
 * escaping, numbers (NaN and inf as null), and commas between the members of
 * nested objects and arrays. Items go on one line, ", " apart, unless the
 * caller asks for a line break (kit_json_newline), which is how each tool keeps
 * its documents' layout: one case or one result a line.
 */
#ifndef ELATTN_KIT_JSON_H
#define ELATTN_KIT_JSON_H

#include <stdio.h>

#define KIT_JSON_MAX_DEPTH 16

typedef struct kit_json {
    FILE *f;
    int depth;
    int items[KIT_JSON_MAX_DEPTH];  /* items written so far in each open container */
    char closer[KIT_JSON_MAX_DEPTH]; /* '}' or ']' */
    int break_indent;              /* >= 0: a line break (and this many spaces) comes first */
} kit_json;

void kit_json_init(kit_json *w, FILE *f);
/* The containers nest at most KIT_JSON_MAX_DEPTH - 1 deep (deeper aborts: a
 * tool's bug, not its data). */

/* `key` names the member in an object; it is NULL for an array element or the
 * top-level value. */
void kit_json_object(kit_json *w, const char *key);
void kit_json_array(kit_json *w, const char *key);
void kit_json_end(kit_json *w); /* closes the innermost object or array */
/* The next item, or the closing bracket, starts a new line indented by `indent` spaces. */
void kit_json_newline(kit_json *w, int indent);

void kit_json_string(kit_json *w, const char *key, const char *s);
void kit_json_number(kit_json *w, const char *key, double x, int digits); /* %.*g */
void kit_json_fixed(kit_json *w, const char *key, double x, int decimals); /* %.*f */
void kit_json_int(kit_json *w, const char *key, long long x);
void kit_json_uint(kit_json *w, const char *key, unsigned long long x);
void kit_json_bool(kit_json *w, const char *key, int x);
void kit_json_null(kit_json *w, const char *key);

#endif /* ELATTN_KIT_JSON_H */
