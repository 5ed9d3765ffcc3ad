/* The tools' JSON writer (kit_json.h). */
#include <math.h>
#include <stdlib.h>

#include "kit_json.h"

void kit_json_init(kit_json *w, FILE *f)
{
    w->f = f;
    w->depth = 0;
    w->items[0] = 0;
    w->closer[0] = '\0';
    w->break_indent = -1;
}

void kit_json_newline(kit_json *w, int indent) { w->break_indent = indent; }

static void write_break(kit_json *w)
{
    fprintf(w->f, "\n%*s", w->break_indent, "");
    w->break_indent = -1;
}

static void write_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

/* What comes before any value: the comma after the previous item, then the
 * line break asked for or a space, then the member's name. */
static void begin_item(kit_json *w, const char *key)
{
    const int first = w->items[w->depth]++ == 0;
    if (!first) fputc(',', w->f);
    if (w->break_indent >= 0) write_break(w);
    else if (!first) fputc(' ', w->f);
    if (key) {
        write_escaped(w->f, key);
        fputs(": ", w->f);
    }
}

static void open_container(kit_json *w, const char *key, char open, char close)
{
    if (w->depth + 1 >= KIT_JSON_MAX_DEPTH) {
        fprintf(stderr, "kit_json: nested deeper than %d\n", KIT_JSON_MAX_DEPTH - 1);
        abort();
    }
    begin_item(w, key);
    fputc(open, w->f);
    ++w->depth;
    w->items[w->depth] = 0;
    w->closer[w->depth] = close;
}

void kit_json_object(kit_json *w, const char *key) { open_container(w, key, '{', '}'); }

void kit_json_array(kit_json *w, const char *key) { open_container(w, key, '[', ']'); }

void kit_json_end(kit_json *w)
{
    if (w->depth == 0) {
        fprintf(stderr, "kit_json: end without an open object or array\n");
        abort();
    }
    if (w->break_indent >= 0) write_break(w);
    fputc(w->closer[w->depth--], w->f);
}

void kit_json_string(kit_json *w, const char *key, const char *s)
{
    begin_item(w, key);
    write_escaped(w->f, s);
}

void kit_json_number(kit_json *w, const char *key, double x, int digits)
{
    begin_item(w, key);
    if (isfinite(x)) fprintf(w->f, "%.*g", digits, x);
    else fputs("null", w->f); /* JSON has no NaN or inf */
}

void kit_json_fixed(kit_json *w, const char *key, double x, int decimals)
{
    begin_item(w, key);
    if (isfinite(x)) fprintf(w->f, "%.*f", decimals, x);
    else fputs("null", w->f);
}

void kit_json_int(kit_json *w, const char *key, long long x)
{
    begin_item(w, key);
    fprintf(w->f, "%lld", x);
}

void kit_json_uint(kit_json *w, const char *key, unsigned long long x)
{
    begin_item(w, key);
    fprintf(w->f, "%llu", x);
}

void kit_json_bool(kit_json *w, const char *key, int x)
{
    begin_item(w, key);
    fputs(x ? "true" : "false", w->f);
}

void kit_json_null(kit_json *w, const char *key)
{
    begin_item(w, key);
    fputs("null", w->f);
}
