#!/usr/bin/env python3
"""Lab patch (not for main; its results are wrong on purpose): backends/opencl/opencl_decode.c's
ocl_decode_run leaves out one part of a step named by $ELATTN_LAB_SKIP, to time what the rest costs:
`meta` uploads the step's metadata only on a process's first run (the benchmark repeats one step, so
later runs read the same metadata), `merge` skips the merge launch, `partial` the partial launch;
bench/decode_bench.c then does not check O after the timed runs.
Run in the root of a copy of the tree."""
p = 'backends/opencl/opencl_decode.c'
s = open(p).read()
subs = [
    ('        st = ocl_upload_meta_at(queue, p->meta.mem, 0, meta, sizeof(int32_t) * meta_n); /* frees meta */\n',
     '''        static int lab_runs;
        const char *lab = getenv("ELATTN_LAB_SKIP");
        if (lab && !strcmp(lab, "meta") && lab_runs++ > 0) free(meta);
        else st = ocl_upload_meta_at(queue, p->meta.mem, 0, meta, sizeof(int32_t) * meta_n); /* frees meta */
'''),
    ('        st = ocl_launch(&p->partial, queue, args, nargs, groups, wg,',
     '        if (!getenv("ELATTN_LAB_SKIP") || strcmp(getenv("ELATTN_LAB_SKIP"), "partial"))\n'
     '        st = ocl_launch(&p->partial, queue, args, nargs, groups, wg,'),
    ('        st = ocl_launch(&p->merge, queue, args, (int)(sizeof args / sizeof args[0]),',
     '        if (!getenv("ELATTN_LAB_SKIP") || strcmp(getenv("ELATTN_LAB_SKIP"), "merge"))\n'
     '        st = ocl_launch(&p->merge, queue, args, (int)(sizeof args / sizeof args[0]),'),
]
for old, new in subs:
    assert s.count(old) == 1, old
    s = s.replace(old, new)
open(p, 'w').write(s)
# bench/decode_bench.c: O after the timed runs is not checked when a part is skipped
p = 'bench/decode_bench.c'
s = open(p).read()
old = '            else if (!finite || sum2 == 0) {'
assert s.count(old) == 1
s = s.replace(old, '            else if ((!finite || sum2 == 0) && !getenv("ELATTN_LAB_SKIP")) {')
open(p, 'w').write(s)
