/* cl.h: OpenCL devices and programs for the OpenCL backend (fwd_cl.h).
 *
 * Devices are named as chord-fwd --device takes them: "cl" is the first GPU
 * of any platform, else the first device; "cl:P.D" is device D of platform
 * P, both counted from 0 in the order the ICD loader gives them.
 * Programs are built from source once per device and driver: the binary is
 * kept under $XDG_CACHE_HOME/chord/cl/ (else ~/.cache/chord/cl/), keyed by a
 * hash of the source, the device, its driver and the build options.
 * libOpenCL is loaded at the first use of a device (cl_load), not at exec. */
#ifndef CHORD_CL_H
#define CHORD_CL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdint.h>

#include "err.h"

/* The OpenCL calls chord makes. The tools do not link libOpenCL: cl_load
 * (which cl_devices and so cl_pick call first) dlopens libOpenCL.so.1 and
 * fills cl_api, so a run on the CPU neither loads the library nor needs
 * it installed. Each clName below calls through the table, with the
 * header's prototype. */
#define CL_OPENCL_SO "libOpenCL.so.1"
#define CL_CALLS(X) \
	X(BuildProgram) \
	X(CreateBuffer) \
	X(CreateCommandQueue) \
	X(CreateContext) \
	X(CreateKernel) \
	X(CreateProgramWithBinary) \
	X(CreateProgramWithSource) \
	X(EnqueueCopyBuffer) \
	X(EnqueueNDRangeKernel) \
	X(EnqueueReadBuffer) \
	X(EnqueueWriteBuffer) \
	X(Finish) \
	X(GetDeviceIDs) \
	X(GetDeviceInfo) \
	X(GetEventProfilingInfo) \
	X(GetPlatformIDs) \
	X(GetPlatformInfo) \
	X(GetProgramBuildInfo) \
	X(GetProgramInfo) \
	X(ReleaseCommandQueue) \
	X(ReleaseContext) \
	X(ReleaseEvent) \
	X(ReleaseKernel) \
	X(ReleaseMemObject) \
	X(ReleaseProgram) \
	X(SetKernelArg)

struct cl_api {
#define CL_SLOT(n) __typeof__(cl##n) *n;
	CL_CALLS(CL_SLOT)
#undef CL_SLOT
};
extern struct cl_api cl_api;

#define clBuildProgram (*cl_api.BuildProgram)
#define clCreateBuffer (*cl_api.CreateBuffer)
#define clCreateCommandQueue (*cl_api.CreateCommandQueue)
#define clCreateContext (*cl_api.CreateContext)
#define clCreateKernel (*cl_api.CreateKernel)
#define clCreateProgramWithBinary (*cl_api.CreateProgramWithBinary)
#define clCreateProgramWithSource (*cl_api.CreateProgramWithSource)
#define clEnqueueCopyBuffer (*cl_api.EnqueueCopyBuffer)
#define clEnqueueNDRangeKernel (*cl_api.EnqueueNDRangeKernel)
#define clEnqueueReadBuffer (*cl_api.EnqueueReadBuffer)
#define clEnqueueWriteBuffer (*cl_api.EnqueueWriteBuffer)
#define clFinish (*cl_api.Finish)
#define clGetDeviceIDs (*cl_api.GetDeviceIDs)
#define clGetDeviceInfo (*cl_api.GetDeviceInfo)
#define clGetEventProfilingInfo (*cl_api.GetEventProfilingInfo)
#define clGetPlatformIDs (*cl_api.GetPlatformIDs)
#define clGetPlatformInfo (*cl_api.GetPlatformInfo)
#define clGetProgramBuildInfo (*cl_api.GetProgramBuildInfo)
#define clGetProgramInfo (*cl_api.GetProgramInfo)
#define clReleaseCommandQueue (*cl_api.ReleaseCommandQueue)
#define clReleaseContext (*cl_api.ReleaseContext)
#define clReleaseEvent (*cl_api.ReleaseEvent)
#define clReleaseKernel (*cl_api.ReleaseKernel)
#define clReleaseMemObject (*cl_api.ReleaseMemObject)
#define clReleaseProgram (*cl_api.ReleaseProgram)
#define clSetKernelArg (*cl_api.SetKernelArg)

/* libOpenCL loaded and cl_api filled (once; later calls return at once);
 * -1 with e naming the library and why where it cannot be loaded. */
int cl_load(struct cerr *e);

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
