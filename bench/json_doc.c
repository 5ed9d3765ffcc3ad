/*
 * The bench tools' JSON documents (elattn-bench --json, elattn-decode-bench --json): written
 * whole to PATH.tmp and renamed over PATH, so that a reader never sees half a file, with the
 * same "meta" head in each.
 */
#include <stdio.h>
#include <time.h>

#include "bench.h"
#include "kit_json.h"

FILE *json_document_begin(const char *path, const char *tool, const char *command, kit_json *w, char *tmp,
                          size_t tmp_n)
{
    snprintf(tmp, tmp_n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s\n", tool, tmp);
        return NULL;
    }
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    /* Members of the top level and each row on lines of their own. */
    kit_json_init(w, f);
    kit_json_object(w, NULL);
    kit_json_newline(w, 1);
    kit_json_object(w, "meta");
    kit_json_string(w, "tool", tool);
    kit_json_string(w, "version", elattn_version_string());
    kit_json_string(w, "date", date);
    kit_json_string(w, "command", command);
    return f;
}

void json_document_end(FILE *f, kit_json *w, const char *tool, const char *tmp, const char *path)
{
    kit_json_newline(w, 0);
    kit_json_end(w);
    fputc('\n', f);
    fclose(f);
    if (rename(tmp, path) != 0) fprintf(stderr, "%s: cannot write %s\n", tool, path);
}
