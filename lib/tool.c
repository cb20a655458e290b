/* tool.c: error reporting, option numbers and the model search order that
 * every tool shares. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "tool.h"

const char *progname = "chord";

void
tool_init(const char *argv0)
{
	const char *p;

	if (!argv0 || !*argv0)
		return;
	p = strrchr(argv0, '/');
	progname = p ? p + 1 : argv0;
}

static void
vwarn(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);

	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	if (n && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

void
die_err(const struct cerr *e)
{
	fprintf(stderr, "%s: %s\n", progname, e->msg);
	exit(1);
}

void
usage_die(const char *usage_line, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", progname);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "%s\n", usage_line);
	exit(2);
}

int
num_ll(const char *s, long long min, long long max, long long *out,
	const char **errstr)
{
	char *end;
	long long v;

	*errstr = "invalid";
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return -1;
	}
	*errstr = NULL;
	*out = v;
	return 0;
}

int
num_double(const char *s, double min, double max, double *out,
	const char **errstr)
{
	char *end;
	double v;

	*errstr = "invalid";
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || isnan(v))
		return -1;
	if (v < min) {
		*errstr = "too small";
		return -1;
	}
	if (v > max) {
		*errstr = "too large";
		return -1;
	}
	*errstr = NULL;
	*out = v;
	return 0;
}

long long
opt_ll(const char *usage_line, const char *opt, const char *s, long long min,
	long long max)
{
	const char *es;
	long long v;

	if (num_ll(s, min, max, &v, &es) < 0)
		usage_die(usage_line, "%s: %s: %s (want %lld..%lld)", opt,
		    s ? s : "", es, min, max);
	return v;
}

double
opt_double(const char *usage_line, const char *opt, const char *s, double min,
	double max)
{
	const char *es;
	double v;

	if (num_double(s, min, max, &v, &es) < 0)
		usage_die(usage_line, "%s: %s: %s (want %g..%g)", opt,
		    s ? s : "", es, min, max);
	return v;
}

const char *
chord_data_dir(void)
{
	static char buf[4096];
	const char *d;

	if ((d = getenv("CHORD_DATA")) && *d)
		return d;
	if ((d = getenv("XDG_DATA_HOME")) && *d)
		snprintf(buf, sizeof buf, "%s/chord", d);
	else
		snprintf(buf, sizeof buf, "%s/.local/share/chord",
		    (d = getenv("HOME")) && *d ? d : ".");
	return buf;
}

const char *
default_model_path(void)
{
	static char buf[4096 + 32];

	snprintf(buf, sizeof buf, "%s/default.gguf", chord_data_dir());
	return buf;
}

const char *
model_resolve(const char *opt_m)
{
	const char *e;

	if (opt_m && *opt_m)
		return opt_m;
	if ((e = getenv("CHORD_MODEL")) && *e)
		return e;
	return default_model_path();
}

void
put_escaped(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			putc(c, f);
	}
}

void
stdout_close(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno == EPIPE)
			exit(1);
		die("stdout:");
	}
	if (fclose(stdout) == EOF && errno != EPIPE)
		die("stdout:");
}

/* --logit-bias ID+V or ID-V, V a number or inf */
static void
add_bias(const char *usage_line, struct sampler_opts *so, const char *arg)
{
	const char *sign = strpbrk(arg + 1, "+-");
	char id[32];
	struct bias *p;

	if (!sign || (size_t)(sign - arg) >= sizeof id)
		usage_die(usage_line, "--logit-bias: %s: want ID+V or ID-V", arg);
	memcpy(id, arg, (size_t)(sign - arg));
	id[sign - arg] = '\0';
	if (!(p = realloc(so->bias, (so->n_bias + 1) * sizeof *p)))
		die("out of memory");
	so->bias = p;
	p[so->n_bias].id = (int32_t)opt_ll(usage_line, "--logit-bias", id, 0,
	    INT32_MAX);
	if (!strcmp(sign + 1, "inf"))
		p[so->n_bias].v = *sign == '-' ? -INFINITY : INFINITY;
	else
		p[so->n_bias].v = (float)opt_double(usage_line, "--logit-bias",
		    sign, -1e9, 1e9);
	so->n_bias++;
}

int
sampler_opt(const char *usage_line, struct sampler_opts *so, const char *a,
	const char *v)
{
	if (!strcmp(a, "--seed") || !strcmp(a, "-s"))
		so->seed = (uint64_t)opt_ll(usage_line, a, v, 0, INT64_MAX);
	else if (!strcmp(a, "--temp"))
		so->temp = (float)opt_double(usage_line, a, v, 0, 100);
	else if (!strcmp(a, "--top-k"))
		so->top_k = (int)opt_ll(usage_line, a, v, 0, INT32_MAX);
	else if (!strcmp(a, "--top-p"))
		so->top_p = (float)opt_double(usage_line, a, v, 0, 1);
	else if (!strcmp(a, "--min-p"))
		so->min_p = (float)opt_double(usage_line, a, v, 0, 1);
	else if (!strcmp(a, "--typical"))
		so->typical = (float)opt_double(usage_line, a, v, 0, 1);
	else if (!strcmp(a, "--repeat-penalty"))
		so->repeat_penalty = (float)opt_double(usage_line, a, v, 0.01,
		    100);
	else if (!strcmp(a, "--repeat-last-n"))
		so->repeat_last_n = (int)opt_ll(usage_line, a, v, 0, 1 << 24);
	else if (!strcmp(a, "--frequency-penalty"))
		so->freq_penalty = (float)opt_double(usage_line, a, v, -100,
		    100);
	else if (!strcmp(a, "--presence-penalty"))
		so->presence_penalty = (float)opt_double(usage_line, a, v, -100,
		    100);
	else if (!strcmp(a, "--mirostat"))
		so->mirostat = (int)opt_ll(usage_line, a, v, 0, 2);
	else if (!strcmp(a, "--mirostat-ent"))
		so->mirostat_tau = (float)opt_double(usage_line, a, v, 0, 100);
	else if (!strcmp(a, "--mirostat-lr"))
		so->mirostat_eta = (float)opt_double(usage_line, a, v, 0, 1);
	else if (!strcmp(a, "--logit-bias"))
		add_bias(usage_line, so, v);
	else
		return 0;
	return 1;
}
