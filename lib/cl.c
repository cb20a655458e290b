/* cl.c: OpenCL device discovery, naming and cached program builds, and
 * libOpenCL loaded at first use. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cl.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

struct cl_api cl_api;

/* ---- the library ---- */

int
cl_load(struct cerr *e)
{
	static void *h;
	const char *err;
	struct sym {
		const char *name;
		void **slot;    /* POSIX: a function pointer fits a void * */
	} v[] = {
#define CL_SYM(n) { "cl" #n, (void **)&cl_api.n },
		CL_CALLS(CL_SYM)
#undef CL_SYM
	};
	void *lib;

	if (h)
		return 0;
	if (!(lib = dlopen(CL_OPENCL_SO, RTLD_NOW | RTLD_LOCAL))) {
		err = dlerror();
		return cerr_set(e, "OpenCL devices need %s, which cannot be "
		    "loaded (%s)", CL_OPENCL_SO, err ? err : "dlopen failed");
	}
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		if (!(*v[i].slot = dlsym(lib, v[i].name))) {
			dlclose(lib);
			return cerr_set(e, "OpenCL devices need %s, which has no "
			    "%s", CL_OPENCL_SO, v[i].name);
		}
	h = lib;
	return 0;
}

const char *
cl_strerror(cl_int err)
{
	static char buf[32];

	switch (err) {
	case CL_MEM_OBJECT_ALLOCATION_FAILURE:
	case CL_OUT_OF_RESOURCES:
	case CL_OUT_OF_HOST_MEMORY:
		return "out of device memory";
	case CL_DEVICE_NOT_FOUND:
		return "device not found";
	case CL_INVALID_BUFFER_SIZE:
		return "buffer too large for the device";
	case CL_BUILD_PROGRAM_FAILURE:
		return "program build failure";
	case CL_INVALID_BINARY:
		return "invalid program binary";
	case CL_INVALID_WORK_GROUP_SIZE:
		return "invalid work-group size";
	case CL_INVALID_KERNEL_ARGS:
		return "invalid kernel arguments";
	case -1001:             /* CL_PLATFORM_NOT_FOUND_KHR */
		return "no OpenCL platform";
	}
	snprintf(buf, sizeof buf, "OpenCL error %d", (int)err);
	return buf;
}

/* ---- devices ---- */

static void
info_str(cl_device_id d, cl_device_info what, char *buf, size_t cap)
{
	if (clGetDeviceInfo(d, what, cap, buf, NULL) != CL_SUCCESS)
		buf[0] = '\0';
	buf[cap - 1] = '\0';
}

static void
fill(struct cl_dev *o, cl_platform_id p, cl_device_id d, int pi, int di)
{
	cl_device_type type = 0;
	cl_ulong mem = 0, alloc = 0;
	cl_uint units = 0;
	cl_device_fp_config fp = 0;
	size_t wg = 0, n = 0;
	char *ext;

	memset(o, 0, sizeof *o);
	o->plat = p;
	o->id = d;
	o->p = pi;
	o->d = di;
	snprintf(o->name, sizeof o->name, "cl:%d.%d", pi, di);
	if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof o->plat_name,
	    o->plat_name, NULL) != CL_SUCCESS)
		o->plat_name[0] = '\0';
	o->plat_name[sizeof o->plat_name - 1] = '\0';
	info_str(d, CL_DEVICE_NAME, o->dev_name, sizeof o->dev_name);
	info_str(d, CL_DRIVER_VERSION, o->driver, sizeof o->driver);
	info_str(d, CL_DEVICE_VERSION, o->version, sizeof o->version);
	clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
	clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
	clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc,
	    NULL);
	clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units,
	    NULL);
	clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
	o->gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
	o->mem = mem;
	o->max_alloc = alloc;
	o->units = (int)units;
	o->max_wg = wg;
	clGetDeviceInfo(d, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
	o->crdiv = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
	if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &n) ==
	    CL_SUCCESS && n && (ext = calloc(1, n + 1))) {
		if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, n, ext, NULL) ==
		    CL_SUCCESS)
			o->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
		free(ext);
	}
}

int
cl_devices(struct cl_dev **out, int *n, struct cerr *e)
{
	cl_platform_id plats[MAX_PLATFORMS];
	cl_uint np = 0;
	struct cl_dev *v;
	int k = 0;

	*out = NULL;
	*n = 0;
	if (cl_load(e) < 0)
		return -1;
	if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS ||
	    np == 0)
		return cerr_set(e, "no OpenCL platform");
	if (np > MAX_PLATFORMS)
		np = MAX_PLATFORMS;
	if (!(v = calloc((size_t)np * MAX_DEVICES, sizeof *v)))
		return cerr_set(e, "out of memory");
	for (cl_uint p = 0; p < np; p++) {
		cl_device_id devs[MAX_DEVICES];
		cl_uint nd = 0;

		if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES,
		    devs, &nd) != CL_SUCCESS)
			continue;
		if (nd > MAX_DEVICES)
			nd = MAX_DEVICES;
		for (cl_uint d = 0; d < nd; d++)
			fill(&v[k++], plats[p], devs[d], (int)p, (int)d);
	}
	if (k == 0) {
		free(v);
		return cerr_set(e, "no OpenCL device");
	}
	*out = v;
	*n = k;
	return 0;
}

/* "cl:P.D" into p and d; -1 if it is not that form. */
static int
parse_pd(const char *s, int *p, int *d)
{
	char *end;
	long a, b;

	if (strncmp(s, "cl:", 3) || s[3] < '0' || s[3] > '9')
		return -1;
	errno = 0;
	a = strtol(s + 3, &end, 10);
	if (errno || *end != '.' || end[1] < '0' || end[1] > '9' ||
	    a > 9999)
		return -1;
	b = strtol(end + 1, &end, 10);
	if (errno || *end || b > 9999)
		return -1;
	*p = (int)a;
	*d = (int)b;
	return 0;
}

int
cl_name_ok(const char *name)
{
	int p, d;

	return !strcmp(name, "cl") || parse_pd(name, &p, &d) == 0;
}

int
cl_pick(const char *name, struct cl_dev *d, struct cerr *e)
{
	struct cl_dev *v;
	int n, pi = -1, di = -1, at = -1;

	if (strcmp(name, "cl") && parse_pd(name, &pi, &di) < 0)
		return cerr_set(e, "%s: not a device (cpu, cl or cl:P.D)",
		    name);
	if (cl_devices(&v, &n, e) < 0)
		return -1;
	for (int i = 0; i < n && at < 0; i++)
		if (pi < 0 ? v[i].gpu : v[i].p == pi && v[i].d == di)
			at = i;
	if (at < 0 && pi < 0)
		at = 0;
	if (at < 0) {
		free(v);
		return cerr_set(e, "%s: no such OpenCL device (chord-fwd "
		    "--devices lists them)", name);
	}
	*d = v[at];
	free(v);
	return 0;
}

/* ---- programs, cached ---- */

const char *
cl_cache_dir(void)
{
	static char dir[4096];
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");

	if (x && *x)
		snprintf(dir, sizeof dir, "%s/chord/cl", x);
	else
		snprintf(dir, sizeof dir, "%s/.cache/chord/cl", h ? h : ".");
	return dir;
}

/* mkdir -p of dir; errors are the open's to report (or ignore). */
static void
mkdirs(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* A cache file: magic, the binary's size and hash, the binary. */
static const char cache_magic[8] = "CHORDCL1";

struct cache_head {
	char magic[8];
	uint64_t size;
	uint64_t hash;
};

static uint64_t
cache_key(const struct cl_dev *d, const char *src, const char *opts)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t h;

	if (!st)
		return 0;
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, src, strlen(src) + 1);
	XXH3_64bits_update(st, opts, strlen(opts) + 1);
	XXH3_64bits_update(st, d->plat_name, strlen(d->plat_name) + 1);
	XXH3_64bits_update(st, d->dev_name, strlen(d->dev_name) + 1);
	XXH3_64bits_update(st, d->driver, strlen(d->driver) + 1);
	XXH3_64bits_update(st, d->version, strlen(d->version) + 1);
	h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

/* The cached binary at path, malloc'd, or NULL (none, or it is damaged). */
static unsigned char *
cache_read(const char *path, size_t *size)
{
	struct cache_head h;
	unsigned char *b = NULL;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (fread(&h, sizeof h, 1, f) != 1 ||
	    memcmp(h.magic, cache_magic, sizeof h.magic) ||
	    h.size == 0 || h.size > (1u << 30) ||
	    !(b = malloc(h.size)) || fread(b, 1, h.size, f) != h.size ||
	    XXH3_64bits(b, h.size) != h.hash) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*size = b ? h.size : 0;
	return b;
}

/* Best effort: a cache that cannot be written is only slower. */
static void
cache_write(const char *dir, const char *path, cl_program prog)
{
	char tmp[4240];
	size_t size = 0;
	unsigned char *b;
	struct cache_head h;
	FILE *f;

	if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size,
	    &size, NULL) != CL_SUCCESS || size == 0 || !(b = malloc(size)))
		return;
	if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof b, &b,
	    NULL) != CL_SUCCESS) {
		free(b);
		return;
	}
	memcpy(h.magic, cache_magic, sizeof h.magic);
	h.size = size;
	h.hash = XXH3_64bits(b, size);
	mkdirs(dir);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if ((f = fopen(tmp, "wb"))) {
		int ok = fwrite(&h, sizeof h, 1, f) == 1 &&
		    fwrite(b, 1, size, f) == size;

		if (fclose(f) == 0 && ok)
			rename(tmp, path);
		else
			unlink(tmp);
	}
	free(b);
}

static cl_program
from_binary(cl_context ctx, const struct cl_dev *d, const unsigned char *b,
	size_t size, const char *opts)
{
	cl_int err, st;
	cl_program prog = clCreateProgramWithBinary(ctx, 1, &d->id, &size, &b,
	    &st, &err);

	if (prog && (err != CL_SUCCESS || st != CL_SUCCESS ||
	    clBuildProgram(prog, 1, &d->id, opts, NULL, NULL) != CL_SUCCESS)) {
		clReleaseProgram(prog);
		prog = NULL;
	}
	return prog;
}

/* The build failure's message: the compiler's log, as much as fits. */
static int
build_error(cl_program prog, const struct cl_dev *d, cl_int err,
	struct cerr *e)
{
	char log[900];
	size_t n = 0;

	log[0] = '\0';
	if (clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG,
	    sizeof log - 1, log, &n) != CL_SUCCESS) {
		/* too long for log: take its start */
		char *all;

		if (clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG, 0,
		    NULL, &n) == CL_SUCCESS && (all = malloc(n + 1))) {
			if (clGetProgramBuildInfo(prog, d->id,
			    CL_PROGRAM_BUILD_LOG, n, all, NULL) == CL_SUCCESS)
				snprintf(log, sizeof log, "%.*s", (int)n, all);
			free(all);
		}
	}
	log[sizeof log - 1] = '\0';
	n = strlen(log);
	while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' '))
		log[--n] = '\0';
	return cerr_set(e, "%s: kernel build failed (%s): %s", d->name,
	    cl_strerror(err), n ? log : "no compiler log");
}

cl_program
cl_build(cl_context ctx, const struct cl_dev *d, const char *src,
	const char *opts, struct cerr *e)
{
	const char *dir = cl_cache_dir();
	char path[4200];
	unsigned char *bin;
	size_t size;
	cl_program prog;
	cl_int err;

	snprintf(path, sizeof path, "%s/%016llx.bin", dir,
	    (unsigned long long)cache_key(d, src, opts));
	if ((bin = cache_read(path, &size))) {
		prog = from_binary(ctx, d, bin, size, opts);
		free(bin);
		if (prog)
			return prog;
	}
	prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
	if (!prog) {
		cerr_set(e, "%s: %s", d->name, cl_strerror(err));
		return NULL;
	}
	if ((err = clBuildProgram(prog, 1, &d->id, opts, NULL, NULL)) !=
	    CL_SUCCESS) {
		build_error(prog, d, err, e);
		clReleaseProgram(prog);
		return NULL;
	}
	cache_write(dir, path, prog);
	return prog;
}
