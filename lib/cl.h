/* cl.h: OpenCL devices and programs for the OpenCL backend (fwd_cl.h).
 *
 * Devices are named as chord-fwd --device takes them: "cl" is the first GPU
 * of any platform, else the first device; "cl:P.D" is device D of platform
 * P, both counted from 0 in the order the ICD loader gives them.
 * Programs are built from source once per device and driver: the binary is
 * kept under $XDG_CACHE_HOME/chord/cl/ (else ~/.cache/chord/cl/), keyed by a
 * hash of the source, the device, its driver and the build options. */
#ifndef CHORD_CL_H
#define CHORD_CL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdint.h>

#include "err.h"

struct cl_dev {
	cl_platform_id plat;
	cl_device_id id;
	int p, d;               /* platform and device index: "cl:P.D" */
	char name[16];          /* "cl:P.D" */
	char plat_name[128];    /* CL_PLATFORM_NAME */
	char dev_name[128];     /* CL_DEVICE_NAME */
	char driver[128];       /* CL_DRIVER_VERSION */
	char version[128];      /* CL_DEVICE_VERSION */
	int gpu;                /* CL_DEVICE_TYPE_GPU */
	uint64_t mem;           /* CL_DEVICE_GLOBAL_MEM_SIZE, bytes */
	uint64_t max_alloc;     /* CL_DEVICE_MAX_MEM_ALLOC_SIZE, bytes */
	int units;              /* CL_DEVICE_MAX_COMPUTE_UNITS */
	size_t max_wg;          /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
	int fp64;               /* has cl_khr_fp64 */
	int crdiv;              /* CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT */
};

/* Every device of every platform, in a malloc'd array of *n (> 0).
 * No platform or no device is an error ("no OpenCL platform"). */
int cl_devices(struct cl_dev **out, int *n, struct cerr *e);

/* Is name one cl_pick takes the form of ("cl", "cl:P.D")? */
int cl_name_ok(const char *name);

/* The device name picks, into d. */
int cl_pick(const char *name, struct cl_dev *d, struct cerr *e);

/* A program of src for d in ctx, built with opts, from the cache when it
 * holds one (a cache file that does not load is rebuilt and replaced).
 * A build failure's message holds the compiler's log. */
cl_program cl_build(cl_context ctx, const struct cl_dev *d, const char *src,
	const char *opts, struct cerr *e);

/* The directory cl_build caches in (static storage). */
const char *cl_cache_dir(void);

/* A message for an OpenCL error code: "out of device memory" for the
 * allocation failures, else the code's name. */
const char *cl_strerror(cl_int err);

#endif
